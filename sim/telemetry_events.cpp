#include "sim/telemetry_events.h"

#include "runtime/checkpoint/checkpoint_stats.h"
#include "runtime/cluster/job_manager.h"
#include "runtime/task/task_metrics.h"

namespace sluice::sim {

namespace {

std::string subtaskName(const Engine& engine, int vertex, int subtask) {
    return engine.jobGraph().vertex(vertex).name + " (" + std::to_string(subtask + 1) + "/" +
           std::to_string(engine.jobGraph().vertex(vertex).parallelism) + ")";
}

}  // namespace

void TelemetryEvents::attach(Engine& engine) {
    engine_ = &engine;
    uint64_t generation = ++generation_;
    events_.clear();
    barrier_events_ = 0;
    trigger_events_.clear();
    faults_seen_ = 0;
    checkpoints_ended_.clear();
    task_states_.clear();
    job_status_.clear();
    engine.addProtocolObserver([this, generation](const ProtocolEvent& event) {
        if (generation == generation_) {
            onProtocolEvent(event);
        }
    });
}

protocol::Event TelemetryEvents::makeEvent(protocol::Event::Kind kind, int vertex, int subtask,
                                           int64_t checkpoint_id, std::string text) const {
    protocol::Event event;
    event.set_event_index(engine_->eventCount());
    event.set_time_ns(engine_->now());
    event.set_kind(kind);
    event.set_vertex(vertex);
    event.set_subtask(subtask);
    event.set_checkpoint_id(checkpoint_id);
    event.set_text(std::move(text));
    return event;
}

void TelemetryEvents::onProtocolEvent(const ProtocolEvent& event) {
    using Kind = protocol::Event;
    std::string id = std::to_string(event.checkpoint_id);
    std::string who =
        event.vertex >= 0 ? subtaskName(*engine_, event.vertex, event.subtask) : "the JobManager";
    auto add = [&](Kind::Kind kind, std::string text) {
        events_.push_back(
            makeEvent(kind, event.vertex, event.subtask, event.checkpoint_id, std::move(text)));
    };
    switch (event.phase) {
        case ProtocolPhase::kCheckpointTriggered:
            trigger_events_[event.checkpoint_id] = engine_->eventCount();
            // A final checkpoint sends no barriers, so its trigger is where
            // stepping to the next barrier event stops.
            ++barrier_events_;
            add(Kind::CHECKPOINT_TRIGGERED, "checkpoint " + id + " triggered");
            break;
        case ProtocolPhase::kBarrierReceived:
            ++barrier_events_;
            add(Kind::BARRIER_RECEIVED, who + " received barrier " + id + " on input channel " +
                                            std::to_string(event.channel));
            break;
        case ProtocolPhase::kBarrierAligned:
            ++barrier_events_;
            add(Kind::BARRIER_ALIGNED, who + " aligned barrier " + id);
            break;
        case ProtocolPhase::kBarrierForwarded: {
            ++barrier_events_;
            bool source = engine_->jobGraph().vertex(event.vertex).is_source;
            add(source ? Kind::BARRIER_EMITTED : Kind::BARRIER_FORWARDED,
                who + (source ? " emitted barrier " : " forwarded barrier ") + id);
            break;
        }
        case ProtocolPhase::kCheckpointAcknowledged:
            add(Kind::CHECKPOINT_ACKNOWLEDGED, who + " acknowledged checkpoint " + id);
            break;
        case ProtocolPhase::kDuringRestore:
            add(Kind::RESTORE, who + " started restoring from checkpoint " + id);
            break;
        default:
            break;  // the other phases show through checkpoint stats
    }
}

void TelemetryEvents::poll() {
    if (!engine_) {
        return;
    }
    pollFaults();
    pollCheckpoints();
    pollTaskStates();
    std::string job_status = jobStatusName(engine_->jobStatus());
    if (job_status != job_status_) {
        job_status_ = job_status;
        std::string cause = engine_->failureCause().empty() ? "" : ": " + engine_->failureCause();
        events_.push_back(
            makeEvent(protocol::Event::JOB_STATE, -1, -1, 0, "job " + job_status + cause));
    }
}

void TelemetryEvents::pollFaults() {
    const auto& fired = engine_->firedFaults();
    for (; faults_seen_ < fired.size(); ++faults_seen_) {
        const FiredFault& fault = fired[faults_seen_];
        protocol::Event event = makeEvent(
            protocol::Event::FAULT, -1, -1, 0,
            "fault: " + fault.description + (fault.injected ? " (injected at run time)" : ""));
        event.set_event_index(fault.event_index);
        event.set_time_ns(fault.time_ns);
        events_.push_back(std::move(event));
    }
}

void TelemetryEvents::pollCheckpoints() {
    // Completed and failed checkpoints appear in the history with their end
    // time; the digests name the event index of each completion.
    std::map<int64_t, uint64_t> completed_at;
    for (const auto& digest : engine_->checkpointDigests()) {
        completed_at[digest.checkpoint_id] = digest.event_index;
    }
    for (const auto& stats : engine_->checkpointHistory()) {
        if (stats.status == CheckpointStatus::kInProgress || checkpoints_ended_.count(stats.id)) {
            continue;
        }
        checkpoints_ended_.insert(stats.id);
        std::string kind = stats.savepoint ? "savepoint " : "checkpoint ";
        protocol::Event event;
        if (stats.status == CheckpointStatus::kCompleted) {
            event = makeEvent(protocol::Event::CHECKPOINT_COMPLETED, -1, -1, stats.id,
                              kind + std::to_string(stats.id) + " completed");
            if (auto it = completed_at.find(stats.id); it != completed_at.end()) {
                event.set_event_index(it->second);
            }
        } else {
            event = makeEvent(protocol::Event::CHECKPOINT_FAILED, -1, -1, stats.id,
                              kind + std::to_string(stats.id) + " failed: " + stats.failure_cause);
        }
        event.set_time_ns(stats.end_time_ns);
        events_.push_back(std::move(event));
    }
}

void TelemetryEvents::pollTaskStates() {
    for (const StreamTask* task : engine_->tasks()) {
        auto key = std::make_pair(task->id().vertex, task->id().subtask);
        auto it = task_states_.find(key);
        if (it != task_states_.end() && it->second.first > task->attempt()) {
            continue;  // a canceled task of an earlier attempt
        }
        std::pair<int64_t, ExecutionState> now{task->attempt(), task->state()};
        if (it != task_states_.end() && it->second == now) {
            continue;
        }
        task_states_[key] = now;
        events_.push_back(makeEvent(protocol::Event::TASK_STATE, key.first, key.second, 0,
                                    subtaskName(*engine_, key.first, key.second) + " is " +
                                        executionStateName(task->state()) + " (attempt " +
                                        std::to_string(task->attempt()) + ")"));
    }
}

std::vector<protocol::Event> TelemetryEvents::take() {
    std::vector<protocol::Event> events;
    events.swap(events_);
    return events;
}

void TelemetryEvents::add(protocol::Event event) {
    events_.push_back(std::move(event));
}

}  // namespace sluice::sim
