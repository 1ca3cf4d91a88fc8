#pragma once

#include "proto/checkpoint.pb.h"
#include "runtime/checkpoint/checkpoint_config.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/shared_state_registry.h"
#include "runtime/core/environment.h"
#include "runtime/core/protocol_event.h"
#include "runtime/graph/job_graph.h"
#include "runtime/network/input_gate.h"
#include "runtime/network/result_partition.h"
#include "runtime/operators/operator_context.h"
#include "runtime/operators/source_operator.h"
#include "runtime/state/keyed_state_backend.h"
#include "runtime/state/state_backend.h"
#include "runtime/task/input_processor.h"
#include "runtime/task/task_metrics.h"
#include "runtime/task/watermark_valve.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

// Identifies one subtask of the job graph.
struct TaskId {
    int vertex = 0;
    int subtask = 0;
    bool operator==(const TaskId&) const = default;
};

struct TaskSpec {
    const StreamGraph* stream_graph = nullptr;
    const JobGraph* job_graph = nullptr;
    TaskId id;
    int node = 1;  // TaskManager node that runs the task
    NetworkConfig network;
    CheckpointConfig checkpointing;
    StateBackendConfig state_backend;
    // Where snapshots go; null when the job takes no checkpoints.
    CheckpointStorage* storage = nullptr;
    SharedStateRegistry* registry = nullptr;
    // The checkpoint or savepoint to start from, and the storage it is in;
    // null for a fresh start.
    const checkpoint::CheckpointMetadata* restore = nullptr;
    const CheckpointStorage* restore_storage = nullptr;
    // Largest number of records a source emits in one step.
    uint64_t source_batch_records = 1024;
    // Simulated CPU time after which a step ends and the rest of its input
    // buffer waits for the next step.
    Nanos step_quantum_ns = kNanosPerMilli;
    // Execution attempt: 0 for the first deployment, +1 per job restart.
    int64_t attempt = 0;
    // Receives the protocol phases the task passes; may be empty.
    std::function<void(const ProtocolEvent&)> protocol_listener;
};

// One subtask: a chain of operators run by a single-threaded mailbox loop.
// Work happens in steps. A step processes one input buffer (or one batch of
// source records), takes simulated CPU time from the cost model, and its
// output buffers are sent when the step ends. Between steps the task is
// idle (no input) or backpressured (input waiting, no output buffer).
//
// Ownership: the task owns its operators, state backends, result partitions
// and input gates. The TaskManager wires partitions and gates of different
// tasks together before start(). Thread safety: environment thread only.
class StreamTask final : public TimerTarget, public InputContext, public ProcessingTimeService {
public:
    using StateListener =
        std::function<void(StreamTask& task, ExecutionState state, const std::string& cause)>;

    StreamTask(Environment& env, MemorySegmentPool& segments, TaskSpec spec);
    ~StreamTask();

    const TaskId& id() const { return spec_.id; }
    const JobVertex& vertex() const { return spec_.job_graph->vertex(spec_.id.vertex); }
    std::string name() const;
    int node() const { return spec_.node; }
    ExecutionState state() const { return state_; }
    TaskActivity activity() const { return activity_; }

    // Result partition i belongs to vertex().out_edges[i]; input gate i to
    // vertex().in_edges[i].
    ResultPartition& partition(int i) { return *partitions_[size_t(i)]; }
    InputGate& gate(int i) { return *gates_[size_t(i)]; }
    const ResultPartition& partition(int i) const { return *partitions_[size_t(i)]; }
    const InputGate& gate(int i) const { return *gates_[size_t(i)]; }
    int partitionCount() const { return int(partitions_.size()); }
    int gateCount() const { return int(gates_.size()); }

    void setStateListener(StateListener listener) { state_listener_ = std::move(listener); }

    // Opens the operators, announces initial credit and starts processing.
    void start();
    // Stops the task for a failover: no more processing, sending or
    // timers. Reports CANCELED unless `silently` (a killed process reports
    // nothing).
    void cancel(bool silently);
    // Fails the task from outside, such as an injected exception or a lost
    // network connection. Does nothing unless the task is running.
    void failExternally(const std::string& cause);
    // Declines the checkpoint the task takes part in, if any, as a failed
    // snapshot does. Returns its id, or 0 when none was running.
    int64_t declineRunningCheckpoint(const std::string& reason);
    // Multiplies the per-record cost of every chained operator; 1 restores it.
    void setCostFactor(double factor) { cost_factor_ = factor; }
    int64_t attempt() const { return spec_.attempt; }

