#pragma once

#include "runtime/serialization/type_serializer.h"
#include "runtime/state/flat_key_map.h"
#include "runtime/state/keyed_state_backend.h"
#include "runtime/state/state_snapshot_format.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Status;
class WriteBatch;
}  // namespace rocksdb

namespace sluice {

class RocksDbKvStateBase;

// Keyed state in an embedded RocksDB instance: one instance per keyed
// operator subtask, one column family per state. Keys are the 2-byte
// big-endian key group followed by the serialized key (see
// state_format::appendDbKey for map states); values use the state's
// serializer.
//
// Each state keeps a bounded write-back cache of deserialized values in
// front of RocksDB: reads hit the cache first, dirty entries go to RocksDB
// in WriteBatches when the cache evicts and before every snapshot. The
// write-ahead log is off: snapshots flush explicitly and restores rebuild
// from snapshots, so it would only cost time.
//
// Determinism: automatic compactions are disabled and memtables are flushed
// only explicitly before a snapshot (or in the background when full, which
// changes file layouts but nothing observable). Every compact_every_snapshots
// checkpoints, the snapshot compacts all column families synchronously.
// Logical sizes come from the state contents and the keys changed since the
// previous checkpoint, never from file sizes.
//
// Snapshots go through rocksdb::Checkpoint into a temporary directory. Full
// snapshots copy every file into <chk-<id> or savepoint-<id>>/<owner>/.
// Incremental checkpoints upload each SST file once into
// shared/<owner>-c<first checkpoint>-<file>.sst, register it in the
// SharedStateRegistry for every checkpoint that uses it, and copy the
// MANIFEST, CURRENT and OPTIONS files into chk-<id>/<owner>/.
class RocksDbKeyedStateBackend final : public KeyedStateBackend {
public:
    struct Options {
        // Working directory of the instance; created, and deleted with the
        // backend.
        std::filesystem::path instance_dir;
        // Capacity of each state's write-back cache, in keys.
        size_t cache_entries = 65536;
        // A checkpoint compacts everything after this many checkpoints
        // since the last compaction; 0 never compacts.
        int compact_every_snapshots = 10;
        // Remember update times of keys evicted from the cache.
        bool keep_update_times = false;
    };

    RocksDbKeyedStateBackend(KeyGroupRange range, int max_parallelism, const Nanos* clock,
                             Options options);
    ~RocksDbKeyedStateBackend() override;

    const char* backendName() const override { return "rocksdb"; }
    checkpoint::KeyedStateHandle snapshot(int64_t checkpoint_id, CheckpointStorage& storage,
                                          SharedStateRegistry* registry, bool incremental,
                                          bool savepoint, const std::string& owner) override;
    void restore(const std::vector<checkpoint::KeyedStateHandle>& handles,
                 const CheckpointStorage& storage) override;

    // Writes every dirty cache entry of every state to RocksDB.
    void writeBackCaches();

    // Access for the states. Column families are identified by index.
    int columnFamily(const std::string& state_name, const std::string& kind);
    bool get(int cf, std::string_view raw_key, std::string& value) const;
    // Visits the entries whose key starts with `prefix` in key order.
    void scan(int cf, std::string_view prefix,
              const std::function<void(std::string_view key, std::string_view value)>& visit) const;
    // Buffer a write in the pending batch; `logical_bytes` is what the entry
    // counts towards the next incremental checkpoint.
    void put(int cf, std::string_view raw_key, std::string_view value, uint64_t logical_bytes);
    void remove(int cf, std::string_view raw_key, uint64_t logical_bytes);
    // Writes the pending batch.
    void commit();
    size_t cacheCapacity() const { return options_.cache_entries; }
    bool keepsUpdateTimes() const { return options_.keep_update_times; }

