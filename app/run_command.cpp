// sluice-run's default mode: one run of a scenario, its summary, verdict
// and output files.

#include "app/run_command.h"
#include "runtime/core/log.h"
#include "sim/checkpoint_export.h"
#include "sim/recording.h"
#include "sim/run_check.h"
#include "sim/state_export.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <variant>

namespace sluice::app {

using sim::Engine;

void printOperators(const Engine& engine) {
    const auto& graph = engine.streamGraph();
    std::map<int, std::pair<uint64_t, uint64_t>> totals;  // node -> (in, out)
    for (const auto* task : engine.tasks()) {
        for (int i = 0; i < task->operatorCount(); ++i) {
            auto& total = totals[task->operatorNode(i)];
            total.first += task->operatorContext(i).metrics.records_in;
            total.second += task->operatorContext(i).metrics.records_out;
        }
    }
    if (engine.numRestarts() > 0) {
        std::printf("\nrecords of the last attempt, since restart %d:", engine.numRestarts());
    }
    std::printf("\n%-28s %11s %14s %14s %12s\n", "operator", "parallelism", "records in",
                "records out", "late dropped");
    for (const auto& node : graph.nodes()) {
        uint64_t late = 0;
        for (const auto* task : engine.tasks()) {
            for (int i = 0; i < task->operatorCount(); ++i) {
                if (task->operatorNode(i) == node.id) {
                    late += task->operatorContext(i).metrics.late_records_dropped;
                }
            }
        }
        std::printf("%-28s %11d %14llu %14llu %12llu\n", node.name.c_str(), node.parallelism,
                    static_cast<unsigned long long>(totals[node.id].first),
                    static_cast<unsigned long long>(totals[node.id].second),
                    static_cast<unsigned long long>(late));
    }
}

void printSubtasks(const Engine& engine) {
    std::printf("\n%-40s %7s %7s %14s  %s\n", "subtask", "busy", "idle", "backpressured",
                "backpressure");
    for (const auto* task : engine.tasks()) {
        sluice::TaskCounters c = task->counters();
        double total = double(c.busy_ns + c.idle_ns + c.backpressured_ns);
        if (total <= 0) {
            total = 1;
        }
        double backpressured = double(c.backpressured_ns) / total;
        std::printf("%-40s %6.1f%% %6.1f%% %13.1f%%  %s\n", task->name().c_str(),
                    100.0 * double(c.busy_ns) / total, 100.0 * double(c.idle_ns) / total,
                    100.0 * backpressured, sluice::sim::backpressureStatus(backpressured));
    }
}

// One line about the two-phase-commit transactions of the external store.
void printTransactions(const Engine& engine) {
    const auto& transactions = engine.store().transactions();
    if (transactions.empty()) {
        return;
    }
    std::map<sluice::sim::TransactionState, int> counts;
    for (const auto& [id, transaction] : transactions) {
        ++counts[transaction.state];
    }
    size_t visible = engine.store().visibleRecords().size();
    std::printf(
        "sink transactions: %d committed, %d aborted, %d pre-committed, %d open; "
        "%zu of %zu records visible\n",
        counts[sluice::sim::TransactionState::kCommitted],
        counts[sluice::sim::TransactionState::kAborted],
        counts[sluice::sim::TransactionState::kPreCommitted],
        counts[sluice::sim::TransactionState::kOpen], visible, engine.store().records().size());
}

void printCheckpoints(const Engine& engine) {
    auto history = engine.checkpointHistory();
    if (history.empty()) {
        return;
    }
    std::printf("\n%-6s %-10s %-11s %12s %12s %12s %13s %15s %9s\n", "id", "type", "status",
                "duration ms", "size bytes", "full bytes", "alignment ms", "persisted bytes",
                "unaligned");
    for (const auto& stats : history) {
        std::printf(
            "%-6lld %-10s %-11s %12.1f %12lld %12lld %13.1f %15lld %9s\n",
            static_cast<long long>(stats.id), stats.savepoint ? "savepoint" : "checkpoint",
            sluice::checkpointStatusName(stats.status), double(stats.endToEndDurationNs()) / 1e6,
            static_cast<long long>(stats.checkpointed_size_bytes),
            static_cast<long long>(stats.full_size_bytes), double(stats.maxAlignmentNs()) / 1e6,
            static_cast<long long>(stats.persisted_bytes), stats.unaligned ? "yes" : "no");
        if (!stats.failure_cause.empty()) {
            std::printf("       cause: %s\n", stats.failure_cause.c_str());
        }
    }
}

// Writes `what` to `path` through `write`; returns the exit status.
int writeFile(const std::string& path, const char* what,
              const std::function<void(std::ostream&)>& write) {
    std::ofstream out(path, std::ios::trunc);
    if (out) {
        write(out);
    }
    if (!out) {
        std::fprintf(stderr, "sluice-run: cannot write %s to %s: %s\n", what, path.c_str(),
                     std::strerror(errno));
        return kExitUsage;
    }
    std::printf("%s written to %s\n", what, path.c_str());
    return kExitOk;
}

int writeOutputs(const Engine& engine, const Options& options) {
    int status = kExitOk;
    if (!options.metrics_csv.empty()) {
        status |= writeFile(options.metrics_csv, "metrics CSV", [&](std::ostream& out) {
            engine.metrics().writeCsv(out, engine.vertexNames());
        });
    }
    if (!options.checkpoints_csv.empty()) {
        status |= writeFile(options.checkpoints_csv, "checkpoints CSV", [&](std::ostream& out) {
            sluice::sim::writeCheckpointsCsv(out, engine.checkpointHistory(), engine.vertexNames());
        });
    }
    if (!options.checkpoints_json.empty()) {
        status |= writeFile(options.checkpoints_json, "checkpoints JSON", [&](std::ostream& out) {
            sluice::sim::writeCheckpointsJson(out, engine.checkpointHistory(),
                                              engine.vertexNames());
        });
    }
    if (!options.keyed_state_csv.empty()) {
        // Written to memory first, so that a run without a retained
        // checkpoint leaves an existing file alone.
        std::ostringstream csv;
        std::string error = sluice::sim::writeKeyedStateCsv(csv, engine, 0);
        if (!error.empty()) {
            std::fprintf(stderr, "sluice-run: keyed state CSV not written to %s: %s\n",
                         options.keyed_state_csv.c_str(), error.c_str());
            status |= kExitRunFailed;
        } else {
            status |= writeFile(options.keyed_state_csv, "keyed state CSV",
                                [&](std::ostream& out) { out << csv.str(); });
        }
    }
    return status;
}

// The engine that SIGINT and SIGTERM stop, so temporary folders are removed.
std::atomic<Engine*> g_running_engine{nullptr};
std::atomic<bool> g_stopped_by_signal{false};

void printFaults(const Engine& engine) {
    std::vector<std::string> unfired = engine.unfiredFaults();
    if (engine.firedFaults().empty() && engine.recoveries().empty() && unfired.empty()) {
        return;
    }
    std::printf("\nfaults: %zu fired\n", engine.firedFaults().size());
    for (const auto& fault : engine.firedFaults()) {
        std::printf("  event %llu at %.3f s: %s%s\n",
                    static_cast<unsigned long long>(fault.event_index), double(fault.time_ns) / 1e9,
                    fault.description.c_str(), fault.injected ? " (injected at run time)" : "");
    }
    std::printf("restarts: %d", engine.numRestarts());
    for (const auto& [failed_at, running_at] : engine.recoveries()) {
        if (running_at < 0) {
            std::printf("; failure detected at %.3f s, not recovered", double(failed_at) / 1e9);
        } else {
            std::printf("; failure detected at %.3f s, running again %.0f ms later",
                        double(failed_at) / 1e9, double(running_at - failed_at) / 1e6);
        }
    }
    std::printf("\n");
    for (const auto& fault : unfired) {
        std::printf("warning: %s never fired; its trigger did not match during the run\n",
                    fault.c_str());
    }
}

// Runs the reference and prints the verdict; returns nullopt when the
// reference run could not be built.
std::optional<sluice::sim::Verdict> printVerdict(const Engine& engine) {
    auto checked = sluice::sim::checkAgainstReference(engine);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&checked)) {
        std::fprintf(stderr, "sluice-run: the reference run failed to start: %s\n",
                     error->format().c_str());
        return std::nullopt;
    }
    const sluice::sim::Verdict& verdict = std::get<sluice::sim::Verdict>(checked);
    const std::string& guarantee =
        sluice::scenario::Guarantee_Name(engine.scenario().proto.expect().guarantee());
    std::printf("verdict (%s): %s\n", guarantee.c_str(), verdict.summary().c_str());
    if (engine.scenario().proto.expect().verdict() == sluice::scenario::FAIL) {
        std::printf("expected verdict: FAIL (a deliberately faulty configuration)\n");
    }
    return verdict;
}

