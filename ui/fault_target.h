#pragma once

#include "proto/scenario.pb.h"

#include <QString>

#include <string>

namespace sluice::ui {

// The subtask, TaskManager or channel a fault menu was opened on, or none
// for the Faults menu of the menu bar. Operator ids are the scenario's, as
// Fault messages name them.
struct FaultTarget {
    enum class Kind { kNone, kSubtask, kTaskManager, kChannel };
    Kind kind = Kind::kNone;
    // kSubtask: the subtask. kChannel: the receiving subtask.
    std::string operator_id;
    int vertex = -1;
    int subtask = -1;
    // kSubtask: where it runs. kTaskManager: the TaskManager. kChannel: the
    // receiver's TaskManager.
    int task_manager = -1;
    // kChannel only: the sending end.
    std::string source_operator_id;
    int source_vertex = -1;
    int source_subtask = -1;
    int source_task_manager = -1;
};

// When an injected fault fires: now, or at the next occurrence of a
// checkpoint protocol phase.
struct FaultTiming {
    scenario::ProtocolPhase phase = scenario::PROTOCOL_PHASE_UNSPECIFIED;  // unspecified: now
    int64_t checkpoint_id = 0;                                             // 0: any checkpoint
    // Restart attempt running now (the target subtask's, else the job's
    // restart count): a phase trigger matches only the attempt it names.
    int64_t attempt = 0;
};

// Sets the fault's trigger from `timing`. Phases that happen at one subtask
// (alignment, sync snapshot, notify, restore) are narrowed to the target's
// subtask when the target is a subtask or channel.
void applyTiming(const FaultTiming& timing, const FaultTarget& target, scenario::Fault* fault);

// Label of a protocol phase for menus, such as "during alignment".
QString phaseLabel(scenario::ProtocolPhase phase);

// One line about a fault, for the log and tool tips.
QString describeFault(const scenario::Fault& fault);

}  // namespace sluice::ui
