#include "sim/replayable_run.h"

#include <algorithm>

namespace sluice::sim {

std::variant<std::unique_ptr<ReplayableRun>, ScenarioError> ReplayableRun::fromScenario(
    LoadedScenario scenario, EngineOptions options, EngineBuilt built) {
    std::unique_ptr<ReplayableRun> run(new ReplayableRun);
    run->scenario_ = std::move(scenario);
    run->options_ = std::move(options);
    run->built_ = std::move(built);
    if (auto error = run->build()) {
        return *error;
    }
    return run;
}

std::variant<std::unique_ptr<ReplayableRun>, ScenarioError> ReplayableRun::fromRecording(
    Recording recording, EngineOptions options, EngineBuilt built) {
    std::unique_ptr<ReplayableRun> run(new ReplayableRun);
    run->recording_ = std::move(recording);
    run->options_ = std::move(options);
    run->built_ = std::move(built);
    if (auto error = run->build()) {
        return *error;
    }
    return run;
}

std::optional<ScenarioError> ReplayableRun::build() {
    // The current engine stays until the new one is built, so a failed
    // rebuild leaves the run where it was.
    auto built = recording_ ? replayEngineFor(*recording_, options_)
                            : Engine::fromScenario(scenario_, options_);
    if (auto* error = std::get_if<ScenarioError>(&built)) {
        return *error;
    }
    engine_ = std::move(std::get<std::unique_ptr<Engine>>(built));
    next_injection_ = 0;
    if (built_) {
        built_(*engine_);
    }
    return std::nullopt;
}

std::optional<ScenarioError> ReplayableRun::restart() {
    return build();
}

void ReplayableRun::injectDueFaults() {
    while (next_injection_ < injected_.size() &&
           injected_[next_injection_].first <= engine_->eventCount()) {
        engine_->injectFault(injected_[next_injection_].second);
        ++next_injection_;
    }
}

bool ReplayableRun::step() {
    injectDueFaults();
    return engine_->step();
}

std::string ReplayableRun::injectFault(const scenario::Fault& fault) {
    injectDueFaults();
    std::string error = engine_->injectFault(fault);
    if (!error.empty()) {
        return error;
    }
    // Keep the list ordered by event index, so a fault injected after a
    // backward seek goes before those injected later in the first pass.
    uint64_t index = engine_->eventCount();
    auto position =
        std::upper_bound(injected_.begin(), injected_.end(), index,
                         [](uint64_t value, const auto& entry) { return value < entry.first; });
    size_t offset = size_t(position - injected_.begin());
    injected_.insert(position, {index, fault});
    if (offset <= next_injection_) {
        ++next_injection_;  // applied already
    }
    return {};
}

}  // namespace sluice::sim
