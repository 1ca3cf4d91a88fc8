// The Checkpoints dock, its models and the checkpoint and trace exports,
// against a real engine service. The Gantt chart's values and the exported
// files are compared with what `sluice-run` writes for the same scenario and
// seed. Waits use generous timeouts and assert no durations.
#include "gui_test_support.h"
#include "test_support.h"
#include "ui/checkpoint_diagnosis.h"
#include "ui/checkpoint_exports.h"
#include "ui/checkpoint_gantt.h"
#include "ui/checkpoint_history_model.h"
#include "ui/checkpoint_shared_state_model.h"
#include "ui/checkpoint_strip.h"
#include "ui/checkpoints_dock.h"
#include "ui/event_log_model.h"
#include "ui/trace_export.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QProcess>
#include <QPushButton>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <map>
#include <tuple>

using namespace sluice;

namespace {

constexpr int kLoadTimeoutMs = 60000;
// The sanitizer preset raises Qt Test's limit per test function
// (QTEST_FUNCTION_TIMEOUT) to 900 s, so a slow sanitizer run can use this.
constexpr int kRunTimeoutMs = 600000;

QString scenarioPath(const char* name) {
    return QString::fromStdString(test::sourcePath(std::string("scenarios/") + name));
}

QByteArray readFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return {};
    }
    return file.readAll();
}

// Runs sluice-run on `scenario` with `arguments`; returns false on failure.
bool runSluiceRun(const QString& scenario, const QStringList& arguments) {
    QProcess run;
    run.start(QString::fromStdString(test::binaryPath("sluice-run")),
              QStringList{scenario} + arguments);
    return run.waitForFinished(kRunTimeoutMs) && run.exitStatus() == QProcess::NormalExit &&
           run.exitCode() == 0;
}

// An acknowledged subtask of a checkpoint triggered at `trigger_ns` whose
// phases follow each other without a gap.
protocol::CheckpointSubtaskDetail makeSubtask(int vertex, int index, int64_t start_delay_ns,
                                              int64_t alignment_ns, int64_t sync_ns,
                                              int64_t async_ns,
                                              int64_t trigger_ns = 1'000'000'000) {
    protocol::CheckpointSubtaskDetail detail;
    detail.set_vertex(vertex);
    detail.set_subtask(index);
    detail.set_acknowledged(true);
    detail.set_start_delay_ns(start_delay_ns);
    detail.set_alignment_duration_ns(alignment_ns);
    detail.set_sync_duration_ns(sync_ns);
    detail.set_async_duration_ns(async_ns);
    detail.set_ack_time_ns(trigger_ns + start_delay_ns + alignment_ns + sync_ns + async_ns);
    return detail;
}

protocol::CheckpointDetail makeCheckpoint(int64_t id, const char* status) {
    protocol::CheckpointDetail detail;
    detail.mutable_mark()->set_checkpoint_id(id);
    detail.mutable_mark()->set_status(status);
    detail.mutable_mark()->set_trigger_ns(id * 1'000'000'000);
    return detail;
}

// A served engine with the dock's panel, the run loaded, played to its end
// at full speed and the panel refreshed after the run's last checkpoint.
struct FinishedRun {
    test::ServedEngine engine;
    std::unique_ptr<ui::CheckpointsPanel> panel;
    ui::EventLogModel events;
};

bool finishRun(FinishedRun* run, const QString& path) {
    if (!run->engine.error.isEmpty()) {
        return false;
    }
    ui::EngineSession* session = run->engine.session.get();
    run->panel = std::make_unique<ui::CheckpointsPanel>(session);
    QObject::connect(session, &ui::EngineSession::eventsReceived, &run->events,
                     &ui::EventLogModel::appendEvents);
    session->loadScenario(path);
    if (!QTest::qWaitFor([&] { return session->status().run_state() == protocol::PAUSED; },
                         kLoadTimeoutMs)) {
        return false;
    }
    session->setSpeed(0);
    session->play();
    auto over = [&] {
        protocol::RunState state = session->status().run_state();
        return state == protocol::FINISHED || state == protocol::TIME_LIMIT ||
               state == protocol::FAILED;
    };
    if (!QTest::qWaitFor(over, kRunTimeoutMs)) {
        return false;
    }
    // A refresh after the end, so the panel shows the final history.
    run->panel->refresh();
    return QTest::qWaitFor([&] { return !run->panel->isRefreshing(); }, kLoadTimeoutMs) &&
           run->panel->historyModel()->rowCount() > 0;
}

}  // namespace

