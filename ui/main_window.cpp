#include "ui/main_window.h"

#include "ui/checkpoints_dock.h"
#include "ui/engine_session.h"
#include "ui/event_log_model.h"
#include "ui/event_log_view.h"
#include "ui/fault_menu.h"
#include "ui/state_inspector_dock.h"
#include "ui/job_graph_scene.h"
#include "ui/job_graph_view.h"
#include "ui/logging_categories.h"
#include "ui/metrics_panel.h"
#include "ui/timeline_widget.h"
#include "ui/transport_bar.h"
#include "ui/verdict_panel.h"

#include <QDockWidget>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QTimer>
#include <QVBoxLayout>

namespace sluice::ui {

namespace {

// About 30 redraws per second, the rate the engine publishes frames at.
constexpr int kRedrawIntervalMs = 33;

QString runStateText(protocol::RunState state) {
    switch (state) {
        case protocol::EMPTY:
            return QStringLiteral("no scenario");
        case protocol::PAUSED:
            return QStringLiteral("paused");
        case protocol::PLAYING:
            return QStringLiteral("playing");
        case protocol::FINISHED:
            return QStringLiteral("finished");
        case protocol::FAILED:
            return QStringLiteral("job failed");
        case protocol::TIME_LIMIT:
            return QStringLiteral("time limit reached");
        case protocol::STALLED:
            return QStringLiteral("stalled");
        default:
            return QStringLiteral("connecting");
    }
}

}  // namespace

MainWindow::MainWindow(EngineSession* session, QWidget* parent)
    : QMainWindow(parent),
      session_(session),
      scene_(new JobGraphScene(this)),
      fault_menu_(new FaultMenu(this)),
      redraw_timer_(new QTimer(this)) {
    setWindowTitle(tr("Sluice"));
    setAcceptDrops(true);
    redraw_timer_->setSingleShot(true);
    redraw_timer_->setInterval(kRedrawIntervalMs);
    connect(redraw_timer_, &QTimer::timeout, this, &MainWindow::applyPendingFrame);
    buildCentre();
    buildDocks();
    buildMenus();
    buildStatusBar();
    connectSession();
    connectViews();
    resize(1500, 950);
    resizeDocks({findChild<QDockWidget*>("event-log-dock")}, {220}, Qt::Vertical);
    resizeDocks({findChild<QDockWidget*>("verdict-dock")}, {300}, Qt::Horizontal);
    restoreSettings();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildCentre() {
    auto* centre = new QWidget(this);
    auto* layout = new QVBoxLayout(centre);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    view_ = new JobGraphView(centre);
    view_->setScene(scene_);
    timeline_ = new TimelineWidget(centre);
    layout->addWidget(view_, 1);
    layout->addWidget(timeline_);
    setCentralWidget(centre);
    transport_ = new TransportBar(this);
    addToolBar(Qt::TopToolBarArea, transport_);
}

void MainWindow::buildDocks() {
    auto* verdict_dock = new QDockWidget(tr("Verdict"), this);
    verdict_dock->setObjectName(QStringLiteral("verdict-dock"));
    verdict_ = new VerdictPanel(verdict_dock);
    verdict_dock->setWidget(verdict_);
    addDockWidget(Qt::RightDockWidgetArea, verdict_dock);
    auto* log_dock = new QDockWidget(tr("Event Log"), this);
    log_dock->setObjectName(QStringLiteral("event-log-dock"));
    event_log_ = new EventLogView(log_dock);
    log_dock->setWidget(event_log_);
    addDockWidget(Qt::BottomDockWidgetArea, log_dock);
    metrics_ = addMetricsDock(this, session_, timeline_);
    addStateInspectorDock(this, session_);
    addCheckpointsDock(session_, this);
}

void MainWindow::buildMenus() {
    buildFileMenu();
    QMenu* run = menuBar()->addMenu(tr("&Run"));
    run->addActions(transport_->runActions());
    menuBar()->addMenu(fault_menu_->faultsMenu());
    buildViewMenu();
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Sluice"), this, &MainWindow::showAbout);
}

void MainWindow::buildViewMenu() {
    view_menu_ = menuBar()->addMenu(tr("&View"));
    QAction* zoom_in = view_menu_->addAction(tr("Zoom &In"), view_, &JobGraphView::zoomIn);
    zoom_in->setShortcut(QKeySequence::ZoomIn);
    QAction* zoom_out = view_menu_->addAction(tr("Zoom &Out"), view_, &JobGraphView::zoomOut);
    zoom_out->setShortcut(QKeySequence::ZoomOut);
    QAction* fit = view_menu_->addAction(tr("&Fit Graph"), view_, &JobGraphView::fitAll);
    fit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
    view_menu_->addSeparator();
    for (QDockWidget* dock : findChildren<QDockWidget*>()) {
        view_menu_->addAction(dock->toggleViewAction());
    }
    view_menu_->addAction(transport_->toggleViewAction());
}

void MainWindow::buildStatusBar() {
    time_label_ = new QLabel(this);
    state_label_ = new QLabel(this);
    seed_label_ = new QLabel(this);
    rate_label_ = new QLabel(this);
    digest_label_ = new QLabel(this);
    time_label_->setToolTip(tr("Simulated time"));
    digest_label_->setToolTip(tr("Running digest of the event stream"));
    for (QLabel* label : {state_label_, time_label_, seed_label_, rate_label_, digest_label_}) {
        statusBar()->addPermanentWidget(label);
    }
    onStatus(protocol::Status());
}

void MainWindow::connectSession() {
    connect(session_, &EngineSession::statusChanged, this, &MainWindow::onStatus);
    connect(session_, &EngineSession::jobGraphChanged, this, &MainWindow::onJobGraph);
    connect(session_, &EngineSession::runLoaded, this, &MainWindow::onRunLoaded);
    // After a move backward the engine sends the later events again.
    connect(session_, &EngineSession::positionSet, event_log_->model(),
            &EventLogModel::truncateAfter);
    connect(session_, &EngineSession::frameReceived, this, &MainWindow::onFrame);
    connect(session_, &EngineSession::eventsReceived, event_log_->model(),
            &EventLogModel::appendEvents);
    connect(session_, &EngineSession::commandFailed, this, [this](const QString& message) {
        // A command sent while a long move runs is refused; that is no
        // error the user must acknowledge.
        if (message.startsWith(QStringLiteral("the engine is busy"))) {
            statusBar()->showMessage(tr("Still moving; the command was not run."), 4000);
            return;
        }
        showError(tr("Command failed"), message);
    });
    connect(session_, &EngineSession::connectionLost, this, [this](const QString& message) {
        transport_->setRunState(protocol::EMPTY);
        state_label_->setText(tr("disconnected"));
        showError(tr("Connection to the engine lost"), message);
    });
}

void MainWindow::connectViews() {
    connect(transport_, &TransportBar::playRequested, session_, &EngineSession::play);
    connect(transport_, &TransportBar::pauseRequested, session_, &EngineSession::pause);
    connect(transport_, &TransportBar::stepEventRequested, session_,
            [this] { session_->stepEvent(1); });
    connect(transport_, &TransportBar::stepToBarrierRequested, session_,
            &EngineSession::stepToBarrierEvent);
    connect(transport_, &TransportBar::runToCheckpointRequested, session_,
            &EngineSession::runToCheckpoint);
    connect(transport_, &TransportBar::speedRequested, session_, &EngineSession::setSpeed);
    connect(timeline_, &TimelineWidget::seekRequested, session_, &EngineSession::seek);
    connect(verdict_, &VerdictPanel::seekRequested, session_, &EngineSession::seek);
    connect(event_log_, &EventLogView::seekRequested, session_, &EngineSession::seek);
    connect(fault_menu_, &FaultMenu::faultRequested, session_, &EngineSession::injectFault);
    connect(scene_, &JobGraphScene::faultMenuRequested, this, &MainWindow::onFaultMenuRequested);
}

void MainWindow::onStatus(const protocol::Status& status) {
    transport_->setRunState(status.run_state());
    state_label_->setText(
        runStateText(status.run_state()) +
        (status.job_status().empty()
             ? QString()
             : tr(", job %1").arg(QString::fromStdString(status.job_status()))) +
        (status.num_restarts() > 0 ? tr(", restarts: %1").arg(status.num_restarts()) : QString()));
    time_label_->setText(tr("t = %1 s").arg(status.now_ns() / 1e9, 0, 'f', 3));
    seed_label_->setText(tr("seed %1").arg(status.seed()));
    rate_label_->setText(tr("%1 events/s").arg(status.events_per_second(), 0, 'f', 0));
    digest_label_->setText(tr("digest %1").arg(QString::fromStdString(status.digest())));
    verdict_->setVerdict(status.verdict());
    protocol::RunState state = status.run_state();
    verdict_->setRunOver(state == protocol::FINISHED || state == protocol::FAILED ||
                         state == protocol::TIME_LIMIT || state == protocol::STALLED);
    fault_menu_->setCurrentAttempt(status.num_restarts());
}

void MainWindow::onJobGraph(const protocol::JobGraph& graph) {
    scene_->setJobGraph(graph);
    fault_menu_->setJobGraph(graph);
    event_log_->setJobGraph(graph);
    QTimer::singleShot(0, view_, &JobGraphView::fitAll);
}

void MainWindow::onRunLoaded(const QString& path) {
    current_path_ = path;
    setWindowTitle(tr("Sluice - %1").arg(QFileInfo(path).fileName()));
    event_log_->model()->clear();
    timeline_->clear();
    verdict_->clear();
    has_pending_frame_ = false;
    session_->setSpeed(transport_->speed());
    addRecentFile(path);
}

void MainWindow::onFrame(const protocol::Frame& frame) {
    pending_frame_ = frame;
    has_pending_frame_ = true;
    if (!redraw_timer_->isActive()) {
        redraw_timer_->start();
    }
}

void MainWindow::applyPendingFrame() {
    if (!has_pending_frame_) {
        return;
    }
    has_pending_frame_ = false;
    scene_->applyFrame(pending_frame_);
    timeline_->applyFrame(pending_frame_);
    std::vector<int64_t> completed;
    for (const protocol::CheckpointMark& mark : pending_frame_.checkpoints()) {
        if (mark.status() == "COMPLETED") {
            completed.push_back(mark.checkpoint_id());
        }
    }
    fault_menu_->setCompletedCheckpoints(completed);
}

void MainWindow::onFaultMenuRequested(const FaultTarget& target, QPoint screen_pos) {
    auto* menu = new QMenu(this);
    menu->setAttribute(Qt::WA_DeleteOnClose);
    fault_menu_->populate(menu, target);
    menu->popup(screen_pos);
}

void MainWindow::showError(const QString& title, const QString& message) {
    qCWarning(lcUiMain) << title << ":" << message;
    last_error_ = message;
    statusBar()->showMessage(message, 10000);
    auto* box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // open(), not exec(): the window keeps processing telemetry meanwhile.
    box->open();
}

}  // namespace sluice::ui
