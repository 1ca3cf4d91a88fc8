#include "ui/fault_target.h"

namespace sluice::ui {

namespace {

bool isSubtaskPhase(scenario::ProtocolPhase phase) {
    switch (phase) {
        case scenario::DURING_ALIGNMENT:
        case scenario::AFTER_SYNC_SNAPSHOT:
        case scenario::AFTER_NOTIFY:
        case scenario::DURING_RESTORE:
            return true;
        default:
            return false;
    }
}

}  // namespace

void applyTiming(const FaultTiming& timing, const FaultTarget& target, scenario::Fault* fault) {
    if (timing.phase == scenario::PROTOCOL_PHASE_UNSPECIFIED) {
        fault->clear_trigger();
        return;
    }
    scenario::PhaseTrigger* phase = fault->mutable_trigger()->mutable_phase();
    phase->set_phase(timing.phase);
    phase->set_checkpoint_id(timing.checkpoint_id);
    phase->set_subtask(-1);
    bool has_subtask =
        target.kind == FaultTarget::Kind::kSubtask || target.kind == FaultTarget::Kind::kChannel;
    if (has_subtask && isSubtaskPhase(timing.phase) && !target.operator_id.empty()) {
        phase->set_operator_(target.operator_id);
        phase->set_subtask(target.subtask);
    }
    // A restore happens in the attempt after the running one.
    int64_t attempt = timing.attempt + (timing.phase == scenario::DURING_RESTORE ? 1 : 0);
    phase->set_attempt(uint32_t(attempt));
}

QString phaseLabel(scenario::ProtocolPhase phase) {
    switch (phase) {
        case scenario::CHECKPOINT_TRIGGERED:
            return QStringLiteral("when a checkpoint is triggered");
        case scenario::DURING_ALIGNMENT:
            return QStringLiteral("during alignment");
        case scenario::AFTER_SYNC_SNAPSHOT:
            return QStringLiteral("after the synchronous snapshot");
        case scenario::ALL_ACKNOWLEDGED:
            return QStringLiteral("after all acknowledgements, before notify");
        case scenario::AFTER_NOTIFY:
            return QStringLiteral("after notifyCheckpointComplete");
        case scenario::DURING_RESTORE:
            return QStringLiteral("during restore");
        default:
            return QStringLiteral("now");
    }
}

QString describeFault(const scenario::Fault& fault) {
    QString description;
    switch (fault.kind_case()) {
        case scenario::Fault::kKillTaskManager:
            description =
                QStringLiteral("kill TaskManager %1").arg(fault.kill_task_manager().task_manager());
            break;
        case scenario::Fault::kFailSubtask:
            description = QStringLiteral("fail subtask %1 #%2")
                              .arg(QString::fromStdString(fault.fail_subtask().operator_()))
                              .arg(fault.fail_subtask().subtask());
            break;
        case scenario::Fault::kPartitionLink:
            description = QStringLiteral("partition link %1 - %2")
                              .arg(fault.partition_link().from_node())
                              .arg(fault.partition_link().to_node());
            break;
        case scenario::Fault::kControlMessage:
            description = QStringLiteral("%1 %2")
                              .arg(fault.control_message().drop() ? "drop" : "delay")
                              .arg(QString::fromStdString(scenario::ControlMessageKind_Name(
                                  fault.control_message().kind())));
            break;
        case scenario::Fault::kSlowOperator:
            description = QStringLiteral("slow operator %1")
                              .arg(QString::fromStdString(fault.slow_operator().operator_()));
            break;
        case scenario::Fault::kStorage:
            description = fault.storage().fail() ? QStringLiteral("fail checkpoint storage")
                                                 : QStringLiteral("slow checkpoint storage");
            break;
        case scenario::Fault::kStoreRejectWrites:
            description = QStringLiteral("store rejects writes of %1")
                              .arg(QString::fromStdString(fault.store_reject_writes().sink()));
            break;
        case scenario::Fault::kDeclineCheckpoint:
            description = QStringLiteral("decline checkpoint at %1 #%2")
                              .arg(QString::fromStdString(fault.decline_checkpoint().operator_()))
                              .arg(fault.decline_checkpoint().subtask());
            break;
        default:
            description = QStringLiteral("unknown fault");
    }
    if (fault.trigger().has_phase()) {
        description += QStringLiteral(" ") + phaseLabel(fault.trigger().phase().phase());
    }
    return description;
}

}  // namespace sluice::ui
