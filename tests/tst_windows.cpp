// Event-time windows: window assignment, the window operator driven directly
// with records and watermarks, the whole engine on a CSV scenario with a late
// record, and the watermark valve that combines input channels.

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/operators/window_operator.h"
#include "runtime/state/heap_keyed_state_backend.h"
#include "runtime/task/watermark_valve.h"
#include "sim/engine.h"
#include "sim/scenario_loader.h"

using sluice::AggregateKind;
using sluice::kMaxWatermark;
using sluice::kMinWatermark;
using sluice::TimestampMs;
using sluice::TimeWindow;
using sluice::WatermarkValve;
using sluice::WindowSpec;

Q_DECLARE_METATYPE(std::vector<qint64>)

namespace {

struct Reading {
    std::string key;
    int64_t value = 0;
};

// One fired window: key, window start, aggregate and the record's timestamp.
using Fired = std::tuple<std::string, TimestampMs, int64_t, TimestampMs>;

class CollectingOutput final : public sluice::Output<Fired> {
public:
    void collect(const Fired& value, TimestampMs timestamp) override {
        Fired copy = value;
        std::get<3>(copy) = timestamp;
        fired.push_back(copy);
    }
    void emitWatermark(TimestampMs watermark) override { watermarks.push_back(watermark); }
    void emitWatermarkStatus(bool) override {}

    std::vector<Fired> fired;
    std::vector<TimestampMs> watermarks;
};

// A window operator over Readings keyed by Reading::key, run without a task:
// the harness sets the operator's current watermark before passing each
// watermark in, as StreamTask does for the head of a chain.
struct WindowHarness {
    WindowHarness(WindowSpec spec, AggregateKind kind)
        : backend(sluice::KeyGroupRange{0, 127}, 128, &clock),
          op([](const Reading& r) { return r.key; }, sluice::serializerFor<std::string>(), spec,
             kind, [](const Reading& r) { return r.value; },
             [](const std::string& key, const TimeWindow& window, int64_t value) {
                 return Fired{key, window.start, value, 0};
             }) {
        context.operator_name = "window";
        context.max_parallelism = 128;
        context.key_group_range = {0, 127};
        context.keyed_state_backend = &backend;
        op.setup(&context, &output);
        op.open();
    }

    void record(const std::string& key, int64_t value, TimestampMs timestamp) {
        op.processElement(Reading{key, value}, timestamp);
    }
    void watermark(TimestampMs watermark) {
        context.current_watermark = watermark;
        op.processWatermark(watermark);
    }
    uint64_t lateDropped() const { return context.metrics.late_records_dropped; }
    size_t stateEntries() const {
        size_t count = 0;
        backend.forEachState(
            [&](const sluice::InternalKvState& state) { count += state.entryCount(); });
        return count;
    }
    // Fired windows sorted, for checks that do not depend on key order.
    std::vector<Fired> sortedFired() const {
        std::vector<Fired> sorted = output.fired;
        std::sort(sorted.begin(), sorted.end());
        return sorted;
    }

    sluice::Nanos clock = 0;
    sluice::HeapKeyedStateBackend backend;
    sluice::OperatorContext context;
    CollectingOutput output;
    sluice::WindowAggregateOperator<Reading, std::string, Fired> op;
};

// Window starts for `timestamp` found by brute force: every multiple of
// `slide` whose window [start, start + size) contains the timestamp.
std::vector<qint64> bruteForceStarts(TimestampMs size, TimestampMs slide, TimestampMs timestamp) {
    std::vector<qint64> starts;
    for (TimestampMs k = -1000; k <= 1000; ++k) {
        const TimestampMs start = k * slide;
        if (start <= timestamp && timestamp < start + size) {
            starts.push_back(start);
        }
    }
    return starts;
}

std::vector<qint64> assignedStarts(const WindowSpec& spec, TimestampMs timestamp) {
    std::vector<qint64> starts;
    for (const TimeWindow& window : spec.assign(timestamp)) {
        starts.push_back(window.start);
    }
    return starts;
}

}  // namespace

