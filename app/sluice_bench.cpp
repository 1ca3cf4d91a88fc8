// sluice-bench: measures how fast the engine simulates a wordcount job, and
// compares it with a plain loop that generates the same records and counts
// them in a hash map.

#include "sim/engine.h"
#include "sim/random.h"

#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using sluice::sim::Engine;

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage = R"(Usage: sluice-bench [options]

Runs a wordcount job on the simulator (generator source at parallelism 4,
keyBy, COUNT aggregate at parallelism 4, discarding sink at parallelism 2,
keys drawn from zipf 1.0) and then a plain loop that generates the same
records and counts them per key in a std::unordered_map. Prints one
"name: value" line per measurement; progress goes to standard error.

Options:
  --records N   Source records of the job (default 10000000).
  --keys N      Distinct keys of the generator (default 100000).
  --help        Show this text.

Exit status: 0 when the run finished, 1 when the job did not finish, 2 for
invalid usage.
)";

// Fixed parameters of the job. runBaseline() mirrors them.
constexpr uint64_t kSeed = 42;
constexpr int kSourceParallelism = 4;
constexpr const char* kKeyPrefix = "word-";

struct Options {
    uint64_t records = 10'000'000;
    uint64_t keys = 100'000;
};

bool parsePositive(const char* text, uint64_t* value) {
    char* end = nullptr;
    errno = 0;
    unsigned long long parsed = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || parsed == 0) {
        return false;
    }
    *value = parsed;
    return true;
}

// Returns the exit status to use, or nullopt to go on.
std::optional<int> parseArguments(int argc, char** argv, Options* options) {
    auto usageError = [](const std::string& message) {
        std::fprintf(stderr, "sluice-bench: %s\nRun 'sluice-bench --help' for usage.\n",
                     message.c_str());
        return kExitUsage;
    };
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        }
        if (arg == "--records" || arg == "--keys") {
            uint64_t number = 0;
            if (i + 1 >= argc || !parsePositive(argv[++i], &number)) {
                return usageError(arg + " needs a positive integer");
            }
            (arg == "--records" ? options->records : options->keys) = number;
        } else {
            return usageError("unknown argument " + arg);
        }
    }
    // The generator derives a record id from a 40-bit offset per partition.
    if (options->records / kSourceParallelism >= (uint64_t(1) << 40)) {
        return usageError("--records must be below " +
                          std::to_string(kSourceParallelism * (uint64_t(1) << 40)));
    }
    return std::nullopt;
}

std::string scenarioText(const Options& options) {
    return "name: \"bench-wordcount\"\n"
           "seed: " +
           std::to_string(kSeed) +
           "\n"
           "cluster { task_managers: 2 }\n"
           "job {\n"
           "  name: \"bench-wordcount\"\n"
           "  operators {\n"
           "    id: \"words\"\n"
           "    parallelism: " +
           std::to_string(kSourceParallelism) +
           "\n"
           "    generator {\n"
           "      key_count: " +
           std::to_string(options.keys) +
           "\n"
           "      key_prefix: \"" +
           kKeyPrefix +
           "\"\n"
           "      distribution: ZIPF\n"
           "      zipf_exponent: 1.0\n"
           "      rate_per_second: 0\n"
           "      record_count: " +
           std::to_string(options.records) +
           "\n"
           "    }\n"
           "    cost { ns_per_record: 50 }\n"
           "  }\n"
           "  operators {\n"
           "    id: \"count\"\n"
           "    parallelism: 4\n"
           "    aggregate { function: COUNT }\n"
           "    cost { ns_per_record: 100 }\n"
           "  }\n"
           "  operators {\n"
           "    id: \"sink\"\n"
           "    parallelism: 2\n"
           "    sink { kind: DISCARD }\n"
           "    cost { ns_per_record: 50 }\n"
           "  }\n"
           "  edges { from: \"words\" to: \"count\" partitioning: HASH }\n"
           "  edges { from: \"count\" to: \"sink\" partitioning: REBALANCE }\n"
           "}\n";
}

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Records emitted so far by the subtasks of stream node `source_node`.
uint64_t sourceRecords(const Engine& engine, int source_node) {
    uint64_t total = 0;
    for (const auto* task : engine.tasks()) {
        for (int i = 0; i < task->operatorCount(); ++i) {
            if (task->operatorNode(i) == source_node) {
                total += task->operatorContext(i).metrics.records_out;
            }
        }
    }
    return total;
}

// Keys held in keyed state by the subtasks of stream node `node`.
size_t stateKeys(const Engine& engine, int node) {
    size_t total = 0;
    for (const auto* task : engine.tasks()) {
        for (int i = 0; i < task->operatorCount(); ++i) {
            const sluice::KeyedStateBackend* backend = task->keyedStateBackend(i);
            if (task->operatorNode(i) == node && backend) {
                backend->forEachState(
                    [&](const sluice::InternalKvState& state) { total += state.entryCount(); });
            }
        }
    }
    return total;
}

struct BaselineResult {
    double wall_seconds = 0;
    uint64_t records = 0;
    size_t distinct_keys = 0;
    uint64_t checksum = 0;  // printed, so the compiler cannot drop the work
};

