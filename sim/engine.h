#pragma once

#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/shared_state_registry.h"
#include "runtime/cluster/job_manager.h"
#include "runtime/cluster/task_manager.h"
#include "sim/external_store.h"
#include "sim/metrics.h"
#include "sim/scenario_job.h"
#include "sim/scenario_loader.h"
#include "sim/simulation.h"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace sluice::sim {

// Time limit of a bounded job whose scenario sets none: one year of
// simulated time, which only stops runaway runs.
constexpr int64_t kBoundedJobLimitMs = int64_t(365) * 24 * 3600 * 1000;

struct EngineOptions {
    // Overrides the scenario's seed.
    std::optional<uint64_t> seed;
    // Overrides the scenario's run.until_ms.
    std::optional<int64_t> until_ms;
    // Keeps checkpoints in this folder. Default: a temporary folder that is
    // removed with the engine.
    std::filesystem::path checkpoint_dir;
    // Starts from this checkpoint or savepoint: its folder or its _metadata.
    std::filesystem::path restore_path;
    // Keeps the keyed state at each failure and the state the failover
    // restores, for the state inspector. It decodes the restored checkpoint
    // at every failure, so headless runs leave it off.
    bool keep_failure_states = false;
    // Keeps the update time of every keyed-state entry at each subtask's
    // snapshot while its checkpoint is pending or retained, so that the
    // state inspector can show them for checkpoints. It visits every entry
    // at every snapshot, so headless runs leave it off.
    bool keep_snapshot_update_times = false;
};

// When one subtask reached the steps of a checkpoint, in absolute simulated
// time; -1 for a step it has not reached. Kept for every checkpoint, also
// the ones that failed, so that a view can show where a subtask stopped.
struct SubtaskCheckpointProgress {
    Nanos first_barrier_ns = -1;  // inputs: the first barrier arrived
    Nanos all_barriers_ns = -1;   // inputs: the barriers of every channel arrived
    Nanos snapshot_ns = -1;       // the synchronous part of the snapshot ended
};

// The update times of one subtask's keyed state when it took its snapshot
// of a checkpoint. Entries are identified by a 64-bit hash of (state name,
// key group, serialized key).
struct SnapshotUpdateTimes {
    Nanos snapshot_ns = 0;
    // This subtask's snapshot time in the latest completed checkpoint when
    // the snapshot was taken, or -1 before the first one.
    Nanos previous_snapshot_ns = -1;
    std::vector<std::pair<uint64_t, Nanos>> times;  // sorted by hash

    static uint64_t entryHash(std::string_view state_name, int key_group, std::string_view key);
    // The entry's last update before the snapshot, or nullopt when unknown
    // (RocksDB entries that were outside the cache).
    std::optional<Nanos> find(std::string_view state_name, int key_group,
                              std::string_view key) const;
};

// A fault that fired, with the event count at which it took effect.
struct FiredFault {
    uint64_t event_index = 0;  // Engine::eventCount() when it was applied
    Nanos time_ns = 0;
    scenario::Fault fault;  // with the concrete target it hit
    bool injected = false;  // injected at run time rather than from the scenario
    // For injected faults: eventCount() when injectFault was called, which
    // differs from event_index when the fault waited for its trigger.
    uint64_t injected_at_event = 0;
    std::string description;
};

// The run's digest when a checkpoint completed, for recordings.
struct CheckpointDigest {
    int64_t checkpoint_id = 0;
    uint64_t event_index = 0;  // Engine::eventCount() at completion
    uint64_t digest = 0;
};

// State of a run: kRunning, or the reason it stopped.
enum class RunState : uint8_t {
    kRunning,
    kFinished,   // the job finished
    kFailed,     // the job failed
    kTimeLimit,  // simulated time reached the limit
    kStalled,    // no event left although the job is not finished
};
const char* runStateName(RunState state);

// Facade over one deterministic run of a scenario: builds the job, the
// simulated cluster and the recorder, and lets a caller run, step or pause
// it and query its state. The GUI and sluice-run use only this class.
//
// Thread safety: one thread runs and queries the engine; requestPause may be
// called from any thread.
class Engine {
public:
    static std::variant<std::unique_ptr<Engine>, ScenarioError> fromFile(
        const std::filesystem::path& path, const EngineOptions& options = {});
    static std::variant<std::unique_ptr<Engine>, ScenarioError> fromScenario(
        LoadedScenario scenario, const EngineOptions& options = {});
    ~Engine();

