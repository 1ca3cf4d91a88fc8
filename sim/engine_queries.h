#pragma once

// Answers to the query commands of the engine protocol: the job graph,
// pages of keyed state, metric samples and the checkpoint history.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"

#include <cstdint>
#include <map>
#include <string>

namespace sluice::sim {

protocol::JobGraph queryJobGraph(const Engine& engine);

// Rows of the live keyed state, filtered, sorted and paged as `query` asks.
// Returns an empty string, or why the query is invalid (unknown vertex or
// subtask, checkpoint_id set).
std::string queryKeyedState(const Engine& engine, const protocol::QueryKeyedState& query,
                            protocol::KeyedStatePage* page);

protocol::MetricsPage queryMetrics(const Engine& engine, const protocol::QueryMetrics& query);

protocol::CheckpointHistory queryCheckpoints(const Engine& engine,
                                             const std::map<int64_t, uint64_t>& trigger_events);

}  // namespace sluice::sim
