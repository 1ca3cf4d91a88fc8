#include "runtime/operators/window_operator.h"

#include <algorithm>

namespace sluice {

namespace {
// Floor division that rounds toward minus infinity for negative timestamps.
TimestampMs floorToMultiple(TimestampMs value, TimestampMs step) {
    TimestampMs remainder = value % step;
    return remainder < 0 ? value - remainder - step : value - remainder;
}
}  // namespace

std::vector<TimeWindow> WindowSpec::assign(TimestampMs timestamp) const {
    std::vector<TimeWindow> windows;
    TimestampMs last_start = floorToMultiple(timestamp, slide_ms);
    for (TimestampMs start = last_start; start > timestamp - size_ms; start -= slide_ms) {
        windows.push_back({start, start + size_ms});
    }
    std::reverse(windows.begin(), windows.end());
    return windows;
}

}  // namespace sluice
