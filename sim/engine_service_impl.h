#pragma once

// Internals of EngineService, shared by engine_service.cpp (sockets, thread,
// play loop, telemetry), engine_commands.cpp (one handler per command) and
// engine_moves.cpp (commands that move the run).

#include "proto/engine_protocol.pb.h"
#include "sim/engine_service.h"
#include "sim/live_state_cache.h"
#include "sim/replayable_run.h"
#include "sim/run_check.h"
#include "sim/state_checkpoint_reader.h"
#include "sim/state_inspector_queries.h"
#include "sim/telemetry_events.h"
#include "sim/telemetry_frame.h"

#include <zmq.hpp>

#include <functional>
#include <vector>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace sluice::sim {

// The field name of the request's command, such as "seek", for messages.
std::string requestCommandName(const protocol::Request& request);

class EngineService::Impl {
public:
    using Clock = std::chrono::steady_clock;

    // Work between two looks at the command socket while playing or moving:
    // a slice ends after this many events or this much wall time, whichever
    // comes first.
    static constexpr int kEventsPerSlice = 4096;
    static constexpr auto kSliceWall = std::chrono::milliseconds(5);
    // Events between two comparisons of the engine with the events seen.
    static constexpr int kEventsPerPoll = 256;

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
    // Receives the parts of one request: routing frames, then the request.
    // Returns false when no request is waiting.
    bool receiveRequest(std::vector<zmq::message_t>* parts);
    void sendReply(std::vector<zmq::message_t>& envelope, const protocol::Reply& reply);
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
    std::string injectFault(const protocol::InjectFault& inject);
    std::string saveRecording(const protocol::SaveRecording& save);

    // engine_moves.cpp
    std::string stepEvents(const protocol::Request& request);
    std::string stepToBarrierEvent(const protocol::Request& request);
    std::string runToCheckpoint(const protocol::Request& request);
    std::string seek(const protocol::Request& request, uint64_t event_index);
    // Starts moving the run until `done()` or the end of the run. The reply
    // to `request` waits until then. With `repeats_seen_events` (a backward
    // seek re-executing the run) the events found on the way are dropped.
    void startMove(const protocol::Request& request, std::function<bool()> done,
                   bool repeats_seen_events);
    void moveSlice();
    // Replies to the move's request with `error` (empty on success) and the
    // status reached, and publishes the move.
    void finishMove(const std::string& error);
    // Why a command that moves the run cannot start now, or empty.
    std::string busyError(const protocol::Request& request) const;
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
    // Decoded checkpoints and collected live state of the state inspector's
    // queries.
    CheckpointStateCache state_cache_;
    CheckpointViewCache checkpoint_views_;
    StateDiffCache state_diffs_;
    LiveStateCache live_state_cache_;
    std::string scenario_path_;
    TelemetryEvents events_;
    bool playing_ = false;
    // The command moving the run, answered when it is done.
    struct Move {
        std::vector<zmq::message_t> envelope;  // routing frames of the request
        uint64_t request_id = 0;
        std::string command;  // the request's command, such as "seek"
        std::function<bool()> done;
        bool repeats_seen_events = false;
    };
    std::optional<Move> move_;
    // Set by startMove while a request is handled: the reply waits.
    bool reply_deferred_ = false;
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
