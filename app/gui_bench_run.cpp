#include "app/gui_bench_run.h"

#include "sim/engine_service.h"
#include "ui/engine_client.h"
#include "ui/engine_session.h"
#include "ui/main_window.h"
#include "ui/transport_bar.h"

#include <zmq.hpp>

#include <QApplication>
#include <QElapsedTimer>
#include <QTimer>

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <set>

namespace sluice::gui_bench {

namespace {

using ui::EngineSession;
using ui::MainWindow;

// Time the scenario may take to load before the run counts as failed.
constexpr int kLoadTimeoutMs = 60000;

// CPU time of the calling thread. Cheaper than getrusage, so the probe can
// read it at every timeout.
double threadCpuMs() {
    timespec time{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time);
    return double(time.tv_sec) * 1e3 + double(time.tv_nsec) / 1e6;
}

// Loads the scenario through the window, plays it at full speed, probes the
// GUI thread and counts telemetry until the wall time is up, then pauses the
// engine and leaves the event loop. GUI thread only.
class Driver {
public:
    Driver(const GuiRunOptions& options, EngineSession* session, MainWindow* window,
           GuiRunResult* result)
        : options_(options), session_(session), window_(window), result_(result) {
        probe_.setTimerType(Qt::PreciseTimer);
        probe_.setInterval(options.probe_interval_ms);
        QObject::connect(&probe_, &QTimer::timeout, [this] { onProbe(); });
        deadline_.setSingleShot(true);
        deadline_.setTimerType(Qt::PreciseTimer);
        deadline_.setInterval(int(options.seconds * 1000));
        QObject::connect(&deadline_, &QTimer::timeout, [this] { finish({}); });
    }

    void start();

private:
    void beginPlay();
    void onFrame(const protocol::Frame& frame);
    void onProbe();
    void finish(std::optional<std::string> stopped_early);
    void fail(const QString& message);

