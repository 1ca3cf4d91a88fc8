#include "runtime/task/stream_task.h"

#include "proto/control.pb.h"
#include "runtime/core/log.h"
#include "runtime/state/heap_keyed_state_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace sluice {

namespace {

// Output of operators without successors, such as sinks.
class DiscardingOutput final : public OutputBase {
public:
    void emitWatermark(TimestampMs) override {}
    void emitWatermarkStatus(bool) override {}
};

double uniformFactor(uint64_t random, double jitter) {
    double unit = double(random >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
    return 1.0 + jitter * (2.0 * unit - 1.0);
}

}  // namespace

StreamTask::StreamTask(Environment& env, MemorySegmentPool& segments, TaskSpec spec)
    : env_(env), segments_(segments), spec_(std::move(spec)) {
    const JobGraph& job = *spec_.job_graph;
    const JobVertex& v = vertex();
    for (int edge_id : v.out_edges) {
        const JobEdge& edge = job.edge(edge_id);
        int subpartitions = edge.isPointwise() ? 1 : job.vertex(edge.target_vertex).parallelism;
        partitions_.push_back(std::make_unique<ResultPartition>(env_, segments_, spec_.network,
                                                                spec_.node, subpartitions));
        partitions_.back()->setAvailabilityListener([this] { wake(); });
        partitions_.back()->setIndex(int(partitions_.size()) - 1);
    }
    int total_channels = 0;
    for (int edge_id : v.in_edges) {
        const JobEdge& edge = job.edge(edge_id);
        int channels = edge.isPointwise() ? 1 : job.vertex(edge.source_vertex).parallelism;
        gates_.push_back(std::make_unique<InputGate>(env_, spec_.network, spec_.node, channels));
        gates_.back()->setDataListener([this] { wake(); });
        int gate_index = int(gates_.size()) - 1;
        gates_.back()->setArrivalObserver(
            [this, gate_index](int channel, const NetworkBuffer& buffer) {
                onDataArrival(gate_index, channel, buffer);
            });
        gate_channel_offset_.push_back(total_channels);
        total_channels += channels;
        for (int c = 0; c < channels; ++c) {
            flat_gate_.push_back(gate_index);
            flat_channel_.push_back(c);
            flat_finished_.push_back(false);
        }
    }
    valve_ = std::make_unique<WatermarkValve>(total_channels);
    buildChain();
}

StreamTask::~StreamTask() = default;

std::string StreamTask::name() const {
    return vertex().name + " (" + std::to_string(spec_.id.subtask + 1) + "/" +
           std::to_string(vertex().parallelism) + ")";
}

void StreamTask::buildChain() {
    const StreamGraph& graph = *spec_.stream_graph;
    const JobGraph& job = *spec_.job_graph;
    const JobVertex& v = vertex();
    std::vector<int> index_of_node(graph.nodes().size(), -1);

    for (size_t i = 0; i < v.nodes.size(); ++i) {
        const StreamNode& node = graph.node(v.nodes[i]);
        index_of_node[size_t(node.id)] = int(i);
        operators_.push_back(node.operator_factory());
        auto context = std::make_unique<OperatorContext>();
        context->operator_name = node.name;
        context->subtask_index = spec_.id.subtask;
        context->parallelism = node.parallelism;
        context->max_parallelism = node.max_parallelism;
        context->key_group_range =
            keyGroupRangeForSubtask(node.max_parallelism, node.parallelism, spec_.id.subtask);
        context->processing_time = this;
        context->final_checkpoint = takesFinalCheckpoint();
        context->attempt = spec_.attempt;
        context->restored_checkpoint_id = spec_.restore ? spec_.restore->checkpoint_id() : 0;
        context->cost.ns_per_record = node.cost.ns_per_record;
        context->cost.jitter = node.cost.jitter;
        std::unique_ptr<KeyedStateBackend> backend;
        if (operators_.back()->isKeyed()) {
            backend = createKeyedStateBackend(
                spec_.state_backend, context->key_group_range, node.max_parallelism, &clock_ns_,
                "op" + std::to_string(node.id) + "-sub" + std::to_string(spec_.id.subtask));
            context->keyed_state_backend = backend.get();
        }
        backends_.push_back(std::move(backend));
        contexts_.push_back(std::move(context));
    }

    // Outputs: chained successors get a direct call, the others a record
    // writer into the result partition of their job edge.
    for (size_t i = 0; i < v.nodes.size(); ++i) {
        const StreamNode& node = graph.node(v.nodes[i]);
        std::vector<OutputBase*> targets;
        for (int edge_id : node.out_edges) {
            const StreamEdge& edge = graph.edge(edge_id);
            int chained = index_of_node[size_t(edge.target)];
            if (chained >= 0) {
                const StreamNode& target = graph.node(edge.target);
                outputs_.push_back(node.output_type->createChainingOutput(
                    operators_[size_t(chained)].get(), contexts_[size_t(chained)].get(),
                    target.cost.skew));
            } else {
                auto it = std::find_if(v.out_edges.begin(), v.out_edges.end(),
                                       [&](int e) { return job.edge(e).stream_edge == edge_id; });
                int partition = int(it - v.out_edges.begin());
                outputs_.push_back(node.output_type->createRecordWriterOutput(
                    partitions_[size_t(partition)].get(), job.edge(*it).partitioner,
                    spec_.id.subtask, &counters_.records_out));
            }
            targets.push_back(outputs_.back().get());
        }
        OutputBase* output = nullptr;
        if (targets.empty()) {
            outputs_.push_back(std::make_unique<DiscardingOutput>());
            output = outputs_.back().get();
        } else {
            output = targets[0];
            if (targets.size() > 1) {
                outputs_.push_back(node.output_type->createBroadcastingOutput(targets));
                output = outputs_.back().get();
            }
            outputs_.push_back(
                node.output_type->createCountingOutput(output, &contexts_[i]->metrics));
            output = outputs_.back().get();
        }
        operators_[i]->setup(contexts_[i].get(), output);
    }

    int64_t chain_ns = 0;
    for (int node : v.nodes) {
        chain_ns += graph.node(node).cost.ns_per_record;
    }
    max_records_per_step_ =
        uint64_t(std::max<int64_t>(1, spec_.step_quantum_ns / std::max<int64_t>(1, chain_ns)));

    const StreamNode& head = graph.node(v.head_node);
    if (head.is_source) {
        source_ = dynamic_cast<SourceOperatorBase*>(operators_[0].get());
        if (!source_) {
            throw std::logic_error("source '" + head.name + "' is not a SourceOperatorBase");
        }
    } else {
        input_processor_ = head.input_type->createInputProcessor(
            operators_[0].get(), contexts_[0].get(), head.cost.skew, &counters_.records_in);
    }
}

void StreamTask::restoreState() {
    if (!spec_.restore) {
        return;
    }
    const JobVertex& v = vertex();
    for (size_t i = 0; i < v.nodes.size(); ++i) {
        int node = v.nodes[i];
        std::vector<checkpoint::KeyedStateHandle> handles;
        std::map<int, uint64_t> offsets;
        std::vector<TimerSnapshot> timers;
        for (const auto& subtask : spec_.restore->subtask_states()) {
            for (const auto& timer : subtask.timers()) {
                if (timer.operator_() == node) {
                    timers.push_back({timer.key_group(), timer.key(), timer.time_ms(), timer.id(),
                                      timer.event_time()});
                }
            }
            for (const auto& handle : subtask.keyed_state()) {
                if (handle.operator_() == node) {
                    handles.push_back(handle);
                }
            }
            for (const auto& op_state : subtask.operator_state()) {
                if (op_state.operator_() != node) {
                    continue;
                }
                for (const auto& offset : op_state.source_offsets()) {
                    offsets[offset.partition()] = uint64_t(offset.offset());
                }
                // Sink transactions belong to one subtask: Flink hands a
                // sink's list state to subtasks by index unless rescaled.
                if (!op_state.transaction_state().empty() &&
                    op_state.subtask() == spec_.id.subtask) {
                    operators_[i]->initializeOperatorState(op_state.transaction_state());
                }
            }
        }
        if (backends_[i] && !handles.empty()) {
            backends_[i]->restore(handles, *spec_.restore_storage);
        }
        if (!timers.empty()) {
            operators_[i]->restoreTimers(timers);
        }
        if (i == 0 && source_ && !offsets.empty() && !spec_.checkpointing.bug_dont_rewind_sources) {
            source_->restoreOffsets(offsets);
        }
    }
    restoreChannelState();
    log::info("task", "task.restored",
              {{"task", name()}, {"checkpoint", std::to_string(spec_.restore->checkpoint_id())}});
}

void StreamTask::restoreChannelState() {
    if (spec_.checkpointing.bug_drop_channel_state) {
        return;
    }
    int64_t inputs = 0;
    int64_t outputs = 0;
    for (const auto& subtask : spec_.restore->subtask_states()) {
        if (subtask.vertex() != spec_.id.vertex || subtask.subtask() != spec_.id.subtask) {
            continue;
        }
        // Replayed in the order they were persisted, which keeps each channel's
        // buffers in sequence.
        for (const auto& buffer : subtask.channel_state()) {
            if (buffer.input()) {
                if (buffer.gate_or_partition() >= gateCount()) {
                    throw std::runtime_error("restored channel state refers to input gate " +
                                             std::to_string(buffer.gate_or_partition()) +
                                             " but the task has " + std::to_string(gateCount()) +
                                             " input gates");
                }
                recovered_input_.push_back(
                    {buffer.gate_or_partition(), buffer.channel(), buffer.data()});
                ++inputs;
            } else {
                if (buffer.gate_or_partition() >= int(partitions_.size()) ||
                    buffer.channel() >=
                        partitions_[size_t(buffer.gate_or_partition())]->subpartitionCount()) {
                    throw std::runtime_error("restored channel state refers to output " +
                                             std::to_string(buffer.gate_or_partition()) + "/" +
                                             std::to_string(buffer.channel()) +
                                             ", which the task lacks");
                }
                partitions_[size_t(buffer.gate_or_partition())]->addRecoveredBuffer(
                    buffer.channel(), buffer.data());
                ++outputs;
            }
        }
    }
    if (inputs + outputs > 0) {
        log::info("task", "task.channel_state_restored",
                  {{"task", name()},
                   {"input_buffers", std::to_string(inputs)},
                   {"output_buffers", std::to_string(outputs)}});
    }
}

void StreamTask::setState(ExecutionState state, const std::string& cause) {
    state_ = state;
    if (state_listener_) {
        state_listener_(*this, state, cause);
    }
}

void StreamTask::start() {
    setState(ExecutionState::kInitializing);
    activity_since_ns_ = env_.now();
    clock_ns_ = env_.now();
    if (spec_.restore) {
        report(ProtocolPhase::kDuringRestore, spec_.restore->checkpoint_id());
        if (state_ != ExecutionState::kInitializing) {
            return;
        }
    }
    try {
        restoreState();
        for (auto& op : operators_) {
            op->open();
        }
    } catch (const std::exception& e) {
        fail(std::string("operator open failed: ") + e.what());
        return;
    }
    for (auto& gate : gates_) {
        gate->announceInitialCredit();
    }
    setState(ExecutionState::kRunning);
    wake();
}

void StreamTask::wake() {
    if (in_step_ || step_scheduled_ || state_ != ExecutionState::kRunning) {
        return;
    }
    step_scheduled_ = true;
    env_.schedule(env_.now(), this, kStepStart, ++step_token_);
}

void StreamTask::onTimer(uint32_t kind, uint64_t arg) {
    if (state_ == ExecutionState::kCanceled || state_ == ExecutionState::kFailed) {
        return;  // timers of a stopped task are left to expire
    }
    clock_ns_ = env_.now();
    switch (kind) {
        case kStepStart:
            if (arg != step_token_) {
                break;  // superseded by a later wake-up
            }
            step_scheduled_ = false;
            runStep();
            break;
        case kStepEnd:
            endStep();
            break;
        case kFlush:
            flush_scheduled_ = false;
            if (state_ != ExecutionState::kRunning) {
                break;
            }
            if (in_step_) {
                // TODO: flush when the running step ends. Retrying one
                // timeout later can land in the next step again, so with a
                // 1 ms timeout a source that steps every millisecond never
                // flushes on the timeout. Fixing it shortens the in-flight
                // backlog of the backpressure scenarios, which then need
                // retuning.
                scheduleFlushIfNeeded();
                break;
            }
            for (auto& partition : partitions_) {
                partition->flushAll();
            }
            break;
        case kCheckpointAck:
            if (checkpoint_.active && int64_t(arg) == checkpoint_.id) {
                checkpoint_.ack_scheduled = false;
                maybeAcknowledge();
            } else if (auto it = finishing_.find(int64_t(arg)); it != finishing_.end()) {
                it->second.ack_scheduled = false;
                if (maybeAcknowledge(it->second)) {
                    finishing_.erase(it);
                }
            }
            break;
        case kAlignmentTimeout:
            if (checkpoint_.active && int64_t(arg) == checkpoint_.id && !checkpoint_.snapshotted) {
                if (in_step_) {
                    // Switch right when the running step ends, before the next
                    // step can start.
                    env_.schedule(step_started_ns_ + step_cost_ns_, this, kAlignmentTimeout, arg);
                } else {
                    switchToUnaligned();
                }
            }
            break;
        case kOutputTimeout:
            for (auto& partition : partitions_) {
                int64_t bytes =
                    partition->prioritizeBarrier(int64_t(arg), &channel_state_[int64_t(arg)]);
                CheckpointProgress* progress = nullptr;
                if (checkpoint_.active && checkpoint_.id == int64_t(arg)) {
                    progress = &checkpoint_;
                } else if (auto it = finishing_.find(int64_t(arg)); it != finishing_.end()) {
                    progress = &it->second;
                }
                if (bytes >= 0 && progress) {
                    progress->persisted_bytes += bytes;
                    progress->unaligned = true;
                }
            }
            break;
        case kProcessingTimer: {
            if (state_ != ExecutionState::kRunning) {
                break;
            }
            if (in_step_) {
                deferred_timers_.push_back(arg);
                break;
            }
            auto it = processing_timers_.find(arg);
            if (it == processing_timers_.end()) {
                break;
            }
            PendingTimer timer = it->second;
            processing_timers_.erase(it);
            try {
                timer.op->onProcessingTime(timer.time_ms, timer.timer_id);
            } catch (const std::exception& e) {
                fail(std::string("processing-time timer failed: ") + e.what());
                return;
            }
            for (auto& partition : partitions_) {
                partition->flushAll();
            }
            break;
        }
        default:
            break;
    }
}

bool StreamTask::outputAvailable() const {
    for (const auto& partition : partitions_) {
        if (!partition->isAvailable()) {
            return false;
        }
    }
    return true;
}

void StreamTask::onWatermark(int channel, TimestampMs watermark) {
    int flat = gate_channel_offset_[size_t(current_gate_)] + channel;
    if (valve_->inputWatermark(flat, watermark) && valve_->watermark() > input_watermark_) {
        input_watermark_ = valve_->watermark();
        contexts_[0]->current_watermark = input_watermark_;
        operators_[0]->processWatermark(input_watermark_);
    }
}

void StreamTask::onWatermarkStatus(int channel, bool idle) {
    int flat = gate_channel_offset_[size_t(current_gate_)] + channel;
    bool was_idle = valve_->idle();
    if (!valve_->inputStatus(flat, idle)) {
        return;
    }
    if (valve_->idle() != was_idle) {
        operators_[0]->processWatermarkStatus(valve_->idle());
    }
    if (!valve_->idle() && valve_->watermark() > input_watermark_) {
        input_watermark_ = valve_->watermark();
        contexts_[0]->current_watermark = input_watermark_;
        operators_[0]->processWatermark(input_watermark_);
    }
}

TimestampMs StreamTask::currentProcessingTimeMs() const {
    return env_.now() / kNanosPerMilli;
}

void StreamTask::registerProcessingTimer(StreamOperatorBase* op, TimestampMs time_ms,
                                         uint64_t timer_id) {
    uint64_t token = next_timer_token_++;
    processing_timers_[token] = PendingTimer{op, time_ms, timer_id};
    env_.schedule(time_ms * kNanosPerMilli, this, kProcessingTimer, token);
}

void StreamTask::setActivity(TaskActivity activity) {
    Nanos now = env_.now();
    Nanos elapsed = now - activity_since_ns_;
    switch (activity_) {
        case TaskActivity::kBusy:
            counters_.busy_ns += elapsed;
            break;
        case TaskActivity::kIdle:
            counters_.idle_ns += elapsed;
            break;
        case TaskActivity::kBackpressured:
            counters_.backpressured_ns += elapsed;
            break;
    }
    activity_ = activity;
    activity_since_ns_ = now;
}

TaskCounters StreamTask::counters() const {
    TaskCounters result = counters_;
    Nanos elapsed = env_.now() - activity_since_ns_;
    switch (activity_) {
        case TaskActivity::kBusy:
            result.busy_ns += elapsed;
            break;
        case TaskActivity::kIdle:
            result.idle_ns += elapsed;
            break;
        case TaskActivity::kBackpressured:
            result.backpressured_ns += elapsed;
            break;
    }
    return result;
}

void StreamTask::runStep() {
    if (state_ != ExecutionState::kRunning || in_step_) {
        return;
    }
    for (auto& context : contexts_) {
        context->cost.resetStep();
    }
    for (auto& partition : partitions_) {
        partition->beginStep();
    }
    in_step_ = true;
    step_started_ns_ = env_.now();
    records_this_step_ = 0;

    bool did_work = false;
    Nanos wait_until = -1;
    try {
        if (!awaiting_final_checkpoint_) {
            did_work = source_ ? processSourceStep(&wait_until) : processInputStep();
        }
    } catch (const std::exception& e) {
        in_step_ = false;
        fail(e.what());
        return;
    }
    ++counters_.steps;
    step_cost_ns_ = (did_work ? stepCostNs() : 0) + extra_step_cost_ns_;
    extra_step_cost_ns_ = 0;
    if (did_work || step_cost_ns_ > 0) {
        setActivity(TaskActivity::kBusy);
    }
    source_waiting_ = wait_until >= 0;
    if (source_waiting_) {
        // A rate-limited source sleeps until its next record is due.
        step_scheduled_ = true;
        env_.schedule(std::max(wait_until, env_.now() + step_cost_ns_), this, kStepStart,
                      ++step_token_);
    }
    if (step_cost_ns_ > 0) {
        env_.schedule(env_.now() + step_cost_ns_, this, kStepEnd, 0);
    } else {
        endStep();
    }
}

Nanos StreamTask::stepCostNs() {
    double total = 0;
    for (auto& context : contexts_) {
        double cost = context->cost.stepCostNs();
        if (cost > 0 && context->cost.jitter > 0) {
            cost *= uniformFactor(env_.randomU64(), context->cost.jitter);
        }
        total += cost;
    }
    return Nanos(std::llround(total * cost_factor_));
}

void StreamTask::endStep() {
    in_step_ = false;
    for (auto& partition : partitions_) {
        partition->endStep();
    }
    for (auto& consumed : consumed_) {
        gates_[size_t(consumed.gate)]->release(consumed.channel, segments_,
                                               std::move(consumed.buffer));
    }
    consumed_.clear();
    if (state_ != ExecutionState::kRunning) {
        return;
    }
    std::vector<int64_t> triggers;
    triggers.swap(deferred_triggers_);
    for (size_t i = 0; i + 2 < triggers.size(); i += 3) {
        triggerCheckpoint(triggers[i], triggers[i + 1], triggers[i + 2] != 0);
    }
    std::vector<uint64_t> timers;
    timers.swap(deferred_timers_);
    for (uint64_t token : timers) {
        onTimer(kProcessingTimer, token);
    }
    if (input_finished_) {
        finishInput();
        return;
    }

    // Decide what the task does next.
    bool has_input = source_ ? false
                             : (current_buffer_.memory || current_buffer_.isEvent() ||
                                !recovered_input_.empty());
    if (!source_ && !has_input) {
        for (auto& gate : gates_) {
            has_input = has_input || gate->hasAvailableData();
        }
    }
    bool wants_to_run = source_ ? !source_waiting_ : has_input;
    if (wants_to_run && !outputAvailable()) {
        setActivity(TaskActivity::kBackpressured);
    } else if (wants_to_run) {
        setActivity(TaskActivity::kBusy);
        wake();
    } else {
        setActivity(TaskActivity::kIdle);
    }
    scheduleFlushIfNeeded();
}

void StreamTask::scheduleFlushIfNeeded() {
    if (flush_scheduled_) {
        return;
    }
    for (auto& partition : partitions_) {
        if (partition->hasUnflushedData()) {
            flush_scheduled_ = true;
            env_.schedule(env_.now() + spec_.network.buffer_timeout_ns, this, kFlush, 0);
            return;
        }
    }
}

bool StreamTask::processSourceStep(Nanos* wait_until) {
    if (!outputAvailable()) {
        return false;
    }
    auto available = [this] { return outputAvailable(); };
    auto result = source_->emitStep(env_.now(), spec_.source_batch_records, available);
    switch (result.status) {
        case SourceOperatorBase::Status::kFinished:
            input_finished_ = true;
            break;
        case SourceOperatorBase::Status::kWaiting:
            *wait_until = result.wake_at_ns;
            break;
        case SourceOperatorBase::Status::kMoreAvailable:
        case SourceOperatorBase::Status::kBackpressured:
            break;
    }
    return true;
}

bool StreamTask::processInputStep() {
    // Unaligned barriers overtake everything, even a buffer half processed.
    for (int g = 0; g < gateCount(); ++g) {
        int channel = gates_[size_t(g)]->priorityChannel();
        if (channel >= 0) {
            NetworkBuffer barrier = gates_[size_t(g)]->take(channel);
            handleBarrier(flatChannel(g, channel), barrier);
            return true;
        }
    }
    if (!current_buffer_.memory && !current_buffer_.isEvent() && !recovered_input_.empty()) {
        RecoveredInput& recovered = recovered_input_.front();
        current_buffer_ = NetworkBuffer{};
        current_buffer_.memory = std::make_unique<uint8_t[]>(recovered.data.size());
        std::memcpy(current_buffer_.memory.get(), recovered.data.data(), recovered.data.size());
        current_buffer_.size_bytes = uint32_t(recovered.data.size());
        current_gate_ = recovered.gate;
        current_channel_ = recovered.channel;
        current_position_ = 0;
        current_recovered_ = true;
        recovered_input_.pop_front();
    }
    if (!current_buffer_.memory && !current_buffer_.isEvent()) {
        // Pick the next gate with data, round robin.
        int gate_count = gateCount();
        for (int attempt = 0; attempt < gate_count; ++attempt) {
            int g = (next_gate_ + attempt) % gate_count;
            int channel = gates_[size_t(g)]->nextAvailableChannel();
            if (channel >= 0) {
                current_gate_ = g;
                current_channel_ = channel;
                current_buffer_ = gates_[size_t(g)]->take(channel);
                current_position_ = 0;
                next_gate_ = (g + 1) % gate_count;
                ++counters_.buffers_in;
                break;
            }
        }
        if (!current_buffer_.memory && !current_buffer_.isEvent()) {
            return false;
        }
    }
    if (!outputAvailable()) {
        return false;
    }

    if (current_buffer_.isEvent()) {
        NetworkBuffer event = std::move(current_buffer_);
        current_buffer_ = NetworkBuffer{};
        int flat = flatChannel(current_gate_, current_channel_);
        if (event.kind == BufferKind::kCheckpointBarrier) {
            handleBarrier(flat, event);
        } else if (event.kind == BufferKind::kEndOfPartition) {
            flat_finished_[size_t(flat)] = true;
            if (checkpoint_.active && !checkpoint_.received[size_t(flat)]) {
                markBarrierReceived(flat);
            }
            if (valve_->channelFinished(flat) && valve_->watermark() > input_watermark_) {
                input_watermark_ = valve_->watermark();
                contexts_[0]->current_watermark = input_watermark_;
                operators_[0]->processWatermark(input_watermark_);
            }
            bool all_finished = std::all_of(gates_.begin(), gates_.end(),
                                            [](const auto& gate) { return gate->allFinished(); });
            if (all_finished) {
                input_finished_ = true;
            }
        }
        return true;
    }

    ByteReader reader(current_buffer_.memory.get(), current_buffer_.size_bytes);
    reader.seek(current_position_);
    auto result = input_processor_->process(reader, current_channel_, *this);
    if (result == InputProcessorBase::Result::kCorrupt) {
        throw std::runtime_error("corrupt record in buffer " +
                                 std::to_string(current_buffer_.sequence) + " of channel " +
                                 std::to_string(current_channel_));
    }
    current_position_ = reader.position();
    if (result == InputProcessorBase::Result::kBufferDone) {
        if (checkpoint_.active && !checkpoint_.snapshotted) {
            checkpoint_.processed_bytes += current_buffer_.size_bytes;  // during alignment
        }
        if (current_recovered_) {
            current_recovered_ = false;  // owns its memory; no credit to return
        } else {
            consumed_.push_back({current_gate_, current_channel_, std::move(current_buffer_)});
        }
        current_buffer_ = NetworkBuffer{};
    }
    return true;
}

void StreamTask::finishInput() {
    if (awaiting_final_checkpoint_) {
        return;
    }
    try {
        for (auto& op : operators_) {
            op->finish();
        }
    } catch (const std::exception& e) {
        fail(std::string("operator finish failed: ") + e.what());
        return;
    }
    for (auto& partition : partitions_) {
        partition->broadcastEvent(BufferKind::kEndOfPartition, 0, 0);
    }
    setActivity(TaskActivity::kIdle);
    if (!takesFinalCheckpoint()) {
        closeAndFinish();
        return;
    }
    awaiting_final_checkpoint_ = true;
    log::info("task", "task.end_of_data", {{"task", name()}});
    control::Envelope message;
    message.mutable_end_of_data()->set_vertex(spec_.id.vertex);
    message.mutable_end_of_data()->set_subtask(spec_.id.subtask);
    env_.sendControl(spec_.node, kJobManagerNode, message);
}

void StreamTask::closeAndFinish() {
    try {
        for (auto& op : operators_) {
            op->close();
        }
    } catch (const std::exception& e) {
        fail(std::string("operator close failed: ") + e.what());
        return;
    }
    setState(ExecutionState::kFinished);
}

void StreamTask::fail(const std::string& cause) {
    if (state_ == ExecutionState::kFailed || state_ == ExecutionState::kCanceled) {
        return;
    }
    setActivity(TaskActivity::kIdle);
    cancelNetwork();
    setState(ExecutionState::kFailed, cause);
}

void StreamTask::failExternally(const std::string& cause) {
    if (state_ == ExecutionState::kRunning || state_ == ExecutionState::kInitializing) {
        fail(cause);
    }
}

void StreamTask::cancel(bool silently) {
    if (state_ == ExecutionState::kCanceled) {
        return;
    }
    bool stopped = state_ == ExecutionState::kFailed || state_ == ExecutionState::kFinished;
    setActivity(TaskActivity::kIdle);
    cancelNetwork();
    if (silently || stopped) {
        state_ = ExecutionState::kCanceled;
    } else {
        setState(ExecutionState::kCanceled);
    }
    // Close local state now: the next attempt opens its own instance.
    for (auto& backend : backends_) {
        backend.reset();
    }
}

void StreamTask::cancelNetwork() {
    for (auto& partition : partitions_) {
        partition->cancel();
    }
    for (auto& gate : gates_) {
        gate->cancel();
    }
}

void StreamTask::report(ProtocolPhase phase, int64_t checkpoint_id, int channel) {
    if (spec_.protocol_listener) {
        spec_.protocol_listener(
            {phase, checkpoint_id, spec_.id.vertex, spec_.id.subtask, spec_.attempt, channel});
    }
}

}  // namespace sluice
