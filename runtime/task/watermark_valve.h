#pragma once

#include "runtime/core/types.h"

#include <cstddef>
#include <vector>

namespace sluice {

// Combines the watermarks of a task's input channels, like Flink's
// StatusWatermarkValve: the output watermark is the minimum over channels
// that are neither idle nor finished, and it never goes backwards.
class WatermarkValve {
public:
    explicit WatermarkValve(int channel_count) : channels_(size_t(channel_count)) {}

    // Each returns true when the combined watermark or status changed; the
    // new values are in watermark() and idle().
    bool inputWatermark(int channel, TimestampMs watermark);
    bool inputStatus(int channel, bool idle);
    bool channelFinished(int channel);

    TimestampMs watermark() const { return watermark_; }
    bool idle() const { return idle_; }

private:
    struct Channel {
        TimestampMs watermark = kMinWatermark;
        bool idle = false;
        bool finished = false;
    };

    bool recompute();

    std::vector<Channel> channels_;
    TimestampMs watermark_ = kMinWatermark;
    bool idle_ = false;
};

}  // namespace sluice
