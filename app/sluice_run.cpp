// sluice-run: runs a scenario headless and prints a summary, records and
// replays runs, and sweeps a scenario over a range of seeds.

#include "app/serve.h"
#include "runtime/core/log.h"
#include "sim/checkpoint_export.h"
#include "sim/engine.h"
#include "sim/recording.h"
#include "sim/run_check.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using sluice::sim::Engine;

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage = R"(Usage: sluice-run SCENARIO [options]
       sluice-run --replay FILE [options]
       sluice-run SCENARIO --seeds A..B [--jobs N] [--junit FILE]
                  [--failing-dir DIR]
       sluice-run SCENARIO --serve tcp://127.0.0.1:PORT [--allow-remote]

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

Recording and replay:
  --record FILE        Write a recording of the run to FILE: the scenario
                       text, seed and time limit, every fault that fired, the
                       digest at every completed checkpoint, the final digest
                       and the verdict. Written also when the job fails, the
                       verdict is FAIL or a signal stops the run.
  --replay FILE        Replay a recording instead of running a scenario (give
                       no SCENARIO): rebuild the run from the recorded
                       scenario text, seed and time limit, apply the faults
                       injected at run time at their recorded event index,
                       and compare every checkpoint digest, the fired faults
                       and the final digest. Relative data paths resolve
                       against the recorded scenario's folder. Prints
                       "replay: OK, ..." or the first diverging checkpoint.
                       Takes --check (re-checks the verdict; off by default),
                       --checkpoint-dir, --log-level and the CSV and JSON
                       outputs.

Seed sweeps:
  --seeds A..B         Run the scenario once for every seed from A to B,
                       inclusive, each in its own sluice-run process with the
                       verdict check on; a swarm in the scenario draws other
                       faults for every seed. Prints a line per seed, the
                       command that replays each failing seed, and a summary.
                       Takes --until-ms and --log-level too.
  --jobs N             Seeds run at once, 1 to 256. Default: the number of
                       CPUs.
  --junit FILE         Write a JUnit XML report: one testcase per seed, with
                       the verdict as the failure message.
  --failing-dir DIR    Folder for the recording (seed-N.recording) and the
                       output (seed-N.log) of every failing seed; created if
                       missing. Default: sluice-failures in the current
                       folder.

Engine service:
  --serve ADDRESS      Serve the engine protocol (protobuf over ZeroMQ) for
                       the GUI or another client instead of running: load
                       the scenario, bind commands to ADDRESS (such as
                       tcp://127.0.0.1:7411) and telemetry to the next port,
                       print both addresses and wait for clients. Stops on a
                       Shutdown request, SIGINT or SIGTERM. Takes --seed,
                       --until-ms, --checkpoint-dir and --log-level.
  --allow-remote       Let --serve bind an address that is not loopback. The
                       protocol has no authentication: anyone who reaches
                       the port controls the engine and can write files.

Exit status: 0 when the run completed (and the verdict, if checked, is
PASS), 1 when the job failed or stalled or the verdict is FAIL, 2 for
invalid input or usage. With --replay: 0 when every digest matches, 1 when
the replay diverges, 2 when the recording cannot be read or its scenario no
longer loads. With --seeds: 0 when every seed passes, 1 when any seed fails
or the sweep was interrupted, 2 for invalid input.
)";

// Flags that --seeds and --replay reject.
const std::set<std::string> kSweepRejects = {
    "--seed",        "--record",          "--restore",          "--checkpoint-dir",
    "--metrics-csv", "--checkpoints-csv", "--checkpoints-json", "--no-check",
    "--replay"};
const std::set<std::string> kServeRejects = {
    "--record", "--restore",    "--metrics-csv", "--checkpoints-csv", "--checkpoints-json",
    "--check",  "--no-check",   "--replay",      "--seeds",           "--jobs",
    "--junit",  "--failing-dir"};
const std::set<std::string> kReplayRejects = {"--seed",   "--until-ms",   "--restore",
                                              "--record", "--seeds",      "--jobs",
                                              "--junit",  "--failing-dir"};

