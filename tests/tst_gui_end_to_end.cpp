// The main window against a real engine service. A test loads flights, runs
// to checkpoint 3, kills a TaskManager through the Faults menu's action,
// runs to the end and reads the verdict, which is FAIL with a deliberate
// bug. Waits use generous timeouts and assert no durations.
#include "gui_test_support.h"
#include "test_support.h"
#include "ui/fault_menu.h"
#include "ui/job_graph_scene.h"
#include "ui/main_window.h"
#include "ui/metrics_csv.h"
#include "ui/timeline_widget.h"
#include "ui/transport_bar.h"
#include "ui/verdict_panel.h"

#include <QAction>
#include <QFile>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <sstream>

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
    void flightsPassesAfterTaskManagerKill();
    void flightsFailsWithoutSourceRewind();
    void metricsCsvEqualsSluiceRun();
    void invalidScenarioShowsLocation();
    void lostEngineShowsMessage();

private:
    // Opens a scenario, runs to checkpoint 3, kills TaskManager 0 through
    // the Faults menu and plays until the verdict panel shows a verdict.
    void runFlightsWithKill(ui::MainWindow& window, const QString& text);
};

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

QTEST_MAIN(TestGuiEndToEnd)
#include "tst_gui_end_to_end.moc"
