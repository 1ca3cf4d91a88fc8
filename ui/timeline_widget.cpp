#include "ui/timeline_widget.h"

#include "ui/logging_categories.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <cstdlib>

namespace sluice::ui {

namespace {

constexpr int kMargin = 10;
constexpr int kSpanTop = 18;
constexpr int kSpanHeight = 12;
constexpr int kLabelTop = 31;
constexpr int kFaultTop = 44;
constexpr int kHitPixels = 5;
constexpr int64_t kMinRangeNs = 10'000'000'000;
constexpr int64_t kMaxFixedRangeNs = 600'000'000'000;

QColor statusColor(const std::string& status) {
    if (status == "COMPLETED") {
        return QColor(0x2e, 0x9e, 0x44);
    }
    if (status == "FAILED") {
        return QColor(0xd0, 0x20, 0x20);
    }
    return QColor(0xf0, 0xa0, 0x00);
}

}  // namespace

TimelineWidget::TimelineWidget(QWidget* parent) : QWidget(parent) {
    setMouseTracking(false);
    setToolTip(QStringLiteral("Click a checkpoint or fault to go to it"));
}

QSize TimelineWidget::sizeHint() const {
    return {600, 62};
}

QSize TimelineWidget::minimumSizeHint() const {
    return {200, 60};
}

void TimelineWidget::clear() {
    now_ns_ = 0;
    until_ns_ = 0;
    checkpoints_.clear();
    faults_.clear();
    marks_.clear();
    update();
    Q_EMIT marksChanged();
}

void TimelineWidget::applyFrame(const protocol::Frame& frame) {
    now_ns_ = frame.status().now_ns();
    until_ns_ = frame.status().until_ns();
    checkpoints_.assign(frame.checkpoints().begin(), frame.checkpoints().end());
    faults_.assign(frame.faults().begin(), frame.faults().end());
    marks_.clear();
    for (const protocol::CheckpointMark& checkpoint : checkpoints_) {
        bool done = checkpoint.status() == "COMPLETED" || checkpoint.status() == "FAILED";
        Mark mark;
        mark.time_ns = done ? checkpoint.end_ns() : checkpoint.trigger_ns();
        mark.event_index = done ? checkpoint.end_event() : checkpoint.trigger_event();
        mark.label = QStringLiteral("%1 %2 %3")
                         .arg(checkpoint.savepoint() ? "savepoint" : "checkpoint")
                         .arg(checkpoint.checkpoint_id())
                         .arg(QString::fromStdString(checkpoint.status()));
        if (!checkpoint.failure_cause().empty()) {
            mark.label += QStringLiteral(": ") + QString::fromStdString(checkpoint.failure_cause());
        }
        mark.color = statusColor(checkpoint.status());
        marks_.push_back(mark);
    }
    for (const protocol::FaultMark& fault : faults_) {
        Mark mark;
        mark.time_ns = fault.time_ns();
        mark.event_index = fault.event_index();
        mark.label = QStringLiteral("%1fault: %2")
                         .arg(fault.injected() ? "injected " : "")
                         .arg(QString::fromStdString(fault.description()));
        mark.color = QColor(0xd0, 0x20, 0x20);
        mark.fault = true;
        marks_.push_back(mark);
    }
    update();
    Q_EMIT marksChanged();
}

int64_t TimelineWidget::rangeNs() const {
    int64_t known = now_ns_;
    for (const Mark& mark : marks_) {
        known = std::max(known, mark.time_ns);
    }
    // A bounded job's limit is a safety net (a year) far beyond where it
    // finishes; the axis then grows with the run instead.
    if (until_ns_ > 0 && until_ns_ <= std::max(known * 4, kMaxFixedRangeNs)) {
        return until_ns_;
    }
    return std::max(known + known / 4, kMinRangeNs);
}

int TimelineWidget::xOf(int64_t time_ns) const {
    double width = std::max(1, this->width() - 2 * kMargin);
    return kMargin + int(width * double(time_ns) / double(rangeNs()));
}

std::optional<TimelineWidget::Mark> TimelineWidget::markAt(QPoint pos) const {
    std::optional<Mark> best;
    int best_distance = kHitPixels + 1;
    for (const Mark& mark : marks_) {
        int top = mark.fault ? kFaultTop : kSpanTop;
        int bottom = mark.fault ? kFaultTop + 12 : kSpanTop + kSpanHeight;
        if (pos.y() < top - 3 || pos.y() > bottom + 3) {
            continue;
        }
        int distance = std::abs(xOf(mark.time_ns) - pos.x());
        if (distance < best_distance) {
            best_distance = distance;
            best = mark;
        }
    }
    return best;
}

void TimelineWidget::paintAxis(QPainter* painter) const {
    painter->setPen(QColor(0x99, 0x99, 0x99));
    int y = kSpanTop + kSpanHeight / 2;
    painter->drawLine(kMargin, y, width() - kMargin, y);
    QFont font = painter->font();
    font.setPointSizeF(7.5);
    painter->setFont(font);
    int64_t range = rangeNs();
    // Tick steps of 1, 2 and 5 times a power of ten, at most ten ticks.
    int64_t step_ms = 1;
    for (int i = 0; range / 1000000 / step_ms > 10; ++i) {
        step_ms = i % 3 == 1 ? step_ms / 2 * 5 : step_ms * 2;
    }
    for (int64_t t_ms = 0; t_ms * 1000000 <= range; t_ms += step_ms) {
        int x = xOf(t_ms * 1000000);
        painter->drawLine(x, y - 3, x, y + 3);
        painter->drawText(QRect(x - 40, 2, 80, 14), Qt::AlignCenter,
                          QStringLiteral("%1 s").arg(t_ms / 1000.0));
    }
}

void TimelineWidget::paintCheckpoints(QPainter* painter) const {
    int last_label_right = -1000;
    for (const protocol::CheckpointMark& checkpoint : checkpoints_) {
        int64_t end = checkpoint.status() == "IN_PROGRESS" ? now_ns_ : checkpoint.end_ns();
        int left = xOf(checkpoint.trigger_ns());
        int right = std::max(left + 3, xOf(end));
        QColor color = statusColor(checkpoint.status());
        painter->fillRect(QRect(left, kSpanTop, right - left, kSpanHeight), color);
        // The id under the span, unless it would overlap the previous one.
        QString id = QString::number(checkpoint.checkpoint_id());
        int text_width = painter->fontMetrics().horizontalAdvance(id);
        int text_left = left - text_width / 2;
        if (text_left > last_label_right + 2) {
            painter->setPen(color.darker(130));
            painter->drawText(QRect(text_left, kLabelTop, text_width, 12), Qt::AlignCenter, id);
            last_label_right = text_left + text_width;
        }
    }
}

void TimelineWidget::paintFaults(QPainter* painter) const {
    painter->setPen(Qt::NoPen);
    for (const protocol::FaultMark& fault : faults_) {
        int x = xOf(fault.time_ns());
        QPolygon triangle(
            {QPoint(x, kFaultTop), QPoint(x - 6, kFaultTop + 12), QPoint(x + 6, kFaultTop + 12)});
        painter->setBrush(fault.injected() ? QColor(0x90, 0x00, 0xc0) : QColor(0xd0, 0x20, 0x20));
        painter->drawPolygon(triangle);
    }
}

void TimelineWidget::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.fillRect(rect(), palette().base());
    paintAxis(&painter);
    paintCheckpoints(&painter);
    paintFaults(&painter);
    int x = xOf(now_ns_);
    painter.setPen(QPen(QColor(0x20, 0x40, 0xc0), 2));
    painter.drawLine(x, kSpanTop - 4, x, height() - 2);
}

void TimelineWidget::mousePressEvent(QMouseEvent* event) {
    std::optional<Mark> mark = markAt(event->position().toPoint());
    if (!mark) {
        QWidget::mousePressEvent(event);
        return;
    }
    qCInfo(lcUiTimeline) << "seek to" << mark->label << "at event" << mark->event_index;
    Q_EMIT seekRequested(mark->event_index);
}

bool TimelineWidget::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        std::optional<Mark> mark = markAt(help->pos());
        QString text = mark ? QStringLiteral("%1\nevent %2, %3 ms")
                                  .arg(mark->label)
                                  .arg(mark->event_index)
                                  .arg(mark->time_ns / 1e6)
                            : toolTip();
        QToolTip::showText(help->globalPos(), text, this);
        return true;
    }
    return QWidget::event(event);
}

}  // namespace sluice::ui
