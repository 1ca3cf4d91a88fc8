// The main window against a real engine service. A test loads flights, runs
// to checkpoint 3, kills a TaskManager through the Faults menu's action,
// runs to the end and reads the verdict, which is FAIL with a deliberate
// bug. Waits use generous timeouts and assert no durations.
#include "gui_test_support.h"
#include "test_support.h"
#include "ui/event_log_model.h"
#include "ui/event_log_view.h"
#include "ui/fault_menu.h"
#include "ui/job_graph_scene.h"
#include "ui/main_window.h"
#include "ui/metrics_csv.h"
#include "ui/timeline_widget.h"
#include "ui/transport_bar.h"
#include "ui/verdict_panel.h"

#include <QAction>
#include <QFile>
#include <QFileInfo>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <sstream>
#include <thread>

using namespace sluice;

namespace {

constexpr int kLoadTimeoutMs = 60000;
constexpr int kRunTimeoutMs = 300000;

QString flightsPath() {
    return QString::fromStdString(test::sourcePath("scenarios/flights.textproto"));
}

// The highest checkpoint id the timeline shows as COMPLETED.
int64_t lastCompletedCheckpoint(const ui::TimelineWidget& timeline) {
    int64_t last = 0;
    for (const protocol::CheckpointMark& mark : timeline.checkpoints()) {
        if (mark.status() == "COMPLETED") {
            last = std::max(last, mark.checkpoint_id());
        }
    }
    return last;
}

int injectedFaults(const ui::TimelineWidget& timeline) {
    int count = 0;
    for (const protocol::FaultMark& fault : timeline.faults()) {
        count += fault.injected() ? 1 : 0;
    }
    return count;
}

}  // namespace

class TestGuiEndToEnd : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Keeps recent files and window state of the tests out of the user's
    // settings.
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void flightsPassesAfterTaskManagerKill();
    void droppedFileOpensAndIsRecent();
    void flightsFailsWithoutSourceRewind();
    void previousCheckpointSeeksBack();
    void quickPressesAllMove();
    void recordingReplaysInjectedFault();
    void runMenuListsShortcuts();
    void metricsCsvEqualsSluiceRun();
    void invalidScenarioShowsLocation();
    void lostEngineShowsMessage();
    void otherProtocolVersionShowsMessage();

private:
    // Opens a scenario, runs to checkpoint 3, kills TaskManager 0 through
    // the Faults menu and plays until the verdict panel shows a verdict.
    void runFlightsWithKill(ui::MainWindow& window, const QString& text);
    // Opens flights and waits until it is loaded and paused at event 0.
    void openFlights(ui::MainWindow& window);
};

