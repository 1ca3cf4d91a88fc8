#pragma once

#include "proto/engine_protocol.pb.h"

#include <QString>
#include <QStringList>
#include <QWidget>

#include <vector>

namespace sluice::ui {

// One subtask's row of the Gantt chart. Durations are simulated
// milliseconds, sizes bytes.
struct CheckpointGanttRow {
    QString label;  // "task #subtask"
    int vertex = 0;
    int subtask = 0;
    bool acknowledged = false;
    double start_delay_ms = 0;
    double alignment_ms = 0;
    double sync_ms = 0;
    double async_ms = 0;
    int64_t processed_bytes = 0;
    int64_t persisted_bytes = 0;
    bool unaligned = false;

    double totalMs() const { return start_delay_ms + alignment_ms + sync_ms + async_ms; }
};

// The rows of `checkpoint`, slowest subtask first (by the sum of its
// phases), then by vertex and subtask. `vertex_names` names tasks by vertex
// id.
std::vector<CheckpointGanttRow> checkpointGanttRows(const protocol::CheckpointDetail& checkpoint,
                                                    const QStringList& vertex_names);

// The phases of one checkpoint per subtask as stacked bars: start delay,
// alignment, sync and async durations, on a common millisecond axis. Hovering
// a row shows its exact values.
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
    void paintLegend(QPainter& painter) const;

    std::vector<CheckpointGanttRow> rows_;
};

}  // namespace sluice::ui
