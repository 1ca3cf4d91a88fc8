#pragma once

#include "runtime/graph/stream_graph.h"
#include "runtime/operators/aggregates.h"
#include "runtime/operators/basic_operators.h"
#include "runtime/operators/keyed_process.h"
#include "runtime/operators/log_source.h"
#include "runtime/operators/window_operator.h"

#include <memory>
#include <string>
#include <utility>

namespace sluice {

template <class T>
class DataStream;
template <class T, class K>
class KeyedStream;

// Entry point of the DataStream API: owns the StreamGraph that the
// transformations build. Translate it with JobGraph::fromStreamGraph.
class StreamExecutionEnvironment {
public:
    void setParallelism(int parallelism) { default_parallelism_ = parallelism; }
    void setMaxParallelism(int max_parallelism) { max_parallelism_ = max_parallelism; }
    int parallelism() const { return default_parallelism_; }
    int maxParallelism() const { return max_parallelism_; }

    template <class T>
    DataStream<T> fromSource(LogSourceSpec<T> spec, const std::string& name);

    StreamGraph& streamGraph() { return graph_; }
    const StreamGraph& streamGraph() const { return graph_; }

    // Adds a node with the environment's default parallelism.
    StreamNode& addNode(std::string name, std::shared_ptr<const TypeInfoBase> input,
                        std::shared_ptr<const TypeInfoBase> output,
                        std::function<std::unique_ptr<StreamOperatorBase>()> factory) {
        StreamNode node;
        node.name = std::move(name);
        node.parallelism = default_parallelism_;
        node.max_parallelism = max_parallelism_;
        node.input_type = std::move(input);
        node.output_type = std::move(output);
        node.operator_factory = std::move(factory);
        node.cost.ns_per_record = 0;
        return graph_.addNode(std::move(node));
    }

private:
    StreamGraph graph_;
    int default_parallelism_ = 1;
    int max_parallelism_ = kDefaultMaxParallelism;
};

// A stream of records of type T produced by one operator. Setters such as
// setParallelism apply to that operator and return the stream for chaining
// calls, as in Flink.
template <class T>
class DataStream {
public:
    DataStream(StreamExecutionEnvironment* env, int node, std::shared_ptr<const TypeInfo<T>> type)
        : env_(env), node_(node), type_(std::move(type)) {}

    int nodeId() const { return node_; }
    StreamExecutionEnvironment& environment() const { return *env_; }
    const std::shared_ptr<const TypeInfo<T>>& type() const { return type_; }

    DataStream& setParallelism(int parallelism) {
        node().parallelism = parallelism;
        return *this;
    }
    DataStream& setMaxParallelism(int max_parallelism) {
        node().max_parallelism = max_parallelism;
        return *this;
    }
    DataStream& name(const std::string& name) {
        node().name = name;
        return *this;
    }
    DataStream& startNewChain() {
        node().chaining = ChainingStrategy::kHead;
        return *this;
    }
    DataStream& disableChaining() {
        node().chaining = ChainingStrategy::kNever;
        return *this;
    }
    // Simulated CPU cost of this operator per record, and its jitter.
    DataStream& setCost(int64_t ns_per_record, double jitter = 0) {
        node().cost.ns_per_record = ns_per_record;
        node().cost.jitter = jitter;
        return *this;
    }

    // Partitioning of the next transformation's input.
    DataStream forward() const { return withPartitioner(PartitionerKind::kForward); }
    DataStream rebalance() const { return withPartitioner(PartitionerKind::kRebalance); }
    DataStream broadcast() const { return withPartitioner(PartitionerKind::kBroadcast); }

    template <class R>
    DataStream<R> map(std::function<R(const T&)> fn, const std::string& name = "Map") const {
        return transform<R>(name, [fn] { return std::make_unique<MapOperator<T, R>>(fn); });
    }

    DataStream<T> filter(std::function<bool(const T&)> predicate,
                         const std::string& name = "Filter") const {
        return transform<T>(name,
                            [predicate] { return std::make_unique<FilterOperator<T>>(predicate); });
    }

    template <class R>
    DataStream<R> flatMap(typename FlatMapOperator<T, R>::Function fn,
                          const std::string& name = "FlatMap") const {
        return transform<R>(name, [fn] { return std::make_unique<FlatMapOperator<T, R>>(fn); });
    }

    template <class K>
    KeyedStream<T, K> keyBy(std::function<K(const T&)> selector) const;

    // Adds a sink; `factory` makes one SinkFunction per subtask.
    DataStream<T> addSink(std::function<std::unique_ptr<SinkFunction<T>>()> factory,
                          const std::string& name = "Sink") const {
        DataStream<T> sink =
            transform<T>(name, [factory] { return std::make_unique<SinkOperator<T>>(factory()); });
        sink.node().is_sink = true;
        sink.node().output_type = nullptr;
        return sink;
    }

    // Adds an operator that reads this stream and emits R.
    template <class R>
    DataStream<R> transform(const std::string& name,
                            std::function<std::unique_ptr<StreamOperatorBase>()> factory,
                            std::shared_ptr<const TypeInfo<R>> output_type = nullptr) const {
        if (!output_type) {
            output_type = std::make_shared<TypeInfo<R>>();
        }
        StreamNode& node = env_->addNode(name, type_, output_type, std::move(factory));
        int id = node.id;
        env_->streamGraph().addEdge(node_, id, partitioner_, explicit_partitioner_);
        return DataStream<R>(env_, id, output_type);
    }

