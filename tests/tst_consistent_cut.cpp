// Every completed checkpoint is a consistent cut. The keyed state a checkpoint
// stores equals the state of a plain evaluation that processed exactly the
// source records before the checkpoint's source offsets: nothing after a
// barrier slipped in, nothing before it is missing.
//
// Everything is read from the checkpoint on disk, not from the running job:
// CheckpointStorage::readMetadata gives the source offsets (operator state)
// and the keyed state handles, and state_format::readHandleEntries decodes
// the handles of either backend. The reference input is the scenario's input
// computed from its definition: CSV rows from the file, and generator records
// from the generator's documented pure function of (seed, partition, offset),
// re-implemented below as in tst_reference_output.cpp.
//
// Rolling aggregates: for every key, the stored accumulator (count, sum, min,
// max) equals the accumulator of the key's reference records, and the stored
// keys are exactly the reference keys. Unaligned checkpoints also store the
// records in flight between the sources and the aggregate (the sources'
// output buffers and the aggregate's input buffers) as channel state; for
// them, state plus in-flight records equals the reference.
//
// Tumbling windows: a window leaves the state when it fires, which depends on
// the watermark, so the check is: every stored (key, window) accumulator
// equals the reference one, stored windows are a subset of the reference, and
// within one subtask every window missing from the state ends no later than
// every stored window starts firing (one watermark separates fired from open
// windows).
//
// Finally the check is shown to catch inconsistent cuts: with the deliberate
// bug skip_alignment, records after a barrier enter the snapshot, and some
// checkpoint of some seed mismatches.

// The engine headers come before Qt's: Qt defines emit and slots as macros,
// which are also names in the runtime.
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/core/key_groups.h"
#include "runtime/network/buffer.h"
#include "runtime/operators/aggregates.h"
#include "runtime/state/state_snapshot_format.h"
#include "sim/csv_table.h"
#include "sim/engine.h"
#include "sim/random.h"
#include "sim/record.h"
#include "test_support.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

using sluice::Accumulator;
using sluice::sim::Engine;
using sluice::sim::EngineOptions;
using sluice::sim::LoadedScenario;
using sluice::sim::RunState;
using sluice::sim::ScenarioError;
namespace scenario = sluice::scenario;
namespace checkpoint = sluice::checkpoint;
namespace fs = std::filesystem;

