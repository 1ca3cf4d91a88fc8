#pragma once

#include "runtime/core/types.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

// Kind of content of a network buffer. Data buffers contain serialized stream
// elements (records, watermarks); the others are in-band events that travel
// as buffers of their own, in order with the data.
enum class BufferKind : uint8_t {
    kData,
    kEndOfPartition,
    kCheckpointBarrier,
};

// Tags of the stream elements inside a data buffer.
enum class ElementTag : uint8_t {
    kRecord = 0,          // int64 timestamp, then the serialized value
    kWatermark = 1,       // int64 watermark
    kWatermarkStatus = 2  // uint8: 1 idle, 0 active
};

// Flags of checkpoint barriers.
constexpr uint64_t kBarrierPriority = 1;   // unaligned: overtakes queued buffers
constexpr uint64_t kBarrierSavepoint = 2;  // the checkpoint is a savepoint

// One network buffer. Move-only: the memory segment travels with the buffer
// from producer to consumer and returns to its MemorySegmentPool when the
// consumer releases it.
struct NetworkBuffer {
    BufferKind kind = BufferKind::kData;
    std::unique_ptr<uint8_t[]> memory;
    uint32_t size_bytes = 0;
    uint32_t record_count = 0;
    // Position in its channel, starting at 0; lets tests and the GUI check
    // order and name persisted buffers.
    int64_t sequence = 0;
    // Payload of event buffers: for a checkpoint barrier, the checkpoint id,
    // its trigger time and kBarrier* flags.
    int64_t event_value = 0;
    uint64_t event_flags = 0;
    Nanos event_time_ns = 0;
    // Priority barriers: data buffers that were queued in the receiving
    // channel when the barrier arrived and overtook them.
    int32_t overtaken_buffers = 0;

    bool isEvent() const { return kind != BufferKind::kData; }
    bool isPriorityEvent() const {
        return kind == BufferKind::kCheckpointBarrier && (event_flags & kBarrierPriority);
    }
};

// A data buffer copied into a checkpoint as channel state.
struct PersistedBuffer {
    bool input = true;  // an input channel, or else a result subpartition
    int gate_or_partition = 0;
    int channel = 0;  // input channel or subpartition index
    int64_t sequence = 0;
    std::string data;
};

// Free list of equally sized memory segments, so buffers are not allocated
// per send.
//
// Thread safety: none; one pool per simulated cluster.
class MemorySegmentPool {
public:
    explicit MemorySegmentPool(uint32_t segment_size_bytes)
        : segment_size_bytes_(segment_size_bytes) {}

    uint32_t segmentSizeBytes() const { return segment_size_bytes_; }

    std::unique_ptr<uint8_t[]> acquire() {
        if (free_.empty()) {
            return std::make_unique_for_overwrite<uint8_t[]>(segment_size_bytes_);
        }
        auto segment = std::move(free_.back());
        free_.pop_back();
        return segment;
    }

    void release(std::unique_ptr<uint8_t[]> segment) {
        if (segment) {
            free_.push_back(std::move(segment));
        }
    }

private:
    uint32_t segment_size_bytes_;
    std::vector<std::unique_ptr<uint8_t[]>> free_;
};

// Credit-based flow control settings, with Flink's defaults.
struct NetworkConfig {
    uint32_t buffer_size_bytes = 32 * 1024;
    int buffers_per_channel = 2;
    int floating_buffers_per_gate = 8;
    int64_t buffer_timeout_ns = 100'000'000;
};

}  // namespace sluice
