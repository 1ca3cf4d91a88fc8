// Files, recent files, drag and drop and settings of the main window.
#include "ui/main_window.h"

#include "ui/checkpoint_exports.h"
#include "ui/checkpoints_dock.h"
#include "ui/engine_session.h"
#include "ui/event_log_model.h"
#include "ui/event_log_view.h"
#include "ui/logging_categories.h"
#include "ui/metrics_csv.h"
#include "ui/transport_bar.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>

#include <fstream>

namespace sluice::ui {

namespace {

constexpr int kMaxRecentFiles = 10;

bool isScenarioFile(const QString& path) {
    QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == "textproto" || suffix == "txtpb" || suffix == "json";
}

}  // namespace

void MainWindow::buildFileMenu() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open Scenario..."), QKeySequence::Open, this, &MainWindow::openDialog);
    file->addAction(tr("Open &Recording..."), this, &MainWindow::openRecordingDialog);
    recent_menu_ = file->addMenu(tr("Open R&ecent"));
    file->addSeparator();
    save_recording_ = file->addAction(tr("&Save Recording..."), QKeySequence::Save, this,
                                      &MainWindow::saveRecordingDialog);
    export_metrics_ =
        file->addAction(tr("&Export Metrics CSV..."), this, &MainWindow::exportMetricsDialog);
    addCheckpointExportActions(
        file, session_, event_log_->model(),
        [this]() -> int64_t {
            auto* panel = findChild<CheckpointsPanel*>();
            return panel ? panel->selectedId() : 0;
        },
        this);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
}

void MainWindow::openFile(const QString& path) {
    qCInfo(lcUiMain) << "open" << path;
    if (isScenarioFile(path)) {
        session_->loadScenario(path);
    } else {
        session_->loadRecording(path);
    }
}

void MainWindow::openScenarioText(const QString& path, const QString& text) {
    qCInfo(lcUiMain) << "open scenario text named" << path;
    session_->loadScenario(path, text);
}

void MainWindow::openDialog() {
    QString path = QFileDialog::getOpenFileName(
        this, tr("Open Scenario"), QFileInfo(current_path_).absolutePath(),
        tr("Scenarios (*.textproto *.txtpb *.json);;Recordings (*.recording);;All files (*)"));
    if (!path.isEmpty()) {
        openFile(path);
    }
}

void MainWindow::openRecordingDialog() {
    QString path = QFileDialog::getOpenFileName(this, tr("Open Recording"),
                                                QFileInfo(current_path_).absolutePath(),
                                                tr("Recordings (*.recording);;All files (*)"));
    if (!path.isEmpty()) {
        session_->loadRecording(path);
    }
}

void MainWindow::saveRecordingDialog() {
    QString path = QFileDialog::getSaveFileName(this, tr("Save Recording"),
                                                QFileInfo(current_path_).baseName() + ".recording");
    if (path.isEmpty()) {
        return;
    }
    session_->saveRecording(path, [this, path](const protocol::Reply& reply) {
        if (reply.error().empty()) {
            statusBar()->showMessage(tr("Recording saved to %1").arg(path), 5000);
        }
    });
}

void MainWindow::exportMetricsDialog() {
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export Metrics CSV"), QFileInfo(current_path_).baseName() + "-metrics.csv",
        tr("CSV files (*.csv)"));
    if (path.isEmpty()) {
        return;
    }
    session_->queryMetrics([this, path](const protocol::Reply& reply) {
        if (!reply.error().empty()) {
            return;  // the session already reported it
        }
        std::ofstream out(path.toStdString(), std::ios::binary);
        writeMetricsCsv(out, reply.metrics());
        out.close();
        if (!out) {
            showError(
                tr("Export failed"),
                tr("Could not write %1. Check that its folder exists and is writable.").arg(path));
            return;
        }
        qCInfo(lcUiMain) << "exported" << reply.metrics().samples_size() << "samples to" << path;
        statusBar()->showMessage(
            tr("%1 metric samples written to %2").arg(reply.metrics().samples_size()).arg(path),
            5000);
    });
}

void MainWindow::addRecentFile(const QString& path) {
    if (path.isEmpty() || path.startsWith(':')) {
        return;
    }
    QString absolute = QFileInfo(path).absoluteFilePath();
    recent_files_.removeAll(absolute);
    recent_files_.prepend(absolute);
    while (recent_files_.size() > kMaxRecentFiles) {
        recent_files_.removeLast();
    }
    rebuildRecentMenu();
    QSettings().setValue("files/recent", recent_files_);
}

void MainWindow::rebuildRecentMenu() {
    recent_menu_->clear();
    for (const QString& path : recent_files_) {
        recent_menu_->addAction(QFileInfo(path).fileName(), this, [this, path] { openFile(path); })
            ->setToolTip(path);
    }
    recent_menu_->setEnabled(!recent_files_.isEmpty());
}

void MainWindow::restoreSettings() {
    QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    restoreState(settings.value("window/state").toByteArray());
    recent_files_ = settings.value("files/recent").toStringList();
    if (settings.contains("run/speed")) {
        transport_->setSpeed(settings.value("run/speed").toDouble());
    }
    rebuildRecentMenu();
}

void MainWindow::saveSettings() const {
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState());
    settings.setValue("files/recent", recent_files_);
    settings.setValue("run/speed", transport_->speed());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveSettings();
    QMainWindow::closeEvent(event);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls() && event->mimeData()->urls().first().isLocalFile()) {
        event->acceptProposedAction();
    }
}

void MainWindow::dropEvent(QDropEvent* event) {
    QString path = event->mimeData()->urls().first().toLocalFile();
    event->acceptProposedAction();
    openFile(path);
}

void MainWindow::showAbout() {
    QMessageBox::about(
        this, tr("About Sluice"),
        tr("<p><b>Sluice</b> simulates checkpointed stream processing in the style of "
           "Apache Flink and checks that recovery is exactly-once.</p>"
           "<p>Right-click a subtask, channel or TaskManager to inject a fault. "
           "Click a checkpoint or fault on the timeline to go to it.</p>"));
}

}  // namespace sluice::ui
