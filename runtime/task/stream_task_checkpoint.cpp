// The checkpoint part of StreamTask: barrier alignment, unaligned
// checkpoints, snapshots and acknowledgements.

#include "proto/checkpoint.pb.h"
#include "proto/control.pb.h"
#include "runtime/core/log.h"
#include "runtime/task/stream_task.h"

#include <algorithm>

namespace sluice {

namespace {
// How often a task whose barrier still waits in an output queue checks
// again before acknowledging an aligned checkpoint with timeout.
constexpr Nanos kOutputRecheckNs = kNanosPerMilli;
}  // namespace

const std::vector<PersistedBuffer>& StreamTask::channelState(int64_t id) const {
    static const std::vector<PersistedBuffer> kEmpty;
    auto it = channel_state_.find(id);
    return it == channel_state_.end() ? kEmpty : it->second;
}

void StreamTask::triggerCheckpoint(int64_t id, Nanos trigger_ns, bool savepoint) {
    if (state_ != ExecutionState::kRunning) {
        return;
    }
    if (id <= checkpoint_.id) {
        return;  // a repeated trigger of a checkpoint this task already took
    }
    if (in_step_) {
        deferred_triggers_.insert(deferred_triggers_.end(), {id, trigger_ns, savepoint ? 1 : 0});
        return;
    }
    if (checkpoint_.active) {
        endCheckpointForNewer(id, "trigger");
    }
    beginCheckpoint(id, trigger_ns, savepoint);
    takeSnapshot(spec_.checkpointing.mode == CheckpointingMode::kUnaligned);
    maybeAcknowledge();
}

void StreamTask::endCheckpointForNewer(int64_t newer_id, const char* what) {
    bool complete =
        checkpoint_.snapshotted && checkpoint_.received_count == int(checkpoint_.received.size());
    if (complete) {
        int64_t id = checkpoint_.id;
        finishing_[id] = std::move(checkpoint_);
        checkpoint_ = CheckpointProgress{};
        checkpoint_.id = id;
        return;
    }
    // A newer barrier overtook an alignment in progress: the older
    // checkpoint can never complete here.
    cancelCheckpoint("checkpoint " + std::to_string(checkpoint_.id) + " was canceled by the " +
                     what + " of newer checkpoint " + std::to_string(newer_id));
}

void StreamTask::beginCheckpoint(int64_t id, Nanos trigger_ns, bool savepoint) {
    checkpoint_ = CheckpointProgress{};
    checkpoint_.id = id;
    checkpoint_.active = true;
    checkpoint_.savepoint = savepoint;
    checkpoint_.trigger_ns = trigger_ns;
    checkpoint_.first_barrier_ns = env_.now();
    checkpoint_.received = flat_finished_;
    checkpoint_.received_count =
        int(std::count(flat_finished_.begin(), flat_finished_.end(), true));
    checkpoint_.recording.assign(flat_finished_.size(), false);
    if (spec_.checkpointing.mode == CheckpointingMode::kAlignedWithTimeout && gateCount() > 0) {
        env_.schedule(std::max(env_.now(), trigger_ns + spec_.checkpointing.aligned_timeout_ns),
                      this, kAlignmentTimeout, uint64_t(id));
    }
}

void StreamTask::handleBarrier(int flat, const NetworkBuffer& barrier) {
    int64_t id = barrier.event_value;
    if (id < checkpoint_.id || (id == checkpoint_.id && !checkpoint_.active)) {
        return;  // a barrier of a canceled or already acknowledged checkpoint
    }
    if (id > checkpoint_.id) {
        if (checkpoint_.active) {
            endCheckpointForNewer(id, "barrier");
        }
        beginCheckpoint(id, barrier.event_time_ns, barrier.event_flags & kBarrierSavepoint);
        report(ProtocolPhase::kDuringAlignment, id);
        if (state_ != ExecutionState::kRunning) {
            return;
        }
    }
    if (checkpoint_.received[size_t(flat)]) {
        return;
    }
    bool unaligned_now =
        spec_.checkpointing.mode == CheckpointingMode::kUnaligned || barrier.isPriorityEvent();
    bool was_recording = checkpoint_.recording[size_t(flat)];
    if (unaligned_now && !checkpoint_.snapshotted && checkpoint_.active) {
        checkpoint_.unaligned = true;
        // This channel's in-flight data is the part the barrier overtook,
        // persisted below; the other channels are persisted up to their
        // barriers.
        checkpoint_.received[size_t(flat)] = true;
        persistInFlightInput();
        checkpoint_.received[size_t(flat)] = false;
        unblockAllChannels();
        takeSnapshot(true);
    }
    if (barrier.isPriorityEvent() && !was_recording) {
        // Buffers recorded on arrival were persisted already.
        persistOvertaken(flat, barrier.overtaken_buffers);
    }
    report(ProtocolPhase::kBarrierReceived, id, flat);
    markBarrierReceived(flat);
}

void StreamTask::markBarrierReceived(int flat) {
    if (!checkpoint_.active) {
        return;  // canceled while taking the snapshot
    }
    checkpoint_.received[size_t(flat)] = true;
    checkpoint_.recording[size_t(flat)] = false;
    ++checkpoint_.received_count;
    int total = int(checkpoint_.received.size());
    bool blocking = spec_.checkpointing.mode != CheckpointingMode::kAtLeastOnce &&
                    !spec_.checkpointing.bug_skip_alignment && !checkpoint_.snapshotted &&
                    !checkpoint_.unaligned;
    if (checkpoint_.received_count < total) {
        if (blocking && !flat_finished_[size_t(flat)]) {
            gates_[size_t(flat_gate_[size_t(flat)])]->setBlocked(flat_channel_[size_t(flat)], true);
        }
        return;
    }
    checkpoint_.alignment_ns = env_.now() - checkpoint_.first_barrier_ns;
    report(ProtocolPhase::kBarrierAligned, checkpoint_.id);
    unblockAllChannels();
    if (!checkpoint_.snapshotted) {
        takeSnapshot(false);
    }
    maybeAcknowledge();
}

void StreamTask::unblockAllChannels() {
    for (size_t flat = 0; flat < flat_gate_.size(); ++flat) {
        InputGate& gate = *gates_[size_t(flat_gate_[flat])];
        if (gate.channel(flat_channel_[flat]).blocked) {
            gate.setBlocked(flat_channel_[flat], false);
        }
    }
}

void StreamTask::persistInFlightInput() {
    int64_t id = checkpoint_.id;
    auto& state = channel_state_[id];
    auto persist = [&](int flat, const NetworkBuffer& buffer, size_t from) {
        const char* data = reinterpret_cast<const char*>(buffer.memory.get());
        state.push_back(PersistedBuffer{true, flat_gate_[size_t(flat)], flat_channel_[size_t(flat)],
                                        buffer.sequence,
                                        std::string(data + from, buffer.size_bytes - from)});
        checkpoint_.persisted_bytes += int64_t(buffer.size_bytes - from);
    };
    // The rest of a buffer cut off by a priority barrier comes first.
    if (current_buffer_.memory) {
        persist(flatChannel(current_gate_, current_channel_), current_buffer_, current_position_);
    }
    // Restored channel state not processed yet precedes every barrier.
    for (const RecoveredInput& recovered : recovered_input_) {
        state.push_back(
            PersistedBuffer{true, recovered.gate, recovered.channel, 0, recovered.data});
        checkpoint_.persisted_bytes += int64_t(recovered.data.size());
    }
    for (size_t flat = 0; flat < flat_gate_.size(); ++flat) {
        if (checkpoint_.received[flat]) {
            continue;  // queued data after its barrier belongs to the next checkpoint
        }
        const auto& channel = gates_[size_t(flat_gate_[flat])]->channel(flat_channel_[flat]);
        bool barrier_queued = false;
        for (const NetworkBuffer& buffer : channel.received) {
            if (buffer.kind == BufferKind::kCheckpointBarrier && buffer.event_value == id) {
                barrier_queued = true;
                break;
            }
            if (!buffer.isEvent()) {
                persist(int(flat), buffer, 0);
            }
        }
        // Data arriving before this channel's barrier is in flight too.
        checkpoint_.recording[flat] = !barrier_queued;
    }
}

void StreamTask::persistOvertaken(int flat, int count) {
    const auto& channel =
        gates_[size_t(flat_gate_[size_t(flat)])]->channel(flat_channel_[size_t(flat)]);
    auto& state = channel_state_[checkpoint_.id];
    for (const NetworkBuffer& buffer : channel.received) {
        if (count <= 0) {
            break;
        }
        if (buffer.isEvent()) {
            continue;
        }
        state.push_back(PersistedBuffer{
            true, flat_gate_[size_t(flat)], flat_channel_[size_t(flat)], buffer.sequence,
            std::string(reinterpret_cast<const char*>(buffer.memory.get()), buffer.size_bytes)});
        checkpoint_.persisted_bytes += buffer.size_bytes;
        --count;
    }
}

void StreamTask::onDataArrival(int gate, int channel, const NetworkBuffer& buffer) {
    int flat = flatChannel(gate, channel);
    if (!checkpoint_.active || !checkpoint_.recording[size_t(flat)]) {
        return;
    }
    // Data behind this channel's barrier belongs to the next checkpoint,
    // even while the barrier waits in the gate for the task to handle it.
    for (const NetworkBuffer& queued : gates_[size_t(gate)]->channel(channel).received) {
        if (queued.kind == BufferKind::kCheckpointBarrier && queued.event_value >= checkpoint_.id) {
            checkpoint_.recording[size_t(flat)] = false;
            return;
        }
    }
    channel_state_[checkpoint_.id].push_back(PersistedBuffer{
        true, gate, channel, buffer.sequence,
        std::string(reinterpret_cast<const char*>(buffer.memory.get()), buffer.size_bytes)});
    checkpoint_.persisted_bytes += buffer.size_bytes;
}

void StreamTask::switchToUnaligned() {
    log::info("task", "checkpoint.alignment_timeout",
              {{"task", name()}, {"checkpoint", std::to_string(checkpoint_.id)}});
    checkpoint_.unaligned = true;
    persistInFlightInput();
    unblockAllChannels();
    takeSnapshot(true);
    wake();
}

void StreamTask::takeSnapshot(bool unaligned) {
    const CheckpointConfig& config = spec_.checkpointing;
    int64_t entries = 0;
    checkpoint_.keyed_handles.clear();
    checkpoint_.state_bytes = 0;
    checkpoint_.incremental_bytes = 0;
    const JobVertex& v = vertex();
    for (size_t i = 0; i < backends_.size(); ++i) {
        if (!backends_[i] || !spec_.storage) {
            continue;
        }
        std::string owner =
            "op" + std::to_string(v.nodes[i]) + "-sub" + std::to_string(spec_.id.subtask);
        // The real work happens now; simulated time comes from the logical
        // sizes below, never from how long RocksDB took.
        checkpoint::KeyedStateHandle handle;
        try {
            handle = backends_[i]->snapshot(checkpoint_.id, *spec_.storage, spec_.registry,
                                            spec_.state_backend.incremental, checkpoint_.savepoint,
                                            owner);
        } catch (const std::exception& e) {
            log::error("task", "checkpoint.snapshot_failed",
                       {{"task", name()},
                        {"checkpoint", std::to_string(checkpoint_.id)},
                        {"error", e.what()}});
            cancelCheckpoint(std::string("state snapshot failed: ") + e.what());
            return;
        }
        handle.set_operator_(v.nodes[i]);
        handle.set_subtask(spec_.id.subtask);
        entries += int64_t(handle.entry_count());
        checkpoint_.state_bytes += int64_t(handle.full_size_bytes());
        checkpoint_.incremental_bytes += int64_t(handle.incremental_size_bytes());
        checkpoint_.keyed_handles.push_back(std::move(handle));
    }
    checkpoint_.sync_ns = config.sync_base_ns + entries * config.sync_ns_per_entry;
    extra_step_cost_ns_ += checkpoint_.sync_ns;

    if (source_) {
        checkpoint_.source_offsets = source_->offsets();
    }
    checkpoint_.timers.clear();
    for (size_t i = 0; i < operators_.size(); ++i) {
        std::vector<TimerSnapshot> timers;
        operators_[i]->snapshotTimers(&timers);
        for (auto& timer : timers) {
            checkpoint_.timers.emplace_back(v.nodes[i], std::move(timer));
        }
    }
    Nanos durable_at = 0;
    checkpoint_.operator_states.clear();
    for (size_t i = 0; i < operators_.size(); ++i) {
        durable_at = std::max(durable_at, operators_[i]->snapshotState(checkpoint_.id));
        std::string state = operators_[i]->snapshotOperatorState(checkpoint_.id);
        if (!state.empty()) {
            checkpoint_.operator_states.emplace_back(v.nodes[i], std::move(state));
        }
    }
    uint64_t flags =
        (unaligned ? kBarrierPriority : 0) | (checkpoint_.savepoint ? kBarrierSavepoint : 0);
    if (awaiting_final_checkpoint_) {
        // The outputs ended; downstream tasks are triggered directly.
        final_checkpoint_id_ = checkpoint_.id;
    }
    for (auto& partition : partitions_) {
        if (awaiting_final_checkpoint_) {
            break;
        }
        checkpoint_.persisted_bytes += partition->broadcastBarrier(
            checkpoint_.id, checkpoint_.trigger_ns, flags, &channel_state_[checkpoint_.id]);
        if (in_step_) {
            // Like Flink, forward the barrier before the synchronous part of
            // the snapshot. A barrier is processed in a step of its own, so
            // no record of this step is sent early.
            partition->endStep();
            partition->beginStep();
        }
    }
    if (!partitions_.empty() && !awaiting_final_checkpoint_) {
        report(ProtocolPhase::kBarrierForwarded, checkpoint_.id);
    }
    if (!unaligned && config.mode == CheckpointingMode::kAlignedWithTimeout &&
        !partitions_.empty() && !awaiting_final_checkpoint_ &&
        !config.bug_alignment_timeout_only_at_receiver) {
        env_.schedule(std::max(env_.now(), checkpoint_.trigger_ns + config.aligned_timeout_ns),
                      this, kOutputTimeout, uint64_t(checkpoint_.id));
    }
    checkpoint_.snapshotted = true;
    checkpoint_.unaligned = checkpoint_.unaligned || unaligned;
    checkpoint_.snapshot_done_ns = env_.now() + checkpoint_.sync_ns;
    checkpoint_.durable_at_ns = durable_at;
    if (!in_step_) {
        wake();  // run a step that accounts the synchronous time
    }
    report(ProtocolPhase::kAfterSyncSnapshot, checkpoint_.id);
}

void StreamTask::maybeAcknowledge() {
    if (maybeAcknowledge(checkpoint_)) {
        checkpoint_.active = false;
    }
}

bool StreamTask::maybeAcknowledge(CheckpointProgress& progress) {
    if (!progress.active || !progress.snapshotted ||
        progress.received_count < int(progress.received.size())) {
        return false;
    }
    if (spec_.checkpointing.mode == CheckpointingMode::kAlignedWithTimeout) {
        // The barrier may still become unaligned while it waits in an output
        // queue, and then the overtaken buffers belong to this snapshot.
        for (const auto& partition : partitions_) {
            for (int i = 0; i < partition->subpartitionCount(); ++i) {
                for (const auto& queued : partition->subpartition(i).queue) {
                    if (queued.kind == BufferKind::kCheckpointBarrier &&
                        queued.event_value == progress.id && !progress.ack_scheduled) {
                        progress.ack_scheduled = true;
                        env_.schedule(env_.now() + kOutputRecheckNs, this, kCheckpointAck,
                                      uint64_t(progress.id));
                        return false;
                    }
                }
            }
        }
    }
    int64_t upload_bytes = progress.incremental_bytes + progress.persisted_bytes;
    double slowdown = spec_.storage ? std::max(1.0, spec_.storage->upload_slowdown) : 1.0;
    Nanos async_ns = Nanos(double(upload_bytes) * 8.0 * double(kNanosPerSecond) * slowdown /
                           double(spec_.checkpointing.upload_bits_per_second));
    Nanos ready_at = std::max(progress.snapshot_done_ns + async_ns, progress.durable_at_ns);
    if (env_.now() < ready_at) {
        if (!progress.ack_scheduled) {
            progress.ack_scheduled = true;
            env_.schedule(ready_at, this, kCheckpointAck, uint64_t(progress.id));
        }
        return false;
    }
    if (spec_.storage && spec_.storage->failing) {
        declineCheckpoint(progress.id, "uploading the snapshot to checkpoint storage failed");
        return true;
    }
    sendAcknowledge(progress);
    return true;
}

void StreamTask::sendAcknowledge(CheckpointProgress& progress) {
    if (state_ != ExecutionState::kRunning) {
        return;  // failed or canceled while the snapshot was being written
    }
    control::Envelope message;
    auto* ack = message.mutable_acknowledge_checkpoint();
    ack->set_checkpoint_id(progress.id);
    ack->set_vertex(spec_.id.vertex);
    ack->set_subtask(spec_.id.subtask);
    auto* stats = ack->mutable_stats();
    stats->set_ack_time_ns(env_.now());
    stats->set_sync_duration_ns(progress.sync_ns);
    stats->set_async_duration_ns(std::max<Nanos>(0, env_.now() - progress.snapshot_done_ns));
    stats->set_alignment_duration_ns(progress.alignment_ns);
    stats->set_start_delay_ns(progress.first_barrier_ns - progress.trigger_ns);
    stats->set_unaligned(progress.unaligned);
    stats->set_processed_bytes(progress.processed_bytes);
    stats->set_persisted_bytes(progress.persisted_bytes);
    stats->set_state_size_bytes(progress.state_bytes);
    stats->set_incremental_size_bytes(progress.incremental_bytes);

    checkpoint::SubtaskState state;
    state.set_vertex(spec_.id.vertex);
    state.set_subtask(spec_.id.subtask);
    for (const auto& handle : progress.keyed_handles) {
        *state.add_keyed_state() = handle;
    }
    for (const auto& [node, timer] : progress.timers) {
        auto* out = state.add_timers();
        out->set_operator_(node);
        out->set_key_group(timer.key_group);
        out->set_key(timer.key);
        out->set_time_ms(timer.time_ms);
        out->set_id(timer.id);
        out->set_event_time(timer.event_time);
    }
    if (source_) {
        auto* op_state = state.add_operator_state();
        op_state->set_operator_(vertex().head_node);
        op_state->set_subtask(spec_.id.subtask);
        for (const PartitionOffset& offset : progress.source_offsets) {
            auto* out = op_state->add_source_offsets();
            out->set_partition(offset.partition);
            out->set_offset(int64_t(offset.offset));
        }
    }
    for (const auto& [node, bytes] : progress.operator_states) {
        auto* op_state = state.add_operator_state();
        op_state->set_operator_(node);
        op_state->set_subtask(spec_.id.subtask);
        op_state->set_transaction_state(bytes);
    }
    for (const PersistedBuffer& buffer : channelState(progress.id)) {
        auto* out = state.add_channel_state();
        out->set_gate_or_partition(buffer.gate_or_partition);
        out->set_channel(buffer.channel);
        out->set_sequence(buffer.sequence);
        out->set_data(buffer.data);
        out->set_input(buffer.input);
    }
    ack->set_state(state.SerializeAsString());
    progress.active = false;
    env_.sendControl(spec_.node, kJobManagerNode, message);
    report(ProtocolPhase::kCheckpointAcknowledged, progress.id);
}

void StreamTask::cancelCheckpoint(const std::string& reason) {
    int64_t id = checkpoint_.id;
    checkpoint_.active = false;
    unblockAllChannels();
    declineCheckpoint(id, reason);
}

int64_t StreamTask::declineRunningCheckpoint(const std::string& reason) {
    if (state_ != ExecutionState::kRunning || !checkpoint_.active) {
        return 0;
    }
    int64_t id = checkpoint_.id;
    cancelCheckpoint(reason);
    return id;
}

void StreamTask::declineCheckpoint(int64_t id, const std::string& reason) {
    log::info("task", "checkpoint.declined",
              {{"task", name()}, {"checkpoint", std::to_string(id)}, {"reason", reason}});
    control::Envelope message;
    auto* decline = message.mutable_decline_checkpoint();
    decline->set_checkpoint_id(id);
    decline->set_vertex(spec_.id.vertex);
    decline->set_subtask(spec_.id.subtask);
    decline->set_reason(reason);
    env_.sendControl(spec_.node, kJobManagerNode, message);
}

void StreamTask::notifyCheckpointComplete(int64_t id) {
    if (state_ != ExecutionState::kRunning) {
        return;
    }
    finishing_.erase(finishing_.begin(), finishing_.upper_bound(id));
    for (auto& op : operators_) {
        op->notifyCheckpointComplete(id);
    }
    // Channel state of older checkpoints is no longer needed in memory.
    channel_state_.erase(channel_state_.begin(), channel_state_.lower_bound(id));
    if (awaiting_final_checkpoint_ && final_checkpoint_id_ > 0 && id >= final_checkpoint_id_) {
        closeAndFinish();
    }
    report(ProtocolPhase::kAfterNotify, id);
}

void StreamTask::notifyCheckpointAborted(int64_t id) {
    if (state_ != ExecutionState::kRunning) {
        return;
    }
    finishing_.erase(id);
    if (checkpoint_.active && checkpoint_.id == id) {
        checkpoint_.active = false;
        unblockAllChannels();
    }
    for (auto& op : operators_) {
        op->notifyCheckpointAborted(id);
    }
    channel_state_.erase(id);
    if (final_checkpoint_id_ == id) {
        final_checkpoint_id_ = 0;  // wait for the next checkpoint
    }
}

}  // namespace sluice
