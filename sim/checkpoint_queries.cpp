#include "sim/checkpoint_queries.h"

#include "sim/checkpoint_export.h"
#include "sim/telemetry_frame.h"

#include <sstream>

namespace sluice::sim {

namespace {

protocol::CheckpointSubtaskDetail subtaskDetail(const Engine& engine,
                                                const CheckpointStats& checkpoint,
                                                const SubtaskCheckpointStats& stats) {
    protocol::CheckpointSubtaskDetail detail;
    detail.set_vertex(stats.vertex);
    detail.set_subtask(stats.subtask);
    detail.set_acknowledged(stats.acknowledged);
    detail.set_ack_time_ns(stats.ack_time_ns);
    detail.set_start_delay_ns(stats.start_delay_ns);
    detail.set_alignment_duration_ns(stats.alignment_duration_ns);
    detail.set_sync_duration_ns(stats.sync_duration_ns);
    detail.set_async_duration_ns(stats.async_duration_ns);
    detail.set_processed_bytes(stats.processed_bytes);
    detail.set_persisted_bytes(stats.persisted_bytes);
    detail.set_unaligned(stats.unaligned);
    detail.set_state_size_bytes(stats.state_size_bytes);
    detail.set_incremental_size_bytes(stats.incremental_size_bytes);
    if (const auto* progress =
            engine.checkpointProgress(checkpoint.id, stats.vertex, stats.subtask)) {
        // A barrier can still arrive after its checkpoint expired; what the
        // subtask did after the end is not part of this checkpoint.
        bool ended = checkpoint.status != CheckpointStatus::kInProgress;
        auto reached = [&](Nanos at) {
            return at < 0 || (ended && at > checkpoint.end_time_ns) ? 0 : at;
        };
        detail.set_first_barrier_ns(reached(progress->first_barrier_ns));
        detail.set_all_barriers_ns(reached(progress->all_barriers_ns));
        detail.set_snapshot_ns(reached(progress->snapshot_ns));
    }
    return detail;
}

}  // namespace

protocol::CheckpointDetails queryCheckpointDetails(
    const Engine& engine, const std::map<int64_t, uint64_t>& trigger_events) {
    protocol::CheckpointDetails details;
    for (const std::string& name : engine.vertexNames()) {
        details.add_vertex_names(name);
    }
    for (const CheckpointStats& stats : engine.checkpointHistory()) {
        protocol::CheckpointDetail* detail = details.add_checkpoints();
        *detail->mutable_mark() = checkpointMark(engine, stats, trigger_events);
        detail->set_latest_ack_ns(stats.latest_ack_ns);
        detail->set_end_to_end_duration_ns(stats.endToEndDurationNs());
        detail->set_acknowledged_subtasks(stats.acknowledged_subtasks);
        detail->set_total_subtasks(stats.total_subtasks);
        detail->set_checkpointed_size_bytes(stats.checkpointed_size_bytes);
        detail->set_full_size_bytes(stats.full_size_bytes);
        detail->set_processed_bytes(stats.processed_bytes);
        detail->set_persisted_bytes(stats.persisted_bytes);
        detail->set_unaligned(stats.unaligned);
        for (const SubtaskCheckpointStats& subtask : stats.subtasks) {
            *detail->add_subtasks() = subtaskDetail(engine, stats, subtask);
        }
    }
    return details;
}

protocol::CheckpointSharedState queryCheckpointSharedState(const Engine& engine) {
    protocol::CheckpointSharedState state;
    for (const SharedStateRegistry::Entry& entry : engine.sharedStateRegistry().entries()) {
        protocol::CheckpointSharedFile* file = state.add_files();
        file->set_key(entry.key);
        file->set_path(entry.path);
        file->set_size_bytes(entry.size_bytes);
        file->set_reference_count(entry.reference_count);
        for (int64_t id : entry.checkpoint_ids) {
            file->add_checkpoint_ids(id);
        }
    }
    return state;
}

std::string queryCheckpointExport(const Engine& engine,
                                  const protocol::CheckpointExportQuery& query,
                                  protocol::CheckpointExport* result) {
    std::ostringstream out;
    switch (query.format()) {
        case protocol::CheckpointExportQuery::CSV:
            writeCheckpointsCsv(out, engine.checkpointHistory(), engine.vertexNames());
            break;
        case protocol::CheckpointExportQuery::JSON:
            writeCheckpointsJson(out, engine.checkpointHistory(), engine.vertexNames());
            break;
        default:
            return "invalid checkpoint export format " + std::to_string(query.format()) +
                   "; expected CSV or JSON";
    }
    result->set_data(out.str());
    return {};
}

}  // namespace sluice::sim
