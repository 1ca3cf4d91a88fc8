#pragma once

// Decodes the keyed state of one vertex from a completed checkpoint's
// snapshot files (heap snapshots and full or incremental RocksDB
// snapshots) into display rows, without restoring a job.
//
// Threading: the engine thread only, like the Engine it reads.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"

#include <cstdint>
#include <filesystem>
#include <list>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace sluice::sim {

// Rows of every key of `vertex` in checkpoint `checkpoint_id`, one per
// (subtask, state name, key), sorted by (state name, key group, key,
// subtask). Keys and values are shown in the display form of the live
// task's states. A state that no live task has registered shows its entry
// count and size instead. Snapshots store no update times: last_update_ns
// and changed_since_checkpoint (against the previous completed checkpoint)
// come from the times the engine kept at the snapshot
// (EngineOptions::keep_snapshot_update_times), and are 0 and false without
// them. Returns an error message when the checkpoint is not retained or a
// file cannot be read.
std::variant<std::vector<protocol::StateRow>, std::string> readCheckpointState(
    const Engine& engine, int64_t checkpoint_id, int vertex);

// Decoded checkpoints, kept so that paging over a large checkpoint decodes
// it once. Holds at most two checkpoints (a diff needs both), evicting the
// older one.
class CheckpointStateCache {
public:
    // The decoded rows of a checkpoint and vertex, with their order under
    // each sort column computed on first use. An entry stays valid until two
    // other entries were requested after it.
    struct Entry {
        std::filesystem::path storage_root;
        int64_t checkpoint_id = 0;
        int vertex = 0;
        std::vector<protocol::StateRow> rows;
        // Row indexes in ascending order, by QueryKeyedState::SortColumn.
        std::map<int, std::vector<uint32_t>> orders;
    };

    std::variant<Entry*, std::string> entry(const Engine& engine, int64_t checkpoint_id,
                                            int vertex);

private:
    // Most recently used last; a list so that entry pointers survive eviction of others.
    std::list<Entry> entries_;
};

}  // namespace sluice::sim
