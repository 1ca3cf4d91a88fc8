// sluice-bench: measures how fast the engine simulates a wordcount job, and
// compares it with a plain loop that generates the same records and counts
// them in a hash map. Two more modes measure the size of incremental RocksDB
// checkpoints, and the alignment time of aligned checkpoints against state
// size, parallelism and shuffle stages.

#include "runtime/checkpoint/checkpoint_stats.h"
#include "runtime/graph/job_graph.h"
#include "sim/engine.h"
#include "sim/random.h"

#include <google/protobuf/text_format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using sluice::sim::Engine;

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage = R"(Usage: sluice-bench [mode] [options]

Modes:
  (default)        Wordcount throughput. Runs a wordcount job on the
                   simulator (generator source at parallelism 4, keyBy, COUNT
                   aggregate at parallelism 4, discarding sink at parallelism
                   2, keys drawn from zipf 1.0, no checkpoints) and then a
                   plain loop that generates the same records and counts them
                   per key in a std::unordered_map.
  --incremental    Runs a scenario with incremental RocksDB checkpoints and
                   prints checkpointed_size_bytes / full_size_bytes of the
                   completed checkpoints triggered after every bounded source
                   finished.
  --paper-check    Runs jobs with aligned EXACTLY_ONCE checkpoints over a grid
                   of key counts (10 k, 100 k, 1 M), parallelism (2, 4, 8) and
                   shuffles (keyBy; keyBy then keyBy; keyBy then rebalance).
                   Prints a table of each cell's alignment times (largest
                   subtask, per stage, and summed along the job), then one
                   verdict line per finding and shuffle layout, followed by
                   the cells that contradict it.

Prints one "name: value" line per measurement (and the table of
--paper-check); progress goes to standard error.

Options:
  --backend heap|rocksdb  Keyed state backend of the wordcount and
                          --paper-check jobs (default heap).
  --records N             Source records of the wordcount job (default 10000000).
  --keys N                Distinct keys of the wordcount generator (default 100000).
  --key-counts N,N[,...]  Key counts of the --paper-check grid, at least two,
                          each at most 10000000 (default 10000,100000,1000000).
  --scenario FILE         Scenario of --incremental (default
                          scenarios/rocksdb-incremental.textproto, relative to
                          the working directory).
  --help                  Show this text.

Exit status: 0 when every run finished, 1 when a job did not finish or
failed, 2 for invalid usage or an invalid scenario.
)";

enum class Mode { kWordcount, kIncremental, kPaperCheck };

// Fixed parameters of the wordcount job. runBaseline() mirrors them.
constexpr uint64_t kSeed = 42;
constexpr int kSourceParallelism = 4;
constexpr const char* kKeyPrefix = "word-";

struct Options {
    Mode mode = Mode::kWordcount;
    bool rocksdb = false;
    uint64_t records = 10'000'000;
    uint64_t keys = 100'000;
    std::vector<uint64_t> key_counts = {10'000, 100'000, 1'000'000};
    std::string scenario = "scenarios/rocksdb-incremental.textproto";
};

const char* backendName(const Options& options) {
    return options.rocksdb ? "rocksdb" : "heap";
}

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

// Parses a comma-separated list of at least two distinct key counts of the
// --paper-check grid and sorts it ascending. The limit keeps every key
// within kPaperKeyLength characters.
bool parseKeyCounts(const std::string& text, std::vector<uint64_t>* counts) {
    constexpr uint64_t kMaxKeyCount = 10'000'000;
    std::vector<uint64_t> parsed;
    size_t begin = 0;
    while (begin <= text.size()) {
        size_t end = std::min(text.find(',', begin), text.size());
        uint64_t value = 0;
        if (!parsePositive(text.substr(begin, end - begin).c_str(), &value) ||
            value > kMaxKeyCount) {
            return false;
        }
        parsed.push_back(value);
        begin = end + 1;
    }
    std::sort(parsed.begin(), parsed.end());
    if (parsed.size() < 2 || std::adjacent_find(parsed.begin(), parsed.end()) != parsed.end()) {
        return false;
    }
    *counts = std::move(parsed);
    return true;
}