    // Raw access for tests and tools.
    rocksdb::DB* db() const { return db_; }
    rocksdb::ColumnFamilyHandle* columnFamilyHandle(const std::string& state_name) const;
    std::vector<std::string> columnFamilyNames() const;
    const std::filesystem::path& instanceDir() const { return options_.instance_dir; }

protected:
    std::unique_ptr<InternalKvState> create(const StateDescriptorBase& descriptor) override;

private:
    struct ColumnFamily {
        std::string name;
        std::string kind;  // empty until a state or a restore names it
        rocksdb::ColumnFamilyHandle* handle = nullptr;
    };
    // An SST file uploaded into shared/.
    struct Upload {
        std::string path;  // relative to the storage root
        int64_t group;     // checkpoint that first uploaded it
        uint64_t size_bytes;
    };

    // Throws std::runtime_error naming `what` unless `status` is ok.
    void check(const rocksdb::Status& status, const std::string& what) const;
    void flushAndMaybeCompact(bool compact);

    Options options_;
    rocksdb::DB* db_ = nullptr;
    std::vector<ColumnFamily> column_families_;
    std::unique_ptr<rocksdb::WriteBatch> batch_;
    std::vector<RocksDbKvStateBase*> rocks_states_;
    // Logical bytes of every entry written since the previous checkpoint,
    // by column family index (4 bytes) + RocksDB key.
    std::unordered_map<std::string, uint64_t> changed_;
    std::map<std::string, Upload> uploaded_;   // by SST file name
    std::map<int64_t, uint64_t> group_bytes_;  // logical bytes uploaded per checkpoint
    int checkpoints_since_compaction_ = 0;
};

// Shared part of the RocksDB states.
class RocksDbKvStateBase : public InternalKvState {
public:
    RocksDbKvStateBase(RocksDbKeyedStateBackend& backend, std::string name, const char* kind)
        : backend_(backend),
          name_(std::move(name)),
          kind_(kind),
          cf_(backend.columnFamily(name_, kind)) {}

    const std::string& name() const override { return name_; }
    const char* kind() const override { return kind_; }

    // Buffers the dirty cache entries in the backend's batch.
    virtual void writeBack() = 0;
    // Forgets every cached entry (after a restore wrote RocksDB directly).
    virtual void dropCache() = 0;

protected:
    RocksDbKeyedStateBackend& backend_;
    std::string name_;
    const char* kind_;
    int cf_;
};

// A state whose value of type S per key is cached in memory.
template <class S>
class RocksDbCachedState : public RocksDbKvStateBase {
public:
    using RocksDbKvStateBase::RocksDbKvStateBase;

    void writeBack() override {
        cache_.forEachMutable([&](const std::string& key, Slot& slot) {
            if (slot.dirty) {
                writeSlot(key, slot);
            }
        });
    }

    void dropCache() override {
        cache_ = FlatKeyMap<Slot>();
        cached_ = nullptr;
        evicted_update_times_.clear();
    }

    size_t entryCount() const override {
        size_t count = 0;
        forEachKey(
            [&](int, std::string_view,
                const std::vector<std::pair<std::string_view, std::string_view>>&) { ++count; });
        return count;
    }

    std::string displayRaw(
        const std::vector<std::pair<std::string_view, std::string_view>>& parts) const override {
        return displayStored(parts);
    }

    void forEachEntry(const std::function<void(const StateEntryView&)>& visit) const override {
        StateEntryView view;
        view.state_name = name_;
        const auto& formatter = backend_.key_formatter;
        // RocksDB orders map keys by length first; sort each key group by
        // serialized key like the heap backend does.
        struct Item {
            std::string key;
            std::string value;
            Nanos last_update_ns;
        };
        std::vector<Item> group;
        int current_group = -1;
        auto emit = [&]() {
            std::sort(group.begin(), group.end(),
                      [](const Item& a, const Item& b) { return a.key < b.key; });
            for (Item& item : group) {
                view.key_group = current_group;
                view.key = formatter ? formatter(item.key) : item.key;
                view.value = std::move(item.value);
                view.last_update_ns = item.last_update_ns;
                visit(view);
            }
            group.clear();
        };
        forEachKey([&](int key_group, std::string_view key, const auto& parts) {
            if (key_group != current_group) {
                emit();
                current_group = key_group;
            }
            // RocksDB stores no update times: entries outside the cache show
            // last_update_ns 0 unless the backend keeps them.
            const Slot* slot = cache_.find(key, murmur3_32(key));
            group.push_back(Item{std::string(key), displayStored(parts),
                                 slot ? slot->last_update_ns : evictedUpdateTime(key)});
        });
        emit();
    }

