// The checkpoint queries of the engine protocol against the engine they
// read: the detailed history equals Engine::checkpointHistory field by
// field, the shared-state registry equals Engine::sharedStateRegistry, and
// the export equals what sluice-run writes.

#include "engine_support.h"
#include "proto/engine_protocol.pb.h"
#include "sim/checkpoint_export.h"
#include "sim/checkpoint_queries.h"

#include <QtTest>

#include <algorithm>
#include <map>
#include <sstream>

using namespace sluice;

class TestCheckpointQueries : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void detailsEqualHistory();
    void detailsCarryFailureCause();
    void sharedStateEqualsRegistry();
    void exportEqualsSluiceRunWriters();
    void exportRejectsUnsetFormat();
};

namespace {

void compareSubtask(const SubtaskCheckpointStats& expected,
                    const protocol::CheckpointSubtaskDetail& actual) {
    QCOMPARE(actual.vertex(), expected.vertex);
    QCOMPARE(actual.subtask(), expected.subtask);
    QCOMPARE(actual.acknowledged(), expected.acknowledged);
    QCOMPARE(actual.ack_time_ns(), expected.ack_time_ns);
    QCOMPARE(actual.start_delay_ns(), expected.start_delay_ns);
    QCOMPARE(actual.alignment_duration_ns(), expected.alignment_duration_ns);
    QCOMPARE(actual.sync_duration_ns(), expected.sync_duration_ns);
    QCOMPARE(actual.async_duration_ns(), expected.async_duration_ns);
    QCOMPARE(actual.processed_bytes(), expected.processed_bytes);
    QCOMPARE(actual.persisted_bytes(), expected.persisted_bytes);
    QCOMPARE(actual.unaligned(), expected.unaligned);
    QCOMPARE(actual.state_size_bytes(), expected.state_size_bytes);
    QCOMPARE(actual.incremental_size_bytes(), expected.incremental_size_bytes);
}

void compareCheckpoint(const CheckpointStats& expected, const protocol::CheckpointDetail& actual) {
    QCOMPARE(actual.mark().checkpoint_id(), expected.id);
    QCOMPARE(actual.mark().status(), std::string(checkpointStatusName(expected.status)));
    QCOMPARE(actual.mark().trigger_ns(), expected.trigger_time_ns);
    QCOMPARE(actual.mark().end_ns(), expected.end_time_ns);
    QCOMPARE(actual.mark().savepoint(), expected.savepoint);
    QCOMPARE(actual.mark().failure_cause(), expected.failure_cause);
    QCOMPARE(actual.latest_ack_ns(), expected.latest_ack_ns);
    QCOMPARE(actual.end_to_end_duration_ns(), expected.endToEndDurationNs());
    QCOMPARE(actual.acknowledged_subtasks(), expected.acknowledged_subtasks);
    QCOMPARE(actual.total_subtasks(), expected.total_subtasks);
    QCOMPARE(actual.checkpointed_size_bytes(), expected.checkpointed_size_bytes);
    QCOMPARE(actual.full_size_bytes(), expected.full_size_bytes);
    QCOMPARE(actual.processed_bytes(), expected.processed_bytes);
    QCOMPARE(actual.persisted_bytes(), expected.persisted_bytes);
    QCOMPARE(actual.unaligned(), expected.unaligned);
    QCOMPARE(size_t(actual.subtasks_size()), expected.subtasks.size());
    for (size_t i = 0; i < expected.subtasks.size(); ++i) {
        compareSubtask(expected.subtasks[i], actual.subtasks(int(i)));
    }
}

}  // namespace