    // Runs one event. Returns false when the run is over.
    bool step();
    // Runs until the run is over or a pause was requested.
    void run();
    // Runs until simulated time `time_ns` (or the run is over).
    void runUntilTime(Nanos time_ns);
    // Runs until `done()` returns true after an event (or the run is over).
    void runUntil(const std::function<bool()>& done);
    void requestPause() { pause_requested_ = true; }
    // Triggers a savepoint now. Returns its id, or -1 when no checkpoint can
    // be taken (the job is not running yet, or every source finished).
    int64_t triggerSavepoint();
    // Injects a fault at run time. Without a trigger it fires now, before
    // the next event; otherwise when its trigger matches. Returns an empty
    // string, or why the fault is invalid.
    std::string injectFault(const scenario::Fault& fault);
    // Replay: calls injectFault(fault), trigger included, when eventCount()
    // reaches `event_index` (FiredFault::injected_at_event of the recording).
    void injectFaultAtEvent(uint64_t event_index, const scenario::Fault& fault);
    // The digest at every completed checkpoint and savepoint, in order.
    const std::vector<CheckpointDigest>& checkpointDigests() const { return checkpoint_digests_; }
    // Problems of the configuration found when the run was built, such as
    // a transaction timeout shorter than the downtime the faults cause.
    const std::vector<std::string>& warnings() const { return warnings_; }
    // Faults of the scenario, injected ones included, whose trigger has not
    // matched so far, as "fault 2 (fail_subtask, trigger phase ...)".
    std::vector<std::string> unfiredFaults() const;
    // Every fault that fired so far, in firing order.
    const std::vector<FiredFault>& firedFaults() const { return fired_faults_; }
    int numRestarts() const { return job_manager_->numRestarts(); }
    // (failure time, time the job ran again or -1) of every failover.
    const std::vector<std::pair<Nanos, Nanos>>& recoveries() const {
        return job_manager_->recoveries();
    }
    // Keyed state of every keyed subtask just before a fault that fails
    // tasks (kill_task_manager, fail_subtask, partition_link) fired, for
    // comparing with the state the job restored. Only the latest
    // kFailureStatesKept are kept because each can hold every key of the job.
    struct FailureKeyedState {
        uint64_t event_index = 0;
        Nanos time_ns = 0;
        std::string fault;  // description of the fault
        // The latest completed checkpoint when the fault fired, which the
        // failover restores; 0 when there was none.
        // NOTE: a checkpoint that completes between the fault and its
        // detection would be restored instead; that checkpoint is not kept.
        int64_t restore_checkpoint_id = 0;
        // Entries by (vertex, subtask).
        std::map<std::pair<int, int>, std::vector<StateEntryView>> entries;
        // Entries of restore_checkpoint_id, decoded when the fault fired
        // because later checkpoints may subsume it; by (vertex, subtask).
        std::map<std::pair<int, int>, std::vector<StateEntryView>> restored_entries;
        std::string restore_error;  // why restored_entries could not be read
    };
    static constexpr size_t kFailureStatesKept = 2;
    const std::deque<FailureKeyedState>& failureStates() const { return failure_states_; }
    // Update times kept at the snapshot of (vertex, subtask) for a pending
    // or retained checkpoint, or null (see keep_snapshot_update_times).
    const SnapshotUpdateTimes* snapshotUpdateTimes(int64_t checkpoint_id, int vertex,
                                                   int subtask) const;
    // Progress of (vertex, subtask) in a checkpoint, or null if the subtask
    // reached no step of it.
    const SubtaskCheckpointProgress* checkpointProgress(int64_t checkpoint_id, int vertex,
                                                        int subtask) const;
    // Time from each failure to the restarted job running, in order.
    const std::vector<Nanos>& recoveryDurations() const {
        return job_manager_->recoveryDurations();
    }

    RunState runState() const { return run_state_; }
    bool isOver() const { return run_state_ != RunState::kRunning; }

    // Called after every executed event.
    void addEventObserver(std::function<void(const SimEvent&)> observer) {
        observers_.push_back(std::move(observer));
    }
    // Called for every protocol phase a task or the checkpoint coordinator
    // reports, barrier progress included, before faults triggered by it fire.
    // Observers must not change the run.
    void addProtocolObserver(std::function<void(const ProtocolEvent&)> observer) {
        protocol_observers_.push_back(std::move(observer));
    }

