// The checkpoint coordinator, checkpoint storage and the exactly-once sinks,
// seen from outside through sim::Engine: trigger timing and limits, timeouts
// and the tolerable-failure threshold, retention on disk, savepoints, bounded
// jobs, two-phase commit visibility, the CSV and JSON exports, and restores.

// The engine headers come before Qt's: Qt defines emit and slots as macros,
// which are also names in the runtime.
#include "engine_support.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "sim/checkpoint_export.h"
#include "sim/engine.h"
#include "sim/store_sink.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

using sluice::CheckpointStats;
using sluice::CheckpointStatus;
using sluice::kNanosPerMilli;
using sluice::kNanosPerSecond;
using sluice::Nanos;
using sluice::OperatorContext;
using sluice::ProcessingTimeService;
using sluice::StreamOperatorBase;
using sluice::TimestampMs;
using sluice::sim::Engine;
using sluice::sim::EngineOptions;
using sluice::sim::ExternalStore;
using sluice::sim::LoadedScenario;
using sluice::sim::Record;
using sluice::sim::RunState;
using sluice::sim::ScenarioError;
using sluice::sim::StoreSink;
using sluice::sim::TransactionState;
using sluice::sim::transactionStateName;
namespace scenario = sluice::scenario;
namespace scenario = sluice::scenario;
namespace fs = std::filesystem;

namespace {

// A keyed job with two unbounded sources and cheap operators, so that
// checkpoints complete within a few milliseconds. The checkpointing block
// is appended by each test.
const char* const kSmallJob = R"(
name: "small"
seed: 3
cluster { task_managers: 2 }
run { until_ms: 6000 }
job {
  name: "small"
  operators {
    id: "source"
    parallelism: 2
    generator { key_count: 100 key_prefix: "k-" rate_per_second: 4000 }
  }
  operators { id: "count" parallelism: 2 aggregate { function: COUNT } }
  operators { id: "sink" parallelism: 2 sink { kind: DISCARD } }
  edges { from: "source" to: "count" partitioning: HASH }
  edges { from: "count" to: "sink" partitioning: FORWARD }
}
)";

LoadedScenario parse(const std::string& text) {
    auto parsed = sluice::sim::parseScenario(text, "test.textproto",
                                             sluice::test::sourcePath("tests"), false);
    if (auto* e = std::get_if<ScenarioError>(&parsed)) {
        qFatal("test scenario does not parse: %s", e->format().c_str());
    }
    return std::get<LoadedScenario>(parsed);
}

using sluice::test::loadScenario;
using sluice::test::makeEngine;

std::vector<CheckpointStats> checkpointsOnly(const Engine& engine) {
    std::vector<CheckpointStats> out;
    for (const auto& stats : engine.checkpointHistory()) {
        if (!stats.savepoint) {
            out.push_back(stats);
        }
    }
    return out;
}

// Checks the two-phase-commit invariants on the store: a transactional
// record is visible exactly when its transaction is committed, and a
// transaction is committed only once a checkpoint at or after its epoch
// completed, or after the end of the input: a sink commits its last epoch
// when it finishes (StoreSink::finish). Returns the first violation, or an
// empty string.
std::string twoPhaseViolation(const Engine& engine) {
    int64_t completed = 0;
    for (const auto& stats : engine.checkpointHistory()) {
        if (stats.status == CheckpointStatus::kCompleted && !stats.savepoint) {
            completed = std::max(completed, stats.id);
        }
    }
    bool finished = true;  // every source finished
    for (const auto& vertex : engine.jobGraph().vertices()) {
        for (int s = 0; vertex.is_source && s < vertex.parallelism; ++s) {
            const auto* task = engine.task(vertex.id, s);
            finished = finished && task && task->state() == sluice::ExecutionState::kFinished;
        }
    }
    const auto& store = engine.store();
    for (const auto& [id, transaction] : store.transactions()) {
        bool committed = transaction.state == TransactionState::kCommitted;
        if (committed && !finished && transaction.checkpoint_id > completed) {
            return "transaction " + std::to_string(id) + " of epoch " +
                   std::to_string(transaction.checkpoint_id) +
                   " is committed while the latest completed checkpoint is " +
                   std::to_string(completed);
        }
        for (size_t index : transaction.records) {
            if (store.isVisible(store.records()[index]) != committed) {
                return "record " + std::to_string(index) + " of " +
                       sluice::sim::transactionStateName(transaction.state) + " transaction " +
                       std::to_string(id) + (committed ? " is invisible" : " is visible");
            }
        }
    }
    for (const auto& record : store.visibleRecords()) {
        if (record.transaction >= 0 &&
            store.transactions().at(record.transaction).state != TransactionState::kCommitted) {
            return "visibleRecords() lists a record of uncommitted transaction " +
                   std::to_string(record.transaction);
        }
    }
    return {};
}

