#pragma once

#include "proto/engine_protocol.pb.h"

#include <QMainWindow>
#include <QString>
#include <QStringList>

class QAction;
class QLabel;
class QMenu;
class QTimer;

namespace sluice::ui {

class EngineSession;
class EventLogView;
class FaultMenu;
class JobGraphScene;
class JobGraphView;
class MetricsPanel;
class TimelineWidget;
class TransportBar;
class VerdictPanel;
struct FaultTarget;

// The main window of `sluice`. The live job graph fills the centre with the
// timeline under it, the transport bar sits on top, and the verdict and the
// event log are docks. The status bar shows simulated time, run state,
// seed, events per second and digest. Every action goes to the engine
// through the session, and the window never waits for a reply.
//
// Geometry, dock layout, speed and recent files persist in QSettings.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    // `session` must outlive the window.
    explicit MainWindow(EngineSession* session, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Opens a scenario (.textproto, .json) or else a recording.
    void openFile(const QString& path);
    // Loads scenario text. `path` names it and resolves its data paths.
    void openScenarioText(const QString& path, const QString& text);
    // Shows an error to the user without blocking, and logs it.
    void showError(const QString& title, const QString& message);

    EngineSession* session() const { return session_; }
    JobGraphScene* scene() const { return scene_; }
    JobGraphView* graphView() const { return view_; }
    TransportBar* transportBar() const { return transport_; }
    TimelineWidget* timeline() const { return timeline_; }
    VerdictPanel* verdictPanel() const { return verdict_; }
    EventLogView* eventLog() const { return event_log_; }
    MetricsPanel* metricsPanel() const { return metrics_; }
    FaultMenu* faultMenu() const { return fault_menu_; }
    QStringList recentFiles() const { return recent_files_; }
    // The latest error shown, for tests, or empty.
    QString lastError() const { return last_error_; }

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    // Construction, in main_window.cpp.
    void buildCentre();
    void buildDocks();
    void buildMenus();
    void buildFileMenu();
    void buildViewMenu();
    void buildStatusBar();
    void connectSession();
    void connectViews();

    // Reactions to the engine.
    void onStatus(const protocol::Status& status);
    void onJobGraph(const protocol::JobGraph& graph);
    void onRunLoaded(const QString& path);
    void onFrame(const protocol::Frame& frame);
    void applyPendingFrame();
    void onFaultMenuRequested(const FaultTarget& target, QPoint screen_pos);

    // Files and settings, in main_window_files.cpp.
    void openDialog();
    void openRecordingDialog();
    void saveRecordingDialog();
    void exportMetricsDialog();
    void addRecentFile(const QString& path);
    void rebuildRecentMenu();
    void restoreSettings();
    void saveSettings() const;
    void showAbout();

    EngineSession* session_;
    JobGraphScene* scene_;
    JobGraphView* view_ = nullptr;
    TransportBar* transport_ = nullptr;
    TimelineWidget* timeline_ = nullptr;
    VerdictPanel* verdict_ = nullptr;
    EventLogView* event_log_ = nullptr;
    MetricsPanel* metrics_ = nullptr;
    FaultMenu* fault_menu_;
    QMenu* view_menu_ = nullptr;
    QMenu* recent_menu_ = nullptr;
    QAction* save_recording_ = nullptr;
    QAction* export_metrics_ = nullptr;

    QLabel* time_label_ = nullptr;
    QLabel* state_label_ = nullptr;
    QLabel* seed_label_ = nullptr;
    QLabel* rate_label_ = nullptr;
    QLabel* digest_label_ = nullptr;

    // Frames are applied at most once per redraw interval, and only the
    // newest waiting frame is kept.
    QTimer* redraw_timer_;
    protocol::Frame pending_frame_;
    bool has_pending_frame_ = false;

    QStringList recent_files_;
    QString current_path_;
    QString last_error_;
};

}  // namespace sluice::ui