    Nanos now() const { return sim_->now(); }
    Nanos untilNs() const { return until_ns_; }
    uint64_t seed() const { return seed_; }
    uint64_t eventCount() const { return sim_->eventCount(); }
    // Simulated time of the next event, or -1 when none is queued.
    Nanos nextEventTime() const { return sim_->nextEventTime(); }
    // Running digest of the event stream and the sinks' output.
    uint64_t digest() const;
    std::string digestHex() const;

    const LoadedScenario& scenario() const { return scenario_; }
    const StreamGraph& streamGraph() const { return job_.env->streamGraph(); }
    const JobGraph& jobGraph() const { return *job_graph_; }
    const ScenarioJob& scenarioJob() const { return job_; }
    JobStatus jobStatus() const { return job_manager_->status(); }
    const std::string& failureCause() const { return job_manager_->failureCause(); }
    // Every deployed task, ordered by (vertex, subtask).
    std::vector<const StreamTask*> tasks() const;
    const MetricsRecorder& metrics() const { return metrics_; }
    const ExternalStore& store() const { return store_; }
    std::vector<std::string> vertexNames() const;
    // Keyed state entries of every keyed operator of a subtask.
    std::vector<StateEntryView> keyedState(int vertex, int subtask) const;
    // Every checkpoint and savepoint so far, by id; empty when checkpointing
    // is off.
    std::vector<CheckpointStats> checkpointHistory() const;
    const CheckpointConfig& checkpointConfig() const { return checkpoint_config_; }
    // The checkpoint or savepoint this run started from, or null, and the
    // path it was given as.
    const checkpoint::CheckpointMetadata* restoredFrom() const { return restore_.get(); }
    const std::filesystem::path& restorePath() const { return restore_path_; }
    // Root of the checkpoint storage of this run: a new folder inside
    // EngineOptions::checkpoint_dir, or a temporary folder.
    const std::filesystem::path& checkpointDir() const { return storage_->root(); }
    const SharedStateRegistry& sharedStateRegistry() const { return *registry_; }
    // Completed checkpoints still retained, oldest first, and savepoints.
    const std::vector<int64_t>& retainedCheckpoints() const { return retained_; }
    // Metadata of a retained checkpoint (or the one this run restored from)
    // and the storage holding its files; both null for other ids.
    std::pair<const checkpoint::CheckpointMetadata*, const CheckpointStorage*> retainedCheckpoint(
        int64_t checkpoint_id) const {
        return findRestorePoint(checkpoint_id);
    }
    // The task of (vertex, subtask), or null.
    const StreamTask* task(int vertex, int subtask) const;
    // The simulated TaskManagers, by index. A killed one reports killed().
    const std::vector<std::unique_ptr<TaskManager>>& taskManagers() const { return task_managers_; }

private:
    Engine() = default;
    std::optional<ScenarioError> build(const EngineOptions& options);
    // Points the logger's time stamps at this run's simulated clock; several
    // engines may exist, such as a run and its reference.
    void claimLogClock();
    void afterEvent();
    void takeMetricsSample();
    std::optional<ScenarioError> prepareStorage(const EngineOptions& options);
    std::optional<std::string> restoreMismatch(
        const checkpoint::CheckpointMetadata& metadata) const;
    void onCheckpointCompleted(const CheckpointStats& stats,
                               const std::map<std::pair<int, int>, std::string>& states);
    void onCheckpointStatus(const CheckpointStats& stats);
    std::pair<const checkpoint::CheckpointMetadata*, const CheckpointStorage*> findRestorePoint(
        int64_t checkpoint_id) const;

    // Faults, in engine_faults.cpp.
    struct PendingFault {
        scenario::Fault fault;
        bool injected = false;
        bool fired = false;
        uint64_t injected_at_event = 0;
    };
    struct ActiveControlFault {
        scenario::ControlMessageFault spec;
        Nanos until_ns = 0;  // 0: until `remaining` messages were affected
        uint32_t remaining = 0;
    };
    enum FaultTimerKind : uint32_t {
        kFaultAtTime = 1,
        kRestartTaskManager,
        kHealPartition,
        kEndSlowOperator,
        kEndStorageFault,
        kSurfaceStoreError,
    };
    class FaultTimer final : public TimerTarget {
    public:
        explicit FaultTimer(Engine& engine) : engine_(engine) {}
        void onTimer(uint32_t kind, uint64_t arg) override { engine_.onFaultTimer(kind, arg); }

