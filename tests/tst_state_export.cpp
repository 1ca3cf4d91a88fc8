// Update times of checkpointed keyed state and the keyed-state CSV export.
//
// Snapshots store no update times; the engine keeps them at each snapshot
// for the state inspector. These tests compare them with the live state at
// the instant of the snapshot, and the CSV with the rows read from the
// checkpoint.

// The engine headers come before Qt's: Qt defines emit and slots as macros.
#include "engine_support.h"
#include "sim/engine_queries.h"
#include "sim/state_checkpoint_reader.h"
#include "sim/state_export.h"
#include "sim/state_inspector_queries.h"

#include <QtTest>

#include <map>
#include <sstream>
#include <string>
#include <tuple>

using namespace sluice;

namespace {

// Flights' windows hold state until its input ends at about 10 s. By 8 s
// the job has restarted after its failure and completed several checkpoints.
constexpr int64_t kFlightsUntilMs = 8000;
// quietAggregate() has completed two checkpoints by this time.
constexpr int64_t kAggregateUntilMs = 6500;

using RowKey = std::tuple<std::string, int, std::string>;  // state, key group, key

RowKey keyOf(const protocol::StateRow& row) {
    return {row.state_name(), row.key_group(), row.key()};
}

std::vector<protocol::StateRow> checkpointRows(const sim::Engine& engine, int64_t id, int vertex) {
    auto read = sim::readCheckpointState(engine, id, vertex);
    if (auto* error = std::get_if<std::string>(&read)) {
        qWarning("%s", error->c_str());
        return {};
    }
    return std::get<std::vector<protocol::StateRow>>(read);
}

// A scenario cut to `until_ms` that retains its last two checkpoints.
sim::LoadedScenario twoRetained(const std::string& path, int64_t until_ms) {
    sim::LoadedScenario loaded = test::loadScenario(path);
    loaded.proto.mutable_run()->set_until_ms(uint64_t(until_ms));
    loaded.proto.mutable_checkpointing()->set_retained(2);
    return loaded;
}

// aligned-vs-unaligned without its backpressure: a heap SUM over 5,000
// keys fed 2,000 records per second, checkpointed every second, so some
// keys change between two checkpoints and others do not.
sim::LoadedScenario quietAggregate() {
    sim::LoadedScenario loaded =
        twoRetained("scenarios/aligned-vs-unaligned.textproto", kAggregateUntilMs);
    auto* job = loaded.proto.mutable_job();
    job->mutable_operators(0)->mutable_generator()->set_rate_per_second(2000);
    job->mutable_operators(1)->mutable_cost()->set_ns_per_record(1000);
    loaded.proto.mutable_checkpointing()->set_interval_ms(1000);
    return loaded;
}

}  // namespace

class TestStateExport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void updateTimesEqualLiveStateAtSnapshot_data();
    void updateTimesEqualLiveStateAtSnapshot();
    void unchangedEntriesKeepTheirValue();
    void diffListsUnchangedOnRequest();
    void csvHoldsEveryCheckpointRow();
    void csvLeavesUnknownTimesEmpty();
    void csvNamesRetainedCheckpoints();
};

void TestStateExport::updateTimesEqualLiveStateAtSnapshot_data() {
    QTest::addColumn<bool>("rocksdb");
    QTest::newRow("heap") << false;
    QTest::newRow("rocksdb-incremental") << true;
}

