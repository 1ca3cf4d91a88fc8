// End-to-end correctness of failure-free runs. For every shipped scenario, and
// those in tests/scenarios, the sink receives exactly the records that a plain
// single-threaded evaluation of the same job produces.
//
// The reference works from the scenario's semantics (sim/proto/scenario.proto)
// on the scenario's input:
//  - csv sources: the rows of the file, read with sim::loadCsvRows; row r goes
//    to partition r % partitions, as the CsvSource documents.
//  - generator sources: the generator is a pure function of (seed, partition,
//    offset), specified by GeneratorPartition::read in sim/scenario_job.cpp.
//    generatorInput() below re-implements that function to produce the same
//    input. It is the job's input, not the computation under test, so the
//    test remains independent of the engine's operators, network and state.
//    If the two ever disagree, the comparison fails, and for rolling
//    aggregates it names the first record id whose key differs. Capturing the input from a run of
//    the engine would instead make the reference depend on the engine's source path.
//
// Rolling aggregates emit one record per input record whose value depends on
// the order in which a key's records arrive, and records of different source
// partitions interleave in an order the reference cannot know. For COUNT, and
// for SUM over positive values, each emitted value is strictly larger than the
// previous one of its key, so sorting a key's output by value recovers the
// arrival order. The test then replays that order through the reference
// aggregate and checks that it keeps each source partition's records in
// offset order (channels are FIFO). For COUNT this is the multiset
// {(key, 1), ..., (key, n)} for a key with n records.
//
// Unbounded scenarios get a record_count, and DISCARD sinks become COLLECT,
// so the whole output can be compared. A separate test runs the DISCARD sink
// itself and checks the number of records it dropped.

// The engine headers come before Qt's: Qt defines emit and slots as macros,
// which are also names in the runtime.
#include "sim/csv_table.h"
#include "sim/engine.h"
#include "sim/random.h"
#include "test_support.h"

#include <QDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

using sluice::sim::Engine;
using sluice::sim::EngineOptions;
using sluice::sim::LoadedScenario;
using sluice::sim::RunState;
using sluice::sim::ScenarioError;
using sluice::sim::StoredRecord;
namespace scenario = sluice::scenario;