// Runs the engine event by event. After every event in which a transaction
// changed state, and after every slice of simulated time, it checks the
// invariants. Returns the first violation.
std::string runCheckingTwoPhase(Engine& engine, Nanos slice) {
    std::string violation;
    std::vector<TransactionState> seen;
    Nanos next_full_check = slice;
    engine.runUntil([&] {
        const auto& transactions = engine.store().transactions();
        bool changed = transactions.size() != seen.size();
        size_t i = 0;
        for (const auto& [id, t] : transactions) {
            if (i >= seen.size() || seen[i] != t.state) {
                changed = true;
            }
            ++i;
        }
        if (changed || engine.now() >= next_full_check) {
            seen.clear();
            for (const auto& [id, t] : transactions) {
                seen.push_back(t.state);
            }
            next_full_check = engine.now() + slice;
            violation = twoPhaseViolation(engine);
        }
        return !violation.empty();
    });
    if (!violation.empty()) {
        return violation + " at " + std::to_string(engine.now() / kNanosPerMilli) + " ms";
    }
    return twoPhaseViolation(engine);
}

// (id, key, value, timestamp) of an output record.
using OutputRecord = std::tuple<uint64_t, std::string, int64_t, int64_t>;

std::vector<OutputRecord> visibleOutput(const Engine& engine) {
    std::vector<OutputRecord> out;
    for (const auto& r : engine.store().visibleRecords()) {
        out.emplace_back(r.record.id, r.record.key, r.record.value, r.timestamp);
    }
    return out;
}

std::vector<std::string> dirEntries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

QStringList splitCsvLine(const std::string& line) {
    // The fields used here are never quoted.
    return QString::fromStdString(line).split(',');
}

}  // namespace

class TstCheckpoints : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void intervalAndMaxConcurrent();
    void minPause();
    void timeoutExpires();
    void tolerableFailuresFailOver();
    void tolerableFailuresFailJob();
    void retentionAndSavepoints();
    void temporaryFolderRemoved();
    void finishedSourcesDoNotStall();
    void twoPhaseCommitVisibility();
    void expiredTransactionStaysInvisible();
    void abortedCheckpointAbortsTransaction();
    void finalCheckpointCommitsLastEpoch();
    void commitOnPreCommitDetected();
    void csvExport();
    void jsonExport();
    void restoreIsExactlyOnce();
    void unalignedRestoreReplaysChannelState();
    void droppedChannelStateLosesRecords();
    void unalignedRestoreNeedsSameParallelism();
    void restoreWithOtherMaxParallelismFails();
};

void TstCheckpoints::intervalAndMaxConcurrent() {
    auto s = parse(std::string(kSmallJob) + "checkpointing { interval_ms: 400 max_concurrent: 1 }");
    auto engine = makeEngine(s);
    QVERIFY(engine);
    engine->run();
    auto history = checkpointsOnly(*engine);
    QVERIFY2(history.size() >= 10, qPrintable(QString("%1 checkpoints").arg(history.size())));
    const Nanos interval = 400 * kNanosPerMilli;
    for (size_t i = 1; i < history.size(); ++i) {
        Nanos gap = history[i].trigger_time_ns - history[i - 1].trigger_time_ns;
        // A trigger skipped because of max_concurrent waits for the next
        // period, so gaps are whole intervals.
        QVERIFY2(gap >= interval && gap % interval == 0,
                 qPrintable(QString("gap %1 ns before checkpoint %2").arg(gap).arg(history[i].id)));
        QVERIFY2(
            history[i].trigger_time_ns >= history[i - 1].end_time_ns,
            qPrintable(
                QString("checkpoint %1 overlaps %2").arg(history[i].id).arg(history[i - 1].id)));
    }
    // The checkpoints are short here, so no trigger was skipped.
    QCOMPARE(history.back().trigger_time_ns - history.front().trigger_time_ns,
             Nanos(history.size() - 1) * interval);
}

void TstCheckpoints::minPause() {
    auto s = parse(std::string(kSmallJob) + "checkpointing { interval_ms: 100 min_pause_ms: 700 }");
    auto engine = makeEngine(s);
    QVERIFY(engine);
    engine->run();
    auto history = checkpointsOnly(*engine);
    QVERIFY(history.size() >= 4);
    for (size_t i = 1; i < history.size(); ++i) {
        Nanos pause = history[i].trigger_time_ns - history[i - 1].end_time_ns;
        QVERIFY2(
            pause >= 700 * kNanosPerMilli,
            qPrintable(QString("pause %1 ns before checkpoint %2").arg(pause).arg(history[i].id)));
        // Periodic triggers every 100 ms: the first allowed one is taken.
        QVERIFY2(
            pause < 800 * kNanosPerMilli,
            qPrintable(QString("pause %1 ns before checkpoint %2").arg(pause).arg(history[i].id)));
    }
}

void TstCheckpoints::timeoutExpires() {
    // As shipped, the first aligned checkpoint waits behind the backlog for
    // longer than its 20 s timeout.
    EngineOptions options;
    options.until_ms = 26000;
    auto engine = makeEngine(loadScenario("scenarios/aligned-vs-unaligned.textproto"), options);
    QVERIFY(engine);
    engine->run();
    auto history = checkpointsOnly(*engine);
    QVERIFY(!history.empty());
    const CheckpointStats& first = history.front();
    QCOMPARE(first.status, CheckpointStatus::kFailed);
    QCOMPARE(QString::fromStdString(first.failure_cause),
             QStringLiteral("Checkpoint expired before completing."));
    QCOMPARE(first.end_time_ns - first.trigger_time_ns, Nanos(20000) * kNanosPerMilli);
    QCOMPARE(engine->runState(), RunState::kTimeLimit);
}

