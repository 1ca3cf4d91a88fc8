// Region failover: a failure restarts only the pipelined regions of the
// failed tasks, the other regions keep running, and the committed output
// stays exactly-once.

#include "engine_support.h"
#include "sim/run_check.h"

#include <QtTest>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using sluice::sim::Engine;
using sluice::sim::LoadedScenario;
using sluice::sim::RunState;
namespace scenario = sluice::scenario;

namespace {

const char* const kScenario = "scenarios/region-failover.textproto";

// Attempt of every live task, by (vertex, subtask).
std::map<std::pair<int, int>, int64_t> attempts(const Engine& engine) {
    std::map<std::pair<int, int>, int64_t> result;
    for (const auto* task : engine.tasks()) {
        result[{task->id().vertex, task->id().subtask}] = task->attempt();
    }
    return result;
}

// Runs `engine` and its failure-free reference, and returns the verdict.
sluice::sim::Verdict runAndCheck(Engine& engine) {
    engine.run();
    auto checked = sluice::sim::checkAgainstReference(engine);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&checked)) {
        qFatal("the reference did not build: %s", error->format().c_str());
    }
    return std::get<sluice::sim::Verdict>(checked);
}

}  // namespace

class TstRegionFailover : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Only the two tasks of region 2 restart; the other regions stay on
    // their first attempt, and the output is exactly-once.
    void failureRestartsOnlyItsRegion() {
        auto engine = sluice::test::makeEngine(sluice::test::loadScenario(kScenario));
        QVERIFY(engine);
        const auto verdict = runAndCheck(*engine);
        QVERIFY2(verdict.pass, verdict.summary().c_str());
        QCOMPARE(engine->runState(), RunState::kFinished);
        QCOMPARE(engine->numRestarts(), 1);
        const auto attempt = attempts(*engine);
        QCOMPARE(attempt.size(), size_t(8));
        for (const auto& [task, value] : attempt) {
            const int64_t expected = task.second == 2 ? 1 : 0;
            QVERIFY2(value == expected, qPrintable(QStringLiteral("vertex %1 subtask %2: %3")
                                                       .arg(task.first)
                                                       .arg(task.second)
                                                       .arg(value)));
        }
        QCOMPARE(engine->recoveries().size(), size_t(1));
        const auto [failed_at, running_at] = engine->recoveries().front();
        QVERIFY(running_at - failed_at >= 1000 * sluice::kNanosPerMilli);
    }

    // The full strategy restarts every task for the same failure, and so
    // does region failover once an all-to-all edge joins every subtask into
    // one region.
    void wholeJobRestarts_data() {
        QTest::addColumn<bool>("full_strategy");
        QTest::addColumn<bool>("all_to_all_edge");
        QTest::newRow("full strategy") << true << false;
        QTest::newRow("all-to-all edge") << false << true;
    }

    void wholeJobRestarts() {
        QFETCH(bool, full_strategy);
        QFETCH(bool, all_to_all_edge);
        LoadedScenario s = sluice::test::loadScenario(kScenario);
        if (full_strategy) {
            s.proto.mutable_failover()->set_strategy(scenario::FULL);
        }
        if (all_to_all_edge) {
            s.proto.mutable_job()->mutable_edges(1)->set_partitioning(scenario::REBALANCE);
        }
        auto engine = sluice::test::makeEngine(s);
        QVERIFY(engine);
        const auto verdict = runAndCheck(*engine);
        QVERIFY2(verdict.pass, verdict.summary().c_str());
        for (const auto& [task, value] : attempts(*engine)) {
            QCOMPARE(value, int64_t(1));
        }
    }

    // A lost TaskManager restarts the regions of the tasks it ran: with two
    // slots per TaskManager, TaskManager 1 runs subtasks 2 and 3.
    void lostTaskManagerRestartsItsRegions() {
        LoadedScenario s = sluice::test::loadScenario(kScenario);
        auto* fault = s.proto.mutable_faults()->mutable_fault(0);
        fault->mutable_kill_task_manager()->set_task_manager(1);
        fault->mutable_kill_task_manager()->set_restart_after_ms(2000);
        auto engine = sluice::test::makeEngine(s);
        QVERIFY(engine);
        const auto verdict = runAndCheck(*engine);
        QVERIFY2(verdict.pass, verdict.summary().c_str());
        QCOMPARE(engine->numRestarts(), 1);
        for (const auto& [task, value] : attempts(*engine)) {
            QCOMPARE(value, int64_t(task.second >= 2 ? 1 : 0));
        }
    }

    // A restarted source that ignores its checkpointed offset reads its
    // partition again from the start, and the checker names the duplicates.
    void dontRewindSourcesFails() {
        LoadedScenario s = sluice::test::loadScenario(kScenario);
        s.proto.mutable_bugs()->set_dont_rewind_sources(true);
        auto engine = sluice::test::makeEngine(s);
        QVERIFY(engine);
        const auto verdict = runAndCheck(*engine);
        QVERIFY2(!verdict.pass, verdict.summary().c_str());
        QVERIFY2(verdict.count(sluice::sim::ViolationKind::kDuplicate) > 0,
                 verdict.summary().c_str());
    }
};

QTEST_GUILESS_MAIN(TstRegionFailover)
#include "tst_region_failover.moc"