void stopOnSignal(int) {
    g_stopped_by_signal = true;
    if (Engine* engine = g_running_engine.load()) {
        engine->requestPause();
    }
}

bool runStoppable(Engine& engine, const std::function<void()>& run) {
    g_running_engine = &engine;
    std::signal(SIGINT, stopOnSignal);
    std::signal(SIGTERM, stopOnSignal);
    run();
    g_running_engine = nullptr;
    return !g_stopped_by_signal;
}

int writeRecordingFile(const Engine& engine, const Options& options,
                       const sluice::sim::Verdict* verdict) {
    if (options.record.empty()) {
        return kExitOk;
    }
    auto recording = sluice::sim::recordingOf(engine, options.engine, verdict);
    std::string error = sluice::sim::writeRecording(recording, options.record);
    if (!error.empty()) {
        std::fprintf(stderr, "sluice-run: %s\n", error.c_str());
        return kExitUsage;
    }
    std::printf("recording written to %s (replay: sluice-run --replay %s)\n",
                options.record.c_str(), options.record.c_str());
    return kExitOk;
}

void printRunSummary(const Engine& engine, const Options& options, double wall_s) {
    double sim_s = double(engine.now()) / 1e9;
    std::printf("scenario: %s (seed %llu)\n", engine.scenario().path.string().c_str(),
                static_cast<unsigned long long>(engine.seed()));
    std::printf("job: %s, %zu vertices, %zu subtasks on %u TaskManagers\n",
                engine.scenario().proto.job().name().c_str(), engine.jobGraph().vertices().size(),
                engine.tasks().size(), engine.scenario().proto.cluster().task_managers());
    std::printf(
        "run: %s at %.3f s simulated in %.3f s wall (%.1f simulated s per wall s), "
        "%llu events\n",
        sluice::sim::runStateName(engine.runState()), sim_s, wall_s,
        wall_s > 0 ? sim_s / wall_s : 0.0, static_cast<unsigned long long>(engine.eventCount()));
    if (!engine.failureCause().empty()) {
        std::printf("cause: %s\n", engine.failureCause().c_str());
    }
    for (const auto& warning : engine.warnings()) {
        std::printf("warning: %s\n", warning.c_str());
    }
    if (const auto* restored = engine.restoredFrom()) {
        std::printf("restored from: %s %lld of job %s\n",
                    restored->savepoint() ? "savepoint" : "checkpoint",
                    static_cast<long long>(restored->checkpoint_id()),
                    restored->job_name().c_str());
    }
    if (!options.engine.checkpoint_dir.empty()) {
        std::printf("checkpoints: %s\n", engine.checkpointDir().c_str());
    }
    printTransactions(engine);
    printOperators(engine);
    printSubtasks(engine);
    printCheckpoints(engine);
    printFaults(engine);
}

