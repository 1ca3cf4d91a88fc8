// The recovery matrix: every fault kind, with each checkpointing mode
// (aligned, unaligned, aligned with timeout), on both state backends, on
// wordcount and flights, must end with the exactly-once checker's PASS.
// The sinks are two-phase-commit sinks, so the output is transactional.
//
// CI runs one seed per cell, and RocksDB only with aligned checkpoints.
// The full matrix, every cell with 10 seeds, is:
//   SLUICE_RECOVERY_FULL=1 SLUICE_RECOVERY_SEEDS=10 ./build/dev/bin/tst_recovery

// The engine headers come before Qt's: Qt defines emit and slots as macros,
// which are also names in the runtime.
#include "engine_support.h"
#include "sim/run_check.h"

#include <QtTest>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

using sluice::sim::Engine;
using sluice::sim::LoadedScenario;
using sluice::sim::RunState;
namespace scenario = sluice::scenario;

namespace {

enum class FaultKind {
    kKillTaskManager,
    kFailSubtask,
    kPartitionJobManager,
    kPartitionTaskManagers,
    kDropAcknowledgement,
    kDropNotification,
    kSlowOperator,
    kStorageFailure,
    kStoreRejectsWrites,
    kDeclineCheckpoint,
};

const char* faultKindName(FaultKind kind) {
    switch (kind) {
        case FaultKind::kKillTaskManager:
            return "kill-taskmanager";
        case FaultKind::kFailSubtask:
            return "fail-subtask";
        case FaultKind::kPartitionJobManager:
            return "partition-jobmanager";
        case FaultKind::kPartitionTaskManagers:
            return "partition-taskmanagers";
        case FaultKind::kDropAcknowledgement:
            return "drop-ack";
        case FaultKind::kDropNotification:
            return "drop-notify";
        case FaultKind::kSlowOperator:
            return "slow-operator";
        case FaultKind::kStorageFailure:
            return "storage-failure";
        case FaultKind::kStoreRejectsWrites:
            return "store-rejects-writes";
        case FaultKind::kDeclineCheckpoint:
            return "decline-checkpoint";
    }
    return "?";
}

constexpr FaultKind kAllKinds[] = {
    FaultKind::kKillTaskManager,     FaultKind::kFailSubtask,
    FaultKind::kPartitionJobManager, FaultKind::kPartitionTaskManagers,
    FaultKind::kDropAcknowledgement, FaultKind::kDropNotification,
    FaultKind::kSlowOperator,        FaultKind::kStorageFailure,
    FaultKind::kStoreRejectsWrites,  FaultKind::kDeclineCheckpoint,
};

// The keyed operator of each base scenario, whose subtasks the faults hit.
struct Base {
    const char* file;
    const char* keyed;
    const char* sink;
};

constexpr Base kBases[] = {
    {"scenarios/wordcount.textproto", "count", "sink"},
    {"scenarios/flights.textproto", "hourly-delay", "sink"},
};

// The fault of one cell. The seed moves the fault in time and picks its
// target, so different seeds hit different protocol moments.
scenario::Fault makeFault(FaultKind kind, const Base& base, uint64_t seed) {
    scenario::Fault fault;
    uint64_t at_ms = 1300 + (seed * 577) % 1500;
    fault.mutable_trigger()->set_at_ms(at_ms);
    uint32_t subtask = uint32_t(seed % 2);
    switch (kind) {
        case FaultKind::kKillTaskManager:
            fault.mutable_kill_task_manager()->set_task_manager(uint32_t(seed % 2));
            fault.mutable_kill_task_manager()->set_restart_after_ms(500);
            // After a notification, so the restore uses a checkpoint whose
            // transactions some sink may not have committed yet.
            fault.mutable_trigger()->mutable_phase()->set_phase(scenario::AFTER_NOTIFY);
            fault.mutable_trigger()->mutable_phase()->set_checkpoint_id(int64_t(1 + seed % 2));
            fault.mutable_trigger()->mutable_phase()->set_subtask(-1);
            break;
        case FaultKind::kFailSubtask:
            fault.mutable_fail_subtask()->set_operator_(base.keyed);
            fault.mutable_fail_subtask()->set_subtask(subtask);
            break;
        case FaultKind::kPartitionJobManager:
            fault.mutable_partition_link()->set_from_node(-1);
            fault.mutable_partition_link()->set_to_node(int32_t(seed % 2));
            fault.mutable_partition_link()->set_duration_ms(7000);
            break;
        case FaultKind::kPartitionTaskManagers:
            fault.mutable_partition_link()->set_from_node(0);
            fault.mutable_partition_link()->set_to_node(1);
            fault.mutable_partition_link()->set_duration_ms(2000);
            break;
        case FaultKind::kDropAcknowledgement:
            fault.mutable_control_message()->set_kind(scenario::ACKNOWLEDGE_CHECKPOINT);
            fault.mutable_control_message()->set_drop(true);
            fault.mutable_control_message()->set_count(2);
            break;
        case FaultKind::kDropNotification:
            // The sinks miss notifications; their transactions stay
            // pre-committed until a later checkpoint completes and commits
            // them.
            fault.mutable_control_message()->set_kind(scenario::NOTIFY_CHECKPOINT_COMPLETE);
            fault.mutable_control_message()->set_drop(true);
            fault.mutable_control_message()->set_duration_ms(600);
            break;
        case FaultKind::kSlowOperator:
            fault.mutable_slow_operator()->set_operator_(base.keyed);
            fault.mutable_slow_operator()->set_subtask(int32_t(subtask));
            fault.mutable_slow_operator()->set_factor(20);
            fault.mutable_slow_operator()->set_duration_ms(2000);
            break;
        case FaultKind::kStorageFailure:
            fault.mutable_storage()->set_fail(seed % 2 == 0);
            fault.mutable_storage()->set_slowdown(seed % 2 == 0 ? 1 : 50);
            fault.mutable_storage()->set_duration_ms(2500);
            break;
        case FaultKind::kStoreRejectsWrites:
            fault.mutable_store_reject_writes()->set_sink(base.sink);
            fault.mutable_store_reject_writes()->set_records(20);
            fault.mutable_store_reject_writes()->set_surface_after_ms(150);
            break;
        case FaultKind::kDeclineCheckpoint:
            fault.mutable_decline_checkpoint()->set_operator_(base.keyed);
            fault.mutable_decline_checkpoint()->set_subtask(subtask);
            fault.mutable_trigger()->mutable_phase()->set_phase(scenario::DURING_ALIGNMENT);
            fault.mutable_trigger()->mutable_phase()->set_operator_(base.keyed);
            fault.mutable_trigger()->mutable_phase()->set_subtask(int32_t(subtask));
            fault.mutable_trigger()->mutable_phase()->set_checkpoint_id(2);
            break;
    }
    return fault;
}

LoadedScenario cellScenario(const Base& base, scenario::CheckpointingMode mode,
                            scenario::StateBackendKind backend, FaultKind kind, uint64_t seed) {
    LoadedScenario s = sluice::test::loadScenario(base.file);
    s.proto.set_seed(seed);
    s.proto.clear_faults();
    auto* checkpointing = s.proto.mutable_checkpointing();
    checkpointing->set_mode(mode);
    checkpointing->set_interval_ms(500);
    checkpointing->set_timeout_ms(10000);
    checkpointing->set_aligned_timeout_ms(20);
    checkpointing->set_tolerable_failures(100);
    checkpointing->set_state_backend(backend);
    checkpointing->set_incremental(backend == scenario::ROCKSDB);
    for (auto& op : *s.proto.mutable_job()->mutable_operators()) {
        if (op.has_sink()) {
            op.mutable_sink()->set_kind(scenario::TWO_PHASE_COMMIT);
        }
    }
    s.proto.mutable_failover()->mutable_restart_strategy()->mutable_fixed_delay()->set_attempts(10);
    s.proto.mutable_failover()->mutable_restart_strategy()->mutable_fixed_delay()->set_delay_ms(
        300);
    s.proto.mutable_expect()->set_guarantee(scenario::EXACTLY_ONCE_OUTPUT);
    *s.proto.mutable_faults()->add_fault() = makeFault(kind, base, seed);
    return s;
}

int seedsPerCell() {
    const char* text = std::getenv("SLUICE_RECOVERY_SEEDS");
    int seeds = text ? std::atoi(text) : 1;
    return seeds > 0 ? seeds : 1;
}

}  // namespace

