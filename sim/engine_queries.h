#pragma once

// Replies to the query commands of the engine protocol: the job graph,
// pages of keyed state, metric samples and the checkpoint history.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sluice::sim {

class LiveStateCache;

protocol::JobGraph queryJobGraph(const Engine& engine);

// Returns an empty string, or why (vertex, subtask) names no subtask;
// subtask -1 means every subtask.
std::string checkStateTarget(const Engine& engine, int vertex, int subtask);

// Called with a live entry, the subtask that stores it and whether it
// changed after that subtask's latest completed checkpoint.
using LiveEntryVisitor =
    std::function<void(const StateEntryView& view, int subtask, bool changed_since_checkpoint)>;

// Visits every entry of the live keyed state of a valid (vertex, subtask),
// subtask -1 meaning every subtask: by subtask, then by operator of the
// chain, state, key group and key. This order is the "collection order"
// that sorting keeps among equal rows.
void forEachLiveEntry(const Engine& engine, int vertex, int subtask, const LiveEntryVisitor& visit);

// Rows of the live keyed state of a valid (vertex, subtask), in collection
// order, without a cache.
std::vector<protocol::StateRow> liveStateRows(const Engine& engine, int vertex, int subtask,
                                              const std::string& key_filter,
                                              bool changed_only = false);

// The order of QueryKeyedState.sort: the column, then the key, state name
// and subtask.
bool stateRowLess(const protocol::StateRow& a, const protocol::StateRow& b,
                  protocol::QueryKeyedState::SortColumn sort);
// Stable sort by stateRowLess, so equal rows keep their order.
void sortStateRows(std::vector<protocol::StateRow>* rows,
                   protocol::QueryKeyedState::SortColumn sort, bool descending);

// Rows of the live keyed state, filtered, sorted and paged as `query`
// requests, through `cache`. Returns an empty string, or why the query is invalid
// (unknown vertex or subtask, checkpoint_id set: the engine service reads
// checkpoints).
std::string queryKeyedState(const Engine& engine, const protocol::QueryKeyedState& query,
                            LiveStateCache& cache, protocol::KeyedStatePage* page);

protocol::MetricsPage queryMetrics(const Engine& engine, const protocol::QueryMetrics& query);

protocol::CheckpointHistory queryCheckpoints(const Engine& engine,
                                             const std::map<int64_t, uint64_t>& trigger_events);

}  // namespace sluice::sim
