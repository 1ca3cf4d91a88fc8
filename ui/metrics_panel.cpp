#include "ui/metrics_panel.h"

#include "ui/engine_session.h"
#include "ui/logging_categories.h"
#include "ui/metrics_chart_view.h"
#include "ui/metrics_csv.h"
#include "ui/metrics_selector_model.h"
#include "ui/timeline_widget.h"

#include <QDockWidget>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QMainWindow>
#include <QMessageBox>
#include <QSaveFile>
#include <QSplitter>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>
#include <sstream>

namespace sluice::ui {

namespace {

// At most two queries per second, so polling costs the engine little time.
constexpr int kPollIntervalMs = 500;

// Every metric the engine returns, in the order the selector lists them.
const char* const kMetricNames[] = {
    "numRecordsInPerSecond",
    "numRecordsOutPerSecond",
    "busyTimeMsPerSecond",
    "idleTimeMsPerSecond",
    "backPressuredTimeMsPerSecond",
    "inPoolUsage",
    "outPoolUsage",
    "inputQueueLength",
    "outputQueueLength",
    "inputExclusiveBuffersUsage",
    "inputFloatingBuffersUsage",
    "currentInputWatermark",
    "checkpointAlignmentTime",
    "checkpointStartDelayNanos",
    "lastCheckpointDuration",
    "lastCheckpointSize",
    "lastCheckpointFullSize",
    "lastCheckpointProcessedData",
    "lastCheckpointPersistedData",
    "numRestarts",
};

const QString kJobId = QStringLiteral("job");

QString subtaskId(const std::string& task, int subtask) {
    if (subtask < 0) {
        return kJobId;
    }
    return QStringLiteral("%1#%2").arg(QString::fromStdString(task)).arg(subtask);
}

}  // namespace

MetricsPanel::MetricsPanel(EngineSession* session, TimelineWidget* timeline, QWidget* parent)
    : QWidget(parent),
      session_(session),
      timeline_(timeline),
      metric_model_(new MetricsSelectorModel(this)),
      subtask_model_(new MetricsSelectorModel(this)),
      poll_timer_(new QTimer(this)) {
    buildLayout();
    refreshMetricChoices();
    connectSession();
    poll_timer_->setInterval(kPollIntervalMs);
    poll_timer_->start();
    refreshChart();
}

void MetricsPanel::refreshMetricChoices() {
    std::vector<MetricsSelectorModel::Choice> choices;
    for (const char* name : kMetricNames) {
        QString unit = metricUnit(name);
        choices.push_back({QString::fromLatin1(name),
                           QStringLiteral("%1 (%2)").arg(QString::fromLatin1(name), unit),
                           {}});
    }
    metric_model_->setChoices(choices, {QStringLiteral("busyTimeMsPerSecond"),
                                        QStringLiteral("backPressuredTimeMsPerSecond")});
}

QToolButton* MetricsPanel::addButton(const QString& text, const QString& tooltip) {
    auto* button = new QToolButton(this);
    button->setText(text);
    button->setToolTip(tooltip);
    return button;
}

void MetricsPanel::buildLayout() {
    metric_list_ = new QListView(this);
    metric_list_->setModel(metric_model_);
    metric_list_->setToolTip(tr("Metrics to draw, with Flink's names and their units"));
    subtask_list_ = new QListView(this);
    subtask_list_->setModel(subtask_model_);
    subtask_list_->setToolTip(tr("Subtasks to draw; \"job\" holds the job-level metrics"));
    auto* selectors = new QWidget(this);
    // Wide enough for the longest metric name with its unit.
    selectors->setMinimumWidth(320);
    auto* selector_layout = new QVBoxLayout(selectors);
    selector_layout->setContentsMargins(0, 0, 0, 0);
    selector_layout->addWidget(new QLabel(tr("Metrics"), selectors));
    selector_layout->addWidget(metric_list_, 3);
    selector_layout->addWidget(new QLabel(tr("Subtasks"), selectors));
    selector_layout->addWidget(subtask_list_, 2);

    chart_ = new MetricsChartView(this);
    empty_label_ = new QLabel(this);
    empty_label_->setAlignment(Qt::AlignCenter);
    empty_label_->setWordWrap(true);
    QToolButton* reset = addButton(tr("Reset Zoom"), tr("Show all points (or right-click)"));
    QToolButton* png = addButton(tr("Save PNG..."), tr("Save the chart as an image"));
    QToolButton* csv =
        addButton(tr("Export CSV..."), tr("Save the shown series in the visible time range as "
                                          "time_ms,task,subtask,metric,value"));
    connect(reset, &QToolButton::clicked, chart_, &MetricsChartView::resetZoom);
    connect(png, &QToolButton::clicked, this, &MetricsPanel::savePngDialog);
    connect(csv, &QToolButton::clicked, this, &MetricsPanel::exportCsvDialog);
    auto* buttons = new QHBoxLayout();
    buttons->addWidget(
        new QLabel(tr("Drag or wheel to zoom, middle-drag to pan, hover a line for its name"),
                   this),
        1);
    for (QToolButton* button : {reset, png, csv}) {
        buttons->addWidget(button);
    }
    auto* chart_side = new QWidget(this);
    auto* chart_layout = new QVBoxLayout(chart_side);
    chart_layout->setContentsMargins(0, 0, 0, 0);
    chart_layout->addLayout(buttons);
    chart_layout->addWidget(empty_label_);
    chart_layout->addWidget(chart_, 1);

    auto* splitter = new QSplitter(this);
    splitter->addWidget(selectors);
    splitter->addWidget(chart_side);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({320, 900});
    // Room for the plot beside the axis titles and a legend.
    setMinimumHeight(300);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(splitter);
}

void MetricsPanel::connectSession() {
    connect(poll_timer_, &QTimer::timeout, this, [this] {
        const protocol::Status& status = session_->status();
        // A dock that is closed or behind another tab costs the engine nothing.
        if (isVisible() && status.run_state() != protocol::EMPTY &&
            status.run_state() != protocol::RUN_STATE_UNSPECIFIED &&
            status.event_index() != polled_event_index_) {
            poll();
        }
    });
    connect(session_, &EngineSession::runLoaded, this, &MetricsPanel::restart);
    // After a move, drop the samples of the run before it and fetch again.
    connect(session_, &EngineSession::positionSet, this, &MetricsPanel::restart);
    connect(session_, &EngineSession::jobGraphChanged, this, &MetricsPanel::onJobGraph);
    connect(metric_model_, &MetricsSelectorModel::checkedIdsChanged, this,
            &MetricsPanel::refreshChart);
    connect(subtask_model_, &MetricsSelectorModel::checkedIdsChanged, this,
            &MetricsPanel::refreshChart);
    connect(timeline_, &TimelineWidget::marksChanged, this,
            [this] { chart_->setMarks(timeline_->marks()); });
}

int MetricsPanel::pollIntervalMs() const {
    return poll_timer_->interval();
}

void MetricsPanel::onJobGraph(const protocol::JobGraph& graph) {
    std::vector<MetricsSelectorModel::Choice> choices;
    QStringList all;
    choices.push_back({kJobId, tr("job"), tr("Job-level metrics: checkpoints and restarts")});
    all.append(kJobId);
    for (const protocol::Vertex& vertex : graph.vertices()) {
        for (int subtask = 0; subtask < vertex.parallelism(); ++subtask) {
            QString id = subtaskId(vertex.name(), subtask);
            QString label =
                QStringLiteral("%1 #%2").arg(QString::fromStdString(vertex.name())).arg(subtask);
            choices.push_back({id, label, {}});
            all.append(id);
        }
    }
    subtask_model_->setChoices(choices, all);
}

void MetricsPanel::restart() {
    ++generation_;
    query_waiting_ = false;
    polled_event_index_ = UINT64_MAX;
    history_.clear();
    chart_->resetZoom();
    refreshChart();
    qCInfo(lcUiMetrics) << "metrics history cleared, generation" << generation_;
}

void MetricsPanel::poll() {
    if (query_waiting_) {
        return;
    }
    query_waiting_ = true;
    polled_event_index_ = session_->status().event_index();
    protocol::Request request;
    protocol::QueryMetrics* query = request.mutable_query_metrics();
    // Inclusive, because a checkpoint may complete within the millisecond of
    // the latest sample; MetricsHistory replaces the overlap.
    int64_t from_ms = std::max<int64_t>(history_.lastTimeMs(), 0);
    query->set_from_ns(from_ms * 1'000'000);
    query->set_max_points_per_series(kMaxPointsPerQuery);
    query->set_include_checkpoint_series(true);
    uint64_t generation = generation_;
    session_->request(std::move(request),
                      [this, generation, from_ms](const protocol::Reply& reply) {
                          onReply(reply, generation, from_ms);
                      });
}

void MetricsPanel::onReply(const protocol::Reply& reply, uint64_t generation, int64_t from_ms) {
    if (generation != generation_) {
        return;
    }
    query_waiting_ = false;
    if (!reply.error().empty()) {
        qCWarning(lcUiMetrics) << "metrics query failed:" << QString::fromStdString(reply.error());
        return;
    }
    history_.append(reply.metrics(), from_ms);
    refreshChart();
    Q_EMIT metricsUpdated();
}

std::vector<MetricSeriesKey> MetricsPanel::shownKeys() const {
    QStringList metrics = metric_model_->checkedIds();
    QStringList subtasks = subtask_model_->checkedIds();
    std::vector<MetricSeriesKey> keys;
    for (const auto& [key, points] : history_.series()) {
        if (metrics.contains(QString::fromStdString(key.metric)) &&
            subtasks.contains(subtaskId(key.task, key.subtask))) {
            keys.push_back(key);
        }
    }
    return keys;
}

void MetricsPanel::refreshChart() {
    std::vector<MetricSeriesKey> keys = shownKeys();
    chart_->setSeries(history_, keys);
    QString empty;
    if (history_.series().empty()) {
        empty =
            tr("No metrics yet. Load a scenario and press Play; the engine samples every "
               "subtask once per simulated second.");
    } else if (keys.empty()) {
        empty =
            tr("No series for this choice. Check at least one metric and one subtask; "
               "job-level metrics need the \"job\" row, checkpoint metrics a completed "
               "checkpoint.");
    }
    empty_label_->setText(empty);
    empty_label_->setVisible(!empty.isEmpty());
}

QString MetricsPanel::exportCsv(const QString& path) const {
    auto from_ms = int64_t(std::floor(chart_->timeAxis()->min() * 1000.0));
    auto to_ms = int64_t(std::ceil(chart_->timeAxis()->max() * 1000.0));
    protocol::MetricsPage page = history_.page(shownKeys(), from_ms, to_ms);
    std::ostringstream out;
    writeMetricsCsv(out, page);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    }
    file.write(QByteArray::fromStdString(out.str()));
    if (!file.commit()) {
        return tr("Cannot write %1: %2").arg(path, file.errorString());
    }
    qCInfo(lcUiMetrics) << "exported" << page.samples_size() << "samples to" << path;
    return {};
}

