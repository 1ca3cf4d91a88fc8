#include "ui/graph_channel_items.h"

#include "ui/graph_colors.h"

#include <QPainter>
#include <QPainterPathStroker>
#include <QStyleOptionGraphicsItem>

#include <algorithm>

namespace sluice::ui {

namespace {

constexpr double kOutputEnd = 0.3;
constexpr double kInputStart = 0.7;
const QColor kQueueColor(0x2a, 0x9d, 0x8f);
const QColor kBlockedColor(0xe0, 0x00, 0x00);
// Zoom from which every channel prints its numbers; below it they overlap
// where channels converge, and the tool tip shows them.
constexpr double kLabelDetail = 1.8;

QPainterPath curve(QPointF from, QPointF to) {
    QPainterPath path(from);
    double dx = std::max(40.0, (to.x() - from.x()) / 2);
    path.cubicTo(from + QPointF(dx, 0), to - QPointF(dx, 0), to);
    return path;
}

}  // namespace

void ChannelSummary::add(const protocol::ChannelFrame& channel) {
    ++channels;
    queued_output_buffers += channel.queued_output_buffers();
    queued_input_buffers += channel.queued_input_buffers();
    capacity_buffers += channel.capacity_buffers();
    credits += channel.credits();
    backlog += channel.backlog();
    blocked_channels += channel.blocked_by_alignment() ? 1 : 0;
    barriers.insert(barriers.end(), channel.barriers().begin(), channel.barriers().end());
}

ChannelItem::ChannelItem(QPointF from, QPointF to, bool bundle)
    : path_(curve(from, to)), bundle_(bundle) {
    setZValue(bundle ? -0.5 : 0.5);
    updateToolTip();
}

void ChannelItem::setSummary(ChannelSummary summary) {
    summary_ = std::move(summary);
    updateToolTip();
    update();
}

double ChannelItem::barrierPercent(const protocol::BarrierInFlight& barrier) {
    // Position 0 is the head of a queue, the end the barrier leaves from.
    double position = std::clamp(barrier.position(), 0.0, 1.0);
    switch (barrier.where()) {
        case protocol::BarrierInFlight::OUTPUT_QUEUE:
            return kOutputEnd * (1 - position);
        case protocol::BarrierInFlight::INPUT_CHANNEL:
            return 1 - (1 - kInputStart) * position;
        default:
            return kOutputEnd + (kInputStart - kOutputEnd) * (1 - position);
    }
}

QRectF ChannelItem::boundingRect() const {
    // Wide enough for the label, which may be longer than a short curve.
    return path_.boundingRect().adjusted(-80, -18, 80, 12);
}

QPainterPath ChannelItem::shape() const {
    QPainterPathStroker stroker;
    stroker.setWidth(bundle_ ? 14 : 8);
    return stroker.createStroke(path_);
}

void ChannelItem::paintQueue(QPainter* painter, double from, double to, double fill) const {
    if (fill <= 0) {
        return;
    }
    QPainterPath part(path_.pointAtPercent(from));
    const int steps = 8;
    for (int i = 1; i <= steps; ++i) {
        part.lineTo(path_.pointAtPercent(from + (to - from) * i / steps));
    }
    double width = (bundle_ ? 3 : 2) + std::min(1.0, fill) * (bundle_ ? 9 : 5);
    painter->setPen(QPen(kQueueColor, width, Qt::SolidLine, Qt::FlatCap));
    painter->drawPath(part);
}

void ChannelItem::paintBarrier(QPainter* painter, const protocol::BarrierInFlight& barrier) const {
    double percent = barrierPercent(barrier);
    QPointF at = path_.pointAtPercent(percent);
    double angle = path_.angleAtPercent(percent);
    painter->save();
    painter->translate(at);
    painter->rotate(-angle);
    QColor color = checkpointColor(barrier.checkpoint_id());
    painter->setPen(QPen(Qt::black, barrier.unaligned() ? 1.5 : 0.8,
                         barrier.unaligned() ? Qt::DashLine : Qt::SolidLine));
    painter->setBrush(color);
    painter->drawRect(QRectF(-2.5, -8, 5, 16));
    if (barrier.overtook_data()) {
        // An arrow ahead of the barrier: it jumped the queued buffers.
        QPolygonF arrow({QPointF(4, -5), QPointF(10, 0), QPointF(4, 5)});
        painter->drawPolygon(arrow);
    }
    painter->restore();
}

void ChannelItem::paintBlocked(QPainter* painter) const {
    QPointF at = path_.pointAtPercent(0.97);
    painter->setPen(QPen(kBlockedColor, 3, Qt::SolidLine, Qt::FlatCap));
    painter->drawLine(at + QPointF(0, -8), at + QPointF(0, 8));
}

void ChannelItem::paintLabel(QPainter* painter) const {
    QString text = QStringLiteral("%1/%2 cr %3 bl %4")
                       .arg(summary_.queued_output_buffers + summary_.queued_input_buffers)
                       .arg(summary_.capacity_buffers)
                       .arg(summary_.credits)
                       .arg(summary_.backlog);
    if (bundle_) {
        text = QStringLiteral("%1 channels  ").arg(summary_.channels) + text;
    }
    QFont font = painter->font();
    font.setPointSizeF(7);
    painter->setFont(font);
    painter->setPen(QColor(0x40, 0x40, 0x40));
    QPointF at = path_.pointAtPercent(0.6);
    double width = painter->fontMetrics().horizontalAdvance(text) + 8;
    painter->drawText(QRectF(at.x() - width / 2, at.y() - 16, width, 12), Qt::AlignCenter, text);
}

void ChannelItem::paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget*) {
    painter->setRenderHint(QPainter::Antialiasing);
    bool blocked = summary_.blocked_channels > 0;
    QPen line(blocked ? kBlockedColor : QColor(0x99, 0x99, 0x99), bundle_ ? 4 : 1.2,
              blocked ? Qt::DashLine : Qt::SolidLine);
    painter->setPen(line);
    painter->setBrush(Qt::NoBrush);
    painter->drawPath(path_);
    double capacity = std::max(1, summary_.capacity_buffers);
    // The sender keeps no fixed capacity; its queue is drawn against the
    // receiver's, which bounds what credit lets it send.
    paintQueue(painter, 0, kOutputEnd, summary_.queued_output_buffers / capacity);
    paintQueue(painter, kInputStart, 1, summary_.queued_input_buffers / capacity);
    if (blocked) {
        paintBlocked(painter);
    }
    for (const protocol::BarrierInFlight& barrier : summary_.barriers) {
        paintBarrier(painter, barrier);
    }
    double detail = option->levelOfDetailFromTransform(painter->worldTransform());
    if (bundle_ || detail >= kLabelDetail) {
        paintLabel(painter);
    }
}