// Returns the exit status to use, or nullopt to go on.
std::optional<int> parseArguments(int argc, char** argv, Options* options) {
    auto usageError = [](const std::string& message) {
        std::fprintf(stderr, "sluice-bench: %s\nRun 'sluice-bench --help' for usage.\n",
                     message.c_str());
        return kExitUsage;
    };
    bool mode_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        }
        if (arg == "--incremental" || arg == "--paper-check") {
            if (mode_given) {
                return usageError("give at most one of --incremental and --paper-check");
            }
            mode_given = true;
            options->mode = arg == "--incremental" ? Mode::kIncremental : Mode::kPaperCheck;
        } else if (arg == "--records" || arg == "--keys") {
            uint64_t number = 0;
            if (i + 1 >= argc || !parsePositive(argv[++i], &number)) {
                return usageError(arg + " needs a positive integer");
            }
            (arg == "--records" ? options->records : options->keys) = number;
        } else if (arg == "--key-counts") {
            if (i + 1 >= argc || !parseKeyCounts(argv[++i], &options->key_counts)) {
                return usageError(
                    "--key-counts needs two or more distinct positive integers up to 10000000, "
                    "separated by commas");
            }
        } else if (arg == "--backend") {
            std::string value = i + 1 < argc ? argv[++i] : "";
            if (value != "heap" && value != "rocksdb") {
                return usageError("--backend needs heap or rocksdb");
            }
            options->rocksdb = value == "rocksdb";
        } else if (arg == "--scenario") {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                return usageError("--scenario needs a file");
            }
            options->scenario = argv[++i];
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
           "cluster { task_managers: 2 }\n" +
           // No interval: checkpointing stays off, only the backend changes.
           (options.rocksdb ? "checkpointing { state_backend: ROCKSDB }\n" : "") +
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

// Builds an engine from scenario text; prints the error and returns null on
// failure.
std::unique_ptr<Engine> engineFromText(const std::string& text, const std::string& name) {
    auto scenario = sluice::sim::parseScenario(text, name, ".", false);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&scenario)) {
        std::fprintf(stderr, "%s\n", error->format().c_str());
        return nullptr;
    }
    auto loaded = Engine::fromScenario(std::move(std::get<sluice::sim::LoadedScenario>(scenario)));
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&loaded)) {
        std::fprintf(stderr, "%s\n", error->format().c_str());
        return nullptr;
    }
    return std::move(std::get<std::unique_ptr<Engine>>(loaded));
}

