#include "runtime/state/rocksdb_keyed_state_backend.h"

#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/shared_state_registry.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <system_error>

namespace sluice {

namespace fs = std::filesystem;

namespace {

rocksdb::Options databaseOptions() {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    // Compaction runs only synchronously inside snapshots, see the class
    // comment; with auto compaction off RocksDB also skips L0 write stalls.
    options.disable_auto_compactions = true;
    options.write_buffer_size = 32 << 20;
    options.max_write_buffer_number = 4;
    options.compression = rocksdb::kNoCompression;
    options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
    options.keep_log_file_num = 1;
    options.stats_dump_period_sec = 0;
    options.stats_persist_period_sec = 0;
    options.avoid_flush_during_shutdown = true;
    return options;
}

rocksdb::Slice slice(std::string_view s) {
    return rocksdb::Slice(s.data(), s.size());
}

std::string changeKey(int cf, std::string_view raw_key) {
    std::string key(4, '\0');
    for (int i = 0; i < 4; ++i) {
        key[size_t(i)] = char(uint8_t(uint32_t(cf) >> (8 * i)));
    }
    key.append(raw_key);
    return key;
}

bool endsWith(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

}  // namespace

RocksDbKeyedStateBackend::RocksDbKeyedStateBackend(KeyGroupRange range, int max_parallelism,
                                                   const Nanos* clock, Options options)
    : KeyedStateBackend(range, max_parallelism, clock),
      options_(std::move(options)),
      batch_(std::make_unique<rocksdb::WriteBatch>()) {
    std::error_code ec;
    fs::remove_all(options_.instance_dir, ec);
    fs::create_directories(options_.instance_dir, ec);
    if (ec) {
        throw std::runtime_error("cannot create the RocksDB directory " +
                                 options_.instance_dir.string() + ": " + ec.message());
    }
    rocksdb::Options db_options = databaseOptions();
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors{
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(db_options)}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    check(
        rocksdb::DB::Open(db_options, options_.instance_dir.string(), descriptors, &handles, &db_),
        "opening RocksDB in " + options_.instance_dir.string());
    column_families_.push_back(
        ColumnFamily{rocksdb::kDefaultColumnFamilyName, "", handles.front()});
}

RocksDbKeyedStateBackend::~RocksDbKeyedStateBackend() {
    if (db_) {
        for (auto& cf : column_families_) {
            db_->DestroyColumnFamilyHandle(cf.handle);
        }
        db_->Close();
        delete db_;
    }
    std::error_code ec;
    fs::remove_all(options_.instance_dir, ec);
}

void RocksDbKeyedStateBackend::check(const rocksdb::Status& status, const std::string& what) const {
    if (!status.ok()) {
        throw std::runtime_error("RocksDB failed " + what + ": " + status.ToString());
    }
}

int RocksDbKeyedStateBackend::columnFamily(const std::string& state_name, const std::string& kind) {
    for (size_t i = 1; i < column_families_.size(); ++i) {
        ColumnFamily& cf = column_families_[i];
        if (cf.name != state_name) {
            continue;
        }
        if (cf.kind.empty()) {
            cf.kind = kind;
        } else if (cf.kind != kind) {
            throw std::logic_error("state '" + state_name + "' contains " + cf.kind +
                                   " state but is registered as " + kind +
                                   " state; use the same state type as the snapshot");
        }
        return int(i);
    }
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    check(db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(databaseOptions()), state_name,
                                  &handle),
          "creating column family '" + state_name + "'");
    column_families_.push_back(ColumnFamily{state_name, kind, handle});
    return int(column_families_.size() - 1);
}

bool RocksDbKeyedStateBackend::get(int cf, std::string_view raw_key, std::string& value) const {
    rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), column_families_[size_t(cf)].handle,
                                      slice(raw_key), &value);
    if (status.IsNotFound()) {
        return false;
    }
    check(status, "reading state '" + column_families_[size_t(cf)].name + "'");
    return true;
}

void RocksDbKeyedStateBackend::scan(
    int cf, std::string_view prefix,
    const std::function<void(std::string_view key, std::string_view value)>& visit) const {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), column_families_[size_t(cf)].handle));
    for (it->Seek(slice(prefix)); it->Valid(); it->Next()) {
        std::string_view key(it->key().data(), it->key().size());
        if (key.substr(0, prefix.size()) != prefix) {
            break;
        }
        visit(key, std::string_view(it->value().data(), it->value().size()));
    }
    check(it->status(), "scanning state '" + column_families_[size_t(cf)].name + "'");
}

void RocksDbKeyedStateBackend::put(int cf, std::string_view raw_key, std::string_view value,
                                   uint64_t logical_bytes) {
    check(batch_->Put(column_families_[size_t(cf)].handle, slice(raw_key), slice(value)),
          "buffering a write");
    changed_[changeKey(cf, raw_key)] = logical_bytes;
}