namespace {

constexpr int kSeeds = 5;

struct SourceRecord {
    std::string key;
    int64_t value = 0;
    int64_t timestamp = 0;
};

// Records of one source partition with offsets in [0, count), computed from
// the scenario definition (see the file comment).
std::vector<SourceRecord> generatorPartition(const scenario::GeneratorSource& g, int operator_index,
                                             uint64_t seed, uint64_t partition, uint64_t count) {
    const uint64_t model_seed = sluice::sim::mix64(seed ^ (uint64_t(operator_index) << 32));
    std::optional<sluice::sim::ZipfDistribution> zipf;
    if (g.distribution() == scenario::ZIPF) {
        zipf.emplace(g.key_count(), g.zipf_exponent());
    }
    sluice::sim::UniformIntDistribution values(g.value_min(), g.value_max());
    const double rate = g.rate_per_second() / double(g.partitions());
    const double step = g.event_time_step_ms() > 0 ? g.event_time_step_ms()
                        : rate > 0                 ? 1000.0 / rate
                                                   : 1.0;
    std::vector<SourceRecord> out;
    out.reserve(count);
    for (uint64_t offset = 0; offset < count; ++offset) {
        uint64_t bits =
            sluice::sim::mix64(model_seed ^ sluice::sim::mix64((partition << 40) ^ offset));
        uint64_t key_index =
            zipf ? zipf->fromBits(bits) : ((bits & 0xffffffffull) * g.key_count()) >> 32;
        SourceRecord r;
        r.key = g.key_prefix() + std::to_string(key_index);
        r.value = values.fromBits(sluice::sim::mix64(bits + 1));
        r.timestamp = std::llround(double(offset) * step);
        if (g.disorder_ms() > 0) {
            r.timestamp -= int64_t(sluice::sim::mix64(bits + 2) % (g.disorder_ms() + 1));
        }
        out.push_back(std::move(r));
    }
    return out;
}

// Records of one CSV partition: row r lies in partition r % partitions at
// offset r / partitions.
std::vector<SourceRecord> csvPartition(const std::vector<sluice::sim::CsvRow>& rows,
                                       uint64_t partitions, uint64_t partition, uint64_t count) {
    std::vector<SourceRecord> out;
    for (uint64_t offset = 0; offset < count; ++offset) {
        uint64_t row = partition + offset * partitions;
        if (row >= rows.size()) {
            break;
        }
        out.push_back({rows[row].key, rows[row].value, rows[row].timestamp_ms});
    }
    return out;
}

bool sameAccumulator(const Accumulator& a, const Accumulator& b) {
    return a.count == b.count && a.sum == b.sum && a.min == b.min && a.max == b.max;
}

std::string show(const Accumulator& a) {
    return "{count " + std::to_string(a.count) + ", sum " + std::to_string(a.sum) + "}";
}

void subtract(Accumulator& from, const Accumulator& part) {
    from.count -= part.count;
    from.sum -= part.sum;
}

struct RunSetup {
    QString scenario;  // path relative to the source tree
    uint64_t seed = 0;
    bool rocksdb = false;
    bool unaligned = false;
    bool skip_alignment = false;
    int64_t until_ms = 0;  // 0: the scenario's own limit
    // Above 0: smaller network buffers, so that aligned barriers do not
    // queue behind seconds of backlog.
    uint32_t buffer_size_bytes = 0;
};

// Loads the scenario and turns on checkpointing as the test needs it:
// every checkpoint retained, the chosen backend and mode.
std::optional<LoadedScenario> prepare(const RunSetup& setup, std::string* error) {
    auto loaded =
        sluice::sim::loadScenarioFile(sluice::test::sourcePath(setup.scenario.toStdString()));
    if (auto* e = std::get_if<ScenarioError>(&loaded)) {
        *error = e->format();
        return std::nullopt;
    }
    LoadedScenario s = std::move(std::get<LoadedScenario>(loaded));
    auto* c = s.proto.mutable_checkpointing();
    if (c->interval_ms() == 0) {
        c->set_interval_ms(700);
    }
    c->set_retained(100);
    c->set_tolerable_failures(1000);
    c->set_state_backend(setup.rocksdb ? scenario::ROCKSDB : scenario::HEAP);
    c->set_mode(setup.unaligned ? scenario::UNALIGNED : scenario::EXACTLY_ONCE);
    s.proto.mutable_bugs()->set_skip_alignment(setup.skip_alignment);
    if (setup.until_ms > 0) {
        s.proto.mutable_run()->set_until_ms(uint64_t(setup.until_ms));
    }
    if (setup.buffer_size_bytes > 0) {
        s.proto.mutable_network()->set_buffer_size_bytes(setup.buffer_size_bytes);
        c->set_timeout_ms(600000);
    }
    sluice::sim::applyScenarioDefaults(s.proto);
    return s;
}

// Accumulators by key, and window accumulators by (key, window start).
using KeyState = std::map<std::string, Accumulator>;
using WindowState = std::map<std::pair<std::string, int64_t>, Accumulator>;

struct KeyedOperator {
    int index = -1;  // in the scenario's operator list
    int node = -1;
    bool window = false;
    int64_t window_size_ms = 0;
    std::vector<int> sources;  // operator indexes of its source inputs
};

// Checks one scenario run. Returns the description of each inconsistent
// checkpoint (empty when all are consistent), and sets *checked to the
// number of checkpoints compared. Problems of the test setup itself go to
// *setup_error.
struct CutResult {
    std::vector<std::string> mismatches;
    int checked = 0;
    std::string setup_error;
};

CutResult checkRun(const RunSetup& setup) {
    CutResult result;
    auto loaded = prepare(setup, &result.setup_error);
    if (!loaded) {
        return result;
    }
    const scenario::Job& job = loaded->proto.job();
    const fs::path base_dir = loaded->base_dir;
    QTemporaryDir dir;
    EngineOptions options;
    options.seed = setup.seed;
    options.checkpoint_dir = dir.path().toStdString() + "/checkpoints";
    auto made = Engine::fromScenario(*loaded, options);
    if (auto* e = std::get_if<ScenarioError>(&made)) {
        result.setup_error = e->format();
        return result;
    }
    Engine& engine = *std::get<std::unique_ptr<Engine>>(made);
    engine.run();
    if (engine.runState() == RunState::kFailed || engine.runState() == RunState::kStalled) {
        result.setup_error = std::string("run ended ") +
                             sluice::sim::runStateName(engine.runState()) + ": " +
                             engine.failureCause();
        return result;
    }

    // The keyed operators and their (direct) source inputs.
    std::map<std::string, int> index_of;
    for (int i = 0; i < job.operators_size(); ++i) {
        index_of[job.operators(i).id()] = i;
    }
    std::vector<KeyedOperator> keyed;
    for (int i = 0; i < job.operators_size(); ++i) {
        const auto& op = job.operators(i);
        if (!op.has_aggregate() && !op.has_window()) {
            continue;
        }
        KeyedOperator k;
        k.index = i;
        k.node = engine.scenarioJob().node_of_operator[size_t(i)];
        k.window = op.has_window();
        if (k.window) {
            if (op.window().type() != scenario::TUMBLING ||
                op.window().allowed_lateness_ms() != 0) {
                result.setup_error = "only tumbling windows without lateness are covered";
                return result;
            }
            k.window_size_ms = int64_t(op.window().size_ms());
        }
        for (const auto& edge : job.edges()) {
            if (edge.to() != op.id()) {
                continue;
            }
            const auto& from = job.operators(index_of.at(edge.from()));
            if (!from.has_generator() && !from.has_csv()) {
                result.setup_error = "keyed operator " + op.id() + " reads a non-source input";
                return result;
            }
            k.sources.push_back(index_of.at(edge.from()));
        }
        keyed.push_back(k);
    }
    if (keyed.empty()) {
        result.setup_error = "no keyed operator";
        return result;
    }

    // CSV rows are loaded once per source.
    std::map<int, std::vector<sluice::sim::CsvRow>> csv_rows;
    for (const KeyedOperator& k : keyed) {
        for (int s : k.sources) {
            const auto& op = job.operators(s);
            if (op.has_csv() && !csv_rows.count(s)) {
                auto rows = sluice::sim::loadCsvRows(op.csv(), base_dir);
                if (auto* e = std::get_if<ScenarioError>(&rows)) {
                    result.setup_error = e->format();
                    return result;
                }
                csv_rows[s] = std::get<std::vector<sluice::sim::CsvRow>>(rows);
            }
        }
    }

    auto key_serializer = sluice::serializerFor<std::string>();
    auto time_serializer = sluice::serializerFor<sluice::TimestampMs>();
    sluice::AccumulatorSerializer acc_serializer;
    sluice::sim::RecordSerializer record_serializer;
    // Each run writes into a folder of its own inside checkpoint_dir.
    const fs::path root = engine.checkpointDir();
    sluice::CheckpointStorage storage(root);

    for (const auto& stats : engine.checkpointHistory()) {
        if (stats.status != sluice::CheckpointStatus::kCompleted || stats.savepoint) {
            continue;
        }
        const std::string name = "checkpoint " + std::to_string(stats.id);
        auto read =
            sluice::CheckpointStorage::readMetadata(root / ("chk-" + std::to_string(stats.id)));
        if (auto* e = std::get_if<std::string>(&read)) {
            result.setup_error = name + ": " + *e;
            return result;
        }
        const auto& metadata = std::get<checkpoint::CheckpointMetadata>(read);
        ++result.checked;

        // Source offsets by (source node, partition).
        std::map<std::pair<int, int>, int64_t> offsets;
        for (const auto& subtask : metadata.subtask_states()) {
            for (const auto& op_state : subtask.operator_state()) {
                for (const auto& o : op_state.source_offsets()) {
                    offsets[{op_state.operator_(), o.partition()}] = o.offset();
                }
            }
        }

        for (const KeyedOperator& k : keyed) {
            const int vertex_of_keyed = [&] {
                for (const auto& v : engine.jobGraph().vertices()) {
                    for (int n : v.nodes) {
                        if (n == k.node) {
                            return v.id;
                        }
                    }
                }
                return -1;
            }();
            std::set<int> source_vertices;
            for (int s : k.sources) {
                int node = engine.scenarioJob().node_of_operator[size_t(s)];
                for (const auto& v : engine.jobGraph().vertices()) {
                    if (v.head_node == node) {
                        source_vertices.insert(v.id);
                    }
                }
            }

            // Reference over the source prefix. A partition without an
            // offset belongs to a source subtask that finished before the
            // checkpoint, so all of its records count.
            KeyState reference;
            WindowState window_reference;
            for (int s : k.sources) {
                const auto& op = job.operators(s);
                int node = engine.scenarioJob().node_of_operator[size_t(s)];
                int partitions =
                    int(op.has_generator() ? op.generator().partitions() : op.csv().partitions());
                for (int p = 0; p < partitions; ++p) {
                    auto it = offsets.find({node, p});
                    std::vector<SourceRecord> records;
                    if (op.has_generator()) {
                        uint64_t total = op.generator().record_count();
                        uint64_t size = total / uint64_t(partitions) +
                                        (uint64_t(p) < total % uint64_t(partitions) ? 1 : 0);
                        if (it == offsets.end() && total == 0) {
                            result.setup_error = name + ": no offset for an unbounded source";
                            return result;
                        }
                        uint64_t count = it == offsets.end() ? size : uint64_t(it->second);
                        records =
                            generatorPartition(op.generator(), s, setup.seed, uint64_t(p), count);
                    } else {
                        records =
                            csvPartition(csv_rows.at(s), uint64_t(partitions), uint64_t(p),
                                         it == offsets.end() ? UINT64_MAX : uint64_t(it->second));
                    }
                    for (const SourceRecord& r : records) {
                        if (k.window) {
                            int64_t start = r.timestamp -
                                            ((r.timestamp % k.window_size_ms) + k.window_size_ms) %
                                                k.window_size_ms;
                            window_reference[{r.key, start}].add(r.value);
                        } else {
                            reference[r.key].add(r.value);
                        }
                    }
                }
            }

            // The stored state, by subtask for the window check.
            KeyState stored;
            std::map<int, WindowState> stored_windows;  // by subtask
            std::map<int, sluice::KeyGroupRange> ranges;
            std::string decode_error;
            for (const auto& subtask : metadata.subtask_states()) {
                for (const auto& handle : subtask.keyed_state()) {
                    if (handle.operator_() != k.node) {
                        continue;
                    }
                    sluice::KeyGroupRange range{handle.key_group_first(), handle.key_group_last()};
                    ranges[handle.subtask()] = range;
                    int sub = handle.subtask();
                    sluice::state_format::readHandleEntries(
                        handle, storage, range, fs::path(dir.path().toStdString()) / "scratch",
                        [&](const std::string&, const std::string&, int, std::string_view key,
                            std::string_view user_key, std::string_view value) {
                            std::string key_text;
                            sluice::ByteReader key_in(key);
                            Accumulator acc;
                            sluice::ByteReader value_in(value);
                            if (!sluice::state_format::readSerialized(*key_serializer, key_in,
                                                                      key_text) ||
                                !sluice::state_format::readSerialized(acc_serializer, value_in,
                                                                      acc)) {
                                decode_error = "undecodable state entry";
                                return;
                            }
                            if (k.window) {
                                sluice::TimestampMs start = 0;
                                sluice::ByteReader user_in(user_key);
                                if (!sluice::state_format::readSerialized(*time_serializer, user_in,
                                                                          start)) {
                                    decode_error = "undecodable window start";
                                    return;
                                }
                                stored_windows[sub][{key_text, start}] = acc;
                            } else {
                                stored[key_text] = acc;
                            }
                        });
                }
            }
            if (!decode_error.empty()) {
                result.setup_error = name + ": " + decode_error;
                return result;
            }

            // In-flight records of unaligned checkpoints: the sources' output
            // and the keyed operator's input channel state.
            KeyState in_flight;
            for (const auto& subtask : metadata.subtask_states()) {
                for (const auto& buffer : subtask.channel_state()) {
                    bool relevant = (buffer.input() && subtask.vertex() == vertex_of_keyed) ||
                                    (!buffer.input() && source_vertices.count(subtask.vertex()));
                    if (!relevant) {
                        continue;
                    }
                    sluice::ByteReader in(buffer.data());
                    while (!in.atEnd() && !in.failed()) {
                        auto tag = sluice::ElementTag(in.readRaw<uint8_t>());
                        if (tag == sluice::ElementTag::kRecord) {
                            in.readRaw<int64_t>();
                            sluice::sim::Record record;
                            record_serializer.deserialize(record, in);
                            in_flight[record.key].add(record.value);
                        } else if (tag == sluice::ElementTag::kWatermark) {
                            in.readRaw<int64_t>();
                        } else if (tag == sluice::ElementTag::kWatermarkStatus) {
                            in.readRaw<uint8_t>();
                        } else {
                            break;
                        }
                    }
                    if (in.failed()) {
                        result.setup_error = name + ": undecodable channel state";
                        return result;
                    }
                }
            }
            if (!in_flight.empty() && k.window) {
                result.setup_error = name + ": channel state of windows is not covered";
                return result;
            }

            const std::string op_name = name + " of " + job.operators(k.index).id();
            if (!k.window) {
                // Expected state = reference minus what was still in flight.
                KeyState expected = reference;
                for (const auto& [key, acc] : in_flight) {
                    subtract(expected[key], acc);
                }
                std::string first_diff;
                size_t diffs = 0;
                for (const auto& [key, acc] : expected) {
                    if (acc.count == 0) {
                        continue;  // all of the key's records were in flight
                    }
                    auto it = stored.find(key);
                    bool equal = it != stored.end() &&
                                 (in_flight.count(key)
                                      ? it->second.count == acc.count && it->second.sum == acc.sum
                                      : sameAccumulator(it->second, acc));
                    if (!equal) {
                        ++diffs;
                        if (first_diff.empty()) {
                            first_diff = "key " + key + ": expected " + show(acc) + ", stored " +
                                         (it == stored.end() ? "nothing" : show(it->second));
                        }
                    }
                }
                for (const auto& [key, acc] : stored) {
                    auto it = expected.find(key);
                    if (it == expected.end() || it->second.count == 0) {
                        ++diffs;
                        if (first_diff.empty()) {
                            first_diff = "key " + key + " stored with " + show(acc) +
                                         " but has no record before the offsets";
                        }
                    }
                }
                if (diffs > 0) {
                    result.mismatches.push_back(op_name + ": " + std::to_string(diffs) +
                                                " keys differ, first " + first_diff);
                }
            } else {
                std::string problem;
                for (const auto& [sub, windows] : stored_windows) {
                    int64_t min_open_end = INT64_MAX;
                    for (const auto& [w, acc] : windows) {
                        auto it = window_reference.find(w);
                        if (it == window_reference.end() || !sameAccumulator(it->second, acc)) {
                            problem = "window (" + w.first + ", " + std::to_string(w.second) +
                                      ") stored " + show(acc) + ", expected " +
                                      (it == window_reference.end() ? "nothing" : show(it->second));
                            break;
                        }
                        min_open_end = std::min(min_open_end, w.second + k.window_size_ms);
                    }
                    if (!problem.empty()) {
                        break;
                    }
                    const int max_parallelism = int(job.max_parallelism());
                    for (const auto& [w, acc] : window_reference) {
                        std::string key_bytes;
                        sluice::state_format::appendSerialized(*key_serializer, w.first, key_bytes);
                        int group = sluice::keyGroupForKey(key_bytes, max_parallelism);
                        if (!ranges.at(sub).contains(group) || windows.count(w)) {
                            continue;
                        }
                        if (w.second + k.window_size_ms > min_open_end) {
                            problem = "window (" + w.first + ", " + std::to_string(w.second) +
                                      ") is missing although an earlier window is still open";
                            break;
                        }
                    }
                    if (!problem.empty()) {
                        break;
                    }
                }
                if (!problem.empty()) {
                    result.mismatches.push_back(op_name + ": " + problem);
                }
            }
        }
    }
    return result;
}

std::string describe(const RunSetup& s) {
    return s.scenario.toStdString() + " seed " + std::to_string(s.seed) +
           (s.rocksdb ? " rocksdb" : " heap") + (s.unaligned ? " unaligned" : " aligned");
}

uint64_t seedAt(int i) {
    return 1 + uint64_t(i) * 7919;
}

}  // namespace

