#pragma once

#include "runtime/cluster/shuffle_registry.h"
#include "runtime/core/environment.h"
#include "runtime/task/stream_task.h"

#include <functional>
#include <memory>
#include <vector>

namespace sluice {

namespace control {
class Envelope;
}

struct TaskManagerConfig {
    int index = 0;
    int slots = 1;
    Nanos heartbeat_interval_ns = kNanosPerSecond;
    NetworkConfig network;
    CheckpointConfig checkpointing;
    StateBackendConfig state_backend;
    CheckpointStorage* storage = nullptr;
    SharedStateRegistry* registry = nullptr;
    // Finds a completed checkpoint or savepoint by id, for deployments
    // that restore; returns {null, null} when it is unknown.
    std::function<std::pair<const checkpoint::CheckpointMetadata*, const CheckpointStorage*>(
        int64_t checkpoint_id)>
        restore_lookup;
    // Passed on to every task; see TaskSpec::protocol_listener.
    std::function<void(const ProtocolEvent&)> protocol_listener;
};

// Runs the tasks deployed to it. Registers with the JobManager, sends
// heartbeats, creates tasks on DeployTask, connects and starts them on
// StartTasks and reports every task state change.
//
// Ownership: owns its tasks. Thread safety: environment thread only.
class TaskManager final : public ControlEndpoint, public TimerTarget {
public:
    using TaskCreatedListener = std::function<void(StreamTask& task)>;

    TaskManager(Environment& env, const StreamGraph& stream_graph, const JobGraph& job,
                MemorySegmentPool& segments, ShuffleRegistry& shuffle, TaskManagerConfig config);
    ~TaskManager();

    void start();
    // Stops heartbeats, such as when the job reached a terminal state.
    void stop() { stopped_ = true; }
    // The process dies: its tasks stop without reporting, and it sends and
    // receives nothing until restart().
    void kill();
    // A replacement process starts in its place and registers again.
    void restart();
    bool killed() const { return killed_; }
    int index() const { return config_.index; }
    int node() const { return taskManagerNode(config_.index); }
    const std::vector<std::unique_ptr<StreamTask>>& tasks() const { return tasks_; }

    void setTaskCreatedListener(TaskCreatedListener listener) {
        created_listener_ = std::move(listener);
    }

    void onControlMessage(const control::Envelope& message) override;
    void onTimer(uint32_t kind, uint64_t arg) override;

private:
    void deployTask(const control::Envelope& message);
    void startTasks(int64_t attempt);
    // Cancels the tasks of attempts before `attempt` (all for -1) and keeps
    // them until the run ends, because scheduled events still point at them.
    void cancelTasks(int64_t attempt, bool silently);
    // Region failover: cancels the task of (vertex, subtask), if deployed.
    void cancelTask(int vertex, int subtask);
    void registerWithJobManager();
    void reportState(StreamTask& task, ExecutionState state, const std::string& cause);
    StreamTask* findTask(int vertex, int subtask);

    Environment& env_;
    const StreamGraph& stream_graph_;
    const JobGraph& job_;
    MemorySegmentPool& segments_;
    ShuffleRegistry& shuffle_;
    TaskManagerConfig config_;
    std::vector<std::unique_ptr<StreamTask>> tasks_;
    std::vector<std::unique_ptr<StreamTask>> retired_;
    int64_t heartbeat_sequence_ = 0;
    // Identifies the live heartbeat timer chain; older chains stop.
    uint64_t heartbeat_generation_ = 0;
    bool stopped_ = false;
    bool killed_ = false;
    int64_t instance_ = 0;
    TaskCreatedListener created_listener_;
};

}  // namespace sluice