// Exceeding the tolerable checkpoint failures fails the job over through
// its restart strategy, as in Flink.
void TstCheckpoints::tolerableFailuresFailOver() {
    auto s = loadScenario("scenarios/aligned-vs-unaligned.textproto");
    s.proto.mutable_checkpointing()->set_tolerable_failures(0);
    auto* fixed = s.proto.mutable_failover()->mutable_restart_strategy()->mutable_fixed_delay();
    fixed->set_attempts(5);
    fixed->set_delay_ms(1000);
    EngineOptions options;
    options.until_ms = 40000;
    auto engine = makeEngine(s, options);
    QVERIFY(engine);
    // The first expiry (at 25 s) already exceeds a threshold of 0.
    engine->runUntilTime(25500 * kNanosPerMilli);
    QCOMPARE(engine->numRestarts(), 0);
    QCOMPARE(engine->jobStatus(), sluice::JobStatus::kRestarting);
    QVERIFY2(QString::fromStdString(engine->failureCause()).contains("tolerable failure threshold"),
             engine->failureCause().c_str());
    engine->run();
    QVERIFY(engine->numRestarts() >= 1);
    const CheckpointStats first = checkpointsOnly(*engine).front();
    QCOMPARE(first.status, CheckpointStatus::kFailed);
    QCOMPARE(engine->recoveries().front().first, first.end_time_ns);
}

// Without restarts left, the same failure fails the job with the root cause.
void TstCheckpoints::tolerableFailuresFailJob() {
    auto s = loadScenario("scenarios/aligned-vs-unaligned.textproto");
    s.proto.mutable_checkpointing()->set_tolerable_failures(0);
    s.proto.mutable_failover()->mutable_restart_strategy()->mutable_none();
    EngineOptions options;
    options.until_ms = 40000;
    auto engine = makeEngine(s, options);
    QVERIFY(engine);
    engine->run();
    QCOMPARE(engine->runState(), RunState::kFailed);
    QCOMPARE(engine->jobStatus(), sluice::JobStatus::kFailed);
    const QString cause = QString::fromStdString(engine->failureCause());
    QVERIFY2(cause.startsWith("Recovery is suppressed by"), qPrintable(cause));
    QVERIFY2(cause.contains("Exceeded checkpoint tolerable failure threshold (0)"),
             qPrintable(cause));
    QVERIFY(engine->now() < 26000 * kNanosPerMilli);
}

void TstCheckpoints::retentionAndSavepoints() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto s = loadScenario("scenarios/flights.textproto");
    s.proto.clear_faults();  // the failover would leave too few checkpoints by 6200 ms
    s.proto.mutable_checkpointing()->set_retained(2);
    s.proto.mutable_checkpointing()->add_savepoint_at_ms(2500);
    EngineOptions options;
    options.checkpoint_dir = dir.path().toStdString() + "/cp";
    options.until_ms = 6200;
    auto engine = makeEngine(s, options);
    QVERIFY(engine);
    engine->run();

    std::vector<int64_t> completed;
    int64_t savepoint = -1;
    for (const auto& stats : engine->checkpointHistory()) {
        if (stats.status != CheckpointStatus::kCompleted) {
            continue;
        }
        if (stats.savepoint) {
            savepoint = stats.id;
        } else {
            completed.push_back(stats.id);
        }
    }
    QVERIFY2(completed.size() >= 4, "too few completed checkpoints to see retention");
    QVERIFY2(savepoint > 0, "the savepoint did not complete");

    std::vector<std::string> expected = {
        "chk-" + std::to_string(completed[completed.size() - 2]),
        "chk-" + std::to_string(completed.back()),
        "savepoint-" + std::to_string(savepoint),
        "shared",
        "taskowned",
    };
    std::sort(expected.begin(), expected.end());
    // Each run writes into a folder of its own inside checkpoint_dir.
    const fs::path run_dir = engine->checkpointDir();
    QCOMPARE(run_dir.parent_path(), options.checkpoint_dir);
    std::vector<std::string> actual = dirEntries(run_dir);
    QCOMPARE(QString::fromStdString([&] {
                 std::string joined;
                 for (const auto& n : actual)
                     joined += n + " ";
                 return joined;
             }()),
             QString::fromStdString([&] {
                 std::string joined;
                 for (const auto& n : expected)
                     joined += n + " ";
                 return joined;
             }()));
    const std::vector<int64_t> retained = {completed[completed.size() - 2], completed.back()};
    std::vector<int64_t> engine_retained;
    for (int64_t id : engine->retainedCheckpoints()) {
        if (id != savepoint) {
            engine_retained.push_back(id);
        }
    }
    QCOMPARE(engine_retained, retained);

    for (int64_t id : retained) {
        auto read =
            sluice::CheckpointStorage::readMetadata(run_dir / ("chk-" + std::to_string(id)));
        QVERIFY2(std::holds_alternative<sluice::checkpoint::CheckpointMetadata>(read),
                 std::get_if<std::string>(&read) ? std::get<std::string>(read).c_str() : "");
        const auto& metadata = std::get<sluice::checkpoint::CheckpointMetadata>(read);
        QCOMPARE(metadata.checkpoint_id(), id);
        QVERIFY(!metadata.savepoint());
        // flights: 2 sources, 4 windows and 1 sink, all running.
        QCOMPARE(metadata.subtask_states_size(), 7);
    }
    auto read = sluice::CheckpointStorage::readMetadata(
        run_dir / ("savepoint-" + std::to_string(savepoint)) / "_metadata");
    QVERIFY(std::holds_alternative<sluice::checkpoint::CheckpointMetadata>(read));
    QVERIFY(std::get<sluice::checkpoint::CheckpointMetadata>(read).savepoint());
    QCOMPARE(std::get<sluice::checkpoint::CheckpointMetadata>(read).checkpoint_id(), savepoint);

    // A missing checkpoint is an error string naming the file, not a crash.
    auto missing = sluice::CheckpointStorage::readMetadata(run_dir / "chk-1");
    QVERIFY(std::holds_alternative<std::string>(missing));
}