QString MetricsPanel::savePng(const QString& path) {
    QPixmap image = chart_->grab();
    if (!image.save(path, "PNG")) {
        return tr("Cannot write the image %1").arg(path);
    }
    qCInfo(lcUiMetrics) << "saved chart to" << path;
    return {};
}

void MetricsPanel::exportCsvDialog() {
    QString path =
        QFileDialog::getSaveFileName(this, tr("Export Shown Metrics"),
                                     QStringLiteral("metrics-shown.csv"), tr("CSV files (*.csv)"));
    if (path.isEmpty()) {
        return;
    }
    QString error = exportCsv(path);
    if (!error.isEmpty()) {
        qCWarning(lcUiMetrics) << error;
        QMessageBox::warning(this, tr("Export failed"), error);
    }
}

void MetricsPanel::savePngDialog() {
    QString path = QFileDialog::getSaveFileName(
        this, tr("Save Chart"), QStringLiteral("metrics.png"), tr("PNG images (*.png)"));
    if (path.isEmpty()) {
        return;
    }
    QString error = savePng(path);
    if (!error.isEmpty()) {
        qCWarning(lcUiMetrics) << error;
        QMessageBox::warning(this, tr("Save failed"), error);
    }
}

MetricsPanel* addMetricsDock(QMainWindow* window, EngineSession* session,
                             TimelineWidget* timeline) {
    auto* dock = new QDockWidget(MetricsPanel::tr("Metrics"), window);
    dock->setObjectName(QStringLiteral("metrics-dock"));
    auto* panel = new MetricsPanel(session, timeline, dock);
    dock->setWidget(panel);
    window->addDockWidget(Qt::BottomDockWidgetArea, dock);
    if (auto* log = window->findChild<QDockWidget*>(QStringLiteral("event-log-dock"))) {
        window->tabifyDockWidget(log, dock);
        log->raise();
    }
    return panel;
}

}  // namespace sluice::ui
