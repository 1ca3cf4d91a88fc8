#include "runtime/cluster/job_manager.h"

#include "proto/control.pb.h"
#include "runtime/core/log.h"

#include <algorithm>
#include <cctype>

namespace sluice {

const char* jobStatusName(JobStatus status) {
    switch (status) {
        case JobStatus::kCreated:
            return "CREATED";
        case JobStatus::kRunning:
            return "RUNNING";
        case JobStatus::kRestarting:
            return "RESTARTING";
        case JobStatus::kFinished:
            return "FINISHED";
        case JobStatus::kFailed:
            return "FAILED";
    }
    return "UNKNOWN";
}

namespace {
enum JobManagerTimer : uint32_t { kHeartbeatCheck = 1, kRestart, kRestartRegions };

// Milestones of a task, as bits, each counted once in deployed_, running_
// and finished_.
constexpr uint8_t kDeployedBit = 1;
constexpr uint8_t kRunningBit = 2;
constexpr uint8_t kFinishedBit = 4;

bool parseExecutionState(const std::string& name, ExecutionState* state) {
    for (int i = 0; i <= int(ExecutionState::kFailed); ++i) {
        if (name == executionStateName(ExecutionState(i))) {
            *state = ExecutionState(i);
            return true;
        }
    }
    return false;
}
}  // namespace

JobManager::JobManager(Environment& env, const JobGraph& job, JobManagerConfig config)
    : env_(env),
      job_(job),
      config_(config),
      registered_(size_t(config.task_managers), false),
      lost_(size_t(config.task_managers), false),
      instance_(size_t(config.task_managers), 0),
      restart_strategy_(config.restart_strategy),
      last_heartbeat_(size_t(config.task_managers), 0) {
    for (const JobVertex& vertex : job_.vertices()) {
        total_tasks_ += vertex.parallelism;
    }
    computeRegions();
}

void JobManager::start() {
    env_.registerEndpoint(kJobManagerNode, this);
    if (config_.heartbeat_timeout_ns > 0) {
        env_.schedule(env_.now() + config_.heartbeat_interval_ns, this, kHeartbeatCheck, 0);
    }
    log::info("jobmanager", "jobmanager.started",
              {{"task_managers", std::to_string(config_.task_managers)},
               {"tasks", std::to_string(total_tasks_)}});
}

int JobManager::taskManagerOf(int vertex, int subtask) const {
    (void)vertex;
    return subtask / config_.slots_per_task_manager;
}

Nanos JobManager::lastHeartbeat(int task_manager) const {
    return last_heartbeat_.at(size_t(task_manager));
}

void JobManager::send(int task_manager, const control::Envelope& message) {
    env_.sendControl(kJobManagerNode, taskManagerNode(task_manager), message);
}

void JobManager::onControlMessage(const control::Envelope& message) {
    switch (message.payload_case()) {
        case control::Envelope::kRegisterTaskManager: {
            int tm = message.register_task_manager().task_manager();
            int64_t instance = message.register_task_manager().instance();
            bool replaced = registered_.at(size_t(tm)) && !lost_.at(size_t(tm)) &&
                            instance != instance_.at(size_t(tm));
            instance_.at(size_t(tm)) = instance;
            registered_.at(size_t(tm)) = true;
            lost_.at(size_t(tm)) = false;
            if (replaced) {
                // A new process took the place of one whose heartbeats had not
                // timed out yet: the tasks of the old process are gone.
                log::warning(
                    "jobmanager", "taskmanager.replaced",
                    {{"task_manager", std::to_string(tm)}, {"instance", std::to_string(instance)}});
                failTasks(tasksOn(tm),
                          "TaskManager " + std::to_string(tm) +
                              " was replaced by a new process; the tasks of the old one are lost.");
            }
            last_heartbeat_.at(size_t(tm)) = env_.now();
            log::info("jobmanager", "taskmanager.registered",
                      {{"task_manager", std::to_string(tm)},
                       {"slots", std::to_string(message.register_task_manager().slots())}});
            control::Envelope ack;
            ack.mutable_registration_ack()->set_task_manager(tm);
            send(tm, ack);
            if (status_ == JobStatus::kCreated && allTaskManagersAvailable()) {
                deploy();
            } else if (waiting_for_resources_ && allTaskManagersAvailable()) {
                restartWhenResourcesReturn();
            }
            break;
        }
        case control::Envelope::kHeartbeat: {
            int tm = message.heartbeat().task_manager();
            if (lost_.at(size_t(tm))) {
                // The TaskManager lives but was declared lost: release it, so
                // it cancels its tasks and registers again.
                control::Envelope disconnect;
                disconnect.mutable_disconnect()->set_task_manager(tm);
                disconnect.mutable_disconnect()->set_cause("heartbeat timed out");
                send(tm, disconnect);
                break;
            }
            last_heartbeat_.at(size_t(tm)) = env_.now();
            break;
        }
        case control::Envelope::kTaskExecutionState:
            onTaskState(message.task_execution_state());
            break;
        case control::Envelope::kAcknowledgeCheckpoint:
            if (coordinator_) {
                coordinator_->onAcknowledge(message.acknowledge_checkpoint());
            }
            break;
        case control::Envelope::kEndOfData:
            if (coordinator_) {
                coordinator_->onEndOfData(message.end_of_data().vertex(),
                                          message.end_of_data().subtask());
            }
            break;
        case control::Envelope::kDeclineCheckpoint:
            if (coordinator_) {
                coordinator_->onDecline(message.decline_checkpoint());
            }
            break;
        default:
            break;
    }
}

void JobManager::onTaskState(const control::TaskExecutionState& update) {
    ExecutionState state;
    if (!parseExecutionState(update.state(), &state)) {
        log::error("jobmanager", "task.state_unknown", {{"state", update.state()}});
        return;
    }
    const TaskKey key{update.vertex(), update.subtask()};
    auto attempt = task_attempt_.find(key);
    if (attempt == task_attempt_.end() || update.attempt() != attempt->second) {
        return;  // a task of an earlier attempt, canceled by a failover
    }
    task_states_[key] = state;
    if (task_listener_) {
        task_listener_(update.vertex(), update.subtask(), state, update.cause());
    }
    switch (state) {
        case ExecutionState::kDeploying:
            if (markProgress(key, kDeployedBit) && ++deployed_ == total_tasks_) {
                control::Envelope start;
                start.mutable_start_tasks()->set_attempt(attempt_);
                for (int tm = 0; tm < config_.task_managers; ++tm) {
                    send(tm, start);
                }
            }
            break;
        case ExecutionState::kRunning:
            if (markProgress(key, kRunningBit) && ++running_ == total_tasks_) {
                restarting_tasks_.clear();
                if (recovering_since_ns_ >= 0) {
                    recovery_durations_.push_back(env_.now() - recovering_since_ns_);
                    recoveries_.back().second = env_.now();
                    log::info("jobmanager", "job.recovered",
                              {{"attempt", std::to_string(attempt_)},
                               {"recovery_ms",
                                std::to_string(recovery_durations_.back() / kNanosPerMilli)}});
                    recovering_since_ns_ = -1;
                }
                if (coordinator_) {
                    coordinator_->resume();
                } else {
                    startCheckpointing();
                }
            }
            break;
        case ExecutionState::kFinished:
            if (coordinator_) {
                coordinator_->onTaskFinished(update.vertex(), update.subtask());
            }
            if (markProgress(key, kFinishedBit) && ++finished_ == total_tasks_) {
                if (coordinator_) {
                    coordinator_->stop();
                }
                setStatus(JobStatus::kFinished);
            }
            break;
        case ExecutionState::kFailed: {
            const JobVertex& vertex = job_.vertex(update.vertex());
            std::string task = vertex.name + " (" + std::to_string(update.subtask() + 1) + "/" +
                               std::to_string(vertex.parallelism) + ")";
            failTasks({key}, "task " + task + " failed: " + update.cause());
            break;
        }
        default:
            break;
    }
}

void JobManager::startCheckpointing() {
    // The coordinator also exists without periodic checkpoints, so
    // savepoints can be triggered at run time.
    CheckpointCoordinator::Callbacks callbacks = checkpoint_callbacks_;
    callbacks.send_to_task = [this](int vertex, int subtask, const control::Envelope& message) {
        send(taskManagerOf(vertex, subtask), message);
    };
    callbacks.is_running = [this](int vertex, int subtask) {
        auto it = task_states_.find({vertex, subtask});
        return it != task_states_.end() && it->second == ExecutionState::kRunning;
    };
    callbacks.protocol_listener = config_.protocol_listener;
    callbacks.fail_job = [this](const std::string& cause) { failover(cause); };
    coordinator_ = std::make_unique<CheckpointCoordinator>(env_, job_, config_.checkpointing,
                                                           std::move(callbacks));
    coordinator_->continueAfter(config_.restored_checkpoint_id);
    coordinator_->start();
}

void JobManager::deploy() {
    int slots = config_.task_managers * config_.slots_per_task_manager;
    for (const JobVertex& vertex : job_.vertices()) {
        if (vertex.parallelism > slots) {
            setStatus(JobStatus::kFailed,
                      "vertex '" + vertex.name + "' needs " + std::to_string(vertex.parallelism) +
                          " slots but the cluster has " + std::to_string(slots));
            return;
        }
    }
    setStatus(JobStatus::kRunning);
    const int64_t restore_id = restoreCheckpointId();
    for (const JobVertex& vertex : job_.vertices()) {
        for (int subtask = 0; subtask < vertex.parallelism; ++subtask) {
            sendDeploy(vertex.id, subtask, restore_id);
        }
    }
}

int64_t JobManager::restoreCheckpointId() const {
    if (coordinator_ && coordinator_->latestCompletedId() > 0) {
        return coordinator_->latestCompletedId();
    }
    return config_.restored_checkpoint_id;
}

void JobManager::sendDeploy(int vertex, int subtask, int64_t restore_id) {
    task_attempt_[{vertex, subtask}] = attempt_;
    control::Envelope message;
    auto* deploy = message.mutable_deploy_task();
    deploy->set_vertex(vertex);
    deploy->set_subtask(subtask);
    deploy->set_slot(subtask % config_.slots_per_task_manager);
    deploy->set_attempt(attempt_);
    deploy->set_restore_checkpoint_id(restore_id);
    send(taskManagerOf(vertex, subtask), message);
}

bool JobManager::allTaskManagersAvailable() const {
    for (size_t tm = 0; tm < registered_.size(); ++tm) {
        if (!registered_[tm] || lost_[tm]) {
            return false;
        }
    }
    return true;
}

void JobManager::failover(const std::string& cause) {
    if (status_ == JobStatus::kFinished || status_ == JobStatus::kFailed) {
        return;
    }
    if (status_ == JobStatus::kRestarting) {
        log::info("jobmanager", "failover.ignored", {{"cause", cause}});
        return;  // already restarting: every task restarts anyway
    }
    last_failure_ns_ = env_.now();
    recovering_since_ns_ = env_.now();
    recoveries_.emplace_back(env_.now(), -1);
    restarting_tasks_.clear();
    restart_strategy_.notifyFailure(env_.now());
    if (coordinator_) {
        coordinator_->suspend("Checkpoint was aborted because of a job failover: " + cause);
    }
    cancelAllTasks(cause);
    if (!restart_strategy_.canRestart()) {
        if (coordinator_) {
            coordinator_->stop();
        }
        setStatus(JobStatus::kFailed, "Recovery is suppressed by " + restart_strategy_.describe() +
                                          ". Root cause: " + cause);
        return;
    }
    Nanos backoff = restart_strategy_.backoffNs();
    log::warning("jobmanager", "job.restarting",
                 {{"attempt", std::to_string(attempt_ + 1)},
                  {"backoff_ms", std::to_string(backoff / kNanosPerMilli)},
                  {"cause", cause}});
    setStatus(JobStatus::kRestarting, cause);
    env_.schedule(env_.now() + backoff, this, kRestart, uint64_t(attempt_ + 1));
}

void JobManager::onTimer(uint32_t kind, uint64_t arg) {
    switch (kind) {
        case kHeartbeatCheck:
            if (status_ == JobStatus::kFinished || status_ == JobStatus::kFailed) {
                return;
            }
            checkHeartbeats();
            env_.schedule(env_.now() + config_.heartbeat_interval_ns, this, kHeartbeatCheck, 0);
            break;
        case kRestartRegions:
            if (arg != region_generation_ || restarting_tasks_.empty() ||
                status_ != JobStatus::kRunning) {
                return;
            }
            if (allTaskManagersAvailable()) {
                redeployRegions();
            } else {
                waiting_for_resources_ = true;
                log::info("jobmanager", "region.waiting_for_resources",
                          {{"attempt", std::to_string(attempt_ + 1)}});
            }
            break;
        case kRestart:
            if (status_ != JobStatus::kRestarting || int64_t(arg) != attempt_ + 1) {
                return;
            }
            if (allTaskManagersAvailable()) {
                redeploy();
            } else {
                waiting_for_resources_ = true;
                log::info("jobmanager", "job.waiting_for_resources",
                          {{"attempt", std::to_string(attempt_ + 1)}});
            }
            break;
        default:
            break;
    }
}

void JobManager::checkHeartbeats() {
    for (int tm = 0; tm < config_.task_managers; ++tm) {
        if (!registered_[size_t(tm)] || lost_[size_t(tm)]) {
            continue;
        }
        if (env_.now() - last_heartbeat_[size_t(tm)] <= config_.heartbeat_timeout_ns) {
            continue;
        }
        lost_[size_t(tm)] = true;
        registered_[size_t(tm)] = false;
        log::warning("jobmanager", "taskmanager.lost", {{"task_manager", std::to_string(tm)}});
        failTasks(tasksOn(tm), "Heartbeat of TaskManager " + std::to_string(tm) + " timed out.");
    }
}

void JobManager::redeploy() {
    waiting_for_resources_ = false;
    ++attempt_;
    ++num_restarts_;
    deployed_ = 0;
    running_ = 0;
    finished_ = 0;
    task_states_.clear();
    progress_.clear();
    deploy();
}

void JobManager::setStatus(JobStatus status, const std::string& cause) {
    if (status_ == status) {
        return;
    }
    status_ = status;
    failure_cause_ = cause;
    if (status == JobStatus::kFailed) {
        log::error("jobmanager", "job.failed", {{"cause", cause}});
    } else {
        std::string name = jobStatusName(status);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return char(std::tolower(c)); });
        log::info("jobmanager", "job." + name);
    }
    if (job_listener_) {
        job_listener_(status, cause);
    }
}

