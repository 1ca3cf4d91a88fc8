// sluice-run --seeds: sweeps a scenario over a range of seeds.
//
// Every seed runs in a sluice-run process of its own rather than on a thread.
// The logger's clock (runtime/core/log.h) is one global that every Engine
// points at its own simulation when it is built. Engines on several threads
// would therefore stamp log lines with another run's time, or read the clock
// of an engine already destroyed.

#include "app/run_command.h"
#include "sim/recording.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sluice::app {

using sim::Engine;

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

}  // namespace sluice::app
