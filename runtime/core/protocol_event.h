#pragma once

#include <cstdint>

namespace sluice {

// Points of the checkpoint and recovery protocol at which the simulator can
// inject a fault. Runtime components report them through a listener. The
// listener may fail or cancel the reporting component before it returns, so
// callers report at the end of the step they describe.
enum class ProtocolPhase : uint8_t {
    kCheckpointTriggered,  // the coordinator triggered a checkpoint
    kDuringAlignment,      // a subtask received the first barrier of a checkpoint
    kAfterSyncSnapshot,    // a subtask finished the synchronous part of its snapshot
    kAllAcknowledged,      // every acknowledgement arrived, before the notifications
    kAfterNotify,          // a subtask received notifyCheckpointComplete
    kDuringRestore,        // a subtask started restoring state
};

struct ProtocolEvent {
    ProtocolPhase phase = ProtocolPhase::kCheckpointTriggered;
    int64_t checkpoint_id = 0;
    int vertex = -1;  // -1 for coordinator phases
    int subtask = -1;
    int64_t attempt = 0;
};

}  // namespace sluice