void JobManager::rewind(int64_t checkpoint_id, Nanos delay_ns, const std::string& cause) {
    if (status_ == JobStatus::kFinished || status_ == JobStatus::kFailed) {
        return;
    }
    last_failure_ns_ = env_.now();
    recovering_since_ns_ = env_.now();
    recoveries_.emplace_back(env_.now(), -1);
    restarting_tasks_.clear();
    if (coordinator_) {
        coordinator_->suspend("Checkpoint was aborted because the job was stopped: " + cause);
        coordinator_->rewindTo(checkpoint_id);
    }
    config_.restored_checkpoint_id = checkpoint_id;
    cancelAllTasks(cause);
    log::warning("jobmanager", "job.rewinding",
                 {{"checkpoint", std::to_string(checkpoint_id)},
                  {"attempt", std::to_string(attempt_ + 1)},
                  {"cause", cause}});
    setStatus(JobStatus::kRestarting, cause);
    env_.schedule(env_.now() + delay_ns, this, kRestart, uint64_t(attempt_ + 1));
}

void JobManager::cancelAllTasks(const std::string& cause) {
    for (int tm = 0; tm < config_.task_managers; ++tm) {
        if (registered_[size_t(tm)] && !lost_[size_t(tm)]) {
            control::Envelope cancel;
            cancel.mutable_cancel_job_tasks()->set_attempt(attempt_ + 1);
            cancel.mutable_cancel_job_tasks()->set_cause(cause);
            send(tm, cancel);
        }
    }
}

