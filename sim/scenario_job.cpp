#include "sim/scenario_job.h"

#include "runtime/core/log.h"
#include "runtime/core/murmur3.h"
#include "sim/csv_table.h"
#include "sim/random.h"
#include "sim/store_sink.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <unordered_map>

namespace sluice::sim {

namespace {

using scenario::Operator;

// Top 8 bits of a source record id name the source operator, the next 16 the
// partition and the low 40 the offset.
uint64_t recordId(int operator_index, int partition, uint64_t offset) {
    return (uint64_t(operator_index) << 56) | (uint64_t(partition) << 40) | offset;
}

struct GeneratorModel {
    uint64_t seed = 0;
    int operator_index = 0;
    std::vector<std::string> keys;
    std::unique_ptr<ZipfDistribution> zipf;
    UniformIntDistribution values{1, 1};
    double event_time_step_ms = 1;
    uint64_t disorder_ms = 0;
};

class GeneratorPartition final : public LogPartition<Record> {
public:
    GeneratorPartition(std::shared_ptr<const GeneratorModel> model, int partition, uint64_t size)
        : model_(std::move(model)), partition_(partition), size_(size) {}

    uint64_t size() const override { return size_; }

    void read(uint64_t offset, Record& record, TimestampMs& timestamp) override {
        const GeneratorModel& m = *model_;
        uint64_t bits = mix64(m.seed ^ mix64((uint64_t(partition_) << 40) ^ offset));
        uint64_t key_index =
            m.zipf ? m.zipf->fromBits(bits) : ((bits & 0xffffffffull) * m.keys.size()) >> 32;
        record.id = recordId(m.operator_index, partition_, offset);
        record.key = m.keys[key_index];
        record.value = m.values.fromBits(mix64(bits + 1));
        timestamp = TimestampMs(std::llround(double(offset) * m.event_time_step_ms));
        if (m.disorder_ms > 0) {
            timestamp -= TimestampMs(mix64(bits + 2) % (m.disorder_ms + 1));
        }
    }

private:
    std::shared_ptr<const GeneratorModel> model_;
    int partition_;
    uint64_t size_;
};

class CsvPartition final : public LogPartition<Record> {
public:
    CsvPartition(std::shared_ptr<const std::vector<CsvRow>> rows, int operator_index, int partition,
                 int partition_count)
        : rows_(std::move(rows)),
          operator_index_(operator_index),
          partition_(partition),
          partition_count_(partition_count) {}

    uint64_t size() const override {
        uint64_t n = rows_->size();
        return n > uint64_t(partition_)
                   ? (n - uint64_t(partition_) + partition_count_ - 1) / uint64_t(partition_count_)
                   : 0;
    }

