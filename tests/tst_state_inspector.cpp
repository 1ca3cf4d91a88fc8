// The keyed-state inspector: keyed state read from completed checkpoints
// (heap and incremental RocksDB snapshots), diffs between checkpoints and
// across a failure, engine-side paging, and the GUI's lazy model and dock
// over the engine protocol.
//
// The expected state is decoded here from the checkpoint's files with the
// scenario's own serializers, in a second engine run of the same scenario
// and seed, which a deterministic engine makes identical to the served one.

// The engine headers come before Qt's: Qt defines emit and slots as macros.
#include "engine_support.h"
#include "gui_test_support.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/operators/aggregates.h"
#include "runtime/state/state_snapshot_format.h"
#include "sim/engine_queries.h"
#include "sim/live_state_cache.h"
#include "sim/state_inspector_queries.h"
#include "ui/keyed_state_model.h"
#include "ui/state_inspector_dock.h"

#include <google/protobuf/text_format.h>

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QLabel>
#include <QLineEdit>
#include <QMainWindow>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <map>
#include <set>
#include <tuple>

using namespace sluice;

namespace {

constexpr int kWaitMs = 60000;

// A short run: 2.5 s of the 25 s scenario still retains two incremental
// checkpoints with about 250 000 keys.
constexpr int64_t kRocksDbUntilMs = 2500;

struct Setup {
    std::string path;
    int64_t until_ms = 0;  // 0: the scenario's own
};

sim::LoadedScenario loadShortened(const Setup& setup) {
    sim::LoadedScenario loaded = test::loadScenario(setup.path);
    if (setup.until_ms > 0) {
        loaded.proto.mutable_run()->set_until_ms(uint64_t(setup.until_ms));
    }
    return loaded;
}

using RowKey = std::tuple<std::string, int, std::string, int>;  // state, key group, key, subtask

RowKey keyOf(const protocol::StateRow& row) {
    return {row.state_name(), row.key_group(), row.key(), row.subtask()};
}

// Entries of one checkpoint and vertex decoded straight from its files:
// display values of the accumulators of each key, in file order.
std::map<RowKey, std::vector<std::string>> decodeFiles(const sim::Engine& engine, int64_t id,
                                                       int vertex, const QString& scratch) {
    auto [metadata, storage] = engine.retainedCheckpoint(id);
    std::map<RowKey, std::vector<std::string>> entries;
    if (!metadata) {
        return entries;
    }
    auto key_serializer = serializerFor<std::string>();
    AccumulatorSerializer acc_serializer;
    for (const auto& subtask : metadata->subtask_states()) {
        if (subtask.vertex() != vertex) {
            continue;
        }
        for (const auto& handle : subtask.keyed_state()) {
            KeyGroupRange range{handle.key_group_first(), handle.key_group_last()};
            state_format::readHandleEntries(
                handle, *storage, range, std::filesystem::path(scratch.toStdString()),
                [&](const std::string& state, const std::string&, int key_group,
                    std::string_view key, std::string_view, std::string_view value) {
                    std::string key_text;
                    ByteReader key_in(key);
                    state_format::readSerialized(*key_serializer, key_in, key_text);
                    Accumulator acc{};
                    ByteReader value_in(value);
                    state_format::readSerialized(acc_serializer, value_in, acc);
                    entries[{state, key_group, key_text, handle.subtask()}].push_back(
                        acc_serializer.toDisplayString(acc));
                });
        }
    }
    return entries;
}

// A direct engine run of `setup` to its end.
std::unique_ptr<sim::Engine> runDirect(const Setup& setup) {
    auto engine = test::makeEngine(loadShortened(setup));
    if (engine) {
        engine->run();
    }
    return engine;
}

protocol::Reply callServed(test::ServedEngine& served, protocol::Request request);

// The served engine of the GUI, loaded with `setup` and run to its end.
class ServedRun {
public:
    explicit ServedRun(const Setup& setup) {
        if (!served.error.isEmpty()) {
            return;
        }
        std::string text;
        google::protobuf::TextFormat::PrintToString(loadShortened(setup).proto, &text);
        served.session->loadScenario(QString::fromStdString(test::sourcePath(setup.path)),
                                     QString::fromStdString(text));
        QSignalSpy graph(served.session.get(), &ui::EngineSession::jobGraphChanged);
        graph.wait(kWaitMs);
        served.session->setSpeed(0);
        served.session->play();
    }

    bool waitForEnd() {
        QElapsedTimer timer;
        timer.start();
        auto over = [this] {
            auto state = served.session->status().run_state();
            return state == protocol::FINISHED || state == protocol::TIME_LIMIT ||
                   state == protocol::FAILED || state == protocol::STALLED;
        };
        while (!over() && timer.elapsed() < kWaitMs) {
            QTest::qWait(20);
        }
        return over();
    }

    protocol::Reply call(protocol::Request request) {
        return callServed(served, std::move(request));
    }