// One run of a scenario: the default mode.
int runScenario(const Options& options) {
    auto loaded = Engine::fromFile(options.scenario, options.engine);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&loaded)) {
        std::fprintf(stderr, "%s\n", error->format().c_str());
        return kExitUsage;
    }
    Engine& engine = *std::get<std::unique_ptr<Engine>>(loaded);

    auto wall_start = std::chrono::steady_clock::now();
    if (!runStoppable(engine, [&] { engine.run(); }) && !engine.isOver()) {
        std::fprintf(stderr, "sluice-run: stopped by a signal at %.3f s simulated\n",
                     double(engine.now()) / 1e9);
        writeRecordingFile(engine, options, nullptr);
        return kExitRunFailed;
    }
    printRunSummary(engine, options, secondsSince(wall_start));
    std::optional<sluice::sim::Verdict> verdict;
    bool reference_failed = false;
    if (options.check.value_or(sluice::sim::wantsVerdict(engine.scenario().proto))) {
        std::printf("\n");
        verdict = printVerdict(engine);
        reference_failed = !verdict;
    }
    std::printf("\n");
    int status = writeOutputs(engine, options);
    status |= writeRecordingFile(engine, options, verdict ? &*verdict : nullptr);
    std::printf("digest: %s\n", engine.digestHex().c_str());
    if (status != kExitOk) {
        return status;
    }
    if (reference_failed) {
        return kExitRunFailed;
    }
    if (verdict) {
        return verdict->pass ? kExitOk : kExitRunFailed;
    }
    auto state = engine.runState();
    return state == sluice::sim::RunState::kFailed || state == sluice::sim::RunState::kStalled
               ? kExitRunFailed
               : kExitOk;
}

}  // namespace sluice::app
