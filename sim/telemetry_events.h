#pragma once

// Collects the discrete events of the engine protocol (Event in
// sim/proto/engine_protocol.proto) from one Engine: barrier and checkpoint
// phases as the engine reports them, and faults, checkpoint ends, task and
// job state changes found by comparing the engine with what was seen before.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"

#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace sluice::sim {

// Threading: the engine's thread only. The collector must outlive the
// engine it is attached to, or be attached to a new engine first.
class TelemetryEvents {
public:
    // Starts collecting from `engine` and forgets the previous engine.
    void attach(Engine& engine);

    // Compares the engine with the state seen at the previous call and adds
    // events for what changed. Call it after every executed event or at least
    // before every take(): the event index of a state change is the engine's
    // event count at the call.
    void poll();

    // Removes and returns the events collected so far, oldest first.
    std::vector<protocol::Event> take();
    // Drops collected events, such as those of a re-execution the client
    // has seen before.
    void discard() { events_.clear(); }

    // Barrier events (emitted, received, aligned, forwarded) seen so far.
    uint64_t barrierEventCount() const { return barrier_events_; }
    // Checkpoint id to the event index at which it was triggered.
    const std::map<int64_t, uint64_t>& triggerEvents() const { return trigger_events_; }

    // Adds an event made by the service, such as VERDICT.
    void add(protocol::Event event);

private:
    void onProtocolEvent(const ProtocolEvent& event);
    protocol::Event makeEvent(protocol::Event::Kind kind, int vertex, int subtask,
                              int64_t checkpoint_id, std::string text) const;
    void pollFaults();
    void pollCheckpoints();
    void pollTaskStates();

    Engine* engine_ = nullptr;
    uint64_t generation_ = 0;  // bumped by attach, so old engines' observers do nothing
    std::vector<protocol::Event> events_;
    uint64_t barrier_events_ = 0;
    std::map<int64_t, uint64_t> trigger_events_;
    size_t faults_seen_ = 0;
    std::set<int64_t> checkpoints_ended_;
    std::map<std::pair<int, int>, std::pair<int64_t, ExecutionState>> task_states_;
    std::string job_status_;
};

}  // namespace sluice::sim
