#pragma once

#include "runtime/operators/collector.h"
#include "runtime/operators/keyed_operator.h"
#include "runtime/state/state_descriptors.h"

namespace sluice {

template <class K, class IN, class OUT>
class KeyedProcessOperator;

// Flink's KeyedProcessFunction: per-record logic with keyed state and
// timers. One instance per subtask; state handles obtained in open() stay
// valid and always refer to the current key.
template <class K, class IN, class OUT>
class KeyedProcessFunction {
public:
    // Services available to processElement and onTimer.
    class Context {
    public:
        explicit Context(KeyedProcessOperator<K, IN, OUT>* op) : op_(op) {}
        const K& currentKey() const { return op_->key(); }
        // Timestamp of the record being processed, or of the firing timer.
        TimestampMs timestamp() const { return op_->elementTimestamp(); }
        TimestampMs currentWatermark() const { return op_->watermark(); }
        TimestampMs currentProcessingTime() const { return op_->processingTime(); }
        void registerEventTimeTimer(TimestampMs time) { op_->eventTimer(time); }
        void deleteEventTimeTimer(TimestampMs time) { op_->deleteEventTimer(time); }
        void registerProcessingTimeTimer(TimestampMs time) { op_->processingTimer(time); }

    private:
        KeyedProcessOperator<K, IN, OUT>* op_;
    };

    virtual ~KeyedProcessFunction() = default;
    virtual void open(KeyedStateBackend& state) {}
    virtual void processElement(const IN& value, Context& context, Collector<OUT>& out) = 0;
    virtual void onTimer(TimestampMs time, bool event_time, Context& context, Collector<OUT>& out) {
    }
};

template <class K, class IN, class OUT>
class KeyedProcessOperator final : public KeyedOperatorBase<IN, OUT, K> {
public:
    KeyedProcessOperator(typename KeyedOperatorBase<IN, OUT, K>::KeySelector selector,
                         std::shared_ptr<const TypeSerializer<K>> key_serializer,
                         std::unique_ptr<KeyedProcessFunction<K, IN, OUT>> function)
        : KeyedOperatorBase<IN, OUT, K>(std::move(selector), std::move(key_serializer)),
          function_(std::move(function)),
          function_context_(this) {}

    void open() override {
        KeyedOperatorBase<IN, OUT, K>::open();
        function_->open(this->backend());
    }

    void processElement(const IN& value, TimestampMs timestamp) override {
        this->setKeyFor(value);
        element_timestamp_ = timestamp;
        Collector<OUT> out(&this->output(), timestamp);
        function_->processElement(value, function_context_, out);
    }

    const K& key() const { return this->currentKey(); }
    TimestampMs elementTimestamp() const { return element_timestamp_; }
    TimestampMs watermark() const { return this->currentWatermark(); }
    TimestampMs processingTime() const { return this->currentProcessingTime(); }
    void eventTimer(TimestampMs time) { this->registerEventTimeTimer(time); }
    void deleteEventTimer(TimestampMs time) { this->deleteEventTimeTimer(time); }
    void processingTimer(TimestampMs time) { this->registerProcessingTimeTimer(time); }

protected:
    void onEventTime(TimestampMs time, uint64_t) override {
        element_timestamp_ = time;
        Collector<OUT> out(&this->output(), time);
        function_->onTimer(time, true, function_context_, out);
    }
    void onProcessingTimer(TimestampMs time, uint64_t) override {
        element_timestamp_ = time;
        Collector<OUT> out(&this->output(), time);
        function_->onTimer(time, false, function_context_, out);
    }

private:
    std::unique_ptr<KeyedProcessFunction<K, IN, OUT>> function_;
    typename KeyedProcessFunction<K, IN, OUT>::Context function_context_;
    TimestampMs element_timestamp_ = 0;
};

}  // namespace sluice
