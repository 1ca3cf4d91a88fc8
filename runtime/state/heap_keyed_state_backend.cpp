#include "runtime/state/heap_keyed_state_backend.h"

#include "runtime/checkpoint/checkpoint_storage.h"

#include <unistd.h>

#include <atomic>
#include <fstream>

namespace sluice {

namespace fs = std::filesystem;

checkpoint::KeyedStateHandle HeapKeyedStateBackend::snapshot(int64_t checkpoint_id,
                                                             CheckpointStorage& storage,
                                                             SharedStateRegistry* /*registry*/,
                                                             bool /*incremental*/, bool savepoint,
                                                             const std::string& owner) {
    std::vector<const InternalKvState*> states;
    forEachState([&](const InternalKvState& state) { states.push_back(&state); });
    state_format::HeapSnapshotStats stats;
    std::string bytes = state_format::encodeHeapSnapshot(states, stats);

    std::string dir_name = savepoint ? CheckpointStorage::savepointDirName(checkpoint_id)
                                     : CheckpointStorage::checkpointDirName(checkpoint_id);
    fs::path dir =
        (savepoint ? storage.savepointDir(checkpoint_id) : storage.checkpointDir(checkpoint_id)) /
        owner;
    std::string relative = dir_name + "/" + owner + "/keyed-state.heap";
    std::error_code ec;
    fs::create_directories(dir, ec);
    {
        std::ofstream out(dir / "keyed-state.heap", std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), std::streamsize(bytes.size()));
        out.close();
        if (ec || !out) {
            throw CheckpointStorageError("cannot write heap state snapshot " +
                                         (dir / "keyed-state.heap").string());
        }
    }

    checkpoint::KeyedStateHandle handle;
    handle.set_checkpoint_id(checkpoint_id);
    handle.set_key_group_first(keyGroupRange().first);
    handle.set_key_group_last(keyGroupRange().last);
    handle.set_max_parallelism(maxParallelism());
    handle.set_backend(backendName());
    handle.set_incremental(false);
    for (const InternalKvState* state : states) {
        auto* info = handle.add_states();
        info->set_name(state->name());
        info->set_kind(state->kind());
    }
    auto* file = handle.add_files();
    file->set_path(relative);
    file->set_size_bytes(bytes.size());
    file->set_shared(false);
    handle.set_full_size_bytes(stats.logical_bytes);
    handle.set_incremental_size_bytes(stats.logical_bytes);
    handle.set_entry_count(stats.entries);
    return handle;
}

void HeapKeyedStateBackend::restore(const std::vector<checkpoint::KeyedStateHandle>& handles,
                                    const CheckpointStorage& storage) {
    for (const auto& handle : handles) {
        state_format::verifyHandle(handle, storage, maxParallelism());
    }
    static std::atomic<uint64_t> restore_counter{0};
    fs::path scratch =
        fs::temp_directory_path() / ("sluice-heap-restore-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(restore_counter.fetch_add(1)));
    for (const auto& handle : handles) {
        state_format::readHandleEntries(
            handle, storage, keyGroupRange(), scratch,
            [&](const std::string& state_name, const std::string&, int key_group,
                std::string_view key, std::string_view user_key, std::string_view value) {
                if (InternalKvState* state = findState(state_name)) {
                    state->restoreEntry(key_group, key, user_key, value);
                } else {
                    pending_[state_name].push_back(PendingEntry{
                        key_group, std::string(key), std::string(user_key), std::string(value)});
                }
            });
    }
}

std::unique_ptr<InternalKvState> HeapKeyedStateBackend::create(
    const StateDescriptorBase& descriptor) {
    std::unique_ptr<InternalKvState> state = descriptor.createHeap(*this);
    auto it = pending_.find(descriptor.name());
    if (it != pending_.end()) {
        for (const PendingEntry& entry : it->second) {
            state->restoreEntry(entry.key_group, entry.key, entry.user_key, entry.value);
        }
        pending_.erase(it);
    }
    return state;
}

}  // namespace sluice