namespace {

// Record count given to unbounded generators, so that their output is finite.
constexpr uint64_t kBoundedRecordCount = 20000;

struct InputRecord {
    uint64_t id = 0;
    std::string key;
    int64_t value = 0;
    int64_t timestamp = 0;
    int partition = 0;
    uint64_t offset = 0;
};

// Returns the paths, relative to the source tree, of every shipped scenario
// and of the test scenarios in tests/scenarios, which use more operator kinds.
QStringList scenarioPaths() {
    QStringList paths;
    for (const char* folder : {"scenarios", "tests/scenarios"}) {
        QDir dir(QString::fromStdString(sluice::test::sourcePath(folder)));
        for (const QString& name : dir.entryList({"*.textproto"}, QDir::Files, QDir::Name)) {
            paths.append(QString(folder) + "/" + name);
        }
    }
    return paths;
}

int64_t floorDiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Returns the records of a generator source, computed as
// GeneratorPartition::read does (see the file comment).
std::vector<InputRecord> generatorInput(const scenario::GeneratorSource& g, int operator_index,
                                        uint64_t seed) {
    const uint64_t model_seed = sluice::sim::mix64(seed ^ (uint64_t(operator_index) << 32));
    std::optional<sluice::sim::ZipfDistribution> zipf;
    if (g.distribution() == scenario::ZIPF) {
        zipf.emplace(g.key_count(), g.zipf_exponent());
    }
    sluice::sim::UniformIntDistribution values(g.value_min(), g.value_max());
    const uint64_t partitions = g.partitions();
    const double rate = g.rate_per_second() / double(partitions);
    const double step = g.event_time_step_ms() > 0 ? g.event_time_step_ms()
                        : rate > 0                 ? 1000.0 / rate
                                                   : 1.0;
    std::vector<InputRecord> input;
    input.reserve(g.record_count());
    for (uint64_t p = 0; p < partitions; ++p) {
        uint64_t size = g.record_count() / partitions + (p < g.record_count() % partitions ? 1 : 0);
        for (uint64_t offset = 0; offset < size; ++offset) {
            uint64_t bits = sluice::sim::mix64(model_seed ^ sluice::sim::mix64((p << 40) ^ offset));
            uint64_t key_index =
                zipf ? zipf->fromBits(bits) : ((bits & 0xffffffffull) * g.key_count()) >> 32;
            InputRecord r;
            r.id = (uint64_t(operator_index) << 56) | (p << 40) | offset;
            r.key = g.key_prefix() + std::to_string(key_index);
            r.value = values.fromBits(sluice::sim::mix64(bits + 1));
            r.timestamp = std::llround(double(offset) * step);
            if (g.disorder_ms() > 0) {
                r.timestamp -= int64_t(sluice::sim::mix64(bits + 2) % (g.disorder_ms() + 1));
            }
            r.partition = int(p);
            r.offset = offset;
            input.push_back(std::move(r));
        }
    }
    return input;
}

std::vector<InputRecord> csvInput(const scenario::CsvSource& c, int operator_index,
                                  const std::filesystem::path& base_dir, std::string* error) {
    auto rows = sluice::sim::loadCsvRows(c, base_dir);
    if (auto* e = std::get_if<ScenarioError>(&rows)) {
        *error = e->format();
        return {};
    }
    std::vector<InputRecord> input;
    const auto& list = std::get<std::vector<sluice::sim::CsvRow>>(rows);
    for (size_t row = 0; row < list.size(); ++row) {
        InputRecord r;
        r.id = (uint64_t(operator_index) << 56) | row;
        r.key = list[row].key;
        r.value = list[row].value;
        r.timestamp = list[row].timestamp_ms;
        r.partition = int(row % c.partitions());
        r.offset = row / c.partitions();
        input.push_back(std::move(r));
    }
    return input;
}

// A job as a linear pipeline: source, stateless steps, at most one keyed
// step, sink.
struct Pipeline {
    int source = -1;             // the first source
    std::vector<int> sources;    // every source; several are unioned into one operator
    std::vector<int> stateless;  // map and filter operators, in order
    int keyed = -1;              // aggregate or window operator, or -1
    int sink = -1;
};

// Fills `out` from `job`. Returns the reason when the job has another shape,
// which the reference does not cover.
std::optional<std::string> toPipeline(const scenario::Job& job, Pipeline* out) {
    std::map<std::string, int> index_of;
    for (int i = 0; i < job.operators_size(); ++i) {
        index_of[job.operators(i).id()] = i;
    }
    std::map<int, std::vector<int>> next;
    std::map<int, int> inputs;
    for (const auto& edge : job.edges()) {
        next[index_of.at(edge.from())].push_back(index_of.at(edge.to()));
        ++inputs[index_of.at(edge.to())];
    }
    for (int i = 0; i < job.operators_size(); ++i) {
        const auto& op = job.operators(i);
        if (op.has_generator() || op.has_csv()) {
            if (out->source < 0) {
                out->source = i;
            }
            out->sources.push_back(i);
        }
    }
    if (out->source < 0) {
        return "no source";
    }
    // Several sources must all feed one operator, which unions them.
    for (int source : out->sources) {
        if (next[source].size() != 1 || next[source].front() != next[out->source].front()) {
            return "the sources do not all feed the same operator";
        }
    }
    int current = out->source;
    bool first_step = true;
    while (true) {
        if (next[current].size() != 1) {
            return "operator " + job.operators(current).id() + " does not have exactly one output";
        }
        int following = next[current].front();
        int expected_inputs = first_step ? int(out->sources.size()) : 1;
        first_step = false;
        if (inputs[following] != expected_inputs) {
            return "operator " + job.operators(following).id() + " has several inputs";
        }
        const auto& op = job.operators(following);
        if (op.has_sink()) {
            out->sink = following;
            return std::nullopt;
        }
        if ((op.has_map() || op.has_filter()) && out->keyed < 0) {
            out->stateless.push_back(following);
        } else if ((op.has_aggregate() || op.has_window()) && out->keyed < 0) {
            out->keyed = following;
        } else {
            return "no reference for operator " + op.id() + " at this place";
        }
        current = following;
    }
}

// Applies the map and filter steps; the survivors keep their id and timestamp.
std::vector<InputRecord> applyStateless(const scenario::Job& job, const Pipeline& pipeline,
                                        std::vector<InputRecord> records) {
    for (int index : pipeline.stateless) {
        const auto& op = job.operators(index);
        std::vector<InputRecord> survivors;
        for (InputRecord& r : records) {
            if (op.has_map()) {
                if (op.map().has_set_value()) {
                    r.value = op.map().set_value();
                }
                r.value += op.map().add_to_value();
            } else {
                const auto& f = op.filter();
                if ((f.has_min_value() && r.value < f.min_value()) ||
                    (f.has_max_value() && r.value > f.max_value()) ||
                    (f.keep_one_in() > 1 && r.id % f.keep_one_in() != 0)) {
                    continue;
                }
            }
            survivors.push_back(std::move(r));
        }
        records = std::move(survivors);
    }
    return records;
}

// (key, value, timestamp) of one output record.
using OutputTuple = std::tuple<std::string, int64_t, int64_t>;

std::string show(const OutputTuple& t) {
    return "(" + std::get<0>(t) + ", " + std::to_string(std::get<1>(t)) + ", " +
           std::to_string(std::get<2>(t)) + ")";
}

// Compares two multisets. Returns an empty string when they are equal, else
// the sizes and the first missing and first unexpected record.
std::string multisetDiff(std::vector<OutputTuple> expected, std::vector<OutputTuple> actual) {
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
    if (expected == actual) {
        return {};
    }
    std::vector<OutputTuple> missing;
    std::vector<OutputTuple> extra;
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                        std::back_inserter(missing));
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                        std::back_inserter(extra));
    std::ostringstream out;
    out << "expected " << expected.size() << " records (key, value, timestamp), the sink got "
        << actual.size() << "; " << missing.size() << " missing, " << extra.size() << " unexpected";
    if (!missing.empty()) {
        out << "; first missing " << show(missing.front());
    }
    if (!extra.empty()) {
        out << "; first unexpected " << show(extra.front());
    }
    return out.str();
}