struct SeedRange {
    uint64_t first = 0;
    uint64_t last = 0;
    uint64_t count() const { return last - first + 1; }
};

struct Options {
    std::string scenario;
    sluice::sim::EngineOptions engine;
    std::string metrics_csv;
    std::string checkpoints_csv;
    std::string checkpoints_json;
    std::string record;
    std::string replay;
    std::optional<SeedRange> seeds;
    int jobs = 0;  // 0: the number of CPUs
    std::string junit;
    std::string failing_dir = "sluice-failures";
    std::string serve;  // --serve ADDRESS
    bool allow_remote = false;
    std::string log_level;  // as given, for the processes of a sweep
    // Unset: check when the scenario has faults or an expect block, and
    // not on replay.
    std::optional<bool> check;
    std::set<std::string> flags_given;  // every flag on the command line
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

// Parses "A..B"; returns an error message, or an empty string.
std::string parseSeedRange(const std::string& text, SeedRange* range) {
    const std::string expected =
        "--seeds needs a range A..B of non-negative integers, such as 1..100; got '" + text + "'";
    size_t dots = text.find("..");
    if (dots == std::string::npos) {
        return expected;
    }
    std::string first = text.substr(0, dots);
    std::string last = text.substr(dots + 2);
    if (!parseUnsigned(first.c_str(), &range->first) ||
        !parseUnsigned(last.c_str(), &range->last)) {
        return expected;
    }
    if (range->last < range->first) {
        return "--seeds range " + text + " is empty: the last seed " + last +
               " is below the first seed " + first;
    }
    if (range->count() == 0) {
        return "--seeds range " + text + " has more seeds than can be counted; use a shorter range";
    }
    return {};
}

// Checks before the run that the output files are distinct and that their
// folders exist, so a long run is not wasted on a typo.
template <class UsageError>
std::optional<int> checkOutputFiles(const Options& options, UsageError&& usageError) {
    std::map<std::string, std::string> seen;
    std::pair<const char*, const std::string*> outputs[] = {
        {"--metrics-csv", &options.metrics_csv},
        {"--checkpoints-csv", &options.checkpoints_csv},
        {"--checkpoints-json", &options.checkpoints_json},
        {"--record", &options.record},
        {"--junit", &options.junit}};
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

// Checks which flags go together: --replay takes no scenario, --seeds runs
// its own processes, and the sweep options need --seeds.
template <class UsageError>
std::optional<int> checkModes(const Options& options, UsageError&& usageError) {
    auto rejected = [&](const std::set<std::string>& rejects) -> std::string {
        for (const auto& flag : options.flags_given) {
            if (rejects.count(flag)) {
                return flag;
            }
        }
        return {};
    };
    if (!options.replay.empty()) {
        if (!options.scenario.empty()) {
            return usageError("--replay takes no scenario file (the recording contains it), got " +
                              options.scenario);
        }
        if (std::string flag = rejected(kReplayRejects); !flag.empty()) {
            return usageError(flag + " cannot be used with --replay: the recording fixes the run");
        }
        return std::nullopt;
    }
    if (options.scenario.empty()) {
        return usageError("missing scenario file");
    }
    if (!options.serve.empty()) {
        if (std::string flag = rejected(kServeRejects); !flag.empty()) {
            return usageError(flag + " cannot be used with --serve");
        }
        return std::nullopt;
    }
    if (options.allow_remote) {
        return usageError("--allow-remote needs --serve ADDRESS");
    }
    if (options.seeds) {
        if (std::string flag = rejected(kSweepRejects); !flag.empty()) {
            return usageError(flag + " cannot be used with --seeds");
        }
        return std::nullopt;
    }
    for (const char* flag : {"--jobs", "--junit", "--failing-dir"}) {
        if (options.flags_given.count(flag)) {
            return usageError(std::string(flag) + " needs --seeds A..B");
        }
    }
    return std::nullopt;
}

// Parses the options that take a value; returns false when `arg` is not one
// of them, and sets `error` when its value is invalid.
bool parseValueOption(const std::string& arg, const char* text, Options* options,
                      std::string* error) {
    auto needs = [&](const char* what) {
        *error = arg + " needs " + what;
        return true;
    };
    if (arg == "--seed" || arg == "--until-ms") {
        uint64_t number = 0;
        if (!text || !parseUnsigned(text, &number)) {
            return needs("a non-negative integer");
        }
        if (arg == "--seed") {
            options->engine.seed = number;
        } else if (number == 0) {
            return needs("a time above 0, in milliseconds");
        } else {
            options->engine.until_ms = int64_t(number);
        }
    } else if (arg == "--metrics-csv" || arg == "--checkpoints-csv" ||
               arg == "--checkpoints-json" || arg == "--record" || arg == "--junit") {
        if (!text || !*text) {
            return needs("a file name");
        }
        std::string& target = arg == "--metrics-csv"       ? options->metrics_csv
                              : arg == "--checkpoints-csv" ? options->checkpoints_csv
                              : arg == "--record"          ? options->record
                              : arg == "--junit"           ? options->junit
                                                           : options->checkpoints_json;
        target = text;
    } else if (arg == "--serve") {
        if (!text || !*text) {
            return needs("an address, such as tcp://127.0.0.1:7411");
        }
        options->serve = text;
    } else if (arg == "--checkpoint-dir" || arg == "--restore" || arg == "--replay" ||
               arg == "--failing-dir") {
        if (!text || !*text) {
            return needs("a path");
        }
        if (arg == "--restore") {
            options->engine.restore_path = text;
        } else if (arg == "--checkpoint-dir") {
            options->engine.checkpoint_dir = text;
        } else {
            (arg == "--replay" ? options->replay : options->failing_dir) = text;
        }
    } else if (arg == "--seeds") {
        SeedRange range;
        *error = parseSeedRange(text ? text : "", &range);
        options->seeds = range;
    } else if (arg == "--jobs") {
        uint64_t jobs = 0;
        if (!text || !parseUnsigned(text, &jobs) || jobs < 1 || jobs > 256) {
            return needs("a number of processes from 1 to 256");
        }
        options->jobs = int(jobs);
    } else if (arg == "--log-level") {
        sluice::log::Level level;
        if (!text || !sluice::log::parseLevel(text, &level)) {
            return needs("debug, info, warning or error");
        }
        sluice::log::setLevel(level);
        options->log_level = text;
    } else {
        return false;
    }
    return true;
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
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        }
        if (!arg.empty() && arg[0] == '-') {
            options->flags_given.insert(arg);
        }
        std::string error;
        if (arg == "--check" || arg == "--no-check") {
            options->check = arg == "--check";
        } else if (arg == "--allow-remote") {
            options->allow_remote = true;
        } else if (parseValueOption(arg, i + 1 < argc ? argv[i + 1] : nullptr, options, &error)) {
            if (!error.empty()) {
                return usageError(error);
            }
            ++i;
        } else if (!arg.empty() && arg[0] == '-') {
            return usageError("unknown option " + arg);
        } else if (options->scenario.empty()) {
            options->scenario = arg;
        } else {
            return usageError("only one scenario file can be given, got " + options->scenario +
                              " and " + arg);
        }
    }
    if (auto status = checkModes(*options, usageError)) {
        return status;
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

// Runs `run` on `engine` so that SIGINT and SIGTERM pause it; returns false
// when a signal stopped it.
template <class Run>
bool runStoppable(Engine& engine, Run&& run) {
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

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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

// ---------------------------------------------------------------------------
// Replay

void printReplayHeader(const Options& options, const sluice::sim::Recording& recording) {
    const auto& header = recording.header;
    size_t injected = 0;
    for (const auto& fault : recording.faults) {
        injected += fault.injected() ? 1 : 0;
    }
    const std::string until = header.until_ms() >= sluice::sim::kBoundedJobLimitMs
                                  ? "until the job ends"
                                  : "until " + std::to_string(header.until_ms()) + " ms";
    std::printf("replay of %s: scenario %s (seed %llu, %s), recorded by sluice %s\n",
                options.replay.c_str(), header.scenario_path().c_str(),
                static_cast<unsigned long long>(header.seed()), until.c_str(),
                header.build_version().c_str());
    if (header.build_version() != sluice::sim::buildVersion()) {
        std::printf(
            "note: this is sluice %s; a change of the simulation in between can change "
            "the digests\n",
            sluice::sim::buildVersion());
    }
    std::printf(
        "recorded: %zu faults (%zu injected at run time, applied again at their event "
        "index), %zu checkpoint digests, %s at event %llu\n",
        recording.faults.size(), injected, recording.checkpoints.size(),
        recording.final.run_state().c_str(),
        static_cast<unsigned long long>(recording.final.event_count()));
    if (recording.final.checked()) {
        std::printf("recorded verdict: %s\n", recording.final.verdict_summary().c_str());
    }
}

// Prints the comparison; returns the exit status.
int printReplayCheck(const sluice::sim::ReplayCheck& check) {
    if (check.match) {
        std::printf("replay: OK, %zu checkpoint digests and the final digest match\n",
                    check.checkpoints_compared);
        return kExitOk;
    }
    if (check.expected_checkpoint || check.actual_checkpoint) {
        const auto& expected = check.expected_checkpoint;
        const auto& actual = check.actual_checkpoint;
        int64_t id = expected ? expected->checkpoint_id() : actual->checkpoint_id;
        std::printf(
            "replay: DIVERGED at checkpoint %lld: expected digest %s at event %s, got %s "
            "at event %s (%zu earlier checkpoint digests matched)\n",
            static_cast<long long>(id),
            expected ? sluice::sim::digestHex(expected->digest()).c_str() : "(none)",
            expected ? std::to_string(expected->event_index()).c_str() : "-",
            actual ? sluice::sim::digestHex(actual->digest).c_str() : "(none)",
            actual ? std::to_string(actual->event_index).c_str() : "-", check.checkpoints_compared);
    } else {
        std::printf("replay: DIVERGED after all %zu checkpoint digests matched\n",
                    check.checkpoints_compared);
    }
    for (const auto& difference : check.differences) {
        std::printf("  %s\n", difference.c_str());
    }
    return kExitRunFailed;
}

int runReplayCommand(const Options& options) {
    auto read = sluice::sim::readRecording(options.replay);
    if (auto* error = std::get_if<sluice::sim::RecordingError>(&read)) {
        std::fprintf(stderr, "sluice-run: %s\n", error->message.c_str());
        return kExitUsage;
    }
    const auto& recording = std::get<sluice::sim::Recording>(read);
    printReplayHeader(options, recording);
    sluice::sim::EngineOptions engine_options;
    engine_options.checkpoint_dir = options.engine.checkpoint_dir;
    auto built = sluice::sim::replayEngineFor(recording, engine_options);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&built)) {
        std::fprintf(stderr, "sluice-run: cannot rebuild the recorded run: %s\n",
                     error->format().c_str());
        return kExitUsage;
    }
    Engine& engine = *std::get<std::unique_ptr<Engine>>(built);
    auto wall_start = std::chrono::steady_clock::now();
    if (!runStoppable(engine, [&] { sluice::sim::runReplay(engine, recording); })) {
        std::fprintf(stderr, "sluice-run: stopped by a signal at %.3f s simulated\n",
                     double(engine.now()) / 1e9);
        return kExitRunFailed;
    }
    std::printf("\n");
    printRunSummary(engine, options, secondsSince(wall_start));
    std::optional<sluice::sim::Verdict> verdict;
    if (options.check.value_or(false)) {
        std::printf("\n");
        verdict = printVerdict(engine);
    }
    std::printf("\n");
    int status = writeOutputs(engine, options);
    std::printf("digest: %s\n", engine.digestHex().c_str());
    int replay_status = printReplayCheck(sluice::sim::compareReplay(recording, engine));
    if (status != kExitOk) {
        return status;
    }
    if (replay_status != kExitOk || (options.check.value_or(false) && !verdict)) {
        return kExitRunFailed;
    }
    return verdict && !verdict->pass ? kExitRunFailed : kExitOk;
}

// ---------------------------------------------------------------------------
// Seed sweeps
//
// Every seed runs in a sluice-run process of its own rather than on a thread.
// The logger's clock (runtime/core/log.h) is one global that every Engine
// points at its own simulation when it is built. Engines on several threads
// would therefore stamp log lines with another run's time, or read the clock
// of an engine already destroyed.

enum class SeedOutcome { kPass, kFail, kError, kInterrupted };

const char* outcomeName(SeedOutcome outcome) {
    switch (outcome) {
        case SeedOutcome::kPass:
            return "PASS";
        case SeedOutcome::kFail:
            return "FAIL";
        case SeedOutcome::kError:
            return "ERROR";
        case SeedOutcome::kInterrupted:
            return "INTERRUPTED";
    }
    return "?";
}

struct SeedResult {
    uint64_t seed = 0;
    SeedOutcome outcome = SeedOutcome::kPass;
    double wall_s = 0;
    std::optional<size_t> faults;  // unknown when the process left no recording
    std::string message;           // the verdict, or what went wrong
    std::string recording;         // kept for failures
    std::string log;               // output of the process, kept for failures
    bool has_recording = false;
};

struct RunningSeed {
    uint64_t seed = 0;
    std::chrono::steady_clock::time_point start;
};

volatile std::sig_atomic_t g_sweep_interrupted = 0;

void interruptSweep(int) {
    g_sweep_interrupted = 1;
}

std::string selfExecutable(const char* argv0) {
    std::error_code error;
    auto path = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::string(argv0) : path.string();
}

std::string seedFile(const Options& options, uint64_t seed, const char* extension) {
    return (std::filesystem::path(options.failing_dir) /
            ("seed-" + std::to_string(seed) + extension))
        .string();
}

// Starts "sluice-run SCENARIO --seed N --check --record DIR/seed-N.recording"
// with its standard output and error in DIR/seed-N.log. Returns its process
// id, or -1 with the reason in `error`.
pid_t spawnSeed(const std::string& self, const Options& options, uint64_t seed,
                std::string* error) {
    std::vector<std::string> args = {self,
                                     options.scenario,
                                     "--seed",
                                     std::to_string(seed),
                                     "--check",
                                     "--record",
                                     seedFile(options, seed, ".recording")};
    if (options.engine.until_ms) {
        args.insert(args.end(), {"--until-ms", std::to_string(*options.engine.until_ms)});
    }
    if (!options.log_level.empty()) {
        args.insert(args.end(), {"--log-level", options.log_level});
    }
    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    // A recording left by an earlier sweep would be read as this run's.
    std::error_code ignored;
    std::filesystem::remove(seedFile(options, seed, ".recording"), ignored);

    const std::string log = seedFile(options, seed, ".log");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = -1;
    int status = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (status != 0) {
        *error = "cannot start " + self + ": " + std::strerror(status);
        return -1;
    }
    return pid;
}

// Returns why a failing run failed: its verdict, or how the run ended.
std::string failureMessage(const sluice::sim::Recording& recording, const std::string& log) {
    const auto& final = recording.final;
    if (final.checked()) {
        return final.verdict_summary();
    }
    return "no verdict (the reference run failed to start, see " + log + "); the run ended " +
           final.run_state();
}

// Classifies a finished seed process from its wait status and recording, and
// removes the files of a seed that passed or was interrupted.
SeedResult finishSeed(const Options& options, uint64_t seed, int status, double wall_s) {
    SeedResult result;
    result.seed = seed;
    result.wall_s = wall_s;
    result.recording = seedFile(options, seed, ".recording");
    result.log = seedFile(options, seed, ".log");
    auto read = sluice::sim::readRecording(result.recording);
    const auto* recording = std::get_if<sluice::sim::Recording>(&read);
    result.has_recording = recording != nullptr;
    if (recording) {
        result.faults = recording->faults.size();
    }

    bool exited = WIFEXITED(status);
    int exit_status = exited ? WEXITSTATUS(status) : -1;
    bool stopped_early = !recording || recording->final.run_state() == "RUNNING";
    if (g_sweep_interrupted && stopped_early) {
        result.outcome = SeedOutcome::kInterrupted;
        result.message = "interrupted";
    } else if (exited && exit_status == kExitOk) {
        result.outcome = SeedOutcome::kPass;
        result.message = recording ? recording->final.verdict_summary() : "";
    } else if (exited && exit_status == kExitRunFailed && recording) {
        result.outcome = SeedOutcome::kFail;
        result.message = failureMessage(*recording, result.log);
    } else {
        result.outcome = SeedOutcome::kError;
        if (exited) {
            result.message = "sluice-run exited with status " + std::to_string(exit_status) +
                             "; see " + result.log;
        } else {
            int signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
            result.message = "sluice-run was killed by signal " + std::to_string(signal) + " (" +
                             strsignal(signal) + "); see " + result.log;
        }
    }

    if (result.outcome == SeedOutcome::kPass || result.outcome == SeedOutcome::kInterrupted) {
        std::error_code ignored;
        std::filesystem::remove(result.recording, ignored);
        std::filesystem::remove(result.log, ignored);
        result.has_recording = false;
    }
    return result;
}

void printSeedResult(const Options& options, const SeedResult& result, uint64_t done,
                     uint64_t total, size_t failed) {
    std::string faults = result.faults ? std::to_string(*result.faults) +
                                             (*result.faults == 1 ? " fault, " : " faults, ")
                                       : std::string();
    std::printf("seed %llu: %s (%s%.2f s) [%llu/%llu done, %zu failed]\n",
                static_cast<unsigned long long>(result.seed), outcomeName(result.outcome),
                faults.c_str(), result.wall_s, static_cast<unsigned long long>(done),
                static_cast<unsigned long long>(total), failed);
    if (result.outcome == SeedOutcome::kFail || result.outcome == SeedOutcome::kError) {
        std::printf("  %s\n", result.message.c_str());
        if (result.has_recording) {
            std::printf("  replay: sluice-run --replay %s\n", result.recording.c_str());
        } else {
            std::printf("  rerun: sluice-run %s --seed %llu --check\n", options.scenario.c_str(),
                        static_cast<unsigned long long>(result.seed));
        }
        std::printf("  output: %s\n", result.log.c_str());
    }
    std::fflush(stdout);
}

// Text for XML attributes and character data. Control characters other
// than tab and line breaks are not allowed in XML 1.0 and become '?'.
std::string xmlEscape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                bool control = uint8_t(c) < 0x20 && c != '\t' && c != '\n' && c != '\r';
                out += control ? '?' : c;
        }
    }
    return out;
}

