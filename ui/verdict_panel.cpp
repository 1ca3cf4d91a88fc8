#include "ui/verdict_panel.h"

#include "ui/logging_categories.h"

#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace sluice::ui {

namespace {

constexpr int kFirstViolationRole = Qt::UserRole + 1;

}  // namespace

VerdictPanel::VerdictPanel(QWidget* parent)
    : QWidget(parent),
      headline_(new QLabel(this)),
      explanation_(new QLabel(this)),
      seek_button_(new QPushButton(tr("Go to first violation"), this)),
      violations_(new QListWidget(this)) {
    auto* layout = new QVBoxLayout(this);
    QFont font = headline_->font();
    font.setPointSizeF(font.pointSizeF() * 2);
    font.setBold(true);
    headline_->setFont(font);
    headline_->setAlignment(Qt::AlignCenter);
    headline_->setAutoFillBackground(true);
    explanation_->setWordWrap(true);
    explanation_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(headline_);
    layout->addWidget(explanation_);
    layout->addWidget(seek_button_);
    layout->addWidget(violations_, 1);
    connect(seek_button_, &QPushButton::clicked, this,
            [this] { Q_EMIT seekRequested(verdict_.event_index()); });
    connect(violations_, &QListWidget::itemClicked, this, &VerdictPanel::onItemActivated);
    clear();
}

void VerdictPanel::clear() {
    verdict_.Clear();
    headline_->setText(tr("No verdict yet"));
    headline_->setStyleSheet(QStringLiteral("color: #666; padding: 6px;"));
    explanation_->setText(
        tr("The checker compares the committed output with a failure-free "
           "run once the run is over."));
    seek_button_->setVisible(false);
    violations_->clear();
}

void VerdictPanel::setVerdict(const protocol::Verdict& verdict) {
    if (!verdict.available()) {
        if (verdict_.available()) {
            clear();
        }
        return;
    }
    if (verdict.SerializeAsString() == verdict_.SerializeAsString()) {
        return;
    }
    verdict_ = verdict;
    qCInfo(lcUiVerdict) << "verdict" << (verdict.pass() ? "PASS" : "FAIL") << "with"
                        << verdict.violations_size() << "violations";
    headline_->setText(verdict.pass() ? tr("PASS") : tr("FAIL"));
    headline_->setStyleSheet(
        verdict.pass() ? QStringLiteral("background: #2e9e44; color: white; padding: 6px;")
                       : QStringLiteral("background: #d02020; color: white; padding: 6px;"));
    explanation_->setText(verdict.pass() ? tr("The committed output equals the failure-free run: "
                                              "exactly-once held.")
                                         : QString::fromStdString(verdict.explanation()));
    seek_button_->setVisible(!verdict.pass());
    seek_button_->setText(tr("Go to first violation (event %1)").arg(verdict.event_index()));
    violations_->clear();
    for (int i = 0; i < verdict.violations_size(); ++i) {
        auto* item = new QListWidgetItem(QString::fromStdString(verdict.violations(i)));
        item->setData(kFirstViolationRole, i == 0);
        if (i == 0) {
            item->setToolTip(tr("Click to go to event %1").arg(verdict.event_index()));
        }
        violations_->addItem(item);
    }
    for (const std::string& warning : verdict.warnings()) {
        auto* item = new QListWidgetItem(tr("warning: %1").arg(QString::fromStdString(warning)));
        item->setForeground(QColor(0xa0, 0x60, 0x00));
        violations_->addItem(item);
    }
}

void VerdictPanel::setRunOver(bool over) {
    if (verdict_.available()) {
        return;
    }
    explanation_->setText(
        over ? tr("The run is over. The engine checks a run only when its scenario has an "
                  "expect block or faults; the verdict appears here once the check is done.")
             : tr("The checker compares the committed output with a failure-free run once the "
                  "run is over."));
}

QString VerdictPanel::verdictText() const {
    if (!verdict_.available()) {
        return {};
    }
    return verdict_.pass() ? QStringLiteral("PASS") : QStringLiteral("FAIL");
}

QString VerdictPanel::explanation() const {
    return explanation_->text();
}

void VerdictPanel::onItemActivated(QListWidgetItem* item) {
    if (item->data(kFirstViolationRole).toBool()) {
        Q_EMIT seekRequested(verdict_.event_index());
    }
}

}  // namespace sluice::ui
