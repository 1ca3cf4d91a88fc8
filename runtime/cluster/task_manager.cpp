#include "runtime/cluster/task_manager.h"

#include "proto/control.pb.h"
#include "runtime/core/log.h"

#include <algorithm>

namespace sluice {

namespace {
constexpr uint32_t kHeartbeatTimer = 1;
}

TaskManager::TaskManager(Environment& env, const StreamGraph& stream_graph, const JobGraph& job,
                         MemorySegmentPool& segments, ShuffleRegistry& shuffle,
                         TaskManagerConfig config)
    : env_(env),
      stream_graph_(stream_graph),
      job_(job),
      segments_(segments),
      shuffle_(shuffle),
      config_(config) {
}

TaskManager::~TaskManager() = default;

void TaskManager::start() {
    env_.registerEndpoint(node(), this);
    log::info("taskmanager", "taskmanager.started",
              {{"task_manager", std::to_string(config_.index)},
               {"slots", std::to_string(config_.slots)}});
    registerWithJobManager();
    env_.schedule(env_.now() + config_.heartbeat_interval_ns, this, kHeartbeatTimer,
                  heartbeat_generation_);
}

void TaskManager::registerWithJobManager() {
    control::Envelope message;
    auto* registration = message.mutable_register_task_manager();
    registration->set_task_manager(config_.index);
    registration->set_slots(config_.slots);
    registration->set_instance(instance_);
    env_.sendControl(node(), kJobManagerNode, message);
}

void TaskManager::kill() {
    if (killed_) {
        return;
    }
    log::warning("taskmanager", "taskmanager.killed",
                 {{"task_manager", std::to_string(config_.index)}});
    killed_ = true;
    cancelTasks(-1, true);
    ++heartbeat_generation_;
}

void TaskManager::restart() {
    if (!killed_) {
        return;
    }
    killed_ = false;
    stopped_ = false;
    ++instance_;
    ++heartbeat_generation_;
    start();
}

void TaskManager::cancelTasks(int64_t attempt, bool silently) {
    std::vector<std::unique_ptr<StreamTask>> kept;
    for (auto& task : tasks_) {
        if (attempt >= 0 && task->attempt() >= attempt) {
            kept.push_back(std::move(task));
            continue;
        }
        if (shuffle_.find(task->id().vertex, task->id().subtask) == task.get()) {
            shuffle_.remove(task->id());
        }
        task->cancel(silently);
        retired_.push_back(std::move(task));
    }
    tasks_ = std::move(kept);
}

void TaskManager::cancelTask(int vertex, int subtask) {
    auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](const auto& task) {
        return task->id().vertex == vertex && task->id().subtask == subtask;
    });
    if (it == tasks_.end()) {
        return;
    }
    std::unique_ptr<StreamTask> task = std::move(*it);
    tasks_.erase(it);
    if (shuffle_.find(vertex, subtask) == task.get()) {
        shuffle_.remove(task->id());
    }
    task->cancel(false);
    retired_.push_back(std::move(task));
}

void TaskManager::onTimer(uint32_t kind, uint64_t arg) {
    if (kind != kHeartbeatTimer || stopped_ || killed_ || arg != heartbeat_generation_) {
        return;
    }
    control::Envelope message;
    message.mutable_heartbeat()->set_task_manager(config_.index);
    message.mutable_heartbeat()->set_sequence(++heartbeat_sequence_);
    env_.sendControl(node(), kJobManagerNode, message);
    env_.schedule(env_.now() + config_.heartbeat_interval_ns, this, kHeartbeatTimer,
                  heartbeat_generation_);
}

