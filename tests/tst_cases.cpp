// The case scenarios, one per known failure mode of real stream processors.
// Each runs in its correct configuration, the shipped file, which must pass
// the exactly-once checker. Each also runs in its faulty configuration, the
// one-line change its header names, which must fail with the expected
// violation or error. The tests also check the metric that shows the
// difference. Last, every deliberate-bug switch must make the checker fail
// on its matching scenario for at least one of 20 seeds.

// The engine headers come before Qt's: Qt defines emit and slots as macros,
// which are also names in the runtime.
#include "engine_support.h"
#include "runtime/core/key_groups.h"
#include "sim/run_check.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using sluice::CheckpointStats;
using sluice::CheckpointStatus;
using sluice::kNanosPerMilli;
using sluice::Nanos;
using sluice::sim::Engine;
using sluice::sim::EngineOptions;
using sluice::sim::LoadedScenario;
using sluice::sim::RunState;
using sluice::sim::Verdict;
using sluice::sim::ViolationKind;
using sluice::test::makeEngine;
namespace scenario = sluice::scenario;

namespace {

LoadedScenario load(const std::string& file) {
    return sluice::test::loadScenario("scenarios/" + file);
}

// A finished run with its verdict against the failure-free reference run.
struct Checked {
    std::unique_ptr<Engine> run;
    Verdict verdict;
    std::string error;  // why an engine could not be built, or empty
};

Checked runChecked(const LoadedScenario& s, std::optional<uint64_t> seed = std::nullopt) {
    Checked out;
    EngineOptions options;
    options.seed = seed;
    out.run = makeEngine(s, options);
    if (!out.run) {
        out.error = "the scenario did not build";
        return out;
    }
    out.run->run();
    auto checked = sluice::sim::checkAgainstReference(*out.run);
    if (auto* e = std::get_if<sluice::sim::ScenarioError>(&checked)) {
        out.error = "the reference did not build: " + e->format();
        return out;
    }
    out.verdict = std::get<Verdict>(checked);
    return out;
}

// Returns the text a test prints when a verdict is not the expected one.
std::string describe(const Checked& c) {
    if (!c.error.empty()) {
        return c.error;
    }
    return "seed " + std::to_string(c.run->seed()) + ": " + c.verdict.summary();
}

bool failsWith(const Checked& c, ViolationKind kind) {
    return c.error.empty() && !c.verdict.pass && c.verdict.count(kind) > 0;
}

std::vector<CheckpointStats> checkpoints(const Engine& engine) {
    std::vector<CheckpointStats> out;
    for (const auto& stats : engine.checkpointHistory()) {
        if (!stats.savepoint) {
            out.push_back(stats);
        }
    }
    return out;
}

std::optional<CheckpointStats> checkpoint(const Engine& engine, int64_t id) {
    for (const auto& stats : engine.checkpointHistory()) {
        if (stats.id == id) {
            return stats;
        }
    }
    return std::nullopt;
}

int countWithStatus(const std::vector<CheckpointStats>& history, CheckpointStatus status) {
    return int(std::count_if(history.begin(), history.end(),
                             [status](const CheckpointStats& s) { return s.status == status; }));
}

// Shares of time a task was busy and backpressured, from 0 to 1.
struct Shares {
    double busy = 0;
    double backpressured = 0;
};

// Returns the shares of every running task by task name, such as "count (4/4)".
std::map<std::string, Shares> taskShares(const Engine& engine) {
    std::map<std::string, Shares> out;
    for (const auto* task : engine.tasks()) {
        auto c = task->counters();
        double total = double(std::max<Nanos>(1, c.busy_ns + c.idle_ns + c.backpressured_ns));
        out[task->name()] = {double(c.busy_ns) / total, double(c.backpressured_ns) / total};
    }
    return out;
}

// Returns the sum of an operator metric over the running subtasks of `id`.
uint64_t operatorTotal(const Engine& engine, const std::string& id,
                       uint64_t sluice::OperatorMetrics::*field) {
    uint64_t total = 0;
    for (const auto* task : engine.tasks()) {
        for (int i = 0; i < task->operatorCount(); ++i) {
            if (engine.streamGraph().node(task->operatorNode(i)).name == id) {
                total += task->operatorContext(i).metrics.*field;
            }
        }
    }
    return total;
}

// Returns the last sampled currentInputWatermark of each subtask of `vertex`.
std::vector<double> lastWatermarks(const Engine& engine, int vertex) {
    std::map<int, double> last;
    for (const auto& sample : engine.metrics().samples()) {
        if (sample.vertex == vertex &&
            sample.metric == sluice::sim::Metric::kCurrentInputWatermark) {
            last[sample.subtask] = sample.value;
        }
    }
    std::vector<double> out;
    for (const auto& [subtask, value] : last) {
        out.push_back(value);
    }
    return out;
}

// Returns the first vertex whose name starts with `name_prefix`, or -1.
int vertexOf(const Engine& engine, const std::string& name_prefix) {
    const auto names = engine.vertexNames();
    for (size_t i = 0; i < names.size(); ++i) {
        if (names[i].rfind(name_prefix, 0) == 0) {
            return int(i);
        }
    }
    return -1;
}

// Runs the scenario, changed by `change`, with the scenario's seed and then
// seeds 1, 2, ... until the checker fails, at most 20 runs. Returns the first
// failing run, or the last run if none failed.
Checked firstFailingSeed(const std::string& file,
                         const std::function<void(scenario::Scenario&)>& change) {
    LoadedScenario s = load(file);
    change(s.proto);
    Checked c = runChecked(s);
    for (uint64_t seed = 1; seed < 20 && c.error.empty() && c.verdict.pass; ++seed) {
        c = runChecked(s, seed);
    }
    return c;
}

}  // namespace

