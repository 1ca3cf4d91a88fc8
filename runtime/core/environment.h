#pragma once

#include "runtime/core/types.h"

#include <cstdint>
#include <string>

namespace sluice {

namespace control {
class Envelope;
}

// Receives scheduled callbacks. `kind` and `arg` are the values passed to
// Environment::schedule, so one target can multiplex several timers.
class TimerTarget {
public:
    virtual void onTimer(uint32_t kind, uint64_t arg) = 0;

    // Stable id used by deterministic environments to order and digest
    // events. Assigned by the environment on first use; 0 means unassigned.
    uint32_t timer_target_id = 0;

protected:
    ~TimerTarget() = default;
};

// Receives control messages addressed to one node.
class ControlEndpoint {
public:
    virtual void onControlMessage(const control::Envelope& message) = 0;

protected:
    ~ControlEndpoint() = default;
};

// Node numbers used for message delivery: the JobManager is node 0 and
// TaskManager i is node i + 1.
constexpr int kJobManagerNode = 0;
inline int taskManagerNode(int task_manager_index) {
    return task_manager_index + 1;
}

// The only way runtime code reaches time, timers, randomness and the network.
// The simulator implements it deterministically; a process mode would
// implement it with a wall clock and sockets. Runtime code must not assume
// which one it runs on.
//
// Thread safety: an Environment is used from one thread, the one that runs
// the callbacks.
class Environment {
public:
    virtual ~Environment() = default;

    virtual Nanos now() const = 0;

    // Calls target->onTimer(kind, arg) at time `at` (clamped to now). Callbacks
    // scheduled for the same time run in the order they were scheduled.
    virtual void schedule(Nanos at, TimerTarget* target, uint32_t kind, uint64_t arg) = 0;

    // Uniformly distributed 64-bit value from the run's random source.
    virtual uint64_t randomU64() = 0;

    // Moves `size_bytes` of data from node `from` to node `to` over the link
    // between them and calls target->onTimer(kind, arg) when the last byte
    // arrived. Transfers on one link arrive in the order they were sent.
    virtual void transfer(int from, int to, uint64_t size_bytes, TimerTarget* target, uint32_t kind,
                          uint64_t arg) = 0;

    // Sends a control message to the endpoint registered for node `to`.
    virtual void sendControl(int from, int to, const control::Envelope& message) = 0;

    // Registers the endpoint that receives control messages for `node`.
    virtual void registerEndpoint(int node, ControlEndpoint* endpoint) = 0;
};

}  // namespace sluice
