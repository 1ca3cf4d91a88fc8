// sluice-run: runs a scenario headless and prints a summary, records and
// replays runs, and sweeps a scenario over a range of seeds.

#include "app/run_command.h"
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

using namespace sluice::app;

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
  --keyed-state-csv FILE
                       Write the keyed state of the newest retained checkpoint
                       at the end of the run: one row per task, subtask,
                       state and key, with the last update time (simulated
                       ms) and whether the entry changed since the previous
                       checkpoint.
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
    "--metrics-csv", "--checkpoints-csv", "--checkpoints-json", "--keyed-state-csv",
    "--no-check",    "--replay"};
const std::set<std::string> kServeRejects = {
    "--record",           "--restore",         "--metrics-csv", "--checkpoints-csv",
    "--checkpoints-json", "--keyed-state-csv", "--check",       "--no-check",
    "--replay",           "--seeds",           "--jobs",        "--junit",
    "--failing-dir"};
const std::set<std::string> kReplayRejects = {"--seed",   "--until-ms",   "--restore",
                                              "--record", "--seeds",      "--jobs",
                                              "--junit",  "--failing-dir"};

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
        {"--keyed-state-csv", &options.keyed_state_csv},
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
               arg == "--checkpoints-json" || arg == "--keyed-state-csv" || arg == "--record" ||
               arg == "--junit") {
        if (!text || !*text) {
            return needs("a file name");
        }
        std::string& target = arg == "--metrics-csv"       ? options->metrics_csv
                              : arg == "--checkpoints-csv" ? options->checkpoints_csv
                              : arg == "--keyed-state-csv" ? options->keyed_state_csv
                              : arg == "--record"          ? options->record
                              : arg == "--junit"           ? options->junit
                                                           : options->checkpoints_json;
        target = text;
        if (arg == "--keyed-state-csv") {
            options->engine.keep_snapshot_update_times = true;
        }
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
