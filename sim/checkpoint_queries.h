#pragma once

// Replies to the checkpoint queries of the engine protocol: the detailed
// checkpoint history, the shared-state registry of incremental checkpoints
// and the history exported as sluice-run writes it.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"

#include <cstdint>
#include <map>
#include <string>

namespace sluice::sim {

// Every checkpoint of Engine::checkpointHistory, oldest first, with its
// per-subtask statistics. `trigger_events` maps checkpoint ids to the event
// index at which they were triggered.
protocol::CheckpointDetails queryCheckpointDetails(
    const Engine& engine, const std::map<int64_t, uint64_t>& trigger_events);

// Every file of Engine::sharedStateRegistry, sorted by path. Empty for
// backends that do not checkpoint incrementally.
protocol::CheckpointSharedState queryCheckpointSharedState(const Engine& engine);

// The bytes writeCheckpointsCsv or writeCheckpointsJson writes for the
// engine's history. Returns an empty string, or why the query is invalid.
std::string queryCheckpointExport(const Engine& engine,
                                  const protocol::CheckpointExportQuery& query,
                                  protocol::CheckpointExport* result);

}  // namespace sluice::sim
