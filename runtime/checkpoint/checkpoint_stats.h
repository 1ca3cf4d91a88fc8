#pragma once

#include "runtime/core/types.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sluice {

enum class CheckpointStatus : uint8_t { kInProgress, kCompleted, kFailed };
const char* checkpointStatusName(CheckpointStatus status);

// One subtask's part of a checkpoint, with the fields of Flink's web UI.
struct SubtaskCheckpointStats {
    int vertex = 0;
    int subtask = 0;
    bool acknowledged = false;
    Nanos ack_time_ns = 0;  // absolute simulated time
    Nanos sync_duration_ns = 0;
    Nanos async_duration_ns = 0;
    Nanos alignment_duration_ns = 0;
    Nanos start_delay_ns = 0;
    bool unaligned = false;
    int64_t processed_bytes = 0;
    int64_t persisted_bytes = 0;
    int64_t state_size_bytes = 0;
    int64_t incremental_size_bytes = 0;
};

// One checkpoint in the history, as Flink's checkpoint history shows it.
struct CheckpointStats {
    int64_t id = 0;
    bool savepoint = false;
    CheckpointStatus status = CheckpointStatus::kInProgress;
    std::string failure_cause;
    Nanos trigger_time_ns = 0;
    Nanos latest_ack_ns = 0;
    Nanos end_time_ns = 0;  // completion or failure
    int acknowledged_subtasks = 0;
    int total_subtasks = 0;
    int64_t checkpointed_size_bytes = 0;  // the increment uploaded by this checkpoint
    int64_t full_size_bytes = 0;
    int64_t processed_bytes = 0;
    int64_t persisted_bytes = 0;
    bool unaligned = false;
    std::vector<SubtaskCheckpointStats> subtasks;

    Nanos endToEndDurationNs() const {
        return (status == CheckpointStatus::kInProgress ? latest_ack_ns : end_time_ns) -
               trigger_time_ns;
    }
    Nanos maxAlignmentNs() const;
};

}  // namespace sluice
