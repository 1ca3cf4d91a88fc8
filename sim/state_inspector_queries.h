#pragma once

// Keyed-state queries of the state inspector that read completed
// checkpoints: pages of a checkpoint's keyed state and diffs between two
// checkpoints or a checkpoint and the live state.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"
#include "sim/state_checkpoint_reader.h"

#include <string>

namespace sluice::sim {

// Rows of checkpoint query.checkpoint_id(), filtered, sorted and paged as
// `query` requests. The first query of a checkpoint decodes it into `cache`;
// later pages only filter and copy. Returns an empty string or the error.
std::string queryCheckpointKeyedState(const Engine& engine, const protocol::QueryKeyedState& query,
                                      CheckpointStateCache& cache, protocol::KeyedStatePage* page);

// Entries added, removed or changed from one state to the other (two
// checkpoints, a checkpoint and the live state, or the state before a
// failure and the checkpoint its failover restored), and with
// include_unchanged the equal ones too, sorted by (state name, key group,
// key). Returns an empty string or the error.
std::string queryStateDiff(const Engine& engine, const protocol::StateQueryDiff& query,
                           CheckpointStateCache& cache, protocol::StateDiffPage* page);

// Retained checkpoints and failures with a kept keyed state.
protocol::StateSources queryStateSources(const Engine& engine);

}  // namespace sluice::sim