    private:
        Engine& engine_;
    };
    void setUpFaults();
    void warnAboutTransactionTimeouts();
    void addSwarmFaults();
    void onFaultTimer(uint32_t kind, uint64_t arg);
    void fireDueFaults();
    void onProtocolEvent(const ProtocolEvent& event);
    bool phaseMatches(const scenario::PhaseTrigger& trigger, const ProtocolEvent& event) const;
    void fire(PendingFault& pending);
    std::string applyFault(scenario::Fault& fault);
    // Stores the keyed state before `fault` applies when it fails tasks;
    // returns whether it did.
    bool captureFailureState(const scenario::Fault& fault);
    void readRestoredState(FailureKeyedState& state) const;
    void captureSnapshotUpdateTimes(const ProtocolEvent& event);
    void recordCheckpointProgress(const ProtocolEvent& event);
    // Drops the tables of checkpoints up to `completed_id` that are not
    // retained, and remembers the snapshot times of `completed_id`.
    void pruneSnapshotUpdateTimes(int64_t completed_id);
    std::string rewindToCheckpoint(scenario::RewindToCheckpoint& spec);
    Nanos filterControlMessage(int from, int to, const control::Envelope& message);
    std::vector<StreamTask*> liveTasksOf(const std::string& operator_id, int subtask);
    std::string checkFault(const scenario::Fault& fault) const;

    class MetricsTimer;

    LoadedScenario scenario_;
    uint64_t seed_ = 0;
    Nanos until_ns_ = 0;
    Nanos metrics_interval_ns_ = kNanosPerSecond;
    ScenarioJob job_;
    std::unique_ptr<JobGraph> job_graph_;
    std::unique_ptr<Simulation> sim_;
    std::unique_ptr<MemorySegmentPool> segments_;
    std::unique_ptr<ShuffleRegistry> shuffle_;
    std::unique_ptr<JobManager> job_manager_;
    std::vector<std::unique_ptr<TaskManager>> task_managers_;
    std::unique_ptr<MetricsTimer> metrics_timer_;
    MetricsRecorder metrics_;
    ExternalStore store_;
    CheckpointConfig checkpoint_config_;
    StateBackendConfig state_backend_;
    std::unique_ptr<CheckpointStorage> storage_;
    std::unique_ptr<SharedStateRegistry> registry_;
    std::unique_ptr<checkpoint::CheckpointMetadata> restore_;
    std::filesystem::path restore_path_;
    std::unique_ptr<CheckpointStorage> restore_storage_;
    std::vector<int64_t> retained_;
    // Metadata of retained checkpoints and savepoints, for failover.
    std::map<int64_t, std::unique_ptr<checkpoint::CheckpointMetadata>> completed_metadata_;
    std::vector<PendingFault> pending_faults_;
    // Replay: run-time faults to inject again, by event count. Kept apart
    // from pending_faults_, whose indexes are timer arguments in the digest.
    std::vector<std::pair<uint64_t, scenario::Fault>> replay_injections_;
    std::vector<FiredFault> fired_faults_;
    std::deque<FailureKeyedState> failure_states_;
    bool keep_failure_states_ = false;
    bool keep_snapshot_update_times_ = false;
    std::map<int64_t, std::map<std::pair<int, int>, SnapshotUpdateTimes>> snapshot_update_times_;
    // (vertex, subtask) to its snapshot time in the latest completed checkpoint.
    std::map<std::pair<int, int>, Nanos> completed_snapshot_ns_;
    std::map<int64_t, std::map<std::pair<int, int>, SubtaskCheckpointProgress>>
        checkpoint_progress_;
    std::vector<std::string> warnings_;
    std::vector<CheckpointDigest> checkpoint_digests_;
    std::vector<ActiveControlFault> control_faults_;
    std::vector<std::pair<int, int>> partitioned_;  // node pairs, both directions
    std::unique_ptr<FaultTimer> fault_timer_;
    std::map<int, Nanos> rejection_delay_ns_;  // sink index -> error surfaces after
    bool has_record_triggers_ = false;
    bool has_event_faults_ = false;
    std::vector<std::filesystem::path> temporary_dirs_;  // removed by the destructor
    RunState run_state_ = RunState::kRunning;
    std::atomic<bool> pause_requested_{false};
    std::vector<std::function<void(const SimEvent&)>> observers_;
    std::vector<std::function<void(const ProtocolEvent&)>> protocol_observers_;
};

}  // namespace sluice::sim
