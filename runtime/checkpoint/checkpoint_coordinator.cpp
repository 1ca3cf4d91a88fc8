#include "runtime/checkpoint/checkpoint_coordinator.h"

#include "proto/control.pb.h"
#include "runtime/core/log.h"

namespace sluice {

CheckpointCoordinator::CheckpointCoordinator(Environment& env, const JobGraph& job,
                                             CheckpointConfig config, Callbacks callbacks)
    : env_(env), job_(job), config_(std::move(config)), callbacks_(std::move(callbacks)) {
}

void CheckpointCoordinator::start() {
    if (config_.enabled && config_.interval_ns > 0) {
        env_.schedule(env_.now() + config_.interval_ns, this, kPeriodic, generation_);
    }
    for (size_t i = 0; i < config_.savepoints_at_ns.size(); ++i) {
        env_.schedule(config_.savepoints_at_ns[i], this, kSavepoint, i);
    }
}

bool CheckpointCoordinator::sourcesRunning() const {
    for (const JobVertex& vertex : job_.vertices()) {
        if (!vertex.is_source) {
            continue;
        }
        for (int s = 0; s < vertex.parallelism; ++s) {
            if (callbacks_.is_running(vertex.id, s)) {
                return true;
            }
        }
    }
    return false;
}

void CheckpointCoordinator::suspend(const std::string& cause,
                                    const std::set<std::pair<int, int>>* restarting) {
    suspended_ = true;
    ++generation_;
    std::vector<int64_t> ids;
    for (const auto& [id, pending] : pending_) {
        ids.push_back(id);
    }
    for (int64_t id : ids) {
        abort(id, cause, false);
    }
    if (restarting == nullptr) {
        end_of_data_.clear();
        return;
    }
    for (const auto& task : *restarting) {
        end_of_data_.erase(task);
    }
}

void CheckpointCoordinator::rewindTo(int64_t id) {
    next_id_ = id + 1;
    latest_completed_ = id;
    consecutive_failures_ = 0;
    history_.erase(history_.upper_bound(id), history_.end());
}

void CheckpointCoordinator::resume() {
    if (!suspended_) {
        return;
    }
    suspended_ = false;
    ++generation_;
    if (config_.enabled && config_.interval_ns > 0) {
        env_.schedule(env_.now() + config_.interval_ns, this, kPeriodic, generation_);
    }
}

void CheckpointCoordinator::onTimer(uint32_t kind, uint64_t arg) {
    if (stopped_) {
        return;
    }
    switch (kind) {
        case kPeriodic:
            if (arg != generation_) {
                break;  // a chain from before a failover
            }
            trigger(false);
            env_.schedule(env_.now() + config_.interval_ns, this, kPeriodic, generation_);
            break;
        case kSavepoint:
            trigger(true);
            break;
        case kTimeout:
            if (pending_.count(int64_t(arg))) {
                abort(int64_t(arg), "Checkpoint expired before completing.");
            }
            break;
        default:
            break;
    }
}

int64_t CheckpointCoordinator::trigger(bool savepoint) {
    if (stopped_ || suspended_ || !sourcesRunning()) {
        return -1;
    }
    if (int(pending_.size()) >= config_.max_concurrent && !savepoint) {
        return -1;
    }
    if (!savepoint && last_end_ns_ >= 0 && env_.now() < last_end_ns_ + config_.min_pause_ns) {
        return -1;
    }
    int64_t id = next_id_++;
    CheckpointStats& stats = history_[id];
    stats.id = id;
    stats.savepoint = savepoint;
    stats.trigger_time_ns = env_.now();
    stats.latest_ack_ns = env_.now();
    Pending& pending = pending_[id];
    for (const JobVertex& vertex : job_.vertices()) {
        for (int s = 0; s < vertex.parallelism; ++s) {
            if (callbacks_.is_running(vertex.id, s)) {
                pending.waiting.insert({vertex.id, s});
                SubtaskCheckpointStats subtask;
                subtask.vertex = vertex.id;
                subtask.subtask = s;
                stats.subtasks.push_back(subtask);
            }
        }
    }
    stats.total_subtasks = int(pending.waiting.size());
    log::info(
        "checkpoint", savepoint ? "savepoint.triggered" : "checkpoint.triggered",
        {{"checkpoint", std::to_string(id)}, {"subtasks", std::to_string(stats.total_subtasks)}});
    if (callbacks_.on_status) {
        callbacks_.on_status(stats);
    }
    for (const JobVertex& vertex : job_.vertices()) {
        for (int s = 0; s < vertex.parallelism; ++s) {
            bool direct = vertex.is_source || end_of_data_.count({vertex.id, s});
            if (direct && pending.waiting.count({vertex.id, s})) {
                sendTrigger(id, vertex.id, s);
            }
        }
    }
    env_.schedule(env_.now() + config_.timeout_ns, this, kTimeout, uint64_t(id));
    if (callbacks_.protocol_listener) {
        callbacks_.protocol_listener({ProtocolPhase::kCheckpointTriggered, id, -1, -1, 0});
    }
    return id;
}

void CheckpointCoordinator::sendTrigger(int64_t id, int vertex, int subtask) {
    control::Envelope message;
    auto* trigger = message.mutable_trigger_checkpoint();
    trigger->set_checkpoint_id(id);
    trigger->set_timestamp_ns(history_.at(id).trigger_time_ns);
    trigger->set_savepoint(history_.at(id).savepoint);
    trigger->set_vertex(vertex);
    trigger->set_subtask(subtask);
    callbacks_.send_to_task(vertex, subtask, message);
}

void CheckpointCoordinator::onEndOfData(int vertex, int subtask) {
    end_of_data_.insert({vertex, subtask});
    // A pending checkpoint whose barrier can no longer reach the task: the
    // task ignores the trigger if it took that snapshot already.
    for (const auto& [id, pending] : pending_) {
        if (pending.waiting.count({vertex, subtask})) {
            sendTrigger(id, vertex, subtask);
        }
    }
}

void CheckpointCoordinator::onAcknowledge(const control::AcknowledgeCheckpoint& ack) {
    auto it = pending_.find(ack.checkpoint_id());
    if (it == pending_.end()) {
        return;  // late acknowledgement of an aborted or completed checkpoint
    }
    std::pair<int, int> key{ack.vertex(), ack.subtask()};
    if (!it->second.waiting.erase(key)) {
        return;
    }
    it->second.states[key] = ack.state();
    CheckpointStats& stats = history_[ack.checkpoint_id()];
    const auto& in = ack.stats();
    for (auto& subtask : stats.subtasks) {
        if (subtask.vertex != ack.vertex() || subtask.subtask != ack.subtask()) {
            continue;
        }
        subtask.acknowledged = true;
        subtask.ack_time_ns = env_.now();
        subtask.sync_duration_ns = in.sync_duration_ns();
        subtask.async_duration_ns = in.async_duration_ns();
        subtask.alignment_duration_ns = in.alignment_duration_ns();
        subtask.start_delay_ns = in.start_delay_ns();
        subtask.unaligned = in.unaligned();
        subtask.processed_bytes = in.processed_bytes();
        subtask.persisted_bytes = in.persisted_bytes();
        subtask.state_size_bytes = in.state_size_bytes();
        subtask.incremental_size_bytes = in.incremental_size_bytes();
    }
    ++stats.acknowledged_subtasks;
    stats.latest_ack_ns = env_.now();
    // Like Flink, both sizes include the in-flight data that an unaligned
    // checkpoint persisted as channel state.
    stats.full_size_bytes += in.state_size_bytes() + in.persisted_bytes();
    stats.checkpointed_size_bytes += in.incremental_size_bytes() + in.persisted_bytes();
    stats.processed_bytes += in.processed_bytes();
    stats.persisted_bytes += in.persisted_bytes();
    stats.unaligned = stats.unaligned || in.unaligned();
    if (it->second.waiting.empty()) {
        if (callbacks_.protocol_listener) {
            callbacks_.protocol_listener(
                {ProtocolPhase::kAllAcknowledged, ack.checkpoint_id(), -1, -1, 0});
            if (!pending_.count(ack.checkpoint_id())) {
                return;  // a failover aborted it in between
            }
        }
        complete(ack.checkpoint_id());
    }
}

void CheckpointCoordinator::onDecline(const control::DeclineCheckpoint& decline) {
    if (pending_.count(decline.checkpoint_id())) {
        abort(decline.checkpoint_id(),
              "Checkpoint was declined by " + job_.vertex(decline.vertex()).name + " (" +
                  std::to_string(decline.subtask() + 1) + "/" +
                  std::to_string(job_.vertex(decline.vertex()).parallelism) +
                  "): " + decline.reason());
    }
}

void CheckpointCoordinator::onTaskFinished(int vertex, int subtask) {
    std::vector<int64_t> ready;
    for (auto& [id, pending] : pending_) {
        if (pending.waiting.erase({vertex, subtask}) && pending.waiting.empty()) {
            ready.push_back(id);
        }
    }
    for (int64_t id : ready) {
        complete(id);
    }
}

void CheckpointCoordinator::complete(int64_t id) {
    Pending pending = std::move(pending_.at(id));
    pending_.erase(id);
    CheckpointStats& stats = history_[id];
    stats.status = CheckpointStatus::kCompleted;
    stats.end_time_ns = env_.now();
    last_end_ns_ = env_.now();
    consecutive_failures_ = 0;
    ++completed_count_;
    latest_completed_ = std::max(latest_completed_, id);
    log::info("checkpoint", stats.savepoint ? "savepoint.completed" : "checkpoint.completed",
              {{"checkpoint", std::to_string(id)},
               {"duration_ms", std::to_string(stats.endToEndDurationNs() / kNanosPerMilli)}});
    if (callbacks_.on_completed) {
        callbacks_.on_completed(stats, pending.states);
    }
    if (callbacks_.on_status) {
        callbacks_.on_status(stats);
    }
    control::Envelope message;
    message.mutable_notify_checkpoint_complete()->set_checkpoint_id(id);
    broadcast(message);
    // Checkpoints triggered before this one and still pending are subsumed.
    std::vector<int64_t> older;
    for (const auto& [pending_id, unused] : pending_) {
        if (pending_id < id && !history_[pending_id].savepoint) {
            older.push_back(pending_id);
        }
    }
    for (int64_t old : older) {
        abort(old, "Checkpoint was subsumed by checkpoint " + std::to_string(id) + ".");
    }
}

void CheckpointCoordinator::abort(int64_t id, const std::string& cause, bool counts) {
    pending_.erase(id);
    CheckpointStats& stats = history_[id];
    stats.status = CheckpointStatus::kFailed;
    stats.failure_cause = cause;
    stats.end_time_ns = env_.now();
    last_end_ns_ = env_.now();
    ++failed_count_;
    log::warning("checkpoint", "checkpoint.failed",
                 {{"checkpoint", std::to_string(id)}, {"cause", cause}});
    if (callbacks_.on_status) {
        callbacks_.on_status(stats);
    }
    control::Envelope message;
    message.mutable_notify_checkpoint_aborted()->set_checkpoint_id(id);
    broadcast(message);
    if (!counts || cause.rfind("Checkpoint was subsumed", 0) == 0) {
        return;  // not a failure of the job's checkpointing
    }
    if (++consecutive_failures_ > config_.tolerable_failures) {
        // As Flink's CheckpointFailureManager does, the count starts over
        // and the job fails over through its restart strategy.
        consecutive_failures_ = 0;
        callbacks_.fail_job("Exceeded checkpoint tolerable failure threshold (" +
                            std::to_string(config_.tolerable_failures) +
                            "). The latest checkpoint " + std::to_string(id) + " failed: " + cause);
    }
}

void CheckpointCoordinator::broadcast(const control::Envelope& message) {
    control::Envelope addressed = message;
    for (const JobVertex& vertex : job_.vertices()) {
        for (int s = 0; s < vertex.parallelism; ++s) {
            if (!callbacks_.is_running(vertex.id, s)) {
                continue;
            }
            if (addressed.has_notify_checkpoint_complete()) {
                addressed.mutable_notify_checkpoint_complete()->set_vertex(vertex.id);
                addressed.mutable_notify_checkpoint_complete()->set_subtask(s);
            } else if (addressed.has_notify_checkpoint_aborted()) {
                addressed.mutable_notify_checkpoint_aborted()->set_vertex(vertex.id);
                addressed.mutable_notify_checkpoint_aborted()->set_subtask(s);
            }
            callbacks_.send_to_task(vertex.id, s, addressed);
        }
    }
}

}  // namespace sluice