bool JobManager::markProgress(const TaskKey& task, uint8_t milestone) {
    uint8_t& done = progress_[task];
    if (done & milestone) {
        return false;
    }
    done |= milestone;
    return true;
}

void JobManager::forgetProgress(const TaskKey& task) {
    auto it = progress_.find(task);
    if (it == progress_.end()) {
        return;
    }
    deployed_ -= (it->second & kDeployedBit) ? 1 : 0;
    running_ -= (it->second & kRunningBit) ? 1 : 0;
    finished_ -= (it->second & kFinishedBit) ? 1 : 0;
    progress_.erase(it);
    task_states_.erase(task);
}

void JobManager::computeRegions() {
    // Union-find over subtasks, numbered in vertex order.
    std::vector<int> first(job_.vertices().size(), 0);
    int count = 0;
    for (const JobVertex& vertex : job_.vertices()) {
        first[size_t(vertex.id)] = count;
        count += vertex.parallelism;
    }
    std::vector<int> parent(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        parent[size_t(i)] = i;
    }
    auto find = [&](int i) {
        while (parent[size_t(i)] != i) {
            parent[size_t(i)] = parent[size_t(parent[size_t(i)])];
            i = parent[size_t(i)];
        }
        return i;
    };
    auto join = [&](int a, int b) { parent[size_t(find(a))] = find(b); };

    for (const JobEdge& edge : job_.edges()) {
        const JobVertex& source = job_.vertex(edge.source_vertex);
        const JobVertex& target = job_.vertex(edge.target_vertex);
        int source_first = first[size_t(source.id)];
        int target_first = first[size_t(target.id)];
        if (edge.isPointwise()) {
            for (int s = 0; s < source.parallelism; ++s) {
                join(source_first + s, target_first + s);
            }
            continue;
        }
        for (int s = 0; s < source.parallelism; ++s) {
            join(source_first + s, target_first);
        }
        for (int t = 1; t < target.parallelism; ++t) {
            join(target_first + t, target_first);
        }
    }
    std::map<int, int> region_ids;  // root -> dense region id
    for (const JobVertex& vertex : job_.vertices()) {
        for (int s = 0; s < vertex.parallelism; ++s) {
            int root = find(first[size_t(vertex.id)] + s);
            auto [it, added] = region_ids.emplace(root, int(region_ids.size()));
            region_of_[{vertex.id, s}] = it->second;
        }
    }

    region_count_ = int(region_ids.size());
}