void TestGuiEndToEnd::openFlights(ui::MainWindow& window) {
    window.openFile(flightsPath());
    QTRY_COMPARE_WITH_TIMEOUT(window.session()->status().run_state(), protocol::PAUSED,
                              kLoadTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(window.scene()->vertexItemCount(), 3, kLoadTimeoutMs);
}

void TestGuiEndToEnd::runFlightsWithKill(ui::MainWindow& window, const QString& text) {
    window.openScenarioText(flightsPath(), text);
    QTRY_COMPARE_WITH_TIMEOUT(window.scene()->vertexItemCount(), 3, kLoadTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(window.session()->status().run_state(), protocol::PAUSED,
                              kLoadTimeoutMs);
    window.session()->setSpeed(0);
    ui::TransportBar* transport = window.transportBar();
    while (lastCompletedCheckpoint(*window.timeline()) < 3) {
        int64_t before = lastCompletedCheckpoint(*window.timeline());
        QVERIFY2(transport->nextCheckpointAction()->isEnabled(), "cannot run to a checkpoint");
        transport->nextCheckpointAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(lastCompletedCheckpoint(*window.timeline()) > before &&
                                     window.session()->status().run_state() == protocol::PAUSED,
                                 kRunTimeoutMs);
    }
    QAction* kill = window.faultMenu()->findAction(QStringLiteral("kill-task-manager-0"));
    QVERIFY(kill != nullptr);
    kill->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(injectedFaults(*window.timeline()), 1, kRunTimeoutMs);
    transport->playPauseAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(!window.verdictPanel()->verdictText().isEmpty(), kRunTimeoutMs);
}

void TestGuiEndToEnd::flightsPassesAfterTaskManagerKill() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::MainWindow window(engine.session.get());
    window.show();
    QFile file(flightsPath());
    QVERIFY(file.open(QIODevice::ReadOnly));
    runFlightsWithKill(window, QString::fromUtf8(file.readAll()));
    if (QTest::currentTestFailed()) {
        return;
    }
    QCOMPARE(window.verdictPanel()->verdictText(), QStringLiteral("PASS"));
    QVERIFY(window.lastError().isEmpty());
    QVERIFY(engine.session->status().num_restarts() >= 1);
    QCOMPARE(engine.session->status().run_state(), protocol::FINISHED);
}

void TestGuiEndToEnd::flightsFailsWithoutSourceRewind() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::MainWindow window(engine.session.get());
    window.show();
    QFile file(flightsPath());
    QVERIFY(file.open(QIODevice::ReadOnly));
    QString text = QString::fromUtf8(file.readAll()) +
                   QStringLiteral("\nbugs { dont_rewind_sources: true }\n");
    runFlightsWithKill(window, text);
    if (QTest::currentTestFailed()) {
        return;
    }
    QCOMPARE(window.verdictPanel()->verdictText(), QStringLiteral("FAIL"));
    QVERIFY(!window.verdictPanel()->explanation().isEmpty());
    QSignalSpy seeks(window.verdictPanel(), &ui::VerdictPanel::seekRequested);
    window.verdictPanel()->seekButton()->click();
    QCOMPARE(seeks.count(), 1);
}

// Dropping a scenario file on the window opens it and adds it to the recent
// files.
void TestGuiEndToEnd::droppedFileOpensAndIsRecent() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::MainWindow window(engine.session.get());
    window.show();
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(flightsPath())});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &drop);
    QTRY_COMPARE_WITH_TIMEOUT(window.scene()->vertexItemCount(), 3, kLoadTimeoutMs);
    QVERIFY(window.windowTitle().contains(QStringLiteral("flights.textproto")));
    QCOMPARE(window.recentFiles().value(0), QFileInfo(flightsPath()).absoluteFilePath());
}

// Previous Checkpoint goes back to the completion of checkpoint 2, and the
// event log drops the events after it.
void TestGuiEndToEnd::previousCheckpointSeeksBack() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::MainWindow window(engine.session.get());
    openFlights(window);
    if (QTest::currentTestFailed()) {
        return;
    }
    ui::TransportBar* transport = window.transportBar();
    for (int64_t checkpoint = 1; checkpoint <= 3; ++checkpoint) {
        transport->nextCheckpointAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(lastCompletedCheckpoint(*window.timeline()) == checkpoint &&
                                     engine.session->status().run_state() == protocol::PAUSED,
                                 kRunTimeoutMs);
    }
    uint64_t at_third = engine.session->status().event_index();
    uint64_t second_end = 0;
    for (const protocol::CheckpointMark& mark : window.timeline()->checkpoints()) {
        if (mark.checkpoint_id() == 2) {
            second_end = mark.end_event();
        }
    }
    QVERIFY(second_end > 0);
    QVERIFY(second_end < at_third);
    transport->previousCheckpointAction()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(engine.session->status().event_index(), second_end, kRunTimeoutMs);
    ui::EventLogModel* log = window.eventLog()->model();
    QTRY_VERIFY_WITH_TIMEOUT(log->rowCount() > 0, kRunTimeoutMs);
    QVERIFY(log->event(log->rowCount() - 1).event_index() <= second_end);
    // The events up to the target stay, the completion of checkpoint 2 too.
    bool second_completed = false;
    for (int row = 0; row < log->rowCount(); ++row) {
        const protocol::Event& event = log->event(row);
        second_completed =
            second_completed ||
            (event.kind() == protocol::Event::CHECKPOINT_COMPLETED && event.checkpoint_id() == 2);
    }
    QVERIFY(second_completed);
}

