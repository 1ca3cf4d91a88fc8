// The Metrics dock: decimation of QueryMetrics, the chart against
// `sluice-run --metrics-csv`, the CSV export of the shown series and the
// selector models.
#include "gui_test_support.h"
#include "sim/metrics_decimation.h"
#include "test_support.h"
#include "ui/metrics_chart_view.h"
#include "ui/metrics_csv.h"
#include "ui/metrics_panel.h"
#include "ui/metrics_selector_model.h"
#include "ui/timeline_widget.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QSet>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <climits>
#include <map>
#include <sstream>

using namespace sluice;

namespace {

constexpr int kLoadTimeoutMs = 60000;
constexpr int kRunTimeoutMs = 300000;

// The metrics MetricsRecorder samples, which `sluice-run --metrics-csv`
// writes.
const QStringList kSampledMetrics = {
    "busyTimeMsPerSecond",
    "idleTimeMsPerSecond",
    "backPressuredTimeMsPerSecond",
    "numRecordsInPerSecond",
    "numRecordsOutPerSecond",
    "inPoolUsage",
    "outPoolUsage",
    "inputQueueLength",
    "outputQueueLength",
    "inputExclusiveBuffersUsage",
    "inputFloatingBuffersUsage",
    "currentInputWatermark",
};

QString flightsPath() {
    return QString::fromStdString(test::sourcePath("scenarios/flights.textproto"));
}

// The data rows (header dropped) of a metrics CSV.
QStringList csvRows(const QByteArray& csv) {
    QStringList rows = QString::fromUtf8(csv).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    if (!rows.isEmpty() && rows.first() == QStringLiteral("time_ms,task,subtask,metric,value")) {
        rows.removeFirst();
    }
    return rows;
}

// Task names of flights contain no comma, so a plain split works.
QString seriesOfRow(const QString& row) {
    QStringList fields = row.split(QLatin1Char(','));
    return fields.value(1) + QLatin1Char('#') + fields.value(2) + QLatin1Char(' ') +
           fields.value(3);
}

int64_t timeOfRow(const QString& row) {
    return row.section(QLatin1Char(','), 0, 0).toLongLong();
}

QString seriesOfKey(const ui::MetricSeriesKey& key) {
    return QStringLiteral("%1#%2 %3")
        .arg(QString::fromStdString(key.task))
        .arg(key.subtask)
        .arg(QString::fromStdString(key.metric));
}

bool isWatermarkExtreme(const QString& row) {
    QString value = row.section(QLatin1Char(','), 4, 4);
    return value == QString::number(LLONG_MAX) || value == QString::number(LLONG_MIN);
}

}  // namespace

class TestGuiMetrics : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void decimationBounds_data();
    void decimationBounds();
    void decimationKeepsSpike();
    void queryDecimatesEachSeries();
    void checkpointSeriesMatchHistory();
    void chartEqualsSluiceRunCsv();
    void exportedCsvIsSubset();
    void chartShowsTimelineMarks();
    void savePngWritesImage();
    void selectorModelKeepsChecks();
    void historyReplacesOverlap();
    void historyStaysBounded();

private:
    // Runs flights to its end in `engine` with `panel` fetching metrics.
    void runFlights(test::ServedEngine* engine, ui::MetricsPanel* panel);

    QByteArray reference_csv_;
};

void TestGuiMetrics::initTestCase() {
    QTemporaryDir folder;
    QVERIFY(folder.isValid());
    QString path = folder.filePath(QStringLiteral("sluice-run.csv"));
    QProcess run;
    run.start(QString::fromStdString(test::binaryPath("sluice-run")),
              {flightsPath(), QStringLiteral("--metrics-csv"), path});
    QVERIFY(run.waitForFinished(kRunTimeoutMs));
    QCOMPARE(run.exitCode(), 0);
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    reference_csv_ = file.readAll();
    QVERIFY(csvRows(reference_csv_).size() > 100);
}

void TestGuiMetrics::decimationBounds_data() {
    QTest::addColumn<int>("count");
    QTest::addColumn<int>("max_points");
    QTest::newRow("shorter than max") << 5 << 10;
    QTest::newRow("equal to max") << 10 << 10;
    QTest::newRow("max 0 keeps all") << 50 << 0;
    QTest::newRow("max 1 keeps ends") << 50 << 1;
    QTest::newRow("max 2") << 50 << 2;
    QTest::newRow("max 3") << 50 << 3;
    QTest::newRow("max 7") << 1000 << 7;
    QTest::newRow("max 100") << 10000 << 100;
    QTest::newRow("one more than max") << 101 << 100;
}