// The last update of every checkpointed entry equals the live entry's at
// the instant its subtask took the snapshot, for heap and RocksDB (whose
// entries outside the cache show 0 in both).
void TestStateExport::updateTimesEqualLiveStateAtSnapshot() {
    QFETCH(bool, rocksdb);
    sim::EngineOptions options;
    options.keep_snapshot_update_times = true;
    // 2.5 s of rocksdb-incremental retain two checkpoints of about 250,000 keys.
    auto engine = test::makeEngine(
        rocksdb ? twoRetained("scenarios/rocksdb-incremental.textproto", 2500) : quietAggregate(),
        options);
    QVERIFY(engine);
    int vertex = test::keyedVertex(*engine);
    QVERIFY(vertex >= 0);
    // (checkpoint, subtask) to the live update times at the snapshot.
    std::map<std::pair<int64_t, int>, std::map<RowKey, int64_t>> live;
    engine->addProtocolObserver([&](const ProtocolEvent& event) {
        if (event.phase != ProtocolPhase::kAfterSyncSnapshot || event.vertex != vertex) {
            return;
        }
        auto& times = live[{event.checkpoint_id, event.subtask}];
        for (const auto& row : sim::liveStateRows(*engine, vertex, event.subtask, {})) {
            times[keyOf(row)] = row.last_update_ns();
        }
    });
    engine->run();
    QCOMPARE(engine->retainedCheckpoints().size(), size_t(2));

    size_t compared = 0;
    size_t with_time = 0;
    for (int64_t id : engine->retainedCheckpoints()) {
        for (const auto& row : checkpointRows(*engine, id, vertex)) {
            auto at_snapshot = live.find({id, row.subtask()});
            QVERIFY(at_snapshot != live.end());
            auto time = at_snapshot->second.find(keyOf(row));
            QVERIFY2(time != at_snapshot->second.end(), row.key().c_str());
            QCOMPARE(row.last_update_ns(), time->second);
            const auto* update_times = engine->snapshotUpdateTimes(id, vertex, row.subtask());
            QVERIFY(update_times);
            QVERIFY(row.last_update_ns() <= update_times->snapshot_ns);
            QCOMPARE(row.changed_since_checkpoint(),
                     row.last_update_ns() > 0 &&
                         row.last_update_ns() > update_times->previous_snapshot_ns);
            ++compared;
            with_time += row.last_update_ns() > 0;
        }
    }
    QVERIFY(compared > 1000);
    // Every key was written in this run, so each has an update time, also
    // RocksDB keys that were evicted from the cache before the snapshot.
    QCOMPARE(with_time, compared);
}

// Between two consecutive checkpoints, an entry whose value differs is
// flagged as changed, and an entry not flagged kept its value.
void TestStateExport::unchangedEntriesKeepTheirValue() {
    sim::EngineOptions options;
    options.keep_snapshot_update_times = true;
    auto engine = test::makeEngine(quietAggregate(), options);
    QVERIFY(engine);
    engine->run();
    int vertex = test::keyedVertex(*engine);
    const auto& retained = engine->retainedCheckpoints();
    QCOMPARE(retained.size(), size_t(2));
    QCOMPARE(retained[1], retained[0] + 1);
    std::map<std::pair<RowKey, int>, std::string> before;
    for (const auto& row : checkpointRows(*engine, retained[0], vertex)) {
        before[{keyOf(row), row.subtask()}] = row.value();
    }
    int changed = 0;
    int unchanged = 0;
    for (const auto& row : checkpointRows(*engine, retained[1], vertex)) {
        auto old = before.find({keyOf(row), row.subtask()});
        if (old == before.end() || old->second != row.value()) {
            QVERIFY2(row.changed_since_checkpoint(), row.key().c_str());
        }
        if (row.changed_since_checkpoint()) {
            ++changed;
        } else {
            QVERIFY2(old != before.end() && old->second == row.value(), row.key().c_str());
            ++unchanged;
        }
    }
    QVERIFY(changed > 0);
    QVERIFY(unchanged > 0);
}

// With include_unchanged the diff lists every entry of both sides, and its
// differing rows are exactly the plain diff's.
void TestStateExport::diffListsUnchangedOnRequest() {
    auto engine = test::makeEngine(quietAggregate());
    QVERIFY(engine);
    engine->run();
    const auto& retained = engine->retainedCheckpoints();
    QCOMPARE(retained.size(), size_t(2));
    protocol::StateQueryDiff query;
    query.set_vertex(test::keyedVertex(*engine));
    query.set_subtask(-1);
    query.set_from_checkpoint_id(retained[0]);
    query.set_to_checkpoint_id(retained[1]);
    query.set_limit(100000);
    sim::CheckpointStateCache cache;
    sim::StateDiffCache diffs;
    protocol::StateDiffPage plain;
    QCOMPARE(sim::queryStateDiff(*engine, query, cache, diffs, &plain), std::string());
    query.set_include_unchanged(true);
    protocol::StateDiffPage all;
    QCOMPARE(sim::queryStateDiff(*engine, query, cache, diffs, &all), std::string());

    size_t keys = checkpointRows(*engine, retained[1], query.vertex()).size();
    size_t removed = 0;
    std::vector<protocol::StateDiffRow> differing;
    for (const auto& row : all.rows()) {
        removed += row.change() == protocol::StateDiffRow::REMOVED;
        if (row.change() == protocol::StateDiffRow::UNCHANGED) {
            QCOMPARE(row.old_value(), row.new_value());
        } else {
            differing.push_back(row);
        }
    }
    QCOMPARE(all.total(), uint64_t(keys + removed));
    QCOMPARE(all.differing(), uint64_t(differing.size()));
    QCOMPARE(plain.total(), uint64_t(differing.size()));
    QCOMPARE(plain.differing(), plain.total());
    QVERIFY(all.total() > plain.total());
    for (size_t i = 0; i < differing.size(); ++i) {
        QCOMPARE(differing[i].SerializeAsString(), plain.rows(int(i)).SerializeAsString());
    }
}

