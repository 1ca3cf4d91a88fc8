#include "runtime/checkpoint/checkpoint_stats.h"

#include "runtime/checkpoint/checkpoint_config.h"

#include <algorithm>

namespace sluice {

const char* checkpointStatusName(CheckpointStatus status) {
    switch (status) {
        case CheckpointStatus::kInProgress:
            return "IN_PROGRESS";
        case CheckpointStatus::kCompleted:
            return "COMPLETED";
        case CheckpointStatus::kFailed:
            return "FAILED";
    }
    return "UNKNOWN";
}

const char* checkpointingModeName(CheckpointingMode mode) {
    switch (mode) {
        case CheckpointingMode::kExactlyOnce:
            return "EXACTLY_ONCE";
        case CheckpointingMode::kAtLeastOnce:
            return "AT_LEAST_ONCE";
        case CheckpointingMode::kUnaligned:
            return "UNALIGNED";
        case CheckpointingMode::kAlignedWithTimeout:
            return "ALIGNED_WITH_TIMEOUT";
    }
    return "UNKNOWN";
}

Nanos CheckpointStats::maxAlignmentNs() const {
    Nanos result = 0;
    for (const auto& subtask : subtasks) {
        result = std::max(result, subtask.alignment_duration_ns);
    }
    return result;
}

}  // namespace sluice
