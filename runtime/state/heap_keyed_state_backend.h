#pragma once

#include "runtime/serialization/type_serializer.h"
#include "runtime/state/flat_key_map.h"
#include "runtime/state/keyed_state_backend.h"
#include "runtime/state/state_snapshot_format.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <vector>

namespace sluice {

// Keyed state in memory: one hash map per key group, from serialized key to
// value. Snapshots are full copies: one file per snapshot and subtask,
// <chk-<id> or savepoint-<id>>/<owner>/keyed-state.heap, exclusive to that
// checkpoint (see state_format::encodeHeapSnapshot for the layout).
class HeapKeyedStateBackend final : public KeyedStateBackend {
public:
    using KeyedStateBackend::KeyedStateBackend;

    const char* backendName() const override { return "heap"; }
    checkpoint::KeyedStateHandle snapshot(int64_t checkpoint_id, CheckpointStorage& storage,
                                          SharedStateRegistry* registry, bool incremental,
                                          bool savepoint, const std::string& owner) override;
    void restore(const std::vector<checkpoint::KeyedStateHandle>& handles,
                 const CheckpointStorage& storage) override;

protected:
    std::unique_ptr<InternalKvState> create(const StateDescriptorBase& descriptor) override;

private:
    // Restored entries of states not registered yet; a state takes its
    // entries when it is created.
    // NOTE: snapshot() writes registered states only, so a snapshot taken
    // before a restored state is registered again drops that state.
    struct PendingEntry {
        int key_group;
        std::string key;
        std::string user_key;
        std::string value;
    };
    std::map<std::string, std::vector<PendingEntry>> pending_;
};

// Storage of one heap state: a value of type S per key, per key group. The
// entry of the current key is cached until the backend's key changes.
template <class S>
class HeapStateTable {
public:
    struct Entry {
        S value{};
        Nanos last_update_ns = 0;
    };

    explicit HeapStateTable(KeyedStateBackend& backend)
        : backend_(backend), groups_(size_t(backend.keyGroupRange().size())) {}

    Entry* find() {
        if (cached_version_ == backend_.keyVersion() && cached_valid_) {
            return cached_;
        }
        cached_ = groups_[size_t(backend_.currentKeyGroupIndex())].find(backend_.currentKey(),
                                                                        backend_.currentKeyHash());
        cached_version_ = backend_.keyVersion();
        cached_valid_ = true;
        return cached_;
    }

    Entry& findOrInsert() {
        Entry* entry = find();
        if (!entry) {
            entry = &groups_[size_t(backend_.currentKeyGroupIndex())].findOrInsert(
                backend_.currentKey(), backend_.currentKeyHash());
            cached_ = entry;
        }
        entry->last_update_ns = backend_.now();
        return *entry;
    }

    // The entry of `key` in `key_group` (inside the range), inserted if
    // absent; for restoring snapshots.
    Entry& insertRaw(int key_group, std::string_view key) {
        cached_valid_ = false;
        return groups_[size_t(key_group - backend_.keyGroupRange().first)].findOrInsert(
            key, murmur3_32(key));
    }

    void erase() {
        groups_[size_t(backend_.currentKeyGroupIndex())].erase(backend_.currentKey(),
                                                               backend_.currentKeyHash());
        cached_valid_ = false;
    }

    // Entries of every key group in ascending (key group, serialized key)
    // order.
    template <class Fn>
    void forEachSorted(Fn&& fn) const {
        int first = backend_.keyGroupRange().first;
        for (size_t g = 0; g < groups_.size(); ++g) {
            std::vector<std::pair<const std::string*, const Entry*>> sorted;
            sorted.reserve(groups_[g].size());
            groups_[g].forEach([&](const std::string& key, const Entry& entry) {
                sorted.emplace_back(&key, &entry);
            });
            std::sort(sorted.begin(), sorted.end(),
                      [](const auto& a, const auto& b) { return *a.first < *b.first; });
            for (const auto& [key, entry] : sorted) {
                fn(first + int(g), *key, *entry);
            }
        }
    }

    // Every entry, in no particular order.
    template <class Fn>
    void forEachUnsorted(Fn&& fn) const {
        int first = backend_.keyGroupRange().first;
        for (size_t g = 0; g < groups_.size(); ++g) {
            groups_[g].forEach([&](const std::string& key, const Entry& entry) {
                fn(first + int(g), key, entry);
            });
        }
    }

    size_t size() const {
        size_t total = 0;
        for (const auto& group : groups_) {
            total += group.size();
        }
        return total;
    }

    KeyedStateBackend& backend() { return backend_; }
    const KeyedStateBackend& backend() const { return backend_; }

private:
    using Map = FlatKeyMap<Entry>;
    KeyedStateBackend& backend_;
    std::vector<Map> groups_;
    Entry* cached_ = nullptr;
    uint64_t cached_version_ = 0;
    bool cached_valid_ = false;
};

// Shared introspection code of the heap states.
template <class S>
class HeapKvStateBase : public InternalKvState {
public:
    HeapKvStateBase(KeyedStateBackend& backend, std::string name)
        : table_(backend), name_(std::move(name)) {}