void TestGuiMetrics::decimationBounds() {
    QFETCH(int, count);
    QFETCH(int, max_points);
    std::vector<double> values;
    for (int i = 0; i < count; ++i) {
        values.push_back(double((i * 7919) % 101));
    }
    std::vector<size_t> kept = sim::decimatedPositions(values, size_t(max_points));
    QVERIFY(!kept.empty());
    QCOMPARE(kept.front(), size_t(0));
    QCOMPARE(kept.back(), size_t(count - 1));
    for (size_t i = 1; i < kept.size(); ++i) {
        QVERIFY2(kept[i - 1] < kept[i], qPrintable(QString::number(i)));
    }
    if (max_points == 0 || count <= std::max(max_points, 2)) {
        QCOMPARE(kept.size(), size_t(count));
    } else {
        QVERIFY2(kept.size() <= size_t(std::max(max_points, 2)),
                 qPrintable(QString::number(kept.size())));
    }
}

void TestGuiMetrics::decimationKeepsSpike() {
    std::vector<double> values(1000, 1.0);
    values[517] = 50.0;
    values[300] = -20.0;
    std::vector<size_t> kept = sim::decimatedPositions(values, 10);
    QVERIFY(kept.size() <= 10);
    QVERIFY(std::find(kept.begin(), kept.end(), size_t(517)) != kept.end());
    QVERIFY(std::find(kept.begin(), kept.end(), size_t(300)) != kept.end());
}

void TestGuiMetrics::runFlights(test::ServedEngine* engine, ui::MetricsPanel* panel) {
    QSignalSpy updated(panel, &ui::MetricsPanel::metricsUpdated);
    // A hidden panel does not poll; shown, it fetches pages while the run
    // plays, so the pages overlap as they do in the GUI.
    panel->show();
    engine->session->loadScenario(flightsPath());
    QTRY_COMPARE_WITH_TIMEOUT(engine->session->status().run_state(), protocol::PAUSED,
                              kLoadTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(panel->subtaskModel()->rowCount() > 1, kLoadTimeoutMs);
    engine->session->setSpeed(0);
    engine->session->play();
    QTRY_COMPARE_WITH_TIMEOUT(engine->session->status().run_state(), protocol::FINISHED,
                              kRunTimeoutMs);
    // A query sent after the end returns every sample of the finished run.
    QTRY_VERIFY_WITH_TIMEOUT(!panel->isQueryWaiting(), kLoadTimeoutMs);
    updated.clear();
    panel->poll();
    QTRY_VERIFY_WITH_TIMEOUT(updated.count() > 0, kLoadTimeoutMs);
}

void TestGuiMetrics::queryDecimatesEachSeries() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::TimelineWidget timeline;
    ui::MetricsPanel panel(engine.session.get(), &timeline);
    runFlights(&engine, &panel);

    std::map<QString, std::vector<int64_t>> full;
    for (const QString& row : csvRows(reference_csv_)) {
        full[seriesOfRow(row)].push_back(timeOfRow(row));
    }
    protocol::MetricsPage decimated;
    bool replied = false;
    protocol::Request request;
    request.mutable_query_metrics()->set_max_points_per_series(6);
    engine.session->request(std::move(request), [&](const protocol::Reply& reply) {
        decimated = reply.metrics();
        replied = true;
    });
    QTRY_VERIFY_WITH_TIMEOUT(replied, kLoadTimeoutMs);
    std::map<QString, std::vector<int64_t>> kept;
    for (const protocol::MetricSample& sample : decimated.samples()) {
        kept[seriesOfKey({sample.task(), sample.subtask(), sample.metric()})].push_back(
            sample.time_ms());
    }
    QCOMPARE(kept.size(), full.size());
    for (const auto& [series, times] : kept) {
        QVERIFY2(times.size() <= 6, qPrintable(series));
        const std::vector<int64_t>& all = full[series];
        QVERIFY2(!all.empty(), qPrintable(series));
        QCOMPARE(times.front(), all.front());
        QCOMPARE(times.back(), all.back());
        QCOMPARE(times.size(), std::min<size_t>(all.size(), 6));
    }
}