    void forEachUpdateTime(const UpdateTimeVisitor& visit) const override {
        cache_.forEach([&](const std::string& key, const Slot& slot) {
            if (slot.present && slot.last_update_ns > 0) {
                visit(slot.key_group, key, slot.last_update_ns);
            }
        });
        for (const auto& [key, evicted] : evicted_update_times_) {
            visit(evicted.first, key, evicted.second);
        }
    }

protected:
    struct Slot {
        S value{};
        int key_group = 0;
        uint32_t key_hash = 0;
        uint32_t hits = 0;
        Nanos last_update_ns = 0;
        bool present = false;  // the key has a value
        bool in_db = false;    // RocksDB has entries for the key
        bool dirty = false;
    };

    // The cache slot of the backend's current key, loaded from RocksDB on a
    // miss. Valid until the next call for another key.
    Slot& current() {
        if (cached_ && cached_version_ == backend_.keyVersion()) {
            return *cached_;
        }
        const std::string& key = backend_.currentKey();
        uint32_t hash = backend_.currentKeyHash();
        Slot* slot = cache_.find(key, hash);
        if (!slot) {
            if (cache_.size() >= std::max<size_t>(backend_.cacheCapacity(), 2)) {
                evict();
            }
            slot = &cache_.findOrInsert(key, hash);
            slot->key_group = backend_.currentKeyGroup();
            slot->key_hash = hash;
            slot->present = slot->in_db = load(slot->key_group, key, slot->value);
            if (auto evicted = evicted_update_times_.find(key);
                evicted != evicted_update_times_.end()) {
                slot->last_update_ns = evicted->second.second;
                evicted_update_times_.erase(evicted);
            }
        }
        ++slot->hits;
        cached_ = slot;
        cached_version_ = backend_.keyVersion();
        return *slot;
    }

    void touch(Slot& slot) {
        slot.dirty = true;
        slot.last_update_ns = backend_.now();
    }

    bool isMap() const { return state_format::isMapKind(kind_); }
    std::string dbKey(int key_group, std::string_view key) const {
        std::string raw;
        state_format::appendDbKey(raw, key_group, key, isMap());
        return raw;
    }

    // Reads the key's value from RocksDB; false if it has none.
    virtual bool load(int key_group, std::string_view key, S& value) = 0;
    // Buffers the slot's changes in the backend's batch and marks it clean.
    virtual void writeSlot(const std::string& key, Slot& slot) = 0;
    // Display form of a key's stored entries: (user key, value) pairs, a
    // single pair with an empty user key for non-map states.
    virtual std::string displayStored(
        const std::vector<std::pair<std::string_view, std::string_view>>& parts) const = 0;

    // Buffers a value-like slot: one entry per key.
    void writeSingle(const std::string& key, Slot& slot, const std::string& bytes) {
        std::string raw = dbKey(slot.key_group, key);
        if (slot.present) {
            backend_.put(cf_, raw, bytes, state_format::logicalBytes(key, {}, bytes));
        } else if (slot.in_db) {
            backend_.remove(cf_, raw, state_format::logicalBytes(key, {}, {}));
        }
        slot.in_db = slot.present;
        slot.dirty = false;
    }

private:
    // Keeps the most used half of the cache (by hits since the last
    // eviction) and writes the dirty part of the rest.
    void evict() {
        size_t keep = backend_.cacheCapacity() / 2;
        std::vector<uint32_t> hits;
        hits.reserve(cache_.size());
        cache_.forEach([&](const std::string&, const Slot& slot) { hits.push_back(slot.hits); });
        uint32_t threshold = 0;
        if (keep > 0 && keep < hits.size()) {
            std::nth_element(hits.begin(), hits.begin() + ptrdiff_t(keep - 1), hits.end(),
                             std::greater<uint32_t>());
            threshold = hits[keep - 1];
        } else if (keep == 0) {
            threshold = UINT32_MAX;
        }
        FlatKeyMap<Slot> kept;
        size_t kept_count = 0;
        cache_.forEachMutable([&](const std::string& key, Slot& slot) {
            if (slot.hits >= threshold && kept_count < keep) {
                ++kept_count;
                slot.hits /= 2;
                kept.findOrInsert(key, slot.key_hash) = std::move(slot);
            } else {
                if (slot.dirty) {
                    writeSlot(key, slot);
                }
                if (backend_.keepsUpdateTimes() && slot.present && slot.last_update_ns > 0) {
                    evicted_update_times_[key] = {slot.key_group, slot.last_update_ns};
                }
            }
        });
        backend_.commit();
        cache_ = std::move(kept);
        cached_ = nullptr;
    }