int runWordcount(const Options& options) {
    std::unique_ptr<Engine> owned =
        engineFromText(scenarioText(options), "bench-wordcount.textproto");
    if (!owned) {
        return kExitUsage;
    }
    Engine& engine = *owned;
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

    std::printf("backend: %s\n", backendName(options));
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

struct RatioStats {
    int count = 0;
    double min = 0;
    double avg = 0;
    double max = 0;
};

RatioStats ratioStats(const std::vector<double>& ratios) {
    RatioStats stats;
    if (ratios.empty()) {
        return stats;
    }
    stats.count = int(ratios.size());
    stats.min = *std::min_element(ratios.begin(), ratios.end());
    stats.max = *std::max_element(ratios.begin(), ratios.end());
    double sum = 0;
    for (double r : ratios) {
        sum += r;
    }
    stats.avg = sum / double(ratios.size());
    return stats;
}

void printRatioStats(const char* prefix, const RatioStats& stats) {
    std::printf("%s_count: %d\n", prefix, stats.count);
    std::printf("%s_min: %.4f\n", prefix, stats.min);
    std::printf("%s_avg: %.4f\n", prefix, stats.avg);
    std::printf("%s_max: %.4f\n", prefix, stats.max);
}

int runIncremental(const Options& options) {
    auto loaded = Engine::fromFile(options.scenario);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&loaded)) {
        std::fprintf(stderr, "%s\n", error->format().c_str());
        return kExitUsage;
    }
    Engine& engine = *std::get<std::unique_ptr<Engine>>(loaded);

    // The initial load is over when every bounded generator emitted all its
    // records; checkpoints triggered before that upload the load itself.
    struct BoundedSource {
        int node;
        uint64_t records;
    };
    std::vector<BoundedSource> bounded;
    const auto& operators = engine.scenario().proto.job().operators();
    for (int i = 0; i < operators.size(); ++i) {
        const auto& op = operators[i];
        if (op.has_generator() && op.generator().record_count() > 0) {
            bounded.push_back({engine.scenarioJob().node_of_operator.at(size_t(i)),
                               op.generator().record_count()});
        }
    }
    std::optional<sluice::Nanos> load_done_ns;
    sluice::Nanos next_report_ns = 0;
    auto start = std::chrono::steady_clock::now();
    engine.runUntil([&] {
        // Checked after every event so that the end of the load is exact to
        // the event; the run has about 150 k events.
        if (!load_done_ns) {
            bool done = true;
            for (const auto& source : bounded) {
                done = done && sourceRecords(engine, source.node) >= source.records;
            }
            if (done) {
                load_done_ns = engine.now();
                std::fprintf(stderr, "progress: initial load finished at %.3f s simulated\n",
                             double(engine.now()) / 1e9);
            }
        }
        if (engine.now() >= next_report_ns) {
            std::fprintf(stderr, "progress: %.1f of %.1f s simulated, %.1f s wall\n",
                         double(engine.now()) / 1e9, double(engine.untilNs()) / 1e9,
                         secondsSince(start));
            next_report_ns += engine.untilNs() / 10;
        }
        return false;
    });
    double wall = secondsSince(start);

    std::vector<double> all;
    std::vector<double> partial;  // without the checkpoints that uploaded everything
    int full_uploads = 0;
    int completed = 0;
    for (const auto& stats : engine.checkpointHistory()) {
        if (stats.savepoint || stats.status != sluice::CheckpointStatus::kCompleted) {
            continue;
        }
        ++completed;
        if (!load_done_ns || stats.trigger_time_ns < *load_done_ns || stats.full_size_bytes <= 0) {
            continue;
        }
        double ratio = double(stats.checkpointed_size_bytes) / double(stats.full_size_bytes);
        all.push_back(ratio);
        if (stats.checkpointed_size_bytes >= stats.full_size_bytes) {
            ++full_uploads;
        } else {
            partial.push_back(ratio);
        }
    }
    std::printf("scenario: %s\n", options.scenario.c_str());
    std::printf("run_state: %s\n", sluice::sim::runStateName(engine.runState()));
    std::printf("events: %llu\n", static_cast<unsigned long long>(engine.eventCount()));
    std::printf("engine_wall_seconds: %.3f\n", wall);
    std::printf("simulated_seconds: %.3f\n", double(engine.now()) / 1e9);
    std::printf("load_finished_seconds: %.3f\n", load_done_ns ? double(*load_done_ns) / 1e9 : -1.0);
    std::printf("completed_checkpoints: %d\n", completed);
    // Checkpoints after the load that uploaded the whole state: the
    // compacting ones.
    std::printf("full_uploads_after_load: %d\n", full_uploads);
    printRatioStats("incremental_over_full", ratioStats(all));
    printRatioStats("incremental_over_full_without_full_uploads", ratioStats(partial));
    std::printf("peak_rss_bytes: %llu\n", static_cast<unsigned long long>(peakRssBytes()));
    std::printf("digest: %s\n", engine.digestHex().c_str());
    if (!load_done_ns) {
        std::fprintf(stderr, "sluice-bench: the bounded sources never finished\n");
        return kExitRunFailed;
    }
    return engine.runState() == sluice::sim::RunState::kFailed ||
                   engine.runState() == sluice::sim::RunState::kStalled
               ? kExitRunFailed
               : kExitOk;
}

// Shuffles between the source and the sink of a paper-check job.
enum class Topology {
    kKeyBy,           // source -keyBy-> count -> sink
    kKeyByKeyBy,      // source -keyBy-> count -keyBy-> count -> sink
    kKeyByRebalance,  // source -keyBy-> count -rebalance-> map -> sink
};

const char* topologyName(Topology topology) {
    switch (topology) {
        case Topology::kKeyBy:
            return "keyBy";
        case Topology::kKeyByKeyBy:
            return "keyBy+keyBy";
        case Topology::kKeyByRebalance:
            return "keyBy+rebal";
    }
    return "?";
}

// One cell of the --paper-check grid.
struct PaperCell {
    uint64_t keys = 0;
    int parallelism = 0;
    Topology topology = Topology::kKeyBy;
};

// Workload of every cell: the same total rate and duration, so that only
// the swept parameter changes. Costs keep each subtask well below full load
// (at parallelism 2 a keyed subtask is about 25 % busy).
constexpr double kPaperRatePerSecond = 1'000'000;
constexpr uint64_t kPaperRunMs = 3000;
constexpr uint64_t kPaperIntervalMs = 150;
// Upload bandwidth of snapshots: high enough that even the largest state
// (about 80 MB: two keyed stages at 1 M keys) uploads well within one
// interval, so every cell takes the same number of checkpoints.
constexpr uint64_t kPaperUploadMbps = 10'000;
// Every key is this long (prefix, then the index), so that records have
// the same size whatever the key count and only the number of keys varies.
constexpr size_t kPaperKeyLength = 8;
// Checkpoints triggered earlier are left out: the pipeline fills up and the
// state grows during the first second.
constexpr sluice::Nanos kPaperWarmupNs = sluice::kNanosPerSecond;
// Checkpoints triggered later are left out too: the sources have sent
// their last record, and the final checkpoint at end of input aligns
// nothing.
constexpr sluice::Nanos kPaperLoadEndNs = sluice::Nanos(kPaperRunMs) * sluice::kNanosPerMilli;