class TestGuiCheckpoints : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void historyModelPassesTester();
    void sharedStateModelPassesTester();
    void ganttSortsSlowestFirst();
    void ganttToolTipShowsInFlightData();
    void ganttPlacesUnalignedAndPendingPhases();
    void diagnosisNamesDominantPhase();
    void diagnosisExplainsFailedCheckpoint();
    void diagnosisOfBackpressuredRun();
    void traceHasSpansAndInstants();
    void ganttEqualsSluiceRunCsv();
    void exportsEqualSluiceRun();
    void keyedStateExportEqualsSluiceRun();
    void traceExportOfRunParses();
    void sharedStateTabForRocksDb();
};

void TestGuiCheckpoints::historyModelPassesTester() {
    ui::CheckpointHistoryModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    protocol::CheckpointDetails details;
    *details.add_checkpoints() = makeCheckpoint(1, "COMPLETED");
    model.setDetails(details);
    QCOMPARE(model.rowCount(), 1);
    auto* failed = details.add_checkpoints();
    *failed = makeCheckpoint(2, "FAILED");
    failed->mutable_mark()->set_failure_cause("Checkpoint expired before completing.");
    failed->set_end_to_end_duration_ns(20'000'000'000);
    failed->set_persisted_bytes(2048);
    model.setDetails(details);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.rowOf(2), 1);
    QCOMPARE(model.index(1, ui::CheckpointHistoryModel::kStatusColumn).data().toString(),
             QStringLiteral("FAILED"));
    QCOMPARE(model.index(1, ui::CheckpointHistoryModel::kCauseColumn).data().toString(),
             QStringLiteral("Checkpoint expired before completing."));
    QCOMPARE(model.index(1, ui::CheckpointHistoryModel::kDurationColumn).data().toString(),
             QStringLiteral("20000.0"));
    QCOMPARE(model.index(1, ui::CheckpointHistoryModel::kPersistedColumn).data().toString(),
             QStringLiteral("2.0 KiB"));
    QVERIFY(model.headerData(ui::CheckpointHistoryModel::kDurationColumn, Qt::Horizontal)
                .toString()
                .contains(QStringLiteral("(ms)")));

    // A history that is not an extension of the shown one resets the table.
    protocol::CheckpointDetails other;
    *other.add_checkpoints() = makeCheckpoint(7, "IN_PROGRESS");
    model.setDetails(other);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.rowOf(1), -1);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
}

void TestGuiCheckpoints::sharedStateModelPassesTester() {
    ui::CheckpointSharedStateModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    protocol::CheckpointSharedState state;
    auto* file = state.add_files();
    file->set_path("shared/a.sst");
    file->set_size_bytes(100);
    file->set_reference_count(2);
    file->add_checkpoint_ids(3);
    file->add_checkpoint_ids(4);
    model.setSharedState(state);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.index(0, ui::CheckpointSharedStateModel::kCheckpointsColumn).data().toString(),
             QStringLiteral("3, 4"));
    QCOMPARE(model.index(0, ui::CheckpointSharedStateModel::kReferencesColumn).data().toInt(), 2);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
}

void TestGuiCheckpoints::ganttSortsSlowestFirst() {
    protocol::CheckpointDetail detail = makeCheckpoint(1, "COMPLETED");
    *detail.add_subtasks() = makeSubtask(0, 0, 1'000'000, 0, 500'000, 500'000);      // 2 ms
    *detail.add_subtasks() = makeSubtask(1, 0, 1'000'000, 5'000'000, 0, 1'000'000);  // 7 ms
    *detail.add_subtasks() = makeSubtask(1, 1, 1'000'000, 0, 0, 1'000'000);          // 2 ms
    std::vector<ui::CheckpointGanttRow> rows =
        ui::checkpointGanttRows(detail, {QStringLiteral("source"), QStringLiteral("sink")});
    QCOMPARE(rows.size(), size_t(3));
    QCOMPARE(rows[0].label, QStringLiteral("sink #0"));
    QCOMPARE(rows[0].alignment_ms, 5.0);
    QCOMPARE(rows[0].end_ms, 7.0);
    // Equal totals keep vertex and subtask order.
    QCOMPARE(rows[1].label, QStringLiteral("source #0"));
    QCOMPARE(rows[2].label, QStringLiteral("sink #1"));
}

