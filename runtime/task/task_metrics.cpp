#include "runtime/task/task_metrics.h"

namespace sluice {

const char* executionStateName(ExecutionState state) {
    switch (state) {
        case ExecutionState::kCreated:
            return "CREATED";
        case ExecutionState::kDeploying:
            return "DEPLOYING";
        case ExecutionState::kInitializing:
            return "INITIALIZING";
        case ExecutionState::kRunning:
            return "RUNNING";
        case ExecutionState::kFinished:
            return "FINISHED";
        case ExecutionState::kCanceling:
            return "CANCELING";
        case ExecutionState::kCanceled:
            return "CANCELED";
        case ExecutionState::kFailed:
            return "FAILED";
    }
    return "UNKNOWN";
}

}  // namespace sluice