// Writes a JUnit XML report: one testsuite for the scenario, one testcase per
// seed, ordered by seed.
void writeJunit(std::ostream& out, const Options& options, const std::string& suite,
                std::vector<SeedResult> results, double wall_s) {
    std::sort(results.begin(), results.end(),
              [](const SeedResult& a, const SeedResult& b) { return a.seed < b.seed; });
    size_t failures = 0;
    size_t errors = 0;
    size_t skipped = 0;
    for (const auto& result : results) {
        failures += result.outcome == SeedOutcome::kFail ? 1 : 0;
        errors += result.outcome == SeedOutcome::kError ? 1 : 0;
        skipped += result.outcome == SeedOutcome::kInterrupted ? 1 : 0;
    }
    char time[32];
    std::snprintf(time, sizeof(time), "%.3f", wall_s);
    std::string counts = "tests=\"" + std::to_string(results.size()) + "\" failures=\"" +
                         std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
                         "\" skipped=\"" + std::to_string(skipped) + "\" time=\"" + time + "\"";
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<testsuites " << counts << ">\n"
        << "  <testsuite name=\"" << xmlEscape(suite) << "\" " << counts << ">\n"
        << "    <properties>\n"
        << "      <property name=\"scenario\" value=\"" << xmlEscape(options.scenario) << "\"/>\n"
        << "    </properties>\n";
    for (const auto& result : results) {
        std::snprintf(time, sizeof(time), "%.3f", result.wall_s);
        out << "    <testcase classname=\"sluice-run." << xmlEscape(suite) << "\" name=\"seed "
            << result.seed << "\" time=\"" << time << "\"";
        std::string reproduce_command = result.has_recording
                                            ? "replay: sluice-run --replay " + result.recording
                                            : "rerun: sluice-run " + options.scenario + " --seed " +
                                                  std::to_string(result.seed) + " --check";
        switch (result.outcome) {
            case SeedOutcome::kPass:
                out << "/>\n";
                break;
            case SeedOutcome::kFail:
            case SeedOutcome::kError: {
                const char* tag = result.outcome == SeedOutcome::kFail ? "failure" : "error";
                out << ">\n      <" << tag << " message=\"" << xmlEscape(result.message)
                    << "\" type=\"" << (result.outcome == SeedOutcome::kFail ? "verdict" : "run")
                    << "\">"
                    << xmlEscape(result.message + "\n" + reproduce_command +
                                 "\noutput: " + result.log)
                    << "</" << tag << ">\n    </testcase>\n";
                break;
            }
            case SeedOutcome::kInterrupted:
                out << ">\n      <skipped message=\"interrupted\"/>\n    </testcase>\n";
                break;
        }
    }
    out << "  </testsuite>\n</testsuites>\n";
}

