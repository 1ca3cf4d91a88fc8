#pragma once

#include "runtime/core/environment.h"
#include "sim/random.h"

#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <vector>

namespace sluice::sim {

// One-way latency and bandwidth of a simulated link.
struct LinkSpec {
    Nanos latency_ns = 0;
    uint64_t bandwidth_bits_per_second = 0;  // 0 means unlimited
};

// An event as observers see it.
struct SimEvent {
    uint64_t index = 0;  // position in the run's event stream, from 0
    Nanos time_ns = 0;
    uint32_t target_id = 0;
    uint32_t kind = 0;
    uint64_t arg = 0;
};

// The deterministic event kernel and the simulated implementation of the
// runtime's Environment. Events run in (time, insertion sequence) order, and
// all randomness comes from one seeded Prng. Every executed event is folded
// into a running digest, so two runs with the same scenario and seed produce
// the same digest, and any divergence changes it.
//
// Nodes: 0 is the JobManager, 1..N the TaskManagers. Transfers inside one
// node use the local link spec, transfers between nodes the remote one.
// Each ordered pair of nodes is one FIFO link with its own bandwidth.
//
// Thread safety: single-threaded.
class Simulation final : public Environment, private TimerTarget {
public:
    Simulation(uint64_t seed, int node_count, LinkSpec local, LinkSpec remote);

    // Environment
    Nanos now() const override { return now_; }
    void schedule(Nanos at, TimerTarget* target, uint32_t kind, uint64_t arg) override;
    uint64_t randomU64() override { return prng_.nextU64(); }
    void transfer(int from, int to, uint64_t size_bytes, TimerTarget* target, uint32_t kind,
                  uint64_t arg) override;
    void sendControl(int from, int to, const control::Envelope& message) override;
    void registerEndpoint(int node, ControlEndpoint* endpoint) override;

    // Runs the next event. Returns false if there is none.
    bool step();
    bool empty() const { return queue_.empty(); }
    // Time of the next event, or -1 if there is none.
    Nanos nextEventTime() const { return queue_.empty() ? -1 : queue_.top().time; }

    uint64_t eventCount() const { return event_count_; }
    uint64_t digest() const { return digest_; }
    // Folds extra data into the digest, such as a hash of sink output.
    void foldDigest(uint64_t value) { digest_ = mix64(digest_ ^ value); }
    uint64_t controlMessagesSent() const { return control_messages_; }

    // Decides the fate of each control message when it is sent: deliver it
    // (return 0), drop it (return -1), or delay it by the returned
    // nanoseconds. Used by fault injection; empty means deliver everything.
    using ControlFilter = std::function<Nanos(int from, int to, const control::Envelope&)>;
    void setControlFilter(ControlFilter filter) { control_filter_ = std::move(filter); }
    uint64_t controlMessagesDropped() const { return control_dropped_; }
    void setObserver(std::function<void(const SimEvent&)> observer) {
        observer_ = std::move(observer);
    }

    Prng& prng() { return prng_; }

private:
    struct Event {
        Nanos time;
        uint64_t sequence;
        TimerTarget* target;
        uint32_t kind;
        uint64_t arg;
        bool operator>(const Event& other) const {
            return time != other.time ? time > other.time : sequence > other.sequence;
        }
    };
    struct Link {
        LinkSpec spec;
        Nanos busy_until_ns = 0;
    };
    struct PendingMessage {
        int from = 0;
        int to;
        std::string bytes;
    };

    void onTimer(uint32_t kind, uint64_t arg) override;  // control message delivery
    void startDelivery(uint64_t token);
    Link& link(int from, int to) { return links_[size_t(from * node_count_ + to)]; }

    Nanos now_ = 0;
    uint64_t sequence_ = 0;
    uint64_t event_count_ = 0;
    uint64_t digest_ = 0;
    uint32_t next_target_id_ = 1;
    uint64_t control_messages_ = 0;
    std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
    Prng prng_;
    int node_count_;
    std::vector<Link> links_;
    std::map<int, ControlEndpoint*> endpoints_;
    std::map<uint64_t, PendingMessage> pending_messages_;
    uint64_t next_message_ = 0;
    std::function<void(const SimEvent&)> observer_;
    ControlFilter control_filter_;
    uint64_t control_dropped_ = 0;
};

}  // namespace sluice::sim