class TstCases : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void unalignedUnderBackpressure();
    void alignmentTimeoutUpstream();
    void hotKey();
    void idlePartition();
    void idlePartitionLateRecords();
    void declinedUnalignedCheckpoint();
    void asyncSinkLateError();
    void maxParallelismChange();
    void sharedFilesAfterSavepoint();
    void expiredTransactionOnRecovery();
    void flightsSurvivesTaskManagerLoss();
    void restoreOlderCheckpoint();
    void bugSwitchesFail_data();
    void bugSwitchesFail();
};

// Unaligned checkpoints complete under backpressure and persist in-flight
// data. Aligned ones expire, and the job fails over.
void TstCases::unalignedUnderBackpressure() {
    const std::string file = "unaligned-under-backpressure.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    auto history = checkpoints(*ok.run);
    QVERIFY(countWithStatus(history, CheckpointStatus::kCompleted) >= 5);
    for (const auto& stats : history) {
        if (stats.status == CheckpointStatus::kCompleted && stats.id <= 5) {
            QVERIFY2(stats.unaligned && stats.persisted_bytes > 0,
                     std::to_string(stats.id).c_str());
            QVERIFY(stats.endToEndDurationNs() < 1000 * kNanosPerMilli);
        }
    }

    LoadedScenario faulty = load(file);
    faulty.proto.mutable_checkpointing()->set_mode(scenario::EXACTLY_ONCE);
    Checked bad = runChecked(faulty);
    QVERIFY2(bad.error.empty(), bad.error.c_str());
    const auto first = checkpoint(*bad.run, 1);
    QVERIFY(first && first->status == CheckpointStatus::kFailed);
    QCOMPARE(QString::fromStdString(first->failure_cause),
             QStringLiteral("Checkpoint expired before completing."));
    // No tolerable failures: the expiry fails the job over, which starts
    // again from the beginning because no checkpoint completed.
    QVERIFY(bad.run->numRestarts() >= 1);
    QCOMPARE(bad.run->recoveries().front().first, first->end_time_ns);
}

