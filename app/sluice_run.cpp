// sluice-run: runs a scenario headless and prints a summary.

#include "runtime/core/log.h"
#include "sim/checkpoint_export.h"
#include "sim/engine.h"
#include "sim/run_check.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>

namespace {

using sluice::sim::Engine;

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage = R"(Usage: sluice-run SCENARIO [options]

Runs a Sluice scenario (.textproto, or .json in protobuf's JSON mapping) on a
simulated cluster and prints a summary. The last line is "digest: <hex>";
the same scenario and seed always give the same digest.

Options:
  --seed N             Seed of the run's random source (overrides the scenario).
  --until-ms T         Stop at simulated time T, in milliseconds (overrides
                       run.until_ms). Default: when the job finishes, or after
                       60000 ms if a source is unbounded.
  --metrics-csv FILE   Write per-subtask metrics as CSV with the header
                       time_ms,task,subtask,metric,value.
  --checkpoints-csv FILE
                       Write one row per checkpoint and subtask: durations in
                       milliseconds, sizes in bytes.
  --checkpoints-json FILE
                       Write the checkpoint history in the shape of Flink's
                       REST response GET /jobs/:jobid/checkpoints.
  --checkpoint-dir DIR Keep checkpoints and savepoints in DIR, in Flink's layout
                       (chk-N/, shared/, taskowned/, savepoint-N/). Default:
                       a temporary folder that is removed after the run.
  --restore PATH       Start from a retained checkpoint or a savepoint: its
                       folder (such as DIR/chk-3) or its _metadata file.
  --check              Check the output against the failure-free reference
                       run (same scenario and seed, no faults, no deliberate
                       bugs) and print the verdict. On by default when the
                       scenario has faults or an expect block.
  --no-check           Skip that check.
  --log-level LEVEL    debug, info, warning (default) or error; logs go to
                       standard error.
  --help               Show this text.

Exit status: 0 when the run completed (and the verdict, if checked, is
PASS), 1 when the job failed or stalled or the verdict is FAIL, 2 for
invalid input or usage.
)";

struct Options {
    std::string scenario;
    sluice::sim::EngineOptions engine;
    std::string metrics_csv;
    std::string checkpoints_csv;
    std::string checkpoints_json;
    // Unset: check when the scenario has faults or an expect block.
    std::optional<bool> check;
};

bool parseUnsigned(const char* text, uint64_t* value) {
    char* end = nullptr;
    errno = 0;
    unsigned long long parsed = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
        return false;
    }
    *value = parsed;
    return true;
}

// Checks before the run that the output files are distinct and that their
// folders exist, so a long run is not wasted on a typo.
template <class UsageError>
std::optional<int> checkOutputFiles(const Options& options, UsageError&& usageError) {
    std::map<std::string, std::string> seen;
    std::pair<const char*, const std::string*> outputs[] = {
        {"--metrics-csv", &options.metrics_csv},
        {"--checkpoints-csv", &options.checkpoints_csv},
        {"--checkpoints-json", &options.checkpoints_json}};
    for (const auto& [flag, path] : outputs) {
        if (path->empty()) {
            continue;
        }
        std::error_code error;
        auto absolute = std::filesystem::weakly_canonical(*path, error).string();
        if (auto it = seen.find(absolute); it != seen.end()) {
            return usageError(std::string(flag) + " and " + it->second + " name the same file " +
                              *path + "; give each output its own file");
        }
        seen[absolute] = flag;
        auto folder = std::filesystem::absolute(*path).parent_path();
        if (!std::filesystem::is_directory(folder, error)) {
            return usageError(std::string(flag) + ": folder " + folder.string() +
                              " does not exist; create it first");
        }
    }
    return std::nullopt;
}