sluice::scenario::Scenario paperScenario(const PaperCell& cell, bool rocksdb) {
    using namespace sluice::scenario;
    Scenario s;
    s.set_name("paper-check");
    s.set_seed(7);
    s.mutable_cluster()->set_task_managers(2);
    s.mutable_run()->set_until_ms(kPaperRunMs + 1000);
    Checkpointing* c = s.mutable_checkpointing();
    c->set_mode(EXACTLY_ONCE);
    c->set_interval_ms(kPaperIntervalMs);
    c->set_state_backend(rocksdb ? ROCKSDB : HEAP);
    c->set_incremental(rocksdb);
    c->set_upload_mbps(kPaperUploadMbps);
    Job* job = s.mutable_job();
    job->set_name("paper-check");

    auto addOperator = [&](const std::string& id, uint64_t ns_per_record) {
        Operator* op = job->add_operators();
        op->set_id(id);
        op->set_parallelism(uint32_t(cell.parallelism));
        op->mutable_cost()->set_ns_per_record(ns_per_record);
        op->mutable_cost()->set_jitter(0.2);
        return op;
    };
    auto addEdge = [&](const std::string& from, const std::string& to, Partitioning p) {
        Edge* edge = job->add_edges();
        edge->set_from(from);
        edge->set_to(to);
        edge->set_partitioning(p);
    };
    GeneratorSource* generator = addOperator("source", 100)->mutable_generator();
    generator->set_key_count(cell.keys);
    size_t digits = std::to_string(cell.keys - 1).size();
    generator->set_key_prefix(std::string(kPaperKeyLength - 1 - digits, 'k') + "-");
    generator->set_distribution(UNIFORM);
    generator->set_rate_per_second(kPaperRatePerSecond);
    generator->set_record_count(uint64_t(kPaperRatePerSecond) * kPaperRunMs / 1000);
    addOperator("count1", 400)->mutable_aggregate()->set_function(COUNT);
    addEdge("source", "count1", HASH);
    std::string last = "count1";
    if (cell.topology == Topology::kKeyByKeyBy) {
        // The same key again: with equal parallelism each count1 subtask
        // sends all its records to one count2 subtask, and only barriers
        // to the others.
        addOperator("count2", 400)->mutable_aggregate()->set_function(COUNT);
        addEdge("count1", "count2", HASH);
        last = "count2";
    } else if (cell.topology == Topology::kKeyByRebalance) {
        addOperator("map", 400)->mutable_map();
        addEdge("count1", "map", REBALANCE);
        last = "map";
    }
    addOperator("sink", 100)->mutable_sink()->set_kind(DISCARD);
    addEdge(last, "sink", FORWARD);
    return s;
}

// Stages of a paper-check job: the vertex behind the first shuffle, then
// the one behind the second shuffle.
constexpr size_t kPaperMaxStages = 2;

struct PaperResult {
    PaperCell cell;
    bool finished = false;
    int checkpoints = 0;
    double state_mb = 0;  // mean full size of the measured checkpoints
    // Mean over checkpoints of the largest synchronous snapshot time of a
    // first-stage subtask: how long that stage stops processing.
    double sync1_mean_ms = 0;
    double align_mean_ms = 0;          // mean over checkpoints of the largest subtask alignment
    double align_max_ms = 0;           // largest subtask alignment of any checkpoint
    double subtask_align_mean_ms = 0;  // mean over (checkpoint, non-source subtask)
    // Per stage, mean over checkpoints of the stage's largest subtask
    // alignment. Negative for a stage the job does not have.
    double stage_align_mean_ms[kPaperMaxStages] = {-1, -1};
    // Mean over checkpoints of the sum over non-source vertices of each
    // vertex's largest subtask alignment: what a barrier accumulates along
    // the pipeline.
    double align_path_mean_ms = 0;
    double start_delay_mean_ms = 0;  // mean start delay of the last stage's subtasks
    double duration_mean_ms = 0;     // mean end-to-end duration
    double wall_seconds = 0;
};

