#pragma once

#include "proto/scenario.pb.h"

#include <optional>
#include <string>

namespace sluice::sim {

// A problem with one fault: the field path below the fault, such as
// "fail_subtask.subtask", and a message that names the fix.
struct FaultProblem {
    std::string field;
    std::string message;
};

// Checks that a fault names operators, subtasks, sinks and nodes that exist
// in `scenario`, and that its trigger can fire. `needs_trigger` is false for
// run-time injections, which fire at once without one.
std::optional<FaultProblem> checkFault(const scenario::Scenario& scenario,
                                       const scenario::Fault& fault, bool needs_trigger);

}  // namespace sluice::sim
