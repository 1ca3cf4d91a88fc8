#pragma once

#include "runtime/core/environment.h"
#include "runtime/network/buffer.h"
#include "runtime/serialization/bytes.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice {

class InputGate;

// Thrown when one serialized record does not fit into an empty network buffer.
class RecordTooLargeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Producer side of one job edge for one subtask: one subpartition per
// consumer subtask. Records are serialized straight into the subpartition's
// current buffer; full buffers queue until the consumer granted a credit.
//
// Output buffer pool: a subtask may hold at most
// `subpartitions * buffers_per_channel + floating_buffers_per_gate` buffers
// (filling or queued). When the pool is exhausted, isAvailable() is false and
// the task is backpressured: that is the only source of backpressure in
// Sluice. The check gates the start of each record only, so a record in
// progress may take buffers beyond the pool, like Flink's overdraft buffers,
// and emitting never blocks in the middle of a record.
//
// Thread safety: used from the environment's thread only.
class ResultPartition final : public TimerTarget {
public:
    struct Subpartition {
        NetworkBuffer current;
        uint32_t current_records = 0;
        std::deque<NetworkBuffer> queue;  // finished, waiting for credit
        int credit = 0;
        int64_t next_sequence = 0;
        InputGate* consumer = nullptr;
        int consumer_channel = 0;
        int consumer_node = 0;
        uint64_t buffers_sent = 0;
        uint64_t bytes_sent = 0;
        // Queued entries that existed when the current step began: they
        // may leave during the step when credit arrives.
        size_t sendable_in_step = 0;
    };

    ResultPartition(Environment& env, MemorySegmentPool& segments, const NetworkConfig& config,
                    int node, int subpartition_count);

    void connect(int subpartition, InputGate* consumer, int consumer_channel, int consumer_node);

    // Called by the owner when output availability may have changed.
    void setAvailabilityListener(std::function<void()> listener) {
        availability_listener_ = std::move(listener);
    }

    int subpartitionCount() const { return int(subpartitions_.size()); }
    Subpartition& subpartition(int index) { return subpartitions_[index]; }
    const Subpartition& subpartition(int index) const { return subpartitions_[index]; }

    // True when the pool has a buffer left, so the task may process a record.
    bool isAvailable() const { return buffers_in_use_ < pool_size_; }

    // Serializes one element into a subpartition with `write(ByteWriter&)`.
    // Throws RecordTooLargeError if it does not fit into an empty buffer.
    template <class WriteFn>
    void emit(int subpartition, WriteFn&& write, bool is_record);

    // Finishes every non-empty current buffer so it can be sent.
    void flushAll();
    // Queues an event buffer behind the data of every subpartition.
    void broadcastEvent(BufferKind kind, int64_t value, uint64_t flags);
    // Queues checkpoint barrier `id` on every subpartition. With
    // kBarrierPriority it goes in front of the queued buffers, which are
    // appended to `persisted` as channel state, and is sent at once. Returns
    // the persisted bytes.
    int64_t broadcastBarrier(int64_t id, Nanos trigger_ns, uint64_t flags,
                             std::vector<PersistedBuffer>* persisted);
    // Moves barrier `id` in front of the buffers still queued before it and
    // sends it, persisting those buffers: an aligned barrier that waited
    // longer than the aligned checkpoint timeout becomes unaligned. Returns
    // the persisted bytes, or -1 if the barrier was already sent everywhere.
    int64_t prioritizeBarrier(int64_t id, std::vector<PersistedBuffer>* persisted);
    // Queues a buffer of restored channel state on a subpartition, ahead of
    // any new output. Call before the task emits anything.
    void addRecoveredBuffer(int subpartition, const std::string& data);
    // Index of this partition in its task, used to label persisted buffers.
    void setIndex(int index) { index_ = index; }

    // While a task step runs, finished buffers are held back and sent only
    // when the step ends, because the step's output exists only at its end.
    void beginStep() {
        in_step_ = true;
        for (auto& sub : subpartitions_) {
            sub.sendable_in_step = sub.queue.size();
        }
    }
    void endStep();

    void onTimer(uint32_t kind, uint64_t arg) override;
    // Stops the partition for good: nothing more is sent, credits are
    // ignored.
    void cancel() { canceled_ = true; }

    // Pool usage for outPoolUsage, 0..1.
    double poolUsage() const { return pool_size_ ? double(buffers_in_use_) / pool_size_ : 0.0; }
    // Buffers waiting for credit, for outputQueueLength.
    int queuedBuffers() const;
    int poolSize() const { return pool_size_; }
    // Wall of the producer for credit messages.
    int node() const { return node_; }
    bool hasUnflushedData() const;

    static constexpr uint32_t kCreditTimer = 1;

private:
    void finishCurrent(Subpartition& sub);
    void startBuffer(Subpartition& sub);
    void trySend(int subpartition);
    void releasePoolBuffer();

    Environment& env_;
    MemorySegmentPool& segments_;
    NetworkConfig config_;
    int node_;
    std::vector<Subpartition> subpartitions_;
    int pool_size_;
    int buffers_in_use_ = 0;
    bool in_step_ = false;
    bool canceled_ = false;
    int index_ = 0;
    std::function<void()> availability_listener_;
};

template <class WriteFn>
void ResultPartition::emit(int index, WriteFn&& write, bool is_record) {
    Subpartition& sub = subpartitions_[index];
    if (!sub.current.memory) {
        startBuffer(sub);
    }
    ByteWriter writer(sub.current.memory.get() + sub.current.size_bytes,
                      config_.buffer_size_bytes - sub.current.size_bytes);
    write(writer);
    if (writer.overflowed()) {
        finishCurrent(sub);
        startBuffer(sub);
        writer = ByteWriter(sub.current.memory.get(), config_.buffer_size_bytes);
        write(writer);
        if (writer.overflowed()) {
            throw RecordTooLargeError("a record does not fit into one network buffer of " +
                                      std::to_string(config_.buffer_size_bytes) +
                                      " bytes; raise network.buffer_size_bytes");
        }
    }
    sub.current.size_bytes += uint32_t(writer.position());
    sub.current.record_count += is_record ? 1 : 0;
    if (sub.current.size_bytes == config_.buffer_size_bytes) {
        finishCurrent(sub);
    }
}

}  // namespace sluice
