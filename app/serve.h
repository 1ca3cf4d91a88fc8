#pragma once

#include "sim/engine.h"

#include <string>

// `sluice-run SCENARIO --serve ADDRESS`: serves the engine protocol headless
// until a client sends Shutdown or SIGINT or SIGTERM arrives. Prints the
// command and telemetry addresses on start. Returns the exit status: 0 after
// a clean stop, 2 when the scenario does not load or an address cannot be
// bound.
int runServe(const std::string& scenario, const std::string& command_address, bool allow_remote,
             const sluice::sim::EngineOptions& engine_options);
