#pragma once

#include <cstdint>

namespace sluice {

// Simulated or wall-clock time in nanoseconds since the start of a run.
using Nanos = int64_t;

constexpr Nanos kNanosPerMicro = 1'000;
constexpr Nanos kNanosPerMilli = 1'000'000;
constexpr Nanos kNanosPerSecond = 1'000'000'000;

// Event-time timestamp in milliseconds, as Flink's StreamRecord carries it.
using TimestampMs = int64_t;

// Smallest watermark: nothing has been promised yet.
constexpr TimestampMs kMinWatermark = INT64_MIN;
// Largest watermark: the input is finished.
constexpr TimestampMs kMaxWatermark = INT64_MAX;

}  // namespace sluice