void RocksDbKeyedStateBackend::remove(int cf, std::string_view raw_key, uint64_t logical_bytes) {
    check(batch_->Delete(column_families_[size_t(cf)].handle, slice(raw_key)),
          "buffering a delete");
    changed_[changeKey(cf, raw_key)] = logical_bytes;
}

void RocksDbKeyedStateBackend::commit() {
    if (batch_->Count() == 0) {
        return;
    }
    rocksdb::WriteOptions write_options;
    write_options.disableWAL = true;
    check(db_->Write(write_options, batch_.get()), "writing a batch");
    batch_->Clear();
}

void RocksDbKeyedStateBackend::writeBackCaches() {
    for (RocksDbKvStateBase* state : rocks_states_) {
        state->writeBack();
    }
    commit();
}

rocksdb::ColumnFamilyHandle* RocksDbKeyedStateBackend::columnFamilyHandle(
    const std::string& state_name) const {
    for (size_t i = 1; i < column_families_.size(); ++i) {
        if (column_families_[i].name == state_name) {
            return column_families_[i].handle;
        }
    }
    return nullptr;
}

std::vector<std::string> RocksDbKeyedStateBackend::columnFamilyNames() const {
    std::vector<std::string> names;
    for (const auto& cf : column_families_) {
        names.push_back(cf.name);
    }
    return names;
}

std::unique_ptr<InternalKvState> RocksDbKeyedStateBackend::create(
    const StateDescriptorBase& descriptor) {
    std::unique_ptr<InternalKvState> state = descriptor.createRocksDb(*this);
    auto* rocks_state = dynamic_cast<RocksDbKvStateBase*>(state.get());
    if (!rocks_state) {
        throw std::logic_error("descriptor of state '" + descriptor.name() +
                               "' did not create a RocksDB state");
    }
    rocks_states_.push_back(rocks_state);
    return state;
}

void RocksDbKeyedStateBackend::flushAndMaybeCompact(bool compact) {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    for (const auto& cf : column_families_) {
        handles.push_back(cf.handle);
    }
    rocksdb::FlushOptions flush_options;
    flush_options.wait = true;
    flush_options.allow_write_stall = true;
    check(db_->Flush(flush_options, handles), "flushing memtables");
    if (!compact) {
        return;
    }
    rocksdb::CompactRangeOptions compact_options;
    // Rewrite bottommost files too, so that a compaction replaces every SST
    // and the next incremental upload is the whole state, as accounted.
    compact_options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    compact_options.exclusive_manual_compaction = true;
    for (auto* handle : handles) {
        check(db_->CompactRange(compact_options, handle, nullptr, nullptr), "compacting");
    }
}