void TstCheckpoints::temporaryFolderRemoved() {
    EngineOptions options;
    options.until_ms = 2500;
    auto engine = makeEngine(loadScenario("scenarios/flights.textproto"), options);
    QVERIFY(engine);
    engine->run();
    const fs::path root = engine->checkpointDir();
    QVERIFY(fs::exists(root / "shared"));
    QVERIFY(!engine->retainedCheckpoints().empty());
    QVERIFY(fs::exists(root / ("chk-" + std::to_string(engine->retainedCheckpoints().back()))));
    engine.reset();
    QVERIFY2(!fs::exists(root), root.c_str());
}

void TstCheckpoints::finishedSourcesDoNotStall() {
    // "short" ends after 1 s, "long" after 4 s; checkpoints every 300 ms.
    auto s = parse(R"(
name: "ends"
seed: 5
cluster { task_managers: 2 }
checkpointing { interval_ms: 300 timeout_ms: 5000 }
job {
  name: "ends"
  operators {
    id: "short"
    parallelism: 1
    generator { key_count: 50 rate_per_second: 2000 record_count: 2000 }
  }
  operators {
    id: "long"
    parallelism: 1
    generator { key_count: 50 rate_per_second: 2000 record_count: 8000 }
  }
  operators { id: "count" parallelism: 2 aggregate { function: COUNT } }
  operators { id: "sink" parallelism: 1 sink { kind: COLLECT } }
  edges { from: "short" to: "count" partitioning: HASH }
  edges { from: "long" to: "count" partitioning: HASH }
  edges { from: "count" to: "sink" partitioning: REBALANCE }
}
)");
    auto engine = makeEngine(s);
    QVERIFY(engine);
    engine->run();
    QCOMPARE(engine->runState(), RunState::kFinished);
    QCOMPARE(engine->store().visibleRecords().size(), size_t(10000));
    auto history = checkpointsOnly(*engine);
    int after_short_finished = 0;
    int after_all_finished = 0;
    for (const auto& stats : history) {
        QVERIFY2(stats.status == CheckpointStatus::kCompleted,
                 qPrintable(QString("checkpoint %1: %2")
                                .arg(stats.id)
                                .arg(QString::fromStdString(stats.failure_cause))));
        if (stats.trigger_time_ns > 1100 * kNanosPerMilli) {
            ++after_short_finished;
        }
        // Every source finished at 4 s; after that only the final
        // checkpoint runs, and the job ends when it completes.
        if (stats.trigger_time_ns > 4000 * kNanosPerMilli) {
            ++after_all_finished;
            QCOMPARE(stats.id, history.back().id);
            QVERIFY(engine->now() >= stats.end_time_ns);
        }
    }
    QCOMPARE(after_all_finished, 1);
    QVERIFY(after_short_finished >= 8);
}

void TstCheckpoints::twoPhaseCommitVisibility() {
    auto s = loadScenario("scenarios/flights.textproto");
    s.proto.clear_faults();  // a failover aborts transactions, and this test wants none
    auto engine = makeEngine(s);
    QVERIFY(engine);
    std::string violation = runCheckingTwoPhase(*engine, 5 * kNanosPerMilli);
    QVERIFY2(violation.empty(), violation.c_str());
    QCOMPARE(engine->runState(), RunState::kFinished);
    // Every epoch became visible in the end.
    size_t committed = 0;
    for (const auto& [id, t] : engine->store().transactions()) {
        committed += t.state == TransactionState::kCommitted ? 1 : 0;
    }
    QVERIFY(committed >= 5);
    QCOMPARE(engine->store().visibleRecords().size(), engine->store().records().size());
}

namespace {
// A processing-time clock that a test sets by hand.
class ManualClock final : public ProcessingTimeService {
public:
    TimestampMs currentProcessingTimeMs() const override { return now_ms; }
    void registerProcessingTimer(StreamOperatorBase*, TimestampMs, uint64_t) override {}
    TimestampMs now_ms = 0;
};
}  // namespace