    // Visits every key of the state in RocksDB order with its stored
    // entries, after writing the cache back.
    template <class Fn>
    void forEachKey(Fn&& fn) const {
        auto* self = const_cast<RocksDbCachedState*>(this);
        self->writeBack();
        self->backend_.commit();
        bool map = isMap();
        std::string current_prefix;
        int current_group = -1;
        std::string current_key;
        std::vector<std::pair<std::string, std::string>> parts;
        auto flush = [&]() {
            if (parts.empty()) {
                return;
            }
            std::vector<std::pair<std::string_view, std::string_view>> views;
            for (const auto& [user_key, value] : parts) {
                views.emplace_back(user_key, value);
            }
            fn(current_group, std::string_view(current_key), views);
            parts.clear();
        };
        backend_.scan(cf_, {}, [&](std::string_view raw, std::string_view value) {
            int key_group = 0;
            std::string_view key;
            std::string_view user_key;
            if (!state_format::decodeDbKey(raw, map, key_group, key, user_key)) {
                return;
            }
            if (key_group != current_group || key != current_key) {
                flush();
                current_group = key_group;
                current_key.assign(key);
            }
            parts.emplace_back(std::string(user_key), std::string(value));
        });
        flush();
    }

    Nanos evictedUpdateTime(std::string_view key) const {
        auto found = evicted_update_times_.find(std::string(key));
        return found == evicted_update_times_.end() ? 0 : found->second.second;
    }

    FlatKeyMap<Slot> cache_;
    Slot* cached_ = nullptr;
    uint64_t cached_version_ = 0;
    // Serialized key to (key group, last update) of keys outside the cache,
    // with Options::keep_update_times.
    std::unordered_map<std::string, std::pair<int, Nanos>> evicted_update_times_;
};

// Storage shared by the states that keep one serialized value per key:
// value and reducing state.
template <class V>
class RocksDbSingleValueState : public RocksDbCachedState<V> {
public:
    RocksDbSingleValueState(RocksDbKeyedStateBackend& backend, std::string name, const char* kind,
                            std::shared_ptr<const TypeSerializer<V>> serializer)
        : RocksDbCachedState<V>(backend, std::move(name), kind),
          serializer_(std::move(serializer)) {}

protected:
    using Slot = typename RocksDbCachedState<V>::Slot;

    std::optional<V> currentValue() {
        auto& slot = this->current();
        return slot.present ? std::optional<V>(slot.value) : std::nullopt;
    }
    void setCurrent(V value) {
        auto& slot = this->current();
        slot.value = std::move(value);
        slot.present = true;
        this->touch(slot);
    }
    void clearCurrent() {
        auto& slot = this->current();
        slot.value = V{};
        slot.present = false;
        this->touch(slot);
    }

    bool load(int key_group, std::string_view key, V& value) override {
        std::string bytes;
        if (!this->backend_.get(this->cf_, this->dbKey(key_group, key), bytes)) {
            return false;
        }
        ByteReader in(bytes);
        if (!state_format::readSerialized(*serializer_, in, value)) {
            throw std::runtime_error("state '" + this->name_ + "' contains a malformed value");
        }
        return true;
    }
    void writeSlot(const std::string& key, Slot& slot) override {
        std::string bytes;
        if (slot.present) {
            state_format::appendSerialized(*serializer_, slot.value, bytes);
        }
        this->writeSingle(key, slot, bytes);
    }
    std::string displayStored(
        const std::vector<std::pair<std::string_view, std::string_view>>& parts) const override {
        V value{};
        ByteReader in(parts.front().second);
        state_format::readSerialized(*serializer_, in, value);
        return serializer_->toDisplayString(value);
    }

