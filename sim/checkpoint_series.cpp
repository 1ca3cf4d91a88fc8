#include "sim/checkpoint_series.h"

#include <algorithm>
#include <string>
#include <vector>

namespace sluice::sim {

namespace {

class SeriesWriter {
public:
    SeriesWriter(int64_t from_ns, const google::protobuf::RepeatedPtrField<std::string>& metrics,
                 protocol::MetricsPage* page)
        : from_ns_(from_ns), metrics_(metrics), page_(page) {}

    void add(Nanos time_ns, const std::string& task, int subtask, const char* metric,
             double value) {
        if (time_ns < from_ns_) {
            return;
        }
        if (!metrics_.empty() &&
            std::find(metrics_.begin(), metrics_.end(), metric) == metrics_.end()) {
            return;
        }
        protocol::MetricSample* sample = page_->add_samples();
        sample->set_time_ms(time_ns / kNanosPerMilli);
        sample->set_task(task);
        sample->set_subtask(subtask);
        sample->set_metric(metric);
        sample->set_value(value);
    }

private:
    int64_t from_ns_;
    const google::protobuf::RepeatedPtrField<std::string>& metrics_;
    protocol::MetricsPage* page_;
};

void addCheckpoint(const CheckpointStats& stats, const std::vector<std::string>& names,
                   SeriesWriter* writer) {
    Nanos end_ns = stats.end_time_ns;
    const std::string job;
    writer->add(end_ns, job, -1, "lastCheckpointDuration",
                double(stats.endToEndDurationNs() / kNanosPerMilli));
    writer->add(end_ns, job, -1, "lastCheckpointSize", double(stats.checkpointed_size_bytes));
    writer->add(end_ns, job, -1, "lastCheckpointFullSize", double(stats.full_size_bytes));
    writer->add(end_ns, job, -1, "lastCheckpointProcessedData", double(stats.processed_bytes));
    writer->add(end_ns, job, -1, "lastCheckpointPersistedData", double(stats.persisted_bytes));
    for (const SubtaskCheckpointStats& subtask : stats.subtasks) {
        if (!subtask.acknowledged) {
            continue;
        }
        const std::string& task = names.at(size_t(subtask.vertex));
        writer->add(end_ns, task, subtask.subtask, "checkpointAlignmentTime",
                    double(subtask.alignment_duration_ns));
        writer->add(end_ns, task, subtask.subtask, "checkpointStartDelayNanos",
                    double(subtask.start_delay_ns));
    }
}

}  // namespace

void appendCheckpointSeries(const Engine& engine, int64_t from_ns,
                            const google::protobuf::RepeatedPtrField<std::string>& metrics,
                            protocol::MetricsPage* page) {
    SeriesWriter writer(from_ns, metrics, page);
    std::vector<std::string> names = engine.vertexNames();
    for (const CheckpointStats& stats : engine.checkpointHistory()) {
        if (stats.status == CheckpointStatus::kCompleted) {
            addCheckpoint(stats, names, &writer);
        }
    }
    writer.add(0, std::string(), -1, "numRestarts", 0);
    int restarts = 0;
    for (const auto& [failure_ns, running_ns] : engine.recoveries()) {
        writer.add(failure_ns, std::string(), -1, "numRestarts", ++restarts);
    }
}

}  // namespace sluice::sim
