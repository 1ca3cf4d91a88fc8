#pragma once

#include "proto/engine_protocol.pb.h"

#include <QString>
#include <QStringList>
#include <QWidget>

#include <vector>

namespace sluice::ui {

// A phase of the Gantt chart.
enum class GanttPhase { kStartDelay, kAlignment, kSync, kAsync };

// One bar of a row, in milliseconds since the trigger. A pending bar is a
// step the subtask had begun but not finished when the checkpoint ended,
// or, for the start delay, a barrier that never arrived.
struct CheckpointGanttBar {
    GanttPhase phase = GanttPhase::kStartDelay;
    double from_ms = 0;
    double to_ms = 0;
    bool pending = false;
    // Drawn in the lower half of the row: an unaligned checkpoint's
    // alignment, which goes on while the snapshot is written.
    bool overlay = false;
};

// One subtask's row of the Gantt chart. Durations and times are simulated
// milliseconds, sizes bytes.
struct CheckpointGanttRow {
    QString label;  // "task #subtask"
    int vertex = 0;
    int subtask = 0;
    bool acknowledged = false;
    // The phase durations of the checkpoint statistics.
    double start_delay_ms = 0;
    double alignment_ms = 0;
    double sync_ms = 0;
    double async_ms = 0;
    int64_t processed_bytes = 0;
    int64_t persisted_bytes = 0;
    int64_t state_size_bytes = 0;
    bool unaligned = false;
    // Times since the trigger at which the subtask reached each step, -1
    // when it did not.
    double first_barrier_ms = -1;
    double all_barriers_ms = -1;
    double snapshot_ms = -1;
    double ack_ms = -1;
    // The acknowledgement, or the end of the checkpoint for a subtask that
    // did not acknowledge.
    double end_ms = 0;
    std::vector<CheckpointGanttBar> bars;
};

// The rows of `checkpoint`, slowest subtask first (by end_ms, so subtasks
// that did not acknowledge come first), then by vertex and subtask. Each
// phase sits at its simulated time: start delay and alignment from the
// trigger, sync and async ending at the acknowledgement. `vertex_names`
// names tasks by vertex id.
std::vector<CheckpointGanttRow> checkpointGanttRows(const protocol::CheckpointDetail& checkpoint,
                                                    const QStringList& vertex_names);

// The phases of one checkpoint per subtask as bars on a common axis of
// milliseconds since the trigger. Hovering a row shows its exact values.
//
// Threading: GUI thread only.
class CheckpointGantt : public QWidget {
    Q_OBJECT

public:
    explicit CheckpointGantt(QWidget* parent = nullptr);

    void setCheckpoint(const protocol::CheckpointDetail& checkpoint,
                       const QStringList& vertex_names);
    void clear();
    const std::vector<CheckpointGanttRow>& rows() const { return rows_; }
    // Text the tooltip of `row` shows.
    QString rowToolTip(int row) const;
    // Row at widget position `y`, or -1.
    int rowAt(int y) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;
    bool event(QEvent* event) override;

private:
    void paintAxis(QPainter& painter, const QRect& plot, double max_ms) const;
    void paintRow(QPainter& painter, const QRect& plot, int y, double max_ms,
                  const CheckpointGanttRow& row) const;
    void paintLegend(QPainter& painter) const;

    std::vector<CheckpointGanttRow> rows_;
};

}  // namespace sluice::ui
