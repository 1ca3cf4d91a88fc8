#pragma once

#include "runtime/checkpoint/checkpoint_coordinator.h"
#include "runtime/cluster/restart_strategy.h"
#include "runtime/core/environment.h"
#include "runtime/graph/job_graph.h"
#include "runtime/task/task_metrics.h"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace sluice {

namespace control {
class Envelope;
class TaskExecutionState;
}  // namespace control

// Job status with Flink's JobStatus names.
enum class JobStatus : uint8_t { kCreated, kRunning, kRestarting, kFinished, kFailed };
const char* jobStatusName(JobStatus status);

struct JobManagerConfig {
    int task_managers = 1;
    int slots_per_task_manager = 1;
    CheckpointConfig checkpointing;
    // Id of the checkpoint the job was restored from, or 0.
    int64_t restored_checkpoint_id = 0;
    // A TaskManager whose last heartbeat is older than the timeout is lost.
    Nanos heartbeat_interval_ns = kNanosPerSecond;
    Nanos heartbeat_timeout_ns = 5 * kNanosPerSecond;
    RestartStrategyConfig restart_strategy;
    // Restart only the pipelined regions of failed tasks (Flink's "region"
    // failover strategy) instead of every task.
    bool region_failover = false;
    // Passed on to the checkpoint coordinator; may be empty.
    std::function<void(const ProtocolEvent&)> protocol_listener;
};

// Schedules the job onto the TaskManagers and tracks task states. Subtask
// i of every vertex goes to slot i (Flink's default slot sharing), and slot
// s lives on TaskManager s / slots_per_task_manager.
//
// Thread safety: environment thread only.
class JobManager final : public ControlEndpoint, public TimerTarget {
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
    // Execution attempt of the deployed tasks: 0, then +1 per restart.
    int64_t attempt() const { return attempt_; }
    int numRestarts() const { return num_restarts_; }
    // Time from each failure to every task of the next attempt running.
    const std::vector<Nanos>& recoveryDurations() const { return recovery_durations_; }
    // (failure time, time every task ran again or -1) of every failover.
    const std::vector<std::pair<Nanos, Nanos>>& recoveries() const { return recoveries_; }
    // Time of the latest failure that started a failover, or -1.
    Nanos lastFailureNs() const { return last_failure_ns_; }
    // Fails over the job because of `cause`, as a task failure does.
    void failover(const std::string& cause);
    // Stops the job and runs it again from the completed checkpoint
    // `checkpoint_id` after `delay_ns`, as a user restoring an older
    // retained checkpoint does. The restart strategy is not consulted.
    void rewind(int64_t checkpoint_id, Nanos delay_ns, const std::string& cause);
    // Fails over after `tasks`, as (vertex, subtask), failed or were lost:
    // with region failover only their pipelined regions restart, unless
    // the regions cover the job or a restart is already under way.
    void failTasks(const std::vector<std::pair<int, int>>& tasks, const std::string& cause);
    // Pipelined region of a subtask: subtasks joined by a FORWARD edge share
    // a region, and an all-to-all edge joins every subtask of both vertices.
    int regionOf(int vertex, int subtask) const { return region_of_.at({vertex, subtask}); }
    int regionCount() const { return region_count_; }

    void setJobStatusListener(JobStatusListener listener) { job_listener_ = std::move(listener); }
    void setTaskStateListener(TaskStateListener listener) { task_listener_ = std::move(listener); }

    void onControlMessage(const control::Envelope& message) override;
    void onTimer(uint32_t kind, uint64_t arg) override;

    // Null until every task runs.
    CheckpointCoordinator* checkpointCoordinator() { return coordinator_.get(); }
    const CheckpointCoordinator* checkpointCoordinator() const { return coordinator_.get(); }
    // Callbacks the coordinator reports through; set before the job runs.
    CheckpointCoordinator::Callbacks& checkpointCallbacks() { return checkpoint_callbacks_; }

private:
    void startCheckpointing();
    void onTaskState(const control::TaskExecutionState& update);
    void deploy();
    void redeploy();
    using TaskKey = std::pair<int, int>;
    void computeRegions();
    std::set<TaskKey> regionsOf(const std::vector<TaskKey>& tasks) const;
    std::vector<TaskKey> tasksOn(int task_manager) const;
    void failoverRegions(std::set<TaskKey> tasks, const std::string& cause);
    void redeployRegions();
    void restartWhenResourcesReturn();
    void sendDeploy(int vertex, int subtask, int64_t restore_id);
    void cancelAllTasks(const std::string& cause);
    int64_t restoreCheckpointId() const;
    // Counts a milestone bit (deployed, running or finished) of a task
    // once; returns false if it was already counted.
    bool markProgress(const TaskKey& task, uint8_t milestone);
    void forgetProgress(const TaskKey& task);
    void checkHeartbeats();
    bool allTaskManagersAvailable() const;
    void setStatus(JobStatus status, const std::string& cause = {});
    void send(int task_manager, const control::Envelope& message);

    Environment& env_;
    const JobGraph& job_;
    JobManagerConfig config_;
    JobStatus status_ = JobStatus::kCreated;
    std::string failure_cause_;
    std::vector<bool> registered_;
    // Declared lost after a heartbeat timeout, until it registers again.
    std::vector<bool> lost_;
    std::vector<int64_t> instance_;  // registered process instance per TaskManager
    RestartStrategy restart_strategy_;
    int64_t attempt_ = 0;
    int num_restarts_ = 0;
    bool waiting_for_resources_ = false;
    Nanos last_failure_ns_ = -1;
    Nanos recovering_since_ns_ = -1;
    std::vector<Nanos> recovery_durations_;
    std::vector<std::pair<Nanos, Nanos>> recoveries_;
    std::vector<Nanos> last_heartbeat_;
    std::map<std::pair<int, int>, ExecutionState> task_states_;
    std::map<TaskKey, int64_t> task_attempt_;  // attempt of the deployed task
    std::map<TaskKey, uint8_t> progress_;      // milestones counted below
    std::map<TaskKey, int> region_of_;
    int region_count_ = 0;
    // Tasks of the regions that are restarting; empty otherwise.
    std::set<TaskKey> restarting_tasks_;
    uint64_t region_generation_ = 0;  // identifies the live region restart timer
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