void TestCheckpointQueries::detailsEqualHistory() {
    auto engine = test::makeEngine(test::loadScenario("scenarios/aligned-vs-unaligned.textproto"));
    QVERIFY(engine);
    engine->run();
    std::vector<CheckpointStats> history = engine->checkpointHistory();
    QVERIFY(history.size() >= 3);

    std::map<int64_t, uint64_t> trigger_events = {{history[0].id, 42}};
    protocol::CheckpointDetails details = sim::queryCheckpointDetails(*engine, trigger_events);
    QCOMPARE(size_t(details.checkpoints_size()), history.size());
    for (size_t i = 0; i < history.size(); ++i) {
        compareCheckpoint(history[i], details.checkpoints(int(i)));
    }
    QCOMPARE(details.checkpoints(0).mark().trigger_event(), uint64_t(42));
    std::vector<std::string> names = engine->vertexNames();
    QCOMPARE(size_t(details.vertex_names_size()), names.size());
    QCOMPARE(details.vertex_names(0), names[0]);

    // Under backpressure, aligned barriers queue behind in-flight data, so
    // some subtask starts its checkpoint late.
    int64_t max_start_delay_ns = 0;
    for (const auto& checkpoint : details.checkpoints()) {
        for (const auto& subtask : checkpoint.subtasks()) {
            max_start_delay_ns = std::max(max_start_delay_ns, subtask.start_delay_ns());
        }
    }
    QVERIFY(max_start_delay_ns > kNanosPerSecond);
}

void TestCheckpointQueries::detailsCarryFailureCause() {
    auto engine = test::makeEngine(test::loadScenario("scenarios/aligned-vs-unaligned.textproto"));
    QVERIFY(engine);
    engine->run();
    protocol::CheckpointDetails details = sim::queryCheckpointDetails(*engine, {});
    int failed = 0;
    for (const auto& checkpoint : details.checkpoints()) {
        if (checkpoint.mark().status() == "FAILED") {
            ++failed;
            QVERIFY(!checkpoint.mark().failure_cause().empty());
        }
    }
    QVERIFY(failed > 0);
}

void TestCheckpointQueries::sharedStateEqualsRegistry() {
    auto engine = test::makeEngine(test::loadScenario("scenarios/rocksdb-incremental.textproto"));
    QVERIFY(engine);
    engine->runUntilTime(8 * kNanosPerSecond);
    auto entries = engine->sharedStateRegistry().entries();
    QVERIFY(!entries.empty());

    protocol::CheckpointSharedState state = sim::queryCheckpointSharedState(*engine);
    QCOMPARE(size_t(state.files_size()), entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
        const auto& file = state.files(int(i));
        QCOMPARE(file.key(), entries[i].key);
        QCOMPARE(file.path(), entries[i].path);
        QCOMPARE(file.size_bytes(), entries[i].size_bytes);
        QCOMPARE(file.reference_count(), entries[i].reference_count);
        std::vector<int64_t> ids(file.checkpoint_ids().begin(), file.checkpoint_ids().end());
        QCOMPARE(ids, entries[i].checkpoint_ids);
        QCOMPARE(size_t(file.reference_count()), ids.size());
    }
}

void TestCheckpointQueries::exportEqualsSluiceRunWriters() {
    auto engine = test::makeEngine(test::loadScenario("scenarios/flights.textproto"));
    QVERIFY(engine);
    engine->runUntilTime(10 * kNanosPerSecond);
    QVERIFY(!engine->checkpointHistory().empty());

    std::ostringstream csv;
    sim::writeCheckpointsCsv(csv, engine->checkpointHistory(), engine->vertexNames());
    protocol::CheckpointExportQuery query;
    query.set_format(protocol::CheckpointExportQuery::CSV);
    protocol::CheckpointExport result;
    QCOMPARE(sim::queryCheckpointExport(*engine, query, &result), std::string());
    QCOMPARE(result.data(), csv.str());

    std::ostringstream json;
    sim::writeCheckpointsJson(json, engine->checkpointHistory(), engine->vertexNames());
    query.set_format(protocol::CheckpointExportQuery::JSON);
    QCOMPARE(sim::queryCheckpointExport(*engine, query, &result), std::string());
    QCOMPARE(result.data(), json.str());
}

void TestCheckpointQueries::exportRejectsUnsetFormat() {
    auto engine = test::makeEngine(test::loadScenario("scenarios/wordcount.textproto"));
    QVERIFY(engine);
    protocol::CheckpointExport result;
    std::string error = sim::queryCheckpointExport(*engine, {}, &result);
    QVERIFY2(error.find("expected CSV or JSON") != std::string::npos, error.c_str());
    QVERIFY(result.data().empty());
}

QTEST_GUILESS_MAIN(TestCheckpointQueries)
#include "tst_checkpoint_queries.moc"
