#include "sim/engine_queries.h"

#include "runtime/graph/partitioner.h"
#include "sim/checkpoint_series.h"
#include "sim/live_state_cache.h"
#include "sim/metrics_decimation.h"
#include "sim/telemetry_frame.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <vector>

namespace sluice::sim {

namespace {

// The latest attempt of (vertex, subtask): Engine::tasks() keeps canceled
// tasks of earlier attempts until the run ends.
const StreamTask* latestTask(const Engine& engine, int vertex, int subtask) {
    const StreamTask* latest = nullptr;
    for (const StreamTask* task : engine.tasks()) {
        if (task->id().vertex == vertex && task->id().subtask == subtask &&
            (!latest || latest->attempt() < task->attempt())) {
            latest = task;
        }
    }
    return latest;
}

// A vertex is keyed when a HASH edge (keyBy) leads into it.
bool vertexIsKeyed(const Engine& engine, int vertex) {
    for (int edge : engine.jobGraph().vertex(vertex).in_edges) {
        if (engine.jobGraph().edge(edge).partitioner.kind == PartitionerKind::kHash) {
            return true;
        }
    }
    return false;
}

// Ack time of `subtask` in the latest completed checkpoint, or -1.
Nanos lastSnapshotNs(const std::vector<CheckpointStats>& history, int vertex, int subtask) {
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
        if (it->status != CheckpointStatus::kCompleted) {
            continue;
        }
        for (const auto& stats : it->subtasks) {
            if (stats.vertex == vertex && stats.subtask == subtask) {
                return stats.ack_time_ns;
            }
        }
        return it->trigger_time_ns;
    }
    return -1;
}

// Visits the live entries of one subtask, with whether each changed after
// the subtask's latest completed checkpoint (acknowledged at `snapshot_ns`).
void visitSubtaskEntries(const Engine& engine, int vertex, int subtask, Nanos snapshot_ns,
                         const LiveEntryVisitor& visit) {
    const StreamTask* task = latestTask(engine, vertex, subtask);
    if (!task) {
        return;
    }
    for (int i = 0; i < task->operatorCount(); ++i) {
        const KeyedStateBackend* backend = task->keyedStateBackend(i);
        if (!backend) {
            continue;
        }
        backend->forEachState([&](const InternalKvState& state) {
            state.forEachEntry([&](const StateEntryView& view) {
                // NOTE: approximates "changed after the snapshot" by the
                // subtask's acknowledgement time, which is after its snapshot.
                visit(view, subtask, snapshot_ns < 0 || view.last_update_ns > snapshot_ns);
            });
        });
    }
}

// Keeps at most `max_points` samples of each series, in page order.
void decimatePage(protocol::MetricsPage* page, size_t max_points) {
    std::map<std::tuple<std::string, int, std::string>, std::vector<int>> series;
    for (int i = 0; i < page->samples_size(); ++i) {
        const protocol::MetricSample& sample = page->samples(i);
        series[{sample.task(), sample.subtask(), sample.metric()}].push_back(i);
    }
    std::vector<int> kept;
    for (const auto& [key, rows] : series) {
        std::vector<double> values;
        values.reserve(rows.size());
        for (int row : rows) {
            values.push_back(page->samples(row).value());
        }
        for (size_t position : decimatedPositions(values, max_points)) {
            kept.push_back(rows[position]);
        }
    }
    std::sort(kept.begin(), kept.end());
    protocol::MetricsPage decimated;
    for (int row : kept) {
        *decimated.add_samples() = std::move(*page->mutable_samples(row));
    }
    *page = std::move(decimated);
}

}  // namespace

protocol::JobGraph queryJobGraph(const Engine& engine) {
    protocol::JobGraph graph;
    graph.set_job_name(engine.scenario().proto.job().name());
    graph.set_task_managers(int(engine.scenario().proto.cluster().task_managers()));
    for (const JobVertex& vertex : engine.jobGraph().vertices()) {
        auto* out = graph.add_vertices();
        out->set_id(vertex.id);
        out->set_name(vertex.name);
        for (int node : vertex.nodes) {
            out->add_operators(engine.streamGraph().node(node).name);
        }
        out->set_parallelism(vertex.parallelism);
        out->set_max_parallelism(vertex.max_parallelism);
        out->set_keyed(vertexIsKeyed(engine, vertex.id));
    }
    for (const JobEdge& edge : engine.jobGraph().edges()) {
        auto* out = graph.add_edges();
        out->set_source_vertex(edge.source_vertex);
        out->set_target_vertex(edge.target_vertex);
        out->set_partitioning(partitionerName(edge.partitioner.kind));
    }
    return graph;
}

std::string checkStateTarget(const Engine& engine, int vertex, int subtask) {
    const auto& vertices = engine.jobGraph().vertices();
    if (vertex < 0 || size_t(vertex) >= vertices.size()) {
        return "unknown vertex " + std::to_string(vertex) + "; the job has vertices 0 to " +
               std::to_string(int(vertices.size()) - 1);
    }
    int parallelism = vertices[size_t(vertex)].parallelism;
    if (subtask < -1 || subtask >= parallelism) {
        return "unknown subtask " + std::to_string(subtask) + " of vertex '" +
               vertices[size_t(vertex)].name + "'; expected -1 (all) or 0 to " +
               std::to_string(parallelism - 1);
    }
    return {};
}