    protocol::Reply checkpointPage(int64_t id, int vertex, uint32_t offset, uint32_t limit,
                                   protocol::QueryKeyedState::SortColumn sort, bool descending,
                                   int subtask = -1, const std::string& key_filter = {}) {
        protocol::Request request;
        auto* query = request.mutable_query_keyed_state();
        query->set_vertex(vertex);
        query->set_subtask(subtask);
        query->set_key_filter(key_filter);
        query->set_checkpoint_id(id);
        query->set_offset(offset);
        query->set_limit(limit);
        query->set_sort(sort);
        query->set_descending(descending);
        return call(std::move(request));
    }

    protocol::StateSources sources() {
        protocol::Request request;
        request.mutable_state_query_sources();
        return call(std::move(request)).state_sources();
    }

    test::ServedEngine served;
};

// Loads the page of `row` in `model` and waits for it.
bool loadRow(ui::KeyedStateModel& model, int row) {
    model.data(model.index(row, 0));
    QElapsedTimer timer;
    timer.start();
    while (!model.isRowLoaded(row) && timer.elapsed() < kWaitMs) {
        QTest::qWait(5);
    }
    return model.isRowLoaded(row);
}

bool waitLoaded(ui::KeyedStateModel& model) {
    QElapsedTimer timer;
    timer.start();
    while (!model.loaded() && timer.elapsed() < kWaitMs) {
        QTest::qWait(5);
    }
    return model.loaded();
}

// Wordcount with a checkpoint every 200 ms, so that some keys are unchanged
// since the latest checkpoint and others not.
sim::LoadedScenario checkpointedWordcount() {
    sim::LoadedScenario loaded = test::loadScenario("scenarios/wordcount.textproto");
    loaded.proto.mutable_checkpointing()->set_mode(scenario::EXACTLY_ONCE);
    loaded.proto.mutable_checkpointing()->set_interval_ms(200);
    return loaded;
}

protocol::QueryKeyedState liveQuery(int vertex, protocol::QueryKeyedState::SortColumn sort,
                                    bool descending, uint32_t offset, uint32_t limit) {
    protocol::QueryKeyedState query;
    query.set_vertex(vertex);
    query.set_subtask(-1);
    query.set_sort(sort);
    query.set_descending(descending);
    query.set_offset(offset);
    query.set_limit(limit);
    return query;
}

// Live queries of every kind the cache serves differently: each sort
// column and direction, pages in the middle and past the end, the default
// limit, and the filters alone and combined.
std::vector<protocol::QueryKeyedState> liveQueries(int vertex) {
    using Sort = protocol::QueryKeyedState;
    std::vector<protocol::QueryKeyedState> queries = {
        liveQuery(vertex, Sort::SORT_KEY, false, 0, 50),
        liveQuery(vertex, Sort::SORT_KEY, true, 100, 50),
        liveQuery(vertex, Sort::SORT_VALUE, true, 0, 100),
        liveQuery(vertex, Sort::SORT_VALUE, false, 300, 100),
        liveQuery(vertex, Sort::SORT_KEY_GROUP, false, 10, 40),
        liveQuery(vertex, Sort::SORT_KEY_GROUP, true, 0, 40),
        liveQuery(vertex, Sort::SORT_STATE_NAME, false, 0, 0),
        liveQuery(vertex, Sort::SORT_KEY, false, 1u << 20, 10),
    };
    auto filtered = liveQuery(vertex, Sort::SORT_VALUE, true, 0, 60);
    filtered.set_key_filter("word-1");
    queries.push_back(filtered);
    auto subtask = liveQuery(vertex, Sort::SORT_VALUE, false, 5, 60);
    subtask.set_subtask(1);
    queries.push_back(subtask);
    auto changed = liveQuery(vertex, Sort::SORT_KEY, false, 0, 80);
    changed.set_changed_only(true);
    queries.push_back(changed);
    auto combined = liveQuery(vertex, Sort::SORT_KEY_GROUP, true, 0, 80);
    combined.set_subtask(0);
    combined.set_key_filter("word-2");
    combined.set_changed_only(true);
    queries.push_back(combined);
    auto none = liveQuery(vertex, Sort::SORT_KEY, false, 0, 10);
    none.set_key_filter("no-such-key");
    queries.push_back(none);
    return queries;
}

// The page `query` requests, collected and sorted without a cache.
protocol::KeyedStatePage uncachedPage(const sim::Engine& engine,
                                      const protocol::QueryKeyedState& query) {
    std::vector<protocol::StateRow> rows = sim::liveStateRows(
        engine, query.vertex(), query.subtask(), query.key_filter(), query.changed_only());
    sim::sortStateRows(&rows, query.sort(), query.descending());
    protocol::KeyedStatePage page;
    page.set_total(rows.size());
    page.set_offset(query.offset());
    size_t limit = query.limit() == 0 ? 1000 : query.limit();
    for (size_t i = query.offset(); i < rows.size() && i < query.offset() + limit; ++i) {
        *page.add_rows() = rows[i];
    }
    return page;
}

// Compares two pages row by row, naming the query and the first row that
// differs. Callers check QTest::currentTestFailed() afterwards.
void comparePages(const protocol::KeyedStatePage& actual, const protocol::KeyedStatePage& expected,
                  const protocol::QueryKeyedState& query) {
    std::string where = "query { " + query.ShortDebugString() + " }: ";
    QVERIFY2(actual.total() == expected.total(),
             (where + "total " + std::to_string(actual.total()) + ", expected " +
              std::to_string(expected.total()))
                 .c_str());
    QVERIFY2(actual.offset() == expected.offset(), (where + "offset differs").c_str());
    QVERIFY2(actual.rows_size() == expected.rows_size(),
             (where + std::to_string(actual.rows_size()) + " rows, expected " +
              std::to_string(expected.rows_size()))
                 .c_str());
    for (int i = 0; i < actual.rows_size(); ++i) {
        std::string got = actual.rows(i).ShortDebugString();
        std::string want = expected.rows(i).ShortDebugString();
        QVERIFY2(got == want, (where + "row " + std::to_string(i) + " is { " + got +
                               " }, expected { " + want + " }")
                                  .c_str());
    }
}

// The page of the diff from checkpoint `from` to the live state at `offset`,
// through `diffs`, as a text that names every row.
std::string liveDiffPage(const sim::Engine& engine, int vertex, int64_t from, uint32_t offset,
                         sim::CheckpointStateCache& checkpoints, sim::StateDiffCache& diffs) {
    protocol::StateQueryDiff query;
    query.set_vertex(vertex);
    query.set_subtask(-1);
    query.set_from_checkpoint_id(from);
    query.set_to_checkpoint_id(0);
    query.set_offset(offset);
    query.set_limit(100);
    protocol::StateDiffPage page;
    std::string error = sim::queryStateDiff(engine, query, checkpoints, diffs, &page);
    return error.empty() ? page.DebugString() : "error: " + error;
}

// Sends one request to a served engine and waits for its reply.
protocol::Reply callServed(test::ServedEngine& served, protocol::Request request) {
    protocol::Reply result;
    bool done = false;
    served.session->request(std::move(request), [&](const protocol::Reply& reply) {
        result = reply;
        done = true;
    });
    QElapsedTimer timer;
    timer.start();
    while (!done && timer.elapsed() < kWaitMs) {
        QTest::qWait(5);
    }
    return result;
}

}  // namespace

