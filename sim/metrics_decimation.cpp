#include "sim/metrics_decimation.h"

#include <algorithm>

namespace sluice::sim {

std::vector<size_t> decimatedPositions(const std::vector<double>& values, size_t max_points) {
    size_t count = values.size();
    std::vector<size_t> kept;
    if (max_points == 0 || count <= std::max<size_t>(max_points, 2)) {
        kept.resize(count);
        for (size_t i = 0; i < count; ++i) {
            kept[i] = i;
        }
        return kept;
    }
    // Two points (minimum and maximum) per bucket between first and last.
    size_t buckets = (std::max<size_t>(max_points, 2) - 2) / 2;
    size_t inner = count - 2;
    kept.push_back(0);
    for (size_t b = 0; b < buckets; ++b) {
        size_t begin = 1 + inner * b / buckets;
        size_t end = 1 + inner * (b + 1) / buckets;
        if (begin == end) {
            continue;
        }
        auto first = values.begin() + std::ptrdiff_t(begin);
        auto last = values.begin() + std::ptrdiff_t(end);
        auto [low, high] = std::minmax_element(first, last);
        size_t low_position = size_t(low - values.begin());
        size_t high_position = size_t(high - values.begin());
        kept.push_back(std::min(low_position, high_position));
        if (low_position != high_position) {
            kept.push_back(std::max(low_position, high_position));
        }
    }
    kept.push_back(count - 1);
    return kept;
}

}  // namespace sluice::sim
