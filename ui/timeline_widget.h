#pragma once

#include "proto/engine_protocol.pb.h"

#include <QWidget>

#include <optional>
#include <vector>

namespace sluice::ui {

// A scrubber over simulated time: completed (green), failed (red) and
// in-progress (amber) checkpoints as spans from trigger to end, faults as
// triangles (red from the scenario, purple when injected), and the current
// time as a line. Clicking a mark emits seekRequested with its event index.
class TimelineWidget : public QWidget {
    Q_OBJECT

public:
    // A clickable mark and the event index it seeks to.
    struct Mark {
        int64_t time_ns = 0;
        uint64_t event_index = 0;
        QString label;
        QColor color;
        bool fault = false;
    };

    explicit TimelineWidget(QWidget* parent = nullptr);

    void applyFrame(const protocol::Frame& frame);
    void clear();
    const std::vector<Mark>& marks() const { return marks_; }
    const std::vector<protocol::CheckpointMark>& checkpoints() const { return checkpoints_; }
    const std::vector<protocol::FaultMark>& faults() const { return faults_; }
    // The mark drawn at a widget position, if any.
    std::optional<Mark> markAt(QPoint pos) const;
    // Widget x of a simulated time.
    int xOf(int64_t time_ns) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    void seekRequested(uint64_t event_index);
    // marks() changed, after applyFrame or clear.
    void marksChanged();

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;

private:
    void paintAxis(QPainter* painter) const;
    void paintCheckpoints(QPainter* painter) const;
    void paintFaults(QPainter* painter) const;
    int64_t rangeNs() const;

    int64_t now_ns_ = 0;
    int64_t until_ns_ = 0;
    std::vector<protocol::CheckpointMark> checkpoints_;
    std::vector<protocol::FaultMark> faults_;
    std::vector<Mark> marks_;
};

}  // namespace sluice::ui