    const std::string& name() const override { return name_; }
    size_t entryCount() const override { return table_.size(); }

    void forEachEntry(const std::function<void(const StateEntryView&)>& visit) const override {
        StateEntryView view;
        view.state_name = name_;
        const auto& formatter = table_.backend().key_formatter;
        table_.forEachSorted([&](int key_group, const std::string& key, const auto& entry) {
            view.key_group = key_group;
            view.key = formatter ? formatter(key) : key;
            view.value = display(entry.value);
            view.last_update_ns = entry.last_update_ns;
            visit(view);
        });
    }

    void forEachUpdateTime(const UpdateTimeVisitor& visit) const override {
        table_.forEachUnsorted([&](int key_group, const std::string& key, const auto& entry) {
            visit(key_group, key, entry.last_update_ns);
        });
    }

    void snapshotEntries(const RawEntryVisitor& visit) const override {
        std::string value;
        table_.forEachSorted([&](int key_group, const std::string& key, const auto& entry) {
            serializeEntry(key_group, key, entry.value, value, visit);
        });
    }

    void restoreEntry(int key_group, std::string_view key, std::string_view user_key,
                      std::string_view value) override {
        auto& entry = table_.insertRaw(key_group, key);
        if (!deserializeInto(entry.value, user_key, value)) {
            throw StateRestoreError("state '" + name_ +
                                    "' cannot decode a restored entry of key group " +
                                    std::to_string(key_group));
        }
    }

    std::string displayRaw(
        const std::vector<std::pair<std::string_view, std::string_view>>& parts) const override {
        S value{};
        for (const auto& [user_key, bytes] : parts) {
            if (!deserializeInto(value, user_key, bytes)) {
                return "(malformed entry)";
            }
        }
        return display(value);
    }

protected:
    virtual std::string display(const S& value) const = 0;
    // Emits the raw entries of one key (several for map states).
    virtual void serializeEntry(int key_group, const std::string& key, const S& value,
                                std::string& scratch, const RawEntryVisitor& visit) const = 0;
    // Merges one raw entry into `value`; false on malformed bytes.
    virtual bool deserializeInto(S& value, std::string_view user_key,
                                 std::string_view bytes) const = 0;

    HeapStateTable<S> table_;

private:
    std::string name_;
};

template <class V>
class HeapValueState final : public HeapKvStateBase<V>, public ValueState<V> {
public:
    HeapValueState(KeyedStateBackend& backend, std::string name,
                   std::shared_ptr<const TypeSerializer<V>> serializer)
        : HeapKvStateBase<V>(backend, std::move(name)), serializer_(std::move(serializer)) {}

    std::optional<V> value() override {
        auto* entry = this->table_.find();
        return entry ? std::optional<V>(entry->value) : std::nullopt;
    }
    void update(const V& value) override { this->table_.findOrInsert().value = value; }
    void clear() override { this->table_.erase(); }

    // Direct access for built-in operators on the hot path: the value of
    // the current key, inserted as V{} if absent.
    V& valueRef() { return this->table_.findOrInsert().value; }

    const char* kind() const override { return "value"; }

protected:
    std::string display(const V& value) const override {
        return serializer_->toDisplayString(value);
    }
    void serializeEntry(int key_group, const std::string& key, const V& value, std::string& scratch,
                        const RawEntryVisitor& visit) const override {
        scratch.clear();
        state_format::appendSerialized(*serializer_, value, scratch);
        visit(key_group, key, {}, scratch);
    }
    bool deserializeInto(V& value, std::string_view, std::string_view bytes) const override {
        ByteReader in(bytes);
        return state_format::readSerialized(*serializer_, in, value);
    }

private:
    std::shared_ptr<const TypeSerializer<V>> serializer_;
};

template <class V>
class HeapListState final : public HeapKvStateBase<std::vector<V>>, public ListState<V> {
public:
    HeapListState(KeyedStateBackend& backend, std::string name,
                  std::shared_ptr<const TypeSerializer<V>> serializer)
        : HeapKvStateBase<std::vector<V>>(backend, std::move(name)),
          serializer_(std::move(serializer)) {}

    std::vector<V> get() override {
        auto* entry = this->table_.find();
        return entry ? entry->value : std::vector<V>{};
    }
    void add(const V& value) override { this->table_.findOrInsert().value.push_back(value); }
    void update(std::vector<V> values) override {
        if (values.empty()) {
            clear();
            return;
        }
        this->table_.findOrInsert().value = std::move(values);
    }
    void clear() override { this->table_.erase(); }

