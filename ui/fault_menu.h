#pragma once

#include "proto/engine_protocol.pb.h"
#include "proto/scenario.pb.h"
#include "ui/fault_target.h"

#include <QObject>

class QAction;
class QActionGroup;
class QMenu;

namespace sluice::ui {

// The fault actions of the GUI: the menu bar's Faults menu and the context
// menus of subtasks, channels and TaskManagers. Every action builds a
// scenario Fault with the trigger chosen under "When" (now, or at the next
// occurrence of a checkpoint protocol phase) and emits faultRequested. The
// main window sends it to the engine as InjectFault.
//
// Threading: GUI thread only.
class FaultMenu : public QObject {
    Q_OBJECT

public:
    explicit FaultMenu(QObject* parent = nullptr);

    // Rebuilds the Faults menu for the job's vertices and TaskManagers.
    void setJobGraph(const protocol::JobGraph& graph);
    // The restart attempt running now, which phase triggers must name.
    void setCurrentAttempt(int64_t attempt) { attempt_ = attempt; }
    // The Faults menu of the menu bar, owned by this object.
    QMenu* faultsMenu() const { return faults_menu_; }
    // Adds the fault actions for `target` to `menu`; the actions belong to
    // `menu`.
    void populate(QMenu* menu, const FaultTarget& target);
    FaultTiming timing() const;
    // Selects the timing entry of `phase` (unspecified: now).
    void setTiming(scenario::ProtocolPhase phase);
    // The action of the Faults menu with this object name, such as
    // "kill-task-manager-1", or null.
    QAction* findAction(const QString& object_name) const;

Q_SIGNALS:
    void faultRequested(const sluice::scenario::Fault& fault);

private:
    QAction* addFault(QMenu* menu, const QString& text, const QString& name,
                      const scenario::Fault& fault, const FaultTarget& target);
    void buildTimingMenu();
    void buildFaultsMenu();
    void addSubtaskFaults(QMenu* menu, const FaultTarget& target);
    void addTaskManagerFaults(QMenu* menu, int task_manager);
    void addChannelFaults(QMenu* menu, const FaultTarget& target);
    void addVertexSubmenus(QMenu* menu);
    void addClusterFaults(QMenu* menu);
    void addControlMessageFaults(QMenu* menu);
    void addStorageFaults(QMenu* menu);
    bool isSink(int vertex_index) const;

    protocol::JobGraph graph_;
    int64_t attempt_ = 0;
    QMenu* faults_menu_;
    QMenu* timing_menu_;
    QActionGroup* timing_group_;
};

}  // namespace sluice::ui
