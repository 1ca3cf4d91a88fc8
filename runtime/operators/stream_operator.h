#pragma once

#include "runtime/core/types.h"
#include "runtime/operators/output.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

class KeyedStateBackend;
struct OperatorContext;

// A pending timer of a keyed operator, as a checkpoint stores it.
struct TimerSnapshot {
    int key_group = 0;
    std::string key;  // serialized key
    TimestampMs time_ms = 0;
    uint64_t id = 0;
    bool event_time = true;
};

// Base of every operator in a chain. Lifecycle, in order: setup, open, any
// number of processElement / processWatermark / onProcessingTime calls, then
// finish when the input ended (flush buffered results), then close.
class StreamOperatorBase {
public:
    virtual ~StreamOperatorBase() = default;

    void setup(OperatorContext* context, OutputBase* output) {
        context_ = context;
        output_base_ = output;
    }
    virtual void open() {}
    // Default: forwards the watermark.
    virtual void processWatermark(TimestampMs watermark) { output_base_->emitWatermark(watermark); }
    virtual void processWatermarkStatus(bool idle) { output_base_->emitWatermarkStatus(idle); }
    // A processing-time timer registered through the OperatorContext fired.
    virtual void onProcessingTime(TimestampMs time_ms, uint64_t timer_id) {}
    // All input was processed: emit what is still buffered.
    virtual void finish() {}
    virtual void close() {}

    // True for operators that use keyed state; they get a KeyedStateBackend.
    virtual bool isKeyed() const { return false; }

    // Checkpoint hooks, in Flink's order. snapshotState runs in the
    // synchronous phase when the barrier is processed. It returns the
    // earliest simulated time at which the snapshot is durable (0: at once),
    // which is later when a sink must wait for outstanding writes. Then the
    // coordinator calls notifyCheckpointComplete or notifyCheckpointAborted.
    virtual Nanos snapshotState(int64_t checkpoint_id) { return 0; }
    // Operator (non-keyed) state of this subtask for checkpoint
    // `checkpoint_id`, taken after snapshotState; empty for none.
    virtual std::string snapshotOperatorState(int64_t checkpoint_id) { return {}; }
    // Hands the operator state of the restored checkpoint to the operator
    // before open(); not called on a fresh start.
    virtual void initializeOperatorState(const std::string& state) {}
    virtual void notifyCheckpointComplete(int64_t checkpoint_id) {}
    virtual void notifyCheckpointAborted(int64_t checkpoint_id) {}
    // Pending timers, for the snapshot; and restored timers, filtered to the
    // operator's key groups, before open().
    virtual void snapshotTimers(std::vector<TimerSnapshot>* out) const {}
    virtual void restoreTimers(const std::vector<TimerSnapshot>& timers) {}

    OperatorContext& context() { return *context_; }
    const OperatorContext& context() const { return *context_; }

protected:
    OperatorContext* context_ = nullptr;
    OutputBase* output_base_ = nullptr;
};

template <class IN>
class OneInputStreamOperator : public StreamOperatorBase {
public:
    virtual void processElement(const IN& value, TimestampMs timestamp) = 0;
};

// Base of operators with a typed output, for output().
template <class IN, class OUT>
class AbstractStreamOperator : public OneInputStreamOperator<IN> {
protected:
    Output<OUT>& output() { return *static_cast<Output<OUT>*>(this->output_base_); }
};

}  // namespace sluice