checkpoint::KeyedStateHandle RocksDbKeyedStateBackend::snapshot(int64_t checkpoint_id,
                                                                CheckpointStorage& storage,
                                                                SharedStateRegistry* registry,
                                                                bool incremental, bool savepoint,
                                                                const std::string& owner) {
    writeBackCaches();
    bool compact = false;
    if (!savepoint) {
        ++checkpoints_since_compaction_;
        if (options_.compact_every_snapshots > 0 &&
            checkpoints_since_compaction_ >= options_.compact_every_snapshots) {
            compact = true;
            checkpoints_since_compaction_ = 0;
        }
    }
    flushAndMaybeCompact(compact);

    checkpoint::KeyedStateHandle handle;
    handle.set_checkpoint_id(checkpoint_id);
    handle.set_key_group_first(keyGroupRange().first);
    handle.set_key_group_last(keyGroupRange().last);
    handle.set_max_parallelism(maxParallelism());
    handle.set_backend(backendName());
    bool use_shared = incremental && !savepoint;
    handle.set_incremental(use_shared);

    // Logical sizes from the contents, independent of the file layout.
    uint64_t full_bytes = 0;
    uint64_t entries = 0;
    for (size_t i = 1; i < column_families_.size(); ++i) {
        const ColumnFamily& cf = column_families_[i];
        bool map_state = state_format::isMapKind(cf.kind);
        scan(int(i), {}, [&](std::string_view raw, std::string_view value) {
            int key_group = 0;
            std::string_view key;
            std::string_view user_key;
            if (state_format::decodeDbKey(raw, map_state, key_group, key, user_key)) {
                full_bytes += state_format::logicalBytes(key, user_key, value);
                ++entries;
            }
        });
        auto* info = handle.add_states();
        info->set_name(cf.name);
        info->set_kind(cf.kind.empty() ? "value" : cf.kind);
    }
    uint64_t changed_bytes = 0;
    for (const auto& [key, bytes] : changed_) {
        changed_bytes += bytes;
    }

    fs::path temp = options_.instance_dir.string() + "-snapshot";
    std::error_code ec;
    fs::remove_all(temp, ec);
    {
        rocksdb::Checkpoint* raw_checkpoint = nullptr;
        check(rocksdb::Checkpoint::Create(db_, &raw_checkpoint), "preparing a checkpoint");
        std::unique_ptr<rocksdb::Checkpoint> rocks_checkpoint(raw_checkpoint);
        check(rocks_checkpoint->CreateCheckpoint(temp.string()),
              "creating a checkpoint in " + temp.string());
    }
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(temp, ec)) {
        if (entry.is_regular_file()) {
            names.push_back(entry.path().filename().string());
        }
    }
    std::sort(names.begin(), names.end());

    std::string dir_name = savepoint ? CheckpointStorage::savepointDirName(checkpoint_id)
                                     : CheckpointStorage::checkpointDirName(checkpoint_id);
    fs::path exclusive_dir =
        (savepoint ? storage.savepointDir(checkpoint_id) : storage.checkpointDir(checkpoint_id)) /
        owner;
    std::set<int64_t> reuploaded_groups;
    std::set<std::string> live_ssts;
    for (const std::string& name : names) {
        auto* file = handle.add_files();
        if (use_shared && endsWith(name, ".sst")) {
            live_ssts.insert(name);
            auto it = uploaded_.find(name);
            bool reuse =
                it != uploaded_.end() && (!registry || registry->contains(it->second.path));
            if (!reuse) {
                if (it != uploaded_.end()) {
                    reuploaded_groups.insert(it->second.group);
                }
                std::string relative =
                    "shared/" + owner + "-c" + std::to_string(checkpoint_id) + "-" + name;
                storage.sharedDir();
                state_format::copyFile(temp / name, storage.root() / relative);
                uploaded_[name] =
                    Upload{relative, checkpoint_id, state_format::fileSize(temp / name)};
            }
            const Upload& upload = uploaded_[name];
            if (registry) {
                registry->registerFile(checkpoint_id, upload.path, upload.path, upload.size_bytes);
            }
            file->set_path(upload.path);
            file->set_size_bytes(upload.size_bytes);
            file->set_shared(true);
        } else {
            state_format::copyFile(temp / name, exclusive_dir / name);
            file->set_path(dir_name + "/" + owner + "/" + name);
            file->set_size_bytes(state_format::fileSize(temp / name));
            file->set_shared(false);
        }
    }
    fs::remove_all(temp, ec);

    uint64_t incremental_bytes = full_bytes;
    if (use_shared) {
        // SSTs that compaction removed never come back.
        for (auto it = uploaded_.begin(); it != uploaded_.end();) {
            it = live_ssts.count(it->first) ? std::next(it) : uploaded_.erase(it);
        }
        group_bytes_[checkpoint_id] = compact ? full_bytes : changed_bytes;
        incremental_bytes = group_bytes_[checkpoint_id];
        if (!compact) {
            for (int64_t group : reuploaded_groups) {
                incremental_bytes += group_bytes_[group];
            }
        }
        std::set<int64_t> live_groups;
        for (const auto& [name, upload] : uploaded_) {
            live_groups.insert(upload.group);
        }
        for (auto it = group_bytes_.begin(); it != group_bytes_.end();) {
            it = live_groups.count(it->first) ? std::next(it) : group_bytes_.erase(it);
        }
    }
    if (!savepoint) {
        changed_.clear();
    }
    handle.set_full_size_bytes(full_bytes);
    handle.set_incremental_size_bytes(incremental_bytes);
    handle.set_entry_count(entries);
    return handle;
}

void RocksDbKeyedStateBackend::restore(const std::vector<checkpoint::KeyedStateHandle>& handles,
                                       const CheckpointStorage& storage) {
    for (const auto& handle : handles) {
        state_format::verifyHandle(handle, storage, maxParallelism());
    }
    fs::path scratch = options_.instance_dir.string() + "-restore";
    std::string raw;
    for (const auto& handle : handles) {
        state_format::readHandleEntries(
            handle, storage, keyGroupRange(), scratch,
            [&](const std::string& state_name, const std::string& kind, int key_group,
                std::string_view key, std::string_view user_key, std::string_view value) {
                int cf = columnFamily(state_name, kind);
                raw.clear();
                state_format::appendDbKey(raw, key_group, key, state_format::isMapKind(kind));
                raw.append(user_key);
                put(cf, raw, value, state_format::logicalBytes(key, user_key, value));
                if (batch_->Count() >= 4096) {
                    commit();
                }
            });
    }
    commit();
    for (RocksDbKvStateBase* state : rocks_states_) {
        state->dropCache();
    }
}

}  // namespace sluice