// Non-source vertices in topological order (vertex ids follow the
// topological order of their head nodes).
std::vector<int> nonSourceVertices(const sluice::JobGraph& graph) {
    std::vector<int> result;
    for (const auto& vertex : graph.vertices()) {
        if (!vertex.is_source) {
            result.push_back(vertex.id);
        }
    }
    return result;
}

// The vertex that chains the scenario's last operator, the sink.
int sinkVertex(const Engine& engine) {
    const int sink_node = engine.scenarioJob().node_of_operator.back();
    for (const auto& vertex : engine.jobGraph().vertices()) {
        if (std::find(vertex.nodes.begin(), vertex.nodes.end(), sink_node) != vertex.nodes.end()) {
            return vertex.id;
        }
    }
    return -1;
}

// Sums of the measured checkpoints, divided at the end.
struct PaperSums {
    double align = 0;
    double sync1 = 0;
    double path = 0;
    double stage[kPaperMaxStages] = {0, 0};
    double subtask = 0;
    int subtask_count = 0;
    double delay = 0;
    int delay_count = 0;
    double duration = 0;
    double state = 0;
};

void addCheckpoint(const sluice::CheckpointStats& stats, const std::vector<int>& stages,
                   int sink_vertex, PaperSums* sums, PaperResult* result) {
    ++result->checkpoints;
    double max_ms = double(stats.maxAlignmentNs()) / 1e6;
    sums->align += max_ms;
    result->align_max_ms = std::max(result->align_max_ms, max_ms);
    sums->duration += double(stats.endToEndDurationNs()) / 1e6;
    sums->state += double(stats.full_size_bytes) / 1e6;
    std::vector<double> vertex_max_ms(stages.size(), 0);
    double sync1_ms = 0;
    for (const auto& subtask : stats.subtasks) {
        auto stage = std::find(stages.begin(), stages.end(), subtask.vertex);
        if (stage == stages.end()) {
            continue;  // a source subtask
        }
        if (stage == stages.begin()) {
            sync1_ms = std::max(sync1_ms, double(subtask.sync_duration_ns) / 1e6);
        }
        double ms = double(subtask.alignment_duration_ns) / 1e6;
        double& vertex_max = vertex_max_ms[size_t(stage - stages.begin())];
        vertex_max = std::max(vertex_max, ms);
        sums->subtask += ms;
        ++sums->subtask_count;
        if (subtask.vertex == sink_vertex) {
            sums->delay += double(subtask.start_delay_ns) / 1e6;
            ++sums->delay_count;
        }
    }
    sums->sync1 += sync1_ms;
    for (size_t i = 0; i < vertex_max_ms.size(); ++i) {
        sums->path += vertex_max_ms[i];
        if (i < kPaperMaxStages) {
            sums->stage[i] += vertex_max_ms[i];
        }
    }
}

std::optional<PaperResult> runPaperCell(const PaperCell& cell, bool rocksdb) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(paperScenario(cell, rocksdb), &text);
    std::unique_ptr<Engine> engine = engineFromText(text, "paper-check.textproto");
    if (!engine) {
        return std::nullopt;
    }
    auto start = std::chrono::steady_clock::now();
    engine->run();
    PaperResult result;
    result.cell = cell;
    result.wall_seconds = secondsSince(start);
    result.finished = engine->runState() == sluice::sim::RunState::kFinished;

    const std::vector<int> stages = nonSourceVertices(engine->jobGraph());
    const int sink_vertex = sinkVertex(*engine);
    PaperSums sums;
    for (const auto& stats : engine->checkpointHistory()) {
        if (!stats.savepoint && stats.status == sluice::CheckpointStatus::kCompleted &&
            stats.trigger_time_ns >= kPaperWarmupNs && stats.trigger_time_ns < kPaperLoadEndNs) {
            addCheckpoint(stats, stages, sink_vertex, &sums, &result);
        }
    }
    if (result.checkpoints > 0) {
        double n = result.checkpoints;
        result.align_mean_ms = sums.align / n;
        result.align_path_mean_ms = sums.path / n;
        result.sync1_mean_ms = sums.sync1 / n;
        result.duration_mean_ms = sums.duration / n;
        result.state_mb = sums.state / n;
        for (size_t i = 0; i < std::min(stages.size(), kPaperMaxStages); ++i) {
            result.stage_align_mean_ms[i] = sums.stage[i] / n;
        }
    }
    result.subtask_align_mean_ms = sums.subtask_count > 0 ? sums.subtask / sums.subtask_count : 0;
    result.start_delay_mean_ms = sums.delay_count > 0 ? sums.delay / sums.delay_count : 0;
    return result;
}