// Computes the window output: one record per key and window with the
// aggregate (AVERAGE truncated toward zero) and the window's last millisecond.
std::vector<OutputTuple> referenceWindows(const scenario::Window& w,
                                          const std::vector<InputRecord>& input) {
    const int64_t size = int64_t(w.size_ms());
    const int64_t slide = w.type() == scenario::SLIDING ? int64_t(w.slide_ms()) : size;
    struct Acc {
        int64_t count = 0;
        int64_t sum = 0;
        int64_t min = 0;
        int64_t max = 0;
    };
    std::map<std::pair<std::string, int64_t>, Acc> windows;  // (key, start)
    for (const InputRecord& r : input) {
        int64_t last_start = floorDiv(r.timestamp, slide) * slide;
        for (int64_t start = last_start; start > r.timestamp - size; start -= slide) {
            Acc& acc = windows[{r.key, start}];
            acc.min = acc.count == 0 ? r.value : std::min(acc.min, r.value);
            acc.max = acc.count == 0 ? r.value : std::max(acc.max, r.value);
            acc.sum += r.value;
            ++acc.count;
        }
    }
    std::vector<OutputTuple> out;
    for (const auto& [where, acc] : windows) {
        int64_t value = 0;
        switch (w.function()) {
            case scenario::COUNT:
                value = acc.count;
                break;
            case scenario::SUM:
                value = acc.sum;
                break;
            case scenario::MIN:
                value = acc.min;
                break;
            case scenario::MAX:
                value = acc.max;
                break;
            default:
                value = acc.sum / acc.count;  // C++ division truncates toward zero
                break;
        }
        out.emplace_back(where.first, value, where.second + size - 1);
    }
    return out;
}