class TstWindows : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void assign_data() {
        QTest::addColumn<qint64>("size");
        QTest::addColumn<qint64>("slide");
        QTest::addColumn<qint64>("timestamp");
        QTest::addColumn<std::vector<qint64>>("starts");
        using V = std::vector<qint64>;
        QTest::newRow("tumbling 0") << qint64(10) << qint64(10) << qint64(0) << V{0};
        QTest::newRow("tumbling 9") << qint64(10) << qint64(10) << qint64(9) << V{0};
        QTest::newRow("tumbling 10") << qint64(10) << qint64(10) << qint64(10) << V{10};
        QTest::newRow("tumbling -1") << qint64(10) << qint64(10) << qint64(-1) << V{-10};
        QTest::newRow("tumbling -10") << qint64(10) << qint64(10) << qint64(-10) << V{-10};
        QTest::newRow("tumbling -11") << qint64(10) << qint64(10) << qint64(-11) << V{-20};
        QTest::newRow("sliding 12") << qint64(10) << qint64(5) << qint64(12) << V{5, 10};
        QTest::newRow("sliding 10") << qint64(10) << qint64(5) << qint64(10) << V{5, 10};
        QTest::newRow("sliding 0") << qint64(10) << qint64(5) << qint64(0) << V{-5, 0};
        QTest::newRow("sliding 4") << qint64(10) << qint64(5) << qint64(4) << V{-5, 0};
        QTest::newRow("sliding -1") << qint64(10) << qint64(5) << qint64(-1) << V{-10, -5};
        QTest::newRow("sliding -5") << qint64(10) << qint64(5) << qint64(-5) << V{-10, -5};
        QTest::newRow("sliding -6") << qint64(10) << qint64(5) << qint64(-6) << V{-15, -10};
        // 10 / 3 is not whole: a timestamp on a slide boundary is in 4 windows.
        QTest::newRow("uneven 0") << qint64(10) << qint64(3) << qint64(0) << V{-9, -6, -3, 0};
        QTest::newRow("uneven 7") << qint64(10) << qint64(3) << qint64(7) << V{0, 3, 6};
        QTest::newRow("hour") << qint64(3'600'000) << qint64(3'600'000) << qint64(978'310'020'000)
                              << V{978'307'200'000};
    }
    void assign() {
        QFETCH(qint64, size);
        QFETCH(qint64, slide);
        QFETCH(qint64, timestamp);
        QFETCH(std::vector<qint64>, starts);
        const WindowSpec spec{size, slide, 0};
        const auto windows = spec.assign(timestamp);
        QCOMPARE(assignedStarts(spec, timestamp), starts);
        for (const TimeWindow& window : windows) {
            QCOMPARE(window.end, window.start + size);
            QCOMPARE(window.maxTimestamp(), window.end - 1);
        }
    }

    // Every timestamp in [-200, 200] against the brute-force enumeration.
    void assignMatchesBruteForce_data() {
        QTest::addColumn<qint64>("size");
        QTest::addColumn<qint64>("slide");
        QTest::newRow("tumbling 1") << qint64(1) << qint64(1);
        QTest::newRow("tumbling 7") << qint64(7) << qint64(7);
        QTest::newRow("sliding 10/5") << qint64(10) << qint64(5);
        QTest::newRow("sliding 10/3") << qint64(10) << qint64(3);
        QTest::newRow("sliding 9/1") << qint64(9) << qint64(1);
    }
    void assignMatchesBruteForce() {
        QFETCH(qint64, size);
        QFETCH(qint64, slide);
        const WindowSpec spec{size, slide, 0};
        for (TimestampMs t = -200; t <= 200; ++t) {
            if (assignedStarts(spec, t) != bruteForceStarts(size, slide, t)) {
                QFAIL(qPrintable(QString("timestamp %1").arg(t)));
            }
        }
    }

    void factories() {
        const WindowSpec tumbling = WindowSpec::tumbling(60);
        QCOMPARE(tumbling.size_ms, TimestampMs(60));
        QCOMPARE(tumbling.slide_ms, TimestampMs(60));
        QCOMPARE(tumbling.allowed_lateness_ms, TimestampMs(0));
        const WindowSpec sliding = WindowSpec::sliding(60, 20);
        QCOMPARE(sliding.size_ms, TimestampMs(60));
        QCOMPARE(sliding.slide_ms, TimestampMs(20));
    }

    // Windows fire when the watermark reaches their last millisecond, with
    // the sum of their records and that millisecond as timestamp.
    void tumblingSum() {
        WindowHarness h(WindowSpec::tumbling(10), AggregateKind::kSum);
        h.record("a", 1, 1);
        h.record("a", 2, 9);
        h.record("b", 5, 3);
        h.record("a", 10, 12);
        h.watermark(8);
        QVERIFY(h.output.fired.empty());
        h.watermark(9);
        QCOMPARE(h.sortedFired(), (std::vector<Fired>{{"a", 0, 3, 9}, {"b", 0, 5, 9}}));
        h.watermark(19);
        QCOMPARE(h.output.fired.size(), size_t(3));
        QCOMPARE(h.output.fired.back(), (Fired{"a", 10, 10, 19}));
        // The watermark goes downstream after the windows it fired.
        QCOMPARE(h.output.watermarks, (std::vector<TimestampMs>{8, 9, 19}));
        // Fired windows are purged when there is no allowed lateness.
        QCOMPARE(h.stateEntries(), size_t(0));
        QCOMPARE(h.op.eventTimerCount(), size_t(0));
    }

    void aggregateKinds_data() {
        QTest::addColumn<int>("kind");
        QTest::addColumn<qint64>("expected");
        // Values -3, -4, 10, 0: count 4, sum 3, min -4, max 10, average 3 / 4 -> 0.
        QTest::newRow("count") << int(AggregateKind::kCount) << qint64(4);
        QTest::newRow("sum") << int(AggregateKind::kSum) << qint64(3);
        QTest::newRow("min") << int(AggregateKind::kMin) << qint64(-4);
        QTest::newRow("max") << int(AggregateKind::kMax) << qint64(10);
        QTest::newRow("average") << int(AggregateKind::kAverage) << qint64(0);
    }
    void aggregateKinds() {
        QFETCH(int, kind);
        QFETCH(qint64, expected);
        WindowHarness h(WindowSpec::tumbling(100), AggregateKind(kind));
        for (int64_t value : {-3, -4, 10, 0}) {
            h.record("k", value, 50);
        }
        h.watermark(99);
        QCOMPARE(h.output.fired, (std::vector<Fired>{{"k", 0, expected, 99}}));
    }

    // The average rounds toward zero: -7 / 2 is -3.
    void averageRoundsTowardZero() {
        WindowHarness h(WindowSpec::tumbling(100), AggregateKind::kAverage);
        h.record("k", -3, 1);
        h.record("k", -4, 2);
        h.watermark(kMaxWatermark);
        QCOMPARE(h.output.fired, (std::vector<Fired>{{"k", 0, -3, 99}}));
    }

    // Sliding windows 10/5 put each record into two windows. The record at 6
    // is in [0, 10) and [5, 15), at 12 in [5, 15) and [10, 20), at -2 in
    // [-10, 0) and [-5, 5), and at 3 in [-5, 5) and [0, 10).
    void slidingCount() {
        WindowHarness h(WindowSpec::sliding(10, 5), AggregateKind::kCount);
        h.record("k", 0, 6);
        h.record("k", 0, 12);
        h.record("k", 0, -2);
        h.record("k", 0, 3);
        h.watermark(kMaxWatermark);
        QCOMPARE(h.output.fired, (std::vector<Fired>{{"k", -10, 1, -1},
                                                     {"k", -5, 2, 4},
                                                     {"k", 0, 2, 9},
                                                     {"k", 5, 2, 14},
                                                     {"k", 10, 1, 19}}));
    }

    // A record whose window already fired (max timestamp <= watermark, no
    // allowed lateness) is dropped and counted.
    void lateRecordDropped() {
        WindowHarness h(WindowSpec::tumbling(10), AggregateKind::kSum);
        h.record("a", 1, 5);
        h.watermark(11);
        QCOMPARE(h.output.fired, (std::vector<Fired>{{"a", 0, 1, 9}}));
        h.record("a", 100, 9);
        QCOMPARE(h.lateDropped(), uint64_t(1));
        h.record("a", 7, 11);  // in [10, 20), not late even though <= watermark
        QCOMPARE(h.lateDropped(), uint64_t(1));
        h.watermark(kMaxWatermark);
        QCOMPARE(h.output.fired, (std::vector<Fired>{{"a", 0, 1, 9}, {"a", 10, 7, 19}}));
    }

    // With allowed lateness 5 a late record updates its window and fires it
    // again at once, until the watermark passes max timestamp + 5.
    void allowedLatenessRefires() {
        WindowSpec spec = WindowSpec::tumbling(10);
        spec.allowed_lateness_ms = 5;
        WindowHarness h(spec, AggregateKind::kSum);
        h.record("a", 1, 5);
        h.watermark(10);
        QCOMPARE(h.output.fired, (std::vector<Fired>{{"a", 0, 1, 9}}));
        h.record("a", 20, 3);
        QCOMPARE(h.lateDropped(), uint64_t(0));
        QCOMPARE(h.output.fired, (std::vector<Fired>{{"a", 0, 1, 9}, {"a", 0, 21, 9}}));
        h.watermark(13);
        h.record("a", 300, 8);
        QCOMPARE(h.output.fired.back(), (Fired{"a", 0, 321, 9}));
        // 9 + 5 = 14: at watermark 14 the window is cleaned up and later
        // records for it are dropped.
        h.watermark(14);
        QCOMPARE(h.stateEntries(), size_t(0));
        h.record("a", 4000, 9);
        QCOMPARE(h.lateDropped(), uint64_t(1));
        QCOMPARE(h.output.fired.size(), size_t(3));
    }

    // The final watermark of a finished input fires every remaining window.
    void finalWatermarkFiresAll() {
        WindowHarness h(WindowSpec::tumbling(1000), AggregateKind::kCount);
        for (int i = 0; i < 50; ++i) {
            h.record("key-" + std::to_string(i % 5), 0, TimestampMs(i) * 300);
        }
        h.watermark(kMaxWatermark);
        // 50 records at 0, 300, ..., 14700: 15 windows [0, 15000), each key in
        // the windows its records fall into.
        int64_t total = 0;
        std::vector<std::pair<std::string, TimestampMs>> expected_windows;
        for (int i = 0; i < 50; ++i) {
            expected_windows.emplace_back("key-" + std::to_string(i % 5), (i * 300) / 1000 * 1000);
        }
        std::sort(expected_windows.begin(), expected_windows.end());
        expected_windows.erase(std::unique(expected_windows.begin(), expected_windows.end()),
                               expected_windows.end());
        QCOMPARE(h.output.fired.size(), expected_windows.size());
        for (const auto& fired : h.output.fired) {
            total += std::get<2>(fired);
        }
        QCOMPARE(total, int64_t(50));
        QCOMPARE(h.stateEntries(), size_t(0));
        QCOMPARE(h.op.eventTimerCount(), size_t(0));
    }

    void valveMinimum() {
        WatermarkValve valve(3);
        QCOMPARE(valve.watermark(), kMinWatermark);
        QVERIFY(!valve.inputWatermark(0, 10));
        QVERIFY(!valve.inputWatermark(1, 20));
        QCOMPARE(valve.watermark(), kMinWatermark);
        QVERIFY(valve.inputWatermark(2, 5));
        QCOMPARE(valve.watermark(), TimestampMs(5));
        QVERIFY(valve.inputWatermark(2, 30));
        QCOMPARE(valve.watermark(), TimestampMs(10));
        // A channel's watermark never goes back, and neither does the output.
        QVERIFY(!valve.inputWatermark(0, 3));
        QCOMPARE(valve.watermark(), TimestampMs(10));
        QVERIFY(valve.inputWatermark(0, 25));
        QCOMPARE(valve.watermark(), TimestampMs(20));
        QVERIFY(!valve.idle());
    }

    // An idle channel does not hold the watermark back.
    void valveIdleExcluded() {
        WatermarkValve valve(2);
        valve.inputWatermark(0, 100);
        valve.inputWatermark(1, 10);
        QCOMPARE(valve.watermark(), TimestampMs(10));
        QVERIFY(valve.inputStatus(1, true));
        QCOMPARE(valve.watermark(), TimestampMs(100));
        QVERIFY(!valve.idle());
        // Back to active below the output: the output does not go back.
        valve.inputStatus(1, false);
        QCOMPARE(valve.watermark(), TimestampMs(100));
        QVERIFY(!valve.inputWatermark(0, 200));
        QCOMPARE(valve.watermark(), TimestampMs(100));
        QVERIFY(valve.inputWatermark(1, 150));
        QCOMPARE(valve.watermark(), TimestampMs(150));
    }

    // A watermark from an idle channel makes it active again.
    void valveWatermarkEndsIdleness() {
        WatermarkValve valve(2);
        valve.inputWatermark(0, 50);
        valve.inputStatus(1, true);
        QCOMPARE(valve.watermark(), TimestampMs(50));
        valve.inputWatermark(1, 60);
        valve.inputWatermark(0, 90);
        QCOMPARE(valve.watermark(), TimestampMs(60));
    }

    void valveAllIdle() {
        WatermarkValve valve(2);
        valve.inputWatermark(0, 5);
        valve.inputWatermark(1, 7);
        // Channel 0 idle: the output moves up to channel 1's watermark.
        QVERIFY(valve.inputStatus(0, true));
        QCOMPARE(valve.watermark(), TimestampMs(7));
        QVERIFY(!valve.idle());
        QVERIFY(valve.inputStatus(1, true));
        QVERIFY(valve.idle());
        QCOMPARE(valve.watermark(), TimestampMs(7));
        QVERIFY(valve.inputStatus(0, false));
        QVERIFY(!valve.idle());
        QCOMPARE(valve.watermark(), TimestampMs(7));
    }

    // A finished channel counts as the maximum watermark, even when it was
    // idle before, and all finished gives the maximum.
    void valveFinished() {
        WatermarkValve valve(3);
        valve.inputWatermark(0, 10);
        valve.inputWatermark(1, 20);
        valve.inputWatermark(2, 30);
        QVERIFY(valve.channelFinished(0));
        QCOMPARE(valve.watermark(), TimestampMs(20));
        valve.inputStatus(1, true);
        QCOMPARE(valve.watermark(), TimestampMs(30));
        QVERIFY(!valve.channelFinished(1));
        QCOMPARE(valve.watermark(), TimestampMs(30));
        QVERIFY(!valve.idle());
        QVERIFY(valve.channelFinished(2));
        QCOMPARE(valve.watermark(), kMaxWatermark);
        QVERIFY(!valve.idle());
    }

    // The whole engine: a CSV source with hand-written timestamps, keyBy, a
    // 10-second tumbling SUM window and a collecting sink. Records are 100 ms
    // apart in simulated time and the watermark (no out-of-orderness) is
    // emitted every 10 ms, so each record's watermark reaches the window
    // before the next record.
    void engineTumblingWithLateRecords_data() {
        QTest::addColumn<qint64>("lateness");
        QTest::addColumn<QStringList>("expected");
        QTest::addColumn<qint64>("lateDropped");
        // Rows: a@1000=1, a@2000=2, b@3000=5, a@12000=10 (watermark 11999
        // fires [0, 10000)), a@5000=100 (late), b@15000=7 (watermark 14999),
        // a@25000=1 (watermark 24999 fires [10000, 20000)), a@8000=1000
        // (late even with lateness 5000), then the end of input fires
        // [20000, 30000).
        QTest::newRow("no lateness")
            << qint64(0)
            << QStringList{"a 3 @9999", "a 10 @19999", "a 1 @29999", "b 5 @9999", "b 7 @19999"}
            << qint64(2);
        // With 5000 ms the record at 5000 is within 9999 + 5000 of watermark
        // 11999 and fires [0, 10000) again with 103.
        QTest::newRow("lateness 5000")
            << qint64(5000) << QStringList{"a 103 @9999", "a 3 @9999", "a 10 @19999",
                                           "a 1 @29999",  "b 5 @9999", "b 7 @19999"}
            << qint64(1);
    }
    void engineTumblingWithLateRecords() {
        QFETCH(qint64, lateness);
        QFETCH(QStringList, expected);
        QFETCH(qint64, lateDropped);
        expected.sort();

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        {
            std::ofstream csv(dir.filePath("readings.csv").toStdString());
            csv << "t,key,v\n"
                << "1000,a,1\n2000,a,2\n3000,b,5\n12000,a,10\n5000,a,100\n"
                << "15000,b,7\n25000,a,1\n8000,a,1000\n";
        }
        const std::string text = R"(
name: "late records"
seed: 1
job {
  name: "windows"
  operators {
    id: "readings"
    parallelism: 1
    csv {
      path: "readings.csv"
      key_column: "key"
      event_time_column: "t"
      value_column: "v"
      time_format: "epoch_ms"
      partitions: 1
      rate_per_second: 10
      watermarks { interval_ms: 10 }
    }
  }
  operators {
    id: "window"
    parallelism: 2
    window { type: TUMBLING size_ms: 10000 function: SUM allowed_lateness_ms: )" +
                                 std::to_string(lateness) + R"( }
  }
  operators { id: "sink" parallelism: 1 sink { kind: COLLECT } }
  edges { from: "readings" to: "window" partitioning: HASH }
  edges { from: "window" to: "sink" partitioning: REBALANCE }
}
)";
        auto loaded =
            sluice::sim::parseScenario(text, "late.textproto", dir.path().toStdString(), false);
        if (auto* error = std::get_if<sluice::sim::ScenarioError>(&loaded)) {
            QFAIL(error->format().c_str());
        }
        auto built = sluice::sim::Engine::fromScenario(
            std::move(std::get<sluice::sim::LoadedScenario>(loaded)));
        if (auto* error = std::get_if<sluice::sim::ScenarioError>(&built)) {
            QFAIL(error->format().c_str());
        }
        auto& engine = *std::get<std::unique_ptr<sluice::sim::Engine>>(built);
        engine.run();
        QCOMPARE(sluice::sim::runStateName(engine.runState()), "FINISHED");

        QStringList actual;
        for (const auto& stored : engine.store().records()) {
            actual << QString("%1 %2 @%3")
                          .arg(QString::fromStdString(stored.record.key))
                          .arg(stored.record.value)
                          .arg(stored.timestamp);
        }
        actual.sort();
        QCOMPARE(actual, expected);

        uint64_t dropped = 0;
        for (const auto* task : engine.tasks()) {
            for (int i = 0; i < task->operatorCount(); ++i) {
                dropped += task->operatorContext(i).metrics.late_records_dropped;
            }
        }
        QCOMPARE(dropped, uint64_t(lateDropped));
    }
};

QTEST_GUILESS_MAIN(TstWindows)
#include "tst_windows.moc"
