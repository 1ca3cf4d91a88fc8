#pragma once

// Keyed-state queries of the state inspector that read completed
// checkpoints: pages of a checkpoint's keyed state and diffs between two
// checkpoints or a checkpoint and the live state.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"
#include "sim/live_state_cache.h"
#include "sim/state_checkpoint_reader.h"

#include <filesystem>
#include <list>
#include <string>
#include <vector>

namespace sluice::sim {

// The rows of recent filtered checkpoint queries (subtask, key filter,
// changed only), so that the pages after the first of a key search copy
// their rows instead of scanning the whole checkpoint again. A view contains
// row indexes of one decoded CheckpointStateCache entry. Keeps at most
// kMaxViews views, 4 bytes per matching row each.
//
// Threading: the engine thread only.
class CheckpointViewCache {
public:
    static constexpr size_t kMaxViews = 8;

    // Indexes into entry.rows of the rows that match `query`, in the order
    // of `order` (ascending, or reversed when query.descending()).
    const std::vector<uint32_t>& rows(const CheckpointStateCache::Entry& entry,
                                      const std::vector<uint32_t>& order,
                                      const protocol::QueryKeyedState& query);
    // Drops the views of the checkpoint and vertex of `entry`, for an entry
    // decoded anew. A decode shows keys and values through the live tasks,
    // so another decode can order the rows differently.
    void forget(const CheckpointStateCache::Entry& entry);

private:
    struct View {
        std::filesystem::path storage_root;
        int64_t checkpoint_id = 0;
        int vertex = 0;
        int sort = 0;
        bool descending = false;
        int subtask = -1;
        std::string key_filter;
        bool changed_only = false;
        std::vector<uint32_t> rows;
    };
    std::list<View> views_;  // most recently used last
};

// The differences of the latest diff query, so that its later pages copy
// rows instead of building the diff again. A kept diff serves only the
// same query at the same live state version (LiveStateVersion), because a
// diff can read the live state, and decodes checkpoints through the live
// tasks. Holds one diff.
//
// Threading: the engine thread only.
class StateDiffCache {
public:
    struct Diff {
        std::vector<protocol::StateDiffRow> rows;
        uint64_t differing = 0;  // rows other than UNCHANGED
    };

    // The kept diff of `query` (offset and limit aside), or null.
    const Diff* find(const Engine& engine, const protocol::StateQueryDiff& query) const;
    // Keeps `diff` as the diff of `query`, replacing the kept one.
    const Diff& store(const Engine& engine, const protocol::StateQueryDiff& query, Diff diff);
    void clear();

private:
    LiveStateVersion version_;
    std::string key_;
    Diff diff_;
    bool valid_ = false;
};

// Rows of checkpoint query.checkpoint_id(), filtered, sorted and paged as
// `query` requests. The first query of a checkpoint decodes it into `cache`,
// and the first page of a filter scans it into `views`; later pages only
// copy. Returns an empty string or the error.
std::string queryCheckpointKeyedState(const Engine& engine, const protocol::QueryKeyedState& query,
                                      CheckpointStateCache& cache, CheckpointViewCache& views,
                                      protocol::KeyedStatePage* page);

// Entries added, removed or changed from one state to the other (two
// checkpoints, a checkpoint and the live state, or the state before a
// failure and the checkpoint its failover restored), and with
// include_unchanged the equal ones too, sorted by (state name, key group,
// key). The first page builds the whole diff and keeps it in `diffs`, so
// later pages of the same state version only copy. Returns an empty string
// or the error.
std::string queryStateDiff(const Engine& engine, const protocol::StateQueryDiff& query,
                           CheckpointStateCache& cache, StateDiffCache& diffs,
                           protocol::StateDiffPage* page);

// Retained checkpoints and failures with a kept keyed state.
protocol::StateSources queryStateSources(const Engine& engine);

}  // namespace sluice::sim
