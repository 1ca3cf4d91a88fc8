#pragma once

#include "runtime/serialization/type_serializer.h"
#include "runtime/state/keyed_state_backend.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <vector>

namespace sluice {

// Keyed state in memory: one hash map per key group, from serialized key to
// value. Snapshots are full copies.
class HeapKeyedStateBackend final : public KeyedStateBackend {
public:
    using KeyedStateBackend::KeyedStateBackend;

protected:
    std::unique_ptr<InternalKvState> create(const StateDescriptorBase& descriptor) override {
        return descriptor.createHeap(*this);
    }
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
        auto& group = groups_[size_t(backend_.currentKeyGroupIndex())];
        auto it = group.find(backend_.currentKey());
        cached_ = it == group.end() ? nullptr : &it->second;
        cached_version_ = backend_.keyVersion();
        cached_valid_ = true;
        return cached_;
    }

    Entry& findOrInsert() {
        Entry* entry = find();
        if (!entry) {
            auto& group = groups_[size_t(backend_.currentKeyGroupIndex())];
            entry = &group[backend_.currentKey()];
            cached_ = entry;
        }
        entry->last_update_ns = backend_.now();
        return *entry;
    }

    void erase() {
        groups_[size_t(backend_.currentKeyGroupIndex())].erase(backend_.currentKey());
        cached_valid_ = false;
    }

    // Entries of every key group in ascending (key group, serialized key)
    // order.
    template <class Fn>
    void forEachSorted(Fn&& fn) const {
        int first = backend_.keyGroupRange().first;
        for (size_t g = 0; g < groups_.size(); ++g) {
            std::vector<const typename Map::value_type*> sorted;
            sorted.reserve(groups_[g].size());
            for (const auto& item : groups_[g]) {
                sorted.push_back(&item);
            }
            std::sort(sorted.begin(), sorted.end(),
                      [](auto* a, auto* b) { return a->first < b->first; });
            for (const auto* item : sorted) {
                fn(first + int(g), item->first, item->second);
            }
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
    using Map = std::unordered_map<std::string, Entry>;
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

protected:
    virtual std::string display(const S& value) const = 0;

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

protected:
    std::string display(const V& value) const override { return serializer_->toDisplayString(value); }

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

protected:
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

protected:
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

protected:
    std::string display(const V& value) const override { return serializer_->toDisplayString(value); }

private:
    std::shared_ptr<const TypeSerializer<V>> serializer_;
    ReduceFunction reduce_;
};

}  // namespace sluice
