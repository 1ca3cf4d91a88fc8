#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sluice {

enum class PartitionerKind : uint8_t {
    kForward,
    kRebalance,
    kBroadcast,
    kHash,  // by key group of the serialized key
};

const char* partitionerName(PartitionerKind kind);

// Writes the serialized key of a record into `out` (cleared by the caller).
template <class T>
using KeyBytesFunction = std::function<void(const T& value, std::string& out)>;

// Record distribution of one edge. For kHash, `key_bytes` contains a
// KeyBytesFunction<T> of the edge's record type T.
struct PartitionerSpec {
    PartitionerKind kind = PartitionerKind::kForward;
    int max_parallelism = 128;
    std::shared_ptr<const void> key_bytes;
};

}  // namespace sluice
