#pragma once

#include "runtime/operators/collector.h"
#include "runtime/operators/keyed_operator.h"
#include "runtime/state/state_descriptors.h"

#include <algorithm>
#include <cstdint>

namespace sluice {

enum class AggregateKind : uint8_t { kCount, kSum, kMin, kMax, kAverage };

const char* aggregateName(AggregateKind kind);

// Running aggregate of int64 values: count, sum, min and max together, so
// one state type serves every AggregateKind.
struct Accumulator {
    int64_t count = 0;
    int64_t sum = 0;
    int64_t min = INT64_MAX;
    int64_t max = INT64_MIN;

    void add(int64_t value) {
        ++count;
        sum += value;
        min = std::min(min, value);
        max = std::max(max, value);
    }
    int64_t result(AggregateKind kind) const {
        switch (kind) {
            case AggregateKind::kCount:
                return count;
            case AggregateKind::kSum:
                return sum;
            case AggregateKind::kMin:
                return min;
            case AggregateKind::kMax:
                return max;
            case AggregateKind::kAverage:
                return count ? sum / count : 0;
        }
        return 0;
    }
};

// Shows an Accumulator in the state inspector.
class AccumulatorSerializer final : public TypeSerializer<Accumulator> {
public:
    void serialize(const Accumulator& value, ByteWriter& out) const override {
        out.writeRaw(value);
    }
    void deserialize(Accumulator& value, ByteReader& in) const override {
        value = in.readRaw<Accumulator>();
    }
    std::string toDisplayString(const Accumulator& a) const override;
};

// Keyed rolling aggregate (KeyedStream#sum, #min, #max, #count): updates the
// key's accumulator and emits result_fn(record, key, aggregate) per record.
template <class IN, class K, class OUT>
class KeyedAggregateOperator final : public KeyedOperatorBase<IN, OUT, K> {
public:
    using ValueFn = std::function<int64_t(const IN&)>;
    using ResultFn = std::function<OUT(const IN&, const K&, int64_t)>;

    KeyedAggregateOperator(typename KeyedOperatorBase<IN, OUT, K>::KeySelector selector,
                           std::shared_ptr<const TypeSerializer<K>> key_serializer,
                           AggregateKind kind, ValueFn value_fn, ResultFn result_fn)
        : KeyedOperatorBase<IN, OUT, K>(std::move(selector), std::move(key_serializer)),
          kind_(kind),
          value_fn_(std::move(value_fn)),
          result_fn_(std::move(result_fn)) {}

    void open() override {
        KeyedOperatorBase<IN, OUT, K>::open();
        state_ = &getValueState(
            this->backend(), ValueStateDescriptor<Accumulator>(
                                 aggregateName(kind_), std::make_shared<AccumulatorSerializer>()));
    }

    void processElement(const IN& value, TimestampMs timestamp) override {
        this->setKeyFor(value);
        Accumulator acc = state_->value().value_or(Accumulator{});
        acc.add(value_fn_ ? value_fn_(value) : 1);
        state_->update(acc);
        this->output().collect(result_fn_(value, this->currentKey(), acc.result(kind_)), timestamp);
    }

private:
    AggregateKind kind_;
    ValueFn value_fn_;
    ResultFn result_fn_;
    ValueState<Accumulator>* state_ = nullptr;
};

// KeyedStream#reduce: folds records of a key with a reduce function and
// emits the running result.
template <class T, class K>
class ReduceOperator final : public KeyedOperatorBase<T, T, K> {
public:
    using ReduceFn = std::function<T(const T&, const T&)>;

    ReduceOperator(typename KeyedOperatorBase<T, T, K>::KeySelector selector,
                   std::shared_ptr<const TypeSerializer<K>> key_serializer, ReduceFn reduce)
        : KeyedOperatorBase<T, T, K>(std::move(selector), std::move(key_serializer)),
          reduce_(std::move(reduce)) {}

    void open() override {
        KeyedOperatorBase<T, T, K>::open();
        state_ = &getReducingState(this->backend(), ReducingStateDescriptor<T>("reduce", reduce_));
    }

    void processElement(const T& value, TimestampMs timestamp) override {
        this->setKeyFor(value);
        state_->add(value);
        this->output().collect(*state_->get(), timestamp);
    }

private:
    ReduceFn reduce_;
    ReducingState<T>* state_ = nullptr;
};

}  // namespace sluice