    StreamNode& node() const { return env_->streamGraph().node(node_); }

protected:
    DataStream withPartitioner(PartitionerKind kind) const {
        DataStream copy = *this;
        copy.partitioner_.kind = kind;
        copy.explicit_partitioner_ = true;
        return copy;
    }

    StreamExecutionEnvironment* env_;
    int node_;
    std::shared_ptr<const TypeInfo<T>> type_;
    PartitionerSpec partitioner_;
    bool explicit_partitioner_ = false;
};

// A stream partitioned by key: the next transformation is keyed and its
// input edge is HASH partitioned by the key's key group.
template <class T, class K>
class KeyedStream : public DataStream<T> {
public:
    using KeySelector = std::function<K(const T&)>;

    KeyedStream(const DataStream<T>& input, KeySelector selector,
                std::shared_ptr<const TypeSerializer<K>> key_serializer)
        : DataStream<T>(input),
          selector_(std::move(selector)),
          key_serializer_(std::move(key_serializer)) {
        this->partitioner_.kind = PartitionerKind::kHash;
        this->partitioner_.key_bytes = std::make_shared<KeyBytesFunction<T>>(
            makeKeyBytesFunction<T, K>(selector_, key_serializer_));
        this->explicit_partitioner_ = true;
    }

    // Rolling aggregates that emit result_fn(record, key, aggregate) per record.
    template <class R>
    DataStream<R> aggregate(AggregateKind kind, std::function<int64_t(const T&)> value_fn,
                            std::function<R(const T&, const K&, int64_t)> result_fn,
                            const std::string& name) const {
        auto selector = selector_;
        auto keys = key_serializer_;
        return this->template transform<R>(name, [=] {
            return std::make_unique<KeyedAggregateOperator<T, K, R>>(selector, keys, kind, value_fn,
                                                                     result_fn);
        });
    }

    DataStream<std::pair<K, int64_t>> count(const std::string& name = "Count") const {
        return pairAggregate(AggregateKind::kCount, nullptr, name);
    }
    DataStream<std::pair<K, int64_t>> sum(std::function<int64_t(const T&)> value_fn,
                                          const std::string& name = "Sum") const {
        return pairAggregate(AggregateKind::kSum, std::move(value_fn), name);
    }
    DataStream<std::pair<K, int64_t>> min(std::function<int64_t(const T&)> value_fn,
                                          const std::string& name = "Min") const {
        return pairAggregate(AggregateKind::kMin, std::move(value_fn), name);
    }
    DataStream<std::pair<K, int64_t>> max(std::function<int64_t(const T&)> value_fn,
                                          const std::string& name = "Max") const {
        return pairAggregate(AggregateKind::kMax, std::move(value_fn), name);
    }

    DataStream<T> reduce(std::function<T(const T&, const T&)> reduce_fn,
                         const std::string& name = "Reduce") const {
        auto selector = selector_;
        auto keys = key_serializer_;
        return this->template transform<T>(name, [=] {
            return std::make_unique<ReduceOperator<T, K>>(selector, keys, reduce_fn);
        });
    }

    // `factory` makes one KeyedProcessFunction per subtask.
    template <class R>
    DataStream<R> process(std::function<std::unique_ptr<KeyedProcessFunction<K, T, R>>()> factory,
                          const std::string& name = "KeyedProcess") const {
        auto selector = selector_;
        auto keys = key_serializer_;
        return this->template transform<R>(name, [=] {
            return std::make_unique<KeyedProcessOperator<K, T, R>>(selector, keys, factory());
        });
    }

    // Event-time window with an incremental aggregate.
    template <class R>
    DataStream<R> windowAggregate(WindowSpec spec, AggregateKind kind,
                                  std::function<int64_t(const T&)> value_fn,
                                  std::function<R(const K&, const TimeWindow&, int64_t)> result_fn,
                                  const std::string& name = "Window") const {
        auto selector = selector_;
        auto keys = key_serializer_;
        return this->template transform<R>(name, [=] {
            return std::make_unique<WindowAggregateOperator<T, K, R>>(selector, keys, spec, kind,
                                                                      value_fn, result_fn);
        });
    }

private:
    DataStream<std::pair<K, int64_t>> pairAggregate(AggregateKind kind,
                                                    std::function<int64_t(const T&)> value_fn,
                                                    const std::string& name) const {
        return aggregate<std::pair<K, int64_t>>(
            kind, std::move(value_fn),
            [](const T&, const K& key, int64_t value) { return std::make_pair(key, value); }, name);
    }

    KeySelector selector_;
    std::shared_ptr<const TypeSerializer<K>> key_serializer_;
};

template <class T>
template <class K>
KeyedStream<T, K> DataStream<T>::keyBy(std::function<K(const T&)> selector) const {
    return KeyedStream<T, K>(*this, std::move(selector), serializerFor<K>());
}

template <class T>
DataStream<T> StreamExecutionEnvironment::fromSource(LogSourceSpec<T> spec,
                                                     const std::string& name) {
    auto type = std::make_shared<TypeInfo<T>>();
    StreamNode& node = addNode(name, nullptr, type,
                               [spec] { return std::make_unique<LogSourceOperator<T>>(spec); });
    node.is_source = true;
    return DataStream<T>(this, node.id, type);
}

}  // namespace sluice
