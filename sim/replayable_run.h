#pragma once

// A run that can move backward. It keeps the Engine together with what is
// needed to build it again: scenario, engine options, recording and faults
// injected at run time. An earlier event index is reached by re-executing
// the run deterministically from the start.

#include "sim/engine.h"
#include "sim/recording.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sluice::sim {

// Threading: one thread, the engine service's.
class ReplayableRun {
public:
    // Called with every engine built, first and rebuilt, before it runs.
    using EngineBuilt = std::function<void(Engine&)>;

    static std::variant<std::unique_ptr<ReplayableRun>, ScenarioError> fromScenario(
        LoadedScenario scenario, EngineOptions options, EngineBuilt built);
    // The recording's scenario, seed and time limit. The faults it injected
    // at run time are injected again at their event indexes.
    static std::variant<std::unique_ptr<ReplayableRun>, ScenarioError> fromRecording(
        Recording recording, EngineOptions options, EngineBuilt built);

    Engine& engine() { return *engine_; }
    const Engine& engine() const { return *engine_; }
    const EngineOptions& options() const { return options_; }

    // Runs one event after injecting the faults due at the current event
    // index. Returns false when the run is over.
    bool step();
    // Injects a fault now (Engine::injectFault) and keeps it for re-execution.
    // Returns an empty string, or why the fault is invalid.
    std::string injectFault(const scenario::Fault& fault);
    // Builds the engine again, at event index 0. On an error the current
    // engine stays.
    std::optional<ScenarioError> restart();
    // Faults injected at run time during this session, with the event index
    // at which each was injected.
    const std::vector<std::pair<uint64_t, scenario::Fault>>& injectedFaults() const {
        return injected_;
    }
    // Injects the faults due at the current event index without running an
    // event, so a run stopped at index N shows the faults injected at N.
    void injectDueFaults();

private:
    ReplayableRun() = default;
    std::optional<ScenarioError> build();

    LoadedScenario scenario_;
    std::optional<Recording> recording_;
    EngineOptions options_;
    EngineBuilt built_;
    std::unique_ptr<Engine> engine_;
    std::vector<std::pair<uint64_t, scenario::Fault>> injected_;
    size_t next_injection_ = 0;  // in injected_, ordered by event index
};

}  // namespace sluice::sim