std::set<JobManager::TaskKey> JobManager::regionsOf(const std::vector<TaskKey>& tasks) const {
    std::set<int> regions;
    for (const TaskKey& task : tasks) {
        regions.insert(region_of_.at(task));
    }
    std::set<TaskKey> members;
    for (const auto& [task, region] : region_of_) {
        if (regions.count(region)) {
            members.insert(task);
        }
    }
    return members;
}

std::vector<JobManager::TaskKey> JobManager::tasksOn(int task_manager) const {
    std::vector<TaskKey> tasks;
    for (const JobVertex& vertex : job_.vertices()) {
        for (int s = 0; s < vertex.parallelism; ++s) {
            if (taskManagerOf(vertex.id, s) == task_manager) {
                tasks.emplace_back(vertex.id, s);
            }
        }
    }
    return tasks;
}

void JobManager::failTasks(const std::vector<TaskKey>& tasks, const std::string& cause) {
    // NOTE: a failure during a region restart restarts the whole job, where
    // Flink would restart the union of the regions.
    if (!config_.region_failover || status_ != JobStatus::kRunning || !restarting_tasks_.empty() ||
        tasks.empty()) {
        failover(cause);
        return;
    }
    std::set<TaskKey> members = regionsOf(tasks);
    if (int(members.size()) == total_tasks_) {
        failover(cause);
        return;
    }
    failoverRegions(std::move(members), cause);
}

