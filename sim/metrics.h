#pragma once

#include "runtime/core/types.h"
#include "runtime/task/stream_task.h"

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace sluice::sim {

// Per-subtask metrics with Flink's names and meanings.
enum class Metric : uint8_t {
    kBusyTimeMsPerSecond,
    kIdleTimeMsPerSecond,
    kBackPressuredTimeMsPerSecond,
    kNumRecordsInPerSecond,
    kNumRecordsOutPerSecond,
    kInPoolUsage,
    kOutPoolUsage,
    kInputQueueLength,
    kOutputQueueLength,
    kInputExclusiveBuffersUsage,
    kInputFloatingBuffersUsage,
    kCurrentInputWatermark,
};
constexpr int kMetricCount = 12;

const char* metricName(Metric metric);

struct MetricSample {
    int64_t time_ms = 0;
    int vertex = 0;
    int subtask = 0;
    Metric metric = Metric::kBusyTimeMsPerSecond;
    double value = 0;
};

// Backpressure status of a subtask from its backpressured share of time:
// OK below 10 %, LOW up to 50 %, HIGH above, as in Flink's web UI.
const char* backpressureStatus(double backpressured_ratio);

// Samples every task at fixed simulated intervals and keeps the series.
// Rates are the difference of two samples divided by the interval.
class MetricsRecorder {
public:
    void sample(Nanos now, const std::vector<const StreamTask*>& tasks);

    const std::vector<MetricSample>& samples() const { return samples_; }
    // Writes the tidy long format `time_ms,task,subtask,metric,value`; task
    // is the vertex name, subtask is 0-based.
    void writeCsv(std::ostream& out, const std::vector<std::string>& vertex_names) const;

private:
    struct Previous {
        Nanos time_ns = 0;
        TaskCounters counters;
        int64_t attempt = 0;
    };
    std::map<std::pair<int, int>, Previous> previous_;
    std::vector<MetricSample> samples_;
};

}  // namespace sluice::sim