void TestGuiMetrics::checkpointSeriesMatchHistory() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::TimelineWidget timeline;
    ui::MetricsPanel panel(engine.session.get(), &timeline);
    runFlights(&engine, &panel);

    protocol::CheckpointHistory history;
    bool replied = false;
    protocol::Request request;
    request.mutable_query_checkpoints();
    engine.session->request(std::move(request), [&](const protocol::Reply& reply) {
        history = reply.checkpoints();
        replied = true;
    });
    QTRY_VERIFY_WITH_TIMEOUT(replied, kLoadTimeoutMs);
    std::vector<int64_t> end_times_ms;
    for (const protocol::CheckpointMark& mark : history.checkpoints()) {
        if (mark.status() == "COMPLETED") {
            end_times_ms.push_back(mark.end_ns() / 1'000'000);
        }
    }
    QVERIFY(!end_times_ms.empty());
    const std::vector<ui::MetricPoint>* durations =
        panel.history().points({"", -1, "lastCheckpointDuration"});
    QVERIFY(durations != nullptr);
    QCOMPARE(durations->size(), end_times_ms.size());
    for (size_t i = 0; i < durations->size(); ++i) {
        QCOMPARE((*durations)[i].time_ms, end_times_ms[i]);
        QVERIFY((*durations)[i].value >= 0);
    }
    const std::vector<ui::MetricPoint>* restarts = panel.history().points({"", -1, "numRestarts"});
    QVERIFY(restarts != nullptr);
    QCOMPARE(restarts->front().time_ms, int64_t(0));
    QCOMPARE(restarts->back().value, double(engine.session->status().num_restarts()));
}

void TestGuiMetrics::chartEqualsSluiceRunCsv() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::TimelineWidget timeline;
    ui::MetricsPanel panel(engine.session.get(), &timeline);
    panel.metricModel()->setCheckedIds(kSampledMetrics);
    runFlights(&engine, &panel);
    QVERIFY(panel.subtaskModel()->checkedIds() == panel.subtaskModel()->ids());

    // Rows of the chart's points, written as sluice-run writes them.
    protocol::MetricsPage page;
    for (const auto& [key, line] : panel.chartView()->lineSeries()) {
        for (const QPointF& point : line->points()) {
            protocol::MetricSample* sample = page.add_samples();
            sample->set_time_ms(qRound64(point.x() * 1000.0));
            sample->set_task(key.task);
            sample->set_subtask(key.subtask);
            sample->set_metric(key.metric);
            sample->set_value(point.y());
        }
    }
    std::ostringstream out;
    ui::writeMetricsCsv(out, page);
    QStringList chart_rows = csvRows(QByteArray::fromStdString(out.str()));
    QStringList expected;
    for (const QString& row : csvRows(reference_csv_)) {
        // The chart leaves out watermarks of Long.MIN_VALUE / MAX_VALUE.
        if (!isWatermarkExtreme(row)) {
            expected.append(row);
        }
    }
    chart_rows.sort();
    expected.sort();
    QCOMPARE(chart_rows.size(), expected.size());
    QCOMPARE(chart_rows, expected);
}

void TestGuiMetrics::exportedCsvIsSubset() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::TimelineWidget timeline;
    ui::MetricsPanel panel(engine.session.get(), &timeline);
    panel.metricModel()->setCheckedIds({"numRecordsOutPerSecond", "busyTimeMsPerSecond"});
    runFlights(&engine, &panel);
    QStringList subtasks = panel.subtaskModel()->ids();
    QVERIFY(subtasks.size() >= 3);
    // The job row and the first subtask only.
    panel.subtaskModel()->setCheckedIds({subtasks[0], subtasks[1]});
    panel.chartView()->timeAxis()->setRange(5.0, 20.0);

    QTemporaryDir folder;
    QString path = folder.filePath(QStringLiteral("shown.csv"));
    QCOMPARE(panel.exportCsv(path), QString());
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QByteArray written = file.readAll();
    QVERIFY(written.startsWith("time_ms,task,subtask,metric,value\n"));
    QStringList rows = csvRows(written);
    QSet<QString> reference;
    QStringList expected;
    QString task = panel.subtaskModel()->checkedIds().value(1);
    for (const QString& row : csvRows(reference_csv_)) {
        reference.insert(row);
        QString series = seriesOfRow(row);
        int64_t time_ms = timeOfRow(row);
        bool metric_shown = series.endsWith(QStringLiteral(" numRecordsOutPerSecond")) ||
                            series.endsWith(QStringLiteral(" busyTimeMsPerSecond"));
        if (metric_shown && series.startsWith(task + QLatin1Char(' ')) && time_ms >= 5000 &&
            time_ms <= 20000) {
            expected.append(row);
        }
    }
    QVERIFY(!rows.isEmpty());
    for (const QString& row : rows) {
        QVERIFY2(reference.contains(row), qPrintable(row));
    }
    QCOMPARE(rows, expected);
}

void TestGuiMetrics::chartShowsTimelineMarks() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::TimelineWidget timeline;
    ui::MetricsPanel panel(engine.session.get(), &timeline);
    connect(engine.session.get(), &ui::EngineSession::frameReceived, &timeline,
            &ui::TimelineWidget::applyFrame);
    runFlights(&engine, &panel);
    QTRY_VERIFY_WITH_TIMEOUT(!timeline.marks().empty(), kLoadTimeoutMs);
    QCOMPARE(panel.chartView()->marks().size(), timeline.marks().size());
    for (size_t i = 0; i < timeline.marks().size(); ++i) {
        QCOMPARE(panel.chartView()->marks()[i].time_ns, timeline.marks()[i].time_ns);
    }
    timeline.clear();
    QVERIFY(panel.chartView()->marks().empty());
}

