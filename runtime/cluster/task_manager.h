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
    const checkpoint::CheckpointMetadata* restore = nullptr;
    const CheckpointStorage* restore_storage = nullptr;
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
    int index() const { return config_.index; }
    int node() const { return taskManagerNode(config_.index); }
    const std::vector<std::unique_ptr<StreamTask>>& tasks() const { return tasks_; }

    void setTaskCreatedListener(TaskCreatedListener listener) {
        created_listener_ = std::move(listener);
    }

    void onControlMessage(const control::Envelope& message) override;
    void onTimer(uint32_t kind, uint64_t arg) override;

private:
    void deployTask(int vertex, int subtask);
    void startTasks();
    void reportState(StreamTask& task, ExecutionState state, const std::string& cause);
    StreamTask* findTask(int vertex, int subtask);

    Environment& env_;
    const StreamGraph& stream_graph_;
    const JobGraph& job_;
    MemorySegmentPool& segments_;
    ShuffleRegistry& shuffle_;
    TaskManagerConfig config_;
    std::vector<std::unique_ptr<StreamTask>> tasks_;
    int64_t heartbeat_sequence_ = 0;
    bool stopped_ = false;
    TaskCreatedListener created_listener_;
};

}  // namespace sluice