    std::shared_ptr<const TypeSerializer<V>> serializer_;
};

template <class V>
class RocksDbValueState final : public RocksDbSingleValueState<V>, public ValueState<V> {
public:
    RocksDbValueState(RocksDbKeyedStateBackend& backend, std::string name,
                      std::shared_ptr<const TypeSerializer<V>> serializer,
                      const char* kind = "value")
        : RocksDbSingleValueState<V>(backend, std::move(name), kind, std::move(serializer)) {}

    std::optional<V> value() override { return this->currentValue(); }
    void update(const V& value) override { this->setCurrent(value); }
    void clear() override { this->clearCurrent(); }
};

template <class V>
class RocksDbReducingState final : public RocksDbSingleValueState<V>, public ReducingState<V> {
public:
    using ReduceFunction = std::function<V(const V&, const V&)>;

    RocksDbReducingState(RocksDbKeyedStateBackend& backend, std::string name,
                         std::shared_ptr<const TypeSerializer<V>> serializer, ReduceFunction reduce)
        : RocksDbSingleValueState<V>(backend, std::move(name), "reducing", std::move(serializer)),
          reduce_(std::move(reduce)) {}

    std::optional<V> get() override { return this->currentValue(); }
    void add(const V& value) override {
        std::optional<V> existing = this->currentValue();
        this->setCurrent(existing ? reduce_(*existing, value) : value);
    }
    void clear() override { this->clearCurrent(); }

private:
    ReduceFunction reduce_;
};

template <class V>
class RocksDbListState final : public RocksDbCachedState<std::vector<V>>, public ListState<V> {
public:
    RocksDbListState(RocksDbKeyedStateBackend& backend, std::string name,
                     std::shared_ptr<const TypeSerializer<V>> serializer)
        : RocksDbCachedState<std::vector<V>>(backend, std::move(name), "list"),
          serializer_(std::move(serializer)) {}

    std::vector<V> get() override { return this->current().value; }
    void add(const V& value) override {
        auto& slot = this->current();
        slot.value.push_back(value);
        slot.present = true;
        this->touch(slot);
    }
    void update(std::vector<V> values) override {
        auto& slot = this->current();
        slot.present = !values.empty();
        slot.value = std::move(values);
        this->touch(slot);
    }
    void clear() override {
        auto& slot = this->current();
        slot.value.clear();
        slot.present = false;
        this->touch(slot);
    }

protected:
    using Slot = typename RocksDbCachedState<std::vector<V>>::Slot;