void TstCheckpoints::abortedCheckpointAbortsTransaction() {
    ExternalStore store;
    scenario::Sink spec;
    spec.set_kind(scenario::TWO_PHASE_COMMIT);
    StoreSink sink(&store, 0, spec, scenario::DeliberateBugs{});
    ManualClock clock;
    OperatorContext context;
    context.processing_time = &clock;
    context.final_checkpoint = true;
    sink.open(context);
    auto write = [&](uint64_t id) { sink.invoke(Record{id, "k", int64_t(id)}, 0); };

    write(1);
    write(2);
    sink.snapshotState(1);  // epoch 1: records 1 and 2
    write(3);
    sink.snapshotState(2);  // epoch 2: record 3
    write(4);               // epoch 3, still open
    sink.notifyCheckpointAborted(1);

    // Epoch 1's transaction is aborted and stays invisible for good.
    int64_t aborted = -1;
    for (const auto& [id, t] : store.transactions()) {
        if (t.state == TransactionState::kAborted) {
            QCOMPARE(aborted, int64_t(-1));
            aborted = id;
            QCOMPARE(t.abort_reason, std::string("checkpoint 1 was aborted"));
            QCOMPARE(t.records.size(), size_t(2));
        }
    }
    QVERIFY(aborted > 0);
    QVERIFY(store.visibleRecords().empty());

    // Checkpoint 2 commits epoch 1's records, written again, before epoch 2.
    sink.notifyCheckpointComplete(2);
    std::vector<uint64_t> visible;
    for (const auto& r : store.visibleRecords()) {
        visible.push_back(r.record.id);
        QVERIFY(r.transaction != aborted);
    }
    QCOMPARE(visible, (std::vector<uint64_t>{1, 2, 3}));

    // The final checkpoint commits the open epoch; close() drops the empty
    // transaction the final checkpoint opened.
    sink.finish();
    QCOMPARE(store.visibleRecords().size(), size_t(3));
    sink.snapshotState(3);
    sink.notifyCheckpointComplete(3);
    sink.close();
    QCOMPARE(store.visibleRecords().size(), size_t(4));
    for (const auto& [id, t] : store.transactions()) {
        QVERIFY2(
            t.state == TransactionState::kCommitted || t.state == TransactionState::kAborted,
            qPrintable(QString("transaction %1 is %2").arg(id).arg(transactionStateName(t.state))));
    }
}

void TstCheckpoints::finalCheckpointCommitsLastEpoch() {
    // Checkpoints every 10 s never come during the 2 s of input: only the
    // final checkpoint can commit, and it commits everything.
    auto s = parse(R"(
name: "final"
seed: 3
checkpointing { interval_ms: 10000 }
job {
  name: "final"
  operators {
    id: "gen"
    parallelism: 2
    generator { key_count: 20 rate_per_second: 1000 record_count: 2000 }
  }
  operators { id: "count" parallelism: 2 aggregate { function: COUNT } }
  operators { id: "sink" parallelism: 2 sink { kind: TWO_PHASE_COMMIT } }
  edges { from: "gen" to: "count" partitioning: HASH }
  edges { from: "count" to: "sink" partitioning: FORWARD }
}
)");
    auto engine = makeEngine(s);
    QVERIFY(engine);
    std::string violation = runCheckingTwoPhase(*engine, 100 * kNanosPerMilli);
    QVERIFY2(violation.empty(), violation.c_str());
    QCOMPARE(engine->runState(), RunState::kFinished);
    auto history = checkpointsOnly(*engine);
    QCOMPARE(history.size(), size_t(1));
    QCOMPARE(history[0].status, CheckpointStatus::kCompleted);
    QVERIFY(history[0].trigger_time_ns >= 10 * kNanosPerSecond);
    QCOMPARE(engine->store().visibleRecords().size(), size_t(2000));
    QVERIFY(engine->now() >= history[0].end_time_ns);
}

void TstCheckpoints::expiredTransactionStaysInvisible() {
    // Transactions time out after 300 ms but epochs last 1 s: every
    // transaction that received a record expires before its pre-commit.
    auto s = loadScenario("scenarios/flights.textproto");
    for (auto& op : *s.proto.mutable_job()->mutable_operators()) {
        if (op.has_sink()) {
            op.mutable_sink()->set_transaction_timeout_ms(300);
        }
    }
    EngineOptions options;
    options.until_ms = 5000;
    auto engine = makeEngine(s, options);
    QVERIFY(engine);
    std::string violation = runCheckingTwoPhase(*engine, 20 * kNanosPerMilli);
    QVERIFY2(violation.empty(), violation.c_str());
    sluice::sim::ExternalStore store = engine->store();
    int aborted_with_records = 0;
    for (const auto& [id, t] : store.transactions()) {
        if (t.state != TransactionState::kAborted || t.records.empty()) {
            continue;
        }
        ++aborted_with_records;
        for (size_t index : t.records) {
            QVERIFY(!store.isVisible(store.records()[index]));
        }
        QVERIFY2(!store.commit(id, engine->now()), "an aborted transaction committed");
        QCOMPARE(store.transactions().at(id).state, TransactionState::kAborted);
    }
    QVERIFY(aborted_with_records > 0);
}

