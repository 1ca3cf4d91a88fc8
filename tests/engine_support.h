#pragma once

// Helpers for suites that run scenarios through sim::Engine.

#include "sim/engine.h"
#include "sim/engine_queries.h"
#include "sim/scenario_loader.h"
#include "test_support.h"

#include <QtGlobal>

#include <memory>
#include <string>
#include <variant>

namespace sluice::test {

// Loads a scenario of the source tree; a file that does not load stops the
// suite, because every test of it depends on the file.
inline sim::LoadedScenario loadScenario(const std::string& relative) {
    auto loaded = sim::loadScenarioFile(sourcePath(relative));
    if (auto* e = std::get_if<sim::ScenarioError>(&loaded)) {
        qFatal("cannot load %s: %s", relative.c_str(), e->format().c_str());
    }
    return std::get<sim::LoadedScenario>(loaded);
}

// Builds an engine after applying the defaults again, so tests may edit the
// proto freely. Returns null, with a warning, if the engine cannot be built.
inline std::unique_ptr<sim::Engine> makeEngine(sim::LoadedScenario s,
                                               const sim::EngineOptions& options = {}) {
    sim::applyScenarioDefaults(s.proto);
    auto made = sim::Engine::fromScenario(std::move(s), options);
    if (auto* e = std::get_if<sim::ScenarioError>(&made)) {
        qWarning("engine not built: %s", e->format().c_str());
        return nullptr;
    }
    return std::move(std::get<std::unique_ptr<sim::Engine>>(made));
}

// Returns the id of the first keyed vertex of the job (one that a keyBy
// feeds), or -1 when there is none.
inline int keyedVertex(const sim::Engine& engine) {
    protocol::JobGraph graph = sim::queryJobGraph(engine);
    for (const auto& vertex : graph.vertices()) {
        if (vertex.keyed()) {
            return vertex.id();
        }
    }
    return -1;
}

}  // namespace sluice::test
