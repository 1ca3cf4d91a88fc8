#pragma once

#include "runtime/core/types.h"
#include "runtime/operators/stream_operator.h"

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace sluice {

// Read position of one source partition, as a checkpoint stores it.
struct PartitionOffset {
    int partition = 0;
    uint64_t offset = 0;
};

// Head operator of a source vertex. The task calls emitStep repeatedly; the
// source emits the records that are due and returns when to call again.
class SourceOperatorBase : public StreamOperatorBase {
public:
    enum class Status {
        kMoreAvailable,  // emitted max_records; call again at once
        kWaiting,        // nothing due before wake_at_ns
        kBackpressured,  // output_available() returned false
        kFinished,       // every partition is exhausted
    };

    struct StepResult {
        Status status = Status::kWaiting;
        Nanos wake_at_ns = 0;
        uint64_t records = 0;
    };

    virtual StepResult emitStep(Nanos now, uint64_t max_records,
                                const std::function<bool()>& output_available) = 0;
    virtual std::vector<PartitionOffset> offsets() const = 0;
    // Start reading each partition at the given offset, as restored from a
    // checkpoint. Called before open(); partitions not listed start at 0.
    virtual void restoreOffsets(const std::map<int, uint64_t>& offsets) = 0;
};

}  // namespace sluice