void TestGuiMetrics::savePngWritesImage() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::TimelineWidget timeline;
    ui::MetricsPanel panel(engine.session.get(), &timeline);
    panel.resize(800, 400);
    QTemporaryDir folder;
    QString path = folder.filePath(QStringLiteral("chart.png"));
    QCOMPARE(panel.savePng(path), QString());
    QImage image(path);
    QVERIFY(!image.isNull());
    QVERIFY(image.width() > 100);
    QVERIFY(panel.savePng(QStringLiteral("/nonexistent-dir/chart.png")).contains("nonexistent"));
}

void TestGuiMetrics::selectorModelKeepsChecks() {
    ui::MetricsSelectorModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy changed(&model, &ui::MetricsSelectorModel::checkedIdsChanged);
    model.setChoices({{"a", "A", {}}, {"b", "B", {}}, {"c", "C", {}}}, {"a"});
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.checkedIds(), QStringList({"a"}));
    QVERIFY(model.setData(model.index(2), Qt::Checked, Qt::CheckStateRole));
    QCOMPARE(model.checkedIds(), QStringList({"a", "c"}));
    QVERIFY(!model.setData(model.index(1), Qt::Checked, Qt::DisplayRole));
    QCOMPARE(model.data(model.index(1), Qt::DisplayRole).toString(), QStringLiteral("B"));
    QCOMPARE(model.data(model.index(1), Qt::UserRole).toString(), QStringLiteral("b"));
    QCOMPARE(model.data(model.index(1), Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
    QVERIFY(model.flags(model.index(0)).testFlag(Qt::ItemIsUserCheckable));
    // Known ids keep their state; a new id takes the default.
    model.setChoices({{"c", "C", {}}, {"a", "A", {}}, {"d", "D", {}}}, {"d"});
    QCOMPARE(model.checkedIds(), QStringList({"c", "a", "d"}));
    model.setChoices({{"c", "C", {}}, {"a", "A", {}}, {"e", "E", {}}}, {});
    QCOMPARE(model.checkedIds(), QStringList({"c", "a"}));
    model.setCheckedIds({"e"});
    QCOMPARE(model.checkedIds(), QStringList({"e"}));
    QVERIFY(changed.count() >= 5);
}

void TestGuiMetrics::historyReplacesOverlap() {
    ui::MetricsHistory history;
    protocol::MetricsPage first;
    for (int64_t t : {0, 1000, 2000}) {
        auto* sample = first.add_samples();
        sample->set_time_ms(t);
        sample->set_task("Map");
        sample->set_metric("busyTimeMsPerSecond");
        sample->set_value(double(t));
    }
    history.append(first, 0);
    protocol::MetricsPage second;
    for (int64_t t : {2000, 3000}) {
        auto* sample = second.add_samples();
        sample->set_time_ms(t);
        sample->set_task("Map");
        sample->set_metric("busyTimeMsPerSecond");
        sample->set_value(double(t) + 1);
    }
    history.append(second, 2000);
    const std::vector<ui::MetricPoint>* points = history.points({"Map", 0, "busyTimeMsPerSecond"});
    QVERIFY(points != nullptr);
    QCOMPARE(points->size(), size_t(4));
    QCOMPARE((*points)[2].time_ms, int64_t(2000));
    QCOMPARE((*points)[2].value, 2001.0);
    QCOMPARE(history.lastTimeMs(), int64_t(3000));
    QCOMPARE(history.page({{"Map", 0, "busyTimeMsPerSecond"}}, 1000, 2000).samples_size(), 2);
}

void TestGuiMetrics::historyStaysBounded() {
    ui::MetricsHistory history(100);
    for (int64_t t = 0; t < 1000; ++t) {
        protocol::MetricsPage page;
        auto* sample = page.add_samples();
        sample->set_time_ms(t);
        sample->set_task("Map");
        sample->set_metric("numRecordsInPerSecond");
        sample->set_value(double(t % 17));
        history.append(page, t);
    }
    const std::vector<ui::MetricPoint>* points =
        history.points({"Map", 0, "numRecordsInPerSecond"});
    QVERIFY(points != nullptr);
    QVERIFY2(points->size() <= 100, qPrintable(QString::number(points->size())));
    QVERIFY(points->size() >= 50);
    QCOMPARE(points->front().time_ms, int64_t(0));
    QCOMPARE(points->back().time_ms, int64_t(999));
}

QTEST_MAIN(TestGuiMetrics)
#include "tst_gui_metrics.moc"
