#pragma once

#include "runtime/core/types.h"

namespace sluice {

// Type-erased handle of an Output<T>; the typed side is recovered with
// static_cast where graph translation guarantees the type.
class OutputBase {
public:
    virtual ~OutputBase() = default;
    virtual void emitWatermark(TimestampMs watermark) = 0;
    // Marks the stream idle (true) or active again (false), so downstream
    // watermarks stop or resume waiting for it.
    virtual void emitWatermarkStatus(bool idle) = 0;
};

// Where an operator sends its results: the next chained operator, or the
// network through a record writer.
template <class T>
class Output : public OutputBase {
public:
    virtual void collect(const T& value, TimestampMs timestamp) = 0;
};

}  // namespace sluice
