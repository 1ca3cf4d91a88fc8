#include "sim/run_check.h"

#include <map>
#include <string>
#include <tuple>

namespace sluice::sim {

std::variant<std::unique_ptr<Engine>, ScenarioError> referenceEngineFor(const Engine& run) {
    LoadedScenario reference = run.scenario();
    reference.proto.clear_faults();
    reference.proto.clear_bugs();
    EngineOptions options;
    options.seed = run.seed();
    options.until_ms = run.untilNs() / kNanosPerMilli;
    // A restored run is compared with a failure-free run from the same
    // checkpoint: the output before it is in neither store.
    options.restore_path = run.restorePath();
    return Engine::fromScenario(std::move(reference), options);
}

std::variant<Verdict, ScenarioError> checkAgainstReference(const Engine& run) {
    auto built = referenceEngineFor(run);
    if (auto* error = std::get_if<ScenarioError>(&built)) {
        return *error;
    }
    Engine& reference = *std::get<std::unique_ptr<Engine>>(built);
    reference.run();
    return checkRun(run, reference);
}

bool wantsVerdict(const scenario::Scenario& scenario) {
    return scenario.has_expect() || scenario.faults().fault_size() > 0 ||
           scenario.faults().swarm().kinds_size() > 0;
}

namespace {

// Keyed state of every subtask of a finished run, by (vertex, state, key).
std::map<std::tuple<int, std::string, std::string>, std::string> finalState(const Engine& engine) {
    std::map<std::tuple<int, std::string, std::string>, std::string> state;
    for (const auto& vertex : engine.jobGraph().vertices()) {
        for (int subtask = 0; subtask < vertex.parallelism; ++subtask) {
            for (const auto& entry : engine.keyedState(vertex.id, subtask)) {
                state[{vertex.id, entry.state_name, entry.key}] = entry.value;
            }
        }
    }
    return state;
}

// When both runs finished, every key's final state must be the same: the
// order-independent part of exactly-once processing, and what a restore
// from an inconsistent checkpoint breaks.
void checkFinalState(const Engine& run, const Engine& reference, Verdict& verdict) {
    if (run.runState() != RunState::kFinished || reference.runState() != RunState::kFinished) {
        return;
    }
    auto actual = finalState(run);
    auto expected = finalState(reference);
    uint64_t mismatches = 0;
    auto describe = [&](const auto& key) {
        return "state '" + std::get<1>(key) + "' of key '" + std::get<2>(key) + "' in '" +
               run.jobGraph().vertex(std::get<0>(key)).name + "'";
    };
    for (const auto& [key, value] : expected) {
        auto it = actual.find(key);
        std::string got = it == actual.end() ? "no entry" : "'" + it->second + "'";
        if (it != actual.end() && it->second == value) {
            continue;
        }
        if (++mismatches <= 5) {
            Violation violation;
            violation.kind = ViolationKind::kStateMismatch;
            violation.key = std::get<2>(key);
            violation.time_ns = run.now();
            violation.event_index = run.eventCount();
            violation.explanation = describe(key) + " ends as " + got +
                                    " but the reference run ends with '" + value + "'";
            verdict.violations.push_back(std::move(violation));
        }
    }
    for (const auto& [key, value] : actual) {
        if (expected.count(key) == 0 && ++mismatches <= 5) {
            Violation violation;
            violation.kind = ViolationKind::kStateMismatch;
            violation.key = std::get<2>(key);
            violation.time_ns = run.now();
            violation.event_index = run.eventCount();
            violation.explanation = describe(key) + " ends as '" + value +
                                    "' but the reference run has no entry for it";
            verdict.violations.push_back(std::move(violation));
        }
    }
    if (mismatches > 0) {
        verdict.pass = false;
        verdict.counts[size_t(ViolationKind::kStateMismatch)] += mismatches;
    }
}

}  // namespace

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
    Verdict verdict = checkExactlyOnce(reference.store(), run.store(), options);
    if (options.guarantee == scenario::EXACTLY_ONCE_OUTPUT) {
        checkFinalState(run, reference, verdict);
    }
    return verdict;
}

}  // namespace sluice::sim