class TstConsistentCut : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void stateMatchesPrefix_data();
    void stateMatchesPrefix();
    void skipAlignmentDetected();
};

void TstConsistentCut::stateMatchesPrefix_data() {
    QTest::addColumn<QString>("scenario");
    QTest::addColumn<bool>("rocksdb");
    QTest::addColumn<bool>("unaligned");
    QTest::addColumn<qint64>("until_ms");
    QTest::addColumn<uint>("buffer_size");
    struct Row {
        const char* path;
        bool unaligned;
        qint64 until_ms;
        uint buffer_size;
    };
    // Unbounded scenarios are capped so that the suite stays fast; a cap
    // still covers several checkpoints.
    const Row rows[] = {
        {"scenarios/wordcount.textproto", false, 0, 0},
        {"scenarios/backpressure.textproto", false, 5000, 0},
        {"scenarios/backpressure.textproto", true, 5000, 0},
        {"scenarios/flights.textproto", false, 0, 0},
        // As shipped, its aligned checkpoints expire; 4 KiB buffers shorten
        // the backlog in front of the barriers so that they complete.
        {"scenarios/aligned-vs-unaligned.textproto", false, 16000, 4096},
        {"scenarios/aligned-vs-unaligned.textproto", true, 12000, 0},
        {"scenarios/rocksdb-incremental.textproto", false, 1500, 0},
    };
    for (const Row& row : rows) {
        for (bool rocksdb : {false, true}) {
            QTest::addRow("%s %s %s", row.path + 10, rocksdb ? "rocksdb" : "heap",
                          row.unaligned ? "unaligned" : "aligned")
                << QString(row.path) << rocksdb << row.unaligned << row.until_ms << row.buffer_size;
        }
    }
}

