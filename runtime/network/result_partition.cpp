#include "runtime/network/result_partition.h"

#include "runtime/network/input_gate.h"

#include <algorithm>
#include <cstring>

namespace sluice {

ResultPartition::ResultPartition(Environment& env, MemorySegmentPool& segments,
                                 const NetworkConfig& config, int node, int subpartition_count)
    : env_(env),
      segments_(segments),
      config_(config),
      node_(node),
      subpartitions_(subpartition_count),
      pool_size_(subpartition_count * config.buffers_per_channel +
                 config.floating_buffers_per_gate) {
}

void ResultPartition::connect(int index, InputGate* consumer, int consumer_channel,
                              int consumer_node) {
    Subpartition& sub = subpartitions_[index];
    sub.consumer = consumer;
    sub.consumer_channel = consumer_channel;
    sub.consumer_node = consumer_node;
}

void ResultPartition::startBuffer(Subpartition& sub) {
    sub.current = NetworkBuffer{};
    sub.current.kind = BufferKind::kData;
    sub.current.memory = segments_.acquire();
    ++buffers_in_use_;
}

void ResultPartition::finishCurrent(Subpartition& sub) {
    if (!sub.current.memory) {
        return;
    }
    if (sub.current.size_bytes == 0) {
        segments_.release(std::move(sub.current.memory));
        sub.current = NetworkBuffer{};
        releasePoolBuffer();
        return;
    }
    sub.current.sequence = sub.next_sequence++;
    sub.queue.push_back(std::move(sub.current));
    sub.current = NetworkBuffer{};
}

void ResultPartition::addRecoveredBuffer(int index, const std::string& data) {
    if (data.size() > config_.buffer_size_bytes) {
        throw std::runtime_error("restored channel state buffer of " + std::to_string(data.size()) +
                                 " bytes exceeds the buffer size of " +
                                 std::to_string(config_.buffer_size_bytes) + " bytes");
    }
    Subpartition& sub = subpartitions_[size_t(index)];
    finishCurrent(sub);
    startBuffer(sub);
    std::memcpy(sub.current.memory.get(), data.data(), data.size());
    sub.current.size_bytes = uint32_t(data.size());
    finishCurrent(sub);
}

void ResultPartition::flushAll() {
    for (auto& sub : subpartitions_) {
        finishCurrent(sub);
    }
    if (!in_step_) {
        for (int i = 0; i < subpartitionCount(); ++i) {
            trySend(i);
        }
    }
}

bool ResultPartition::hasUnflushedData() const {
    for (const auto& sub : subpartitions_) {
        if (sub.current.memory && sub.current.size_bytes > 0) {
            return true;
        }
    }
    return false;
}

void ResultPartition::broadcastEvent(BufferKind kind, int64_t value, uint64_t flags) {
    for (auto& sub : subpartitions_) {
        finishCurrent(sub);
        NetworkBuffer event;
        event.kind = kind;
        event.event_value = value;
        event.event_flags = flags;
        event.sequence = sub.next_sequence++;
        sub.queue.push_back(std::move(event));
    }
    if (!in_step_) {
        for (int i = 0; i < subpartitionCount(); ++i) {
            trySend(i);
        }
    }
}

int64_t ResultPartition::broadcastBarrier(int64_t id, Nanos trigger_ns, uint64_t flags,
                                          std::vector<PersistedBuffer>* persisted) {
    int64_t persisted_bytes = 0;
    for (int i = 0; i < subpartitionCount(); ++i) {
        Subpartition& sub = subpartitions_[size_t(i)];
        finishCurrent(sub);
        NetworkBuffer barrier;
        barrier.kind = BufferKind::kCheckpointBarrier;
        barrier.event_value = id;
        barrier.event_flags = flags;
        barrier.event_time_ns = trigger_ns;
        barrier.sequence = sub.next_sequence++;
        if (flags & kBarrierPriority) {
            for (const NetworkBuffer& queued : sub.queue) {
                if (queued.isEvent()) {
                    continue;
                }
                persisted_bytes += queued.size_bytes;
                if (persisted) {
                    persisted->push_back(PersistedBuffer{
                        false, index_, i, queued.sequence,
                        std::string(reinterpret_cast<const char*>(queued.memory.get()),
                                    queued.size_bytes)});
                }
            }
            sub.queue.push_front(std::move(barrier));
        } else {
            sub.queue.push_back(std::move(barrier));
        }
    }
    if (!in_step_) {
        for (int i = 0; i < subpartitionCount(); ++i) {
            trySend(i);
        }
    }
    return persisted_bytes;
}

int64_t ResultPartition::prioritizeBarrier(int64_t id, std::vector<PersistedBuffer>* persisted) {
    int64_t persisted_bytes = 0;
    bool found = false;
    for (int i = 0; i < subpartitionCount(); ++i) {
        Subpartition& sub = subpartitions_[size_t(i)];
        auto it = std::find_if(sub.queue.begin(), sub.queue.end(), [id](const NetworkBuffer& b) {
            return b.kind == BufferKind::kCheckpointBarrier && b.event_value == id;
        });
        if (it == sub.queue.end()) {
            continue;
        }
        found = true;
        for (auto ahead = sub.queue.begin(); ahead != it; ++ahead) {
            if (ahead->isEvent()) {
                continue;
            }
            persisted_bytes += ahead->size_bytes;
            if (persisted) {
                persisted->push_back(
                    PersistedBuffer{false, index_, i, ahead->sequence,
                                    std::string(reinterpret_cast<const char*>(ahead->memory.get()),
                                                ahead->size_bytes)});
            }
        }
        NetworkBuffer barrier = std::move(*it);
        sub.queue.erase(it);
        barrier.event_flags |= kBarrierPriority;
        sub.queue.push_front(std::move(barrier));
        if (!in_step_) {
            trySend(i);
        }
    }
    return found ? persisted_bytes : -1;
}

void ResultPartition::endStep() {
    in_step_ = false;
    for (int i = 0; i < subpartitionCount(); ++i) {
        trySend(i);
    }
}

int ResultPartition::queuedBuffers() const {
    int total = 0;
    for (const auto& sub : subpartitions_) {
        total += int(sub.queue.size());
    }
    return total;
}

void ResultPartition::trySend(int index) {
    Subpartition& sub = subpartitions_[index];
    if (canceled_ || !sub.consumer) {
        return;  // not connected yet; the consumer's first credit triggers sending
    }
    bool released = false;
    while (!sub.queue.empty()) {
        if (in_step_ && sub.sendable_in_step == 0) {
            break;  // finished during this step: leaves when the step ends
        }
        NetworkBuffer& front = sub.queue.front();
        // Events need no credit: the consumer does not store them in a
        // flow-controlled buffer.
        if (!front.isEvent()) {
            if (sub.credit <= 0) {
                break;
            }
            --sub.credit;
        }
        NetworkBuffer buffer = std::move(front);
        sub.queue.pop_front();
        if (sub.sendable_in_step > 0) {
            --sub.sendable_in_step;
        }
        int backlog = 0;
        for (const auto& queued : sub.queue) {
            backlog += queued.isEvent() ? 0 : 1;
        }
        if (!buffer.isEvent()) {
            ++sub.buffers_sent;
            sub.bytes_sent += buffer.size_bytes;
            --buffers_in_use_;
            released = true;
        }
        sub.consumer->startTransfer(sub.consumer_channel, std::move(buffer), backlog);
    }
    if (released && availability_listener_) {
        availability_listener_();
    }
}

void ResultPartition::releasePoolBuffer() {
    --buffers_in_use_;
    if (availability_listener_) {
        availability_listener_();
    }
}

void ResultPartition::onTimer(uint32_t kind, uint64_t arg) {
    if (kind != kCreditTimer || canceled_) {
        return;
    }
    int index = int(arg >> 32);
    int credits = int(arg & 0xffffffffu);
    subpartitions_[index].credit += credits;
    trySend(index);
}

}  // namespace sluice
