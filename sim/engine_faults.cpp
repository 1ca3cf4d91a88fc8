// The fault-injection part of Engine: scenario and run-time faults, their
// triggers (time, records, protocol phase, event index) and what each kind
// does to the simulated cluster.

#include "proto/control.pb.h"
#include "runtime/core/log.h"
#include "sim/engine.h"
#include "sim/fault_validation.h"

#include <algorithm>
#include <cmath>

namespace sluice::sim {

namespace {

Nanos ms(uint64_t value) {
    return Nanos(value) * kNanosPerMilli;
}

scenario::ControlMessageKind controlKindOf(const control::Envelope& message) {
    switch (message.payload_case()) {
        case control::Envelope::kAcknowledgeCheckpoint:
            return scenario::ACKNOWLEDGE_CHECKPOINT;
        case control::Envelope::kNotifyCheckpointComplete:
            return scenario::NOTIFY_CHECKPOINT_COMPLETE;
        case control::Envelope::kTriggerCheckpoint:
            return scenario::TRIGGER_CHECKPOINT;
        case control::Envelope::kDeclineCheckpoint:
            return scenario::DECLINE_CHECKPOINT;
        case control::Envelope::kNotifyCheckpointAborted:
            return scenario::NOTIFY_CHECKPOINT_ABORTED;
        case control::Envelope::kHeartbeat:
            return scenario::HEARTBEAT;
        default:
            return scenario::CONTROL_MESSAGE_KIND_UNSPECIFIED;
    }
}

// Scenario node numbers: -1 is the JobManager, 0.. the TaskManagers.
int simNode(int scenario_node) {
    return scenario_node < 0 ? kJobManagerNode : taskManagerNode(scenario_node);
}

}  // namespace

void Engine::setUpFaults() {
    fault_timer_ = std::make_unique<FaultTimer>(*this);
    for (const auto& fault : scenario_.proto.faults().fault()) {
        pending_faults_.push_back({fault, false, false, 0});
    }
    addSwarmFaults();
    warnAboutTransactionTimeouts();
    for (size_t i = 0; i < pending_faults_.size(); ++i) {
        const auto& trigger = pending_faults_[i].fault.trigger();
        if (trigger.has_after_records()) {
            has_record_triggers_ = true;
        } else if (trigger.when_case() == scenario::Trigger::kAtMs) {
            sim_->schedule(ms(trigger.at_ms()), fault_timer_.get(), kFaultAtTime, i);
        }
    }
    sim_->setControlFilter([this](int from, int to, const control::Envelope& message) {
        return filterControlMessage(from, to, message);
    });
    store_.setRejectionListener([this](int sink, int subtask) {
        Nanos delay = rejection_delay_ns_.count(sink) ? rejection_delay_ns_[sink] : 0;
        sim_->schedule(now() + delay, fault_timer_.get(), kSurfaceStoreError,
                       (uint64_t(uint32_t(sink)) << 32) | uint32_t(subtask));
    });
}

void Engine::warnAboutTransactionTimeouts() {
    // The maximum downtime that a scenario fault causes. A killed TaskManager is
    // replaced after restart_after_ms (default 1000), and a partition lasts
    // its duration. The restart delay comes on top.
    uint64_t downtime_ms = 0;
    for (const auto& fault : scenario_.proto.faults().fault()) {
        if (fault.has_kill_task_manager()) {
            uint64_t after = fault.kill_task_manager().restart_after_ms();
            downtime_ms = std::max<uint64_t>(downtime_ms, after > 0 ? after : 1000);
        } else if (fault.has_partition_link()) {
            uint64_t duration = fault.partition_link().duration_ms();
            downtime_ms = std::max<uint64_t>(downtime_ms, duration > 0 ? duration : 10000);
        }
    }
    if (downtime_ms == 0) {
        return;
    }
    const auto& restart = scenario_.proto.failover().restart_strategy();
    uint64_t delay_ms = restart.has_fixed_delay() ? restart.fixed_delay().delay_ms() : 1000;
    uint64_t interval_ms = scenario_.proto.checkpointing().interval_ms();
    uint64_t needed_ms = downtime_ms + delay_ms + interval_ms;
    for (const auto& op : scenario_.proto.job().operators()) {
        if (!op.has_sink() || op.sink().kind() != scenario::TWO_PHASE_COMMIT) {
            continue;
        }
        uint64_t timeout_ms = op.sink().transaction_timeout_ms();
        if (timeout_ms == 0 || timeout_ms >= needed_ms) {
            continue;
        }
        std::string warning =
            "sink '" + op.id() + "': transaction_timeout_ms " + std::to_string(timeout_ms) +
            " is shorter than the expected downtime plus restart delay plus checkpoint interval (" +
            std::to_string(needed_ms) +
            " ms); a transaction pre-committed before a failure can expire before the restore "
            "commits it";
        log::warning("engine", "transaction_timeout.too_short",
                     {{"sink", op.id()},
                      {"timeout_ms", std::to_string(timeout_ms)},
                      {"needed_ms", std::to_string(needed_ms)}});
        warnings_.push_back(std::move(warning));
    }
}

namespace {

// A Poisson-distributed count with mean `mean`, by inversion, at most `cap`.
uint32_t poissonCount(Prng& prng, double mean, uint32_t cap) {
    double u = double(prng.nextU64() >> 11) * 0x1.0p-53;
    double p = std::exp(-mean);
    double cumulative = p;
    uint32_t count = 0;
    while (u > cumulative && count < cap) {
        ++count;
        p *= mean / double(count);
        cumulative += p;
    }
    return count;
}

// Fills the kind part of a swarm fault. Returns false for kinds that have no
// swarm form.
bool fillSwarmFault(scenario::FaultKind kind, const scenario::Scenario& s, Prng& prng,
                    scenario::Fault* fault) {
    const auto& operators = s.job().operators();
    const auto& op = operators[int(prng.nextU64() % uint64_t(operators.size()))];
    uint32_t subtask = uint32_t(prng.nextU64() % std::max<uint64_t>(1, op.parallelism()));
    int tm = int(prng.nextU64() % uint64_t(s.cluster().task_managers()));
    switch (kind) {
        case scenario::KILL_TASK_MANAGER:
            fault->mutable_kill_task_manager()->set_task_manager(uint32_t(tm));
            fault->mutable_kill_task_manager()->set_restart_after_ms(1000);
            return true;
        case scenario::FAIL_SUBTASK:
            fault->mutable_fail_subtask()->set_operator_(op.id());
            fault->mutable_fail_subtask()->set_subtask(subtask);
            fault->mutable_fail_subtask()->set_message("swarm failure");
            return true;
        case scenario::PARTITION_LINK:
            fault->mutable_partition_link()->set_from_node(-1);
            fault->mutable_partition_link()->set_to_node(tm);
            fault->mutable_partition_link()->set_duration_ms(8000);
            return true;
        case scenario::DROP_CONTROL_MESSAGE:
            fault->mutable_control_message()->set_kind(prng.nextU64() % 2 == 0
                                                           ? scenario::ACKNOWLEDGE_CHECKPOINT
                                                           : scenario::NOTIFY_CHECKPOINT_COMPLETE);
            fault->mutable_control_message()->set_drop(true);
            fault->mutable_control_message()->set_count(1);
            return true;
        case scenario::SLOW_OPERATOR:
            fault->mutable_slow_operator()->set_operator_(op.id());
            fault->mutable_slow_operator()->set_subtask(int32_t(subtask));
            fault->mutable_slow_operator()->set_factor(10);
            fault->mutable_slow_operator()->set_duration_ms(3000);
            return true;
        case scenario::DECLINE_A_CHECKPOINT:
            fault->mutable_decline_checkpoint()->set_operator_(op.id());
            fault->mutable_decline_checkpoint()->set_subtask(subtask);
            fault->mutable_trigger()->mutable_phase()->set_phase(scenario::DURING_ALIGNMENT);
            fault->mutable_trigger()->mutable_phase()->set_operator_(op.id());
            fault->mutable_trigger()->mutable_phase()->set_subtask(int32_t(subtask));
            return true;
        case scenario::STORAGE_FAILURE:
            fault->mutable_storage()->set_fail(true);
            fault->mutable_storage()->set_duration_ms(3000);
            return true;
        case scenario::STORE_REJECT_WRITES:
            for (const auto& sink : operators) {
                if (sink.has_sink()) {
                    fault->mutable_store_reject_writes()->set_sink(sink.id());
                    return true;
                }
            }
            return false;
        default:
            return false;
    }
}

}  // namespace

void Engine::addSwarmFaults() {
    const scenario::Swarm& swarm = scenario_.proto.faults().swarm();
    if (swarm.kinds().empty()) {
        return;
    }
    // A PRNG of its own, so the schedule does not shift the run's other
    // random draws.
    Prng prng(mix64(seed_ ^ 0x5377a2b1f0c3d9e7ULL));
    Nanos start = ms(swarm.start_ms());
    Nanos end = ms(swarm.end_ms());
    double minutes = double(end - start) / double(60 * kNanosPerSecond);
    uint32_t count = poissonCount(prng, swarm.faults_per_minute() * minutes, swarm.max_faults());
    for (uint32_t i = 0; i < count; ++i) {
        scenario::Fault fault;
        Nanos at = start + Nanos(prng.nextU64() % uint64_t(std::max<Nanos>(1, end - start)));
        fault.mutable_trigger()->set_at_ms(uint64_t(at / kNanosPerMilli));
        auto kind = swarm.kinds(int(prng.nextU64() % uint64_t(swarm.kinds_size())));
        if (fillSwarmFault(kind, scenario_.proto, prng, &fault)) {
            pending_faults_.push_back({fault, false, false, 0});
        }
    }
}

std::string Engine::checkFault(const scenario::Fault& fault) const {
    if (auto problem = sim::checkFault(scenario_.proto, fault, false)) {
        return problem->field.empty() ? problem->message : problem->field + ": " + problem->message;
    }
    return {};
}

std::string Engine::injectFault(const scenario::Fault& fault) {
    if (std::string error = checkFault(fault); !error.empty()) {
        return error;
    }
    pending_faults_.push_back({fault, true, false, eventCount()});
    PendingFault& pending = pending_faults_.back();
    const auto& trigger = fault.trigger();
    switch (trigger.when_case()) {
        case scenario::Trigger::WHEN_NOT_SET:
            fire(pending);
            break;
        case scenario::Trigger::kAtMs:
            sim_->schedule(std::max(now(), ms(trigger.at_ms())), fault_timer_.get(), kFaultAtTime,
                           pending_faults_.size() - 1);
            break;
        case scenario::Trigger::kAfterRecords:
            has_record_triggers_ = true;
            break;
        case scenario::Trigger::kPhase:
            break;
    }
    return {};
}

std::vector<std::string> Engine::unfiredFaults() const {
    std::vector<std::string> result;
    for (size_t i = 0; i < pending_faults_.size(); ++i) {
        const PendingFault& pending = pending_faults_[i];
        if (pending.fired) {
            continue;
        }
        const auto* kind =
            scenario::Fault::descriptor()->FindFieldByNumber(int(pending.fault.kind_case()));
        std::string trigger = pending.fault.trigger().ShortDebugString();
        result.push_back(std::string(pending.injected ? "injected fault" : "fault") + " " +
                         std::to_string(i) + " (" + (kind ? kind->name() : "no kind") +
                         ", trigger " + (trigger.empty() ? "none" : "{ " + trigger + " }") + ")");
    }
    return result;
}

void Engine::injectFaultAtEvent(uint64_t event_index, const scenario::Fault& fault) {
    replay_injections_.emplace_back(event_index, fault);
    has_event_faults_ = true;
}

void Engine::fireDueFaults() {
    if (has_event_faults_) {
        std::vector<scenario::Fault> due;
        auto it = replay_injections_.begin();
        while (it != replay_injections_.end()) {
            if (it->first <= eventCount()) {
                due.push_back(std::move(it->second));
                it = replay_injections_.erase(it);
            } else {
                ++it;
            }
        }
        has_event_faults_ = !replay_injections_.empty();
        for (const auto& fault : due) {
            injectFault(fault);
        }
    }
    if (!has_record_triggers_) {
        return;
    }
    bool left = false;
    for (auto& pending : pending_faults_) {
        if (pending.fired || !pending.fault.trigger().has_after_records()) {
            continue;
        }
        const auto& trigger = pending.fault.trigger().after_records();
        uint64_t records = 0;
        for (StreamTask* task : liveTasksOf(trigger.operator_(), trigger.subtask())) {
            for (int i = 0; i < task->operatorCount(); ++i) {
                const auto& node = streamGraph().node(task->operatorNode(i));
                if (node.name == trigger.operator_()) {
                    records += task->operatorContext(i).metrics.records_in;
                }
            }
        }
        if (records >= trigger.records()) {
            fire(pending);
        } else {
            left = true;
        }
    }
    has_record_triggers_ = left;
}

bool Engine::phaseMatches(const scenario::PhaseTrigger& trigger, const ProtocolEvent& event) const {
    static constexpr scenario::ProtocolPhase kPhases[] = {
        scenario::CHECKPOINT_TRIGGERED, scenario::DURING_ALIGNMENT, scenario::AFTER_SYNC_SNAPSHOT,
        scenario::ALL_ACKNOWLEDGED,     scenario::AFTER_NOTIFY,     scenario::DURING_RESTORE};
    if (trigger.phase() != kPhases[size_t(event.phase)]) {
        return false;
    }
    if (trigger.checkpoint_id() != 0 && trigger.checkpoint_id() != event.checkpoint_id) {
        return false;
    }
    if (!trigger.operator_().empty()) {
        if (event.vertex < 0) {
            return false;
        }
        bool in_vertex = false;
        for (int node : jobGraph().vertex(event.vertex).nodes) {
            in_vertex = in_vertex || streamGraph().node(node).name == trigger.operator_();
        }
        if (!in_vertex) {
            return false;
        }
    }
    if (trigger.subtask() >= 0 && event.vertex >= 0 && trigger.subtask() != event.subtask) {
        return false;
    }
    int64_t attempt = event.vertex >= 0 ? event.attempt : job_manager_->attempt();
    return int64_t(trigger.attempt()) == attempt;
}

void Engine::onProtocolEvent(const ProtocolEvent& event) {
    for (const auto& observer : protocol_observers_) {
        observer(event);
    }
    recordCheckpointProgress(event);
    if (keep_snapshot_update_times_ && event.phase == ProtocolPhase::kAfterSyncSnapshot) {
        captureSnapshotUpdateTimes(event);
    }
    if (event.phase >= ProtocolPhase::kBarrierReceived) {
        return;  // barrier progress phases are not fault triggers
    }
    for (size_t i = 0; i < pending_faults_.size(); ++i) {
        PendingFault& pending = pending_faults_[i];
        if (pending.fired || !pending.fault.trigger().has_phase()) {
            continue;
        }
        if (phaseMatches(pending.fault.trigger().phase(), event)) {
            fire(pending);
        }
    }
}

void Engine::onFaultTimer(uint32_t kind, uint64_t arg) {
    switch (kind) {
        case kFaultAtTime:
            if (arg < pending_faults_.size() && !pending_faults_[arg].fired) {
                fire(pending_faults_[arg]);
            }
            break;
        case kRestartTaskManager:
            if (isOver()) {
                break;
            }
            log::info("engine", "taskmanager.replaced", {{"task_manager", std::to_string(arg)}});
            task_managers_.at(arg)->restart();
            break;
        case kHealPartition: {
            int a = int(arg >> 32);
            int b = int(arg & 0xffffffffu);
            auto it = std::find(partitioned_.begin(), partitioned_.end(), std::make_pair(a, b));
            if (it != partitioned_.end()) {
                partitioned_.erase(it);
                log::info("engine", "partition.healed",
                          {{"from_node", std::to_string(a)}, {"to_node", std::to_string(b)}});
            }
            break;
        }
        case kEndSlowOperator: {
            const auto& spec = fired_faults_.at(arg).fault.slow_operator();
            for (StreamTask* task : liveTasksOf(spec.operator_(), spec.subtask())) {
                task->setCostFactor(1.0);
            }
            break;
        }
        case kEndStorageFault:
            storage_->upload_slowdown = 1.0;
            storage_->failing = false;
            break;
        case kSurfaceStoreError: {
            int sink = int(arg >> 32);
            int subtask = int(arg & 0xffffffffu);
            store_.clearRejections(sink);
            const auto& op = scenario_.proto.job().operators(job_.sinks.at(size_t(sink)));
            log::warning("engine", "store.write_error_surfaced",
                         {{"sink", op.id()}, {"subtask", std::to_string(subtask)}});
            for (StreamTask* task : liveTasksOf(op.id(), subtask)) {
                task->failExternally("the external store rejected writes of sink '" + op.id() +
                                     "'");
            }
            break;
        }
        default:
            break;
    }
}

void Engine::fire(PendingFault& pending) {
    pending.fired = true;
    FiredFault fired;
    fired.event_index = eventCount();
    fired.time_ns = now();
    fired.fault = pending.fault;
    fired.injected = pending.injected;
    fired.injected_at_event = pending.injected_at_event;
    bool captured = keep_failure_states_ && captureFailureState(fired.fault);
    fired.description = applyFault(fired.fault);
    if (captured) {
        failure_states_.back().fault = fired.description;
    }
    sim_->foldDigest(mix64(uint64_t(fired.fault.kind_case()) ^ (fired.event_index << 8)));
    log::warning("engine", "fault.fired",
                 {{"event", std::to_string(fired.event_index)},
                  {"fault", fired.description},
                  {"injected", fired.injected ? "true" : "false"}});
    fired_faults_.push_back(std::move(fired));
}

std::vector<StreamTask*> Engine::liveTasksOf(const std::string& operator_id, int subtask) {
    std::vector<StreamTask*> result;
    for (const auto& tm : task_managers_) {
        for (const auto& task : tm->tasks()) {
            if (subtask >= 0 && task->id().subtask != subtask) {
                continue;
            }
            for (int node : task->vertex().nodes) {
                if (streamGraph().node(node).name == operator_id) {
                    result.push_back(task.get());
                    break;
                }
            }
        }
    }
    return result;
}

std::string Engine::applyFault(scenario::Fault& fault) {
    switch (fault.kind_case()) {
        case scenario::Fault::kKillTaskManager: {
            auto& spec = *fault.mutable_kill_task_manager();
            if (spec.restart_after_ms() == 0) {
                spec.set_restart_after_ms(1000);
            }
            int tm = int(spec.task_manager());
            task_managers_.at(size_t(tm))->kill();
            sim_->schedule(now() + ms(spec.restart_after_ms()), fault_timer_.get(),
                           kRestartTaskManager, uint64_t(tm));
            return "kill TaskManager " + std::to_string(tm) + " (replacement after " +
                   std::to_string(spec.restart_after_ms()) + " ms)";
        }
        case scenario::Fault::kFailSubtask: {
            auto& spec = *fault.mutable_fail_subtask();
            if (spec.message().empty()) {
                spec.set_message("injected failure");
            }
            auto tasks = liveTasksOf(spec.operator_(), int(spec.subtask()));
            for (StreamTask* task : tasks) {
                task->failExternally(spec.message());
            }
            return "fail subtask " + std::to_string(spec.subtask()) + " of '" + spec.operator_() +
                   "': " + spec.message() + (tasks.empty() ? " (not running)" : "");
        }
        case scenario::Fault::kPartitionLink: {
            auto& spec = *fault.mutable_partition_link();
            if (spec.duration_ms() == 0) {
                spec.set_duration_ms(10000);
            }
            int a = simNode(spec.from_node());
            int b = simNode(spec.to_node());
            partitioned_.emplace_back(a, b);
            sim_->schedule(now() + ms(spec.duration_ms()), fault_timer_.get(), kHealPartition,
                           (uint64_t(a) << 32) | uint64_t(b));
            if (a != kJobManagerNode && b != kJobManagerNode) {
                // A lost connection between TaskManagers fails the tasks
                // that exchange data across it.
                for (int node : {a, b}) {
                    int other = node == a ? b : a;
                    for (const auto& task : task_managers_.at(size_t(node - 1))->tasks()) {
                        for (const auto& peer : task_managers_.at(size_t(other - 1))->tasks()) {
                            bool connected = false;
                            for (int edge : task->vertex().out_edges) {
                                connected = connected || jobGraph().edge(edge).target_vertex ==
                                                             peer->id().vertex;
                            }
                            if (connected) {
                                task->failExternally("Connection to TaskManager " +
                                                     std::to_string(other - 1) + " lost");
                            }
                        }
                    }
                }
            }
            return "partition the link between node " + std::to_string(spec.from_node()) +
                   " and node " + std::to_string(spec.to_node()) + " for " +
                   std::to_string(spec.duration_ms()) + " ms";
        }
        case scenario::Fault::kControlMessage: {
            auto& spec = *fault.mutable_control_message();
            if (spec.duration_ms() == 0 && spec.count() == 0) {
                spec.set_count(1);
            }
            ActiveControlFault active;
            active.spec = spec;
            active.until_ns = spec.duration_ms() > 0 ? now() + ms(spec.duration_ms()) : 0;
            active.remaining = spec.count();
            control_faults_.push_back(active);
            std::string what =
                spec.drop() ? "drop" : "delay by " + std::to_string(spec.delay_ms()) + " ms";
            return what + " " + scenario::ControlMessageKind_Name(spec.kind()) +
                   (spec.duration_ms() > 0
                        ? " messages for " + std::to_string(spec.duration_ms()) + " ms"
                        : " x" + std::to_string(spec.count()));
        }
        case scenario::Fault::kSlowOperator: {
            auto& spec = *fault.mutable_slow_operator();
            if (spec.factor() <= 0) {
                spec.set_factor(10);
            }
            if (spec.duration_ms() == 0) {
                spec.set_duration_ms(5000);
            }
            for (StreamTask* task : liveTasksOf(spec.operator_(), spec.subtask())) {
                task->setCostFactor(spec.factor());
            }
            sim_->schedule(now() + ms(spec.duration_ms()), fault_timer_.get(), kEndSlowOperator,
                           fired_faults_.size());
            return "slow '" + spec.operator_() + "' by " + std::to_string(spec.factor()) +
                   "x for " + std::to_string(spec.duration_ms()) + " ms";
        }
        case scenario::Fault::kStorage: {
            auto& spec = *fault.mutable_storage();
            if (spec.duration_ms() == 0) {
                spec.set_duration_ms(10000);
            }
            storage_->failing = spec.fail();
            storage_->upload_slowdown = spec.slowdown() > 1 ? spec.slowdown() : 1.0;
            sim_->schedule(now() + ms(spec.duration_ms()), fault_timer_.get(), kEndStorageFault, 0);
            return std::string(spec.fail() ? "fail" : "slow down") + " checkpoint storage for " +
                   std::to_string(spec.duration_ms()) + " ms";
        }
        case scenario::Fault::kDeclineCheckpoint: {
            auto& spec = *fault.mutable_decline_checkpoint();
            if (spec.reason().empty()) {
                spec.set_reason("injected decline");
            }
            std::string declined;
            for (StreamTask* task : liveTasksOf(spec.operator_(), int(spec.subtask()))) {
                if (int64_t id = task->declineRunningCheckpoint(spec.reason())) {
                    declined = " checkpoint " + std::to_string(id);
                }
            }
            return "subtask " + std::to_string(spec.subtask()) + " of '" + spec.operator_() +
                   "' declines" + (declined.empty() ? " (no checkpoint running)" : declined);
        }
        case scenario::Fault::kStoreRejectWrites: {
            auto& spec = *fault.mutable_store_reject_writes();
            if (spec.records() == 0) {
                spec.set_records(100);
            }
            if (spec.surface_after_ms() == 0) {
                spec.set_surface_after_ms(200);
            }
            for (size_t i = 0; i < job_.sinks.size(); ++i) {
                if (scenario_.proto.job().operators(job_.sinks[i]).id() == spec.sink()) {
                    rejection_delay_ns_[int(i)] = ms(spec.surface_after_ms());
                    store_.rejectNextWrites(int(i), spec.records());
                }
            }
            return "the external store rejects the next " + std::to_string(spec.records()) +
                   " writes of '" + spec.sink() + "'; the error surfaces after " +
                   std::to_string(spec.surface_after_ms()) + " ms";
        }
        case scenario::Fault::kRewindToCheckpoint:
            return rewindToCheckpoint(*fault.mutable_rewind_to_checkpoint());
        default:
            return "unsupported fault";
    }
}

std::string Engine::rewindToCheckpoint(scenario::RewindToCheckpoint& spec) {
    if (spec.restart_after_ms() == 0) {
        spec.set_restart_after_ms(1000);
    }
    const auto id = int64_t(spec.checkpoint_id());
    const std::string what = "stop the job and restore checkpoint " + std::to_string(id);
    if (std::find(retained_.begin(), retained_.end(), id) == retained_.end()) {
        std::string retained;
        for (int64_t r : retained_) {
            retained += (retained.empty() ? "" : ", ") + std::to_string(r);
        }
        return what + " (not done: it is not retained; retained: " +
               (retained.empty() ? "none" : retained) +
               "; raise checkpointing.retained or pick a retained checkpoint)";
    }
    // The later checkpoints belong to the stopped run; the new run takes
    // their ids again.
    while (!retained_.empty() && retained_.back() > id) {
        int64_t later = retained_.back();
        retained_.pop_back();
        registry_->releaseCheckpoint(later);
        storage_->discardCheckpoint(later);
    }
    completed_metadata_.erase(completed_metadata_.upper_bound(id), completed_metadata_.end());
    snapshot_update_times_.erase(snapshot_update_times_.upper_bound(id),
                                 snapshot_update_times_.end());
    // The new run takes the later ids again.
    checkpoint_progress_.erase(checkpoint_progress_.upper_bound(id), checkpoint_progress_.end());
    pruneSnapshotUpdateTimes(id);
    job_manager_->rewind(id, ms(spec.restart_after_ms()), what);
    return what + " (the job runs again after " + std::to_string(spec.restart_after_ms()) + " ms)";
}

Nanos Engine::filterControlMessage(int from, int to, const control::Envelope& message) {
    for (const auto& [a, b] : partitioned_) {
        if ((from == a && to == b) || (from == b && to == a)) {
            return -1;
        }
    }
    if (control_faults_.empty()) {
        return 0;
    }
    scenario::ControlMessageKind kind = controlKindOf(message);
    for (auto it = control_faults_.begin(); it != control_faults_.end(); ++it) {
        bool expired = it->until_ns > 0 ? now() >= it->until_ns : it->remaining == 0;
        if (expired || it->spec.kind() != kind) {
            continue;
        }
        if (it->until_ns == 0) {
            --it->remaining;
        }
        return it->spec.drop() ? -1 : std::max<Nanos>(1, ms(it->spec.delay_ms()));
    }
    return 0;
}

}  // namespace sluice::sim
