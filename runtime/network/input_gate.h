#pragma once

#include "runtime/core/environment.h"
#include "runtime/network/buffer.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

namespace sluice {

class ResultPartition;

// Consumer side of one job edge for one subtask: one input channel per
// producer subpartition. Implements the receiver half of credit-based flow
// control: each channel owns `buffers_per_channel` exclusive buffers and
// borrows floating buffers from the gate when the producer announces a
// backlog. Every free buffer is announced to the producer as a credit.
//
// Thread safety: used from the environment's thread only.
class InputGate final : public TimerTarget {
public:
    struct Channel {
        ResultPartition* producer = nullptr;
        int producer_subpartition = 0;
        int producer_node = 0;
        std::deque<NetworkBuffer> in_flight;  // sent, not yet arrived
        std::deque<int> in_flight_backlog;    // backlog announced with each of them
        std::deque<NetworkBuffer> received;   // arrived, not yet processed
        int exclusive_buffers = 0;
        int floating_buffers = 0;
        // Data buffers that arrived and are not yet released by the task.
        int buffers_holding_data = 0;
        int last_backlog = 0;
        bool waiting_for_floating = false;
        bool finished = false;  // EndOfPartition was processed
        // Set while checkpoint alignment blocks the channel.
        bool blocked = false;
        uint64_t buffers_received = 0;
        int64_t next_expected_sequence = 0;
    };

    InputGate(Environment& env, const NetworkConfig& config, int node, int channel_count);

    void connect(int channel, ResultPartition* producer, int producer_subpartition,
                 int producer_node);

    // Announces the exclusive buffers of every channel as initial credit.
    void announceInitialCredit();

    void setDataListener(std::function<void()> listener) { data_listener_ = std::move(listener); }
    // Called for every data buffer when it arrives, before the task reads it;
    // unaligned checkpoints use it to record in-flight data.
    void setArrivalObserver(std::function<void(int channel, const NetworkBuffer&)> observer) {
        arrival_observer_ = std::move(observer);
    }

    int channelCount() const { return int(channels_.size()); }
    Channel& channel(int index) { return channels_[index]; }
    const Channel& channel(int index) const { return channels_[index]; }

    // Called by the producer: the buffer travels over the link and is
    // appended to the channel when it arrives.
    void startTransfer(int channel, NetworkBuffer buffer, int backlog);

    // The next channel with a buffer to process, in the order in which
    // channels became available, or -1. Blocked channels are skipped.
    int nextAvailableChannel();
    // Removes the front buffer of `channel` for processing.
    NetworkBuffer take(int channel);
    // A channel whose next buffer is a priority (unaligned) barrier, or -1.
    // Such a barrier is processed before any other input, blocked or not.
    int priorityChannel() const;
    // Returns a processed data buffer's memory and grants a credit (or
    // returns a floating buffer to the gate).
    void release(int channel, MemorySegmentPool& segments, NetworkBuffer buffer);

    bool allFinished() const;
    bool hasAvailableData() const;

    void setBlocked(int channel, bool blocked);

    void onTimer(uint32_t kind, uint64_t arg) override;
    // Stops the gate for good: buffers still in flight to it are dropped on
    // arrival and no more credit is announced.
    void cancel() { canceled_ = true; }
    bool canceled() const { return canceled_; }

    // Metrics.
    int queuedBuffers() const;
    double exclusiveBuffersUsage() const;
    double floatingBuffersUsage() const;
    double poolUsage() const;

    static constexpr uint32_t kArrivalTimer = 1;

private:
    void onArrival(int channel);
    void requestFloating(int channel);
    void grantCredit(int channel, int credits);
    void markAvailable(int channel);

    Environment& env_;
    NetworkConfig config_;
    int node_;
    std::vector<Channel> channels_;
    std::deque<int> available_;  // channels that have received data, FIFO
    std::vector<bool> in_available_;
    int floating_free_;
    std::deque<int> floating_waiters_;
    std::function<void()> data_listener_;
    bool canceled_ = false;
    std::function<void(int, const NetworkBuffer&)> arrival_observer_;
};

}  // namespace sluice