// The aligned-checkpoint timeout also fires while the barrier waits in the
// map's output queue.
void TstCases::alignmentTimeoutUpstream() {
    const std::string file = "alignment-timeout-upstream.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    QCOMPARE(ok.run->numRestarts(), 1);
    auto history = checkpoints(*ok.run);
    QVERIFY(countWithStatus(history, CheckpointStatus::kCompleted) >= 8);
    for (const auto& stats : history) {
        if (stats.status == CheckpointStatus::kCompleted) {
            QVERIFY(stats.unaligned && stats.persisted_bytes > 0);
            // Switched at the 2 s aligned-checkpoint timeout, far below 30 s.
            QVERIFY(stats.endToEndDurationNs() >= 2000 * kNanosPerMilli);
            QVERIFY(stats.endToEndDurationNs() < 3000 * kNanosPerMilli);
        }
    }

    LoadedScenario faulty = load(file);
    faulty.proto.mutable_bugs()->set_alignment_timeout_only_at_receiver(true);
    Checked bad = runChecked(faulty);
    QVERIFY2(failsWith(bad, ViolationKind::kNoProgress), describe(bad).c_str());
    auto bad_history = checkpoints(*bad.run);
    QCOMPARE(countWithStatus(bad_history, CheckpointStatus::kCompleted), 0);
    QVERIFY(std::any_of(bad_history.begin(), bad_history.end(), [](const CheckpointStats& s) {
        return s.failure_cause == "Checkpoint expired before completing.";
    }));
}

// The hot subtask is saturated, the hot source is backpressured and the other
// count subtasks are mostly idle. Small network buffers keep checkpoints
// short, and the default ones make them expire.
void TstCases::hotKey() {
    const std::string file = "hot-key.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    auto shares = taskShares(*ok.run);
    int hot_subtasks = 0;
    for (const auto& [name, share] : shares) {
        if (name.rfind("count", 0) != 0) {
            continue;
        }
        QVERIFY2(share.busy > 0.95 || share.busy < 0.5, name.c_str());
        hot_subtasks += share.busy > 0.95 ? 1 : 0;
    }
    QCOMPARE(hot_subtasks, 1);
    QVERIFY(shares["hot (1/1)"].backpressured > 0.9);
    for (const auto& stats : checkpoints(*ok.run)) {
        if (stats.status == CheckpointStatus::kCompleted) {
            QVERIFY(stats.endToEndDurationNs() < 500 * kNanosPerMilli);
        }
    }

    LoadedScenario faulty = load(file);
    faulty.proto.clear_network();
    Checked bad = runChecked(faulty);
    QVERIFY2(failsWith(bad, ViolationKind::kJobFailed), describe(bad).c_str());
    QVERIFY2(bad.run->failureCause().find("Checkpoint expired") != std::string::npos,
             bad.run->failureCause().c_str());
}

// With idleness the silent partition no longer stalls the watermark.
// Without it no window fires, while checkpoints still complete.
void TstCases::idlePartition() {
    const std::string file = "idle-partition.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    QVERIFY(ok.verdict.actual_records >= 50);  // 10 keys, 5 windows and more
    const int window = vertexOf(*ok.run, "window");
    for (double watermark : lastWatermarks(*ok.run, window)) {
        QVERIFY(watermark > 50000);
    }

    LoadedScenario faulty = load(file);
    for (auto& op : *faulty.proto.mutable_job()->mutable_operators()) {
        if (op.has_generator()) {
            op.mutable_generator()->mutable_watermarks()->set_idleness_timeout_ms(0);
        }
    }
    Checked bad = runChecked(faulty);
    QVERIFY2(failsWith(bad, ViolationKind::kNoProgress), describe(bad).c_str());
    QCOMPARE(operatorTotal(*bad.run, "window", &sluice::OperatorMetrics::records_out), uint64_t(0));
    for (double watermark : lastWatermarks(*bad.run, window)) {
        QCOMPARE(watermark, -1.0);  // p1's record at time 0, minus 1 ms
    }
    auto history = checkpoints(*bad.run);
    QCOMPARE(countWithStatus(history, CheckpointStatus::kFailed), 0);
    QVERIFY(countWithStatus(history, CheckpointStatus::kCompleted) >= 25);
}

// A slow partition whose event time lags behind has its records dropped as
// late, because idleness lets the watermark run ahead between its records.
void TstCases::idlePartitionLateRecords() {
    LoadedScenario s = load("idle-partition.textproto");
    s.proto.clear_faults();
    for (auto& op : *s.proto.mutable_job()->mutable_operators()) {
        if (op.id() == "p1") {
            op.mutable_generator()->set_rate_per_second(0.125);
            op.mutable_generator()->set_event_time_step_ms(1000);
            op.mutable_generator()->set_record_count(0);
        }
    }
    auto engine = makeEngine(s);
    QVERIFY(engine);
    engine->run();
    QVERIFY(operatorTotal(*engine, "window", &sluice::OperatorMetrics::late_records_dropped) >= 5);
}