// The cells of a --paper-check run. Every combination has a result.
struct PaperGrid {
    std::vector<uint64_t> key_counts;
    std::vector<int> parallelisms;
    std::vector<Topology> topologies;
    std::vector<PaperResult> results;

    const PaperResult& at(uint64_t keys, int parallelism, Topology topology) const {
        for (const auto& r : results) {
            if (r.cell.keys == keys && r.cell.parallelism == parallelism &&
                r.cell.topology == topology) {
                return r;
            }
        }
        std::abort();  // runPaperCheck() runs every cell before it reads one
    }
};

using PaperMetric = double PaperResult::*;

// Cells of one verdict that show the finding, out of all it checks.
struct Tally {
    int passed = 0;
    int total = 0;

    const char* status() const {
        if (passed == total) {
            return "reproduced";
        }
        return passed == 0 ? "not reproduced" : "partly reproduced";
    }
};

void printPaperTable(const PaperGrid& grid, const Options& options) {
    std::printf("backend: %s\n", backendName(options));
    std::printf(
        "workload: uniform keys of %zu characters, %.0f records/s for %llu ms, "
        "checkpoint every %llu ms, upload %llu Mbit/s, measuring the checkpoints triggered in "
        "[%.1f s, %.1f s)\n",
        kPaperKeyLength, kPaperRatePerSecond, static_cast<unsigned long long>(kPaperRunMs),
        static_cast<unsigned long long>(kPaperIntervalMs),
        static_cast<unsigned long long>(kPaperUploadMbps), double(kPaperWarmupNs) / 1e9,
        double(kPaperLoadEndNs) / 1e9);
    std::printf("%8s %4s %12s %5s %9s %8s %10s %9s %11s %7s %7s %10s %10s %9s %7s\n", "keys", "par",
                "shuffles", "ckpts", "state_mb", "sync1", "align_mean", "align_max", "subtask_avg",
                "stage1", "stage2", "align_path", "last_delay", "e2e_mean", "wall_s");
    for (const auto& r : grid.results) {
        char stage2[16] = "-";
        if (r.stage_align_mean_ms[1] >= 0) {
            std::snprintf(stage2, sizeof stage2, "%.3f", r.stage_align_mean_ms[1]);
        }
        std::printf(
            "%8llu %4d %12s %5d %9.2f %8.3f %10.3f %9.3f %11.3f %7.3f %7s %10.3f %10.3f %9.3f "
            "%7.2f%s\n",
            static_cast<unsigned long long>(r.cell.keys), r.cell.parallelism,
            topologyName(r.cell.topology), r.checkpoints, r.state_mb, r.sync1_mean_ms,
            r.align_mean_ms, r.align_max_ms, r.subtask_align_mean_ms, r.stage_align_mean_ms[0],
            stage2, r.align_path_mean_ms, r.start_delay_mean_ms, r.duration_mean_ms, r.wall_seconds,
            r.finished ? "" : "  (job did not finish)");
    }
    std::printf(
        "(times in ms, means over checkpoints. sync1: largest synchronous snapshot time of a "
        "first-stage subtask; "
        "align_mean, align_max: mean and maximum of the largest subtask alignment; "
        "subtask_avg: mean over non-source subtasks too; stage1, stage2: largest alignment "
        "behind the first and the second shuffle; align_path: their sum, the alignment a "
        "barrier accumulates along the job; last_delay: start delay of the sink's subtasks)\n");
}

// Finding (a). At one parallelism, alignment grows with state size when a
// cell with more keys is above 1.25 times, and more than 0.05 ms above, a
// cell with fewer keys. Smaller differences come from the jitter of the
// simulated step costs, and falling alignment does not count as growth.
constexpr double kGrowthFactor = 1.25;
constexpr double kGrowthAbsoluteMs = 0.05;