// Finds a record that the window operator could drop as late, which the
// reference does not model. A source partition's watermark stays below its
// highest timestamp minus the out-of-orderness bound. So a record at or above
// that bound is never late, as long as each source subtask reads one
// partition. Returns the first record below it.
std::optional<std::string> possiblyLate(const std::vector<InputRecord>& input,
                                        int64_t out_of_orderness_ms) {
    std::map<int, int64_t> highest;  // per partition, input is in offset order
    for (const InputRecord& r : input) {
        auto [it, fresh] = highest.try_emplace(r.partition, r.timestamp);
        if (!fresh && r.timestamp < it->second - out_of_orderness_ms) {
            return "record " + std::to_string(r.offset) + " of partition " +
                   std::to_string(r.partition) + " may be late";
        }
        it->second = std::max(it->second, r.timestamp);
    }
    return std::nullopt;
}

// Checks the output of a rolling COUNT or SUM (see the file comment). Returns
// an empty string when the output is one that the reference allows.
std::string checkRolling(scenario::AggregateFunction function,
                         const std::vector<InputRecord>& input,
                         const std::vector<StoredRecord>& output) {
    std::map<uint64_t, const InputRecord*> by_id;
    for (const InputRecord& r : input) {
        by_id[r.id] = &r;
    }
    std::map<std::string, std::vector<const StoredRecord*>> per_key;
    std::map<uint64_t, int> seen;
    for (const StoredRecord& s : output) {
        auto it = by_id.find(s.record.id);
        if (it == by_id.end()) {
            return "the sink got record id " + std::to_string(s.record.id) + " (key " +
                   s.record.key + "), which is no input record";
        }
        if (it->second->key != s.record.key) {
            return "record id " + std::to_string(s.record.id) + " has key " + s.record.key +
                   " at the sink but " + it->second->key + " in the input";
        }
        if (s.timestamp != it->second->timestamp) {
            return "record id " + std::to_string(s.record.id) + " has timestamp " +
                   std::to_string(s.timestamp) + " at the sink but " +
                   std::to_string(it->second->timestamp) + " in the input";
        }
        if (++seen[s.record.id] > 1) {
            return "record id " + std::to_string(s.record.id) + " reached the sink twice";
        }
        per_key[s.record.key].push_back(&s);
    }
    for (const InputRecord& r : input) {
        if (!seen.count(r.id)) {
            return "input record " + std::to_string(r.offset) + " of partition " +
                   std::to_string(r.partition) + " (key " + r.key + ") never reached the sink";
        }
    }
    for (auto& [key, records] : per_key) {
        std::sort(records.begin(), records.end(), [](const StoredRecord* a, const StoredRecord* b) {
            return a->record.value < b->record.value;
        });
        int64_t aggregate = 0;
        std::map<int, uint64_t> next_offset;  // per partition, lowest allowed offset
        for (size_t i = 0; i < records.size(); ++i) {
            const InputRecord& in = *by_id.at(records[i]->record.id);
            aggregate += function == scenario::COUNT ? 1 : in.value;
            if (records[i]->record.value != aggregate) {
                return "key " + key + ": the " + std::to_string(i + 1) +
                       ". record in value order has value " +
                       std::to_string(records[i]->record.value) + ", the reference " +
                       std::to_string(aggregate);
            }
            auto [it, fresh] = next_offset.try_emplace(in.partition, 0);
            if (in.offset < it->second) {
                return "key " + key + ": record " + std::to_string(in.offset) + " of partition " +
                       std::to_string(in.partition) +
                       " was aggregated after a later record of that partition";
            }
            it->second = in.offset + 1;
        }
    }
    return {};
}

// A scenario to test, made bounded and collecting, with its reference input.
struct Prepared {
    LoadedScenario loaded;
    Pipeline pipeline;
    std::vector<InputRecord> input;  // after the stateless steps
};