// Runs the seeds of options.seeds, at most `jobs` processes at once, and
// prints each result as its process ends. After SIGINT or SIGTERM it starts
// no more seeds, forwards SIGTERM to the running ones and waits for them.
class Sweep {
public:
    Sweep(const Options& options, std::string self, int jobs)
        : options_(options), self_(std::move(self)), jobs_(size_t(jobs)) {}

    void run() {
        while (true) {
            startSeeds();
            if (running_.empty()) {
                return;
            }
            waitForOne();
        }
    }

    const std::vector<SeedResult>& results() const { return results_; }
    size_t failed() const { return failed_; }

private:
    void startSeeds() {
        const SeedRange& range = *options_.seeds;
        while (!g_sweep_interrupted && started_ < range.count() && running_.size() < jobs_) {
            uint64_t seed = range.first + started_++;
            std::string error;
            pid_t pid = spawnSeed(self_, options_, seed, &error);
            if (pid < 0) {
                SeedResult result;
                result.seed = seed;
                result.outcome = SeedOutcome::kError;
                result.message = error;
                result.log = seedFile(options_, seed, ".log");
                record(result);
                continue;
            }
            running_[pid] = {seed, std::chrono::steady_clock::now()};
        }
    }

    void waitForOne() {
        if (g_sweep_interrupted && !forwarded_) {
            // A signal sent to this process alone stops the seeds too.
            for (const auto& [child, running] : running_) {
                ::kill(child, SIGTERM);
            }
            forwarded_ = true;
        }
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, 0);
        if (pid < 0) {
            // EINTR: the caller loops back here, and the signal is forwarded.
            if (errno == ECHILD) {
                running_.clear();
            }
            return;
        }
        auto it = running_.find(pid);
        if (it == running_.end()) {
            return;
        }
        RunningSeed seed = it->second;
        running_.erase(it);
        record(finishSeed(options_, seed.seed, status, secondsSince(seed.start)));
    }

    void record(const SeedResult& result) {
        if (result.outcome == SeedOutcome::kFail || result.outcome == SeedOutcome::kError) {
            ++failed_;
        }
        results_.push_back(result);
        printSeedResult(options_, result, results_.size(), options_.seeds->count(), failed_);
    }

    const Options& options_;
    const std::string self_;
    const size_t jobs_;
    uint64_t started_ = 0;
    std::map<pid_t, RunningSeed> running_;
    std::vector<SeedResult> results_;
    size_t failed_ = 0;
    bool forwarded_ = false;
};