    void read(uint64_t offset, Record& record, TimestampMs& timestamp) override {
        uint64_t row = uint64_t(partition_) + offset * uint64_t(partition_count_);
        const CsvRow& csv = (*rows_)[row];
        record.id = recordId(operator_index_, 0, row);
        record.key = csv.key;
        record.value = csv.value;
        timestamp = csv.timestamp_ms;
    }

private:
    std::shared_ptr<const std::vector<CsvRow>> rows_;
    int operator_index_;
    int partition_;
    int partition_count_;
};

WatermarkStrategy watermarkStrategy(const scenario::Watermarks& w) {
    WatermarkStrategy strategy;
    strategy.bounded_out_of_orderness_ms = TimestampMs(w.bounded_out_of_orderness_ms());
    strategy.idleness_timeout_ns = Nanos(w.idleness_timeout_ms()) * kNanosPerMilli;
    strategy.interval_ns = Nanos(std::max<uint64_t>(1, w.interval_ms())) * kNanosPerMilli;
    return strategy;
}

LogSourceSpec<Record> generatorSpec(const scenario::GeneratorSource& g, int operator_index,
                                    uint64_t seed) {
    auto model = std::make_shared<GeneratorModel>();
    model->seed = mix64(seed ^ (uint64_t(operator_index) << 32));
    model->operator_index = operator_index;
    model->keys.reserve(g.key_count());
    for (uint64_t k = 0; k < g.key_count(); ++k) {
        model->keys.push_back(g.key_prefix() + std::to_string(k));
    }
    if (g.distribution() == scenario::ZIPF) {
        model->zipf = std::make_unique<ZipfDistribution>(g.key_count(), g.zipf_exponent());
    }
    model->values = UniformIntDistribution(g.value_min(), g.value_max());
    int partitions = int(g.partitions());
    double per_partition_rate = g.rate_per_second() / partitions;
    model->event_time_step_ms = g.event_time_step_ms() > 0 ? g.event_time_step_ms()
                                : per_partition_rate > 0   ? 1000.0 / per_partition_rate
                                                           : 1.0;
    model->disorder_ms = g.disorder_ms();

    LogSourceSpec<Record> spec;
    spec.partition_count = partitions;
    spec.records_per_second_per_partition = per_partition_rate;
    spec.watermarks = watermarkStrategy(g.watermarks());
    uint64_t total = g.record_count();
    std::shared_ptr<const GeneratorModel> shared = model;
    spec.open_partition = [shared, total,
                           partitions](int p) -> std::unique_ptr<LogPartition<Record>> {
        uint64_t size = LogPartition<Record>::kUnbounded;
        if (total > 0) {
            size =
                total / uint64_t(partitions) + (uint64_t(p) < total % uint64_t(partitions) ? 1 : 0);
        }
        return std::make_unique<GeneratorPartition>(shared, p, size);
    };
    return spec;
}

LogSourceSpec<Record> csvSpec(const scenario::CsvSource& c, int operator_index,
                              std::shared_ptr<const std::vector<CsvRow>> rows) {
    LogSourceSpec<Record> spec;
    int partitions = int(c.partitions());
    spec.partition_count = partitions;
    spec.records_per_second_per_partition = c.rate_per_second() / partitions;
    spec.watermarks = watermarkStrategy(c.watermarks());
    spec.open_partition = [rows, operator_index,
                           partitions](int p) -> std::unique_ptr<LogPartition<Record>> {
        return std::make_unique<CsvPartition>(rows, operator_index, p, partitions);
    };
    return spec;
}

AggregateKind aggregateKind(scenario::AggregateFunction function) {
    switch (function) {
        case scenario::SUM:
            return AggregateKind::kSum;
        case scenario::MIN:
            return AggregateKind::kMin;
        case scenario::MAX:
            return AggregateKind::kMax;
        case scenario::AVERAGE:
            return AggregateKind::kAverage;
        default:
            return AggregateKind::kCount;
    }
}

// Counts records per key and emits (key, count) once the key was quiet for
// timeout_ms, through one timer per key.
class InactivityCounter final : public KeyedProcessFunction<std::string, Record, Record> {
public:
    InactivityCounter(TimestampMs timeout_ms, bool event_time)
        : timeout_ms_(timeout_ms), event_time_(event_time) {}

    void open(KeyedStateBackend& backend) override {
        count_ = &getValueState(backend, ValueStateDescriptor<int64_t>("count"));
        timer_ = &getValueState(backend, ValueStateDescriptor<int64_t>("timer"));
    }

    void processElement(const Record&, Context& context, Collector<Record>&) override {
        count_->update(count_->value().value_or(0) + 1);
        if (auto previous = timer_->value(); previous && event_time_) {
            context.deleteEventTimeTimer(*previous);
        }
        TimestampMs base = event_time_ ? context.timestamp() : context.currentProcessingTime();
        TimestampMs fire_at = base + timeout_ms_;
        timer_->update(fire_at);
        if (event_time_) {
            context.registerEventTimeTimer(fire_at);
        } else {
            context.registerProcessingTimeTimer(fire_at);
        }
    }

