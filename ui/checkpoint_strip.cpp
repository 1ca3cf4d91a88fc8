#include "ui/checkpoint_strip.h"

#include "ui/checkpoint_history_model.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace sluice::ui {

namespace {

constexpr int kCell = 16;
constexpr int kGap = 3;
constexpr int kLabelWidth = 130;

}  // namespace

CheckpointStrip::CheckpointStrip(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void CheckpointStrip::setCheckpoints(const protocol::CheckpointDetails& details) {
    marks_.clear();
    for (const auto& checkpoint : details.checkpoints()) {
        marks_.push_back(checkpoint.mark());
    }
    update();
}

void CheckpointStrip::setSelectedId(int64_t id) {
    selected_id_ = id;
    update();
}

QSize CheckpointStrip::sizeHint() const {
    return {400, kCell + 8};
}

int CheckpointStrip::visibleCount() const {
    int fit = std::max(0, (width() - kLabelWidth) / (kCell + kGap));
    return std::min(fit, int(marks_.size()));
}

int CheckpointStrip::firstVisible() const {
    return int(marks_.size()) - visibleCount();
}

int64_t CheckpointStrip::idAt(int x) const {
    int cell = (x - kLabelWidth) / (kCell + kGap);
    if (x < kLabelWidth || cell >= visibleCount()) {
        return 0;
    }
    return marks_[size_t(firstVisible() + cell)].checkpoint_id();
}

void CheckpointStrip::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setPen(palette().color(QPalette::WindowText));
    QString label = marks_.empty() ? tr("No checkpoints yet") : tr("Recent checkpoints:");
    painter.drawText(QRect(4, 0, kLabelWidth + 200, height()), Qt::AlignVCenter, label);
    int first = firstVisible();
    for (int i = 0; i < visibleCount(); ++i) {
        const protocol::CheckpointMark& mark = marks_[size_t(first + i)];
        QRect cell(kLabelWidth + i * (kCell + kGap), (height() - kCell) / 2, kCell, kCell);
        painter.fillRect(cell, checkpointStatusColor(mark.status()));
        if (mark.savepoint()) {
            painter.setPen(Qt::white);
            painter.drawText(cell, Qt::AlignCenter, QStringLiteral("S"));
        }
        if (mark.checkpoint_id() == selected_id_) {
            painter.setPen(QPen(palette().color(QPalette::Highlight), 2));
            painter.drawRect(cell.adjusted(-2, -2, 1, 1));
        }
    }
}

void CheckpointStrip::mousePressEvent(QMouseEvent* event) {
    if (int64_t id = idAt(int(event->position().x())); id != 0) {
        Q_EMIT checkpointClicked(id);
    }
}

bool CheckpointStrip::event(QEvent* event) {
    if (event->type() != QEvent::ToolTip) {
        return QWidget::event(event);
    }
    auto* help = static_cast<QHelpEvent*>(event);
    int64_t id = idAt(help->pos().x());
    for (const auto& mark : marks_) {
        if (id != 0 && mark.checkpoint_id() == id) {
            QString text = tr("%1 %2: %3")
                               .arg(mark.savepoint() ? tr("Savepoint") : tr("Checkpoint"))
                               .arg(id)
                               .arg(QString::fromStdString(mark.status()));
            if (!mark.failure_cause().empty()) {
                text += QStringLiteral("\n") + QString::fromStdString(mark.failure_cause());
            }
            QToolTip::showText(help->globalPos(), text, this);
            return true;
        }
    }
    QToolTip::hideText();
    return true;
}

}  // namespace sluice::ui