// Presses that come faster than the moves end are queued, not refused:
// three quick presses of Next Checkpoint reach checkpoint 3, and no error
// dialog opens.
void TestGuiEndToEnd::quickPressesAllMove() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::MainWindow window(engine.session.get());
    openFlights(window);
    if (QTest::currentTestFailed()) {
        return;
    }
    ui::TransportBar* transport = window.transportBar();
    for (int press = 0; press < 3; ++press) {
        transport->nextCheckpointAction()->trigger();
    }
    QTRY_VERIFY_WITH_TIMEOUT(lastCompletedCheckpoint(*window.timeline()) == 3 &&
                                 engine.session->status().run_state() == protocol::PAUSED,
                             kRunTimeoutMs);
    QVERIFY2(window.lastError().isEmpty(), qPrintable(window.lastError()));
}

// A recording saved after a fault injected from the GUI replays that fault
// and ends with the same digest and verdict.
void TestGuiEndToEnd::recordingReplaysInjectedFault() {
    QTemporaryDir folder;
    QVERIFY(folder.isValid());
    QString recording = folder.filePath(QStringLiteral("flights.recording"));
    QString digest;
    {
        test::ServedEngine engine;
        QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
        ui::MainWindow window(engine.session.get());
        QFile file(flightsPath());
        QVERIFY(file.open(QIODevice::ReadOnly));
        runFlightsWithKill(window, QString::fromUtf8(file.readAll()));
        if (QTest::currentTestFailed()) {
            return;
        }
        QCOMPARE(window.verdictPanel()->verdictText(), QStringLiteral("PASS"));
        digest = QString::fromStdString(engine.session->status().digest());
        bool saved = false;
        engine.session->saveRecording(recording, [&](const protocol::Reply& reply) {
            QVERIFY2(reply.error().empty(), reply.error().c_str());
            saved = true;
        });
        QTRY_VERIFY_WITH_TIMEOUT(saved, kLoadTimeoutMs);
    }
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::MainWindow window(engine.session.get());
    window.openFile(recording);
    QTRY_COMPARE_WITH_TIMEOUT(window.scene()->vertexItemCount(), 3, kLoadTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(engine.session->status().run_state(), protocol::PAUSED,
                              kLoadTimeoutMs);
    engine.session->setSpeed(0);
    window.transportBar()->playPauseAction()->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(!window.verdictPanel()->verdictText().isEmpty(), kRunTimeoutMs);
    QCOMPARE(window.verdictPanel()->verdictText(), QStringLiteral("PASS"));
    QCOMPARE(QString::fromStdString(engine.session->status().digest()), digest);
    QVERIFY(injectedFaults(*window.timeline()) >= 1);
}

// Every transport action is in the Run menu with its keyboard shortcut.
void TestGuiEndToEnd::runMenuListsShortcuts() {
    test::ServedEngine engine;
    ui::MainWindow window(engine.session.get());
    QMenu* run = nullptr;
    for (QAction* action : window.menuBar()->actions()) {
        if (action->text() == QStringLiteral("&Run")) {
            run = action->menu();
        }
    }
    QVERIFY(run != nullptr);
    for (QAction* action : window.transportBar()->runActions()) {
        QVERIFY2(run->actions().contains(action), qPrintable(action->text()));
        QVERIFY2(!action->shortcut().isEmpty(), qPrintable(action->text()));
    }
}

// Export Metrics CSV writes what `sluice-run --metrics-csv` writes for the
// same run, byte for byte.
void TestGuiEndToEnd::metricsCsvEqualsSluiceRun() {
    QTemporaryDir folder;
    QVERIFY(folder.isValid());
    QString reference = folder.filePath(QStringLiteral("sluice-run.csv"));
    QProcess run;
    run.start(QString::fromStdString(test::binaryPath("sluice-run")),
              {flightsPath(), QStringLiteral("--metrics-csv"), reference});
    QVERIFY(run.waitForFinished(kRunTimeoutMs));
    QCOMPARE(run.exitCode(), 0);
    QFile reference_file(reference);
    QVERIFY(reference_file.open(QIODevice::ReadOnly));
    QByteArray expected = reference_file.readAll();

    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::MainWindow window(engine.session.get());
    window.openFile(flightsPath());
    QTRY_COMPARE_WITH_TIMEOUT(window.scene()->vertexItemCount(), 3, kLoadTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(engine.session->status().run_state(), protocol::PAUSED,
                              kLoadTimeoutMs);
    engine.session->setSpeed(0);
    window.transportBar()->playPauseAction()->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(engine.session->status().run_state(), protocol::FINISHED,
                              kRunTimeoutMs);
    QByteArray written;
    engine.session->queryMetrics([&](const protocol::Reply& reply) {
        std::ostringstream out;
        ui::writeMetricsCsv(out, reply.metrics());
        written = QByteArray::fromStdString(out.str());
    });
    QTRY_VERIFY_WITH_TIMEOUT(!written.isEmpty(), kLoadTimeoutMs);
    QVERIFY(written.startsWith("time_ms,task,subtask,metric,value\n"));
    QCOMPARE(written.count('\n'), expected.count('\n'));
    QCOMPARE(written, expected);
}

void TestGuiEndToEnd::invalidScenarioShowsLocation() {
    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    ui::MainWindow window(engine.session.get());
    window.openScenarioText(QStringLiteral("broken.textproto"),
                            QStringLiteral("name: \"x\"\njob {\n  paralelism: 3\n}\n"));
    QTRY_VERIFY_WITH_TIMEOUT(!window.lastError().isEmpty(), kLoadTimeoutMs);
    // file:line:column, then the message.
    QVERIFY2(window.lastError().contains(QStringLiteral("broken.textproto:3:")),
             qPrintable(window.lastError()));
    QVERIFY2(window.lastError().contains(QStringLiteral("paralelism")),
             qPrintable(window.lastError()));
    QCOMPARE(window.scene()->vertexItemCount(), 0);
}

void TestGuiEndToEnd::lostEngineShowsMessage() {
    ui::EngineClient client;
    client.setReplyTimeoutMs(500);
    QString error;
    QVERIFY(client.connectTo(nullptr, "tcp://127.0.0.1:9", "tcp://127.0.0.1:10", &error));
    ui::EngineSession session(&client);
    ui::MainWindow window(&session);
    QSignalSpy lost(&session, &ui::EngineSession::connectionLost);
    bool replied = false;
    session.hello([&](const protocol::Reply&) { replied = true; });
    QTRY_COMPARE_WITH_TIMEOUT(lost.count(), 1, 30000);
    QVERIFY(!window.lastError().isEmpty());
    QVERIFY(!replied);
    QVERIFY(!window.transportBar()->playPauseAction()->isEnabled());
}

// An engine that replies with another protocol version: the window says so
// instead of using the reply.
void TestGuiEndToEnd::otherProtocolVersionShowsMessage() {
    zmq::context_t context;
    zmq::socket_t fake(context, zmq::socket_type::rep);
    fake.bind("inproc://other-version-commands");
    std::thread server([&fake] {
        zmq::message_t message;
        if (!fake.recv(message)) {
            return;
        }
        protocol::Request request;
        request.ParseFromArray(message.data(), int(message.size()));
        protocol::Reply reply;
        reply.set_version(protocol::VERSION_CURRENT + 1);
        reply.set_request_id(request.request_id());
        std::string bytes = reply.SerializeAsString();
        fake.send(zmq::buffer(bytes));
    });
    {
        ui::EngineClient client;
        QString error;
        QVERIFY(client.connectTo(&context, "inproc://other-version-commands",
                                 "inproc://other-version-telemetry", &error));
        ui::EngineSession session(&client);
        ui::MainWindow window(&session);
        QSignalSpy lost(&session, &ui::EngineSession::connectionLost);
        bool replied = false;
        session.hello([&](const protocol::Reply&) { replied = true; });
        QTRY_COMPARE_WITH_TIMEOUT(lost.count(), 1, 30000);
        QVERIFY2(window.lastError().contains(QStringLiteral("version")),
                 qPrintable(window.lastError()));
        QVERIFY(!replied);
    }
    server.join();
}

QTEST_MAIN(TestGuiEndToEnd)
#include "tst_gui_end_to_end.moc"
