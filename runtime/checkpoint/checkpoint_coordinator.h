#pragma once

#include "runtime/checkpoint/checkpoint_config.h"
#include "runtime/checkpoint/checkpoint_stats.h"
#include "runtime/core/environment.h"
#include "runtime/core/protocol_event.h"
#include "runtime/graph/job_graph.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sluice {

namespace control {
class Envelope;
class AcknowledgeCheckpoint;
class DeclineCheckpoint;
}  // namespace control

// The JobManager's checkpoint coordinator. Triggers checkpoints at the
// source subtasks, collects acknowledgements from every running subtask,
// completes the checkpoint and notifies the tasks, or aborts it on timeout or
// decline. When more checkpoints fail in a row than tolerated, it reports a
// job failure with the cause.
//
// Thread safety: environment thread only.
class CheckpointCoordinator final : public TimerTarget {
public:
    struct Callbacks {
        // Sends a control message to the TaskManager running (vertex, subtask).
        std::function<void(int vertex, int subtask, const control::Envelope&)> send_to_task;
        // Whether a subtask is running, so finished tasks are not waited for.
        std::function<bool(int vertex, int subtask)> is_running;
        // Too many checkpoints failed in a row: the job must fail over.
        std::function<void(const std::string& cause)> fail_job;
        // A checkpoint changed status (triggered, completed, failed).
        std::function<void(const CheckpointStats&)> on_status;
        // A checkpoint completed with the serialized SubtaskState of every
        // subtask that acknowledged it, by (vertex, subtask).
        std::function<void(const CheckpointStats&,
                           const std::map<std::pair<int, int>, std::string>& states)>
            on_completed;
        // Reports kCheckpointTriggered and kAllAcknowledged; may be empty.
        std::function<void(const ProtocolEvent&)> protocol_listener;
    };

    CheckpointCoordinator(Environment& env, const JobGraph& job, CheckpointConfig config,
                          Callbacks callbacks);

    // Starts periodic triggering (and scheduled savepoints).
    void start();
    // Continues numbering after `id`, as Flink does after a restore, so new
    // checkpoints never reuse the names of older ones.
    void continueAfter(int64_t id) { next_id_ = std::max(next_id_, id + 1); }
    // A new run of the job restores checkpoint `id`: ids continue from id + 1
    // as in Flink, and later checkpoints leave the history.
    void rewindTo(int64_t id);
    // Stops triggering; pending checkpoints are left as they are.
    void stop() { stopped_ = true; }
    // Failover: aborts every pending checkpoint with `cause` and stops
    // triggering until resume(). Such aborts do not count as failed
    // checkpoints for the tolerable-failure threshold.
    // A region failover passes the restarting subtasks: only they forget
    // that they reached the end of their input.
    void suspend(const std::string& cause,
                 const std::set<std::pair<int, int>>* restarting = nullptr);
    // The restarted job runs: periodic triggering starts again.
    void resume();

    // Triggers a checkpoint (or savepoint) now, if allowed. Returns its id or
    // -1 when the limits (max concurrent, min pause) forbid it.
    int64_t trigger(bool savepoint);

    void onAcknowledge(const control::AcknowledgeCheckpoint& ack);
    void onDecline(const control::DeclineCheckpoint& decline);
    // A subtask finished: it acknowledges nothing any more.
    void onTaskFinished(int vertex, int subtask);
    // A subtask reached the end of its input and waits for a final
    // checkpoint; from now on it is triggered directly, like a source.
    void onEndOfData(int vertex, int subtask);

    const CheckpointConfig& config() const { return config_; }
    // Every checkpoint so far, by id.
    const std::map<int64_t, CheckpointStats>& history() const { return history_; }
    int numberOfCompletedCheckpoints() const { return completed_count_; }
    int numberOfFailedCheckpoints() const { return failed_count_; }
    int64_t latestCompletedId() const { return latest_completed_; }

    void onTimer(uint32_t kind, uint64_t arg) override;

private:
    enum TimerKind : uint32_t { kPeriodic = 1, kTimeout, kSavepoint };

    struct Pending {
        std::set<std::pair<int, int>> waiting;
        std::map<std::pair<int, int>, std::string> states;
    };

    void complete(int64_t id);
    void abort(int64_t id, const std::string& cause, bool counts = true);
    void broadcast(const control::Envelope& message);
    void sendTrigger(int64_t id, int vertex, int subtask);
    bool sourcesRunning() const;

    Environment& env_;
    const JobGraph& job_;
    CheckpointConfig config_;
    Callbacks callbacks_;
    std::map<int64_t, CheckpointStats> history_;
    std::map<int64_t, Pending> pending_;
    std::set<std::pair<int, int>> end_of_data_;
    int64_t next_id_ = 1;
    int64_t latest_completed_ = 0;
    Nanos last_end_ns_ = -1;
    int consecutive_failures_ = 0;
    int completed_count_ = 0;
    int failed_count_ = 0;
    bool stopped_ = false;
    bool suspended_ = false;
    // Identifies the live periodic timer chain; older chains stop.
    uint64_t generation_ = 0;
};

}  // namespace sluice