    bool load(int key_group, std::string_view key, std::vector<V>& values) override {
        std::string bytes;
        if (!this->backend_.get(this->cf_, this->dbKey(key_group, key), bytes)) {
            values.clear();
            return false;
        }
        if (!state_format::readList(*serializer_, bytes, values)) {
            throw std::runtime_error("state '" + this->name_ + "' contains a malformed list");
        }
        return true;
    }
    void writeSlot(const std::string& key, Slot& slot) override {
        std::string bytes;
        if (slot.present) {
            state_format::appendList(*serializer_, slot.value, bytes);
        }
        this->writeSingle(key, slot, bytes);
    }
    std::string displayStored(
        const std::vector<std::pair<std::string_view, std::string_view>>& parts) const override {
        std::vector<V> values;
        state_format::readList(*serializer_, parts.front().second, values);
        std::string out = "[";
        for (size_t i = 0; i < values.size(); ++i) {
            out += (i ? ", " : "") + serializer_->toDisplayString(values[i]);
        }
        return out + "]";
    }

private:
    std::shared_ptr<const TypeSerializer<V>> serializer_;
};

// Cached value of a map state: the whole map of one key, loaded with a
// prefix scan, plus the user keys changed since the last write-back.
template <class UK, class UV>
struct RocksDbMapValue {
    std::map<UK, UV> map;
    std::set<UK> changed;
};

template <class UK, class UV>
class RocksDbMapState final : public RocksDbCachedState<RocksDbMapValue<UK, UV>>,
                              public MapState<UK, UV> {
    using Base = RocksDbCachedState<RocksDbMapValue<UK, UV>>;

public:
    RocksDbMapState(RocksDbKeyedStateBackend& backend, std::string name,
                    std::shared_ptr<const TypeSerializer<UK>> key_serializer,
                    std::shared_ptr<const TypeSerializer<UV>> value_serializer)
        : Base(backend, std::move(name), "map"),
          key_serializer_(std::move(key_serializer)),
          value_serializer_(std::move(value_serializer)) {}

    std::optional<UV> get(const UK& key) override {
        auto& map = this->current().value.map;
        auto it = map.find(key);
        return it == map.end() ? std::nullopt : std::optional<UV>(it->second);
    }
    void put(const UK& key, const UV& value) override {
        auto& slot = this->current();
        slot.value.map[key] = value;
        slot.value.changed.insert(key);
        slot.present = true;
        this->touch(slot);
    }
    void remove(const UK& key) override {
        auto& slot = this->current();
        if (slot.value.map.erase(key)) {
            slot.value.changed.insert(key);
            slot.present = !slot.value.map.empty();
            this->touch(slot);
        }
    }
    bool contains(const UK& key) override { return this->current().value.map.count(key) != 0; }
    std::vector<std::pair<UK, UV>> entries() override {
        const auto& map = this->current().value.map;
        return {map.begin(), map.end()};
    }
    bool isEmpty() override { return !this->current().present; }
    void clear() override {
        auto& slot = this->current();
        for (const auto& [key, value] : slot.value.map) {
            slot.value.changed.insert(key);
        }
        slot.value.map.clear();
        slot.present = false;
        this->touch(slot);
    }

protected:
    using Slot = typename Base::Slot;

    bool load(int key_group, std::string_view key, RocksDbMapValue<UK, UV>& value) override {
        value.map.clear();
        value.changed.clear();
        this->backend_.scan(
            this->cf_, this->dbKey(key_group, key),
            [&](std::string_view raw, std::string_view bytes) {
                int group = 0;
                std::string_view stored_key;
                std::string_view user_key;
                state_format::decodeDbKey(raw, true, group, stored_key, user_key);
                UK uk{};
                UV uv{};
                ByteReader key_in(user_key);
                ByteReader value_in(bytes);
                if (!state_format::readSerialized(*key_serializer_, key_in, uk) ||
                    !state_format::readSerialized(*value_serializer_, value_in, uv)) {
                    throw std::runtime_error("state '" + this->name_ +
                                             "' contains a malformed map entry");
                }
                value.map.emplace(std::move(uk), std::move(uv));
            });
        return !value.map.empty();
    }
    void writeSlot(const std::string& key, Slot& slot) override {
        std::string prefix = this->dbKey(slot.key_group, key);
        std::string raw;
        std::string user_key;
        std::string bytes;
        for (const UK& uk : slot.value.changed) {
            user_key.clear();
            state_format::appendSerialized(*key_serializer_, uk, user_key);
            raw = prefix + user_key;
            auto it = slot.value.map.find(uk);
            if (it != slot.value.map.end()) {
                bytes.clear();
                state_format::appendSerialized(*value_serializer_, it->second, bytes);
                this->backend_.put(this->cf_, raw, bytes,
                                   state_format::logicalBytes(key, user_key, bytes));
            } else {
                this->backend_.remove(this->cf_, raw,
                                      state_format::logicalBytes(key, user_key, {}));
            }
        }
        slot.value.changed.clear();
        slot.in_db = slot.present;
        slot.dirty = false;
    }
    std::string displayStored(
        const std::vector<std::pair<std::string_view, std::string_view>>& parts) const override {
        std::map<UK, UV> map;
        for (const auto& [user_key, bytes] : parts) {
            UK uk{};
            UV uv{};
            ByteReader key_in(user_key);
            ByteReader value_in(bytes);
            state_format::readSerialized(*key_serializer_, key_in, uk);
            state_format::readSerialized(*value_serializer_, value_in, uv);
            map.emplace(std::move(uk), std::move(uv));
        }
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

}  // namespace sluice
