#pragma once

#include "proto/engine_protocol.pb.h"

#include <QString>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace sluice::ui {

// One metric series: a task (vertex name, empty for job-level metrics), a
// 0-based subtask (-1 for job-level metrics) and a metric name.
struct MetricSeriesKey {
    std::string task;
    int subtask = 0;
    std::string metric;

    bool operator<(const MetricSeriesKey& other) const {
        return std::tie(task, subtask, metric) < std::tie(other.task, other.subtask, other.metric);
    }
    bool operator==(const MetricSeriesKey& other) const = default;
};

struct MetricPoint {
    int64_t time_ms = 0;
    double value = 0;
};

// The unit of a metric of the engine protocol, for axis titles, such as
// "ms/s" for busyTimeMsPerSecond. Returns an empty string for unknown names.
QString metricUnit(const std::string& metric);

// The metric samples the GUI has fetched so far, by series, in time order.
// Each series keeps at most maxPointsPerSeries() points: when it grows past
// that, it is decimated to half, keeping first, last and bucket extremes.
//
// Threading: GUI thread only.
class MetricsHistory {
public:
    explicit MetricsHistory(size_t max_points_per_series = 5000);

    // Appends the samples of `page`, the reply to a query from `from_ms`
    // on. For each series in `page`, the points at or after `from_ms` that
    // an earlier page brought are replaced, so pages may overlap.
    void append(const protocol::MetricsPage& page, int64_t from_ms);
    void clear();

    // The latest sample time of any series, or -1 when empty.
    int64_t lastTimeMs() const { return last_time_ms_; }
    size_t maxPointsPerSeries() const { return max_points_; }
    const std::map<MetricSeriesKey, std::vector<MetricPoint>>& series() const { return series_; }
    const std::vector<MetricPoint>* points(const MetricSeriesKey& key) const;

    // The samples of `keys` with from_ms <= time_ms <= to_ms, ordered by
    // time and then by series, in the long format of `sluice-run
    // --metrics-csv`.
    protocol::MetricsPage page(const std::vector<MetricSeriesKey>& keys, int64_t from_ms,
                               int64_t to_ms) const;

private:
    void bound(std::vector<MetricPoint>* points) const;

    size_t max_points_;
    int64_t last_time_ms_ = -1;
    std::map<MetricSeriesKey, std::vector<MetricPoint>> series_;
};

}  // namespace sluice::ui