void TstConsistentCut::stateMatchesPrefix() {
    QFETCH(QString, scenario);
    QFETCH(bool, rocksdb);
    QFETCH(bool, unaligned);
    QFETCH(qint64, until_ms);
    QFETCH(uint, buffer_size);
    int checked = 0;
    for (int i = 0; i < kSeeds; ++i) {
        RunSetup setup{scenario, seedAt(i), rocksdb, unaligned, false, until_ms, buffer_size};
        CutResult result = checkRun(setup);
        const std::string what = describe(setup);
        QVERIFY2(result.setup_error.empty(), (what + ": " + result.setup_error).c_str());
        const std::string first = result.mismatches.empty() ? "" : result.mismatches.front();
        QVERIFY2(result.mismatches.empty(), (what + ": " + first).c_str());
        checked += result.checked;
    }
    // A run without any completed checkpoint would pass vacuously.
    QVERIFY2(checked >= kSeeds, qPrintable(QString("only %1 checkpoints compared").arg(checked)));
}

void TstConsistentCut::skipAlignmentDetected() {
    int checked = 0;
    int inconsistent = 0;
    for (int i = 0; i < kSeeds; ++i) {
        RunSetup setup{
            "scenarios/aligned-vs-unaligned.textproto", seedAt(i), false, false, true, 16000, 4096};
        CutResult result = checkRun(setup);
        QVERIFY2(result.setup_error.empty(), (describe(setup) + ": " + result.setup_error).c_str());
        checked += result.checked;
        inconsistent += int(result.mismatches.size());
    }
    QVERIFY(checked > 0);
    QVERIFY2(inconsistent > 0, "skip_alignment produced only consistent checkpoints");
}

// RocksDB syncs its files to disk on every flush and checkpoint, which makes
// up most of the wall time of the RocksDB runs on a disk-backed /tmp; the
// runs keep their temporary folders in memory when /dev/shm is available.
int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("SLUICE_TEST_KEEP_TMPDIR") &&
        QFileInfo(QStringLiteral("/dev/shm")).isWritable()) {
        qputenv("TMPDIR", "/dev/shm");
    }
    QCoreApplication app(argc, argv);
    TstConsistentCut test;
    return QTest::qExec(&test, argc, argv);
}
#include "tst_consistent_cut.moc"
