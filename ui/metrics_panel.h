#pragma once

#include "proto/engine_protocol.pb.h"
#include "ui/metrics_history.h"

#include <QWidget>

class QLabel;
class QListView;
class QMainWindow;
class QTimer;
class QToolButton;

namespace sluice::ui {

class EngineSession;
class MetricsChartView;
class MetricsSelectorModel;
class TimelineWidget;

// The Metrics dock: choose metrics and subtasks on the left, see them as
// lines over simulated time on the right, with the timeline's checkpoint
// and fault marks. While the panel is visible and the run moved, it sends
// QueryMetrics from its latest sample on, at most every pollIntervalMs()
// and never while a query is waiting. The engine decimates each series to
// kMaxPointsPerQuery points. The panel saves the chart as PNG and the shown
// series (within the visible time range) as CSV in the `sluice-run
// --metrics-csv` format.
//
// Threading: GUI thread only; never waits for the engine.
class MetricsPanel : public QWidget {
    Q_OBJECT

public:
    static constexpr uint32_t kMaxPointsPerQuery = 2000;

    // `session` and `timeline` must outlive the panel.
    MetricsPanel(EngineSession* session, TimelineWidget* timeline, QWidget* parent = nullptr);

    MetricsChartView* chartView() const { return chart_; }
    MetricsSelectorModel* metricModel() const { return metric_model_; }
    MetricsSelectorModel* subtaskModel() const { return subtask_model_; }
    const MetricsHistory& history() const { return history_; }
    // The series the chart shows: every fetched series of a checked metric
    // and a checked subtask.
    std::vector<MetricSeriesKey> shownKeys() const;
    int pollIntervalMs() const;

    // Writes the shown series within the visible time range. Returns an
    // empty string, or why the file could not be written.
    QString exportCsv(const QString& path) const;
    QString savePng(const QString& path);
    // Sends a query now unless one is waiting.
    void poll();
    bool isQueryWaiting() const { return query_waiting_; }

Q_SIGNALS:
    // A query reply was added to the history and the chart shows it.
    void metricsUpdated();

private:
    void buildLayout();
    QToolButton* addButton(const QString& text, const QString& tooltip);
    void connectSession();
    void onJobGraph(const protocol::JobGraph& graph);
    void onReply(const protocol::Reply& reply, uint64_t generation, int64_t from_ms);
    void restart();
    void refreshChart();
    void refreshMetricChoices();
    void exportCsvDialog();
    void savePngDialog();

    EngineSession* session_;
    TimelineWidget* timeline_;
    MetricsHistory history_;
    MetricsSelectorModel* metric_model_;
    MetricsSelectorModel* subtask_model_;
    MetricsChartView* chart_ = nullptr;
    QListView* metric_list_ = nullptr;
    QListView* subtask_list_ = nullptr;
    QLabel* empty_label_ = nullptr;
    QTimer* poll_timer_;
    bool query_waiting_ = false;
    // Bumped when the run is loaded again or moves, so late replies of the
    // run before are dropped.
    uint64_t generation_ = 0;
    uint64_t polled_event_index_ = UINT64_MAX;
};

// Adds the Metrics dock to `window`, as a tab beside the Event Log dock when
// there is one, and returns its panel.
MetricsPanel* addMetricsDock(QMainWindow* window, EngineSession* session, TimelineWidget* timeline);

}  // namespace sluice::ui
