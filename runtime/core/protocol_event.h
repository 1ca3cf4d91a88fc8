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
    // Barrier progress for observers such as the engine protocol's event
    // stream. Faults cannot be triggered at these phases.
    kBarrierReceived,         // a subtask handled a barrier on one input channel
    kBarrierAligned,          // a subtask has the barriers of all its input channels
    kBarrierForwarded,        // a subtask queued the barrier on its outputs
    kCheckpointAcknowledged,  // a subtask sent its acknowledgement
};

struct ProtocolEvent {
    ProtocolPhase phase = ProtocolPhase::kCheckpointTriggered;
    int64_t checkpoint_id = 0;
    int vertex = -1;  // -1 for coordinator phases
    int subtask = -1;
    int64_t attempt = 0;
    int channel = -1;  // task-wide input channel index for kBarrierReceived
};

}  // namespace sluice
