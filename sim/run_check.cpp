#include "sim/run_check.h"

namespace sluice::sim {

std::variant<std::unique_ptr<Engine>, ScenarioError> referenceEngineFor(const Engine& run) {
    LoadedScenario reference = run.scenario();
    reference.proto.clear_faults();
    reference.proto.clear_bugs();
    EngineOptions options;
    options.seed = run.seed();
    options.until_ms = run.untilNs() / kNanosPerMilli;
    return Engine::fromScenario(std::move(reference), options);
}

bool wantsVerdict(const scenario::Scenario& scenario) {
    return scenario.has_expect() || scenario.faults().fault_size() > 0 ||
           scenario.faults().swarm().kinds_size() > 0;
}

Verdict checkRun(const Engine& run, const Engine& reference) {
    CheckOptions options = checkOptionsFor(run.scenario().proto);
    if (!run.firedFaults().empty()) {
        options.last_fault_ns = run.firedFaults().back().time_ns;
    }
    for (const auto& [failed_at, running_at] : run.recoveries()) {
        options.recoveries.push_back({failed_at, running_at});
    }
    options.end_ns = run.now();
    options.job_finished = run.runState() == RunState::kFinished;
    options.reference_finished = reference.runState() == RunState::kFinished;
    options.job_failed = run.runState() == RunState::kFailed;
    options.failure_cause = run.failureCause();
    return checkExactlyOnce(reference.store(), run.store(), options);
}

}  // namespace sluice::sim