// Generates the records of the job's source as the scenario generator does
// and counts them per key. Record `offset` of partition `p` comes from the
// same counter-based bits and zipf alias table, with a copied key string, id,
// value and timestamp.
BaselineResult runBaseline(const Options& options) {
    using sluice::sim::mix64;
    constexpr int kOperatorIndex = 0;  // the source is the scenario's first operator
    uint64_t seed = mix64(kSeed ^ (uint64_t(kOperatorIndex) << 32));
    std::vector<std::string> keys;
    keys.reserve(options.keys);
    for (uint64_t k = 0; k < options.keys; ++k) {
        keys.push_back(kKeyPrefix + std::to_string(k));
    }
    sluice::sim::ZipfDistribution zipf(options.keys, 1.0);
    sluice::sim::UniformIntDistribution values(1, 1);
    // Full speed: event time advances by 1 ms per record of a partition.
    constexpr double kEventTimeStepMs = 1.0;

    auto start = std::chrono::steady_clock::now();
    std::unordered_map<std::string, int64_t> counts;
    std::string key;
    BaselineResult result;
    for (int p = 0; p < kSourceParallelism; ++p) {
        uint64_t size = options.records / kSourceParallelism +
                        (uint64_t(p) < options.records % kSourceParallelism ? 1 : 0);
        for (uint64_t offset = 0; offset < size; ++offset) {
            uint64_t bits = mix64(seed ^ mix64((uint64_t(p) << 40) ^ offset));
            uint64_t id = (uint64_t(kOperatorIndex) << 56) | (uint64_t(p) << 40) | offset;
            key = keys[zipf.fromBits(bits)];
            int64_t value = values.fromBits(mix64(bits + 1));
            int64_t timestamp = std::llround(double(offset) * kEventTimeStepMs);
            ++counts[key];
            result.checksum += id ^ uint64_t(value) ^ uint64_t(timestamp);
        }
        result.records += size;
    }
    result.wall_seconds = secondsSince(start);
    result.distinct_keys = counts.size();
    return result;
}

// Peak resident set size in bytes: VmHWM, or ru_maxrss where /proc is absent.
uint64_t peakRssBytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
        }
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return uint64_t(usage.ru_maxrss) * 1024;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (auto status = parseArguments(argc, argv, &options)) {
        return *status;
    }
    auto scenario =
        sluice::sim::parseScenario(scenarioText(options), "bench-wordcount.textproto", ".", false);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&scenario)) {
        std::fprintf(stderr, "%s\n", error->format().c_str());
        return kExitUsage;
    }
    auto loaded = Engine::fromScenario(std::move(std::get<sluice::sim::LoadedScenario>(scenario)));
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&loaded)) {
        std::fprintf(stderr, "%s\n", error->format().c_str());
        return kExitUsage;
    }
    Engine& engine = *std::get<std::unique_ptr<Engine>>(loaded);
    const int source_node = engine.scenarioJob().node_of_operator.at(0);

    // Progress: the predicate runs after every event, so it only counts
    // events and looks at the tasks every kCheckEvents events.
    constexpr uint64_t kCheckEvents = 128;
    uint64_t events_until_check = kCheckEvents;
    uint64_t next_report = (options.records + 9) / 10;
    auto engine_start = std::chrono::steady_clock::now();
    engine.runUntil([&] {
        if (--events_until_check > 0) {
            return false;
        }
        events_until_check = kCheckEvents;
        uint64_t emitted = sourceRecords(engine, source_node);
        if (emitted >= next_report) {
            std::fprintf(stderr, "progress: %llu of %llu source records (%.0f%%), %.1f s wall\n",
                         static_cast<unsigned long long>(emitted),
                         static_cast<unsigned long long>(options.records),
                         100.0 * double(emitted) / double(options.records),
                         secondsSince(engine_start));
            while (next_report <= emitted) {
                next_report += (options.records + 9) / 10;
            }
        }
        return false;
    });
    double engine_wall = secondsSince(engine_start);
    uint64_t engine_records = sourceRecords(engine, source_node);
    double simulated_seconds = double(engine.now()) / 1e9;
    // The count operator keeps one state entry per key it saw.
    size_t engine_keys = stateKeys(engine, engine.scenarioJob().node_of_operator.at(1));

    std::fprintf(stderr, "baseline: generating and counting %llu records\n",
                 static_cast<unsigned long long>(options.records));
    BaselineResult baseline = runBaseline(options);

    std::printf("records: %llu\n", static_cast<unsigned long long>(engine_records));
    std::printf("keys: %llu\n", static_cast<unsigned long long>(options.keys));
    std::printf("run_state: %s\n", sluice::sim::runStateName(engine.runState()));
    std::printf("events: %llu\n", static_cast<unsigned long long>(engine.eventCount()));
    std::printf("engine_wall_seconds: %.3f\n", engine_wall);
    std::printf("simulated_seconds: %.3f\n", simulated_seconds);
    std::printf("records_per_second: %.0f\n",
                engine_wall > 0 ? double(engine_records) / engine_wall : 0.0);
    std::printf("simulated_seconds_per_wall_second: %.3f\n",
                engine_wall > 0 ? simulated_seconds / engine_wall : 0.0);
    std::printf("baseline_wall_seconds: %.3f\n", baseline.wall_seconds);
    std::printf("baseline_records_per_second: %.0f\n",
                baseline.wall_seconds > 0 ? double(baseline.records) / baseline.wall_seconds : 0.0);
    std::printf("engine_distinct_keys: %zu\n", engine_keys);
    std::printf("baseline_distinct_keys: %zu\n", baseline.distinct_keys);
    std::printf("baseline_checksum: %016llx\n", static_cast<unsigned long long>(baseline.checksum));
    std::printf("baseline_ratio: %.2f\n",
                baseline.wall_seconds > 0 ? engine_wall / baseline.wall_seconds : 0.0);
    std::printf("peak_rss_bytes: %llu\n", static_cast<unsigned long long>(peakRssBytes()));
    std::printf("digest: %s\n", engine.digestHex().c_str());
    return engine.runState() == sluice::sim::RunState::kFinished ? kExitOk : kExitRunFailed;
}