void forEachLiveEntry(const Engine& engine, int vertex, int subtask,
                      const LiveEntryVisitor& visit) {
    auto history = engine.checkpointHistory();
    int parallelism = engine.jobGraph().vertex(vertex).parallelism;
    for (int s = 0; s < parallelism; ++s) {
        if (subtask == -1 || subtask == s) {
            visitSubtaskEntries(engine, vertex, s, lastSnapshotNs(history, vertex, s), visit);
        }
    }
}

std::vector<protocol::StateRow> liveStateRows(const Engine& engine, int vertex, int subtask,
                                              const std::string& key_filter, bool changed_only) {
    std::vector<protocol::StateRow> rows;
    forEachLiveEntry(
        engine, vertex, subtask, [&](const StateEntryView& view, int entry_subtask, bool changed) {
            if (!key_filter.empty() && view.key.find(key_filter) == std::string::npos) {
                return;
            }
            if (changed_only && !changed) {
                return;
            }
            protocol::StateRow row;
            row.set_key(view.key);
            row.set_key_group(view.key_group);
            row.set_state_name(view.state_name);
            row.set_value(view.value);
            row.set_subtask(entry_subtask);
            row.set_last_update_ns(view.last_update_ns);
            row.set_changed_since_checkpoint(changed);
            rows.push_back(std::move(row));
        });
    return rows;
}

bool stateRowLess(const protocol::StateRow& a, const protocol::StateRow& b,
                  protocol::QueryKeyedState::SortColumn sort) {
    switch (sort) {
        case protocol::QueryKeyedState::SORT_KEY_GROUP:
            return std::forward_as_tuple(a.key_group(), a.key(), a.state_name(), a.subtask()) <
                   std::forward_as_tuple(b.key_group(), b.key(), b.state_name(), b.subtask());
        case protocol::QueryKeyedState::SORT_STATE_NAME:
            return std::forward_as_tuple(a.state_name(), a.key(), a.subtask()) <
                   std::forward_as_tuple(b.state_name(), b.key(), b.subtask());
        case protocol::QueryKeyedState::SORT_VALUE:
            return std::forward_as_tuple(a.value(), a.key(), a.state_name(), a.subtask()) <
                   std::forward_as_tuple(b.value(), b.key(), b.state_name(), b.subtask());
        default:
            return std::forward_as_tuple(a.key(), a.state_name(), a.subtask()) <
                   std::forward_as_tuple(b.key(), b.state_name(), b.subtask());
    }
}

void sortStateRows(std::vector<protocol::StateRow>* rows,
                   protocol::QueryKeyedState::SortColumn sort, bool descending) {
    std::stable_sort(rows->begin(), rows->end(), [&](const auto& a, const auto& b) {
        return descending ? stateRowLess(b, a, sort) : stateRowLess(a, b, sort);
    });
}

std::string queryKeyedState(const Engine& engine, const protocol::QueryKeyedState& query,
                            LiveStateCache& cache, protocol::KeyedStatePage* page) {
    if (query.checkpoint_id() != 0) {
        return "checkpoint " + std::to_string(query.checkpoint_id()) +
               " can only be read through the engine service; query the live state "
               "(checkpoint_id 0)";
    }
    if (std::string error = checkStateTarget(engine, query.vertex(), query.subtask());
        !error.empty()) {
        return error;
    }
    cache.fillPage(engine, query, page);
    return {};
}

protocol::MetricsPage queryMetrics(const Engine& engine, const protocol::QueryMetrics& query) {
    std::set<std::string> wanted(query.metrics().begin(), query.metrics().end());
    std::vector<std::string> names = engine.vertexNames();
    protocol::MetricsPage page;
    // The recorder appends samples in time order, so clients that poll
    // from their latest sample cost a search, not a scan of the whole run.
    const std::vector<MetricSample>& samples = engine.metrics().samples();
    auto first = std::partition_point(samples.begin(), samples.end(), [&](const MetricSample& s) {
        return s.time_ms * kNanosPerMilli < query.from_ns();
    });
    for (auto it = first; it != samples.end(); ++it) {
        const MetricSample& sample = *it;
        const char* metric = metricName(sample.metric);
        if (!wanted.empty() && !wanted.count(metric)) {
            continue;
        }
        auto* out = page.add_samples();
        out->set_time_ms(sample.time_ms);
        out->set_task(names.at(size_t(sample.vertex)));
        out->set_subtask(sample.subtask);
        out->set_metric(metric);
        out->set_value(sample.value);
    }
    if (query.include_checkpoint_series()) {
        appendCheckpointSeries(engine, query.from_ns(), query.metrics(), &page);
    }
    if (query.max_points_per_series() > 0) {
        decimatePage(&page, query.max_points_per_series());
    }
    return page;
}

protocol::CheckpointHistory queryCheckpoints(const Engine& engine,
                                             const std::map<int64_t, uint64_t>& trigger_events) {
    protocol::CheckpointHistory history;
    for (const auto& stats : engine.checkpointHistory()) {
        *history.add_checkpoints() = checkpointMark(engine, stats, trigger_events);
    }
    return history;
}

}  // namespace sluice::sim