class TstRecovery : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void matrix_data() {
        QTest::addColumn<int>("base");
        QTest::addColumn<int>("mode");
        QTest::addColumn<int>("backend");
        for (int b = 0; b < 2; ++b) {
            for (auto mode :
                 {scenario::EXACTLY_ONCE, scenario::UNALIGNED, scenario::ALIGNED_WITH_TIMEOUT}) {
                for (auto backend : {scenario::HEAP, scenario::ROCKSDB}) {
                    if (backend == scenario::ROCKSDB && mode != scenario::EXACTLY_ONCE &&
                        !std::getenv("SLUICE_RECOVERY_FULL")) {
                        continue;
                    }
                    std::string name = std::string(kBases[b].file) + "/" +
                                       scenario::CheckpointingMode_Name(mode) + "/" +
                                       scenario::StateBackendKind_Name(backend);
                    QTest::newRow(name.c_str()) << b << int(mode) << int(backend);
                }
            }
        }
    }

    // Every fault kind and seed of one (scenario, mode, backend) cell ends
    // with PASS, and the fault fired.
    void matrix() {
        QFETCH(int, base);
        QFETCH(int, mode);
        QFETCH(int, backend);
        int seeds = seedsPerCell();
        // The reference run has no faults, so one per seed serves every kind.
        std::map<uint64_t, std::unique_ptr<Engine>> references;
        for (FaultKind kind : kAllKinds) {
            for (uint64_t seed = 1; seed <= uint64_t(seeds); ++seed) {
                LoadedScenario s = cellScenario(kBases[base], scenario::CheckpointingMode(mode),
                                                scenario::StateBackendKind(backend), kind, seed);
                auto engine = sluice::test::makeEngine(s);
                QVERIFY(engine);
                engine->run();
                QString cell = QString("%1, seed %2").arg(faultKindName(kind)).arg(seed);
                QVERIFY2(!engine->firedFaults().empty(),
                         qPrintable(cell + ": the fault never fired"));
                auto& cached = references[seed];
                if (!cached) {
                    auto built = sluice::sim::referenceEngineFor(*engine);
                    QVERIFY(std::holds_alternative<std::unique_ptr<Engine>>(built));
                    cached = std::move(std::get<std::unique_ptr<Engine>>(built));
                    cached->run();
                }
                Engine& reference = *cached;
                QCOMPARE(reference.runState(), RunState::kFinished);
                auto verdict = sluice::sim::checkRun(*engine, reference);
                QVERIFY2(verdict.pass,
                         qPrintable(cell + ": " + QString::fromStdString(verdict.summary())));
                QVERIFY2(engine->runState() == RunState::kFinished,
                         qPrintable(cell + ": the run ended " +
                                    sluice::sim::runStateName(engine->runState())));
            }
        }
    }

    // A subtask failure restarts the job: the restart count and the
    // recovery time are reported.
    void failureRestartsJob() {
        LoadedScenario s = cellScenario(kBases[0], scenario::EXACTLY_ONCE, scenario::HEAP,
                                        FaultKind::kFailSubtask, 1);
        auto engine = sluice::test::makeEngine(s);
        QVERIFY(engine);
        engine->run();
        QCOMPARE(engine->numRestarts(), 1);
        QCOMPARE(engine->recoveries().size(), size_t(1));
        auto [failed_at, running_at] = engine->recoveries().front();
        QVERIFY(running_at > failed_at);
        // The restart waits for the fixed delay of 300 ms.
        QVERIFY(running_at - failed_at >= 300 * sluice::kNanosPerMilli);
    }

    // Exhausting the restart strategy fails the job with the root cause.
    void exhaustedRestartsFailJob() {
        LoadedScenario s = cellScenario(kBases[0], scenario::EXACTLY_ONCE, scenario::HEAP,
                                        FaultKind::kFailSubtask, 1);
        auto* restart = s.proto.mutable_failover()->mutable_restart_strategy();
        restart->mutable_none();
        auto engine = sluice::test::makeEngine(s);
        QVERIFY(engine);
        engine->run();
        QCOMPARE(engine->runState(), RunState::kFailed);
        QString cause = QString::fromStdString(engine->failureCause());
        QVERIFY2(cause.startsWith("Recovery is suppressed by NoRestartBackoffTimeStrategy"),
                 qPrintable(cause));
        QVERIFY2(cause.contains("injected failure"), qPrintable(cause));
    }

    // Without rewinding sources, records between the checkpoint and the
    // failure are lost, and the checker names a loss.
    void dontRewindSourcesFails() {
        LoadedScenario s = cellScenario(kBases[0], scenario::EXACTLY_ONCE, scenario::HEAP,
                                        FaultKind::kFailSubtask, 1);
        s.proto.mutable_bugs()->set_dont_rewind_sources(true);
        auto engine = sluice::test::makeEngine(s);
        QVERIFY(engine);
        engine->run();
        auto checked = sluice::sim::checkAgainstReference(*engine);
        QVERIFY(std::holds_alternative<sluice::sim::Verdict>(checked));
        const auto& verdict = std::get<sluice::sim::Verdict>(checked);
        QVERIFY(!verdict.pass);
        QVERIFY2(verdict.count(sluice::sim::ViolationKind::kDuplicate) > 0 ||
                     verdict.count(sluice::sim::ViolationKind::kValueMismatch) > 0,
                 verdict.summary().c_str());
    }
};

QTEST_GUILESS_MAIN(TstRecovery)
#include "tst_recovery.moc"