// Checkpoint 5 is declined at map subtask 1, and the restore from checkpoint
// 6 replays exactly the buffers that checkpoint 6 persisted.
void TstCases::declinedUnalignedCheckpoint() {
    const std::string file = "declined-unaligned-checkpoint.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    const auto declined = checkpoint(*ok.run, 5);
    const auto restored = checkpoint(*ok.run, 6);
    QVERIFY(declined && restored);
    QCOMPARE(declined->status, CheckpointStatus::kFailed);
    QVERIFY2(declined->failure_cause.find("declined") != std::string::npos,
             declined->failure_cause.c_str());
    QCOMPARE(restored->status, CheckpointStatus::kCompleted);
    QVERIFY(restored->unaligned && restored->persisted_bytes > 0);
    QCOMPARE(ok.run->numRestarts(), 1);

    LoadedScenario faulty = load(file);
    faulty.proto.mutable_bugs()->set_drop_channel_state_on_restore(true);
    Checked bad = runChecked(faulty);
    QVERIFY2(failsWith(bad, ViolationKind::kLoss), describe(bad).c_str());
}

// The asynchronous at-least-once sink must not let checkpoint 4 complete
// while the rejected batch is outstanding.
void TstCases::asyncSinkLateError() {
    const std::string file = "async-sink-late-error.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    QVERIFY(ok.verdict.tolerated_duplicates > 0);
    const auto fourth = checkpoint(*ok.run, 4);
    QVERIFY(fourth && fourth->status == CheckpointStatus::kFailed);

    LoadedScenario faulty = load(file);
    faulty.proto.mutable_bugs()->set_at_least_once_sink_without_flush(true);
    Checked bad = runChecked(faulty);
    QVERIFY2(failsWith(bad, ViolationKind::kLoss), describe(bad).c_str());
    QCOMPARE(bad.verdict.count(ViolationKind::kLoss), uint64_t(100));  // the rejected batch
    const auto completed = checkpoint(*bad.run, 4);
    QVERIFY(completed && completed->status == CheckpointStatus::kCompleted);
}

// Restored keys land on the subtask that owns their key group. A restore
// with another max parallelism is rejected with an error naming both values.
void TstCases::maxParallelismChange() {
    const std::string file = "max-parallelism-change.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    QCOMPARE(ok.run->numRestarts(), 1);
    const int count = vertexOf(*ok.run, "count");
    std::map<std::string, int> owner;
    for (int subtask = 0; subtask < 2; ++subtask) {
        const auto range = sluice::keyGroupRangeForSubtask(128, 2, subtask);
        for (const auto& entry : ok.run->keyedState(count, subtask)) {
            QVERIFY2(range.contains(entry.key_group), entry.key.c_str());
            auto [it, fresh] = owner.try_emplace(entry.key, subtask);
            QVERIFY2(fresh || it->second == subtask, entry.key.c_str());
        }
    }
    QCOMPARE(owner.size(), size_t(1000));

    QTemporaryDir dir;
    EngineOptions first_options;
    first_options.checkpoint_dir = dir.path().toStdString();
    auto first = makeEngine(load(file), first_options);
    QVERIFY(first);
    first->run();
    QVERIFY(!first->retainedCheckpoints().empty());
    LoadedScenario changed = load(file);
    changed.proto.mutable_job()->set_max_parallelism(64);
    EngineOptions second_options;
    second_options.restore_path =
        first->checkpointDir() / ("chk-" + std::to_string(first->retainedCheckpoints().back()));
    auto second = makeEngine(changed, second_options);
    QVERIFY(second);
    second->run();
    QCOMPARE(second->runState(), RunState::kFailed);
    QVERIFY2(second->failureCause().find("state was written with max parallelism 128 but the "
                                         "operator now has 64") != std::string::npos,
             second->failureCause().c_str());
}

