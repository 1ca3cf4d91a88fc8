#include "sim/simulation.h"

#include "proto/control.pb.h"
#include "runtime/core/log.h"
#include "runtime/core/murmur3.h"

#include <algorithm>

namespace sluice::sim {

namespace {
constexpr uint32_t kDeliverControl = 1;
constexpr uint32_t kStartDelivery = 2;
}  // namespace

Simulation::Simulation(uint64_t seed, int node_count, LinkSpec local, LinkSpec remote)
    : prng_(seed), node_count_(node_count), links_(size_t(node_count * node_count)) {
    digest_ = mix64(seed);
    for (int from = 0; from < node_count; ++from) {
        for (int to = 0; to < node_count; ++to) {
            link(from, to).spec = from == to ? local : remote;
        }
    }
}

void Simulation::schedule(Nanos at, TimerTarget* target, uint32_t kind, uint64_t arg) {
    if (target->timer_target_id == 0) {
        target->timer_target_id = next_target_id_++;
    }
    queue_.push(Event{std::max(at, now_), sequence_++, target, kind, arg});
}

void Simulation::transfer(int from, int to, uint64_t size_bytes, TimerTarget* target, uint32_t kind,
                          uint64_t arg) {
    Link& l = link(from, to);
    Nanos start = std::max(now_, l.busy_until_ns);
    Nanos transmit = 0;
    if (l.spec.bandwidth_bits_per_second > 0) {
        transmit =
            Nanos(size_bytes * 8 * uint64_t(kNanosPerSecond) / l.spec.bandwidth_bits_per_second);
    }
    l.busy_until_ns = start + transmit;
    schedule(start + transmit + l.spec.latency_ns, target, kind, arg);
}

void Simulation::sendControl(int from, int to, const control::Envelope& message) {
    ++control_messages_;
    Nanos delay = control_filter_ ? control_filter_(from, to, message) : 0;
    if (delay < 0) {
        ++control_dropped_;
        foldDigest(mix64(control_dropped_));
        return;
    }
    control::Envelope stamped = message;
    stamped.set_from_node(from);
    uint64_t token = next_message_++;
    PendingMessage& pending = pending_messages_[token];
    pending.from = from;
    pending.to = to;
    pending.bytes = stamped.SerializeAsString();
    if (delay > 0) {
        // Held back before it enters the link, so later messages on the
        // link are not delayed with it.
        schedule(now_ + delay, this, kStartDelivery, token);
        return;
    }
    startDelivery(token);
}

void Simulation::startDelivery(uint64_t token) {
    const PendingMessage& pending = pending_messages_.at(token);
    transfer(pending.from, pending.to, pending.bytes.size(), this, kDeliverControl, token);
}

void Simulation::registerEndpoint(int node, ControlEndpoint* endpoint) {
    endpoints_[node] = endpoint;
}

void Simulation::onTimer(uint32_t kind, uint64_t arg) {
    if (kind == kStartDelivery) {
        startDelivery(arg);
        return;
    }
    if (kind != kDeliverControl) {
        return;
    }
    auto it = pending_messages_.find(arg);
    PendingMessage message = std::move(it->second);
    pending_messages_.erase(it);
    foldDigest(murmur3_32(message.bytes));
    control::Envelope envelope;
    if (!envelope.ParseFromString(message.bytes)) {
        log::error("sim", "control.parse_failed", {{"to", std::to_string(message.to)}});
        return;
    }
    auto endpoint = endpoints_.find(message.to);
    if (endpoint == endpoints_.end()) {
        log::warning("sim", "control.no_endpoint", {{"to", std::to_string(message.to)}});
        return;
    }
    endpoint->second->onControlMessage(envelope);
}

bool Simulation::step() {
    if (queue_.empty()) {
        return false;
    }
    Event event = queue_.top();
    queue_.pop();
    now_ = event.time;
    uint64_t index = event_count_++;
    digest_ = mix64(digest_ ^ uint64_t(event.time));
    digest_ = mix64(digest_ ^ (uint64_t(event.target->timer_target_id) << 32 | event.kind));
    digest_ = mix64(digest_ ^ event.arg);
    if (observer_) {
        observer_(
            SimEvent{index, event.time, event.target->timer_target_id, event.kind, event.arg});
    }
    event.target->onTimer(event.kind, event.arg);
    return true;
}

}  // namespace sluice::sim