    const GuiRunOptions& options_;
    EngineSession* session_;
    MainWindow* window_;
    GuiRunResult* result_;
    QTimer probe_;
    QTimer deadline_;
    QElapsedTimer since_play_;
    QElapsedTimer since_probe_;
    double max_stall_ms_ = 0;
    double probe_cpu_ms_ = 0;
    double thread_cpu_start_seconds_ = 0;
    double process_cpu_start_seconds_ = 0;
    bool measuring_ = false;
    bool finished_ = false;
};

void Driver::start() {
    QObject::connect(session_, &EngineSession::runLoaded, window_, [this] { beginPlay(); });
    QObject::connect(session_, &EngineSession::frameReceived, window_,
                     [this](const protocol::Frame& frame) { onFrame(frame); });
    QObject::connect(session_, &EngineSession::eventsReceived, window_,
                     [this](const protocol::EventBatch& batch) {
                         if (measuring_) {
                             ++result_->event_batches;
                             result_->events += uint64_t(batch.events_size());
                         }
                     });
    QObject::connect(session_, &EngineSession::commandFailed, window_,
                     [this](const QString& message) { fail(message); });
    QObject::connect(session_, &EngineSession::connectionLost, window_,
                     [this](const QString& message) { fail(message); });
    QTimer::singleShot(kLoadTimeoutMs, window_, [this] {
        if (!measuring_ && !finished_) {
            fail(QStringLiteral("the scenario did not load within %1 ms").arg(kLoadTimeoutMs));
        }
    });
    // The window sends the transport bar's speed when a run loads.
    window_->transportBar()->setSpeed(0);
    session_->hello([this](const protocol::Reply& reply) {
        if (reply.error().empty()) {
            window_->openFile(options_.scenario_path);
        }
    });
}

void Driver::beginPlay() {
    if (measuring_ || finished_) {
        return;
    }
    std::fprintf(stderr, "progress: loaded %s, playing for %.0f s\n",
                 qPrintable(options_.scenario_path), options_.seconds);
    session_->setSpeed(0);
    session_->play();
    measuring_ = true;
    thread_cpu_start_seconds_ = cpuSeconds(false);
    process_cpu_start_seconds_ = cpuSeconds(true);
    since_play_.start();
    since_probe_.start();
    probe_cpu_ms_ = threadCpuMs();
    probe_.start();
    deadline_.start();
}

void Driver::onFrame(const protocol::Frame& frame) {
    if (!measuring_) {
        return;
    }
    ++result_->frames;
    result_->last_frame = frame;
    result_->wall_seconds = double(since_play_.nsecsElapsed()) / 1e9;
    protocol::RunState state = frame.status().run_state();
    if (state != protocol::PLAYING && state != protocol::PAUSED) {
        finish("the run left PLAYING as " + protocol::RunState_Name(state));
    }
}

void Driver::onProbe() {
    double since_probe_ms = double(since_probe_.nsecsElapsed()) / 1e6;
    since_probe_.restart();
    double cpu_ms = threadCpuMs();
    double cpu_since_probe_ms = cpu_ms - probe_cpu_ms_;
    probe_cpu_ms_ = cpu_ms;
    double gap_ms = std::max(0.0, since_probe_ms - options_.probe_interval_ms);
    if (result_->stalls_ms.empty() || gap_ms > max_stall_ms_) {
        max_stall_ms_ = gap_ms;
        result_->stall_max_at_seconds = double(since_play_.nsecsElapsed()) / 1e9;
        result_->stall_max_cpu_ms = cpu_since_probe_ms;
    }
    if (gap_ms >= kLongStallMs) {
        result_->long_stalls_wall_ms += since_probe_ms;
        result_->long_stalls_cpu_ms += cpu_since_probe_ms;
    }
    result_->stalls_ms.push_back(gap_ms);
}

void Driver::finish(std::optional<std::string> stopped_early) {
    if (finished_) {
        return;
    }
    finished_ = true;
    measuring_ = false;
    probe_.stop();
    deadline_.stop();
    result_->gui_thread_cpu_seconds = cpuSeconds(false) - thread_cpu_start_seconds_;
    result_->process_cpu_seconds = cpuSeconds(true) - process_cpu_start_seconds_;
    result_->stopped_early = std::move(stopped_early);
    result_->job_graph = session_->jobGraph();
    protocol::Request pause;
    pause.mutable_pause();
    session_->request(std::move(pause), [](const protocol::Reply&) { QCoreApplication::exit(0); });
}

void Driver::fail(const QString& message) {
    if (finished_) {
        return;  // such as a Pause rejected because the run is over
    }
    finished_ = true;
    measuring_ = false;
    probe_.stop();
    deadline_.stop();
    result_->error = message.toStdString();
    QCoreApplication::exit(1);
}

}  // namespace

std::string runWithMainWindow(int64_t until_ms,
                              const std::function<void(EngineSession*, MainWindow*)>& drive) {
    zmq::context_t context;
    sim::EngineServiceOptions service_options;
    service_options.engine.until_ms = until_ms;
    sim::EngineService service(context, service_options);
    if (std::string error = service.start(); !error.empty()) {
        return "the engine service did not start: " + error;
    }
    ui::EngineClient client;
    QString connect_error;
    if (!client.connectTo(&context, service.commandAddress(), service.telemetryAddress(),
                          &connect_error)) {
        return connect_error.toStdString();
    }
    {
        EngineSession session(&client);
        MainWindow window(&session);
        window.show();
        drive(&session, &window);
    }
    client.disconnectFromEngine();
    service.stop();
    return {};
}

GuiRunResult runGui(const GuiRunOptions& options) {
    GuiRunResult result;
    result.platform = QGuiApplication::platformName();
    std::string error =
        runWithMainWindow(options.until_ms, [&](EngineSession* session, MainWindow* window) {
            Driver driver(options, session, window, &result);
            driver.start();
            QApplication::exec();
        });
    if (!error.empty()) {
        result.error = error;
    }
    return result;
}

int64_t sourceRecords(const protocol::JobGraph& graph, const protocol::Frame& frame) {
    std::set<int> targets;
    for (const protocol::Edge& edge : graph.edges()) {
        targets.insert(edge.target_vertex());
    }
    int64_t records = 0;
    for (const protocol::SubtaskFrame& subtask : frame.subtasks()) {
        if (targets.count(subtask.vertex()) == 0) {
            records += subtask.records_out();
        }
    }
    return records;
}

double cpuSeconds(bool whole_process) {
    rusage usage{};
    getrusage(whole_process ? RUSAGE_SELF : RUSAGE_THREAD, &usage);
    auto seconds = [](const timeval& time) { return double(time.tv_sec) + time.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace sluice::gui_bench
