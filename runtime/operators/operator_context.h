#pragma once

#include "runtime/core/key_groups.h"
#include "runtime/core/types.h"

#include <cstdint>
#include <string>

namespace sluice {

class KeyedStateBackend;
class StreamOperatorBase;

// Simulated CPU cost of one operator, accumulated while a task step runs.
struct CostMeter {
    Nanos ns_per_record = 0;
    // Each step's cost is scaled by a uniform factor in [1 - jitter, 1 + jitter].
    double jitter = 0;
    // Extra cost of skewed keys, added by the operator adapters.
    double skewed_ns = 0;
    uint64_t records = 0;

    double stepCostNs() const { return double(records) * double(ns_per_record) + skewed_ns; }
    void resetStep() {
        records = 0;
        skewed_ns = 0;
    }
};

// Counters of one operator in one subtask.
struct OperatorMetrics {
    uint64_t records_in = 0;
    uint64_t records_out = 0;
    uint64_t late_records_dropped = 0;
};

// Services a task gives each operator of its chain.
class ProcessingTimeService {
public:
    virtual TimestampMs currentProcessingTimeMs() const = 0;
    // Calls operator->onProcessingTime(time_ms, timer_id) once processing
    // time reached time_ms.
    virtual void registerProcessingTimer(StreamOperatorBase* op, TimestampMs time_ms,
                                         uint64_t timer_id) = 0;

protected:
    ~ProcessingTimeService() = default;
};

// Description of where an operator runs, and the services it may use.
struct OperatorContext {
    std::string operator_name;
    int subtask_index = 0;
    int parallelism = 1;
    int max_parallelism = kDefaultMaxParallelism;
    KeyGroupRange key_group_range;
    KeyedStateBackend* keyed_state_backend = nullptr;
    ProcessingTimeService* processing_time = nullptr;
    CostMeter cost;
    OperatorMetrics metrics;
    TimestampMs current_watermark = kMinWatermark;
    // Whether a final checkpoint follows finish() at the end of input, so a
    // two-phase-commit sink commits its last transaction when that
    // checkpoint completes rather than in finish().
    bool final_checkpoint = false;
    // Execution attempt of the task: 0, then +1 per job restart.
    int64_t attempt = 0;
    // Id of the checkpoint the task restored from, or 0.
    int64_t restored_checkpoint_id = 0;
};

}  // namespace sluice
