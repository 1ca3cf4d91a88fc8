// Backpressure from credit-based flow control, observed through Flink's
// per-subtask time metrics. In scenarios/backpressure.textproto the sources
// offer 10,000 records/s, but the keyed "enrich" operator handles about
// 5,000/s (two subtasks at 0.4 ms per record). So enrich is busy nearly all
// the time and the sources are backpressured most of it. With a fast enough
// enrich the backpressure disappears.

// The engine headers come before Qt's: Qt defines emit and slots as macros,
// which are also names in the runtime.
#include "sim/engine.h"
#include "test_support.h"

#include <QtTest>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

using sluice::sim::Engine;
using sluice::sim::EngineOptions;
using sluice::sim::LoadedScenario;
using sluice::sim::Metric;
using sluice::sim::MetricSample;
using sluice::sim::RunState;
using sluice::sim::ScenarioError;

namespace {

constexpr int64_t kRunMs = 30000;
// Steady state: the samples taken in the last 10 s of the run.
constexpr int64_t kSteadyFromMs = kRunMs - 10000;
// 50 us per record: 2 subtasks handle 40,000 records/s, four times the rate.
constexpr uint64_t kFastEnrichNs = 50000;

LoadedScenario loadBackpressure() {
    auto loaded =
        sluice::sim::loadScenarioFile(sluice::test::sourcePath("scenarios/backpressure.textproto"));
    if (auto* error = std::get_if<ScenarioError>(&loaded)) {
        qFatal("cannot load the scenario: %s", error->format().c_str());
    }
    return std::get<LoadedScenario>(std::move(loaded));
}

std::unique_ptr<Engine> runScenario(LoadedScenario loaded) {
    EngineOptions options;
    options.until_ms = kRunMs;
    auto created = Engine::fromScenario(std::move(loaded), options);
    if (auto* error = std::get_if<ScenarioError>(&created)) {
        qFatal("cannot build the engine: %s", error->format().c_str());
    }
    auto engine = std::move(std::get<std::unique_ptr<Engine>>(created));
    engine->run();
    return engine;
}

// Returns the job vertex (chain) that runs the scenario operator `id`. Metrics
// are per vertex, and enrich is chained with its sink.
int vertexOf(const Engine& engine, const std::string& id) {
    const auto& operators = engine.scenario().proto.job().operators();
    for (int i = 0; i < operators.size(); ++i) {
        if (operators[i].id() == id) {
            return engine.jobGraph().vertexOfNode(
                engine.scenarioJob().node_of_operator.at(size_t(i)));
        }
    }
    qFatal("operator %s not found in the scenario", id.c_str());
    return -1;
}

std::vector<MetricSample> samplesOf(const Engine& engine, int vertex, Metric metric,
                                    int64_t from_ms) {
    std::vector<MetricSample> out;
    for (const MetricSample& s : engine.metrics().samples()) {
        if (s.vertex == vertex && s.metric == metric && s.time_ms > from_ms) {
            out.push_back(s);
        }
    }
    return out;
}

// Returns the mean per subtask of `metric` over the samples after from_ms.
std::map<int, double> meanPerSubtask(const Engine& engine, int vertex, Metric metric,
                                     int64_t from_ms) {
    std::map<int, std::pair<double, int>> sums;
    for (const MetricSample& s : samplesOf(engine, vertex, metric, from_ms)) {
        sums[s.subtask].first += s.value;
        ++sums[s.subtask].second;
    }
    std::map<int, double> means;
    for (const auto& [subtask, sum] : sums) {
        means[subtask] = sum.first / sum.second;
    }
    return means;
}

}  // namespace

class TstBackpressure : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void slowOperatorBusy();
    void upstreamBackpressured();
    void timeAddsUp_data();
    void timeAddsUp();
    void fastOperatorNoBackpressure();

private:
    std::unique_ptr<Engine> slow_;
    std::unique_ptr<Engine> fast_;
};

void TstBackpressure::initTestCase() {
    slow_ = runScenario(loadBackpressure());
    QCOMPARE(slow_->runState(), RunState::kTimeLimit);

    LoadedScenario fast = loadBackpressure();
    bool found = false;
    for (auto& op : *fast.proto.mutable_job()->mutable_operators()) {
        if (op.id() == "enrich") {
            op.mutable_cost()->set_ns_per_record(kFastEnrichNs);
            found = true;
        }
    }
    QVERIFY2(found, "the scenario has no operator enrich");
    fast_ = runScenario(std::move(fast));
    QCOMPARE(fast_->runState(), RunState::kTimeLimit);
}