void TestGuiCheckpoints::ganttToolTipShowsInFlightData() {
    protocol::CheckpointDetail detail = makeCheckpoint(1, "COMPLETED");
    auto* row = detail.add_subtasks();
    *row = makeSubtask(0, 0, 1'500'000, 0, 250'000, 2'000'000);
    row->set_processed_bytes(4096);
    row->set_persisted_bytes(777);
    row->set_unaligned(true);
    ui::CheckpointGantt gantt;
    gantt.setCheckpoint(detail, {QStringLiteral("map")});
    QString tip = gantt.rowToolTip(0);
    QVERIFY2(tip.contains(QStringLiteral("Start delay: 1.500 ms")), qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("Sync: 0.250 ms")), qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("Processed in-flight data: 4096 bytes")), qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("Persisted in-flight data: 777 bytes")), qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("Unaligned: yes")), qPrintable(tip));
    QCOMPARE(gantt.rowAt(0), -1);
}

// An unaligned snapshot overlaps its alignment, and subtasks that did not
// acknowledge show where they stopped, up to the checkpoint's end.
void TestGuiCheckpoints::ganttPlacesUnalignedAndPendingPhases() {
    protocol::CheckpointDetail detail = makeCheckpoint(1, "FAILED");
    detail.set_end_to_end_duration_ns(10'000'000);
    int64_t trigger_ns = detail.mark().trigger_ns();
    // Snapshot at the first barrier (+1 ms), the last barrier at +8 ms.
    auto* unaligned = detail.add_subtasks();
    *unaligned = makeSubtask(0, 0, 1'000'000, 7'000'000, 500'000, 7'000'000);
    unaligned->set_ack_time_ns(trigger_ns + 8'500'000);
    unaligned->set_unaligned(true);
    auto* no_barrier = detail.add_subtasks();
    no_barrier->set_vertex(1);
    no_barrier->set_subtask(0);
    auto* aligning = detail.add_subtasks();
    aligning->set_vertex(1);
    aligning->set_subtask(1);
    aligning->set_first_barrier_ns(trigger_ns + 2'000'000);

    std::vector<ui::CheckpointGanttRow> rows =
        ui::checkpointGanttRows(detail, {QStringLiteral("map"), QStringLiteral("sink")});
    QCOMPARE(rows.size(), size_t(3));
    QCOMPARE(rows[0].label, QStringLiteral("sink #0"));
    QCOMPARE(rows[0].end_ms, 10.0);
    QCOMPARE(rows[0].bars.size(), size_t(1));
    QCOMPARE(rows[0].bars[0].phase, ui::GanttPhase::kStartDelay);
    QVERIFY(rows[0].bars[0].pending);
    QCOMPARE(rows[0].bars[0].to_ms, 10.0);

    QCOMPARE(rows[1].label, QStringLiteral("sink #1"));
    QCOMPARE(rows[1].bars.size(), size_t(2));
    QCOMPARE(rows[1].bars[0].to_ms, 2.0);
    QCOMPARE(rows[1].bars[1].phase, ui::GanttPhase::kAlignment);
    QVERIFY(rows[1].bars[1].pending);
    QCOMPARE(rows[1].bars[1].from_ms, 2.0);
    QCOMPARE(rows[1].bars[1].to_ms, 10.0);

    const ui::CheckpointGanttRow& row = rows[2];
    QCOMPARE(row.end_ms, 8.5);
    QCOMPARE(row.bars.size(), size_t(4));
    QCOMPARE(row.bars[1].phase, ui::GanttPhase::kAlignment);
    QVERIFY(row.bars[1].overlay);
    QCOMPARE(row.bars[1].to_ms, 8.0);
    QCOMPARE(row.bars[2].phase, ui::GanttPhase::kSync);
    QCOMPARE(row.bars[2].from_ms, 1.0);
    QCOMPARE(row.bars[3].phase, ui::GanttPhase::kAsync);
    QCOMPARE(row.bars[3].from_ms, 1.5);
    QCOMPARE(row.bars[3].to_ms, 8.5);
}

void TestGuiCheckpoints::diagnosisNamesDominantPhase() {
    protocol::CheckpointDetail detail = makeCheckpoint(1, "COMPLETED");
    *detail.add_subtasks() = makeSubtask(0, 0, 100'000, 0, 100'000, 100'000);
    *detail.add_subtasks() = makeSubtask(1, 0, 900'000'000, 2'000'000, 1'000'000, 3'000'000);
    QStringList names{QStringLiteral("source"), QStringLiteral("aggregate")};
    QString text = ui::diagnoseCheckpoint(detail, ui::checkpointGanttRows(detail, names));
    QVERIFY2(text.contains(QStringLiteral("<b>aggregate #0</b>")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("backpressure")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("(99% of that)")), qPrintable(text));

    *detail.mutable_subtasks(1) = makeSubtask(1, 0, 1'000'000, 900'000'000, 1'000'000, 3'000'000);
    text = ui::diagnoseCheckpoint(detail, ui::checkpointGanttRows(detail, names));
    QVERIFY2(text.contains(QStringLiteral("(alignment)")), qPrintable(text));

    *detail.mutable_subtasks(1) = makeSubtask(1, 0, 1'000'000, 0, 1'000'000, 900'000'000);
    text = ui::diagnoseCheckpoint(detail, ui::checkpointGanttRows(detail, names));
    QVERIFY2(text.contains(QStringLiteral("Writing its snapshot took 900.0 ms")), qPrintable(text));
    QVERIFY2(!text.contains(QStringLiteral("unaligned snapshot")), qPrintable(text));

    // Unaligned: the snapshot at the first barrier waits for the last one.
    *detail.mutable_subtasks(1) = makeSubtask(1, 0, 1'000'000, 0, 1'000'000, 900'000'000);
    detail.mutable_subtasks(1)->set_alignment_duration_ns(899'000'000);
    detail.mutable_subtasks(1)->set_unaligned(true);
    text = ui::diagnoseCheckpoint(detail, ui::checkpointGanttRows(detail, names));
    QVERIFY2(text.contains(QStringLiteral("the last at +900.0 ms")), qPrintable(text));
}

void TestGuiCheckpoints::diagnosisExplainsFailedCheckpoint() {
    protocol::CheckpointDetail detail = makeCheckpoint(1, "FAILED");
    detail.set_end_to_end_duration_ns(20'000'000'000);
    *detail.add_subtasks() = makeSubtask(0, 0, 100'000, 0, 100'000, 100'000);
    for (int subtask = 0; subtask < 5; ++subtask) {
        auto* row = detail.add_subtasks();
        row->set_vertex(1);
        row->set_subtask(subtask);
    }
    QString text = ui::diagnoseCheckpoint(
        detail,
        ui::checkpointGanttRows(detail, {QStringLiteral("source"), QStringLiteral("sink")}));
    QVERIFY2(text.startsWith(QStringLiteral("5 of 6 subtasks had not acknowledged when the "
                                            "checkpoint failed")),
             qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("5 never received the barrier (sink #0, sink #1, "
                                          "sink #2 and 2 more)")),
             qPrintable(text));
}

// aligned-vs-unaligned: the first checkpoints expire because the barriers
// wait behind the backpressured aggregate's input, and the dock explains it.
void TestGuiCheckpoints::diagnosisOfBackpressuredRun() {
    FinishedRun run;
    QVERIFY(finishRun(&run, scenarioPath("aligned-vs-unaligned.textproto")));
    run.panel->selectCheckpoint(1);
    QString text = run.panel->detailLabel()->text();
    QVERIFY2(text.contains(QStringLiteral("never received the barrier")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("aggregate")), qPrintable(text));
    run.panel->selectCheckpoint(3);
    text = run.panel->detailLabel()->text();
    QVERIFY2(text.contains(QStringLiteral("Slowest subtask")), qPrintable(text));
    QVERIFY2(text.contains(QStringLiteral("backpressure")), qPrintable(text));
}

void TestGuiCheckpoints::traceHasSpansAndInstants() {
    protocol::CheckpointDetails details;
    details.add_vertex_names("source");
    details.add_vertex_names("sink");
    auto* done = details.add_checkpoints();
    *done = makeCheckpoint(1, "COMPLETED");
    *done->add_subtasks() = makeSubtask(0, 0, 1000, 0, 2000, 3000);
    *done->add_subtasks() = makeSubtask(1, 0, 1000, 4000, 2000, 3000);
    // The source waits 4 us between its barrier and its snapshot; the sink
    // snapshots right after its alignment.
    int64_t trigger_ns = done->mark().trigger_ns();
    done->mutable_subtasks(0)->set_ack_time_ns(trigger_ns + 10'000);
    done->mutable_subtasks(1)->set_ack_time_ns(trigger_ns + 10'000);
    auto* failed = details.add_checkpoints();
    *failed = makeCheckpoint(2, "FAILED");
    *failed->add_subtasks() = makeSubtask(0, 0, 1000, 0, 2000, 3000);
    failed->mutable_subtasks(0)->set_acknowledged(false);
    std::vector<protocol::Event> events;
    for (auto kind : {protocol::Event::FAULT, protocol::Event::BARRIER_RECEIVED,
                      protocol::Event::FAULT, protocol::Event::TASK_STATE}) {
        protocol::Event event;
        event.set_kind(kind);
        event.set_vertex(kind == protocol::Event::FAULT ? -1 : 1);
        event.set_time_ns(5'000'000);
        events.push_back(event);
    }

    QJsonParseError error;
    QJsonDocument doc = QJsonDocument::fromJson(ui::chromeTraceJson(details, events), &error);
    QCOMPARE(error.error, QJsonParseError::NoError);
    std::map<QString, int> spans;
    // (span name, pid) to (start, duration) in microseconds, checkpoint 1 only.
    std::map<std::pair<QString, int>, std::pair<double, double>> times;
    int fault_instants = 0;
    int barrier_instants = 0;
    int thread_names = 0;
    for (const QJsonValue& value : doc.object()[QStringLiteral("traceEvents")].toArray()) {
        QJsonObject event = value.toObject();
        QString phase = event[QStringLiteral("ph")].toString();
        if (phase == QStringLiteral("X")) {
            QString name = event[QStringLiteral("name")].toString();
            ++spans[name];
            times[{name, event[QStringLiteral("pid")].toInt()}] = {
                event[QStringLiteral("ts")].toDouble(), event[QStringLiteral("dur")].toDouble()};
        } else if (phase == QStringLiteral("i")) {
            fault_instants += event[QStringLiteral("cat")].toString() == QStringLiteral("fault");
            barrier_instants +=
                event[QStringLiteral("cat")].toString() == QStringLiteral("barrier");
        } else if (phase == QStringLiteral("M")) {
            thread_names +=
                event[QStringLiteral("name")].toString() == QStringLiteral("thread_name");
        }
    }
    QCOMPARE(spans[QStringLiteral("checkpoint 1")], 2);
    QCOMPARE(spans[QStringLiteral("checkpoint 2")], 0);
    QCOMPARE(spans[QStringLiteral("alignment")], 2);
    QCOMPARE(spans[QStringLiteral("async")], 2);
    QCOMPARE(fault_instants, 2);
    QCOMPARE(barrier_instants, 1);
    QCOMPARE(thread_names, 2);

    // Phases sit at their simulated times: the source's gap between start
    // delay and sync stays visible, and async ends at the acknowledgement.
    double trigger_us = double(trigger_ns) / 1000;
    using Span = std::pair<double, double>;
    auto at = [&](const char* name, int pid) { return times[{QString::fromLatin1(name), pid}]; };
    QCOMPARE(at("checkpoint 1", 1), Span(trigger_us, 10));
    QCOMPARE(at("start delay", 1), Span(trigger_us, 1));
    QCOMPARE(at("sync", 1), Span(trigger_us + 5, 2));
    QCOMPARE(at("async", 1), Span(trigger_us + 7, 3));
    QCOMPARE(at("alignment", 2), Span(trigger_us + 1, 4));
    QCOMPARE(at("sync", 2), Span(trigger_us + 5, 2));
}

// Every bar of the Gantt chart equals the row sluice-run --checkpoints-csv
// writes for the same checkpoint and subtask, at the CSV's precision.
void TestGuiCheckpoints::ganttEqualsSluiceRunCsv() {
    QTemporaryDir folder;
    QVERIFY(folder.isValid());
    QString scenario = scenarioPath("aligned-vs-unaligned.textproto");
    QString csv_path = folder.filePath(QStringLiteral("checkpoints.csv"));
    QVERIFY(runSluiceRun(scenario, {QStringLiteral("--checkpoints-csv"), csv_path}));
    QList<QByteArray> lines = readFile(csv_path).split('\n');
    QVERIFY(lines.size() > 2);
    QCOMPARE(lines[0], QByteArray("checkpoint_id,status,is_savepoint,trigger_time_ms,"
                                  "end_to_end_duration_ms,checkpointed_size_bytes,full_size_bytes,"
                                  "task,subtask,acknowledged,ack_time_ms,sync_duration_ms,"
                                  "async_duration_ms,alignment_duration_ms,start_delay_ms,"
                                  "unaligned,processed_bytes,persisted_bytes,failure_cause"));
    // (checkpoint, task, subtask) to the CSV fields.
    std::map<std::tuple<qint64, QString, int>, QList<QByteArray>> rows;
    for (int i = 1; i < lines.size(); ++i) {
        QList<QByteArray> fields = lines[i].split(',');
        if (fields.size() >= 18) {
            rows[{fields[0].toLongLong(), QString::fromUtf8(fields[7]), fields[8].toInt()}] =
                fields;
        }
    }

    FinishedRun run;
    QVERIFY(finishRun(&run, scenario));
    ui::CheckpointHistoryModel* history = run.panel->historyModel();
    QAbstractItemModelTester tester(history,
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    // Until the user selects one, the newest checkpoint is selected.
    QModelIndexList selected = run.panel->historyView()->selectionModel()->selectedRows();
    QCOMPARE(selected.size(), 1);
    QCOMPARE(selected.first().row(), history->rowCount() - 1);
    QVERIFY(!run.panel->gantt()->rows().empty());

    int compared = 0;
    bool saw_failure_cause = false;
    for (int r = 0; r < history->rowCount(); ++r) {
        qint64 id = history->checkpoint(r).mark().checkpoint_id();
        run.panel->selectCheckpoint(id);
        const protocol::CheckpointMark& mark = history->checkpoint(r).mark();
        if (mark.status() == "FAILED") {
            QVERIFY(run.panel->detailLabel()->text().contains(QStringLiteral("Failure cause")));
            saw_failure_cause = true;
        }
        QCOMPARE(run.panel->seekButton()->isEnabled(), mark.status() == "COMPLETED");
        for (const ui::CheckpointGanttRow& row : run.panel->gantt()->rows()) {
            QString task = row.label.section(QStringLiteral(" #"), 0, 0);
            auto it = rows.find({id, task, row.subtask});
            QVERIFY2(it != rows.end(), qPrintable(QStringLiteral("%1 %2").arg(id).arg(row.label)));
            const QList<QByteArray>& csv_row = it->second;
            QCOMPARE(QByteArray::number(row.sync_ms, 'f', 3), csv_row[11]);
            QCOMPARE(QByteArray::number(row.async_ms, 'f', 3), csv_row[12]);
            QCOMPARE(QByteArray::number(row.alignment_ms, 'f', 3), csv_row[13]);
            QCOMPARE(QByteArray::number(row.start_delay_ms, 'f', 3), csv_row[14]);
            QCOMPARE(QByteArray(row.unaligned ? "true" : "false"), csv_row[15]);
            QCOMPARE(QByteArray::number(row.processed_bytes), csv_row[16]);
            QCOMPARE(QByteArray::number(row.persisted_bytes), csv_row[17]);
            ++compared;
        }
    }
    QCOMPARE(compared, int(rows.size()));
    QVERIFY(saw_failure_cause);
    QCOMPARE(run.panel->strip()->shownCount() > 0, true);

    // The dock sends queries on checkpoint events (at most one each), at
    // load and after the run, never per frame.
    int checkpoint_events = 0;
    for (int row = 0; row < run.events.rowCount(); ++row) {
        protocol::Event::Kind kind = run.events.event(row).kind();
        checkpoint_events += kind == protocol::Event::CHECKPOINT_TRIGGERED ||
                             kind == protocol::Event::CHECKPOINT_COMPLETED ||
                             kind == protocol::Event::CHECKPOINT_FAILED;
    }
    QVERIFY(checkpoint_events > 0);
    QVERIFY2(run.panel->queriesSent() <= checkpoint_events + 3,
             qPrintable(QStringLiteral("%1 queries for %2 checkpoint events")
                            .arg(run.panel->queriesSent())
                            .arg(checkpoint_events)));

    // Go to Completion seeks to the event at which the checkpoint completed.
    int last_completed = -1;
    for (int r = 0; r < history->rowCount(); ++r) {
        if (history->checkpoint(r).mark().status() == "COMPLETED") {
            last_completed = r;
        }
    }
    QVERIFY(last_completed >= 0);
    const protocol::CheckpointMark mark = history->checkpoint(last_completed).mark();
    run.panel->selectCheckpoint(mark.checkpoint_id());
    QVERIFY(run.panel->seekButton()->isEnabled());
    QSignalSpy moved(run.engine.session.get(), &ui::EngineSession::positionSet);
    run.panel->seekButton()->click();
    QTRY_COMPARE_WITH_TIMEOUT(moved.count(), 1, kRunTimeoutMs);
    QCOMPARE(moved.at(0).at(0).toULongLong(), mark.end_event());
}

// File > Export Checkpoints CSV and JSON write the bytes sluice-run writes.
void TestGuiCheckpoints::exportsEqualSluiceRun() {
    QTemporaryDir folder;
    QVERIFY(folder.isValid());
    QString scenario = scenarioPath("flights.textproto");
    QString csv = folder.filePath(QStringLiteral("run.csv"));
    QString json = folder.filePath(QStringLiteral("run.json"));
    QVERIFY(runSluiceRun(scenario, {QStringLiteral("--checkpoints-csv"), csv,
                                    QStringLiteral("--checkpoints-json"), json}));

    FinishedRun run;
    QVERIFY(finishRun(&run, scenario));
    QString gui_csv = folder.filePath(QStringLiteral("gui.csv"));
    QString gui_json = folder.filePath(QStringLiteral("gui.json"));
    QStringList errors;
    int done = 0;
    auto collect = [&](const QString& error) {
        errors << error;
        ++done;
    };
    ui::exportCheckpointHistory(run.engine.session.get(), gui_csv,
                                protocol::CheckpointExportQuery::CSV, collect);
    ui::exportCheckpointHistory(run.engine.session.get(), gui_json,
                                protocol::CheckpointExportQuery::JSON, collect);
    QTRY_COMPARE_WITH_TIMEOUT(done, 2, kLoadTimeoutMs);
    QCOMPARE(errors, QStringList({QString(), QString()}));
    QByteArray expected_csv = readFile(csv);
    QVERIFY(expected_csv.count('\n') > 1);
    QCOMPARE(readFile(gui_csv), expected_csv);
    QByteArray expected_json = readFile(json);
    QVERIFY(expected_json.startsWith("{\"counts\""));
    QCOMPARE(readFile(gui_json), expected_json);
}

// File > Export Keyed State of Checkpoint CSV writes the bytes sluice-run
// --keyed-state-csv writes, and rejects a checkpoint that is no longer retained.
void TestGuiCheckpoints::keyedStateExportEqualsSluiceRun() {
    QTemporaryDir folder;
    QVERIFY(folder.isValid());
    QString scenario = scenarioPath("aligned-vs-unaligned.textproto");
    QString state = folder.filePath(QStringLiteral("state.csv"));
    QVERIFY(runSluiceRun(scenario, {QStringLiteral("--keyed-state-csv"), state}));

    FinishedRun run;
    QVERIFY(finishRun(&run, scenario));
    QString gui_state = folder.filePath(QStringLiteral("gui-state.csv"));
    QString state_error = QStringLiteral("not done");
    ui::exportKeyedState(run.engine.session.get(), 0, gui_state,
                         [&](const QString& error) { state_error = error; });
    QTRY_VERIFY_WITH_TIMEOUT(state_error != QStringLiteral("not done"), kLoadTimeoutMs);
    QCOMPARE(state_error, QString());
    QByteArray expected_state = readFile(state);
    QVERIFY(expected_state.startsWith("checkpoint_id,task,subtask,key_group,state_name,key,"));
    QVERIFY(expected_state.count('\n') > 100);
    QCOMPARE(readFile(gui_state), expected_state);

    // A checkpoint that is not retained names the retained ones.
    ui::exportKeyedState(run.engine.session.get(), 1, folder.filePath(QStringLiteral("old.csv")),
                         [&](const QString& error) { state_error = error; });
    QTRY_VERIFY_WITH_TIMEOUT(state_error.contains(QStringLiteral("retained:")), kLoadTimeoutMs);
    QVERIFY(!QFile::exists(folder.filePath(QStringLiteral("old.csv"))));
}

void TestGuiCheckpoints::traceExportOfRunParses() {
    QTemporaryDir folder;
    QVERIFY(folder.isValid());
    FinishedRun run;
    QVERIFY(finishRun(&run, scenarioPath("aligned-vs-unaligned.textproto")));
    QString path = folder.filePath(QStringLiteral("trace.json"));
    QString error = QStringLiteral("not done");
    ui::exportTrace(run.engine.session.get(), &run.events, path,
                    [&](const QString& result) { error = result; });
    QTRY_VERIFY_WITH_TIMEOUT(error != QStringLiteral("not done"), kLoadTimeoutMs);
    QCOMPARE(error, QString());

    QJsonParseError parse;
    QJsonDocument doc = QJsonDocument::fromJson(readFile(path), &parse);
    QCOMPARE(parse.error, QJsonParseError::NoError);
    std::map<qint64, int> spans_per_checkpoint;
    // (checkpoint, pid, tid) to the end of its async span, in microseconds.
    std::map<std::tuple<qint64, int, int>, double> async_ends;
    int barrier_instants = 0;
    for (const QJsonValue& value : doc.object()[QStringLiteral("traceEvents")].toArray()) {
        QJsonObject event = value.toObject();
        if (event[QStringLiteral("cat")].toString() == QStringLiteral("checkpoint") &&
            event[QStringLiteral("ph")].toString() == QStringLiteral("X")) {
            QJsonObject args = event[QStringLiteral("args")].toObject();
            ++spans_per_checkpoint[args[QStringLiteral("checkpoint_id")].toInteger()];
        }
        if (event[QStringLiteral("name")].toString() == QStringLiteral("async")) {
            QJsonObject args = event[QStringLiteral("args")].toObject();
            async_ends[{args[QStringLiteral("checkpoint_id")].toInteger(),
                        event[QStringLiteral("pid")].toInt(),
                        event[QStringLiteral("tid")].toInt()}] =
                event[QStringLiteral("ts")].toDouble() + event[QStringLiteral("dur")].toDouble();
        }
        barrier_instants += event[QStringLiteral("cat")].toString() == QStringLiteral("barrier");
    }
    const ui::CheckpointHistoryModel* history = run.panel->historyModel();
    int completed = 0;
    for (int r = 0; r < history->rowCount(); ++r) {
        const protocol::CheckpointDetail& detail = history->checkpoint(r);
        if (detail.mark().status() == "COMPLETED") {
            QCOMPARE(spans_per_checkpoint[detail.mark().checkpoint_id()], detail.subtasks_size());
            // The asynchronous part ends when the subtask acknowledged.
            for (const auto& subtask : detail.subtasks()) {
                auto end = async_ends.find(
                    {detail.mark().checkpoint_id(), subtask.vertex() + 1, subtask.subtask() + 1});
                QVERIFY(end != async_ends.end());
                QCOMPARE(qRound64(end->second * 1000), subtask.ack_time_ns());
            }
            ++completed;
        }
    }
    QVERIFY(completed > 0);
    QVERIFY(barrier_instants > 0);
}

void TestGuiCheckpoints::sharedStateTabForRocksDb() {
    FinishedRun run;
    QVERIFY(finishRun(&run, scenarioPath("rocksdb-incremental.textproto")));
    QTRY_VERIFY_WITH_TIMEOUT(run.panel->sharedStateModel()->rowCount() > 0, kLoadTimeoutMs);
    QCOMPARE(run.panel->tabs()->count(), 2);
    QCOMPARE(run.panel->tabs()->tabText(1), QStringLiteral("Shared state"));
    const protocol::CheckpointSharedFile& file = run.panel->sharedStateModel()->file(0);
    QCOMPARE(file.reference_count(), file.checkpoint_ids_size());
    QVERIFY(file.size_bytes() > 0);
}

QTEST_MAIN(TestGuiCheckpoints)
#include "tst_gui_checkpoints.moc"
