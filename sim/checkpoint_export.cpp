#include "sim/checkpoint_export.h"

#include <algorithm>
#include <cstdio>

namespace sluice::sim {

namespace {

double ms(Nanos ns) {
    return double(ns) / double(kNanosPerMilli);
}

// Whole milliseconds, as Flink's REST API writes timestamps and durations.
std::string msText(Nanos ns) {
    return std::to_string((ns + kNanosPerMilli / 2) / kNanosPerMilli);
}

std::string jsonString(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
                    out += escaped;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.3f", value);
    return text;
}

const char* checkpointType(const CheckpointStats& stats) {
    if (stats.savepoint) {
        return "SAVEPOINT";
    }
    return stats.unaligned ? "UNALIGNED_CHECKPOINT" : "CHECKPOINT";
}

// Min, max and average of a statistic over completed checkpoints, as in
// Flink's "summary" object.
std::string summaryOf(const std::vector<CheckpointStats>& history,
                      int64_t (*value)(const CheckpointStats&)) {
    int64_t min = 0;
    int64_t max = 0;
    int64_t sum = 0;
    int count = 0;
    for (const auto& stats : history) {
        if (stats.status != CheckpointStatus::kCompleted) {
            continue;
        }
        int64_t v = value(stats);
        min = count == 0 ? v : std::min(min, v);
        max = count == 0 ? v : std::max(max, v);
        sum += v;
        ++count;
    }
    return "{\"min\": " + std::to_string(min) + ", \"max\": " + std::to_string(max) +
           ", \"avg\": " + std::to_string(count ? sum / count : 0) + "}";
}

void writeHistoryEntry(std::ostream& out, const CheckpointStats& stats,
                       const std::vector<std::string>& vertex_names) {
    const char* klass = stats.status == CheckpointStatus::kCompleted ? "completed"
                        : stats.status == CheckpointStatus::kFailed  ? "failed"
                                                                     : "in_progress";
    out << "{\"@class\": \"" << klass << "\", \"id\": " << stats.id << ", \"status\": \""
        << checkpointStatusName(stats.status)
        << "\", \"is_savepoint\": " << (stats.savepoint ? "true" : "false")
        << ", \"checkpoint_type\": \"" << checkpointType(stats)
        << "\", \"trigger_timestamp\": " << msText(stats.trigger_time_ns)
        << ", \"latest_ack_timestamp\": " << msText(stats.latest_ack_ns)
        << ", \"checkpointed_size\": " << stats.checkpointed_size_bytes
        << ", \"state_size\": " << stats.full_size_bytes
        << ", \"end_to_end_duration\": " << msText(stats.endToEndDurationNs())
        << ", \"alignment_buffered\": 0, \"processed_data\": " << stats.processed_bytes
        << ", \"persisted_data\": " << stats.persisted_bytes
        << ", \"num_subtasks\": " << stats.total_subtasks
        << ", \"num_acknowledged_subtasks\": " << stats.acknowledged_subtasks;
    if (stats.status == CheckpointStatus::kFailed) {
        out << ", \"failure_timestamp\": " << msText(stats.end_time_ns)
            << ", \"failure_message\": " << jsonString(stats.failure_cause);
    }
    out << ", \"tasks\": {";
    bool first = true;
    for (size_t v = 0; v < vertex_names.size(); ++v) {
        int total = 0;
        int acked = 0;
        Nanos latest = 0;
        for (const auto& subtask : stats.subtasks) {
            if (subtask.vertex == int(v)) {
                ++total;
                acked += subtask.acknowledged ? 1 : 0;
                latest = std::max(latest, subtask.ack_time_ns);
            }
        }
        if (total == 0) {
            continue;
        }
        out << (first ? "" : ", ") << jsonString(vertex_names[v])
            << ": {\"num_subtasks\": " << total << ", \"num_acknowledged_subtasks\": " << acked
            << ", \"latest_ack_timestamp\": " << msText(latest) << "}";
        first = false;
    }
    out << "}}";
}

}  // namespace

std::string csvField(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos) {
        return text;
    }
    std::string quoted = "\"";
    for (char c : text) {
        quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return quoted + "\"";
}

void writeCheckpointsCsv(std::ostream& out, const std::vector<CheckpointStats>& history,
                         const std::vector<std::string>& vertex_names) {
    out << "checkpoint_id,status,is_savepoint,trigger_time_ms,end_to_end_duration_ms,"
           "checkpointed_size_bytes,full_size_bytes,task,subtask,acknowledged,ack_time_ms,"
           "sync_duration_ms,async_duration_ms,alignment_duration_ms,start_delay_ms,unaligned,"
           "processed_bytes,persisted_bytes,failure_cause\n";
    for (const auto& stats : history) {
        for (const auto& subtask : stats.subtasks) {
            out << stats.id << ',' << checkpointStatusName(stats.status) << ','
                << (stats.savepoint ? "true" : "false") << ',' << number(ms(stats.trigger_time_ns))
                << ',' << number(ms(stats.endToEndDurationNs())) << ','
                << stats.checkpointed_size_bytes << ',' << stats.full_size_bytes << ','
                << csvField(vertex_names.at(size_t(subtask.vertex))) << ',' << subtask.subtask
                << ',' << (subtask.acknowledged ? "true" : "false") << ','
                << (subtask.acknowledged ? number(ms(subtask.ack_time_ns)) : std::string()) << ','
                << number(ms(subtask.sync_duration_ns)) << ','
                << number(ms(subtask.async_duration_ns)) << ','
                << number(ms(subtask.alignment_duration_ns)) << ','
                << number(ms(subtask.start_delay_ns)) << ','
                << (subtask.unaligned ? "true" : "false") << ',' << subtask.processed_bytes << ','
                << subtask.persisted_bytes << ',' << csvField(stats.failure_cause) << '\n';
        }
    }
}

void writeCheckpointsJson(std::ostream& out, const std::vector<CheckpointStats>& history,
                          const std::vector<std::string>& vertex_names) {
    int completed = 0;
    int failed = 0;
    int in_progress = 0;
    for (const auto& stats : history) {
        completed += stats.status == CheckpointStatus::kCompleted ? 1 : 0;
        failed += stats.status == CheckpointStatus::kFailed ? 1 : 0;
        in_progress += stats.status == CheckpointStatus::kInProgress ? 1 : 0;
    }
    out << "{\"counts\": {\"restored\": 0, \"total\": " << history.size()
        << ", \"in_progress\": " << in_progress << ", \"completed\": " << completed
        << ", \"failed\": " << failed << "},\n";
    out << " \"summary\": {\"checkpointed_size\": "
        << summaryOf(history, [](const CheckpointStats& s) { return s.checkpointed_size_bytes; })
        << ", \"state_size\": "
        << summaryOf(history, [](const CheckpointStats& s) { return s.full_size_bytes; })
        << ", \"end_to_end_duration\": "
        << summaryOf(history,
                     [](const CheckpointStats& s) {
                         return int64_t(s.endToEndDurationNs() / kNanosPerMilli);
                     })
        << ", \"processed_data\": "
        << summaryOf(history, [](const CheckpointStats& s) { return s.processed_bytes; })
        << ", \"persisted_data\": "
        << summaryOf(history, [](const CheckpointStats& s) { return s.persisted_bytes; }) << "},\n";
    const CheckpointStats* latest_completed = nullptr;
    const CheckpointStats* latest_failed = nullptr;
    const CheckpointStats* latest_savepoint = nullptr;
    for (const auto& stats : history) {
        if (stats.status == CheckpointStatus::kCompleted) {
            (stats.savepoint ? latest_savepoint : latest_completed) = &stats;
        } else if (stats.status == CheckpointStatus::kFailed) {
            latest_failed = &stats;
        }
    }
    auto latest = [&](const char* name, const CheckpointStats* stats, bool last) {
        out << "  \"" << name << "\": ";
        if (stats) {
            writeHistoryEntry(out, *stats, vertex_names);
        } else {
            out << "null";
        }
        out << (last ? "\n" : ",\n");
    };
    out << " \"latest\": {\n";
    latest("completed", latest_completed, false);
    latest("savepoint", latest_savepoint, false);
    latest("failed", latest_failed, false);
    out << "  \"restored\": null\n },\n \"history\": [\n";
    // Flink lists the newest checkpoint first.
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
        out << "  ";
        writeHistoryEntry(out, *it, vertex_names);
        out << (std::next(it) == history.rend() ? "\n" : ",\n");
    }
    out << " ]\n}\n";
}

}  // namespace sluice::sim