std::optional<std::string> prepare(const QString& path, bool keep_sink_kind, Prepared* out) {
    auto loaded = sluice::sim::loadScenarioFile(sluice::test::sourcePath(path.toStdString()));
    if (auto* error = std::get_if<ScenarioError>(&loaded)) {
        return error->format();
    }
    out->loaded = std::move(std::get<LoadedScenario>(loaded));

    scenario::Scenario& proto = out->loaded.proto;
    if (auto why = toPipeline(proto.job(), &out->pipeline)) {
        return "no reference for the shape of this job: " + *why;
    }
    for (int index : out->pipeline.sources) {
        scenario::Operator& source = *proto.mutable_job()->mutable_operators(index);
        // Unbounded and very large sources are cut to a bounded prefix.
        if (source.has_generator() && (source.generator().record_count() == 0 ||
                                       source.generator().record_count() > kBoundedRecordCount)) {
            source.mutable_generator()->set_record_count(kBoundedRecordCount);
        }
    }
    scenario::Operator& sink = *proto.mutable_job()->mutable_operators(out->pipeline.sink);
    if (!keep_sink_kind) {
        sink.mutable_sink()->set_kind(scenario::COLLECT);
    }
    // Let the bounded job run to its end whatever the scenario's time limit.
    proto.mutable_run()->set_until_ms(0);
    // The reference describes failure-free runs; the exactly-once checker
    // covers the scenarios' faults.
    proto.clear_faults();

    std::vector<InputRecord> input;
    for (int index : out->pipeline.sources) {
        const scenario::Operator& source = proto.job().operators(index);
        std::vector<InputRecord> part;
        if (source.has_generator()) {
            part = generatorInput(source.generator(), index, proto.seed());
        } else {
            std::string error;
            part = csvInput(source.csv(), index, out->loaded.base_dir, &error);
            if (!error.empty()) {
                return error;
            }
        }
        for (InputRecord& r : part) {
            // Partitions of different sources are different logs.
            r.partition += index * 65536;
            input.push_back(std::move(r));
        }
    }
    out->input = applyStateless(proto.job(), out->pipeline, std::move(input));
    return std::nullopt;
}

std::unique_ptr<Engine> runToEnd(const LoadedScenario& loaded, std::string* error) {
    auto created = Engine::fromScenario(loaded);
    if (auto* e = std::get_if<ScenarioError>(&created)) {
        *error = e->format();
        return nullptr;
    }
    auto engine = std::move(std::get<std::unique_ptr<Engine>>(created));
    engine->run();
    if (engine->runState() != RunState::kFinished) {
        *error = std::string("the run ended ") + sluice::sim::runStateName(engine->runState()) +
                 " at " + std::to_string(engine->now() / sluice::kNanosPerMilli) +
                 " ms instead of finishing; " + engine->failureCause();
        return nullptr;
    }
    return engine;
}

uint64_t lateRecordsDropped(const Engine& engine) {
    uint64_t late = 0;
    for (const auto* task : engine.tasks()) {
        for (int i = 0; i < task->operatorCount(); ++i) {
            late += task->operatorContext(i).metrics.late_records_dropped;
        }
    }
    return late;
}

}  // namespace

class TstReferenceOutput : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void sinkMatchesReference_data();
    void sinkMatchesReference();
    void discardCount_data();
    void discardCount();
};

void TstReferenceOutput::sinkMatchesReference_data() {
    QTest::addColumn<QString>("scenario");
    const QStringList paths = scenarioPaths();
    QVERIFY2(!paths.isEmpty(), "no scenarios/*.textproto found");
    for (const QString& path : paths) {
        QTest::newRow(qPrintable(path)) << path;
    }
}