// Shared files stay while checkpoint 5 references them. Deleting them when
// checkpoint 3 is subsumed breaks the restore.
void TstCases::sharedFilesAfterSavepoint() {
    const std::string file = "shared-files-after-savepoint.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    QCOMPARE(ok.run->numRestarts(), 1);
    bool savepoint = false;
    for (const auto& stats : ok.run->checkpointHistory()) {
        savepoint = savepoint || (stats.savepoint && stats.status == CheckpointStatus::kCompleted);
    }
    QVERIFY(savepoint);
    const auto fifth = checkpoint(*ok.run, 5);
    QVERIFY(fifth && fifth->status == CheckpointStatus::kCompleted);
    QVERIFY(fifth->checkpointed_size_bytes < fifth->full_size_bytes / 2);

    LoadedScenario faulty = load(file);
    faulty.proto.mutable_bugs()->set_delete_shared_files_early(true);
    Checked bad = runChecked(faulty);
    QVERIFY2(failsWith(bad, ViolationKind::kJobFailed), describe(bad).c_str());
    QVERIFY2(bad.run->failureCause().find("deleted while still referenced") != std::string::npos,
             bad.run->failureCause().c_str());
}

// A transaction timeout above the downtime lets the commit on recovery
// succeed. A shorter one fails the job, or loses the epoch when the sink
// ignores the failed commit.
void TstCases::expiredTransactionOnRecovery() {
    const std::string file = "expired-transaction-on-recovery.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    QVERIFY(ok.run->warnings().empty());
    QCOMPARE(ok.run->recoveries().size(), size_t(1));
    const auto& [failed_at, running_at] = ok.run->recoveries().front();
    QVERIFY(running_at - failed_at > 60'000 * kNanosPerMilli);

    auto shorter = [&](bool ignore) {
        LoadedScenario s = load(file);
        for (auto& op : *s.proto.mutable_job()->mutable_operators()) {
            if (op.has_sink()) {
                op.mutable_sink()->set_transaction_timeout_ms(60000);
                op.mutable_sink()->set_ignore_failures_after_transaction_timeout(ignore);
            }
        }
        return runChecked(s);
    };
    Checked failing = shorter(false);
    QVERIFY2(failsWith(failing, ViolationKind::kJobFailed), describe(failing).c_str());
    QCOMPARE(failing.run->warnings().size(), size_t(1));
    QVERIFY2(
        failing.run->warnings().front().find("transaction_timeout_ms 60000") != std::string::npos,
        failing.run->warnings().front().c_str());
    QVERIFY2(failing.run->failureCause().find("raise transaction_timeout_ms") != std::string::npos,
             failing.run->failureCause().c_str());
    Checked losing = shorter(true);
    QVERIFY2(failsWith(losing, ViolationKind::kLoss), describe(losing).c_str());
    QCOMPARE(losing.run->runState(), RunState::kFinished);
    QCOMPARE(losing.verdict.count(ViolationKind::kLoss), uint64_t(1000));  // the 1 s epoch
}

// The flights scenario loses TaskManager 1 after checkpoint 3 and recovers.
void TstCases::flightsSurvivesTaskManagerLoss() {
    Checked ok = runChecked(sluice::test::loadScenario("scenarios/flights.textproto"));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    QCOMPARE(ok.run->firedFaults().size(), size_t(1));
    QCOMPARE(ok.run->numRestarts(), 1);
}

// After a rewind to checkpoint 6, the new run takes checkpoint ids 7 to 10
// again and commits them under its own attempt: nothing is lost, and the
// epochs between checkpoints 6 and 10 are committed twice. Deduplicating by
// checkpoint id alone skips those commits and loses records.
void TstCases::restoreOlderCheckpoint() {
    const std::string file = "restore-older-checkpoint.textproto";
    Checked ok = runChecked(load(file));
    QVERIFY2(ok.error.empty() && ok.verdict.pass, describe(ok).c_str());
    QCOMPARE(ok.verdict.count(ViolationKind::kLoss), uint64_t(0));
    // Checkpoints 6 and 10 are 4 s apart at 2,000 records per second.
    QCOMPARE(ok.verdict.tolerated_duplicates, uint64_t(8000));
    QCOMPARE(ok.run->firedFaults().size(), size_t(1));
    // Checkpoint 7 came twice: committed transactions of two attempts.
    std::map<int64_t, int> attempts_of_seven;
    for (const auto& [id, transaction] : ok.run->store().transactions()) {
        if (transaction.checkpoint_id == 7 &&
            transaction.state == sluice::sim::TransactionState::kCommitted) {
            ++attempts_of_seven[transaction.attempt];
        }
    }
    QCOMPARE(attempts_of_seven.size(), size_t(2));

    LoadedScenario faulty = load(file);
    faulty.proto.mutable_bugs()->set_dedup_commits_by_checkpoint_id(true);
    Checked bad = runChecked(faulty);
    QVERIFY2(failsWith(bad, ViolationKind::kLoss), describe(bad).c_str());

    LoadedScenario missing = load(file);
    missing.proto.mutable_checkpointing()->set_retained(1);
    Checked skipped = runChecked(missing);
    QVERIFY2(skipped.error.empty() && skipped.verdict.pass, describe(skipped).c_str());
    QCOMPARE(skipped.run->numRestarts(), 0);
    const std::string& description = skipped.run->firedFaults().front().description;
    QVERIFY2(description.find("not done: it is not retained; retained: 10") != std::string::npos,
             description.c_str());
}

// Turns on one deliberate-bug switch. commit_on_pre_commit also moves the
// failure between the sink's preCommit of checkpoint 3 and the checkpoint's
// completion, the window in which committing early shows.
static void applyBug(const std::string& bug, scenario::Scenario& s) {
    auto* bugs = s.mutable_bugs();
    if (bug == "skip_alignment") {
        bugs->set_skip_alignment(true);
    } else if (bug == "dont_rewind_sources") {
        bugs->set_dont_rewind_sources(true);
    } else if (bug == "commit_on_pre_commit") {
        bugs->set_commit_on_pre_commit(true);
        auto* fault = s.mutable_faults()->mutable_fault(0);
        fault->mutable_kill_task_manager()->set_restart_after_ms(1000);
        auto* phase = fault->mutable_trigger()->mutable_phase();
        phase->set_phase(scenario::AFTER_SYNC_SNAPSHOT);
        phase->set_operator_("sink");
        phase->set_subtask(0);
    } else if (bug == "drop_channel_state_on_restore") {
        bugs->set_drop_channel_state_on_restore(true);
    } else if (bug == "delete_shared_files_early") {
        bugs->set_delete_shared_files_early(true);
    } else if (bug == "at_least_once_sink_without_flush") {
        bugs->set_at_least_once_sink_without_flush(true);
    } else if (bug == "dedup_commits_by_checkpoint_id") {
        bugs->set_dedup_commits_by_checkpoint_id(true);
    } else if (bug == "alignment_timeout_only_at_receiver") {
        bugs->set_alignment_timeout_only_at_receiver(true);
    } else {
        qFatal("bug switch '%s' not found; use a DeliberateBugs field name", bug.c_str());
    }
}

void TstCases::bugSwitchesFail_data() {
    QTest::addColumn<QString>("bug");
    QTest::addColumn<QString>("file");
    const char* const rows[][2] = {
        {"skip_alignment", "hot-key.textproto"},
        {"dont_rewind_sources", "max-parallelism-change.textproto"},
        {"commit_on_pre_commit", "expired-transaction-on-recovery.textproto"},
        {"drop_channel_state_on_restore", "declined-unaligned-checkpoint.textproto"},
        {"delete_shared_files_early", "shared-files-after-savepoint.textproto"},
        {"at_least_once_sink_without_flush", "async-sink-late-error.textproto"},
        {"alignment_timeout_only_at_receiver", "alignment-timeout-upstream.textproto"},
        {"dedup_commits_by_checkpoint_id", "restore-older-checkpoint.textproto"},
    };
    for (const auto& [bug, file] : rows) {
        QTest::newRow(bug) << QString(bug) << QString(file);
    }
}

// Each switch breaks one mechanism, so on the scenario that exercises it the
// checker must fail for some seed. The scenario's own seed is tried first.
void TstCases::bugSwitchesFail() {
    QFETCH(QString, bug);
    QFETCH(QString, file);
    Checked c = firstFailingSeed(file.toStdString(),
                                 [&](scenario::Scenario& s) { applyBug(bug.toStdString(), s); });
    QVERIFY2(c.error.empty(), c.error.c_str());
    QVERIFY2(!c.verdict.pass, ("no seed of 20 failed; last " + describe(c)).c_str());
    qInfo("%s", describe(c).c_str());
}

QTEST_GUILESS_MAIN(TstCases)
#include "tst_cases.moc"
