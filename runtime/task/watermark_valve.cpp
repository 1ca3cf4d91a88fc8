#include "runtime/task/watermark_valve.h"

#include <algorithm>

namespace sluice {

bool WatermarkValve::inputWatermark(int channel, TimestampMs watermark) {
    Channel& c = channels_[size_t(channel)];
    c.watermark = std::max(c.watermark, watermark);
    c.idle = false;
    return recompute();
}

bool WatermarkValve::inputStatus(int channel, bool idle) {
    channels_[size_t(channel)].idle = idle;
    return recompute();
}

bool WatermarkValve::channelFinished(int channel) {
    Channel& c = channels_[size_t(channel)];
    c.finished = true;
    c.watermark = kMaxWatermark;
    return recompute();
}

bool WatermarkValve::recompute() {
    TimestampMs combined = kMaxWatermark;
    bool any_active = false;
    for (const Channel& c : channels_) {
        if (c.idle && !c.finished) {
            continue;
        }
        any_active = true;
        combined = std::min(combined, c.watermark);
    }
    bool changed = false;
    bool idle = !any_active;
    if (idle != idle_) {
        idle_ = idle;
        changed = true;
    }
    if (any_active && combined > watermark_) {
        watermark_ = combined;
        changed = true;
    }
    return changed;
}

}  // namespace sluice