void TaskManager::onControlMessage(const control::Envelope& message) {
    if (killed_) {
        return;  // a dead process receives nothing
    }
    switch (message.payload_case()) {
        case control::Envelope::kDeployTask:
            deployTask(message);
            break;
        case control::Envelope::kStartTasks:
            startTasks(message.start_tasks().attempt());
            break;
        case control::Envelope::kCancelTask:
            cancelTask(message.cancel_task().vertex(), message.cancel_task().subtask());
            break;
        case control::Envelope::kCancelJobTasks:
            cancelTasks(message.cancel_job_tasks().attempt(), false);
            break;
        case control::Envelope::kDisconnect:
            log::warning("taskmanager", "taskmanager.disconnected",
                         {{"task_manager", std::to_string(config_.index)},
                          {"cause", message.disconnect().cause()}});
            cancelTasks(-1, true);
            registerWithJobManager();
            break;
        case control::Envelope::kTriggerCheckpoint: {
            const auto& trigger = message.trigger_checkpoint();
            if (StreamTask* task = findTask(trigger.vertex(), trigger.subtask())) {
                task->triggerCheckpoint(trigger.checkpoint_id(), trigger.timestamp_ns(),
                                        trigger.savepoint());
            }
            break;
        }
        case control::Envelope::kNotifyCheckpointComplete: {
            const auto& notify = message.notify_checkpoint_complete();
            if (StreamTask* task = findTask(notify.vertex(), notify.subtask())) {
                task->notifyCheckpointComplete(notify.checkpoint_id());
            }
            break;
        }
        case control::Envelope::kNotifyCheckpointAborted: {
            const auto& notify = message.notify_checkpoint_aborted();
            if (StreamTask* task = findTask(notify.vertex(), notify.subtask())) {
                task->notifyCheckpointAborted(notify.checkpoint_id());
            }
            break;
        }
        default:
            break;
    }
}

StreamTask* TaskManager::findTask(int vertex, int subtask) {
    for (auto& task : tasks_) {
        if (task->id().vertex == vertex && task->id().subtask == subtask) {
            return task.get();
        }
    }
    return nullptr;
}

void TaskManager::deployTask(const control::Envelope& message) {
    const auto& deploy = message.deploy_task();
    int vertex = deploy.vertex();
    int subtask = deploy.subtask();
    TaskSpec spec;
    spec.stream_graph = &stream_graph_;
    spec.job_graph = &job_;
    spec.id = {vertex, subtask};
    spec.node = node();
    spec.network = config_.network;
    spec.checkpointing = config_.checkpointing;
    spec.state_backend = config_.state_backend;
    spec.storage = config_.storage;
    spec.registry = config_.registry;
    spec.attempt = deploy.attempt();
    spec.protocol_listener = config_.protocol_listener;
    if (deploy.restore_checkpoint_id() > 0 && config_.restore_lookup) {
        auto [metadata, storage] = config_.restore_lookup(deploy.restore_checkpoint_id());
        spec.restore = metadata;
        spec.restore_storage = storage;
    }
    auto task = std::make_unique<StreamTask>(env_, segments_, spec);
    task->setStateListener([this](StreamTask& t, ExecutionState state, const std::string& cause) {
        reportState(t, state, cause);
    });
    shuffle_.add(task.get());
    tasks_.push_back(std::move(task));
    if (created_listener_) {
        created_listener_(*tasks_.back());
    }
    reportState(*tasks_.back(), ExecutionState::kDeploying, {});
}

void TaskManager::startTasks(int64_t attempt) {
    for (auto& task : tasks_) {
        if (task->attempt() != attempt) {
            continue;
        }
        if (!shuffle_.connectInputs(*task, job_)) {
            log::error("taskmanager", "task.connect_failed", {{"task", task->name()}});
            reportState(*task, ExecutionState::kFailed, "a producer of its input is not deployed");
            return;
        }
    }
    for (auto& task : tasks_) {
        if (task->attempt() == attempt && task->state() == ExecutionState::kCreated) {
            task->start();
        }
    }
}

void TaskManager::reportState(StreamTask& task, ExecutionState state, const std::string& cause) {
    if (state == ExecutionState::kFailed) {
        log::error("taskmanager", "task.failed", {{"task", task.name()}, {"cause", cause}});
    } else if (state == ExecutionState::kRunning || state == ExecutionState::kFinished) {
        log::info("taskmanager",
                  state == ExecutionState::kRunning ? "task.running" : "task.finished",
                  {{"task", task.name()}});
    }
    control::Envelope message;
    auto* update = message.mutable_task_execution_state();
    update->set_vertex(task.id().vertex);
    update->set_subtask(task.id().subtask);
    update->set_state(executionStateName(state));
    update->set_cause(cause);
    update->set_attempt(task.attempt());
    env_.sendControl(node(), kJobManagerNode, message);
}

}  // namespace sluice
