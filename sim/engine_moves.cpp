// The commands of EngineService that move the run: step, step to the next
// barrier event, run to a checkpoint and seek. A move runs in slices between
// requests, like Play, so Hello, queries and Pause are answered while it
// runs. Its reply goes out when it is done.

#include "runtime/core/log.h"
#include "sim/engine_service_impl.h"

#include <algorithm>

namespace sluice::sim {

namespace {

// The commands that move or replace the run, which cannot start while a move
// runs.
bool changesRun(protocol::Request::CommandCase command) {
    using Request = protocol::Request;
    switch (command) {
        case Request::kLoadScenario:
        case Request::kLoadRecording:
        case Request::kPlay:
        case Request::kStepEvent:
        case Request::kStepToBarrierEvent:
        case Request::kRunToCheckpoint:
        case Request::kSeek:
        case Request::kInjectFault:
            return true;
        default:
            return false;
    }
}

}  // namespace

std::string EngineService::Impl::busyError(const protocol::Request& request) const {
    if (!move_ || !changesRun(request.command_case())) {
        return {};
    }
    return "the engine is busy with " + move_->command + " (request " +
           std::to_string(move_->request_id) + "); wait for its reply or send Pause to stop it";
}

void EngineService::Impl::startMove(const protocol::Request& request, std::function<bool()> done,
                                    bool repeats_seen_events) {
    playing_ = false;
    Move move;
    move.request_id = request.request_id();
    move.command = requestCommandName(request);
    move.done = std::move(done);
    move.repeats_seen_events = repeats_seen_events;
    move_ = std::move(move);
    reply_deferred_ = true;
    // Progress frames start a second after the move, not after the last frame.
    last_frame_ = Clock::now();
}

void EngineService::Impl::moveSlice() {
    Engine& engine = run_->engine();
    auto slice_end = Clock::now() + kSliceWall;
    for (int i = 0; i < kEventsPerSlice; ++i) {
        if (engine.isOver() || move_->done()) {
            finishMove({});
            return;
        }
        run_->step();
        if (i % kEventsPerPoll == kEventsPerPoll - 1) {
            if (!move_->repeats_seen_events) {
                events_.poll();
            }
            if (Clock::now() > slice_end) {
                break;
            }
        }
    }
    publishProgress(!move_->repeats_seen_events);
}

void EngineService::Impl::finishMove(const std::string& error) {
    Move move = std::move(*move_);
    move_.reset();
    if (move.repeats_seen_events) {
        events_.poll();
        events_.discard();
    }
    run_->injectDueFaults();
    afterMove();

    protocol::Reply reply;
    reply.set_version(protocol::VERSION_CURRENT);
    reply.set_request_id(move.request_id);
    reply.set_error(error);
    *reply.mutable_status() = status();
    if (!error.empty()) {
        log::warning("service", "request.failed",
                     {{"request", std::to_string(move.request_id)},
                      {"command", move.command},
                      {"error", error}});
    }
    if (!move.envelope.empty()) {
        sendReply(move.envelope, reply);
    }
}

std::string EngineService::Impl::stepEvents(const protocol::Request& request) {
    uint64_t target =
        run_->engine().eventCount() + std::max<uint32_t>(request.step_event().count(), 1);
    startMove(
        request, [this, target] { return run_->engine().eventCount() >= target; }, false);
    return {};
}

std::string EngineService::Impl::stepToBarrierEvent(const protocol::Request& request) {
    uint64_t seen = events_.barrierEventCount();
    startMove(
        request, [this, seen] { return events_.barrierEventCount() > seen; }, false);
    return {};
}

std::string EngineService::Impl::runToCheckpoint(const protocol::Request& request) {
    const auto& digests = run_->engine().checkpointDigests();
    auto direction = request.run_to_checkpoint().direction();
    if (direction == protocol::RunToCheckpoint::PREVIOUS) {
        uint64_t now = run_->engine().eventCount();
        for (auto it = digests.rbegin(); it != digests.rend(); ++it) {
            if (it->event_index < now) {
                return seek(request, it->event_index);
            }
        }
        return "no checkpoint completed before event " + std::to_string(now);
    }
    if (direction != protocol::RunToCheckpoint::NEXT) {
        return "RunToCheckpoint needs a direction, NEXT or PREVIOUS";
    }
    size_t completed = digests.size();
    startMove(
        request,
        [this, completed] { return run_->engine().checkpointDigests().size() > completed; }, false);
    return {};
}

std::string EngineService::Impl::seek(const protocol::Request& request, uint64_t event_index) {
    bool backward = event_index < run_->engine().eventCount();
    if (backward) {
        if (auto error = run_->restart()) {
            return "cannot build the run again: " + error->format();
        }
        clearVerdict();
    }
    // Going backward, the re-execution repeats events the client has seen,
    // so only frames go out until the target.
    startMove(
        request, [this, event_index] { return run_->engine().eventCount() >= event_index; },
        backward);
    return {};
}

}  // namespace sluice::sim