    // Counters including the activity in progress until now.
    TaskCounters counters() const;
    // Operators of the chain in chain order, with their contexts.
    int operatorCount() const { return int(operators_.size()); }
    const OperatorContext& operatorContext(int i) const { return *contexts_[size_t(i)]; }
    int operatorNode(int i) const { return vertex().nodes[size_t(i)]; }
    // Keyed state backend of chain operator i, or null.
    const KeyedStateBackend* keyedStateBackend(int i) const { return backends_[size_t(i)].get(); }
    TimestampMs currentInputWatermark() const { return input_watermark_; }

    // InputContext
    bool outputAvailable() const override;
    bool stepBudgetLeft() override { return ++records_this_step_ < max_records_per_step_; }
    void onWatermark(int channel, TimestampMs watermark) override;
    void onWatermarkStatus(int channel, bool idle) override;

    // ProcessingTimeService
    TimestampMs currentProcessingTimeMs() const override;
    void registerProcessingTimer(StreamOperatorBase* op, TimestampMs time_ms,
                                 uint64_t timer_id) override;

    void onTimer(uint32_t kind, uint64_t arg) override;

    // Checkpointing. A source starts checkpoint `id` on the coordinator's
    // trigger; other tasks start it when the first barrier arrives.
    void triggerCheckpoint(int64_t id, Nanos trigger_ns, bool savepoint);
    void notifyCheckpointComplete(int64_t id);
    void notifyCheckpointAborted(int64_t id);
    // Channel state persisted by the subtask's part of checkpoint `id`, in
    // the order it was recorded; empty for aligned checkpoints.
    const std::vector<PersistedBuffer>& channelState(int64_t id) const;

private:
    enum TimerKind : uint32_t {
        kStepStart = 1,
        kStepEnd,
        kFlush,
        kProcessingTimer,
        kCheckpointAck,
        kAlignmentTimeout,
        kOutputTimeout,
    };

    // Progress of the checkpoint this subtask is taking part in.
    struct CheckpointProgress {
        int64_t id = 0;
        bool active = false;
        bool savepoint = false;
        bool snapshotted = false;  // state taken and barrier forwarded
        bool unaligned = false;
        Nanos trigger_ns = 0;
        Nanos first_barrier_ns = 0;
        Nanos alignment_ns = 0;
        Nanos sync_ns = 0;
        Nanos snapshot_done_ns = 0;  // end of the synchronous phase
        Nanos durable_at_ns = 0;     // end of the asynchronous phase
        std::vector<bool> received;  // barrier arrived, per task-wide channel
        int received_count = 0;
        std::vector<bool> recording;  // in-flight data persisted, per channel
        int64_t processed_bytes = 0;
        int64_t persisted_bytes = 0;
        int64_t state_bytes = 0;
        int64_t incremental_bytes = 0;
        bool ack_scheduled = false;
        std::vector<checkpoint::KeyedStateHandle> keyed_handles;
        std::vector<PartitionOffset> source_offsets;
        std::vector<std::pair<int, TimerSnapshot>> timers;         // (stream node, timer)
        std::vector<std::pair<int, std::string>> operator_states;  // (stream node, state)
    };

    void buildChain();
    void restoreState();
    void restoreChannelState();
    // Checkpointing, in stream_task_checkpoint.cpp.
    void handleBarrier(int flat_channel, const NetworkBuffer& barrier);
    void beginCheckpoint(int64_t id, Nanos trigger_ns, bool savepoint);
    void cancelCheckpoint(const std::string& reason);
    void declineCheckpoint(int64_t id, const std::string& reason);
    void markBarrierReceived(int flat_channel);
    void takeSnapshot(bool unaligned);
    void persistInFlightInput();
    void persistOvertaken(int flat_channel, int count);
    void switchToUnaligned();
    void maybeAcknowledge();
    // Returns true when the acknowledgement of `progress` was sent.
    bool maybeAcknowledge(CheckpointProgress& progress);
    void sendAcknowledge(CheckpointProgress& progress);
    // Moves the running checkpoint aside if it only waits for its
    // acknowledgement, or cancels it; either way a new one can start.
    void endCheckpointForNewer(int64_t newer_id, const char* what);
    void onDataArrival(int gate, int channel, const NetworkBuffer& buffer);
    void unblockAllChannels();
    int flatChannel(int gate, int channel) const {
        return gate_channel_offset_[size_t(gate)] + channel;
    }

