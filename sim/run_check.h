#pragma once

#include "sim/checker.h"
#include "sim/engine.h"

#include <memory>
#include <variant>

namespace sluice::sim {

// The reference run for the exactly-once checker: the same scenario and
// seed without faults and without deliberate bugs, restored from the same
// checkpoint if `run` was, and stopped at the same time limit.
std::variant<std::unique_ptr<Engine>, ScenarioError> referenceEngineFor(const Engine& run);

// Returns true when the scenario injects faults or states an expectation,
// so a run of it gets a verdict.
bool wantsVerdict(const scenario::Scenario& scenario);

// Checks a finished (or stopped) run against its finished reference run.
Verdict checkRun(const Engine& run, const Engine& reference);

// Builds and runs the reference of `run`, then checks `run` against it.
// Returns the error instead when the reference cannot be built.
std::variant<Verdict, ScenarioError> checkAgainstReference(const Engine& run);

}  // namespace sluice::sim
