#include "sim/telemetry_frame.h"

#include "runtime/checkpoint/checkpoint_stats.h"
#include "runtime/cluster/job_manager.h"
#include "runtime/cluster/task_manager.h"
#include "runtime/task/task_metrics.h"

#include <algorithm>
#include <array>
#include <vector>

namespace sluice::sim {

namespace {

protocol::RunState protocolRunState(const Engine& engine, bool playing) {
    switch (engine.runState()) {
        case RunState::kRunning:
            return playing ? protocol::PLAYING : protocol::PAUSED;
        case RunState::kFinished:
            return protocol::FINISHED;
        case RunState::kFailed:
            return protocol::FAILED;
        case RunState::kTimeLimit:
            return protocol::TIME_LIMIT;
        case RunState::kStalled:
            return protocol::STALLED;
    }
    return protocol::RUN_STATE_UNSPECIFIED;
}

// The latest busy, idle and backpressured samples of every subtask, in ms
// per second, by (vertex, subtask).
using TimeShares = std::array<double, 3>;
std::map<std::pair<int, int>, TimeShares> latestTimeShares(const MetricsRecorder& metrics) {
    std::map<std::pair<int, int>, TimeShares> shares;
    const auto& samples = metrics.samples();
    if (samples.empty()) {
        return shares;
    }
    int64_t latest_ms = samples.back().time_ms;
    for (auto it = samples.rbegin(); it != samples.rend() && it->time_ms == latest_ms; ++it) {
        size_t index = 0;
        switch (it->metric) {
            case Metric::kBusyTimeMsPerSecond:
                index = 0;
                break;
            case Metric::kIdleTimeMsPerSecond:
                index = 1;
                break;
            case Metric::kBackPressuredTimeMsPerSecond:
                index = 2;
                break;
            default:
                continue;
        }
        shares[{it->vertex, it->subtask}][index] = it->value;
    }
    return shares;
}

// Before the first metrics sample, the shares since the start of the task.
TimeShares sharesSinceStart(const StreamTask& task) {
    TaskCounters counters = task.counters();
    double total = double(counters.busy_ns + counters.idle_ns + counters.backpressured_ns);
    if (total <= 0) {
        return {0, 1000, 0};
    }
    return {1000.0 * double(counters.busy_ns) / total, 1000.0 * double(counters.idle_ns) / total,
            1000.0 * double(counters.backpressured_ns) / total};
}

// Engine::tasks() keeps canceled tasks of earlier attempts; the frame shows
// the latest attempt of every subtask.
std::vector<const StreamTask*> latestAttempts(const Engine& engine) {
    std::map<std::pair<int, int>, const StreamTask*> latest;
    for (const StreamTask* task : engine.tasks()) {
        auto& slot = latest[{task->id().vertex, task->id().subtask}];
        if (!slot || slot->attempt() < task->attempt()) {
            slot = task;
        }
    }
    std::vector<const StreamTask*> result;
    for (const auto& [id, task] : latest) {
        result.push_back(task);
    }
    return result;
}

void addSubtasks(const Engine& engine, const std::vector<const StreamTask*>& tasks,
                 protocol::Frame* frame) {
    auto shares = latestTimeShares(engine.metrics());
    for (const StreamTask* task : tasks) {
        auto* out = frame->add_subtasks();
        out->set_vertex(task->id().vertex);
        out->set_subtask(task->id().subtask);
        out->set_task_manager(task->node() - taskManagerNode(0));
        out->set_state(executionStateName(task->state()));
        auto it = shares.find({task->id().vertex, task->id().subtask});
        TimeShares share = it != shares.end() ? it->second : sharesSinceStart(*task);
        out->set_busy_ms_per_second(share[0]);
        out->set_idle_ms_per_second(share[1]);
        out->set_backpressured_ms_per_second(share[2]);
        TaskCounters counters = task->counters();
        out->set_records_in(int64_t(counters.records_in));
        out->set_records_out(int64_t(counters.records_out));
        out->set_restoring(task->state() == ExecutionState::kInitializing &&
                           engine.numRestarts() > 0);
        out->set_attempt(task->attempt());
    }
}

// Barriers in `queue`, positions spread from the head (0) to the tail (1).
void addBarriers(const std::deque<NetworkBuffer>& queue, protocol::BarrierInFlight::Where where,
                 protocol::ChannelFrame* channel) {
    for (size_t i = 0; i < queue.size(); ++i) {
        const NetworkBuffer& buffer = queue[i];
        if (buffer.kind != BufferKind::kCheckpointBarrier) {
            continue;
        }
        auto* barrier = channel->add_barriers();
        barrier->set_checkpoint_id(buffer.event_value);
        barrier->set_where(where);
        barrier->set_position(queue.size() > 1 ? double(i) / double(queue.size() - 1) : 0.0);
        barrier->set_unaligned(buffer.isPriorityEvent());
        barrier->set_overtook_data(buffer.isPriorityEvent() && buffer.overtaken_buffers > 0);
    }
}

int dataBuffers(const std::deque<NetworkBuffer>& queue) {
    return int(std::count_if(queue.begin(), queue.end(),
                             [](const NetworkBuffer& buffer) { return !buffer.isEvent(); }));
}

void addChannels(const std::vector<const StreamTask*>& tasks, protocol::Frame* frame) {
    // Producer partitions by address, to name the sending subtask of a channel.
    std::map<const ResultPartition*, const StreamTask*> producers;
    for (const StreamTask* task : tasks) {
        for (int i = 0; i < task->partitionCount(); ++i) {
            producers[&task->partition(i)] = task;
        }
    }
    for (const StreamTask* task : tasks) {
        for (int g = 0; g < task->gateCount(); ++g) {
            const InputGate& gate = task->gate(g);
            for (int c = 0; c < gate.channelCount(); ++c) {
                const InputGate::Channel& input = gate.channel(c);
                auto producer = producers.find(input.producer);
                if (producer == producers.end()) {
                    continue;  // the sender belongs to an earlier attempt
                }
                const auto& output = input.producer->subpartition(input.producer_subpartition);
                auto* out = frame->add_channels();
                out->set_source_vertex(producer->second->id().vertex);
                out->set_source_subtask(producer->second->id().subtask);
                out->set_target_vertex(task->id().vertex);
                out->set_target_subtask(task->id().subtask);
                out->set_queued_output_buffers(dataBuffers(output.queue));
                out->set_queued_input_buffers(dataBuffers(input.received));
                out->set_credits(output.credit);
                out->set_backlog(input.last_backlog);
                out->set_capacity_buffers(input.exclusive_buffers + input.floating_buffers);
                out->set_blocked_by_alignment(input.blocked);
                addBarriers(output.queue, protocol::BarrierInFlight::OUTPUT_QUEUE, out);
                addBarriers(input.in_flight, protocol::BarrierInFlight::IN_FLIGHT, out);
                addBarriers(input.received, protocol::BarrierInFlight::INPUT_CHANNEL, out);
            }
        }
    }
}

void addMarks(const Engine& engine, const std::map<int64_t, uint64_t>& trigger_events,
              protocol::Frame* frame) {
    for (const auto& stats : engine.checkpointHistory()) {
        *frame->add_checkpoints() = checkpointMark(engine, stats, trigger_events);
    }
    for (const auto& fired : engine.firedFaults()) {
        auto* mark = frame->add_faults();
        mark->set_event_index(fired.event_index);
        mark->set_time_ns(fired.time_ns);
        mark->set_description(fired.description);
        mark->set_injected(fired.injected);
    }
    for (const auto& task_manager : engine.taskManagers()) {
        auto* out = frame->add_task_managers();
        out->set_id(task_manager->index());
        out->set_alive(!task_manager->killed());
        out->set_slots(int(engine.scenario().proto.cluster().slots_per_task_manager()));
    }
}

}  // namespace

void fillStatus(const Engine* engine, const ServiceStatus& service, protocol::Status* status) {
    status->set_sim_ms_per_wall_second(service.sim_ms_per_wall_second);
    status->set_events_per_second(service.events_per_second);
    *status->mutable_verdict() = service.verdict;
    if (!engine) {
        status->set_run_state(protocol::EMPTY);
        return;
    }
    status->set_run_state(protocolRunState(*engine, service.playing));
    status->set_scenario_path(engine->scenario().path.string());
    status->set_seed(engine->seed());
    status->set_now_ns(engine->now());
    status->set_until_ns(engine->untilNs());
    status->set_event_index(engine->eventCount());
    status->set_digest(engine->digestHex());
    status->set_job_status(jobStatusName(engine->jobStatus()));
    status->set_num_restarts(engine->numRestarts());
}

protocol::Frame buildFrame(const Engine& engine, const protocol::Status& status,
                           const std::map<int64_t, uint64_t>& trigger_events) {
    protocol::Frame frame;
    *frame.mutable_status() = status;
    std::vector<const StreamTask*> tasks = latestAttempts(engine);
    addSubtasks(engine, tasks, &frame);
    addChannels(tasks, &frame);
    addMarks(engine, trigger_events, &frame);
    return frame;
}

protocol::CheckpointMark checkpointMark(const Engine& engine, const CheckpointStats& stats,
                                        const std::map<int64_t, uint64_t>& trigger_events) {
    protocol::CheckpointMark mark;
    mark.set_checkpoint_id(stats.id);
    mark.set_status(checkpointStatusName(stats.status));
    mark.set_trigger_ns(stats.trigger_time_ns);
    mark.set_end_ns(stats.end_time_ns);
    mark.set_savepoint(stats.savepoint);
    mark.set_failure_cause(stats.failure_cause);
    if (auto it = trigger_events.find(stats.id); it != trigger_events.end()) {
        mark.set_trigger_event(it->second);
    }
    for (const auto& digest : engine.checkpointDigests()) {
        if (digest.checkpoint_id == stats.id) {
            mark.set_end_event(digest.event_index);
        }
    }
    return mark;
}

}  // namespace sluice::sim