void TstCheckpoints::commitOnPreCommitDetected() {
    auto s = loadScenario("scenarios/flights.textproto");
    s.proto.mutable_bugs()->set_commit_on_pre_commit(true);
    auto engine = makeEngine(s);
    QVERIFY(engine);
    std::string violation = runCheckingTwoPhase(*engine, 5 * kNanosPerMilli);
    QVERIFY2(!violation.empty(), "records became visible only after their checkpoint completed");
}

void TstCheckpoints::csvExport() {
    EngineOptions options;
    options.until_ms = 4500;
    auto engine = makeEngine(loadScenario("scenarios/flights.textproto"), options);
    QVERIFY(engine);
    engine->run();
    const auto history = engine->checkpointHistory();
    QVERIFY(history.size() >= 4);
    std::ostringstream out;
    sluice::sim::writeCheckpointsCsv(out, history, engine->vertexNames());
    std::istringstream in(out.str());
    std::string line;
    std::getline(in, line);
    QCOMPARE(QString::fromStdString(line),
             QStringLiteral("checkpoint_id,status,is_savepoint,trigger_time_ms,"
                            "end_to_end_duration_ms,checkpointed_size_bytes,full_size_bytes,task,"
                            "subtask,acknowledged,ack_time_ms,sync_duration_ms,async_duration_ms,"
                            "alignment_duration_ms,start_delay_ms,unaligned,processed_bytes,"
                            "persisted_bytes,failure_cause"));
    std::vector<QStringList> rows;
    while (std::getline(in, line)) {
        rows.push_back(splitCsvLine(line));
    }
    size_t expected_rows = 0;
    for (const auto& stats : history) {
        expected_rows += stats.subtasks.size();
    }
    QCOMPARE(rows.size(), expected_rows);
    size_t row = 0;
    const auto names = engine->vertexNames();
    for (const auto& stats : history) {
        for (const auto& subtask : stats.subtasks) {
            const QStringList& f = rows[row++];
            QCOMPARE(f.size(), 19);
            QCOMPARE(f[0].toLongLong(), stats.id);
            QCOMPARE(f[1], QString(sluice::checkpointStatusName(stats.status)));
            // Three decimals: microsecond resolution.
            QVERIFY(qAbs(f[3].toDouble() - double(stats.trigger_time_ns) / 1e6) <= 0.0005);
            QCOMPARE(f[5].toLongLong(), stats.checkpointed_size_bytes);
            QCOMPARE(f[6].toLongLong(), stats.full_size_bytes);
            QCOMPARE(f[7], QString::fromStdString(names.at(size_t(subtask.vertex))));
            QCOMPARE(f[8].toInt(), subtask.subtask);
            QCOMPARE(f[9], QString(subtask.acknowledged ? "true" : "false"));
            QVERIFY(qAbs(f[13].toDouble() - double(subtask.alignment_duration_ns) / 1e6) < 0.001);
            QCOMPARE(f[16].toLongLong(), subtask.processed_bytes);
            QCOMPARE(f[17].toLongLong(), subtask.persisted_bytes);
        }
    }
}

