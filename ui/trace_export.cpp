#include "ui/trace_export.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <array>
#include <set>
#include <utility>

namespace sluice::ui {

namespace {

constexpr double kNanosPerMicro = 1000.0;
constexpr int kJobPid = 0;

double micros(int64_t ns) {
    return double(ns) / kNanosPerMicro;
}

int pidOf(int vertex) {
    return vertex + 1;
}

int tidOf(int subtask) {
    return subtask + 1;
}

QJsonObject metadata(const char* name, int pid, int tid, const QString& value) {
    return QJsonObject{{"ph", "M"},
                       {"name", name},
                       {"pid", pid},
                       {"tid", tid},
                       {"args", QJsonObject{{"name", value}}}};
}

QJsonObject span(const QString& name, const char* category, int pid, int tid, int64_t start_ns,
                 int64_t duration_ns, QJsonObject args = {}) {
    return QJsonObject{{"ph", "X"},
                       {"name", name},
                       {"cat", category},
                       {"pid", pid},
                       {"tid", tid},
                       {"ts", micros(start_ns)},
                       {"dur", micros(duration_ns)},
                       {"args", args}};
}

QJsonObject instant(const QString& name, const char* category, int pid, int tid, int64_t time_ns,
                    const char* scope, const QString& text) {
    return QJsonObject{{"ph", "i"},       {"name", name},
                       {"cat", category}, {"pid", pid},
                       {"tid", tid},      {"ts", micros(time_ns)},
                       {"s", scope},      {"args", QJsonObject{{"text", text}}}};
}

void addTrackNames(const protocol::CheckpointDetails& details,
                   const std::vector<protocol::Event>& events, QJsonArray* out) {
    std::set<std::pair<int, int>> subtasks;
    for (const auto& checkpoint : details.checkpoints()) {
        for (const auto& subtask : checkpoint.subtasks()) {
            subtasks.insert({subtask.vertex(), subtask.subtask()});
        }
    }
    for (const auto& event : events) {
        if (event.vertex() >= 0) {
            subtasks.insert({event.vertex(), event.subtask()});
        }
    }
    out->append(metadata("process_name", kJobPid, 0, QStringLiteral("Job")));
    std::set<int> vertices;
    for (const auto& [vertex, subtask] : subtasks) {
        QString task = vertex < details.vertex_names_size()
                           ? QString::fromStdString(details.vertex_names(vertex))
                           : QStringLiteral("vertex %1").arg(vertex);
        if (vertices.insert(vertex).second) {
            out->append(metadata("process_name", pidOf(vertex), 0, task));
        }
        out->append(metadata("thread_name", pidOf(vertex), tidOf(subtask),
                             QStringLiteral("%1 #%2").arg(task).arg(subtask)));
    }
}

// The four phases of one acknowledged subtask at their simulated times.
// Start delay and alignment run from the trigger to the last barrier; the
// synchronous and asynchronous parts end at the acknowledgement. Between
// them the task may wait (for a core, or behind buffered records), which
// shows as a gap inside the checkpoint span.
struct PhaseSpan {
    const char* name;
    int64_t start_ns;
    int64_t duration_ns;
};

std::array<PhaseSpan, 4> phaseSpans(int64_t trigger_ns,
                                    const protocol::CheckpointSubtaskDetail& subtask) {
    int64_t aligned_ns = trigger_ns + subtask.start_delay_ns();
    int64_t async_start_ns = subtask.ack_time_ns() - subtask.async_duration_ns();
    int64_t sync_start_ns = async_start_ns - subtask.sync_duration_ns();
    // An unaligned snapshot starts at the first barrier while the remaining
    // barriers still arrive. Trace viewers expect nested spans not to
    // overlap, so the alignment span ends at the snapshot.
    int64_t alignment_ns =
        std::max<int64_t>(0, std::min(subtask.alignment_duration_ns(), sync_start_ns - aligned_ns));
    return {{{"start delay", trigger_ns, subtask.start_delay_ns()},
             {"alignment", aligned_ns, alignment_ns},
             {"sync", sync_start_ns, subtask.sync_duration_ns()},
             {"async", async_start_ns, subtask.async_duration_ns()}}};
}

void addCheckpointSpans(const protocol::CheckpointDetail& checkpoint, QJsonArray* out) {
    int64_t id = checkpoint.mark().checkpoint_id();
    int64_t trigger_ns = checkpoint.mark().trigger_ns();
    for (const auto& subtask : checkpoint.subtasks()) {
        if (!subtask.acknowledged()) {
            continue;
        }
        int pid = pidOf(subtask.vertex());
        int tid = tidOf(subtask.subtask());
        QJsonObject args{{"checkpoint_id", qint64(id)},
                         {"status", QString::fromStdString(checkpoint.mark().status())},
                         {"processed_bytes", qint64(subtask.processed_bytes())},
                         {"persisted_bytes", qint64(subtask.persisted_bytes())},
                         {"unaligned", subtask.unaligned()},
                         {"state_size_bytes", qint64(subtask.state_size_bytes())},
                         {"alignment_duration_ns", qint64(subtask.alignment_duration_ns())}};
        out->append(span(QStringLiteral("checkpoint %1").arg(id), "checkpoint", pid, tid,
                         trigger_ns, subtask.ack_time_ns() - trigger_ns, args));
        for (const PhaseSpan& phase : phaseSpans(trigger_ns, subtask)) {
            out->append(span(QLatin1String(phase.name), "checkpoint-phase", pid, tid,
                             phase.start_ns, phase.duration_ns,
                             QJsonObject{{"checkpoint_id", qint64(id)}}));
        }
    }
}

void addInstant(const protocol::Event& event, QJsonArray* out) {
    QString text = QString::fromStdString(event.text());
    switch (event.kind()) {
        case protocol::Event::BARRIER_EMITTED:
        case protocol::Event::BARRIER_RECEIVED:
        case protocol::Event::BARRIER_ALIGNED:
        case protocol::Event::BARRIER_FORWARDED: {
            QString name = QString::fromStdString(protocol::Event::Kind_Name(event.kind()))
                               .toLower()
                               .replace('_', ' ');
            out->append(instant(QStringLiteral("%1 %2").arg(name).arg(event.checkpoint_id()),
                                "barrier", pidOf(event.vertex()), tidOf(event.subtask()),
                                event.time_ns(), "t", text));
            break;
        }
        case protocol::Event::FAULT:
            out->append(
                instant(QStringLiteral("fault"), "fault", kJobPid, 0, event.time_ns(), "g", text));
            break;
        case protocol::Event::CHECKPOINT_COMPLETED:
        case protocol::Event::CHECKPOINT_FAILED: {
            bool completed = event.kind() == protocol::Event::CHECKPOINT_COMPLETED;
            out->append(instant(QStringLiteral("checkpoint %1 %2")
                                    .arg(event.checkpoint_id())
                                    .arg(completed ? "completed" : "failed"),
                                "checkpoint", kJobPid, 0, event.time_ns(), "g", text));
            break;
        }
        default:
            break;
    }
}

}  // namespace

QByteArray chromeTraceJson(const protocol::CheckpointDetails& details,
                           const std::vector<protocol::Event>& events) {
    QJsonArray trace_events;
    addTrackNames(details, events, &trace_events);
    for (const auto& checkpoint : details.checkpoints()) {
        addCheckpointSpans(checkpoint, &trace_events);
    }
    for (const auto& event : events) {
        addInstant(event, &trace_events);
    }
    QJsonObject root{{"traceEvents", trace_events}, {"displayTimeUnit", "ms"}};
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

}  // namespace sluice::ui
