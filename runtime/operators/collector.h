#pragma once

#include "runtime/core/types.h"
#include "runtime/operators/output.h"

namespace sluice {

// Emits records from user functions, with the timestamp of the record being
// processed unless one is given.
template <class T>
class Collector {
public:
    Collector(Output<T>* output, TimestampMs timestamp) : output_(output), timestamp_(timestamp) {}

    void collect(const T& value) { output_->collect(value, timestamp_); }
    void collectWithTimestamp(const T& value, TimestampMs timestamp) {
        output_->collect(value, timestamp);
    }
    void setTimestamp(TimestampMs timestamp) { timestamp_ = timestamp; }

private:
    Output<T>* output_;
    TimestampMs timestamp_;
};

}  // namespace sluice