    void wake();
    void runStep();
    void endStep();
    bool processInputStep();
    bool processSourceStep(Nanos* wait_until);
    void finishInput();
    void closeAndFinish();
    bool takesFinalCheckpoint() const {
        return spec_.checkpointing.enabled && spec_.checkpointing.interval_ns > 0;
    }
    void fail(const std::string& cause);
    void cancelNetwork();
    void report(ProtocolPhase phase, int64_t checkpoint_id, int channel = -1);
    void setState(ExecutionState state, const std::string& cause = {});
    void setActivity(TaskActivity activity);
    void scheduleFlushIfNeeded();
    Nanos stepCostNs();

    Environment& env_;
    MemorySegmentPool& segments_;
    TaskSpec spec_;
    ExecutionState state_ = ExecutionState::kCreated;
    StateListener state_listener_;

    std::vector<std::unique_ptr<StreamOperatorBase>> operators_;
    std::vector<std::unique_ptr<OperatorContext>> contexts_;
    std::vector<std::unique_ptr<KeyedStateBackend>> backends_;
    std::vector<std::unique_ptr<OutputBase>> outputs_;
    std::vector<std::unique_ptr<ResultPartition>> partitions_;
    std::vector<std::unique_ptr<InputGate>> gates_;
    std::vector<int> gate_channel_offset_;
    std::unique_ptr<InputProcessorBase> input_processor_;
    SourceOperatorBase* source_ = nullptr;
    std::unique_ptr<WatermarkValve> valve_;
    TimestampMs input_watermark_ = kMinWatermark;

    // Buffer being processed and the read position inside it.
    NetworkBuffer current_buffer_;
    int current_gate_ = -1;
    int current_channel_ = -1;
    size_t current_position_ = 0;
    int next_gate_ = 0;
    // Input channel state of the restored checkpoint, processed before any
    // new input; the current buffer came from here when current_recovered_.
    struct RecoveredInput {
        int gate;
        int channel;
        std::string data;
    };
    std::deque<RecoveredInput> recovered_input_;
    bool current_recovered_ = false;
    // Buffers processed in the running step, released when it ends.
    struct Consumed {
        int gate;
        int channel;
        NetworkBuffer buffer;
    };
    std::vector<Consumed> consumed_;

    bool in_step_ = false;
    bool step_scheduled_ = false;
    // Identifies the one pending step start; older ones are ignored.
    uint64_t step_token_ = 0;
    bool source_waiting_ = false;
    bool flush_scheduled_ = false;
    bool input_finished_ = false;
    // End of input reached and operators finished; the task waits for a
    // checkpoint taken from now on to complete before it closes them.
    double cost_factor_ = 1.0;
    bool awaiting_final_checkpoint_ = false;
    int64_t final_checkpoint_id_ = 0;  // 0: none snapshotted yet
    Nanos step_started_ns_ = 0;
    Nanos step_cost_ns_ = 0;

    TaskActivity activity_ = TaskActivity::kIdle;
    Nanos activity_since_ns_ = 0;
    TaskCounters counters_;

    struct PendingTimer {
        StreamOperatorBase* op;
        TimestampMs time_ms;
        uint64_t timer_id;
    };
    CheckpointProgress checkpoint_;
    // Snapshotted checkpoints whose acknowledgement still waits for the
    // asynchronous phase or for a barrier in an output queue, while a newer
    // checkpoint runs.
    std::map<int64_t, CheckpointProgress> finishing_;
    Nanos clock_ns_ = 0;  // simulated time, for state entries' last update
    std::map<int64_t, std::vector<PersistedBuffer>> channel_state_;
    std::vector<int64_t> deferred_triggers_;  // (id, trigger time, savepoint) triples
    std::vector<int> flat_gate_;
    std::vector<int> flat_channel_;
    std::vector<bool> flat_finished_;
    Nanos extra_step_cost_ns_ = 0;  // synchronous snapshot time of this step
    uint64_t records_this_step_ = 0;
    uint64_t max_records_per_step_ = 1;
    std::map<uint64_t, PendingTimer> processing_timers_;
    std::vector<uint64_t> deferred_timers_;  // fired while a step ran
    uint64_t next_timer_token_ = 0;
};

}  // namespace sluice