// Returns the exit status to use, or nullopt to go on.
std::optional<int> parseArguments(int argc, char** argv, Options* options) {
    auto usageError = [](const std::string& message) {
        std::fprintf(stderr, "sluice-run: %s\nRun 'sluice-run --help' for usage.\n",
                     message.c_str());
        return kExitUsage;
    };
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&](const char* name) -> const char* {
            return i + 1 < argc ? argv[++i] : nullptr;
        };
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        } else if (arg == "--seed" || arg == "--until-ms") {
            const char* text = value(arg.c_str());
            uint64_t number = 0;
            if (!text || !parseUnsigned(text, &number)) {
                return usageError(arg + " needs a non-negative integer");
            }
            if (arg == "--seed") {
                options->engine.seed = number;
            } else if (number == 0) {
                return usageError("--until-ms needs a time above 0, in milliseconds");
            } else {
                options->engine.until_ms = int64_t(number);
            }
        } else if (arg == "--metrics-csv" || arg == "--checkpoints-csv" ||
                   arg == "--checkpoints-json") {
            const char* text = value(arg.c_str());
            if (!text) {
                return usageError(arg + " needs a file name");
            }
            std::string& target = arg == "--metrics-csv"       ? options->metrics_csv
                                  : arg == "--checkpoints-csv" ? options->checkpoints_csv
                                                               : options->checkpoints_json;
            target = text;
        } else if (arg == "--check" || arg == "--no-check") {
            options->check = arg == "--check";
        } else if (arg == "--checkpoint-dir" || arg == "--restore") {
            const char* text = value(arg.c_str());
            if (!text || !*text) {
                return usageError(arg + " needs a path");
            }
            (arg == "--restore" ? options->engine.restore_path : options->engine.checkpoint_dir) =
                text;
        } else if (arg == "--log-level") {
            const char* text = value(arg.c_str());
            sluice::log::Level level;
            if (!text || !sluice::log::parseLevel(text, &level)) {
                return usageError("--log-level needs debug, info, warning or error");
            }
            sluice::log::setLevel(level);
        } else if (!arg.empty() && arg[0] == '-') {
            return usageError("unknown option " + arg);
        } else if (options->scenario.empty()) {
            options->scenario = arg;
        } else {
            return usageError("only one scenario file can be given, got " + options->scenario +
                              " and " + arg);
        }
    }
    if (options->scenario.empty()) {
        return usageError("missing scenario file");
    }
    return checkOutputFiles(*options, usageError);
}

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
template <class Write>
int writeFile(const std::string& path, const char* what, Write&& write) {
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
    return status;
}

// The engine that SIGINT and SIGTERM stop, so temporary folders are removed.
std::atomic<Engine*> g_running_engine{nullptr};

void printFaults(const Engine& engine) {
    if (engine.firedFaults().empty() && engine.recoveries().empty()) {
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
}

// Runs the reference and prints the verdict; returns false for FAIL, or
// nullopt when the reference run could not be built.
std::optional<bool> printVerdict(const Engine& engine) {
    auto built = sluice::sim::referenceEngineFor(engine);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&built)) {
        std::fprintf(stderr, "sluice-run: the reference run failed to start: %s\n",
                     error->format().c_str());
        return std::nullopt;
    }
    Engine& reference = *std::get<std::unique_ptr<Engine>>(built);
    reference.run();
    sluice::sim::Verdict verdict = sluice::sim::checkRun(engine, reference);
    const std::string& guarantee =
        sluice::scenario::Guarantee_Name(engine.scenario().proto.expect().guarantee());
    std::printf("verdict (%s): %s\n", guarantee.c_str(), verdict.summary().c_str());
    if (engine.scenario().proto.expect().verdict() == sluice::scenario::FAIL) {
        std::printf("expected verdict: FAIL (a deliberately faulty configuration)\n");
    }
    return verdict.pass;
}

void stopOnSignal(int) {
    if (Engine* engine = g_running_engine.load()) {
        engine->requestPause();
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    Options options;
    if (auto status = parseArguments(argc, argv, &options)) {
        return *status;
    }
    auto loaded = Engine::fromFile(options.scenario, options.engine);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&loaded)) {
        std::fprintf(stderr, "%s\n", error->format().c_str());
        return kExitUsage;
    }
    Engine& engine = *std::get<std::unique_ptr<Engine>>(loaded);

    g_running_engine = &engine;
    std::signal(SIGINT, stopOnSignal);
    std::signal(SIGTERM, stopOnSignal);
    auto wall_start = std::chrono::steady_clock::now();
    engine.run();
    g_running_engine = nullptr;
    if (!engine.isOver()) {
        std::fprintf(stderr, "sluice-run: stopped by a signal at %.3f s simulated\n",
                     double(engine.now()) / 1e9);
        return kExitRunFailed;
    }
    double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    double sim_s = double(engine.now()) / 1e9;

    std::printf("scenario: %s (seed %llu)\n", options.scenario.c_str(),
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
    std::optional<bool> passed;
    if (options.check.value_or(sluice::sim::wantsVerdict(engine.scenario().proto))) {
        std::printf("\n");
        passed = printVerdict(engine);
        if (!passed) {
            return kExitRunFailed;
        }
    }
    std::printf("\n");
    int status = writeOutputs(engine, options);
    std::printf("digest: %s\n", engine.digestHex().c_str());
    if (status != kExitOk) {
        return status;
    }
    if (passed.has_value()) {
        return *passed ? kExitOk : kExitRunFailed;
    }
    auto state = engine.runState();
    return state == sluice::sim::RunState::kFailed || state == sluice::sim::RunState::kStalled
               ? kExitRunFailed
               : kExitOk;
}
