#include "ui/metrics_history.h"

#include "sim/metrics_decimation.h"

#include <algorithm>
#include <set>

namespace sluice::ui {

QString metricUnit(const std::string& metric) {
    static const std::map<std::string, QString> units = {
        {"busyTimeMsPerSecond", "ms/s"},
        {"idleTimeMsPerSecond", "ms/s"},
        {"backPressuredTimeMsPerSecond", "ms/s"},
        {"numRecordsInPerSecond", "records/s"},
        {"numRecordsOutPerSecond", "records/s"},
        {"inPoolUsage", "ratio"},
        {"outPoolUsage", "ratio"},
        {"inputExclusiveBuffersUsage", "ratio"},
        {"inputFloatingBuffersUsage", "ratio"},
        {"inputQueueLength", "buffers"},
        {"outputQueueLength", "buffers"},
        {"currentInputWatermark", "ms (event time)"},
        {"checkpointAlignmentTime", "ns"},
        {"checkpointStartDelayNanos", "ns"},
        {"lastCheckpointDuration", "ms"},
        {"lastCheckpointSize", "bytes"},
        {"lastCheckpointFullSize", "bytes"},
        {"lastCheckpointProcessedData", "bytes"},
        {"lastCheckpointPersistedData", "bytes"},
        {"numRestarts", "restarts"},
    };
    auto it = units.find(metric);
    return it == units.end() ? QString() : it->second;
}

MetricsHistory::MetricsHistory(size_t max_points_per_series)
    : max_points_(std::max<size_t>(max_points_per_series, 4)) {
}

void MetricsHistory::clear() {
    series_.clear();
    last_time_ms_ = -1;
}

void MetricsHistory::append(const protocol::MetricsPage& page, int64_t from_ms) {
    std::set<MetricSeriesKey> replaced;
    for (const protocol::MetricSample& sample : page.samples()) {
        MetricSeriesKey key{sample.task(), sample.subtask(), sample.metric()};
        std::vector<MetricPoint>& points = series_[key];
        if (replaced.insert(key).second) {
            auto overlap = std::find_if(points.begin(), points.end(),
                                        [&](const MetricPoint& p) { return p.time_ms >= from_ms; });
            points.erase(overlap, points.end());
        }
        points.push_back({sample.time_ms(), sample.value()});
        last_time_ms_ = std::max(last_time_ms_, sample.time_ms());
        if (points.size() > max_points_) {
            bound(&points);
        }
    }
}

void MetricsHistory::bound(std::vector<MetricPoint>* points) const {
    std::vector<double> values;
    values.reserve(points->size());
    for (const MetricPoint& point : *points) {
        values.push_back(point.value);
    }
    std::vector<MetricPoint> kept;
    for (size_t position : sim::decimatedPositions(values, max_points_ / 2)) {
        kept.push_back((*points)[position]);
    }
    *points = std::move(kept);
}

const std::vector<MetricPoint>* MetricsHistory::points(const MetricSeriesKey& key) const {
    auto it = series_.find(key);
    return it == series_.end() ? nullptr : &it->second;
}

protocol::MetricsPage MetricsHistory::page(const std::vector<MetricSeriesKey>& keys,
                                           int64_t from_ms, int64_t to_ms) const {
    struct Row {
        int64_t time_ms;
        size_t series;
        double value;
    };
    std::vector<Row> rows;
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::vector<MetricPoint>* series = points(keys[i]);
        for (size_t p = 0; series && p < series->size(); ++p) {
            const MetricPoint& point = (*series)[p];
            if (point.time_ms >= from_ms && point.time_ms <= to_ms) {
                rows.push_back({point.time_ms, i, point.value});
            }
        }
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const Row& a, const Row& b) { return a.time_ms < b.time_ms; });
    protocol::MetricsPage page;
    for (const Row& row : rows) {
        protocol::MetricSample* sample = page.add_samples();
        sample->set_time_ms(row.time_ms);
        sample->set_task(keys[row.series].task);
        sample->set_subtask(keys[row.series].subtask);
        sample->set_metric(keys[row.series].metric);
        sample->set_value(row.value);
    }
    return page;
}

}  // namespace sluice::ui
