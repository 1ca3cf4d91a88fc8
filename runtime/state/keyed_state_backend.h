#pragma once

#include "proto/checkpoint.pb.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_state.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class CheckpointStorage;
class HeapKeyedStateBackend;
class RocksDbKeyedStateBackend;
class SharedStateRegistry;

// Restoring keyed state failed: a file is missing or unreadable, or the
// snapshot does not fit this operator. The message names the file or the mismatch.
class StateRestoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One serialized entry of a state as snapshots store it: the serialized key,
// the serialized user key (map states only, empty otherwise) and the value
// serialized with the state's serializer (lists: varint count, then the
// elements).
using RawEntryVisitor = std::function<void(int key_group, std::string_view key,
                                           std::string_view user_key, std::string_view value)>;

// Type-erased part of a registered state, used for introspection and
// snapshots.
class InternalKvState {
public:
    virtual ~InternalKvState() = default;
    virtual const std::string& name() const = 0;
    // "value", "list", "map" or "reducing"; recorded in snapshots so that a
    // restore can decode the entries before the state is registered again.
    virtual const char* kind() const = 0;
    // Calls `visit` for every entry, in key group order and, inside a key
    // group, in serialized-key order, so the output is deterministic.
    virtual void forEachEntry(const std::function<void(const StateEntryView&)>& visit) const = 0;
    virtual size_t entryCount() const = 0;
    // Calls `visit` with the key group, serialized key and last update time
    // of each entry whose update time is known, in no particular order: every
    // entry of a heap state, the cached entries of a RocksDB state. For
    // display only; snapshots store no update times.
    using UpdateTimeVisitor = std::function<void(int key_group, std::string_view key, Nanos)>;
    virtual void forEachUpdateTime(const UpdateTimeVisitor& visit) const { (void)visit; }
    // Visits the serialized entries in a deterministic order. Used by
    // backends that snapshot state object by object (the heap backend).
    virtual void snapshotEntries(const RawEntryVisitor& visit) const;
    // Adds one entry produced by snapshotEntries (of this or another
    // backend) of a key group inside the backend's range.
    virtual void restoreEntry(int key_group, std::string_view key, std::string_view user_key,
                              std::string_view value);
    // Display form of one key's serialized entries as snapshots store them:
    // (user key, value) pairs, one pair with an empty user key for states
    // other than map states. Does not change the state. The default shows
    // the entry count and size, for states that cannot decode entries.
    virtual std::string displayRaw(
        const std::vector<std::pair<std::string_view, std::string_view>>& parts) const;
};

// Creates the backend-specific implementation of one kind of state.
class StateDescriptorBase {
public:
    explicit StateDescriptorBase(std::string name) : name_(std::move(name)) {}
    virtual ~StateDescriptorBase() = default;
    const std::string& name() const { return name_; }
    virtual std::unique_ptr<InternalKvState> createHeap(HeapKeyedStateBackend& backend) const = 0;
    virtual std::unique_ptr<InternalKvState> createRocksDb(
        RocksDbKeyedStateBackend& backend) const = 0;

private:
    std::string name_;
};

// Keyed state of one operator in one subtask, partitioned by key group.
// The owning task sets the current key before each record; state handles
// then read and write that key's values.
//
// Ownership: the backend owns every state it created; handles stay valid
// until the backend is destroyed. Thread safety: none (one task thread).
class KeyedStateBackend {
public:
    KeyedStateBackend(KeyGroupRange range, int max_parallelism, const Nanos* clock)
        : range_(range), max_parallelism_(max_parallelism), clock_(clock) {}
    virtual ~KeyedStateBackend() = default;

    // Sets the key that state handles access. `serialized_key` is copied;
    // `key_hash` is murmur3_32 of it, which the key group was derived from.
    void setCurrentKey(std::string_view serialized_key, int key_group, uint32_t key_hash) {
        current_key_.assign(serialized_key);
        current_key_group_ = key_group;
        current_key_hash_ = key_hash;
        ++key_version_;
    }
    void setCurrentKey(std::string_view serialized_key, int key_group) {
        setCurrentKey(serialized_key, key_group, murmur3_32(serialized_key));
    }
    const std::string& currentKey() const { return current_key_; }
    int currentKeyGroup() const { return current_key_group_; }
    uint32_t currentKeyHash() const { return current_key_hash_; }
    // Index of the current key group inside this backend's range.
    int currentKeyGroupIndex() const { return current_key_group_ - range_.first; }
    // Changes whenever the current key changes; lets handles cache a lookup.
    uint64_t keyVersion() const { return key_version_; }

    KeyGroupRange keyGroupRange() const { return range_; }
    int maxParallelism() const { return max_parallelism_; }
    Nanos now() const { return clock_ ? *clock_ : 0; }

    // Returns the state registered under descriptor.name(), creating it on
    // first use. The caller knows the state's type from the descriptor.
    InternalKvState& getOrCreate(const StateDescriptorBase& descriptor);

    void forEachState(const std::function<void(const InternalKvState&)>& visit) const {
        for (const auto& [name, state] : states_) {
            visit(*state);
        }
    }

    // How a key's bytes are shown in the inspector; set by the operator.
    std::function<std::string(std::string_view)> key_formatter;

    // "heap" or "rocksdb", as recorded in KeyedStateHandle::backend.
    virtual const char* backendName() const = 0;

    // Writes a snapshot of every state into `storage` synchronously and
    // returns its handle. `owner` names the subtask's files (for example
    // "op3-sub1") and must be unique among the snapshots of one checkpoint.
    // Savepoints are self-contained and never use `registry`; incremental
    // snapshots register their shared files in `registry` when given.
    // The handle's operator and subtask fields are left for the caller.
    // Its logical sizes depend only on the state's contents and history,
    // never on file layouts, so simulated durations derived from them are
    // deterministic.
    virtual checkpoint::KeyedStateHandle snapshot(int64_t checkpoint_id, CheckpointStorage& storage,
                                                  SharedStateRegistry* registry, bool incremental,
                                                  bool savepoint, const std::string& owner) = 0;

    // Restores the key groups of this backend's range from `handles`, which
    // may come from another parallelism (or the other backend kind). Call
    // before any state is used. Throws StateRestoreError when a needed file
    // is missing or the max parallelism differs.
    virtual void restore(const std::vector<checkpoint::KeyedStateHandle>& handles,
                         const CheckpointStorage& storage) = 0;

    // The checkpoint coordinator confirmed `checkpoint_id`.
    virtual void notifyCheckpointComplete(int64_t checkpoint_id) { (void)checkpoint_id; }

protected:
    virtual std::unique_ptr<InternalKvState> create(const StateDescriptorBase& descriptor) = 0;
    // The registered state called `name`, or nullptr.
    InternalKvState* findState(const std::string& name) const {
        auto it = states_.find(name);
        return it == states_.end() ? nullptr : it->second.get();
    }

private:
    KeyGroupRange range_;
    int max_parallelism_;
    const Nanos* clock_;
    std::string current_key_;
    int current_key_group_ = 0;
    uint32_t current_key_hash_ = 0;
    uint64_t key_version_ = 0;
    std::map<std::string, std::unique_ptr<InternalKvState>> states_;
};

}  // namespace sluice