void ChannelItem::updateToolTip() {
    QString text = bundle_ ? QStringLiteral("%1 channels\n").arg(summary_.channels)
                           : QStringLiteral("channel %1#%2 -> %3#%4\n")
                                 .arg(source_vertex)
                                 .arg(source_subtask)
                                 .arg(target_vertex)
                                 .arg(target_subtask);
    text += QStringLiteral(
                "output queue: %1 buffers\ninput channel: %2 of %3 buffers\n"
                "credits: %4, backlog: %5")
                .arg(summary_.queued_output_buffers)
                .arg(summary_.queued_input_buffers)
                .arg(summary_.capacity_buffers)
                .arg(summary_.credits)
                .arg(summary_.backlog);
    if (summary_.blocked_channels > 0) {
        text += QStringLiteral("\nblocked by alignment: %1").arg(summary_.blocked_channels);
    }
    for (const protocol::BarrierInFlight& barrier : summary_.barriers) {
        text +=
            QStringLiteral("\nbarrier %1 %2%3%4")
                .arg(barrier.checkpoint_id())
                .arg(QString::fromStdString(protocol::BarrierInFlight::Where_Name(barrier.where())))
                .arg(barrier.unaligned() ? QStringLiteral(", unaligned") : QString())
                .arg(barrier.overtook_data() ? QStringLiteral(", overtook data") : QString());
    }
    setToolTip(text);
}

}  // namespace sluice::ui