void JobManager::failoverRegions(std::set<TaskKey> tasks, const std::string& cause) {
    last_failure_ns_ = env_.now();
    recovering_since_ns_ = env_.now();
    recoveries_.emplace_back(env_.now(), -1);
    restart_strategy_.notifyFailure(env_.now());

    if (coordinator_) {
        coordinator_->suspend("Checkpoint was aborted because of a region failover: " + cause,
                              &tasks);
    }
    if (!restart_strategy_.canRestart()) {
        cancelAllTasks(cause);
        if (coordinator_) {
            coordinator_->stop();
        }
        setStatus(JobStatus::kFailed, "Recovery is suppressed by " + restart_strategy_.describe() +
                                          ". Root cause: " + cause);
        return;
    }
    for (const TaskKey& task : tasks) {
        forgetProgress(task);
        int tm = taskManagerOf(task.first, task.second);
        if (registered_[size_t(tm)] && !lost_[size_t(tm)]) {
            control::Envelope cancel;
            cancel.mutable_cancel_task()->set_vertex(task.first);
            cancel.mutable_cancel_task()->set_subtask(task.second);
            send(tm, cancel);
        }
    }

    Nanos backoff = restart_strategy_.backoffNs();
    log::warning("jobmanager", "region.restarting",
                 {{"attempt", std::to_string(attempt_ + 1)},
                  {"tasks", std::to_string(tasks.size())},
                  {"backoff_ms", std::to_string(backoff / kNanosPerMilli)},
                  {"cause", cause}});
    failure_cause_ = cause;
    restarting_tasks_ = std::move(tasks);
    env_.schedule(env_.now() + backoff, this, kRestartRegions, ++region_generation_);
}

void JobManager::redeployRegions() {
    waiting_for_resources_ = false;
    ++attempt_;
    ++num_restarts_;
    const int64_t restore_id = restoreCheckpointId();
    for (const TaskKey& task : restarting_tasks_) {
        sendDeploy(task.first, task.second, restore_id);
    }
}

void JobManager::restartWhenResourcesReturn() {
    if (status_ == JobStatus::kRunning && !restarting_tasks_.empty()) {
        redeployRegions();
    } else {
        redeploy();
    }
}

}  // namespace sluice
