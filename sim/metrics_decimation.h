#pragma once

// Decimation of metric series for clients that draw them, so a long run
// costs a bounded number of samples per series on the wire and on screen.

#include <cstddef>
#include <vector>

namespace sluice::sim {

// Returns the positions of `values` to keep, ascending, at most
// `max_points` of them. A series no longer than `max_points`, or
// `max_points` 0, keeps every position. Otherwise it keeps the first and
// the last position and, for equal buckets of the positions in between,
// the minimum and the maximum of each bucket, so spikes stay visible.
// A `max_points` of 1 is raised to 2 because first and last are always kept.
std::vector<size_t> decimatedPositions(const std::vector<double>& values, size_t max_points);

}  // namespace sluice::sim
