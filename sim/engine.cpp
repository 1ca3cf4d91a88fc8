#include "sim/engine.h"

#include "runtime/core/log.h"

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cstdio>

namespace sluice::sim {

const char* runStateName(RunState state) {
    switch (state) {
        case RunState::kRunning:
            return "RUNNING";
        case RunState::kFinished:
            return "FINISHED";
        case RunState::kFailed:
            return "FAILED";
        case RunState::kTimeLimit:
            return "TIME_LIMIT";
        case RunState::kStalled:
            return "STALLED";
    }
    return "UNKNOWN";
}

namespace {

CheckpointConfig checkpointConfigOf(const scenario::Checkpointing& c) {
    CheckpointConfig config;
    config.enabled = c.interval_ms() > 0;
    switch (c.mode()) {
        case scenario::AT_LEAST_ONCE:
            config.mode = CheckpointingMode::kAtLeastOnce;
            break;
        case scenario::UNALIGNED:
            config.mode = CheckpointingMode::kUnaligned;
            break;
        case scenario::ALIGNED_WITH_TIMEOUT:
            config.mode = CheckpointingMode::kAlignedWithTimeout;
            break;
        default:
            config.mode = CheckpointingMode::kExactlyOnce;
            break;
    }
    config.interval_ns = Nanos(c.interval_ms()) * kNanosPerMilli;
    config.timeout_ns = Nanos(c.timeout_ms()) * kNanosPerMilli;
    config.min_pause_ns = Nanos(c.min_pause_ms()) * kNanosPerMilli;
    config.max_concurrent = int(std::max<uint32_t>(1, c.max_concurrent()));
    config.aligned_timeout_ns = Nanos(c.aligned_timeout_ms()) * kNanosPerMilli;
    config.tolerable_failures = int(c.tolerable_failures());
    config.retained = int(std::max<uint32_t>(1, c.retained()));
    for (uint64_t at_ms : c.savepoint_at_ms()) {
        config.savepoints_at_ns.push_back(Nanos(at_ms) * kNanosPerMilli);
    }
    config.sync_ns_per_entry = Nanos(c.sync_ns_per_entry());
    config.upload_bits_per_second = std::max<uint64_t>(1, c.upload_mbps()) * 1'000'000;
    return config;
}

RestartStrategyConfig restartStrategyOf(const scenario::RestartStrategy& r) {
    RestartStrategyConfig config;
    auto or_default = [](uint64_t value, Nanos fallback) {
        return value > 0 ? Nanos(value) * kNanosPerMilli : fallback;
    };
    switch (r.strategy_case()) {
        case scenario::RestartStrategy::kFixedDelay:
            config.kind = RestartStrategyConfig::Kind::kFixedDelay;
            config.attempts = int(r.fixed_delay().attempts());
            config.delay_ns = Nanos(r.fixed_delay().delay_ms()) * kNanosPerMilli;
            break;
        case scenario::RestartStrategy::kExponentialDelay: {
            const auto& e = r.exponential_delay();
            config.kind = RestartStrategyConfig::Kind::kExponentialDelay;
            config.initial_backoff_ns = or_default(e.initial_backoff_ms(), kNanosPerSecond);
            config.max_backoff_ns = or_default(e.max_backoff_ms(), 60 * kNanosPerSecond);
            config.backoff_multiplier = e.backoff_multiplier() > 0 ? e.backoff_multiplier() : 2.0;
            config.attempts = int(e.attempts());
            break;
        }
        case scenario::RestartStrategy::kFailureRate: {
            const auto& f = r.failure_rate();
            config.kind = RestartStrategyConfig::Kind::kFailureRate;
            config.max_failures_per_interval = std::max(1, int(f.max_failures_per_interval()));
            config.failure_rate_interval_ns =
                or_default(f.failure_rate_interval_ms(), 60 * kNanosPerSecond);
            config.delay_ns = or_default(f.delay_ms(), kNanosPerSecond);
            break;
        }
        case scenario::RestartStrategy::kNone:
            config.kind = RestartStrategyConfig::Kind::kNone;
            break;
        case scenario::RestartStrategy::STRATEGY_NOT_SET:
            // Flink's default with checkpointing: fixed delay. Sluice keeps
            // the attempts small so a broken run ends quickly.
            config.kind = RestartStrategyConfig::Kind::kFixedDelay;
            config.attempts = 3;
            config.delay_ns = kNanosPerSecond;
            break;
    }
    return config;
}

void applyBugs(const scenario::DeliberateBugs& bugs, CheckpointConfig* config) {
    config->bug_skip_alignment = bugs.skip_alignment();
    config->bug_dont_rewind_sources = bugs.dont_rewind_sources();
    config->bug_drop_channel_state = bugs.drop_channel_state_on_restore();
    config->bug_alignment_timeout_only_at_receiver = bugs.alignment_timeout_only_at_receiver();
}

}  // namespace

// Samples metrics at each interval of simulated time.
class Engine::MetricsTimer final : public TimerTarget {
public:
    explicit MetricsTimer(Engine& engine) : engine_(engine) {}
    void onTimer(uint32_t, uint64_t) override {
        if (engine_.isOver()) {
            return;
        }
        engine_.takeMetricsSample();
        engine_.sim_->schedule(engine_.now() + engine_.metrics_interval_ns_, this, 0, 0);
    }

private:
    Engine& engine_;
};

std::variant<std::unique_ptr<Engine>, ScenarioError> Engine::fromFile(
    const std::filesystem::path& path, const EngineOptions& options) {
    auto loaded = loadScenarioFile(path);
    if (auto* error = std::get_if<ScenarioError>(&loaded)) {
        return *error;
    }
    return fromScenario(std::move(std::get<LoadedScenario>(loaded)), options);
}

std::variant<std::unique_ptr<Engine>, ScenarioError> Engine::fromScenario(
    LoadedScenario scenario, const EngineOptions& options) {
    std::unique_ptr<Engine> engine(new Engine());
    engine->scenario_ = std::move(scenario);
    engine->seed_ = options.seed.value_or(engine->scenario_.proto.seed());
    auto job = buildScenarioJob(engine->scenario_, engine->seed_, &engine->store_);
    if (auto* error = std::get_if<ScenarioError>(&job)) {
        return *error;
    }
    engine->job_ = std::move(std::get<ScenarioJob>(job));
    try {
        engine->job_graph_ =
            std::make_unique<JobGraph>(JobGraph::fromStreamGraph(engine->job_.env->streamGraph()));
    } catch (const InvalidJobError& e) {
        return ScenarioError{engine->scenario_.path.string(), 0, 0, "job", e.what()};
    }
    if (auto error = engine->build(options)) {
        return *error;
    }
    return engine;
}

void Engine::claimLogClock() {
    log::setClock([sim = sim_.get()] { return sim->now(); }, this);
}

Engine::~Engine() {
    log::clearClock(this);
    // Tasks hold RocksDB instances inside the temporary folders.
    task_managers_.clear();
    for (const auto& dir : temporary_dirs_) {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
}

std::optional<ScenarioError> Engine::prepareStorage(const EngineOptions& options) {
    namespace fs = std::filesystem;
    static std::atomic<uint64_t> run_counter{0};
    fs::path scratch = fs::temp_directory_path() / ("sluice-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(run_counter.fetch_add(1)));
    temporary_dirs_.push_back(scratch);
    fs::path checkpoint_dir = scratch / "checkpoints";
    if (!options.checkpoint_dir.empty()) {
        // Like Flink's job-id folder, every run gets a folder of its own, so
        // a run never overwrites or deletes files it did not write, such as
        // the checkpoint it was restored from.
        std::error_code error;
        std::string job =
            scenario_.proto.job().name().empty() ? "job" : scenario_.proto.job().name();
        for (int run = 1;; ++run) {
            fs::path candidate = options.checkpoint_dir / (job + "-" + std::to_string(run));
            if (!fs::exists(candidate, error)) {
                checkpoint_dir = candidate;
                break;
            }
        }
    }
    try {
        storage_ = std::make_unique<CheckpointStorage>(checkpoint_dir);
        registry_ = std::make_unique<SharedStateRegistry>(checkpoint_dir);
        registry_->delete_early = scenario_.proto.bugs().delete_shared_files_early();
        storage_->sharedDir();  // Flink's layout has both folders from the start
        storage_->taskOwnedDir();
    } catch (const std::exception& e) {
        return ScenarioError{
            options.checkpoint_dir.string(), 0, 0, "--checkpoint-dir",
            std::string("cannot use the folder as checkpoint storage: ") + e.what()};
    }
    const auto& c = scenario_.proto.checkpointing();
    state_backend_.kind = c.state_backend() == scenario::ROCKSDB ? StateBackendConfig::kRocksDb
                                                                 : StateBackendConfig::kHeap;
    state_backend_.incremental = c.incremental();
    if (c.compact_every_checkpoints() != 0) {
        state_backend_.compact_every_snapshots = std::max(0, c.compact_every_checkpoints());
    }
    state_backend_.local_dir = scratch / "local";
    state_backend_.keep_update_times = options.keep_snapshot_update_times;
    if (options.restore_path.empty()) {
        return std::nullopt;
    }
    restore_path_ = options.restore_path;
    auto metadata = CheckpointStorage::readMetadata(options.restore_path);
    if (auto* error = std::get_if<std::string>(&metadata)) {
        return ScenarioError{options.restore_path.string(), 0, 0, "--restore", *error};
    }
    restore_ = std::make_unique<checkpoint::CheckpointMetadata>(
        std::move(std::get<checkpoint::CheckpointMetadata>(metadata)));
    if (auto mismatch = restoreMismatch(*restore_)) {
        return ScenarioError{options.restore_path.string(), 0, 0, "--restore", *mismatch};
    }
    // chk-<id>/_metadata or chk-<id>/ lies directly under the storage root.
    fs::path folder = options.restore_path;
    if (folder.filename() == "_metadata") {
        folder = folder.parent_path();
    }
    restore_storage_ = std::make_unique<CheckpointStorage>(fs::absolute(folder).parent_path());
    return std::nullopt;
}

std::optional<std::string> Engine::restoreMismatch(
    const checkpoint::CheckpointMetadata& metadata) const {
    const std::string& job = scenario_.proto.job().name();
    if (metadata.job_name() != job) {
        return "the checkpoint was taken by job '" + metadata.job_name() +
               "' but the scenario's job is '" + job +
               "'; restore a checkpoint of the same job, or rename the job if it is the same one";
    }
    size_t operators = size_t(job_.env->streamGraph().nodes().size());
    if (size_t(metadata.max_parallelism_size()) != operators) {
        return "the checkpoint holds state of " + std::to_string(metadata.max_parallelism_size()) +
               " operators but the job has " + std::to_string(operators) +
               "; state is matched to operators by position, so the job's operators must not "
               "change";
    }
    const auto& vertices = jobGraph().vertices();
    for (const auto& subtask : metadata.subtask_states()) {
        if (subtask.channel_state_size() == 0) {
            continue;
        }
        for (const auto& entry : metadata.parallelism()) {
            if (entry.vertex() != subtask.vertex() || entry.vertex() >= int(vertices.size()) ||
                vertices[size_t(entry.vertex())].parallelism == entry.parallelism()) {
                continue;
            }
            const auto& vertex = vertices[size_t(entry.vertex())];
            return "the checkpoint holds in-flight data of '" + vertex.name + "' at parallelism " +
                   std::to_string(entry.parallelism()) + ", but the job runs it at parallelism " +
                   std::to_string(vertex.parallelism) +
                   "; restore at the same parallelism, or restore from an aligned checkpoint or "
                   "savepoint";
        }
    }
    return std::nullopt;
}

void Engine::onCheckpointCompleted(const CheckpointStats& stats,
                                   const std::map<std::pair<int, int>, std::string>& states) {
    checkpoint::CheckpointMetadata metadata;
    metadata.set_checkpoint_id(stats.id);
    metadata.set_trigger_time_ns(stats.trigger_time_ns);
    metadata.set_completion_time_ns(now());
    metadata.set_savepoint(stats.savepoint);
    metadata.set_job_name(scenario_.proto.job().name());
    for (const auto& node : streamGraph().nodes()) {
        auto* entry = metadata.add_max_parallelism();
        entry->set_operator_(node.id);
        entry->set_max_parallelism(node.max_parallelism);
    }
    for (const auto& vertex : jobGraph().vertices()) {
        auto* entry = metadata.add_parallelism();
        entry->set_vertex(vertex.id);
        entry->set_parallelism(vertex.parallelism);
    }
    for (const auto& [task, bytes] : states) {
        if (!metadata.add_subtask_states()->ParseFromString(bytes)) {
            log::error("engine", "checkpoint.state_unreadable",
                       {{"checkpoint", std::to_string(stats.id)},
                        {"vertex", std::to_string(task.first)},
                        {"subtask", std::to_string(task.second)}});
        }
    }
    try {
        storage_->writeMetadata(metadata);
    } catch (const std::exception& e) {
        log::error("engine", "checkpoint.metadata_failed",
                   {{"checkpoint", std::to_string(stats.id)}, {"error", e.what()}});
    }
    checkpoint_digests_.push_back({stats.id, eventCount(), digest()});
    completed_metadata_[stats.id] =
        std::make_unique<checkpoint::CheckpointMetadata>(std::move(metadata));
    if (!stats.savepoint) {  // savepoints are never subsumed
        retained_.push_back(stats.id);
    }
    while (int(retained_.size()) > checkpoint_config_.retained) {
        int64_t oldest = retained_.front();
        retained_.erase(retained_.begin());
        completed_metadata_.erase(oldest);
        registry_->releaseCheckpoint(oldest);
        storage_->discardCheckpoint(oldest);
    }
    pruneSnapshotUpdateTimes(stats.id);
}

std::pair<const checkpoint::CheckpointMetadata*, const CheckpointStorage*> Engine::findRestorePoint(
    int64_t checkpoint_id) const {
    auto it = completed_metadata_.find(checkpoint_id);
    if (it != completed_metadata_.end()) {
        return {it->second.get(), storage_.get()};
    }
    if (restore_ && restore_->checkpoint_id() == checkpoint_id) {
        return {restore_.get(), restore_storage_.get()};
    }
    return {nullptr, nullptr};
}

void Engine::onCheckpointStatus(const CheckpointStats& stats) {
    if (stats.status == CheckpointStatus::kFailed) {
        // Files of a failed checkpoint are referenced by nothing else.
        registry_->releaseCheckpoint(stats.id);
        storage_->discardCheckpoint(stats.id);
    }
}

std::optional<ScenarioError> Engine::build(const EngineOptions& options) {
    keep_failure_states_ = options.keep_failure_states;
    keep_snapshot_update_times_ = options.keep_snapshot_update_times;
    const scenario::Scenario& s = scenario_.proto;
    if (auto error = prepareStorage(options)) {
        return error;
    }
    const auto& cluster = s.cluster();
    auto link = [](const scenario::Link& l) {
        return LinkSpec{Nanos(l.latency_us()) * kNanosPerMicro, l.bandwidth_mbps() * 1'000'000};
    };
    int task_managers = int(cluster.task_managers());
    sim_ = std::make_unique<Simulation>(seed_, task_managers + 1, link(cluster.local_link()),
                                        link(cluster.remote_link()));
    claimLogClock();
    // Simulation::step counts an event before running it.
    store_.setEventClock([sim = sim_.get()] {
        return std::pair<uint64_t, Nanos>{sim->eventCount() - 1, sim->now()};
    });

    NetworkConfig network;
    network.buffer_size_bytes = s.network().buffer_size_bytes();
    network.buffers_per_channel = int(s.network().buffers_per_channel());
    network.floating_buffers_per_gate = int(s.network().floating_buffers_per_gate());
    network.buffer_timeout_ns = Nanos(s.network().buffer_timeout_ms()) * kNanosPerMilli;
    segments_ = std::make_unique<MemorySegmentPool>(network.buffer_size_bytes);
    shuffle_ = std::make_unique<ShuffleRegistry>();

    checkpoint_config_ = checkpointConfigOf(s.checkpointing());
    applyBugs(s.bugs(), &checkpoint_config_);
    JobManagerConfig jm_config;
    jm_config.task_managers = task_managers;
    jm_config.checkpointing = checkpoint_config_;
    jm_config.restored_checkpoint_id = restore_ ? restore_->checkpoint_id() : 0;
    jm_config.slots_per_task_manager = int(cluster.slots_per_task_manager());
    const scenario::Failover& failover = s.failover();
    Nanos heartbeat_interval =
        Nanos(failover.heartbeat_interval_ms() > 0 ? failover.heartbeat_interval_ms() : 1000) *
        kNanosPerMilli;
    jm_config.heartbeat_interval_ns = heartbeat_interval;
    jm_config.heartbeat_timeout_ns =
        Nanos(failover.heartbeat_timeout_ms() > 0 ? failover.heartbeat_timeout_ms() : 5000) *
        kNanosPerMilli;
    jm_config.restart_strategy = restartStrategyOf(failover.restart_strategy());
    jm_config.region_failover = failover.strategy() == scenario::REGION;
    jm_config.protocol_listener = [this](const ProtocolEvent& event) { onProtocolEvent(event); };
    job_manager_ = std::make_unique<JobManager>(*sim_, *job_graph_, jm_config);
    job_manager_->checkpointCallbacks().on_completed =
        [this](const CheckpointStats& stats,
               const std::map<std::pair<int, int>, std::string>& states) {
            onCheckpointCompleted(stats, states);
        };
    job_manager_->checkpointCallbacks().on_status = [this](const CheckpointStats& stats) {
        onCheckpointStatus(stats);
    };
    job_manager_->setJobStatusListener([this](JobStatus status, const std::string&) {
        if (status == JobStatus::kFinished || status == JobStatus::kFailed) {
            for (auto& tm : task_managers_) {
                tm->stop();
            }
        }
    });
    job_manager_->start();
    for (int i = 0; i < task_managers; ++i) {
        TaskManagerConfig config;
        config.index = i;
        config.slots = jm_config.slots_per_task_manager;
        config.network = network;
        config.checkpointing = checkpoint_config_;
        config.state_backend = state_backend_;
        config.storage = storage_.get();
        config.registry = registry_.get();
        config.heartbeat_interval_ns = heartbeat_interval;
        config.restore_lookup = [this](int64_t id) { return findRestorePoint(id); };
        config.protocol_listener = [this](const ProtocolEvent& event) { onProtocolEvent(event); };
        task_managers_.push_back(std::make_unique<TaskManager>(
            *sim_, job_.env->streamGraph(), *job_graph_, *segments_, *shuffle_, config));
    }
    for (auto& tm : task_managers_) {
        tm->start();
    }

    setUpFaults();
    metrics_interval_ns_ =
        Nanos(std::max<uint64_t>(1, s.run().metrics_interval_ms())) * kNanosPerMilli;
    metrics_timer_ = std::make_unique<MetricsTimer>(*this);
    sim_->schedule(metrics_interval_ns_, metrics_timer_.get(), 0, 0);

    int64_t until_ms = options.until_ms.value_or(int64_t(s.run().until_ms()));
    if (until_ms <= 0) {
        bool unbounded = false;
        for (const auto& op : s.job().operators()) {
            unbounded = unbounded || (op.has_generator() && op.generator().record_count() == 0);
        }
        // Bounded jobs run until they finish; the limit only stops runaway runs.
        until_ms = unbounded ? 60'000 : kBoundedJobLimitMs;
    }
    until_ns_ = Nanos(until_ms) * kNanosPerMilli;
    log::info("engine", "run.started",
              {{"scenario", scenario_.path.string()}, {"seed", std::to_string(seed_)}});
    return std::nullopt;
}

bool Engine::step() {
    if (isOver()) {
        return false;
    }
    Nanos next = sim_->nextEventTime();
    if (next < 0) {
        run_state_ = RunState::kStalled;
        log::error("engine", "run.stalled", {{"time_ns", std::to_string(now())}});
        return false;
    }
    if (next > until_ns_) {
        takeMetricsSample();
        run_state_ = RunState::kTimeLimit;
        log::info("engine", "run.time_limit",
                  {{"until_ms", std::to_string(until_ns_ / kNanosPerMilli)}});
        return false;
    }
    // Another engine, such as a finished reference run, may have taken
    // the log clock or dropped it.
    if (!log::clockOwnedBy(this)) {
        claimLogClock();
    }
    fireDueFaults();
    if (isOver()) {
        return false;
    }
    sim_->step();
    afterEvent();
    return !isOver();
}

void Engine::afterEvent() {
    if (!observers_.empty()) {
        // The Simulation's observer hook is not used, so the engine controls
        // the order: the event has run when observers see it.
        SimEvent event{sim_->eventCount() - 1, sim_->now(), 0, 0, 0};
        for (auto& observer : observers_) {
            observer(event);
        }
    }
    JobStatus status = job_manager_->status();
    if (status == JobStatus::kFinished || status == JobStatus::kFailed) {
        takeMetricsSample();
        run_state_ = status == JobStatus::kFinished ? RunState::kFinished : RunState::kFailed;
        log::info("engine", "run.stopped",
                  {{"state", runStateName(run_state_)}, {"digest", digestHex()}});
    }
}

void Engine::run() {
    claimLogClock();
    pause_requested_ = false;
    while (!pause_requested_ && step()) {
    }
}

void Engine::runUntilTime(Nanos time_ns) {
    claimLogClock();
    pause_requested_ = false;
    while (!pause_requested_ && !isOver()) {
        Nanos next = sim_->nextEventTime();
        if (next < 0 || next > time_ns) {
            break;
        }
        step();
    }
}

void Engine::runUntil(const std::function<bool()>& done) {
    claimLogClock();
    pause_requested_ = false;
    while (!pause_requested_ && step()) {
        if (done()) {
            break;
        }
    }
}

void Engine::takeMetricsSample() {
    metrics_.sample(now(), tasks());
}

uint64_t Engine::digest() const {
    return mix64(sim_->digest() ^ store_.hash());
}

std::string Engine::digestHex() const {
    char text[17];
    std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(digest()));
    return text;
}

std::vector<const StreamTask*> Engine::tasks() const {
    std::vector<const StreamTask*> result;
    for (const auto& tm : task_managers_) {
        for (const auto& task : tm->tasks()) {
            result.push_back(task.get());
        }
    }
    std::sort(result.begin(), result.end(), [](const StreamTask* a, const StreamTask* b) {
        return std::make_pair(a->id().vertex, a->id().subtask) <
               std::make_pair(b->id().vertex, b->id().subtask);
    });
    return result;
}

int64_t Engine::triggerSavepoint() {
    CheckpointCoordinator* coordinator = job_manager_->checkpointCoordinator();
    return coordinator ? coordinator->trigger(true) : -1;
}

std::vector<CheckpointStats> Engine::checkpointHistory() const {
    std::vector<CheckpointStats> result;
    if (const CheckpointCoordinator* coordinator = job_manager_->checkpointCoordinator()) {
        for (const auto& [id, stats] : coordinator->history()) {
            result.push_back(stats);
        }
    }
    return result;
}

const StreamTask* Engine::task(int vertex, int subtask) const {
    for (const auto& tm : task_managers_) {
        for (const auto& t : tm->tasks()) {
            if (t->id().vertex == vertex && t->id().subtask == subtask) {
                return t.get();
            }
        }
    }
    return nullptr;
}

std::vector<std::string> Engine::vertexNames() const {
    std::vector<std::string> names;
    for (const auto& vertex : job_graph_->vertices()) {
        names.push_back(vertex.name);
    }
    return names;
}

std::vector<StateEntryView> Engine::keyedState(int vertex, int subtask) const {
    std::vector<StateEntryView> entries;
    for (const StreamTask* task : tasks()) {
        if (task->id().vertex != vertex || task->id().subtask != subtask) {
            continue;
        }
        for (int i = 0; i < task->operatorCount(); ++i) {
            if (const KeyedStateBackend* backend = task->keyedStateBackend(i)) {
                backend->forEachState([&](const InternalKvState& state) {
                    state.forEachEntry(
                        [&](const StateEntryView& view) { entries.push_back(view); });
                });
            }
        }
    }
    return entries;
}

}  // namespace sluice::sim
