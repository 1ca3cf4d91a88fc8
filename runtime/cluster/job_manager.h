#pragma once

#include "runtime/checkpoint/checkpoint_coordinator.h"
#include "runtime/core/environment.h"
#include "runtime/graph/job_graph.h"
#include "runtime/task/task_metrics.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

namespace control {
class Envelope;
class TaskExecutionState;
}  // namespace control

// Job status with Flink's JobStatus names.
enum class JobStatus : uint8_t { kCreated, kRunning, kFinished, kFailed };
const char* jobStatusName(JobStatus status);

struct JobManagerConfig {
    int task_managers = 1;
    int slots_per_task_manager = 1;
    CheckpointConfig checkpointing;
    // Id of the checkpoint the job was restored from, or 0.
    int64_t restored_checkpoint_id = 0;
};

// Schedules the job onto the TaskManagers and tracks task states. Subtask
// i of every vertex goes to slot i (Flink's default slot sharing), and slot
// s lives on TaskManager s / slots_per_task_manager.
//
// Thread safety: environment thread only.
class JobManager final : public ControlEndpoint {
public:
    using JobStatusListener = std::function<void(JobStatus status, const std::string& cause)>;
    using TaskStateListener = std::function<void(int vertex, int subtask, ExecutionState state,
                                                 const std::string& cause)>;

    JobManager(Environment& env, const JobGraph& job, JobManagerConfig config);

    void start();
    JobStatus status() const { return status_; }
    const std::string& failureCause() const { return failure_cause_; }
    // TaskManager index of every subtask, by vertex.
    int taskManagerOf(int vertex, int subtask) const;
    // Latest heartbeat time per TaskManager.
    Nanos lastHeartbeat(int task_manager) const;

    void setJobStatusListener(JobStatusListener listener) { job_listener_ = std::move(listener); }
    void setTaskStateListener(TaskStateListener listener) { task_listener_ = std::move(listener); }

    void onControlMessage(const control::Envelope& message) override;

    // Null until every task runs.
    CheckpointCoordinator* checkpointCoordinator() { return coordinator_.get(); }
    const CheckpointCoordinator* checkpointCoordinator() const { return coordinator_.get(); }
    // Callbacks the coordinator reports through; set before the job runs.
    CheckpointCoordinator::Callbacks& checkpointCallbacks() { return checkpoint_callbacks_; }

private:
    void startCheckpointing();
    void onTaskState(const control::TaskExecutionState& update);
    void deploy();
    void setStatus(JobStatus status, const std::string& cause = {});
    void send(int task_manager, const control::Envelope& message);

    Environment& env_;
    const JobGraph& job_;
    JobManagerConfig config_;
    JobStatus status_ = JobStatus::kCreated;
    std::string failure_cause_;
    std::vector<bool> registered_;
    std::vector<Nanos> last_heartbeat_;
    std::map<std::pair<int, int>, ExecutionState> task_states_;
    int deployed_ = 0;
    int running_ = 0;
    int finished_ = 0;
    std::unique_ptr<CheckpointCoordinator> coordinator_;
    CheckpointCoordinator::Callbacks checkpoint_callbacks_;
    int total_tasks_ = 0;
    JobStatusListener job_listener_;
    TaskStateListener task_listener_;
};

}  // namespace sluice
