#include "sim/metrics.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <iomanip>

namespace sluice::sim {

const char* metricName(Metric metric) {
    switch (metric) {
        case Metric::kBusyTimeMsPerSecond:
            return "busyTimeMsPerSecond";
        case Metric::kIdleTimeMsPerSecond:
            return "idleTimeMsPerSecond";
        case Metric::kBackPressuredTimeMsPerSecond:
            return "backPressuredTimeMsPerSecond";
        case Metric::kNumRecordsInPerSecond:
            return "numRecordsInPerSecond";
        case Metric::kNumRecordsOutPerSecond:
            return "numRecordsOutPerSecond";
        case Metric::kInPoolUsage:
            return "inPoolUsage";
        case Metric::kOutPoolUsage:
            return "outPoolUsage";
        case Metric::kInputQueueLength:
            return "inputQueueLength";
        case Metric::kOutputQueueLength:
            return "outputQueueLength";
        case Metric::kInputExclusiveBuffersUsage:
            return "inputExclusiveBuffersUsage";
        case Metric::kInputFloatingBuffersUsage:
            return "inputFloatingBuffersUsage";
        case Metric::kCurrentInputWatermark:
            return "currentInputWatermark";
    }
    return "unknown";
}

const char* backpressureStatus(double ratio) {
    if (ratio < 0.10) {
        return "OK";
    }
    return ratio <= 0.50 ? "LOW" : "HIGH";
}

void MetricsRecorder::sample(Nanos now, const std::vector<const StreamTask*>& tasks) {
    int64_t time_ms = now / kNanosPerMilli;
    for (const StreamTask* task : tasks) {
        auto key = std::make_pair(task->id().vertex, task->id().subtask);
        TaskCounters counters = task->counters();
        auto [it, inserted] = previous_.try_emplace(key);
        Previous& previous = it->second;
        if (previous.attempt != task->attempt()) {
            // A restarted task counts from zero. It existed only for part of
            // this interval, so its times sum to less than 1000 ms per second.
            previous.counters = TaskCounters{};
            previous.attempt = task->attempt();
        }
        Nanos elapsed = now - previous.time_ns;
        if (!inserted && elapsed <= 0) {
            continue;
        }
        auto add = [&](Metric metric, double value) {
            samples_.push_back({time_ms, key.first, key.second, metric, value});
        };
        if (elapsed > 0) {
            double per_second = double(kNanosPerSecond) / double(elapsed);
            const TaskCounters& before = previous.counters;
            // Time metrics: milliseconds of that activity per second.
            add(Metric::kBusyTimeMsPerSecond,
                double(counters.busy_ns - before.busy_ns) / 1e6 * per_second);
            add(Metric::kIdleTimeMsPerSecond,
                double(counters.idle_ns - before.idle_ns) / 1e6 * per_second);
            add(Metric::kBackPressuredTimeMsPerSecond,
                double(counters.backpressured_ns - before.backpressured_ns) / 1e6 * per_second);
            add(Metric::kNumRecordsInPerSecond,
                double(counters.records_in - before.records_in) * per_second);
            add(Metric::kNumRecordsOutPerSecond,
                double(counters.records_out - before.records_out) * per_second);
        }
        StreamTask& mutable_task = const_cast<StreamTask&>(*task);
        double in_pool = 0;
        double exclusive = 0;
        double floating = 0;
        int input_queue = 0;
        for (int g = 0; g < task->gateCount(); ++g) {
            InputGate& gate = mutable_task.gate(g);
            in_pool += gate.poolUsage();
            exclusive += gate.exclusiveBuffersUsage();
            floating += gate.floatingBuffersUsage();
            input_queue += gate.queuedBuffers();
        }
        double out_pool = 0;
        int output_queue = 0;
        for (int p = 0; p < task->partitionCount(); ++p) {
            ResultPartition& partition = mutable_task.partition(p);
            out_pool += partition.poolUsage();
            output_queue += partition.queuedBuffers();
        }
        int gates = std::max(1, task->gateCount());
        int partitions = std::max(1, task->partitionCount());
        add(Metric::kInPoolUsage, in_pool / gates);
        add(Metric::kOutPoolUsage, out_pool / partitions);
        add(Metric::kInputQueueLength, input_queue);
        add(Metric::kOutputQueueLength, output_queue);
        add(Metric::kInputExclusiveBuffersUsage, exclusive / gates);
        add(Metric::kInputFloatingBuffersUsage, floating / gates);
        if (task->gateCount() > 0) {
            add(Metric::kCurrentInputWatermark, double(task->currentInputWatermark()));
        }
        previous.time_ns = now;
        previous.counters = counters;
    }
}

void MetricsRecorder::writeCsv(std::ostream& out,
                               const std::vector<std::string>& vertex_names) const {
    out << "time_ms,task,subtask,metric,value\n";
    char value[64];
    for (const MetricSample& s : samples_) {
        if (s.value >= 9.2e18 || s.value <= -9.2e18) {
            // Watermarks of Long.MAX_VALUE / MIN_VALUE, as Flink reports them.
            std::snprintf(value, sizeof(value), "%lld", s.value > 0 ? LLONG_MAX : LLONG_MIN);
        } else if (std::floor(s.value) == s.value) {
            std::snprintf(value, sizeof(value), "%lld", static_cast<long long>(s.value));
        } else {
            std::snprintf(value, sizeof(value), "%.6g", s.value);
        }
        const std::string& name = vertex_names.at(size_t(s.vertex));
        bool quote = name.find(',') != std::string::npos || name.find('"') != std::string::npos;
        out << s.time_ms << ',';
        if (quote) {
            out << '"';
            for (char c : name) {
                out << (c == '"' ? "\"\"" : std::string(1, c));
            }
            out << '"';
        } else {
            out << name;
        }
        out << ',' << s.subtask << ',' << metricName(s.metric) << ',' << value << '\n';
    }
}

}  // namespace sluice::sim
