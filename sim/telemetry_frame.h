#pragma once

// Builds the telemetry Frame and Status messages of the engine protocol
// (sim/proto/engine_protocol.proto) from an Engine. Read-only: nothing here
// changes the run.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"

#include <cstdint>
#include <map>

namespace sluice::sim {

// Fields of a Status that come from the service, not from the engine.
struct ServiceStatus {
    bool playing = false;
    double sim_ms_per_wall_second = 0;
    double events_per_second = 0;
    protocol::Verdict verdict;
};

// Fills `status`. `engine` is null when no scenario is loaded.
void fillStatus(const Engine* engine, const ServiceStatus& service, protocol::Status* status);

// The frame of the engine's current state. `trigger_events` maps checkpoint
// ids to the event index at which they were triggered, when known.
protocol::Frame buildFrame(const Engine& engine, const protocol::Status& status,
                           const std::map<int64_t, uint64_t>& trigger_events);

// One checkpoint of Engine::checkpointHistory as a CheckpointMark, with the
// event indexes from `trigger_events` and Engine::checkpointDigests.
protocol::CheckpointMark checkpointMark(const Engine& engine, const CheckpointStats& stats,
                                        const std::map<int64_t, uint64_t>& trigger_events);

}  // namespace sluice::sim
