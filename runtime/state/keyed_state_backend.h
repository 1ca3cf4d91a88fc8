#pragma once

#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_state.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace sluice {

class HeapKeyedStateBackend;

// Type-erased part of a registered state, used for introspection and (later)
// snapshots.
class InternalKvState {
public:
    virtual ~InternalKvState() = default;
    virtual const std::string& name() const = 0;
    // Calls `visit` for every entry, in key group order and, inside a key
    // group, in serialized-key order, so the output is deterministic.
    virtual void forEachEntry(const std::function<void(const StateEntryView&)>& visit) const = 0;
    virtual size_t entryCount() const = 0;
};

// Creates the backend-specific implementation of one kind of state.
class StateDescriptorBase {
public:
    explicit StateDescriptorBase(std::string name) : name_(std::move(name)) {}
    virtual ~StateDescriptorBase() = default;
    const std::string& name() const { return name_; }
    virtual std::unique_ptr<InternalKvState> createHeap(HeapKeyedStateBackend& backend) const = 0;

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

    // Sets the key that state handles access. `serialized_key` is copied.
    void setCurrentKey(std::string_view serialized_key, int key_group) {
        current_key_.assign(serialized_key);
        current_key_group_ = key_group;
        ++key_version_;
    }
    const std::string& currentKey() const { return current_key_; }
    int currentKeyGroup() const { return current_key_group_; }
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

protected:
    virtual std::unique_ptr<InternalKvState> create(const StateDescriptorBase& descriptor) = 0;

private:
    KeyGroupRange range_;
    int max_parallelism_;
    const Nanos* clock_;
    std::string current_key_;
    int current_key_group_ = 0;
    uint64_t key_version_ = 0;
    std::map<std::string, std::unique_ptr<InternalKvState>> states_;
};

}  // namespace sluice