void TstReferenceOutput::sinkMatchesReference() {
    QFETCH(QString, scenario);
    Prepared p;
    if (auto error = prepare(scenario, false, &p)) {
        QFAIL(error->c_str());
    }
    const scenario::Job& job = p.loaded.proto.job();
    QVERIFY2(!p.input.empty(), "the reference input is empty, so the test would be vacuous");

    std::string error;
    auto engine = runToEnd(p.loaded, &error);
    QVERIFY2(engine, error.c_str());
    std::vector<StoredRecord> output;
    for (const StoredRecord& s : engine->store().records()) {
        if (engine->scenarioJob().sinks.at(size_t(s.sink)) == p.pipeline.sink) {
            output.push_back(s);
        }
    }

    if (p.pipeline.keyed < 0) {
        std::vector<OutputTuple> expected;
        std::vector<OutputTuple> actual;
        for (const InputRecord& r : p.input) {
            expected.emplace_back(r.key, r.value, r.timestamp);
        }
        for (const StoredRecord& s : output) {
            actual.emplace_back(s.record.key, s.record.value, s.timestamp);
        }
        std::string diff = multisetDiff(expected, actual);
        QVERIFY2(diff.empty(), diff.c_str());
        return;
    }

    const scenario::Operator& keyed = job.operators(p.pipeline.keyed);
    if (keyed.has_window()) {
        const scenario::Operator& source = job.operators(p.pipeline.source);
        const auto& watermarks =
            source.has_csv() ? source.csv().watermarks() : source.generator().watermarks();
        const uint32_t partitions =
            source.has_csv() ? source.csv().partitions() : source.generator().partitions();
        QVERIFY2(partitions == source.parallelism(),
                 "the late-record bound assumes one source partition per source subtask");
        auto late = possiblyLate(p.input, int64_t(watermarks.bounded_out_of_orderness_ms()));
        // QVERIFY2 builds its message even when the check passes.
        QVERIFY2(!late,
                 ("the reference assumes no late records, but " + late.value_or("")).c_str());
        QCOMPARE(lateRecordsDropped(*engine), uint64_t(0));
        std::vector<OutputTuple> actual;
        for (const StoredRecord& s : output) {
            actual.emplace_back(s.record.key, s.record.value, s.timestamp);
        }
        std::string diff = multisetDiff(referenceWindows(keyed.window(), p.input), actual);
        QVERIFY2(diff.empty(), diff.c_str());
        return;
    }

    const auto function = keyed.aggregate().function();
    bool positive = std::all_of(p.input.begin(), p.input.end(),
                                [](const InputRecord& r) { return r.value > 0; });
    if (function != scenario::COUNT && !(function == scenario::SUM && positive)) {
        QFAIL(
            "no reference for this rolling aggregate: only COUNT, and SUM of positive values, "
            "reveal the arrival order");
    }
    if (function == scenario::COUNT) {
        // The plain multiset form: a key with n records yields counts 1..n.
        std::map<std::string, int64_t> records_per_key;
        for (const InputRecord& r : p.input) {
            ++records_per_key[r.key];
        }
        std::vector<OutputTuple> expected;
        for (const auto& [key, n] : records_per_key) {
            for (int64_t count = 1; count <= n; ++count) {
                expected.emplace_back(key, count, 0);
            }
        }
        std::vector<OutputTuple> actual;
        for (const StoredRecord& s : output) {
            actual.emplace_back(s.record.key, s.record.value, 0);
        }
        std::string diff = multisetDiff(expected, actual);
        QVERIFY2(diff.empty(), diff.c_str());
    }
    std::string problem = checkRolling(function, p.input, output);
    QVERIFY2(problem.empty(), problem.c_str());
}

void TstReferenceOutput::discardCount_data() {
    QTest::addColumn<QString>("scenario");
    for (const QString& path : scenarioPaths()) {
        QTest::newRow(qPrintable(path)) << path;
    }
}

// A DISCARD sink drops what it receives but counts it: the count must be the
// number of records the reference emits into the sink.
void TstReferenceOutput::discardCount() {
    QFETCH(QString, scenario);
    Prepared p;
    if (auto error = prepare(scenario, true, &p)) {
        QFAIL(error->c_str());
    }
    const scenario::Job& job = p.loaded.proto.job();
    if (job.operators(p.pipeline.sink).sink().kind() != scenario::DISCARD) {
        QSKIP("the sink collects");
    }
    if (p.pipeline.keyed >= 0 && job.operators(p.pipeline.keyed).has_window()) {
        QSKIP("no record count reference for windows here; sinkMatchesReference covers them");
    }
    std::string error;
    auto engine = runToEnd(p.loaded, &error);
    QVERIFY2(engine, error.c_str());
    // Map, filter and rolling aggregates emit one record per surviving input.
    QCOMPARE(engine->store().discardedCount(), uint64_t(p.input.size()));
    QCOMPARE(engine->store().records().size(), size_t(0));
}

QTEST_GUILESS_MAIN(TstReferenceOutput)
#include "tst_reference_output.moc"
