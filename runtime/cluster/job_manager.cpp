#include "runtime/cluster/job_manager.h"

#include "proto/control.pb.h"
#include "runtime/core/log.h"

#include <algorithm>

namespace sluice {

const char* jobStatusName(JobStatus status) {
    switch (status) {
        case JobStatus::kCreated:
            return "CREATED";
        case JobStatus::kRunning:
            return "RUNNING";
        case JobStatus::kFinished:
            return "FINISHED";
        case JobStatus::kFailed:
            return "FAILED";
    }
    return "UNKNOWN";
}

namespace {
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
      last_heartbeat_(size_t(config.task_managers), 0) {
    for (const JobVertex& vertex : job_.vertices()) {
        total_tasks_ += vertex.parallelism;
    }
}

void JobManager::start() {
    env_.registerEndpoint(kJobManagerNode, this);
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
            registered_.at(size_t(tm)) = true;
            last_heartbeat_.at(size_t(tm)) = env_.now();
            log::info("jobmanager", "taskmanager.registered",
                      {{"task_manager", std::to_string(tm)},
                       {"slots", std::to_string(message.register_task_manager().slots())}});
            control::Envelope ack;
            ack.mutable_registration_ack()->set_task_manager(tm);
            send(tm, ack);
            if (std::all_of(registered_.begin(), registered_.end(), [](bool r) { return r; })) {
                deploy();
            }
            break;
        }
        case control::Envelope::kHeartbeat:
            last_heartbeat_.at(size_t(message.heartbeat().task_manager())) = env_.now();
            break;
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
    task_states_[{update.vertex(), update.subtask()}] = state;
    if (task_listener_) {
        task_listener_(update.vertex(), update.subtask(), state, update.cause());
    }
    switch (state) {
        case ExecutionState::kDeploying:
            if (++deployed_ == total_tasks_) {
                control::Envelope start;
                start.mutable_start_tasks()->set_attempt(0);
                for (int tm = 0; tm < config_.task_managers; ++tm) {
                    send(tm, start);
                }
            }
            break;
        case ExecutionState::kRunning:
            if (++running_ == total_tasks_) {
                startCheckpointing();
            }
            break;
        case ExecutionState::kFinished:
            if (coordinator_) {
                coordinator_->onTaskFinished(update.vertex(), update.subtask());
            }
            if (++finished_ == total_tasks_) {
                if (coordinator_) {
                    coordinator_->stop();
                }
                setStatus(JobStatus::kFinished);
            }
            break;
        case ExecutionState::kFailed:
            if (status_ == JobStatus::kRunning) {
                // TODO: restart strategies and failover; until then a task
                // failure fails the job.
                const JobVertex& vertex = job_.vertex(update.vertex());
                std::string task = vertex.name + " (" + std::to_string(update.subtask() + 1) + "/" +
                                   std::to_string(vertex.parallelism) + ")";
                setStatus(JobStatus::kFailed, "task " + task + " failed: " + update.cause());
            }
            break;
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
    callbacks.fail_job = [this](const std::string& cause) {
        if (coordinator_) {
            coordinator_->stop();
        }
        setStatus(JobStatus::kFailed, cause);
    };
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
    for (const JobVertex& vertex : job_.vertices()) {
        for (int subtask = 0; subtask < vertex.parallelism; ++subtask) {
            control::Envelope message;
            auto* deploy = message.mutable_deploy_task();
            deploy->set_vertex(vertex.id);
            deploy->set_subtask(subtask);
            deploy->set_slot(subtask % config_.slots_per_task_manager);
            deploy->set_attempt(0);
            send(taskManagerOf(vertex.id, subtask), message);
        }
    }
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
        log::info("jobmanager",
                  std::string("job.") + (status == JobStatus::kRunning    ? "running"
                                         : status == JobStatus::kFinished ? "finished"
                                                                          : "created"));
    }
    if (job_listener_) {
        job_listener_(status, cause);
    }
}

}  // namespace sluice