// The CSV has a row for every entry of every task in the checkpoint, with
// its value and update time.
void TestStateExport::csvHoldsEveryCheckpointRow() {
    sim::EngineOptions options;
    options.keep_snapshot_update_times = true;
    auto engine = test::makeEngine(quietAggregate(), options);
    QVERIFY(engine);
    engine->run();
    int64_t id = engine->retainedCheckpoints().back();

    std::ostringstream out;
    QCOMPARE(sim::writeKeyedStateCsv(out, *engine, 0), std::string());
    std::istringstream in(out.str());
    std::string line;
    std::getline(in, line);
    QCOMPARE(line, std::string("checkpoint_id,task,subtask,key_group,state_name,key,value,"
                               "last_update_ms,changed_since_previous_checkpoint,outside_owner"));
    std::vector<std::string> lines;
    while (std::getline(in, line)) {
        lines.push_back(line);
    }

    std::vector<std::string> names = engine->vertexNames();
    size_t next = 0;
    for (size_t vertex = 0; vertex < names.size(); ++vertex) {
        for (const auto& row : checkpointRows(*engine, id, int(vertex))) {
            QVERIFY(next < lines.size());
            QStringList fields = QString::fromStdString(lines[next++]).split(',');
            // The keys and sums hold no commas.
            QCOMPARE(fields.size(), 10);
            QCOMPARE(fields[0].toLongLong(), id);
            QCOMPARE(fields[1].toStdString(), names[vertex]);
            QCOMPARE(fields[2].toInt(), row.subtask());
            QCOMPARE(fields[3].toInt(), row.key_group());
            QCOMPARE(fields[5].toStdString(), row.key());
            QCOMPARE(fields[6].toStdString(), row.value());
            QCOMPARE(qRound64(fields[7].toDouble() * 1000), qRound64(row.last_update_ns() / 1e3));
            QCOMPARE(fields[8] == QStringLiteral("true"), row.changed_since_checkpoint());
        }
    }
    QVERIFY(next > 1000);
    QCOMPARE(next, lines.size());
}

// Without kept update times the CSV leaves both columns empty, not "false".
void TestStateExport::csvLeavesUnknownTimesEmpty() {
    auto engine = test::makeEngine(quietAggregate());
    QVERIFY(engine);
    engine->run();
    std::ostringstream out;
    QCOMPARE(sim::writeKeyedStateCsv(out, *engine, 0), std::string());
    std::istringstream in(out.str());
    std::string line;
    std::getline(in, line);
    int rows = 0;
    while (std::getline(in, line)) {
        QVERIFY2(QString::fromStdString(line).endsWith(QStringLiteral(",,,false")), line.c_str());
        ++rows;
    }
    QVERIFY(rows > 1000);
}

void TestStateExport::csvNamesRetainedCheckpoints() {
    auto engine = test::makeEngine(twoRetained("scenarios/flights.textproto", kFlightsUntilMs));
    QVERIFY(engine);
    std::ostringstream early;
    QVERIFY(sim::writeKeyedStateCsv(early, *engine, 0).find("no retained checkpoint") !=
            std::string::npos);
    engine->run();
    const auto& retained = engine->retainedCheckpoints();
    std::ostringstream out;
    std::string error = sim::writeKeyedStateCsv(out, *engine, 1);
    std::string expected =
        "(retained: " + std::to_string(retained[0]) + ", " + std::to_string(retained[1]) + ")";
    QVERIFY2(error.find(expected) != std::string::npos, error.c_str());
    QVERIFY(out.str().empty());
}

QTEST_GUILESS_MAIN(TestStateExport)
#include "tst_state_export.moc"
