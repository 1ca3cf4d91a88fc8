#include "ui/fault_menu.h"

#include "ui/logging_categories.h"

#include <QAction>
#include <QActionGroup>
#include <QMenu>

namespace sluice::ui {

namespace {

// Beyond this many subtasks the Faults menu lists only the first ones, but
// the context menu of the graph reaches every subtask.
constexpr int kMaxSubtasksInMenu = 32;

QString operatorOf(const protocol::Vertex& vertex) {
    return QString::fromStdString(vertex.operators_size() > 0 ? vertex.operators(0)
                                                              : vertex.name());
}

scenario::Fault failSubtask(const std::string& op, int subtask) {
    scenario::Fault fault;
    fault.mutable_fail_subtask()->set_operator_(op);
    fault.mutable_fail_subtask()->set_subtask(uint32_t(subtask));
    fault.mutable_fail_subtask()->set_message("failure injected from the GUI");
    return fault;
}

scenario::Fault declineCheckpoint(const std::string& op, int subtask) {
    scenario::Fault fault;
    fault.mutable_decline_checkpoint()->set_operator_(op);
    fault.mutable_decline_checkpoint()->set_subtask(uint32_t(subtask));
    return fault;
}

scenario::Fault slowOperator(const std::string& op, int subtask) {
    scenario::Fault fault;
    fault.mutable_slow_operator()->set_operator_(op);
    fault.mutable_slow_operator()->set_subtask(subtask);
    fault.mutable_slow_operator()->set_factor(10);
    fault.mutable_slow_operator()->set_duration_ms(5000);
    return fault;
}

scenario::Fault killTaskManager(int task_manager) {
    scenario::Fault fault;
    fault.mutable_kill_task_manager()->set_task_manager(uint32_t(task_manager));
    fault.mutable_kill_task_manager()->set_restart_after_ms(1000);
    return fault;
}

scenario::Fault partitionLink(int from_node, int to_node) {
    scenario::Fault fault;
    fault.mutable_partition_link()->set_from_node(from_node);
    fault.mutable_partition_link()->set_to_node(to_node);
    fault.mutable_partition_link()->set_duration_ms(10000);
    return fault;
}

QString nodeName(int node) {
    return node < 0 ? QStringLiteral("JobManager") : QStringLiteral("TaskManager %1").arg(node);
}

}  // namespace

FaultMenu::FaultMenu(QObject* parent)
    : QObject(parent),
      faults_menu_(new QMenu(tr("&Faults"))),
      timing_menu_(nullptr),
      timing_group_(new QActionGroup(this)) {
    faults_menu_->setObjectName(QStringLiteral("faults-menu"));
    connect(this, &QObject::destroyed, faults_menu_, &QObject::deleteLater);
    buildTimingMenu();
    buildFaultsMenu();
}

void FaultMenu::buildTimingMenu() {
    timing_menu_ = new QMenu(tr("When"), faults_menu_);
    timing_group_->setExclusive(true);
    const scenario::ProtocolPhase phases[] = {scenario::PROTOCOL_PHASE_UNSPECIFIED,
                                              scenario::CHECKPOINT_TRIGGERED,
                                              scenario::DURING_ALIGNMENT,
                                              scenario::AFTER_SYNC_SNAPSHOT,
                                              scenario::ALL_ACKNOWLEDGED,
                                              scenario::AFTER_NOTIFY,
                                              scenario::DURING_RESTORE};
    for (scenario::ProtocolPhase phase : phases) {
        QString text = phase == scenario::PROTOCOL_PHASE_UNSPECIFIED
                           ? tr("Now")
                           : tr("At next checkpoint: %1").arg(phaseLabel(phase));
        QAction* action = timing_menu_->addAction(text);
        action->setCheckable(true);
        action->setData(int(phase));
        action->setChecked(phase == scenario::PROTOCOL_PHASE_UNSPECIFIED);
        timing_group_->addAction(action);
    }
}

FaultTiming FaultMenu::timing() const {
    FaultTiming timing;
    QAction* checked = timing_group_->checkedAction();
    if (checked != nullptr) {
        timing.phase = scenario::ProtocolPhase(checked->data().toInt());
    }
    timing.attempt = attempt_;
    return timing;
}

void FaultMenu::setTiming(scenario::ProtocolPhase phase) {
    for (QAction* action : timing_group_->actions()) {
        action->setChecked(action->data().toInt() == int(phase));
    }
}

QAction* FaultMenu::findAction(const QString& object_name) const {
    return faults_menu_->findChild<QAction*>(object_name);
}

QAction* FaultMenu::addFault(QMenu* menu, const QString& text, const QString& name,
                             const scenario::Fault& fault, const FaultTarget& target) {
    QAction* action = menu->addAction(text);
    action->setObjectName(name);
    connect(action, &QAction::triggered, this, [this, fault, target] {
        scenario::Fault timed = fault;
        applyTiming(timing(), target, &timed);
        qCInfo(lcUiFaults) << "inject" << describeFault(timed);
        Q_EMIT faultRequested(timed);
    });
    return action;
}

bool FaultMenu::isSink(int vertex_index) const {
    int id = graph_.vertices(vertex_index).id();
    for (const protocol::Edge& edge : graph_.edges()) {
        if (edge.source_vertex() == id) {
            return false;
        }
    }
    return true;
}

void FaultMenu::setJobGraph(const protocol::JobGraph& graph) {
    graph_ = graph;
    buildFaultsMenu();
}

void FaultMenu::buildFaultsMenu() {
    // Deleted at once rather than later, so findAction never finds an old
    // action of the same name.
    for (QMenu* submenu : faults_menu_->findChildren<QMenu*>(Qt::FindDirectChildrenOnly)) {
        if (submenu != timing_menu_) {
            delete submenu;
        }
    }
    faults_menu_->clear();
    faults_menu_->addMenu(timing_menu_);
    faults_menu_->addSeparator();
    if (graph_.vertices_size() == 0) {
        faults_menu_->addAction(tr("(open a scenario first)"))->setEnabled(false);
        return;
    }
    addClusterFaults(faults_menu_);
    addVertexSubmenus(faults_menu_);
    addControlMessageFaults(faults_menu_->addMenu(tr("Control Messages")));
    addStorageFaults(faults_menu_->addMenu(tr("Checkpoint Storage and External Store")));
}

void FaultMenu::addClusterFaults(QMenu* menu) {
    FaultTarget none;
    QMenu* kill = menu->addMenu(tr("Kill TaskManager"));
    for (int t = 0; t < graph_.task_managers(); ++t) {
        addFault(kill, tr("TaskManager %1").arg(t), QStringLiteral("kill-task-manager-%1").arg(t),
                 killTaskManager(t), none);
    }
    QMenu* partition = menu->addMenu(tr("Partition Link (10 s)"));
    for (int a = -1; a < graph_.task_managers(); ++a) {
        for (int b = a + 1; b < graph_.task_managers(); ++b) {
            addFault(partition, tr("%1 - %2").arg(nodeName(a), nodeName(b)),
                     QStringLiteral("partition-link-%1-%2").arg(a).arg(b), partitionLink(a, b),
                     none);
        }
    }
}

void FaultMenu::addVertexSubmenus(QMenu* menu) {
    QMenu* fail = menu->addMenu(tr("Fail Subtask"));
    QMenu* decline = menu->addMenu(tr("Decline Checkpoint"));
    QMenu* slow = menu->addMenu(tr("Slow Operator (10x for 5 s)"));
    for (int i = 0; i < graph_.vertices_size(); ++i) {
        const protocol::Vertex& vertex = graph_.vertices(i);
        QString op = operatorOf(vertex);
        std::string op_id = op.toStdString();
        QMenu* fail_vertex = fail->addMenu(op);
        QMenu* decline_vertex = decline->addMenu(op);
        int listed = std::min(vertex.parallelism(), kMaxSubtasksInMenu);
        for (int s = 0; s < listed; ++s) {
            FaultTarget target;
            target.kind = FaultTarget::Kind::kSubtask;
            target.operator_id = op_id;
            target.vertex = vertex.id();
            target.subtask = s;
            addFault(fail_vertex, tr("#%1").arg(s), QStringLiteral("fail-%1-%2").arg(op).arg(s),
                     failSubtask(op_id, s), target);
            addFault(decline_vertex, tr("#%1").arg(s),
                     QStringLiteral("decline-%1-%2").arg(op).arg(s), declineCheckpoint(op_id, s),
                     target);
        }
        if (listed < vertex.parallelism()) {
            // TODO: a subtask picker for high parallelism. The graph's context menu reaches all.
            fail_vertex->addAction(tr("(more: right-click the subtask)"))->setEnabled(false);
        }
        addFault(slow, tr("%1, every subtask").arg(op), QStringLiteral("slow-%1").arg(op),
                 slowOperator(op_id, -1), FaultTarget{});
    }
}

void FaultMenu::addControlMessageFaults(QMenu* menu) {
    struct Entry {
        scenario::ControlMessageKind kind;
        const char* label;
    };
    const Entry entries[] = {{scenario::ACKNOWLEDGE_CHECKPOINT, "acknowledgeCheckpoint"},
                             {scenario::NOTIFY_CHECKPOINT_COMPLETE, "notifyCheckpointComplete"},
                             {scenario::TRIGGER_CHECKPOINT, "triggerCheckpoint"},
                             {scenario::DECLINE_CHECKPOINT, "declineCheckpoint"},
                             {scenario::NOTIFY_CHECKPOINT_ABORTED, "notifyCheckpointAborted"},
                             {scenario::HEARTBEAT, "heartbeat"}};
    for (const Entry& entry : entries) {
        QString kind = QString::fromStdString(scenario::ControlMessageKind_Name(entry.kind));
        scenario::Fault drop;
        drop.mutable_control_message()->set_kind(entry.kind);
        drop.mutable_control_message()->set_drop(true);
        drop.mutable_control_message()->set_count(1);
        addFault(menu, tr("Drop next %1").arg(QLatin1String(entry.label)),
                 QStringLiteral("drop-%1").arg(kind), drop, FaultTarget{});
        scenario::Fault delay;
        delay.mutable_control_message()->set_kind(entry.kind);
        delay.mutable_control_message()->set_delay_ms(2000);
        delay.mutable_control_message()->set_duration_ms(5000);
        addFault(menu, tr("Delay %1 by 2 s for 5 s").arg(QLatin1String(entry.label)),
                 QStringLiteral("delay-%1").arg(kind), delay, FaultTarget{});
    }
}

void FaultMenu::addStorageFaults(QMenu* menu) {
    scenario::Fault fail;
    fail.mutable_storage()->set_fail(true);
    fail.mutable_storage()->set_duration_ms(10000);
    addFault(menu, tr("Fail checkpoint uploads for 10 s"), QStringLiteral("storage-fail"), fail,
             FaultTarget{});
    scenario::Fault slow;
    slow.mutable_storage()->set_slowdown(10);
    slow.mutable_storage()->set_duration_ms(10000);
    addFault(menu, tr("Slow checkpoint uploads 10x for 10 s"), QStringLiteral("storage-slow"), slow,
             FaultTarget{});
    for (int i = 0; i < graph_.vertices_size(); ++i) {
        const protocol::Vertex& vertex = graph_.vertices(i);
        if (!isSink(i) || vertex.operators_size() == 0) {
            continue;
        }
        QString sink = QString::fromStdString(vertex.operators(vertex.operators_size() - 1));
        scenario::Fault reject;
        reject.mutable_store_reject_writes()->set_sink(sink.toStdString());
        reject.mutable_store_reject_writes()->set_records(100);
        addFault(menu, tr("External store rejects the next 100 writes of %1").arg(sink),
                 QStringLiteral("reject-writes-%1").arg(sink), reject, FaultTarget{});
    }
}

void FaultMenu::addSubtaskFaults(QMenu* menu, const FaultTarget& target) {
    QString name = QString::fromStdString(target.operator_id);
    addFault(menu, tr("Fail %1 #%2").arg(name).arg(target.subtask), QStringLiteral("context-fail"),
             failSubtask(target.operator_id, target.subtask), target);
    addFault(menu, tr("Decline checkpoint at %1 #%2").arg(name).arg(target.subtask),
             QStringLiteral("context-decline"),
             declineCheckpoint(target.operator_id, target.subtask), target);
    addFault(menu, tr("Slow %1 #%2 10x for 5 s").arg(name).arg(target.subtask),
             QStringLiteral("context-slow"), slowOperator(target.operator_id, target.subtask),
             target);
    if (target.task_manager >= 0) {
        menu->addSeparator();
        addTaskManagerFaults(menu, target.task_manager);
    }
}

void FaultMenu::addTaskManagerFaults(QMenu* menu, int task_manager) {
    FaultTarget target;
    target.kind = FaultTarget::Kind::kTaskManager;
    target.task_manager = task_manager;
    addFault(menu, tr("Kill TaskManager %1").arg(task_manager),
             QStringLiteral("context-kill-task-manager"), killTaskManager(task_manager), target);
    addFault(menu, tr("Partition JobManager - TaskManager %1 for 10 s").arg(task_manager),
             QStringLiteral("context-partition-jm"), partitionLink(-1, task_manager), target);
}

void FaultMenu::addChannelFaults(QMenu* menu, const FaultTarget& target) {
    if (target.source_task_manager >= 0 && target.task_manager >= 0 &&
        target.source_task_manager != target.task_manager) {
        addFault(menu,
                 tr("Partition TaskManager %1 - TaskManager %2 for 10 s")
                     .arg(target.source_task_manager)
                     .arg(target.task_manager),
                 QStringLiteral("context-partition-channel"),
                 partitionLink(target.source_task_manager, target.task_manager), target);
    } else {
        menu->addAction(tr("(both ends on one TaskManager: no link to partition)"))
            ->setEnabled(false);
    }
    FaultTarget sender = target;
    sender.kind = FaultTarget::Kind::kSubtask;
    sender.operator_id = target.source_operator_id;
    sender.vertex = target.source_vertex;
    sender.subtask = target.source_subtask;
    sender.task_manager = target.source_task_manager;
    addFault(menu,
             tr("Fail sender %1 #%2")
                 .arg(QString::fromStdString(sender.operator_id))
                 .arg(sender.subtask),
             QStringLiteral("context-fail-sender"), failSubtask(sender.operator_id, sender.subtask),
             sender);
    addFault(menu,
             tr("Fail receiver %1 #%2")
                 .arg(QString::fromStdString(target.operator_id))
                 .arg(target.subtask),
             QStringLiteral("context-fail-receiver"),
             failSubtask(target.operator_id, target.subtask), target);
}

void FaultMenu::populate(QMenu* menu, const FaultTarget& target) {
    switch (target.kind) {
        case FaultTarget::Kind::kSubtask:
            addSubtaskFaults(menu, target);
            break;
        case FaultTarget::Kind::kTaskManager:
            addTaskManagerFaults(menu, target.task_manager);
            break;
        case FaultTarget::Kind::kChannel:
            addChannelFaults(menu, target);
            break;
        case FaultTarget::Kind::kNone:
            break;
    }
    menu->addSeparator();
    menu->addMenu(timing_menu_);
}

}  // namespace sluice::ui