    const char* kind() const override { return "list"; }

protected:
    void serializeEntry(int key_group, const std::string& key, const std::vector<V>& values,
                        std::string& scratch, const RawEntryVisitor& visit) const override {
        scratch.clear();
        state_format::appendList(*serializer_, values, scratch);
        visit(key_group, key, {}, scratch);
    }
    bool deserializeInto(std::vector<V>& values, std::string_view,
                         std::string_view bytes) const override {
        return state_format::readList(*serializer_, bytes, values);
    }
    std::string display(const std::vector<V>& values) const override {
        std::string out = "[";
        for (size_t i = 0; i < values.size(); ++i) {
            out += (i ? ", " : "") + serializer_->toDisplayString(values[i]);
        }
        return out + "]";
    }

private:
    std::shared_ptr<const TypeSerializer<V>> serializer_;
};

template <class UK, class UV>
class HeapMapState final : public HeapKvStateBase<std::map<UK, UV>>, public MapState<UK, UV> {
public:
    HeapMapState(KeyedStateBackend& backend, std::string name,
                 std::shared_ptr<const TypeSerializer<UK>> key_serializer,
                 std::shared_ptr<const TypeSerializer<UV>> value_serializer)
        : HeapKvStateBase<std::map<UK, UV>>(backend, std::move(name)),
          key_serializer_(std::move(key_serializer)),
          value_serializer_(std::move(value_serializer)) {}

    std::optional<UV> get(const UK& key) override {
        auto* entry = this->table_.find();
        if (!entry) {
            return std::nullopt;
        }
        auto it = entry->value.find(key);
        return it == entry->value.end() ? std::nullopt : std::optional<UV>(it->second);
    }
    void put(const UK& key, const UV& value) override {
        this->table_.findOrInsert().value[key] = value;
    }
    void remove(const UK& key) override {
        auto* entry = this->table_.find();
        if (!entry) {
            return;
        }
        entry->value.erase(key);
        if (entry->value.empty()) {
            this->table_.erase();
        }
    }
    bool contains(const UK& key) override {
        auto* entry = this->table_.find();
        return entry && entry->value.count(key);
    }
    std::vector<std::pair<UK, UV>> entries() override {
        auto* entry = this->table_.find();
        if (!entry) {
            return {};
        }
        return {entry->value.begin(), entry->value.end()};
    }
    bool isEmpty() override { return this->table_.find() == nullptr; }
    void clear() override { this->table_.erase(); }

    const char* kind() const override { return "map"; }

protected:
    void serializeEntry(int key_group, const std::string& key, const std::map<UK, UV>& map,
                        std::string& scratch, const RawEntryVisitor& visit) const override {
        std::string user_key;
        for (const auto& [uk, uv] : map) {
            user_key.clear();
            state_format::appendSerialized(*key_serializer_, uk, user_key);
            scratch.clear();
            state_format::appendSerialized(*value_serializer_, uv, scratch);
            visit(key_group, key, user_key, scratch);
        }
    }
    bool deserializeInto(std::map<UK, UV>& map, std::string_view user_key,
                         std::string_view bytes) const override {
        UK uk{};
        UV uv{};
        ByteReader key_in(user_key);
        ByteReader value_in(bytes);
        if (!state_format::readSerialized(*key_serializer_, key_in, uk) ||
            !state_format::readSerialized(*value_serializer_, value_in, uv)) {
            return false;
        }
        map[std::move(uk)] = std::move(uv);
        return true;
    }

    std::string display(const std::map<UK, UV>& map) const override {
        std::string out = "{";
        bool first = true;
        for (const auto& [key, value] : map) {
            out += (first ? "" : ", ") + key_serializer_->toDisplayString(key) + ": " +
                   value_serializer_->toDisplayString(value);
            first = false;
        }
        return out + "}";
    }

private:
    std::shared_ptr<const TypeSerializer<UK>> key_serializer_;
    std::shared_ptr<const TypeSerializer<UV>> value_serializer_;
};

template <class V>
class HeapReducingState final : public HeapKvStateBase<V>, public ReducingState<V> {
public:
    using ReduceFunction = std::function<V(const V&, const V&)>;

    HeapReducingState(KeyedStateBackend& backend, std::string name,
                      std::shared_ptr<const TypeSerializer<V>> serializer, ReduceFunction reduce)
        : HeapKvStateBase<V>(backend, std::move(name)),
          serializer_(std::move(serializer)),
          reduce_(std::move(reduce)) {}

    std::optional<V> get() override {
        auto* entry = this->table_.find();
        return entry ? std::optional<V>(entry->value) : std::nullopt;
    }
    void add(const V& value) override {
        auto* existing = this->table_.find();
        if (!existing) {
            this->table_.findOrInsert().value = value;
            return;
        }
        auto& entry = this->table_.findOrInsert();
        entry.value = reduce_(entry.value, value);
    }
    void clear() override { this->table_.erase(); }

    const char* kind() const override { return "reducing"; }

protected:
    std::string display(const V& value) const override {
        return serializer_->toDisplayString(value);
    }
    void serializeEntry(int key_group, const std::string& key, const V& value, std::string& scratch,
                        const RawEntryVisitor& visit) const override {
        scratch.clear();
        state_format::appendSerialized(*serializer_, value, scratch);
        visit(key_group, key, {}, scratch);
    }
    bool deserializeInto(V& value, std::string_view, std::string_view bytes) const override {
        ByteReader in(bytes);
        return state_format::readSerialized(*serializer_, in, value);
    }

private:
    std::shared_ptr<const TypeSerializer<V>> serializer_;
    ReduceFunction reduce_;
};

}  // namespace sluice
