#pragma once

// Replies to the query commands of the engine protocol: the job graph,
// pages of keyed state, metric samples and the checkpoint history.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sluice::sim {

protocol::JobGraph queryJobGraph(const Engine& engine);

// Returns an empty string, or why (vertex, subtask) names no subtask;
// subtask -1 means every subtask.
std::string checkStateTarget(const Engine& engine, int vertex, int subtask);

// Rows of the live keyed state of a valid (vertex, subtask), unsorted.
std::vector<protocol::StateRow> liveStateRows(const Engine& engine, int vertex, int subtask,
                                              const std::string& key_filter,
                                              bool changed_only = false);

// Rows of the live keyed state, filtered, sorted and paged as `query` asks.
// Returns an empty string, or why the query is invalid (unknown vertex or
// subtask, checkpoint_id set: the engine service reads checkpoints).
std::string queryKeyedState(const Engine& engine, const protocol::QueryKeyedState& query,
                            protocol::KeyedStatePage* page);

protocol::MetricsPage queryMetrics(const Engine& engine, const protocol::QueryMetrics& query);

protocol::CheckpointHistory queryCheckpoints(const Engine& engine,
                                             const std::map<int64_t, uint64_t>& trigger_events);

}  // namespace sluice::sim
