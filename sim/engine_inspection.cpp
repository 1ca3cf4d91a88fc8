// Engine: records that only the views read. The update times of keyed-state
// entries at each snapshot fill the state inspector's "last update" and
// "changed" columns of checkpoint views. The times at which each subtask
// reached the steps of each checkpoint show where a subtask stopped when a
// checkpoint failed before it acknowledged.

#include "sim/engine.h"

#include <algorithm>

namespace sluice::sim {

namespace {

// FNV-1a, 64 bits.
void mix(uint64_t& hash, std::string_view bytes) {
    for (unsigned char c : bytes) {
        hash = (hash ^ c) * 0x100000001b3ull;
    }
}

// The record of (vertex, subtask) in checkpoint `checkpoint_id`, or null.
template <class Record>
const Record* findSubtaskRecord(
    const std::map<int64_t, std::map<std::pair<int, int>, Record>>& records, int64_t checkpoint_id,
    int vertex, int subtask) {
    auto checkpoint = records.find(checkpoint_id);
    if (checkpoint == records.end()) {
        return nullptr;
    }
    auto found = checkpoint->second.find({vertex, subtask});
    return found == checkpoint->second.end() ? nullptr : &found->second;
}

}  // namespace

uint64_t SnapshotUpdateTimes::entryHash(std::string_view state_name, int key_group,
                                        std::string_view key) {
    uint64_t hash = 0xcbf29ce484222325ull;
    mix(hash, state_name);
    // The separator keeps ("ab", "c") apart from ("a", "bc").
    std::string group = '\0' + std::to_string(key_group) + '\0';
    mix(hash, group);
    mix(hash, key);
    return hash;
}

std::optional<Nanos> SnapshotUpdateTimes::find(std::string_view state_name, int key_group,
                                               std::string_view key) const {
    uint64_t hash = entryHash(state_name, key_group, key);
    auto it = std::lower_bound(times.begin(), times.end(), hash,
                               [](const auto& entry, uint64_t h) { return entry.first < h; });
    if (it == times.end() || it->first != hash) {
        return std::nullopt;
    }
    return it->second;
}

const SnapshotUpdateTimes* Engine::snapshotUpdateTimes(int64_t checkpoint_id, int vertex,
                                                       int subtask) const {
    return findSubtaskRecord(snapshot_update_times_, checkpoint_id, vertex, subtask);
}

void Engine::captureSnapshotUpdateTimes(const ProtocolEvent& event) {
    const StreamTask* live = task(event.vertex, event.subtask);
    if (!live || live->attempt() != event.attempt) {
        return;
    }
    SnapshotUpdateTimes table;
    table.snapshot_ns = now();
    auto previous = completed_snapshot_ns_.find({event.vertex, event.subtask});
    table.previous_snapshot_ns = previous == completed_snapshot_ns_.end() ? -1 : previous->second;
    for (int i = 0; i < live->operatorCount(); ++i) {
        const KeyedStateBackend* backend = live->keyedStateBackend(i);
        if (!backend) {
            continue;
        }
        backend->forEachState([&](const InternalKvState& state) {
            state.forEachUpdateTime([&](int key_group, std::string_view key, Nanos time) {
                table.times.emplace_back(
                    SnapshotUpdateTimes::entryHash(state.name(), key_group, key), time);
            });
        });
    }
    std::sort(table.times.begin(), table.times.end());
    snapshot_update_times_[event.checkpoint_id][{event.vertex, event.subtask}] = std::move(table);
}

const SubtaskCheckpointProgress* Engine::checkpointProgress(int64_t checkpoint_id, int vertex,
                                                            int subtask) const {
    return findSubtaskRecord(checkpoint_progress_, checkpoint_id, vertex, subtask);
}

void Engine::recordCheckpointProgress(const ProtocolEvent& event) {
    Nanos SubtaskCheckpointProgress::*step = nullptr;
    switch (event.phase) {
        case ProtocolPhase::kDuringAlignment:
            step = &SubtaskCheckpointProgress::first_barrier_ns;
            break;
        case ProtocolPhase::kBarrierAligned:
            step = &SubtaskCheckpointProgress::all_barriers_ns;
            break;
        case ProtocolPhase::kAfterSyncSnapshot:
            step = &SubtaskCheckpointProgress::snapshot_ns;
            break;
        default:
            return;
    }
    checkpoint_progress_[event.checkpoint_id][{event.vertex, event.subtask}].*step = now();
}

void Engine::pruneSnapshotUpdateTimes(int64_t completed_id) {
    if (auto it = snapshot_update_times_.find(completed_id); it != snapshot_update_times_.end()) {
        for (const auto& [target, table] : it->second) {
            completed_snapshot_ns_[target] = table.snapshot_ns;
        }
    }
    for (auto it = snapshot_update_times_.begin();
         it != snapshot_update_times_.end() && it->first <= completed_id;) {
        // Failed and subsumed checkpoints cannot be inspected any more.
        it =
            completed_metadata_.count(it->first) ? std::next(it) : snapshot_update_times_.erase(it);
    }
}

}  // namespace sluice::sim
