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
#include "ui/keyed_state_model.h"
#include "ui/state_inspector_dock.h"

#include <google/protobuf/text_format.h>

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
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

// The keyed vertex of a job (the scenarios here have one).
int keyedVertex(const sim::Engine& engine) {
    protocol::JobGraph graph = sim::queryJobGraph(engine);
    for (const auto& vertex : graph.vertices()) {
        if (vertex.keyed()) {
            return vertex.id();
        }
    }
    return -1;
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

    protocol::Reply checkpointPage(int64_t id, int vertex, uint32_t offset, uint32_t limit,
                                   protocol::QueryKeyedState::SortColumn sort, bool descending) {
        protocol::Request request;
        auto* query = request.mutable_query_keyed_state();
        query->set_vertex(vertex);
        query->set_subtask(-1);
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
    void dockShowsKeyedOperators();
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
    int vertex = keyedVertex(*direct);
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
    int vertex = keyedVertex(*direct);
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
    int vertex = keyedVertex(*direct);

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

QTEST_MAIN(TstStateInspector)
#include "tst_state_inspector.moc"
