#include "runtime/network/input_gate.h"

#include "runtime/network/result_partition.h"

#include <algorithm>

namespace sluice {

namespace {
// Bytes on the wire besides the payload: framing, channel id, backlog.
constexpr uint64_t kBufferHeaderBytes = 16;
constexpr uint64_t kCreditMessageBytes = 16;
}  // namespace

InputGate::InputGate(Environment& env, const NetworkConfig& config, int node, int channel_count)
    : env_(env),
      config_(config),
      node_(node),
      channels_(channel_count),
      in_available_(channel_count, false),
      floating_free_(config.floating_buffers_per_gate) {
    for (auto& channel : channels_) {
        channel.exclusive_buffers = config.buffers_per_channel;
    }
}

void InputGate::connect(int index, ResultPartition* producer, int producer_subpartition,
                        int producer_node) {
    Channel& channel = channels_[index];
    channel.producer = producer;
    channel.producer_subpartition = producer_subpartition;
    channel.producer_node = producer_node;
}

void InputGate::announceInitialCredit() {
    for (int i = 0; i < channelCount(); ++i) {
        grantCredit(i, channels_[i].exclusive_buffers);
    }
}

void InputGate::grantCredit(int index, int credits) {
    if (credits <= 0) {
        return;
    }
    Channel& channel = channels_[index];
    uint64_t arg = (uint64_t(channel.producer_subpartition) << 32) | uint32_t(credits);
    env_.transfer(node_, channel.producer_node, kCreditMessageBytes, channel.producer,
                  ResultPartition::kCreditTimer, arg);
}

void InputGate::startTransfer(int index, NetworkBuffer buffer, int backlog) {
    Channel& channel = channels_[index];
    uint64_t size = kBufferHeaderBytes + buffer.size_bytes;
    channel.in_flight.push_back(std::move(buffer));
    channel.in_flight_backlog.push_back(backlog);
    env_.transfer(channel.producer_node, node_, size, this, kArrivalTimer, uint64_t(index));
}

void InputGate::onTimer(uint32_t kind, uint64_t arg) {
    if (canceled_) {
        return;
    }
    if (kind == kArrivalTimer) {
        onArrival(int(arg));
    }
}

void InputGate::onArrival(int index) {
    Channel& channel = channels_[index];
    NetworkBuffer buffer = std::move(channel.in_flight.front());
    int backlog = channel.in_flight_backlog.front();
    channel.in_flight.pop_front();
    channel.in_flight_backlog.pop_front();
    ++channel.buffers_received;
    channel.next_expected_sequence = buffer.sequence + 1;
    bool is_data = !buffer.isEvent();
    if (buffer.isPriorityEvent()) {
        // An unaligned barrier overtakes everything received before it.
        buffer.overtaken_buffers =
            int32_t(std::count_if(channel.received.begin(), channel.received.end(),
                                  [](const NetworkBuffer& queued) { return !queued.isEvent(); }));
        channel.received.push_front(std::move(buffer));
        if (data_listener_) {
            data_listener_();
        }
    } else {
        if (is_data && arrival_observer_) {
            arrival_observer_(index, buffer);
        }
        channel.received.push_back(std::move(buffer));
    }
    if (is_data) {
        ++channel.buffers_holding_data;
        channel.last_backlog = backlog;
        requestFloating(index);
    }
    markAvailable(index);
}

void InputGate::requestFloating(int index) {
    Channel& channel = channels_[index];
    int required = channel.last_backlog + channel.exclusive_buffers;
    int owned = channel.exclusive_buffers + channel.floating_buffers;
    int missing = required - owned;
    int granted = std::min(missing, floating_free_);
    if (granted > 0) {
        floating_free_ -= granted;
        channel.floating_buffers += granted;
        grantCredit(index, granted);
    }
    if (missing > granted && !channel.waiting_for_floating) {
        channel.waiting_for_floating = true;
        floating_waiters_.push_back(index);
    }
}

void InputGate::markAvailable(int index) {
    if (!in_available_[index] && !channels_[index].blocked && !channels_[index].received.empty()) {
        in_available_[index] = true;
        available_.push_back(index);
        if (data_listener_) {
            data_listener_();
        }
    }
}

int InputGate::nextAvailableChannel() {
    while (!available_.empty()) {
        int index = available_.front();
        const Channel& channel = channels_[index];
        if (channel.blocked || channel.received.empty()) {
            available_.pop_front();
            in_available_[index] = false;
            continue;
        }
        return index;
    }
    return -1;
}

int InputGate::priorityChannel() const {
    for (int i = 0; i < channelCount(); ++i) {
        const Channel& channel = channels_[size_t(i)];
        if (!channel.received.empty() && channel.received.front().isPriorityEvent()) {
            return i;
        }
    }
    return -1;
}

NetworkBuffer InputGate::take(int index) {
    Channel& channel = channels_[index];
    NetworkBuffer buffer = std::move(channel.received.front());
    channel.received.pop_front();
    // Round robin between channels: a channel with more data goes to the back.
    available_.erase(std::remove(available_.begin(), available_.end(), index), available_.end());
    in_available_[index] = false;
    if (!channel.received.empty() && !channel.blocked) {
        in_available_[index] = true;
        available_.push_back(index);
    }
    if (buffer.kind == BufferKind::kEndOfPartition) {
        channel.finished = true;
    }
    return buffer;
}

void InputGate::release(int index, MemorySegmentPool& segments, NetworkBuffer buffer) {
    if (buffer.isEvent()) {
        return;
    }
    segments.release(std::move(buffer.memory));
    Channel& channel = channels_[index];
    --channel.buffers_holding_data;
    bool floating_not_needed =
        channel.floating_buffers > 0 && channel.floating_buffers > channel.last_backlog;
    if (!floating_not_needed) {
        grantCredit(index, 1);
        return;
    }
    --channel.floating_buffers;
    ++floating_free_;
    while (floating_free_ > 0 && !floating_waiters_.empty()) {
        int waiter = floating_waiters_.front();
        floating_waiters_.pop_front();
        channels_[waiter].waiting_for_floating = false;
        requestFloating(waiter);
    }
}

bool InputGate::allFinished() const {
    return std::all_of(channels_.begin(), channels_.end(),
                       [](const Channel& c) { return c.finished; });
}

bool InputGate::hasAvailableData() const {
    return std::any_of(channels_.begin(), channels_.end(),
                       [](const Channel& c) { return !c.blocked && !c.received.empty(); });
}

void InputGate::setBlocked(int index, bool blocked) {
    channels_[index].blocked = blocked;
    if (!blocked) {
        markAvailable(index);
    }
}

int InputGate::queuedBuffers() const {
    int total = 0;
    for (const auto& channel : channels_) {
        total += int(channel.received.size());
    }
    return total;
}

double InputGate::exclusiveBuffersUsage() const {
    int total = 0;
    int used = 0;
    for (const auto& channel : channels_) {
        total += channel.exclusive_buffers;
        used += std::min(channel.buffers_holding_data, channel.exclusive_buffers);
    }
    return total ? double(used) / total : 0.0;
}

double InputGate::floatingBuffersUsage() const {
    int total = config_.floating_buffers_per_gate;
    int used = 0;
    for (const auto& channel : channels_) {
        used += std::max(0, channel.buffers_holding_data - channel.exclusive_buffers);
    }
    return total ? std::min(1.0, double(used) / total) : 0.0;
}

double InputGate::poolUsage() const {
    int total = config_.floating_buffers_per_gate;
    int used = 0;
    for (const auto& channel : channels_) {
        total += channel.exclusive_buffers;
        used += channel.buffers_holding_data;
    }
    return total ? double(used) / total : 0.0;
}

}  // namespace sluice
