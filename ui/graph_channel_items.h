#pragma once

#include "proto/engine_protocol.pb.h"

#include <QGraphicsItem>
#include <QPainterPath>

#include <vector>

namespace sluice::ui {

// Queue, credit, backlog and barrier totals of one channel or of a bundle of
// channels.
struct ChannelSummary {
    int channels = 0;
    int queued_output_buffers = 0;
    int queued_input_buffers = 0;
    int capacity_buffers = 0;
    int credits = 0;
    int backlog = 0;
    int blocked_channels = 0;
    std::vector<protocol::BarrierInFlight> barriers;

    void add(const protocol::ChannelFrame& channel);
};

// The curve of a channel from its sender to its receiver. Its first 30 % is
// the sender's output queue, the middle is the network, and the last 30 % is
// the receiver's input channel.
class ChannelItem : public QGraphicsItem {
public:
    enum { Type = UserType + 4 };

    // `bundle`: the item draws every channel of an edge, drawn thicker
    // between the two vertex boxes.
    ChannelItem(QPointF from, QPointF to, bool bundle);

    void setSummary(ChannelSummary summary);
    const ChannelSummary& summary() const { return summary_; }
    bool isBundle() const { return bundle_; }
    // Where a barrier is drawn, as a fraction of the curve from 0 (sender)
    // to 1 (receiver).
    static double barrierPercent(const protocol::BarrierInFlight& barrier);

    // Set by the scene for faults on this channel; -1 for bundles.
    int source_vertex = -1;
    int source_subtask = -1;
    int target_vertex = -1;
    int target_subtask = -1;

    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;
    int type() const override { return Type; }

private:
    void paintQueue(QPainter* painter, double from, double to, double fill) const;
    void paintBarrier(QPainter* painter, const protocol::BarrierInFlight& barrier) const;
    void paintBlocked(QPainter* painter) const;
    void paintLabel(QPainter* painter) const;
    void updateToolTip();

    QPainterPath path_;
    bool bundle_;
    ChannelSummary summary_;
};

}  // namespace sluice::ui