// Returns the largest ratio of `metric` at more keys over `metric` at fewer
// keys, at least 1, and sets `*grows` when one pair is above both limits.
double growthOverKeys(const PaperGrid& grid, int parallelism, Topology topology, PaperMetric metric,
                      bool* grows) {
    double largest = 1.0;
    *grows = false;
    for (size_t i = 0; i < grid.key_counts.size(); ++i) {
        double fewer = grid.at(grid.key_counts[i], parallelism, topology).*metric;
        for (size_t j = i + 1; j < grid.key_counts.size(); ++j) {
            double more = grid.at(grid.key_counts[j], parallelism, topology).*metric;
            if (fewer > 0) {
                largest = std::max(largest, more / fewer);
            }
            *grows = *grows || (more > fewer * kGrowthFactor && more > fewer + kGrowthAbsoluteMs);
        }
    }
    return largest;
}

// One line per cell that fails a verdict: what changed between two cells.
void printChange(const char* what, const PaperResult& from, const PaperResult& to) {
    std::printf(
        "  %s: align_mean %.3f -> %.3f, stage1 %.3f -> %.3f, stage2 %.3f -> %.3f, align_path "
        "%.3f -> %.3f, sync1 %.3f -> %.3f ms\n",
        what, from.align_mean_ms, to.align_mean_ms, from.stage_align_mean_ms[0],
        to.stage_align_mean_ms[0], std::max(0.0, from.stage_align_mean_ms[1]),
        std::max(0.0, to.stage_align_mean_ms[1]), from.align_path_mean_ms, to.align_path_mean_ms,
        from.sync1_mean_ms, to.sync1_mean_ms);
}

void printFindingA(const PaperGrid& grid) {
    const uint64_t fewest = grid.key_counts.front();
    const uint64_t most = grid.key_counts.back();
    for (Topology topology : grid.topologies) {
        Tally tally;
        int steady_mean = 0;
        int steady_path = 0;
        double worst_mean = 1.0;
        double worst_path = 1.0;
        std::vector<int> failed;
        for (int parallelism : grid.parallelisms) {
            bool mean_grows = false;
            bool path_grows = false;
            worst_mean =
                std::max(worst_mean, growthOverKeys(grid, parallelism, topology,
                                                    &PaperResult::align_mean_ms, &mean_grows));
            worst_path =
                std::max(worst_path, growthOverKeys(grid, parallelism, topology,
                                                    &PaperResult::align_path_mean_ms, &path_grows));
            steady_mean += mean_grows ? 0 : 1;
            steady_path += path_grows ? 0 : 1;
            tally.passed += mean_grows || path_grows ? 0 : 1;
            ++tally.total;
            if (mean_grows || path_grows) {
                failed.push_back(parallelism);
            }
        }
        std::printf(
            "finding_a_no_growth_with_state_size_%s: %s; align_mean does not grow at %d of %d "
            "parallelisms (largest growth %.2fx), align_path at %d of %d (largest growth "
            "%.2fx)\n",
            topologyName(topology), tally.status(), steady_mean, tally.total, worst_mean,
            steady_path, tally.total, worst_path);
        for (int parallelism : failed) {
            std::string what = "parallelism " + std::to_string(parallelism) + ", keys " +
                               std::to_string(fewest) + " -> " + std::to_string(most);
            printChange(what.c_str(), grid.at(fewest, parallelism, topology),
                        grid.at(most, parallelism, topology));
        }
    }
}

// Finding (b), parallelism: a step 2 -> 4 or 4 -> 8 at equal key count
// shows it when both align_mean and align_path grow.
void printFindingBParallelism(const PaperGrid& grid) {
    for (Topology topology : grid.topologies) {
        Tally tally;
        int grew_mean = 0;
        int grew_path = 0;
        std::vector<std::pair<const PaperResult*, const PaperResult*>> failed;
        for (uint64_t keys : grid.key_counts) {
            for (size_t i = 1; i < grid.parallelisms.size(); ++i) {
                const PaperResult& lower = grid.at(keys, grid.parallelisms[i - 1], topology);
                const PaperResult& higher = grid.at(keys, grid.parallelisms[i], topology);
                bool mean_ok = higher.align_mean_ms > lower.align_mean_ms;
                bool path_ok = higher.align_path_mean_ms > lower.align_path_mean_ms;
                grew_mean += mean_ok ? 1 : 0;
                grew_path += path_ok ? 1 : 0;
                tally.passed += mean_ok && path_ok ? 1 : 0;
                ++tally.total;
                if (!mean_ok || !path_ok) {
                    failed.emplace_back(&lower, &higher);
                }
            }
        }
        std::printf(
            "finding_b_grows_with_parallelism_%s: %s; align_mean grows in %d of %d steps, "
            "align_path in %d of %d\n",
            topologyName(topology), tally.status(), grew_mean, tally.total, grew_path, tally.total);
        for (const auto& [lower, higher] : failed) {
            std::string what = "keys " + std::to_string(lower->cell.keys) + ", parallelism " +
                               std::to_string(lower->cell.parallelism) + " -> " +
                               std::to_string(higher->cell.parallelism);
            printChange(what.c_str(), *lower, *higher);
        }
    }
}

