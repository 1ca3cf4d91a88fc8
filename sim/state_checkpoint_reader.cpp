#include "sim/state_checkpoint_reader.h"

#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/state/state_snapshot_format.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <system_error>
#include <tuple>

namespace sluice::sim {

namespace {

namespace fs = std::filesystem;

// The live state named `name` of the operator `node` in `task`, or null.
const InternalKvState* liveState(const StreamTask* task, int node, const std::string& name) {
    if (!task) {
        return nullptr;
    }
    const InternalKvState* found = nullptr;
    for (int i = 0; i < task->operatorCount() && !found; ++i) {
        const KeyedStateBackend* backend = task->keyedStateBackend(i);
        if (!backend || task->operatorNode(i) != node) {
            continue;
        }
        backend->forEachState([&](const InternalKvState& state) {
            if (state.name() == name) {
                found = &state;
            }
        });
    }
    return found;
}

// Describes the entries of a state that no live task has registered, so cannot decode.
std::string undecodedValue(
    const std::vector<std::pair<std::string_view, std::string_view>>& parts) {
    size_t bytes = 0;
    for (const auto& [user_key, value] : parts) {
        bytes += user_key.size() + value.size();
    }
    return "(not decoded: " + std::to_string(parts.size()) + " entries, " + std::to_string(bytes) +
           " bytes)";
}

std::string displayKey(const StreamTask* task, int node, std::string_view key) {
    for (int i = 0; task && i < task->operatorCount(); ++i) {
        const KeyedStateBackend* backend = task->keyedStateBackend(i);
        if (backend && task->operatorNode(i) == node && backend->key_formatter) {
            return backend->key_formatter(key);
        }
    }
    return std::string(key);
}

// Collects the raw entries of one handle and turns each key's entries (one,
// or one per user key for map states) into a row.
class HandleDecoder {
public:
    HandleDecoder(const Engine& engine, const checkpoint::KeyedStateHandle& handle, int vertex,
                  int64_t checkpoint_id, std::vector<protocol::StateRow>* rows)
        : handle_(handle),
          task_(engine.task(vertex, handle.subtask())),
          update_times_(engine.snapshotUpdateTimes(checkpoint_id, vertex, handle.subtask())),
          rows_(rows) {
        const JobVertex& job_vertex = engine.jobGraph().vertex(vertex);
        owned_ = keyGroupRangeForSubtask(job_vertex.max_parallelism, job_vertex.parallelism,
                                         handle.subtask());
    }

    void add(const std::string& state, int key_group, std::string_view key,
             std::string_view user_key, std::string_view value) {
        if (state != state_ || key_group != key_group_ || key != key_) {
            flush();
            state_ = state;
            key_group_ = key_group;
            key_ = std::string(key);
        }
        parts_.emplace_back(std::string(user_key), std::string(value));
    }

    void flush() {
        if (parts_.empty()) {
            return;
        }
        std::vector<std::pair<std::string_view, std::string_view>> views;
        for (const auto& [user_key, value] : parts_) {
            views.emplace_back(user_key, value);
        }
        const InternalKvState* live = liveState(task_, handle_.operator_(), state_);
        protocol::StateRow row;
        row.set_key(displayKey(task_, handle_.operator_(), key_));
        row.set_key_group(key_group_);
        row.set_state_name(state_);
        row.set_value(live ? live->displayRaw(views) : undecodedValue(views));
        row.set_subtask(handle_.subtask());
        row.set_outside_owner(!owned_.contains(key_group_));
        if (update_times_) {
            std::optional<Nanos> updated = update_times_->find(state_, key_group_, key_);
            row.set_last_update_ns(updated.value_or(0));
            row.set_changed_since_checkpoint(updated &&
                                             (update_times_->previous_snapshot_ns < 0 ||
                                              *updated > update_times_->previous_snapshot_ns));
        }
        rows_->push_back(std::move(row));
        parts_.clear();
    }

private:
    const checkpoint::KeyedStateHandle& handle_;
    const StreamTask* task_;
    const SnapshotUpdateTimes* update_times_;
    std::vector<protocol::StateRow>* rows_;
    KeyGroupRange owned_;
    std::string state_;
    int key_group_ = -1;
    std::string key_;
    std::vector<std::pair<std::string, std::string>> parts_;
};

// A new folder per read: engines on several threads of one process (sweeps)
// may read checkpoints with the same id at once.
fs::path scratchDir(int64_t checkpoint_id) {
    static std::atomic<uint64_t> reads{0};
    return fs::temp_directory_path() /
           ("sluice-state-inspector-" + std::to_string(::getpid()) + "-" +
            std::to_string(reads.fetch_add(1)) + "-chk-" + std::to_string(checkpoint_id));
}

}  // namespace

std::variant<std::vector<protocol::StateRow>, std::string> readCheckpointState(
    const Engine& engine, int64_t checkpoint_id, int vertex) {
    auto [metadata, storage] = engine.retainedCheckpoint(checkpoint_id);
    if (!metadata) {
        return "checkpoint " + std::to_string(checkpoint_id) +
               " is not a retained completed checkpoint of this run";
    }
    std::vector<protocol::StateRow> rows;
    fs::path scratch = scratchDir(checkpoint_id);
    try {
        for (const auto& subtask_state : metadata->subtask_states()) {
            if (subtask_state.vertex() != vertex) {
                continue;
            }
            for (const auto& handle : subtask_state.keyed_state()) {
                HandleDecoder decoder(engine, handle, vertex, checkpoint_id, &rows);
                // NOTE: readHandleEntries narrows this to the handle's own key-group
                // range, so a key stored outside that range is not shown at all; only
                // a handle range that differs from the subtask's range gets flagged.
                KeyGroupRange all{0, handle.max_parallelism() - 1};
                state_format::readHandleEntries(
                    handle, *storage, all, scratch,
                    [&](const std::string& state, const std::string&, int key_group,
                        std::string_view key, std::string_view user_key, std::string_view value) {
                        decoder.add(state, key_group, key, user_key, value);
                    });
                decoder.flush();
            }
        }
    } catch (const std::exception& e) {
        std::error_code ec;
        fs::remove_all(scratch, ec);
        return "cannot read keyed state of checkpoint " + std::to_string(checkpoint_id) + ": " +
               e.what();
    }
    std::error_code ec;
    fs::remove_all(scratch, ec);
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        return std::forward_as_tuple(a.state_name(), a.key_group(), a.key(), a.subtask()) <
               std::forward_as_tuple(b.state_name(), b.key_group(), b.key(), b.subtask());
    });
    return rows;
}

std::variant<CheckpointStateCache::Entry*, std::string> CheckpointStateCache::entry(
    const Engine& engine, int64_t checkpoint_id, int vertex) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->storage_root == engine.checkpointDir() && it->checkpoint_id == checkpoint_id &&
            it->vertex == vertex) {
            entries_.splice(entries_.end(), entries_, it);
            return &entries_.back();
        }
    }
    auto read = readCheckpointState(engine, checkpoint_id, vertex);
    if (auto* error = std::get_if<std::string>(&read)) {
        return *error;
    }
    if (entries_.size() >= 2) {
        entries_.pop_front();
    }
    entries_.push_back(Entry{engine.checkpointDir(),
                             checkpoint_id,
                             vertex,
                             std::move(std::get<std::vector<protocol::StateRow>>(read)),
                             {}});
    return &entries_.back();
}

}  // namespace sluice::sim