void TstBackpressure::slowOperatorBusy() {
    const int enrich = vertexOf(*slow_, "enrich");
    auto busy = meanPerSubtask(*slow_, enrich, Metric::kBusyTimeMsPerSecond, kSteadyFromMs);
    QCOMPARE(int(busy.size()), 2);
    for (const auto& [subtask, mean] : busy) {
        QVERIFY2(
            mean > 900,
            qPrintable(QStringLiteral("enrich subtask %1 busy %2 ms/s").arg(subtask).arg(mean)));
    }
}

void TstBackpressure::upstreamBackpressured() {
    const int events = vertexOf(*slow_, "events");
    auto backpressured =
        meanPerSubtask(*slow_, events, Metric::kBackPressuredTimeMsPerSecond, kSteadyFromMs);
    QCOMPARE(int(backpressured.size()), 2);
    for (const auto& [subtask, mean] : backpressured) {
        QVERIFY2(
            mean > 500,
            qPrintable(
                QStringLiteral("events subtask %1 backpressured %2 ms/s").arg(subtask).arg(mean)));
    }
    // The sources cannot emit faster than enrich consumes: about 5,000/s in
    // total (2 / 0.4 ms), well below the 10,000/s they offer.
    auto out = meanPerSubtask(*slow_, events, Metric::kNumRecordsOutPerSecond, kSteadyFromMs);
    double total = 0;
    for (const auto& [subtask, mean] : out) {
        total += mean;
    }
    QVERIFY2(total > 4000 && total < 6000,
             qPrintable(QStringLiteral("events emit %1 records/s").arg(total)));
}

void TstBackpressure::timeAddsUp_data() {
    QTest::addColumn<bool>("fast");
    QTest::newRow("slow enrich") << false;
    QTest::newRow("fast enrich") << true;
}

// Every subtask is, at each moment, busy, idle or backpressured, so the three
// time metrics of every sample add up to 1000 ms/s. The tolerance covers the
// deployment at the start of the first sample, before the task counts time.
void TstBackpressure::timeAddsUp() {
    QFETCH(bool, fast);
    const Engine& engine = fast ? *fast_ : *slow_;
    std::map<std::tuple<int64_t, int, int>, double> totals;
    for (const MetricSample& s : engine.metrics().samples()) {
        if ((s.metric == Metric::kBusyTimeMsPerSecond || s.metric == Metric::kIdleTimeMsPerSecond ||
             s.metric == Metric::kBackPressuredTimeMsPerSecond)) {
            totals[{s.time_ms, s.vertex, s.subtask}] += s.value;
        }
    }
    // 2 vertices of 2 subtasks, 30 samples each.
    QVERIFY2(totals.size() >= 4 * 30, qPrintable(QString::number(totals.size())));
    for (const auto& [where, total] : totals) {
        QVERIFY2(std::abs(total - 1000) <= 10,
                 qPrintable(QStringLiteral("at %1 ms, vertex %2 subtask %3: busy + idle + "
                                           "backpressured = %4 ms/s")
                                .arg(std::get<0>(where))
                                .arg(std::get<1>(where))
                                .arg(std::get<2>(where))
                                .arg(total)));
    }
}

void TstBackpressure::fastOperatorNoBackpressure() {
    const int events = vertexOf(*fast_, "events");
    auto samples = samplesOf(*fast_, events, Metric::kBackPressuredTimeMsPerSecond, 0);
    QVERIFY(samples.size() >= 2 * 29);
    for (const MetricSample& s : samples) {
        QVERIFY2(s.value < 100,
                 qPrintable(QStringLiteral("events subtask %1 backpressured %2 ms/s at %3 ms")
                                .arg(s.subtask)
                                .arg(s.value)
                                .arg(s.time_ms)));
    }
    // With enough capacity the sources emit at their configured rate.
    auto out = meanPerSubtask(*fast_, events, Metric::kNumRecordsOutPerSecond, kSteadyFromMs);
    double total = 0;
    for (const auto& [subtask, mean] : out) {
        total += mean;
    }
    QVERIFY2(std::abs(total - 10000) < 500,
             qPrintable(QStringLiteral("events emit %1 records/s").arg(total)));
}

QTEST_GUILESS_MAIN(TstBackpressure)
#include "tst_backpressure.moc"