class TstStateInspector : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void checkpointMatchesFiles_data();
    void checkpointMatchesFiles();
    void checkpointDiffMatchesDirect();
    void pagingSortedAndConsistent();
    void failureDiffMatchesDirect();
    void unknownCheckpointRejected();
    void liveCacheNeverStale();
    void servedLiveStateFollowsMoves();
    void diffCacheNeverStale();
    void dockShowsKeyedOperators();
    void dockBehindTabQueriesNothing();
};

void TstStateInspector::checkpointMatchesFiles_data() {
    QTest::addColumn<QString>("path");
    QTest::addColumn<qint64>("until_ms");
    QTest::addRow("rocksdb-incremental")
        << "scenarios/rocksdb-incremental.textproto" << qint64(kRocksDbUntilMs);
    // Before its TaskManager kill at 3 s and before the windows fire empty.
    QTest::addRow("flights heap") << "scenarios/flights.textproto" << qint64(2900);
}

void TstStateInspector::checkpointMatchesFiles() {
    QFETCH(QString, path);
    QFETCH(qint64, until_ms);
    Setup setup{path.toStdString(), until_ms};
    auto direct = runDirect(setup);
    QVERIFY(direct);
    QVERIFY(!direct->retainedCheckpoints().empty());
    int64_t id = direct->retainedCheckpoints().back();
    int vertex = test::keyedVertex(*direct);
    QVERIFY(vertex >= 0);
    QTemporaryDir scratch;
    auto expected = decodeFiles(*direct, id, vertex, scratch.filePath("scratch"));
    QVERIFY(!expected.empty());

    ServedRun run(setup);
    QVERIFY2(run.served.error.isEmpty(), qPrintable(run.served.error));
    QVERIFY(run.waitForEnd());
    protocol::StateSources sources = run.sources();
    QVERIFY(sources.retained_checkpoint_ids_size() > 0);
    QCOMPARE(sources.retained_checkpoint_ids(sources.retained_checkpoint_ids_size() - 1), id);

    // Every row of the checkpoint through the protocol, in one page.
    protocol::Reply all = run.checkpointPage(id, vertex, 0, uint32_t(expected.size()) + 10,
                                             protocol::QueryKeyedState::SORT_KEY_GROUP, false);
    QCOMPARE(all.error(), std::string());
    QCOMPARE(all.keyed_state().total(), uint64_t(expected.size()));
    QCOMPARE(size_t(all.keyed_state().rows_size()), expected.size());
    for (const auto& row : all.keyed_state().rows()) {
        auto it = expected.find(keyOf(row));
        QVERIFY2(it != expected.end(), row.key().c_str());
        for (const std::string& value : it->second) {
            QVERIFY2(row.value().find(value) != std::string::npos,
                     (row.key() + ": " + row.value() + " lacks " + value).c_str());
        }
        QVERIFY(!row.outside_owner());
    }

    // The model pages the same rows.
    ui::KeyedStateModel model(run.served.session.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ui::KeyedStateModel::Query query;
    query.mode = ui::KeyedStateModel::Mode::kCheckpoint;
    query.vertex = vertex;
    query.checkpoint_id = id;
    model.sort(ui::KeyedStateModel::kKeyGroupColumn, Qt::AscendingOrder);
    model.setQuery(query);
    QVERIFY(waitLoaded(model));
    QCOMPARE(model.rowCount(), int(expected.size()));
    for (int row : {0, model.rowCount() / 2, model.rowCount() - 1}) {
        QVERIFY(loadRow(model, row));
        const auto& want = all.keyed_state().rows(row);
        QCOMPARE(model.data(model.index(row, ui::KeyedStateModel::kKeyColumn)).toString(),
                 QString::fromStdString(want.key()));
        QCOMPARE(model.data(model.index(row, ui::KeyedStateModel::kValueColumn)).toString(),
                 QString::fromStdString(want.value()));
        QCOMPARE(model.data(model.index(row, ui::KeyedStateModel::kSubtaskColumn)).toInt(),
                 want.subtask());
    }
}

void TstStateInspector::checkpointDiffMatchesDirect() {
    Setup setup{"scenarios/rocksdb-incremental.textproto", kRocksDbUntilMs};
    auto direct = runDirect(setup);
    QVERIFY(direct);
    QCOMPARE(direct->retainedCheckpoints().size(), size_t(2));
    int64_t older = direct->retainedCheckpoints().front();
    int64_t newer = direct->retainedCheckpoints().back();
    int vertex = test::keyedVertex(*direct);
    QTemporaryDir scratch;
    auto from = decodeFiles(*direct, older, vertex, scratch.filePath("a"));
    auto to = decodeFiles(*direct, newer, vertex, scratch.filePath("b"));
    // Both checkpoints have the same parallelism, so (state, key group, key,
    // subtask) matches entries.
    std::map<RowKey, std::pair<std::string, std::string>> expected;  // before, after
    for (const auto& [key, values] : from) {
        auto it = to.find(key);
        if (it == to.end()) {
            expected[key] = {values.front(), {}};
        } else if (it->second != values) {
            expected[key] = {values.front(), it->second.front()};
        }
    }
    for (const auto& [key, values] : to) {
        if (!from.count(key)) {
            expected[key] = {{}, values.front()};
        }
    }
    QVERIFY(!expected.empty());

    ServedRun run(setup);
    QVERIFY(run.waitForEnd());
    protocol::Request request;
    auto* diff = request.mutable_state_query_diff();
    diff->set_vertex(vertex);
    diff->set_subtask(-1);
    diff->set_from_checkpoint_id(older);
    diff->set_to_checkpoint_id(newer);
    diff->set_limit(uint32_t(expected.size()) + 10);
    protocol::Reply reply = run.call(request);
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.state_diff().total(), uint64_t(expected.size()));
    int added = 0;
    for (const auto& row : reply.state_diff().rows()) {
        RowKey key{row.state_name(), row.key_group(), row.key(), row.subtask()};
        auto it = expected.find(key);
        QVERIFY2(it != expected.end(), row.key().c_str());
        QCOMPARE(row.old_value(), it->second.first);
        QCOMPARE(row.new_value(), it->second.second);
        QCOMPARE(row.change() == protocol::StateDiffRow::ADDED, it->second.first.empty());
        added += row.change() == protocol::StateDiffRow::ADDED;
    }
    // The generator adds new keys every second.
    QVERIFY(added > 0);

    ui::KeyedStateModel model(run.served.session.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    ui::KeyedStateModel::Query query;
    query.mode = ui::KeyedStateModel::Mode::kDiff;
    query.vertex = vertex;
    query.from_checkpoint_id = older;
    query.to_checkpoint_id = newer;
    model.setQuery(query);
    QVERIFY(waitLoaded(model));
    QCOMPARE(model.rowCount(), int(expected.size()));
    QCOMPARE(model.columnCount(), int(ui::KeyedStateModel::kDiffColumnCount));
    int last = model.rowCount() - 1;
    QVERIFY(loadRow(model, last));
    QCOMPARE(model.data(model.index(last, ui::KeyedStateModel::kDiffKeyColumn)).toString(),
             QString::fromStdString(reply.state_diff().rows(last).key()));
}

void TstStateInspector::pagingSortedAndConsistent() {
    Setup setup{"scenarios/rocksdb-incremental.textproto", kRocksDbUntilMs};
    ServedRun run(setup);
    QVERIFY(run.waitForEnd());
    auto sources = run.sources();
    QVERIFY(sources.retained_checkpoint_ids_size() > 0);
    int64_t id = sources.retained_checkpoint_ids(sources.retained_checkpoint_ids_size() - 1);
    int vertex = -1;
    for (const auto& v : run.served.session->jobGraph().vertices()) {
        vertex = v.keyed() ? v.id() : vertex;
    }
    QVERIFY(vertex >= 0);
    using Sort = protocol::QueryKeyedState;
    for (auto [sort, descending] : {std::pair{Sort::SORT_KEY, false},
                                    {Sort::SORT_VALUE, true},
                                    {Sort::SORT_KEY_GROUP, true}}) {
        protocol::Reply whole = run.checkpointPage(id, vertex, 0, 1u << 30, sort, descending);
        QCOMPARE(whole.error(), std::string());
        const auto& rows = whole.keyed_state().rows();
        QVERIFY2(rows.size() > 10000, qPrintable(QString::number(rows.size())));
        QCOMPARE(uint64_t(rows.size()), whole.keyed_state().total());
        // Pages of an odd size at both ends and in the middle equal the
        // slices of the whole.
        const uint32_t page_rows = 997;
        for (uint32_t offset : {0u, uint32_t(rows.size()) / 2, uint32_t(rows.size()) - 500}) {
            protocol::Reply page =
                run.checkpointPage(id, vertex, offset, page_rows, sort, descending);
            QCOMPARE(page.keyed_state().total(), whole.keyed_state().total());
            QCOMPARE(page.keyed_state().offset(), offset);
            int expected_rows = std::min<int>(page_rows, rows.size() - int(offset));
            QCOMPARE(page.keyed_state().rows_size(), expected_rows);
            for (int i = 0; i < expected_rows; ++i) {
                QCOMPARE(page.keyed_state().rows(i).key(), rows[int(offset) + i].key());
            }
        }
        std::set<std::pair<std::string, int>> seen;
        for (int i = 0; i < rows.size(); ++i) {
            QVERIFY(seen.insert({rows[i].key(), rows[i].subtask()}).second);
            if (i == 0) {
                continue;
            }
            const auto& a = rows[descending ? i : i - 1];
            const auto& b = rows[descending ? i - 1 : i];
            switch (sort) {
                case Sort::SORT_KEY:
                    QVERIFY(a.key() <= b.key());
                    break;
                case Sort::SORT_VALUE:
                    QVERIFY(a.value() <= b.value());
                    break;
                default:
                    QVERIFY(a.key_group() <= b.key_group());
                    break;
            }
        }
        // Pages of a key search, in one subtask and in all, equal the
        // matching rows of the whole in its order. Pages after the first
        // come from the view the first one cached.
        const std::string search = "device-12";
        for (int subtask : {1, -1}) {
            std::vector<const protocol::StateRow*> matching;
            for (const auto& row : rows) {
                if ((subtask == -1 || row.subtask() == subtask) &&
                    row.key().find(search) != std::string::npos) {
                    matching.push_back(&row);
                }
            }
            QVERIFY2(matching.size() > 300, qPrintable(QString::number(matching.size())));
            for (uint32_t offset : {0u, 100u, uint32_t(matching.size()) - 50}) {
                protocol::Reply page =
                    run.checkpointPage(id, vertex, offset, 100, sort, descending, subtask, search);
                QCOMPARE(page.error(), std::string());
                QCOMPARE(page.keyed_state().total(), uint64_t(matching.size()));
                int expected_rows = std::min<int>(100, int(matching.size()) - int(offset));
                QCOMPARE(page.keyed_state().rows_size(), expected_rows);
                for (int i = 0; i < expected_rows; ++i) {
                    QCOMPARE(page.keyed_state().rows(i).key(), matching[offset + i]->key());
                    QCOMPARE(page.keyed_state().rows(i).subtask(), matching[offset + i]->subtask());
                }
            }
        }
    }
}

void TstStateInspector::failureDiffMatchesDirect() {
    Setup setup{"scenarios/flights.textproto", 0};
    sim::EngineOptions options;
    options.keep_failure_states = true;
    auto direct = test::makeEngine(loadShortened(setup), options);
    QVERIFY(direct);
    direct->runUntil([&] { return !direct->failureStates().empty(); });
    QCOMPARE(direct->failureStates().size(), size_t(1));
    int vertex = test::keyedVertex(*direct);

    // Right after the fault the restored checkpoint is still retained, so
    // the kept restored entries can be compared with its files.
    {
        const auto& failure = direct->failureStates().front();
        QVERIFY(failure.restore_checkpoint_id > 0);
        QCOMPARE(failure.restore_error, std::string());
        QTemporaryDir scratch;
        auto files = decodeFiles(*direct, failure.restore_checkpoint_id, vertex,
                                 scratch.filePath("scratch"));
        QVERIFY(!files.empty());
        size_t restored = 0;
        for (const auto& [target, entries] : failure.restored_entries) {
            for (const auto& view : entries) {
                auto it = files.find({view.state_name, view.key_group, view.key, target.second});
                QVERIFY2(it != files.end(), view.key.c_str());
                for (const std::string& value : it->second) {
                    QVERIFY(view.value.find(value) != std::string::npos);
                }
                ++restored;
            }
        }
        QCOMPARE(restored, files.size());
    }
    direct->run();
    const auto& failure = direct->failureStates().back();
    size_t before = 0;
    for (const auto& [target, entries] : failure.entries) {
        before += target.first == vertex ? entries.size() : 0;
    }
    QVERIFY(before > 0);

    ServedRun run(setup);
    QVERIFY(run.waitForEnd());
    auto sources = run.sources();
    QCOMPARE(sources.failures_size(), int(direct->failureStates().size()));
    const auto& served_failure = sources.failures(sources.failures_size() - 1);
    QCOMPARE(served_failure.event_index(), failure.event_index);
    QCOMPARE(served_failure.restore_checkpoint_id(), failure.restore_checkpoint_id);
    QVERIFY(served_failure.fault().find("kill TaskManager") != std::string::npos);

    protocol::Request request;
    auto* diff = request.mutable_state_query_diff();
    diff->set_vertex(vertex);
    diff->set_subtask(-1);
    diff->set_failure_event_index(failure.event_index);
    diff->set_limit(1u << 30);
    protocol::Reply reply = run.call(request);
    QCOMPARE(reply.error(), std::string());
    std::map<std::pair<std::string, std::string>, std::string> restored_values;
    for (const auto& [target, entries] : failure.restored_entries) {
        for (const auto& view : entries) {
            restored_values[{view.state_name, view.key}] = view.value;
        }
    }
    // Keys before the failure that the restored checkpoint lacks show as
    // removed; each removed row carries the value it had before.
    std::map<std::pair<std::string, std::string>, std::string> before_values;
    for (const auto& [target, entries] : failure.entries) {
        for (const auto& view : entries) {
            if (target.first == vertex) {
                before_values[{view.state_name, view.key}] = view.value;
            }
        }
    }
    // The expected number of differences, counted from the kept maps.
    size_t expected_total = 0;
    for (const auto& [key, value] : before_values) {
        auto it = restored_values.find(key);
        expected_total += it == restored_values.end() || it->second != value;
    }
    for (const auto& [key, value] : restored_values) {
        expected_total += !before_values.count(key);
    }
    QCOMPARE(reply.state_diff().total(), uint64_t(expected_total));
    for (const auto& row : reply.state_diff().rows()) {
        auto it = before_values.find({row.state_name(), row.key()});
        if (row.change() == protocol::StateDiffRow::ADDED) {
            QVERIFY(it == before_values.end());
            continue;
        }
        QVERIFY2(it != before_values.end(), row.key().c_str());
        QCOMPARE(row.old_value(), it->second);
        if (row.change() == protocol::StateDiffRow::CHANGED) {
            QCOMPARE(row.new_value(), restored_values.at({row.state_name(), row.key()}));
        } else {
            QVERIFY(!restored_values.count({row.state_name(), row.key()}));
        }
    }
}

void TstStateInspector::unknownCheckpointRejected() {
    ServedRun run(Setup{"scenarios/flights.textproto", 0});
    QVERIFY(run.waitForEnd());
    protocol::Reply reply =
        run.checkpointPage(9999, 1, 0, 10, protocol::QueryKeyedState::SORT_KEY, false);
    QVERIFY2(reply.error().find("checkpoint 9999 is not a retained") != std::string::npos,
             reply.error().c_str());
    protocol::Request request;
    request.mutable_state_query_diff()->set_vertex(1);
    request.mutable_state_query_diff()->set_failure_event_index(1);
    reply = run.call(request);
    QVERIFY2(
        reply.error().find("no keyed state was kept for a failure at event 1") != std::string::npos,
        reply.error().c_str());
}

void TstStateInspector::liveCacheNeverStale() {
    auto engine = test::makeEngine(checkpointedWordcount());
    QVERIFY(engine);
    engine->runUntilTime(1 * kNanosPerSecond);
    int vertex = test::keyedVertex(*engine);
    QVERIFY(vertex >= 0);
    const std::vector<protocol::QueryKeyedState> queries = liveQueries(vertex);
    sim::LiveStateCache cache;

    // Two rounds at the same event. The second one is served from the cache.
    std::vector<protocol::KeyedStatePage> before;
    for (int round = 0; round < 2; ++round) {
        for (const auto& query : queries) {
            protocol::KeyedStatePage page;
            QCOMPARE(sim::queryKeyedState(*engine, query, cache, &page), std::string());
            comparePages(page, uncachedPage(*engine, query), query);
            if (QTest::currentTestFailed()) {
                return;
            }
            if (round == 0) {
                before.push_back(page);
            }
        }
    }
    QCOMPARE(cache.collections(), uint64_t(1));
    QVERIFY(before[0].total() > 500);
    QVERIFY(before[0].total() <= 1000);
    // Some keys are unchanged since the latest checkpoint, others not.
    const size_t changed_only_query = 10;
    QVERIFY(queries[changed_only_query].changed_only());
    QVERIFY(before[changed_only_query].total() > 0);
    QVERIFY(before[changed_only_query].total() < before[0].total());
    QCOMPARE(before.back().total(), uint64_t(0));

    // After more events every page equals a fresh collection. At least five
    // pages changed, so rows kept from before the events would fail the
    // comparison.
    sim::LiveStateVersion old_version = sim::liveStateVersion(*engine);
    engine->runUntilTime(2 * kNanosPerSecond);
    int moved = 0;
    for (size_t i = 0; i < queries.size(); ++i) {
        protocol::KeyedStatePage page;
        QCOMPARE(sim::queryKeyedState(*engine, queries[i], cache, &page), std::string());
        comparePages(page, uncachedPage(*engine, queries[i]), queries[i]);
        if (QTest::currentTestFailed()) {
            return;
        }
        moved += page.SerializeAsString() != before[i].SerializeAsString();
    }
    QCOMPARE(cache.collections(), uint64_t(2));
    QVERIFY2(moved >= 5, qPrintable(QString::number(moved)));
    QVERIFY(!(sim::liveStateVersion(*engine) == old_version));

    // A fault injected without a trigger fires without an event, but the
    // state version changes all the same.
    old_version = sim::liveStateVersion(*engine);
    scenario::Fault fault;
    fault.mutable_fail_subtask()->set_operator_("count");
    fault.mutable_fail_subtask()->set_subtask(0);
    QCOMPARE(engine->injectFault(fault), std::string());
    QCOMPARE(sim::liveStateVersion(*engine).event_count, old_version.event_count);
    QVERIFY(!(sim::liveStateVersion(*engine) == old_version));
    protocol::KeyedStatePage page;
    QCOMPARE(sim::queryKeyedState(*engine, queries[0], cache, &page), std::string());
    QCOMPARE(cache.collections(), uint64_t(3));
}

void TstStateInspector::servedLiveStateFollowsMoves() {
    test::ServedEngine served;
    QVERIFY2(served.error.isEmpty(), qPrintable(served.error));
    sim::LoadedScenario scenario = checkpointedWordcount();
    std::string text;
    google::protobuf::TextFormat::PrintToString(scenario.proto, &text);
    QSignalSpy graph(served.session.get(), &ui::EngineSession::jobGraphChanged);
    served.session->loadScenario(
        QString::fromStdString(test::sourcePath("scenarios/wordcount.textproto")),
        QString::fromStdString(text));
    QVERIFY(graph.wait(kWaitMs));
    auto direct = test::makeEngine(scenario);
    QVERIFY(direct);
    int vertex = test::keyedVertex(*direct);
    protocol::Request query;
    *query.mutable_query_keyed_state() =
        liveQuery(vertex, protocol::QueryKeyedState::SORT_VALUE, true, 0, 200);
    protocol::Request step;
    step.mutable_step_event()->set_count(20000);
    protocol::Request seek;

    // Each served page against a direct run at the same event.
    std::vector<std::string> pages;
    std::vector<uint64_t> events;
    for (const protocol::Request* move : {&step, &step, &seek}) {
        if (move == &seek) {
            seek.mutable_seek()->set_event_index(events.front());
        }
        protocol::Reply moved = callServed(served, *move);
        QCOMPARE(moved.error(), std::string());
        uint64_t event_index = moved.status().event_index();
        if (direct->eventCount() > event_index) {
            direct = test::makeEngine(scenario);
        }
        direct->runUntil([&] { return direct->eventCount() >= event_index; });
        QCOMPARE(direct->eventCount(), event_index);
        protocol::Reply reply = callServed(served, query);
        QCOMPARE(reply.error(), std::string());
        comparePages(reply.keyed_state(), uncachedPage(*direct, query.query_keyed_state()),
                     query.query_keyed_state());
        if (QTest::currentTestFailed()) {
            return;
        }
        pages.push_back(reply.keyed_state().SerializeAsString());
        events.push_back(event_index);
    }
    QVERIFY(events[1] > events[0]);
    QVERIFY(pages[1] != pages[0]);
    // The backward seek rebuilt the engine and ran it to the first event again.
    QCOMPARE(events[2], events[0]);
    QCOMPARE(pages[2], pages[0]);
}

void TstStateInspector::diffCacheNeverStale() {
    sim::LoadedScenario scenario = checkpointedWordcount();
    scenario.proto.mutable_checkpointing()->set_retained(20);
    auto engine = test::makeEngine(scenario);
    QVERIFY(engine);
    engine->runUntilTime(1 * kNanosPerSecond);
    int vertex = test::keyedVertex(*engine);
    QVERIFY(!engine->retainedCheckpoints().empty());
    int64_t from = engine->retainedCheckpoints().back();
    sim::CheckpointStateCache checkpoints;
    sim::StateDiffCache diffs;

    // The kept diff serves the later pages of the same state, and they
    // equal a diff built anew (a fresh StateDiffCache).
    std::vector<std::string> before;
    for (uint32_t offset : {0u, 100u, 0u}) {
        sim::StateDiffCache fresh;
        std::string page = liveDiffPage(*engine, vertex, from, offset, checkpoints, diffs);
        QCOMPARE(page, liveDiffPage(*engine, vertex, from, offset, checkpoints, fresh));
        QVERIFY2(page.find("rows {") != std::string::npos, page.c_str());
        before.push_back(page);
    }

    // After more events the live side changed, and the pages follow it.
    engine->runUntilTime(2 * kNanosPerSecond);
    const auto& retained = engine->retainedCheckpoints();
    QVERIFY(std::find(retained.begin(), retained.end(), from) != retained.end());
    for (uint32_t offset : {0u, 100u}) {
        sim::StateDiffCache fresh;
        std::string page = liveDiffPage(*engine, vertex, from, offset, checkpoints, diffs);
        QCOMPARE(page, liveDiffPage(*engine, vertex, from, offset, checkpoints, fresh));
        QVERIFY(page != before[offset == 0 ? 0 : 1]);
    }
}

void TstStateInspector::dockShowsKeyedOperators() {
    test::ServedEngine served;
    QVERIFY2(served.error.isEmpty(), qPrintable(served.error));
    ui::StateInspector inspector(served.session.get());
    inspector.show();
    QAbstractItemModelTester tester(inspector.model(),
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    QVERIFY(inspector.statusText().contains("No run loaded"));
    QSignalSpy graph(served.session.get(), &ui::EngineSession::jobGraphChanged);
    served.session->loadScenario(
        QString::fromStdString(test::sourcePath("scenarios/flights.textproto")));
    QVERIFY(graph.wait(kWaitMs));
    // Only keyed operators are offered.
    QCOMPARE(inspector.operatorBox()->count(), 1);
    QCOMPARE(inspector.subtaskBox()->itemText(0), QString("All"));
    QVERIFY(inspector.subtaskBox()->count() > 1);
    // Before any failure, the failure view explains why it is empty.
    inspector.viewBox()->setCurrentIndex(int(ui::StateInspector::View::kFailureDiff));
    QTRY_VERIFY_WITH_TIMEOUT(inspector.statusText().contains("No failure so far"), kWaitMs);
    inspector.viewBox()->setCurrentIndex(int(ui::StateInspector::View::kLive));
    served.session->stepEvent(20000);
    // The frame of the step makes the visible live view query again.
    QTRY_VERIFY_WITH_TIMEOUT(inspector.model()->total() > 0, kWaitMs);
    QVERIFY(inspector.statusText().contains("entries"));
    inspector.searchEdit()->setText("no-such-key");
    QTRY_COMPARE_WITH_TIMEOUT(inspector.model()->rowCount(), 0, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(inspector.statusText().startsWith("0 entries"), kWaitMs);
}

void TstStateInspector::dockBehindTabQueriesNothing() {
    test::ServedEngine served;
    QVERIFY2(served.error.isEmpty(), qPrintable(served.error));
    QMainWindow window;
    auto* log = new QDockWidget("Event Log", &window);
    log->setObjectName("event-log-dock");
    log->setWidget(new QLabel("events", log));
    window.addDockWidget(Qt::BottomDockWidgetArea, log);
    QDockWidget* dock = ui::addStateInspectorDock(&window, served.session.get());
    auto* inspector = qobject_cast<ui::StateInspector*>(dock->widget());
    QVERIFY(inspector);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(inspector->visibleRegion().isEmpty());

    std::string text;
    google::protobuf::TextFormat::PrintToString(checkpointedWordcount().proto, &text);
    QSignalSpy graph(served.session.get(), &ui::EngineSession::jobGraphChanged);
    served.session->loadScenario(
        QString::fromStdString(test::sourcePath("scenarios/wordcount.textproto")),
        QString::fromStdString(text));
    QVERIFY(graph.wait(kWaitMs));
    QVERIFY(waitLoaded(*inspector->model()));
    QCOMPARE(inspector->model()->total(), uint64_t(0));

    // Behind the Event Log's tab the live view neither refreshes on frames
    // nor queries again for each new checkpoint, while the run plays for
    // about 2.5 s of wall time.
    QSignalSpy pages(inspector->model(), &ui::KeyedStateModel::pageLoaded);
    served.session->setSpeed(2000);
    served.session->play();
    QTRY_COMPARE_WITH_TIMEOUT(served.session->status().run_state(), protocol::FINISHED, kWaitMs);
    QVERIFY(inspector->fromBox()->count() > 0);
    QCOMPARE(pages.count(), 0);

    // Selecting the tab shows the live state as it is now.
    dock->raise();
    QTRY_VERIFY_WITH_TIMEOUT(inspector->model()->total() > 500, kWaitMs);
    QVERIFY(pages.count() > 0);
}

QTEST_MAIN(TstStateInspector)
#include "tst_state_inspector.moc"
