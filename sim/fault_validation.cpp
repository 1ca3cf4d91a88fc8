#include "sim/fault_validation.h"

namespace sluice::sim {

namespace {

const scenario::Operator* findOperator(const scenario::Scenario& s, const std::string& id) {
    for (const auto& op : s.job().operators()) {
        if (op.id() == id) {
            return &op;
        }
    }
    return nullptr;
}

std::optional<FaultProblem> checkOperatorRef(const scenario::Scenario& s, const std::string& field,
                                             const std::string& id, int64_t subtask,
                                             const std::string& subtask_field) {
    const scenario::Operator* op = findOperator(s, id);
    if (!op) {
        std::string known;
        for (const auto& candidate : s.job().operators()) {
            known += (known.empty() ? "" : ", ") + ("\"" + candidate.id() + "\"");
        }
        return FaultProblem{
            field, "operator \"" + id + "\" not found; the job's operators are " + known + "."};
    }
    if (subtask >= int64_t(op->parallelism())) {
        return FaultProblem{subtask_field,
                            "subtask " + std::to_string(subtask) + " does not exist; operator \"" +
                                id + "\" has parallelism " + std::to_string(op->parallelism()) +
                                ", so use 0 to " + std::to_string(op->parallelism() - 1) + "."};
    }
    return std::nullopt;
}

std::optional<FaultProblem> checkTrigger(const scenario::Scenario& s,
                                         const scenario::Trigger& trigger, bool needs_trigger) {
    switch (trigger.when_case()) {
        case scenario::Trigger::WHEN_NOT_SET:
            if (needs_trigger) {
                return FaultProblem{"trigger",
                                    "the fault has no trigger; add trigger { at_ms: ... }, "
                                    "after_records { ... } or phase { ... }."};
            }
            return std::nullopt;
        case scenario::Trigger::kAtMs:
            return std::nullopt;
        case scenario::Trigger::kAfterRecords:
            if (trigger.after_records().records() == 0) {
                return FaultProblem{"trigger.after_records.records",
                                    "records is missing or 0; set the record count at which "
                                    "the fault fires."};
            }
            return checkOperatorRef(
                s, "trigger.after_records.operator", trigger.after_records().operator_(),
                trigger.after_records().subtask(), "trigger.after_records.subtask");
        case scenario::Trigger::kPhase: {
            const auto& phase = trigger.phase();
            if (phase.phase() == scenario::PROTOCOL_PHASE_UNSPECIFIED) {
                return FaultProblem{"trigger.phase.phase",
                                    "phase is missing; use CHECKPOINT_TRIGGERED, "
                                    "DURING_ALIGNMENT, AFTER_SYNC_SNAPSHOT, ALL_ACKNOWLEDGED, "
                                    "AFTER_NOTIFY or DURING_RESTORE."};
            }
            if (!phase.operator_().empty()) {
                return checkOperatorRef(s, "trigger.phase.operator", phase.operator_(),
                                        phase.subtask(), "trigger.phase.subtask");
            }
            return std::nullopt;
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<FaultProblem> checkFault(const scenario::Scenario& s, const scenario::Fault& fault,
                                       bool needs_trigger) {
    int task_managers = int(s.cluster().task_managers());
    switch (fault.kind_case()) {
        case scenario::Fault::kKillTaskManager:
            if (int(fault.kill_task_manager().task_manager()) >= task_managers) {
                return FaultProblem{"kill_task_manager.task_manager",
                                    "TaskManager " +
                                        std::to_string(fault.kill_task_manager().task_manager()) +
                                        " does not exist; the cluster has " +
                                        std::to_string(task_managers) + ", numbered from 0."};
            }
            break;
        case scenario::Fault::kFailSubtask:
            if (auto problem =
                    checkOperatorRef(s, "fail_subtask.operator", fault.fail_subtask().operator_(),
                                     fault.fail_subtask().subtask(), "fail_subtask.subtask")) {
                return problem;
            }
            break;
        case scenario::Fault::kPartitionLink: {
            const auto& link = fault.partition_link();
            for (auto [field, node] : {std::pair{"partition_link.from_node", link.from_node()},
                                       std::pair{"partition_link.to_node", link.to_node()}}) {
                if (node < -1 || node >= task_managers) {
                    return FaultProblem{field, "node " + std::to_string(node) +
                                                   " does not exist; use -1 for the JobManager "
                                                   "or 0 to " +
                                                   std::to_string(task_managers - 1) +
                                                   " for a TaskManager."};
                }
            }
            if (link.from_node() == link.to_node()) {
                return FaultProblem{"partition_link.to_node",
                                    "from_node and to_node are the same node; name two nodes."};
            }
            break;
        }
        case scenario::Fault::kControlMessage:
            if (fault.control_message().kind() == scenario::CONTROL_MESSAGE_KIND_UNSPECIFIED) {
                return FaultProblem{"control_message.kind",
                                    "kind is missing; use ACKNOWLEDGE_CHECKPOINT, "
                                    "NOTIFY_CHECKPOINT_COMPLETE, TRIGGER_CHECKPOINT, "
                                    "DECLINE_CHECKPOINT, NOTIFY_CHECKPOINT_ABORTED or HEARTBEAT."};
            }
            if (!fault.control_message().drop() && fault.control_message().delay_ms() == 0) {
                return FaultProblem{"control_message.delay_ms",
                                    "the fault neither drops nor delays; set drop: true or a "
                                    "delay_ms above 0."};
            }
            break;
        case scenario::Fault::kSlowOperator:
            if (auto problem =
                    checkOperatorRef(s, "slow_operator.operator", fault.slow_operator().operator_(),
                                     fault.slow_operator().subtask(), "slow_operator.subtask")) {
                return problem;
            }
            break;
        case scenario::Fault::kStorage:
            break;
        case scenario::Fault::kStoreRejectWrites: {
            const auto* op = findOperator(s, fault.store_reject_writes().sink());
            if (!op || !op->has_sink()) {
                return FaultProblem{"store_reject_writes.sink",
                                    "sink \"" + fault.store_reject_writes().sink() +
                                        "\" not found; name the id of a sink operator."};
            }
            break;
        }
        case scenario::Fault::kDeclineCheckpoint:
            if (auto problem = checkOperatorRef(
                    s, "decline_checkpoint.operator", fault.decline_checkpoint().operator_(),
                    fault.decline_checkpoint().subtask(), "decline_checkpoint.subtask")) {
                return problem;
            }
            break;
        case scenario::Fault::kRewindToCheckpoint:
            if (fault.rewind_to_checkpoint().checkpoint_id() == 0) {
                return FaultProblem{"rewind_to_checkpoint.checkpoint_id",
                                    "checkpoint_id is missing; name a retained checkpoint, such as "
                                    "checkpoint_id: 6."};
            }
            if (s.checkpointing().interval_ms() == 0) {
                return FaultProblem{"rewind_to_checkpoint",
                                    "checkpointing is off, so there is no checkpoint to restore; "
                                    "set checkpointing.interval_ms."};
            }
            break;
        case scenario::Fault::KIND_NOT_SET:
            return FaultProblem{"",
                                "the fault has no kind; add one such as kill_task_manager "
                                "{ ... } or fail_subtask { ... }."};
    }
    return checkTrigger(s, fault.trigger(), needs_trigger);
}

}  // namespace sluice::sim