// Finding (b), shuffle stages. The verdict uses align_path, because a
// checkpoint pays every stage's alignment on its way to the sinks. The
// largest single alignment, align_mean, is printed beside it.
void printFindingBShuffles(const PaperGrid& grid) {
    for (Topology topology : grid.topologies) {
        if (topology == Topology::kKeyBy) {
            continue;
        }
        Tally tally;
        int grew_mean = 0;
        double path_ratio_sum = 0;
        double mean_ratio_sum = 0;
        std::vector<std::pair<const PaperResult*, const PaperResult*>> failed;
        for (uint64_t keys : grid.key_counts) {
            for (int parallelism : grid.parallelisms) {
                const PaperResult& one = grid.at(keys, parallelism, Topology::kKeyBy);
                const PaperResult& two = grid.at(keys, parallelism, topology);
                bool path_ok = two.align_path_mean_ms > one.align_path_mean_ms;
                tally.passed += path_ok ? 1 : 0;
                ++tally.total;
                grew_mean += two.align_mean_ms > one.align_mean_ms ? 1 : 0;
                path_ratio_sum += one.align_path_mean_ms > 0
                                      ? two.align_path_mean_ms / one.align_path_mean_ms
                                      : 0;
                mean_ratio_sum += one.align_mean_ms > 0 ? two.align_mean_ms / one.align_mean_ms : 0;
                if (!path_ok) {
                    failed.emplace_back(&one, &two);
                }
            }
        }
        std::printf(
            "finding_b_grows_with_second_shuffle_%s: %s; align_path above keyBy in %d of %d "
            "cells (mean ratio %.2f), align_mean in %d of %d (mean ratio %.2f)\n",
            topologyName(topology), tally.status(), tally.passed, tally.total,
            path_ratio_sum / tally.total, grew_mean, tally.total, mean_ratio_sum / tally.total);
        for (const auto& [one, two] : failed) {
            std::string what = "keys " + std::to_string(one->cell.keys) + ", parallelism " +
                               std::to_string(one->cell.parallelism) + ", keyBy -> " +
                               topologyName(topology);
            printChange(what.c_str(), *one, *two);
        }
    }
}

int runPaperCheck(const Options& options) {
    PaperGrid grid;
    grid.key_counts = options.key_counts;
    grid.parallelisms = {2, 4, 8};
    grid.topologies = {Topology::kKeyBy, Topology::kKeyByKeyBy, Topology::kKeyByRebalance};
    auto start = std::chrono::steady_clock::now();
    size_t total = grid.key_counts.size() * grid.parallelisms.size() * grid.topologies.size();
    for (Topology topology : grid.topologies) {
        for (int parallelism : grid.parallelisms) {
            for (uint64_t keys : grid.key_counts) {
                PaperCell cell{keys, parallelism, topology};
                std::fprintf(stderr,
                             "progress: cell %zu of %zu (keys %llu, parallelism %d, %s), "
                             "%.1f s wall\n",
                             grid.results.size() + 1, total, static_cast<unsigned long long>(keys),
                             parallelism, topologyName(topology), secondsSince(start));
                auto result = runPaperCell(cell, options.rocksdb);
                if (!result) {
                    return kExitUsage;
                }
                grid.results.push_back(*result);
            }
        }
    }
    printPaperTable(grid, options);
    printFindingA(grid);
    printFindingBParallelism(grid);
    printFindingBShuffles(grid);
    std::printf("paper_check_wall_seconds: %.1f\n", secondsSince(start));
    bool all_finished = std::all_of(grid.results.begin(), grid.results.end(),
                                    [](const PaperResult& r) { return r.finished; });
    return all_finished ? kExitOk : kExitRunFailed;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (auto status = parseArguments(argc, argv, &options)) {
        return *status;
    }
    switch (options.mode) {
        case Mode::kIncremental:
            return runIncremental(options);
        case Mode::kPaperCheck:
            return runPaperCheck(options);
        case Mode::kWordcount:
            break;
    }
    return runWordcount(options);
}
