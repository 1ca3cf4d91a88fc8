#pragma once

#include "runtime/core/types.h"

#include <cstdint>

namespace sluice {

// Lifecycle of a task, with Flink's ExecutionState names.
enum class ExecutionState : uint8_t {
    kCreated,
    kDeploying,
    kInitializing,
    kRunning,
    kFinished,
    kCanceling,
    kCanceled,
    kFailed,
};

const char* executionStateName(ExecutionState state);

// Activity of a task at a moment, for busy, idle and backpressured time.
enum class TaskActivity : uint8_t { kIdle, kBusy, kBackpressured };

// Cumulative counters of one subtask. Rates per second come from the
// difference of two samples.
struct TaskCounters {
    Nanos busy_ns = 0;
    Nanos idle_ns = 0;
    Nanos backpressured_ns = 0;
    uint64_t records_in = 0;
    uint64_t records_out = 0;
    uint64_t buffers_in = 0;
    uint64_t steps = 0;
};

}  // namespace sluice
