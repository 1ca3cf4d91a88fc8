#pragma once

// Internals of EngineService, shared by engine_service.cpp (sockets, thread,
// play loop, telemetry) and engine_commands.cpp (one handler per command).

#include "proto/engine_protocol.pb.h"
#include "sim/engine_service.h"
#include "sim/replayable_run.h"
#include "sim/run_check.h"
#include "sim/telemetry_events.h"
#include "sim/telemetry_frame.h"

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace sluice::sim {

class EngineService::Impl {
public:
    using Clock = std::chrono::steady_clock;

    Impl(zmq::context_t& context, EngineServiceOptions options);

    std::string start();
    void stop();
    bool waitFor(std::optional<std::chrono::milliseconds> timeout);

    std::string command_address;
    std::string telemetry_address;

private:
    // engine_service.cpp
    std::string bind(zmq::socket_t& socket, const std::string& address, const char* what,
                     std::string* bound);
    void loop();
    void serveRequests(int timeout_ms);
    // Returns false when no request is waiting.
    bool receiveRequest(zmq::message_t* message);
    int idleWaitMs() const;
    void playSlice();
    void verdictSlice();
    void publishFrame();
    void publishEvents();
    void publishTelemetry(const protocol::Telemetry& telemetry);
    // During a long synchronous move: publishes a frame (and the events so
    // far, unless `with_events` is false) about once per second, which also
    // shows clients that the engine is alive.
    void publishProgress(bool with_events);
    void updateEventRate();
    void resetPacing();

    // engine_commands.cpp
    protocol::Reply handle(const protocol::Request& request);
    std::string dispatch(const protocol::Request& request, protocol::Reply* reply);
    std::string loadScenario(const protocol::LoadScenario& load);
    std::string loadRecording(const protocol::LoadRecording& load);
    void adoptRun(std::unique_ptr<ReplayableRun> run, std::string scenario_path);
    ReplayableRun::EngineBuilt engineBuilt();
    std::string stepEvents(uint32_t count);
    std::string stepToBarrierEvent();
    std::string runToCheckpoint(protocol::RunToCheckpoint::Direction direction);
    std::string seek(uint64_t event_index);
    std::string injectFault(const protocol::InjectFault& inject);
    std::string saveRecording(const protocol::SaveRecording& save);
    // Runs events until `done()` or the end of the run, then publishes the
    // move. Every command that moves the run forward goes through here.
    void runForward(const std::function<bool()>& done);
    // Called after the run moved: starts the verdict once the run is over.
    void afterMove();
    void startVerdict();
    void finishVerdict();
    void clearVerdict();
    protocol::Status status() const;
    bool requireRun(std::string* error) const;

    EngineServiceOptions options_;
    zmq::socket_t commands_;
    zmq::socket_t telemetry_;
    std::thread thread_;
    std::atomic<bool> stop_requested_{false};
    std::mutex done_mutex_;
    std::condition_variable done_changed_;
    bool done_ = false;
    bool started_ = false;

    std::unique_ptr<ReplayableRun> run_;
    std::string scenario_path_;
    TelemetryEvents events_;
    bool playing_ = false;
    bool shutdown_requested_ = false;
    double sim_ms_per_wall_second_ = 1000;
    // Pacing: simulated time and wall time when play (or the speed) began.
    Nanos pace_sim_start_ns_ = 0;
    Clock::time_point pace_wall_start_;
    Clock::time_point last_frame_;
    // Events per wall second, measured over about one second.
    Clock::time_point rate_wall_start_;
    uint64_t rate_events_start_ = 0;
    double events_per_second_ = 0;
    // The exactly-once check: the reference engine while it runs, then the
    // verdict of the run.
    std::unique_ptr<Engine> reference_;
    std::optional<Verdict> verdict_;
    protocol::Verdict verdict_message_;
    bool verdict_done_ = false;
};

}  // namespace sluice::sim
