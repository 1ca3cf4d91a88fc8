#pragma once

#include "proto/checkpoint.pb.h"
#include "runtime/core/key_groups.h"
#include "runtime/serialization/type_serializer.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

class CheckpointStorage;
class InternalKvState;

// Serialized forms shared by the keyed state backends and their snapshots.
namespace state_format {

// Appends `value` serialized by `serializer` to `out`.
template <class T>
void appendSerialized(const TypeSerializer<T>& serializer, const T& value, std::string& out) {
    size_t start = out.size();
    size_t capacity = 64;
    for (;;) {
        out.resize(start + capacity);
        ByteWriter writer(reinterpret_cast<uint8_t*>(out.data() + start), capacity);
        serializer.serialize(value, writer);
        if (!writer.overflowed()) {
            out.resize(start + writer.position());
            return;
        }
        capacity *= 4;
    }
}

// Reads one value from `in`; false on malformed input.
template <class T>
bool readSerialized(const TypeSerializer<T>& serializer, ByteReader& in, T& value) {
    serializer.deserialize(value, in);
    return !in.failed();
}

void appendVarUint(std::string& out, uint64_t value);

// Lists: varint element count, then the elements.
template <class V>
void appendList(const TypeSerializer<V>& serializer, const std::vector<V>& values,
                std::string& out) {
    appendVarUint(out, values.size());
    for (const V& value : values) {
        appendSerialized(serializer, value, out);
    }
}

template <class V>
bool readList(const TypeSerializer<V>& serializer, std::string_view bytes, std::vector<V>& values) {
    ByteReader in(bytes);
    uint64_t count = in.readVarUint();
    if (in.failed() || count > bytes.size()) {
        return false;
    }
    values.clear();
    values.reserve(size_t(count));
    for (uint64_t i = 0; i < count; ++i) {
        V value{};
        if (!readSerialized(serializer, in, value)) {
            return false;
        }
        values.push_back(std::move(value));
    }
    return true;
}

// Logical size of one entry: what checkpoint durations are derived from.
inline uint64_t logicalBytes(std::string_view key, std::string_view user_key,
                             std::string_view value) {
    return key.size() + user_key.size() + value.size();
}

// RocksDB key of an entry: 2-byte big-endian key group, then the serialized
// key; map states put the key's length as a varint in between and append
// the serialized user key, so the entries of one key form a contiguous
// range that can be split again.
void appendDbKey(std::string& out, int key_group, std::string_view key, bool map_state);
bool decodeDbKey(std::string_view raw, bool map_state, int& key_group, std::string_view& key,
                 std::string_view& user_key);
inline bool isMapKind(std::string_view kind) {
    return kind == "map";
}

// Heap snapshot file: magic "SLHEAP01", varint state count, then per state
// its name, kind and entry count, then its entries as (varint key group,
// key, user key, value), strings varint-length-prefixed. States in name
// order, entries in snapshotEntries order, so the bytes are deterministic.
struct HeapSnapshotStats {
    uint64_t logical_bytes = 0;
    uint64_t entries = 0;
};
std::string encodeHeapSnapshot(const std::vector<const InternalKvState*>& states,
                               HeapSnapshotStats& stats);

// Throws StateRestoreError unless `handle` was written with
// `max_parallelism` and all its files exist.
void verifyHandle(const checkpoint::KeyedStateHandle& handle, const CheckpointStorage& storage,
                  int max_parallelism);

// Reads the entries of `handle` whose key group lies in `range`, whichever
// backend wrote them. RocksDB snapshots are opened read-only from a copy in
// `scratch_dir`, which is removed afterwards.
using HandleEntryVisitor =
    std::function<void(const std::string& state, const std::string& kind, int key_group,
                       std::string_view key, std::string_view user_key, std::string_view value)>;
void readHandleEntries(const checkpoint::KeyedStateHandle& handle, const CheckpointStorage& storage,
                       KeyGroupRange range, const std::filesystem::path& scratch_dir,
                       const HandleEntryVisitor& visit);

// Size of a file, 0 if it cannot be read.
uint64_t fileSize(const std::filesystem::path& path);
// Copies `from` to `to`, creating parent directories; throws
// CheckpointStorageError with both paths on failure.
void copyFile(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace state_format
}  // namespace sluice
