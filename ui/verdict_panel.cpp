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
      violations_(new QListWidget(this)),
      stale_(
          new QLabel(tr("Verdict of the run's end. The run is now at an earlier event."), this)) {
    auto* layout = new QVBoxLayout(this);
    QFont font = headline_->font();
    font.setPointSizeF(font.pointSizeF() * 2);
    font.setBold(true);
    headline_->setFont(font);
    headline_->setAlignment(Qt::AlignCenter);
    headline_->setAutoFillBackground(true);
    explanation_->setWordWrap(true);
    explanation_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // Violations name records, keys and transactions; wrapped, they stay readable.
    violations_->setWordWrap(true);
    violations_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    layout->addWidget(headline_);
    stale_->setWordWrap(true);
    stale_->setStyleSheet(QStringLiteral("color: #a06000;"));
    layout->addWidget(stale_);
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
    stale_->setVisible(false);
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
        // After a seek back, such as to the first violation, the run has no
        // verdict yet, but the one from its end still explains what to look at.
        stale_->setVisible(verdict_.available());
        return;
    }
    stale_->setVisible(false);
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
    explanation_->setText(verdict.pass()
                              ? tr("The checker found no violation of the guarantee the scenario "
                                   "expects, compared with a failure-free run.")
                              : QString::fromStdString(verdict.explanation()));
    seek_button_->setVisible(!verdict.pass());
    seek_button_->setText(tr("Go to first violation (event %1)").arg(verdict.event_index()));
    fillViolations(verdict);
}

void VerdictPanel::fillViolations(const protocol::Verdict& verdict) {
    violations_->clear();
    for (int i = 0; i < verdict.violations_size(); ++i) {
        QString text = QString::fromStdString(verdict.violations(i));
        auto* item = new QListWidgetItem(text);
        item->setToolTip(text);
        item->setData(kFirstViolationRole, i == 0);
        if (i == 0) {
            item->setToolTip(
                tr("%1\nClick to go to event %2").arg(text).arg(verdict.event_index()));
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

bool VerdictPanel::isStale() const {
    return !stale_->isHidden();
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
