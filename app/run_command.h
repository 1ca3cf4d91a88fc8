#pragma once

// The parts of sluice-run: its options and exit codes, the three modes, and
// the single-run helpers that a replay shares with a run.

#include "sim/checker.h"
#include "sim/engine.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <set>
#include <string>

namespace sluice::app {

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

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
    std::string keyed_state_csv;
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

inline double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One run of a scenario, the default mode. Returns the exit status.
int runScenario(const Options& options);
// --replay: re-executes a recording and verifies its digests.
int runReplayCommand(const Options& options);
// --seeds: runs every seed in a process of its own; `argv0` locates this
// executable.
int runSweep(const Options& options, const char* argv0);

// Runs `run` so that SIGINT and SIGTERM pause `engine`; returns false when a
// signal stopped it.
bool runStoppable(sim::Engine& engine, const std::function<void()>& run);
void printRunSummary(const sim::Engine& engine, const Options& options, double wall_s);
// Runs the reference and prints the verdict; returns nullopt when the
// reference run could not be built.
std::optional<sim::Verdict> printVerdict(const sim::Engine& engine);
// Writes a file through `write`, prints where, and returns the exit status;
// `what` names the file in messages, such as "metrics CSV".
int writeFile(const std::string& path, const char* what,
              const std::function<void(std::ostream&)>& write);
// Writes the CSV and JSON files the options name; returns the exit status.
int writeOutputs(const sim::Engine& engine, const Options& options);

}  // namespace sluice::app