struct SweepScenario {
    std::string name;  // the scenario's name, or its file name without extension
    bool has_swarm = false;
};

// Loads the scenario once, so that an invalid scenario is reported once and
// not by every seed. Returns nullopt after printing the error.
std::optional<SweepScenario> checkSweepScenario(const Options& options) {
    sluice::sim::EngineOptions engine_options = options.engine;
    engine_options.seed = options.seeds->first;
    auto loaded = Engine::fromFile(options.scenario, engine_options);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&loaded)) {
        std::fprintf(stderr, "%s\n", error->format().c_str());
        return std::nullopt;
    }
    const auto& scenario = std::get<std::unique_ptr<Engine>>(loaded)->scenario().proto;
    std::string name = scenario.name().empty()
                           ? std::filesystem::path(options.scenario).stem().string()
                           : scenario.name();
    return SweepScenario{name, scenario.faults().swarm().kinds_size() > 0};
}

void installSweepSignals() {
    struct sigaction action = {};
    action.sa_handler = interruptSweep;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART, so waitpid returns on a signal
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

void printSweepSummary(const Sweep& sweep, const Options& options, double wall_s) {
    size_t passed = 0;
    std::vector<uint64_t> failing;
    for (const auto& result : sweep.results()) {
        passed += result.outcome == SeedOutcome::kPass ? 1 : 0;
        if (result.outcome == SeedOutcome::kFail || result.outcome == SeedOutcome::kError) {
            failing.push_back(result.seed);
        }
    }
    size_t finished = sweep.results().size();
    double per_minute = wall_s > 0 ? 60.0 * double(finished) / wall_s : 0.0;
    std::printf(
        "\nsweep: %zu of %llu seeds in %.1f s (%.1f seeds per minute): %zu passed, %zu "
        "failed%s\n",
        finished, static_cast<unsigned long long>(options.seeds->count()), wall_s, per_minute,
        passed, failing.size(), g_sweep_interrupted ? "; interrupted by a signal" : "");
    if (!failing.empty()) {
        std::sort(failing.begin(), failing.end());
        std::string list;
        for (uint64_t seed : failing) {
            list += (list.empty() ? "" : ", ") + std::to_string(seed);
        }
        std::printf("failing seeds: %s; recordings and output in %s\n", list.c_str(),
                    options.failing_dir.c_str());
    }
}

int runSweep(const Options& options, const char* argv0) {
    auto scenario = checkSweepScenario(options);
    if (!scenario) {
        return kExitUsage;
    }
    std::error_code error;
    std::filesystem::create_directories(options.failing_dir, error);
    if (error || !std::filesystem::is_directory(options.failing_dir)) {
        std::fprintf(stderr, "sluice-run: cannot create --failing-dir %s: %s\n",
                     options.failing_dir.c_str(),
                     error ? error.message().c_str() : "it is not a folder");
        return kExitUsage;
    }

    int jobs =
        options.jobs > 0 ? options.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
    jobs = int(std::min<uint64_t>(uint64_t(jobs), options.seeds->count()));
    std::printf("sweep: seeds %llu..%llu of %s, %d at once, each with the verdict check\n",
                static_cast<unsigned long long>(options.seeds->first),
                static_cast<unsigned long long>(options.seeds->last), options.scenario.c_str(),
                jobs);
    if (!scenario->has_swarm) {
        std::printf(
            "note: the scenario has no faults.swarm, so every seed injects the same "
            "faults; only the seed's other random draws change\n");
    }
    std::fflush(stdout);

    installSweepSignals();
    auto wall_start = std::chrono::steady_clock::now();
    Sweep sweep(options, selfExecutable(argv0), jobs);
    sweep.run();
    double wall_s = secondsSince(wall_start);

    printSweepSummary(sweep, options, wall_s);
    if (!options.junit.empty()) {
        int status = writeFile(options.junit, "JUnit report", [&](std::ostream& out) {
            writeJunit(out, options, scenario->name, sweep.results(), wall_s);
        });
        if (status != kExitOk) {
            return status;
        }
    }
    return sweep.failed() == 0 && !g_sweep_interrupted ? kExitOk : kExitRunFailed;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    // Line-buffered output keeps standard output and error in order when
    // both go to one file, such as a sweep's seed-N.log.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    Options options;
    if (auto status = parseArguments(argc, argv, &options)) {
        return *status;
    }
    if (!options.replay.empty()) {
        return runReplayCommand(options);
    }
    if (options.seeds) {
        return runSweep(options, argv[0]);
    }
    if (!options.serve.empty()) {
        return runServe(options.scenario, options.serve, options.allow_remote, options.engine);
    }
    return runScenario(options);
}