void TstCheckpoints::jsonExport() {
    auto s = loadScenario("scenarios/flights.textproto");
    s.proto.mutable_checkpointing()->add_savepoint_at_ms(1500);
    EngineOptions options;
    options.until_ms = 4500;
    auto engine = makeEngine(s, options);
    QVERIFY(engine);
    engine->run();
    const auto history = engine->checkpointHistory();
    std::ostringstream out;
    sluice::sim::writeCheckpointsJson(out, history, engine->vertexNames());
    QJsonParseError error;
    QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(out.str()), &error);
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    QJsonObject root = doc.object();
    for (const char* key : {"counts", "summary", "latest", "history"}) {
        QVERIFY2(root.contains(key), key);
    }
    int completed = 0;
    int failed = 0;
    int in_progress = 0;
    const CheckpointStats* latest_completed = nullptr;
    const CheckpointStats* latest_savepoint = nullptr;
    for (const auto& stats : history) {
        completed += stats.status == CheckpointStatus::kCompleted;
        failed += stats.status == CheckpointStatus::kFailed;
        in_progress += stats.status == CheckpointStatus::kInProgress;
        if (stats.status == CheckpointStatus::kCompleted) {
            (stats.savepoint ? latest_savepoint : latest_completed) = &stats;
        }
    }
    QJsonObject counts = root["counts"].toObject();
    QCOMPARE(counts["total"].toInt(), int(history.size()));
    QCOMPARE(counts["completed"].toInt(), completed);
    QCOMPARE(counts["failed"].toInt(), failed);
    QCOMPARE(counts["in_progress"].toInt(), in_progress);
    QCOMPARE(counts["restored"].toInt(), 0);

    QJsonObject summary = root["summary"].toObject();
    for (const char* key : {"checkpointed_size", "state_size", "end_to_end_duration",
                            "processed_data", "persisted_data"}) {
        QJsonObject stat = summary[key].toObject();
        QVERIFY2(stat.contains("min") && stat.contains("max") && stat.contains("avg"), key);
    }
    int64_t max_state = 0;
    for (const auto& stats : history) {
        if (stats.status == CheckpointStatus::kCompleted) {
            max_state = std::max(max_state, stats.full_size_bytes);
        }
    }
    QCOMPARE(summary["state_size"].toObject()["max"].toInteger(), max_state);

    QJsonObject latest = root["latest"].toObject();
    QVERIFY(latest_completed && latest_savepoint);
    QCOMPARE(latest["completed"].toObject()["id"].toInteger(), latest_completed->id);
    QCOMPARE(latest["savepoint"].toObject()["id"].toInteger(), latest_savepoint->id);
    QCOMPARE(latest["savepoint"].toObject()["is_savepoint"].toBool(), true);
    QVERIFY(latest.contains("failed"));
    QVERIFY(latest.contains("restored"));

    QJsonArray entries = root["history"].toArray();
    QCOMPARE(entries.size(), qsizetype(history.size()));
    for (const auto& stats : history) {
        // Flink lists the newest first.
        QJsonObject e = entries[qsizetype(history.size()) - stats.id].toObject();
        QCOMPARE(e["id"].toInteger(), stats.id);
        QCOMPARE(e["status"].toString(), QString(sluice::checkpointStatusName(stats.status)));
        QCOMPARE(e["is_savepoint"].toBool(), stats.savepoint);
        // Flink's timestamps are whole milliseconds.
        QCOMPARE(e["trigger_timestamp"].toInteger(), (stats.trigger_time_ns + 500'000) / 1'000'000);
        QCOMPARE(e["checkpointed_size"].toInteger(), stats.checkpointed_size_bytes);
        QCOMPARE(e["state_size"].toInteger(), stats.full_size_bytes);
        QCOMPARE(e["processed_data"].toInteger(), stats.processed_bytes);
        QCOMPARE(e["persisted_data"].toInteger(), stats.persisted_bytes);
        QCOMPARE(e["num_subtasks"].toInt(), stats.total_subtasks);
        QCOMPARE(e["num_acknowledged_subtasks"].toInt(), stats.acknowledged_subtasks);
        // Durations are whole milliseconds too, rounded to the nearest.
        QCOMPARE(e["end_to_end_duration"].toInteger(),
                 (stats.endToEndDurationNs() + 500'000) / 1'000'000);
        QVERIFY(e.contains("checkpoint_type"));
    }
}

namespace {
// Runs the scenario to its end, then runs it again stopping at `until_ms`
// and restores its latest retained checkpoint in a third run. Returns an
// empty string when the output committed up to that checkpoint plus the
// restored run's output equals the first run's output, or else what differs.
// `persisted_bytes` receives the restored checkpoint's in-flight bytes.
std::string restoreMismatchAt(const LoadedScenario& scenario, int64_t until_ms,
                              int64_t* persisted_bytes, bool exact = true) {
    auto reference_engine = makeEngine(scenario);
    if (!reference_engine) {
        return "the scenario did not build";
    }
    reference_engine->run();
    std::vector<OutputRecord> reference = visibleOutput(*reference_engine);

    QTemporaryDir dir;
    EngineOptions first_options;
    first_options.checkpoint_dir = dir.path().toStdString() + "/cp";
    first_options.until_ms = until_ms;
    auto first = makeEngine(scenario, first_options);
    first->run();
    if (first->retainedCheckpoints().empty()) {
        return "no checkpoint completed before " + std::to_string(until_ms) + " ms";
    }
    const int64_t n = first->retainedCheckpoints().back();
    for (const auto& stats : first->checkpointHistory()) {
        if (stats.id == n) {
            *persisted_bytes = stats.persisted_bytes;
        }
    }
    // Epochs 1..N were pre-committed by checkpoint N and are committed once
    // it completes (on restore at the latest); later epochs are discarded.
    std::vector<OutputRecord> combined;
    for (const auto& [id, t] : first->store().transactions()) {
        if (t.checkpoint_id > n || t.state == TransactionState::kAborted) {
            continue;
        }
        for (size_t index : t.records) {
            const auto& r = first->store().records()[index];
            combined.emplace_back(r.record.id, r.record.key, r.record.value, r.timestamp);
        }
    }
    if (combined.empty() || combined.size() >= reference.size()) {
        return "run 1 committed " + std::to_string(combined.size()) + " of " +
               std::to_string(reference.size()) + " records by checkpoint " + std::to_string(n);
    }

    EngineOptions second_options;
    second_options.restore_path = first->checkpointDir() / ("chk-" + std::to_string(n));
    auto second = makeEngine(scenario, second_options);
    if (!second) {
        return "the restored run did not build";
    }
    second->run();
    if (second->runState() != RunState::kFinished) {
        return "the restored run did not finish: " + second->failureCause();
    }
    for (const auto& r : visibleOutput(*second)) {
        combined.push_back(r);
    }
    if (!exact) {
        // Running aggregates over several input channels depend on how the
        // channels interleave, which a restore changes. What must match is
        // which input records got through, and the last value per key.
        auto summarize = [](std::vector<OutputRecord>& records) {
            std::map<std::string, int64_t> last;
            std::vector<uint64_t> ids;
            for (const auto& [id, key, value, timestamp] : records) {
                last[key] = std::max(last.count(key) ? last[key] : value, value);
                ids.push_back(id);
            }
            std::sort(ids.begin(), ids.end());
            return std::make_pair(ids, last);
        };
        if (summarize(combined) != summarize(reference)) {
            return "restored output has " + std::to_string(combined.size()) +
                   " records, the reference " + std::to_string(reference.size()) +
                   ", and the record ids or the final value per key differ";
        }
        return {};
    }
    std::sort(combined.begin(), combined.end());
    std::sort(reference.begin(), reference.end());
    if (combined != reference) {
        return "restored output has " + std::to_string(combined.size()) +
               " records, the reference " + std::to_string(reference.size());
    }
    return {};
}

// A backpressured keyed sum with unaligned checkpoints, so every checkpoint
// persists records in flight between the source and the sum.
constexpr const char* kUnalignedJob = R"(
name: "unaligned-restore"
seed: 9
cluster { task_managers: 2 }
checkpointing { mode: UNALIGNED interval_ms: 200 }
job {
  name: "unaligned-restore"
  operators {
    id: "source"
    parallelism: 2
    generator { key_count: 200 rate_per_second: 3000 record_count: 3000 }
  }
  operators {
    id: "sum"
    parallelism: 2
    aggregate { function: SUM }
    cost { ns_per_record: 1000000 }
  }
  operators { id: "sink" parallelism: 2 sink { kind: TWO_PHASE_COMMIT } }
  edges { from: "source" to: "sum" partitioning: HASH }
  edges { from: "sum" to: "sink" partitioning: FORWARD }
}
)";
}  // namespace

void TstCheckpoints::restoreIsExactlyOnce() {
    // Windows open at the checkpoint fire after the restore only if their
    // event-time timers were part of the checkpoint.
    int64_t persisted = 0;
    std::string mismatch =
        restoreMismatchAt(loadScenario("scenarios/flights.textproto"), 5300, &persisted);
    QVERIFY2(mismatch.empty(), mismatch.c_str());
}

void TstCheckpoints::unalignedRestoreReplaysChannelState() {
    int64_t persisted = 0;
    std::string mismatch = restoreMismatchAt(parse(kUnalignedJob), 1100, &persisted, false);
    QVERIFY2(mismatch.empty(), mismatch.c_str());
    QVERIFY(persisted > 0);
}

void TstCheckpoints::droppedChannelStateLosesRecords() {
    auto s = parse(kUnalignedJob);
    s.proto.mutable_bugs()->set_drop_channel_state_on_restore(true);
    int64_t persisted = 0;
    std::string mismatch = restoreMismatchAt(s, 1100, &persisted, false);
    QVERIFY(persisted > 0);
    QVERIFY2(mismatch.find("restored output has") == 0, mismatch.c_str());
}

void TstCheckpoints::unalignedRestoreNeedsSameParallelism() {
    QTemporaryDir dir;
    EngineOptions first_options;
    first_options.checkpoint_dir = dir.path().toStdString() + "/cp";
    first_options.until_ms = 1100;
    auto first = makeEngine(parse(kUnalignedJob), first_options);
    QVERIFY(first);
    first->run();
    QVERIFY(!first->retainedCheckpoints().empty());
    const int64_t n = first->retainedCheckpoints().back();

    auto s = parse(kUnalignedJob);
    s.proto.mutable_job()->mutable_operators(1)->set_parallelism(3);
    s.proto.mutable_job()->mutable_operators(2)->set_parallelism(3);
    EngineOptions second_options;
    second_options.restore_path = first->checkpointDir() / ("chk-" + std::to_string(n));
    auto result = Engine::fromScenario(s, second_options);
    auto* error = std::get_if<ScenarioError>(&result);
    QVERIFY(error);
    QVERIFY2(error->field == "--restore", error->format().c_str());
    QVERIFY2(error->message.find("in-flight data of 'sum -> sink' at parallelism 2") !=
                 std::string::npos,
             error->message.c_str());
}

void TstCheckpoints::restoreWithOtherMaxParallelismFails() {
    QTemporaryDir dir;
    EngineOptions first_options;
    first_options.checkpoint_dir = dir.path().toStdString() + "/cp";
    first_options.until_ms = 2500;
    auto first = makeEngine(loadScenario("scenarios/flights.textproto"), first_options);
    QVERIFY(first);
    first->run();
    QVERIFY(!first->retainedCheckpoints().empty());
    const int64_t n = first->retainedCheckpoints().back();

    auto s = loadScenario("scenarios/flights.textproto");
    s.proto.mutable_job()->set_max_parallelism(64);  // the checkpoint has 128
    EngineOptions second_options;
    second_options.restore_path = first->checkpointDir() / ("chk-" + std::to_string(n));
    second_options.until_ms = 30000;
    auto second = makeEngine(s, second_options);
    QVERIFY(second);
    second->run();
    // Every restart fails the same way until the restart strategy gives up.
    QCOMPARE(second->jobStatus(), sluice::JobStatus::kFailed);
    QCOMPARE(second->numRestarts(), 3);
    const QString cause = QString::fromStdString(second->failureCause());
    QVERIFY2(cause.contains("Recovery is suppressed by FixedDelayRestartBackoffTimeStrategy"),
             qPrintable(cause));
    QVERIFY2(cause.contains("max parallelism 128") && cause.contains("64"), qPrintable(cause));
}

QTEST_GUILESS_MAIN(TstCheckpoints)
#include "tst_checkpoints.moc"
