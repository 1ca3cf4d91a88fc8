#pragma once

#include "runtime/operators/collector.h"
#include "runtime/operators/operator_context.h"
#include "runtime/operators/stream_operator.h"

#include <functional>
#include <memory>

namespace sluice {

template <class IN, class OUT>
class MapOperator final : public AbstractStreamOperator<IN, OUT> {
public:
    explicit MapOperator(std::function<OUT(const IN&)> fn) : fn_(std::move(fn)) {}
    void processElement(const IN& value, TimestampMs timestamp) override {
        this->output().collect(fn_(value), timestamp);
    }

private:
    std::function<OUT(const IN&)> fn_;
};

template <class T>
class FilterOperator final : public AbstractStreamOperator<T, T> {
public:
    explicit FilterOperator(std::function<bool(const T&)> predicate)
        : predicate_(std::move(predicate)) {}
    void processElement(const T& value, TimestampMs timestamp) override {
        if (predicate_(value)) {
            this->output().collect(value, timestamp);
        }
    }

private:
    std::function<bool(const T&)> predicate_;
};

template <class IN, class OUT>
class FlatMapOperator final : public AbstractStreamOperator<IN, OUT> {
public:
    using Function = std::function<void(const IN&, Collector<OUT>&)>;
    explicit FlatMapOperator(Function fn) : fn_(std::move(fn)) {}
    void processElement(const IN& value, TimestampMs timestamp) override {
        Collector<OUT> out(&this->output(), timestamp);
        fn_(value, out);
    }

private:
    Function fn_;
};

// Receives the records of one sink subtask.
template <class T>
class SinkFunction {
public:
    virtual ~SinkFunction() = default;
    virtual void open(const OperatorContext& context) {}
    virtual void invoke(const T& value, TimestampMs timestamp) = 0;
    // The input ended; flush anything buffered.
    virtual void finish() {}
    // After the final checkpoint, or right after finish() without one.
    virtual void close() {}
    // Checkpoint hooks; see StreamOperatorBase::snapshotState.
    virtual Nanos snapshotState(int64_t checkpoint_id) { return 0; }
    virtual std::string snapshotOperatorState(int64_t checkpoint_id) { return {}; }
    virtual void initializeOperatorState(const std::string& state) {}
    virtual void notifyCheckpointComplete(int64_t checkpoint_id) {}
    virtual void notifyCheckpointAborted(int64_t checkpoint_id) {}
};

template <class T>
class SinkOperator final : public OneInputStreamOperator<T> {
public:
    explicit SinkOperator(std::unique_ptr<SinkFunction<T>> sink) : sink_(std::move(sink)) {}
    void open() override { sink_->open(this->context()); }
    void processElement(const T& value, TimestampMs timestamp) override {
        sink_->invoke(value, timestamp);
    }
    void processWatermark(TimestampMs) override {}
    void processWatermarkStatus(bool) override {}
    void finish() override { sink_->finish(); }
    void close() override { sink_->close(); }
    Nanos snapshotState(int64_t checkpoint_id) override {
        return sink_->snapshotState(checkpoint_id);
    }
    std::string snapshotOperatorState(int64_t checkpoint_id) override {
        return sink_->snapshotOperatorState(checkpoint_id);
    }
    void initializeOperatorState(const std::string& state) override {
        sink_->initializeOperatorState(state);
    }
    void notifyCheckpointComplete(int64_t checkpoint_id) override {
        sink_->notifyCheckpointComplete(checkpoint_id);
    }
    void notifyCheckpointAborted(int64_t checkpoint_id) override {
        sink_->notifyCheckpointAborted(checkpoint_id);
    }
    SinkFunction<T>& function() { return *sink_; }

private:
    std::unique_ptr<SinkFunction<T>> sink_;
};

}  // namespace sluice
