#pragma once

#include "runtime/core/types.h"
#include "runtime/serialization/bytes.h"

#include <cstdint>

namespace sluice {

// Services of the task that the input processor uses while it reads a buffer.
class InputContext {
public:
    virtual bool outputAvailable() const = 0;
    // False once the running step used its share of simulated CPU time. The
    // processor then stops and the task resumes the buffer in a later step,
    // so priority events and timers are not delayed by a whole buffer.
    virtual bool stepBudgetLeft() = 0;
    // A watermark or watermark status element arrived on `channel`, a task-wide
    // channel index across all input gates.
    virtual void onWatermark(int channel, TimestampMs watermark) = 0;
    virtual void onWatermarkStatus(int channel, bool idle) = 0;

protected:
    ~InputContext() = default;
};

// Deserializes the elements of data buffers and hands them to the head
// operator of a chain. Typed implementations come from TypeInfo<T>.
class InputProcessorBase {
public:
    enum class Result {
        kBufferDone,     // every element of the buffer was processed
        kBackpressured,  // stopped before an element: no output buffer left
        kYield,          // stopped after an element: the step's budget is used up
        kCorrupt,        // the buffer contains an element that could not be read
    };

    virtual ~InputProcessorBase() = default;
    // Processes elements from `reader` until the buffer ends or output
    // becomes unavailable. The reader's position marks where to resume.
    virtual Result process(ByteReader& reader, int channel, InputContext& context) = 0;
};

}  // namespace sluice
