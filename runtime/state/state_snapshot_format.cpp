#include "runtime/state/state_snapshot_format.h"

#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/state/keyed_state_backend.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <system_error>

namespace sluice::state_format {

namespace fs = std::filesystem;

namespace {

constexpr char kHeapMagic[8] = {'S', 'L', 'H', 'E', 'A', 'P', '0', '1'};

void appendString(std::string& out, std::string_view s) {
    appendVarUint(out, s.size());
    out.append(s);
}

std::string readWholeFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw StateRestoreError("cannot open state file " + path.string() + ": " +
                                std::strerror(errno));
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

void readHeapFile(const checkpoint::KeyedStateHandle& handle, const fs::path& path,
                  const std::string& relative, KeyGroupRange range,
                  const HandleEntryVisitor& visit) {
    std::string bytes = readWholeFile(path);
    auto corrupt = [&](const std::string& what) {
        return StateRestoreError("state file " + relative + " of checkpoint " +
                                 std::to_string(handle.checkpoint_id()) + " is corrupt: " + what);
    };
    if (bytes.size() < sizeof(kHeapMagic) ||
        std::memcmp(bytes.data(), kHeapMagic, sizeof(kHeapMagic)) != 0) {
        throw corrupt("bad magic number");
    }
    ByteReader in(std::string_view(bytes).substr(sizeof(kHeapMagic)));
    uint64_t state_count = in.readVarUint();
    for (uint64_t s = 0; s < state_count && !in.failed(); ++s) {
        std::string name;
        std::string kind;
        in.readString(name);
        in.readString(kind);
        uint64_t count = in.readVarUint();
        for (uint64_t e = 0; e < count && !in.failed(); ++e) {
            int key_group = int(in.readVarUint());
            std::string_view key = in.readStringView();
            std::string_view user_key = in.readStringView();
            std::string_view value = in.readStringView();
            if (!in.failed() && range.contains(key_group)) {
                visit(name, kind, key_group, key, user_key, value);
            }
        }
    }
    if (in.failed()) {
        throw corrupt("truncated");
    }
}

// The name a file had in the RocksDB instance: shared files carry an
// "<owner>-c<checkpoint>-" prefix before it.
std::string originalName(const checkpoint::StateFile& file) {
    std::string name = fs::path(file.path()).filename().string();
    if (file.shared()) {
        size_t dash = name.rfind('-');
        if (dash != std::string::npos) {
            name = name.substr(dash + 1);
        }
    }
    return name;
}

void readRocksDbFiles(const checkpoint::KeyedStateHandle& handle, const CheckpointStorage& storage,
                      KeyGroupRange range, const fs::path& scratch_dir,
                      const HandleEntryVisitor& visit) {
    std::error_code ec;
    fs::remove_all(scratch_dir, ec);
    fs::create_directories(scratch_dir, ec);
    if (ec) {
        throw StateRestoreError("cannot create restore directory " + scratch_dir.string() + ": " +
                                ec.message());
    }
    for (const auto& file : handle.files()) {
        fs::path from = storage.root() / file.path();
        fs::path to = scratch_dir / originalName(file);
        // Hard links are enough: the instance is opened read-only.
        fs::create_hard_link(from, to, ec);
        if (ec) {
            ec.clear();
            fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
        }
        if (ec) {
            throw StateRestoreError("cannot copy state file " + file.path() + " of checkpoint " +
                                    std::to_string(handle.checkpoint_id()) + ": " + ec.message());
        }
    }

    std::map<std::string, std::string> kinds;
    for (const auto& state : handle.states()) {
        kinds[state.name()] = state.kind();
    }
    rocksdb::Options options;
    std::vector<std::string> names;
    rocksdb::Status status = rocksdb::DB::ListColumnFamilies(options, scratch_dir.string(), &names);
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) {
        descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw_db = nullptr;
    if (status.ok()) {
        status = rocksdb::DB::OpenForReadOnly(options, scratch_dir.string(), descriptors, &handles,
                                              &raw_db);
    }
    if (!status.ok()) {
        throw StateRestoreError("cannot open the RocksDB snapshot of checkpoint " +
                                std::to_string(handle.checkpoint_id()) + " (" +
                                std::to_string(handle.files_size()) +
                                " files): " + status.ToString());
    }
    std::unique_ptr<rocksdb::DB> db(raw_db);
    std::string start;
    appendDbKey(start, range.first, {}, false);
    for (size_t i = 0; i < handles.size(); ++i) {
        const std::string& name = names[i];
        if (name == rocksdb::kDefaultColumnFamilyName) {
            continue;
        }
        std::string kind = kinds.count(name) ? kinds[name] : "value";
        bool map_state = isMapKind(kind);
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
        for (it->Seek(start); it->Valid(); it->Next()) {
            int key_group = 0;
            std::string_view key;
            std::string_view user_key;
            std::string_view raw(it->key().data(), it->key().size());
            if (!decodeDbKey(raw, map_state, key_group, key, user_key)) {
                throw StateRestoreError("the RocksDB snapshot of checkpoint " +
                                        std::to_string(handle.checkpoint_id()) +
                                        " has a malformed key in state '" + name + "'");
            }
            if (key_group > range.last) {
                break;
            }
            visit(name, kind, key_group, key, user_key,
                  std::string_view(it->value().data(), it->value().size()));
        }
        if (!it->status().ok()) {
            throw StateRestoreError("reading the RocksDB snapshot of checkpoint " +
                                    std::to_string(handle.checkpoint_id()) +
                                    " failed: " + it->status().ToString());
        }
    }
    for (auto* cf : handles) {
        db->DestroyColumnFamilyHandle(cf);
    }
    db.reset();
    fs::remove_all(scratch_dir, ec);
}

}  // namespace

void appendVarUint(std::string& out, uint64_t value) {
    while (value >= 0x80) {
        out.push_back(char(uint8_t(value) | 0x80));
        value >>= 7;
    }
    out.push_back(char(uint8_t(value)));
}

void appendDbKey(std::string& out, int key_group, std::string_view key, bool map_state) {
    out.push_back(char(uint8_t(key_group >> 8)));
    out.push_back(char(uint8_t(key_group)));
    if (map_state) {
        appendVarUint(out, key.size());
    }
    out.append(key);
}

bool decodeDbKey(std::string_view raw, bool map_state, int& key_group, std::string_view& key,
                 std::string_view& user_key) {
    if (raw.size() < 2) {
        return false;
    }
    key_group = int(uint8_t(raw[0])) << 8 | int(uint8_t(raw[1]));
    raw.remove_prefix(2);
    if (!map_state) {
        key = raw;
        user_key = {};
        return true;
    }
    ByteReader in(raw);
    uint64_t length = in.readVarUint();
    if (in.failed() || length > in.remaining()) {
        return false;
    }
    key = raw.substr(in.position(), size_t(length));
    user_key = raw.substr(in.position() + size_t(length));
    return true;
}

std::string encodeHeapSnapshot(const std::vector<const InternalKvState*>& states,
                               HeapSnapshotStats& stats) {
    std::string out(kHeapMagic, sizeof(kHeapMagic));
    appendVarUint(out, states.size());
    std::string entries;
    for (const InternalKvState* state : states) {
        entries.clear();
        uint64_t count = 0;
        state->snapshotEntries([&](int key_group, std::string_view key, std::string_view user_key,
                                   std::string_view value) {
            appendVarUint(entries, uint64_t(key_group));
            appendString(entries, key);
            appendString(entries, user_key);
            appendString(entries, value);
            stats.logical_bytes += logicalBytes(key, user_key, value);
            ++count;
        });
        stats.entries += count;
        appendString(out, state->name());
        appendString(out, state->kind());
        appendVarUint(out, count);
        out += entries;
    }
    return out;
}

void verifyHandle(const checkpoint::KeyedStateHandle& handle, const CheckpointStorage& storage,
                  int max_parallelism) {
    if (handle.max_parallelism() != max_parallelism) {
        throw StateRestoreError("state was written with max parallelism " +
                                std::to_string(handle.max_parallelism()) +
                                " but the operator now has " + std::to_string(max_parallelism) +
                                "; key groups cannot be remapped, restore with max parallelism " +
                                std::to_string(handle.max_parallelism()));
    }
    for (const auto& file : handle.files()) {
        std::error_code ec;
        if (fs::exists(storage.root() / file.path(), ec)) {
            continue;
        }
        if (file.shared()) {
            throw StateRestoreError("shared state file " + file.path() + " of checkpoint " +
                                    std::to_string(handle.checkpoint_id()) +
                                    " is missing; it was deleted while still referenced");
        }
        throw StateRestoreError("state file " + file.path() + " of checkpoint " +
                                std::to_string(handle.checkpoint_id()) + " is missing");
    }
}

void readHandleEntries(const checkpoint::KeyedStateHandle& handle, const CheckpointStorage& storage,
                       KeyGroupRange range, const fs::path& scratch_dir,
                       const HandleEntryVisitor& visit) {
    KeyGroupRange own{handle.key_group_first(), handle.key_group_last()};
    KeyGroupRange overlap{std::max(range.first, own.first), std::min(range.last, own.last)};
    if (overlap.size() == 0) {
        return;
    }
    if (handle.backend() == "heap") {
        for (const auto& file : handle.files()) {
            readHeapFile(handle, storage.root() / file.path(), file.path(), overlap, visit);
        }
        return;
    }
    if (handle.backend() == "rocksdb") {
        readRocksDbFiles(handle, storage, overlap, scratch_dir, visit);
        return;
    }
    throw StateRestoreError("checkpoint " + std::to_string(handle.checkpoint_id()) +
                            " has keyed state of unknown backend '" + handle.backend() + "'");
}

uint64_t fileSize(const fs::path& path) {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    return ec ? 0 : uint64_t(size);
}

void copyFile(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::create_directories(to.parent_path(), ec);
    if (!ec) {
        fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    }
    if (ec) {
        throw CheckpointStorageError("cannot copy " + from.string() + " to " + to.string() + ": " +
                                     ec.message());
    }
}

}  // namespace sluice::state_format