    void onTimer(TimestampMs time, bool, Context& context, Collector<Record>& out) override {
        auto expected = timer_->value();
        if (!expected || *expected != time) {
            return;  // a later record moved the deadline
        }
        int64_t count = count_->value().value_or(0);
        out.collect(Record{mix64(murmur3_32(context.currentKey()) ^ uint64_t(time)),
                           context.currentKey(), count});
        count_->clear();
        timer_->clear();
    }

private:
    TimestampMs timeout_ms_;
    bool event_time_;
    ValueState<int64_t>* count_ = nullptr;
    ValueState<int64_t>* timer_ = nullptr;
};

std::string keyOf(const Record& record) {
    return record.key;
}

}  // namespace

std::variant<ScenarioJob, ScenarioError> buildScenarioJob(const LoadedScenario& loaded,
                                                          uint64_t seed, ExternalStore* store) {
    registerRecordSerializer();
    const scenario::Scenario& s = loaded.proto;
    const auto& operators = s.job().operators();
    ScenarioJob job;
    job.env = std::make_unique<StreamExecutionEnvironment>();
    StreamExecutionEnvironment& env = *job.env;
    env.setMaxParallelism(int(s.job().max_parallelism()));
    env.setParallelism(int(s.job().default_parallelism()));

    std::map<std::string, int> index_of;
    for (int i = 0; i < operators.size(); ++i) {
        index_of[operators[i].id()] = i;
    }
    std::vector<std::vector<const scenario::Edge*>> inputs(size_t(operators.size()));
    for (const auto& edge : s.job().edges()) {
        inputs[size_t(index_of.at(edge.to()))].push_back(&edge);
    }

    // Topological order (validation rejected cycles); ties keep file order.
    std::vector<int> order;
    std::vector<int> remaining(size_t(operators.size()));
    for (int i = 0; i < operators.size(); ++i) {
        remaining[size_t(i)] = int(inputs[size_t(i)].size());
    }
    std::vector<bool> done(size_t(operators.size()), false);
    while (int(order.size()) < operators.size()) {
        int next = -1;
        for (int i = 0; i < operators.size() && next < 0; ++i) {
            if (!done[size_t(i)] && remaining[size_t(i)] == 0) {
                next = i;
            }
        }
        if (next < 0) {
            return ScenarioError{loaded.path.string(), 0, 0, "job.edges",
                                 "the edges contain a cycle; remove an edge of it."};
        }
        done[size_t(next)] = true;
        order.push_back(next);
        for (const auto& edge : s.job().edges()) {
            if (edge.from() == operators[next].id()) {
                --remaining[size_t(index_of.at(edge.to()))];
            }
        }
    }

    std::map<int, DataStream<Record>> streams;
    job.node_of_operator.assign(size_t(operators.size()), -1);
    int sink_count = 0;
    for (int index : order) {
        const Operator& op = operators[index];
        std::optional<DataStream<Record>> result;
        if (op.has_generator()) {
            result = env.fromSource(generatorSpec(op.generator(), index, seed), op.id());
        } else if (op.has_csv()) {
            auto rows = loadCsvRows(op.csv(), loaded.base_dir);
            if (auto* error = std::get_if<ScenarioError>(&rows)) {
                return *error;
            }
            auto shared = std::make_shared<const std::vector<CsvRow>>(
                std::move(std::get<std::vector<CsvRow>>(rows)));
            result = env.fromSource(csvSpec(op.csv(), index, shared), op.id());
        } else {
            const scenario::Edge& first = *inputs[size_t(index)].front();
            DataStream<Record> input = streams.at(index_of.at(first.from()));
            KeyedStream<Record, std::string> keyed = input.keyBy<std::string>(keyOf);
            switch (first.partitioning()) {
                case scenario::REBALANCE:
                    input = input.rebalance();
                    break;
                case scenario::BROADCAST:
                    input = input.broadcast();
                    break;
                case scenario::HASH:
                    input = keyed;
                    break;
                default:
                    input = input.forward();
                    break;
            }
            if (op.has_map()) {
                auto m = op.map();
                result = input.map<Record>(
                    [m](const Record& r) {
                        Record out = r;
                        if (m.has_set_value()) {
                            out.value = m.set_value();
                        }
                        out.value += m.add_to_value();
                        return out;
                    },
                    op.id());
            } else if (op.has_filter()) {
                auto f = op.filter();
                result = input.filter(
                    [f](const Record& r) {
                        if (f.has_min_value() && r.value < f.min_value()) {
                            return false;
                        }
                        if (f.has_max_value() && r.value > f.max_value()) {
                            return false;
                        }
                        return f.keep_one_in() <= 1 || r.id % f.keep_one_in() == 0;
                    },
                    op.id());
            } else if (op.has_flat_map()) {
                uint32_t copies = op.flat_map().copies();
                result = input.flatMap<Record>(
                    [copies](const Record& r, Collector<Record>& out) {
                        for (uint32_t i = 0; i < copies; ++i) {
                            out.collect(Record{mix64(r.id * 31 + i), r.key, r.value});
                        }
                    },
                    op.id());
            } else if (op.has_aggregate()) {
                result = keyed.aggregate<Record>(
                    aggregateKind(op.aggregate().function()),
                    [](const Record& r) { return r.value; },
                    [](const Record& r, const std::string& key, int64_t value) {
                        return Record{r.id, key, value};
                    },
                    op.id());
            } else if (op.has_process()) {
                TimestampMs timeout = TimestampMs(op.process().timeout_ms());
                bool event_time = op.process().time_domain() == scenario::EVENT_TIME;
                result = keyed.process<Record>(
                    [timeout, event_time]() {
                        auto fn = std::make_unique<InactivityCounter>(timeout, event_time);
                        return fn;
                    },
                    op.id());
            } else if (op.has_window()) {
                const auto& w = op.window();
                WindowSpec spec =
                    w.type() == scenario::SLIDING
                        ? WindowSpec::sliding(TimestampMs(w.size_ms()), TimestampMs(w.slide_ms()))
                        : WindowSpec::tumbling(TimestampMs(w.size_ms()));
                spec.allowed_lateness_ms = TimestampMs(w.allowed_lateness_ms());
                result = keyed.windowAggregate<Record>(
                    spec, aggregateKind(w.function()), [](const Record& r) { return r.value; },
                    [](const std::string& key, const TimeWindow& window, int64_t value) {
                        return Record{mix64(murmur3_32(key) ^ uint64_t(window.start)), key, value};
                    },
                    op.id());
            } else if (op.has_sink()) {
                int sink_index = sink_count++;
                job.sinks.push_back(index);
                scenario::Sink spec = op.sink();
                scenario::DeliberateBugs bugs = s.bugs();
                result = input.addSink(
                    [store, sink_index, spec, bugs]() -> std::unique_ptr<SinkFunction<Record>> {
                        return std::make_unique<StoreSink>(store, sink_index, spec, bugs);
                    },
                    op.id());
            } else {
                return ScenarioError{
                    loaded.path.string(), 0, 0, "job.operators[" + std::to_string(index) + "]",
                    "operator '" + op.id() +
                        "' has no kind; set one of "
                        "generator, csv, map, filter, flat_map, aggregate, process, "
                        "window or sink."};
            }
            // Further inputs are unioned into the same operator.
            for (size_t k = 1; k < inputs[size_t(index)].size(); ++k) {
                const scenario::Edge& extra = *inputs[size_t(index)][k];
                const DataStream<Record>& upstream = streams.at(index_of.at(extra.from()));
                PartitionerSpec spec;
                spec.max_parallelism = int(s.job().max_parallelism());
                switch (extra.partitioning()) {
                    case scenario::REBALANCE:
                        spec.kind = PartitionerKind::kRebalance;
                        break;
                    case scenario::BROADCAST:
                        spec.kind = PartitionerKind::kBroadcast;
                        break;
                    case scenario::HASH:
                        spec.kind = PartitionerKind::kHash;
                        spec.key_bytes = std::make_shared<KeyBytesFunction<Record>>(
                            makeKeyBytesFunction<Record, std::string>(
                                keyOf, serializerFor<std::string>()));
                        break;
                    default:
                        spec.kind = PartitionerKind::kForward;
                        break;
                }
                env.streamGraph().addEdge(upstream.nodeId(), result->nodeId(), spec, true);
            }
        }

        StreamNode& node = result->node();
        node.parallelism = int(op.parallelism());
        node.chaining = op.chaining() == scenario::START_NEW_CHAIN    ? ChainingStrategy::kHead
                        : op.chaining() == scenario::DISABLE_CHAINING ? ChainingStrategy::kNever
                                                                      : ChainingStrategy::kAlways;
        node.cost.ns_per_record = int64_t(op.cost().ns_per_record());
        node.cost.jitter = op.cost().jitter();
        if (op.cost().key_skew_size() > 0) {
            std::unordered_map<std::string, double> factors;
            for (const auto& skew : op.cost().key_skew()) {
                factors[skew.key()] = skew.factor();
            }
            node.cost.skew = std::make_shared<SkewFunction<Record>>(
                [factors = std::move(factors)](const Record& r) {
                    auto it = factors.find(r.key);
                    return it == factors.end() ? 1.0 : it->second;
                });
        }
        job.node_of_operator[size_t(index)] = result->nodeId();
        streams.emplace(index, *result);
    }
    return job;
}

}  // namespace sluice::sim
