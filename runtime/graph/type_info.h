#pragma once

#include "runtime/core/key_groups.h"
#include "runtime/graph/partitioner.h"
#include "runtime/network/buffer.h"
#include "runtime/network/result_partition.h"
#include "runtime/operators/operator_context.h"
#include "runtime/operators/stream_operator.h"
#include "runtime/serialization/type_serializer.h"
#include "runtime/task/input_processor.h"

#include <memory>
#include <vector>

namespace sluice {

// Per-record cost factor of skewed keys; empty when no key is skewed.
template <class T>
using SkewFunction = std::function<double(const T&)>;

// Creates the typed glue between operators of one record type T: chaining
// outputs, network writers and readers. Graph translation only uses
// TypeInfoBase, and the typed API guarantees that connected operators agree
// on T.
class TypeInfoBase {
public:
    virtual ~TypeInfoBase() = default;

    // Output that calls next->processElement directly (operator chaining).
    virtual std::unique_ptr<OutputBase> createChainingOutput(
        StreamOperatorBase* next, OperatorContext* next_context,
        std::shared_ptr<const void> skew) const = 0;
    // Output that serializes records into `partition`.
    virtual std::unique_ptr<OutputBase> createRecordWriterOutput(
        ResultPartition* partition, const PartitionerSpec& spec, int subtask_index,
        uint64_t* task_records_out) const = 0;
    // Output that forwards to several outputs.
    virtual std::unique_ptr<OutputBase> createBroadcastingOutput(
        std::vector<OutputBase*> outputs) const = 0;
    // Output that counts records for `metrics` and forwards them.
    virtual std::unique_ptr<OutputBase> createCountingOutput(OutputBase* inner,
                                                             OperatorMetrics* metrics) const = 0;
    // Reader of network buffers that feeds `head`.
    virtual std::unique_ptr<InputProcessorBase> createInputProcessor(
        StreamOperatorBase* head, OperatorContext* head_context, std::shared_ptr<const void> skew,
        uint64_t* task_records_in) const = 0;
};

template <class T>
class ChainingOutput final : public Output<T> {
public:
    ChainingOutput(OneInputStreamOperator<T>* next, OperatorContext* context, SkewFunction<T> skew)
        : next_(next), context_(context), skew_(std::move(skew)) {}

    void collect(const T& value, TimestampMs timestamp) override {
        ++context_->cost.records;
        ++context_->metrics.records_in;
        if (skew_) {
            context_->cost.skewed_ns += (skew_(value) - 1.0) * double(context_->cost.ns_per_record);
        }
        next_->processElement(value, timestamp);
    }
    void emitWatermark(TimestampMs watermark) override {
        context_->current_watermark = watermark;
        next_->processWatermark(watermark);
    }
    void emitWatermarkStatus(bool idle) override { next_->processWatermarkStatus(idle); }

private:
    OneInputStreamOperator<T>* next_;
    OperatorContext* context_;
    SkewFunction<T> skew_;
};

template <class T>
class CountingOutput final : public Output<T> {
public:
    CountingOutput(Output<T>* inner, OperatorMetrics* metrics) : inner_(inner), metrics_(metrics) {}

    void collect(const T& value, TimestampMs timestamp) override {
        ++metrics_->records_out;
        inner_->collect(value, timestamp);
    }
    void emitWatermark(TimestampMs watermark) override { inner_->emitWatermark(watermark); }
    void emitWatermarkStatus(bool idle) override { inner_->emitWatermarkStatus(idle); }

private:
    Output<T>* inner_;
    OperatorMetrics* metrics_;
};

template <class T>
class BroadcastingOutput final : public Output<T> {
public:
    explicit BroadcastingOutput(std::vector<OutputBase*> outputs) {
        for (auto* output : outputs) {
            outputs_.push_back(static_cast<Output<T>*>(output));
        }
    }

    void collect(const T& value, TimestampMs timestamp) override {
        for (auto* output : outputs_) {
            output->collect(value, timestamp);
        }
    }
    void emitWatermark(TimestampMs watermark) override {
        for (auto* output : outputs_) {
            output->emitWatermark(watermark);
        }
    }
    void emitWatermarkStatus(bool idle) override {
        for (auto* output : outputs_) {
            output->emitWatermarkStatus(idle);
        }
    }

private:
    std::vector<Output<T>*> outputs_;
};

// Serializes records into a result partition and picks their subpartition.
template <class T>
class RecordWriterOutput final : public Output<T> {
public:
    RecordWriterOutput(ResultPartition* partition, PartitionerSpec spec,
                       std::shared_ptr<const TypeSerializer<T>> serializer, int subtask_index,
                       uint64_t* task_records_out)
        : partition_(partition),
          spec_(std::move(spec)),
          serializer_(std::move(serializer)),
          records_out_(task_records_out),
          next_channel_(subtask_index % partition->subpartitionCount()) {
        if (spec_.kind == PartitionerKind::kHash) {
            key_bytes_ = static_cast<const KeyBytesFunction<T>*>(spec_.key_bytes.get());
        }
    }

    void collect(const T& value, TimestampMs timestamp) override {
        ++*records_out_;
        auto write = [&](ByteWriter& out) {
            out.writeRaw(uint8_t(ElementTag::kRecord));
            out.writeRaw(timestamp);
            serializer_->serialize(value, out);
        };
        int n = partition_->subpartitionCount();
        switch (spec_.kind) {
            case PartitionerKind::kForward:
                partition_->emit(0, write, true);
                return;
            case PartitionerKind::kRebalance:
                partition_->emit(next_channel_, write, true);
                next_channel_ = next_channel_ + 1 == n ? 0 : next_channel_ + 1;
                return;
            case PartitionerKind::kBroadcast:
                for (int i = 0; i < n; ++i) {
                    partition_->emit(i, write, true);
                }
                return;
            case PartitionerKind::kHash: {
                key_scratch_.clear();
                (*key_bytes_)(value, key_scratch_);
                int key_group = keyGroupForKey(key_scratch_, spec_.max_parallelism);
                partition_->emit(subtaskForKeyGroup(spec_.max_parallelism, n, key_group), write,
                                 true);
                return;
            }
        }
    }

    void emitWatermark(TimestampMs watermark) override {
        for (int i = 0; i < partition_->subpartitionCount(); ++i) {
            partition_->emit(
                i,
                [&](ByteWriter& out) {
                    out.writeRaw(uint8_t(ElementTag::kWatermark));
                    out.writeRaw(watermark);
                },
                false);
        }
    }

    void emitWatermarkStatus(bool idle) override {
        for (int i = 0; i < partition_->subpartitionCount(); ++i) {
            partition_->emit(
                i,
                [&](ByteWriter& out) {
                    out.writeRaw(uint8_t(ElementTag::kWatermarkStatus));
                    out.writeRaw(uint8_t(idle ? 1 : 0));
                },
                false);
        }
    }

private:
    ResultPartition* partition_;
    PartitionerSpec spec_;
    std::shared_ptr<const TypeSerializer<T>> serializer_;
    uint64_t* records_out_;
    const KeyBytesFunction<T>* key_bytes_ = nullptr;
    std::string key_scratch_;
    int next_channel_;
};

template <class T>
class NetworkInputProcessor final : public InputProcessorBase {
public:
    NetworkInputProcessor(OneInputStreamOperator<T>* head, OperatorContext* context,
                          std::shared_ptr<const TypeSerializer<T>> serializer, SkewFunction<T> skew,
                          uint64_t* task_records_in)
        : head_(head),
          context_(context),
          serializer_(std::move(serializer)),
          skew_(std::move(skew)),
          records_in_(task_records_in) {}

    Result process(ByteReader& in, int channel, InputContext& task) override {
        while (!in.atEnd()) {
            if (!task.outputAvailable()) {
                return Result::kBackpressured;
            }
            auto tag = ElementTag(in.readRaw<uint8_t>());
            switch (tag) {
                case ElementTag::kRecord: {
                    auto timestamp = in.readRaw<TimestampMs>();
                    serializer_->deserialize(scratch_, in);
                    if (in.failed()) {
                        return Result::kCorrupt;
                    }
                    ++*records_in_;
                    ++context_->cost.records;
                    ++context_->metrics.records_in;
                    if (skew_) {
                        context_->cost.skewed_ns +=
                            (skew_(scratch_) - 1.0) * double(context_->cost.ns_per_record);
                    }
                    head_->processElement(scratch_, timestamp);
                    if (!task.stepBudgetLeft() && !in.atEnd()) {
                        return Result::kYield;
                    }
                    break;
                }
                case ElementTag::kWatermark:
                    task.onWatermark(channel, in.readRaw<TimestampMs>());
                    break;
                case ElementTag::kWatermarkStatus:
                    task.onWatermarkStatus(channel, in.readRaw<uint8_t>() != 0);
                    break;
                default:
                    return Result::kCorrupt;
            }
            if (in.failed()) {
                return Result::kCorrupt;
            }
        }
        return Result::kBufferDone;
    }

private:
    OneInputStreamOperator<T>* head_;
    OperatorContext* context_;
    std::shared_ptr<const TypeSerializer<T>> serializer_;
    SkewFunction<T> skew_;
    uint64_t* records_in_;
    T scratch_{};
};

template <class T>
class TypeInfo final : public TypeInfoBase {
public:
    explicit TypeInfo(std::shared_ptr<const TypeSerializer<T>> serializer = serializerFor<T>())
        : serializer_(std::move(serializer)) {}

    const std::shared_ptr<const TypeSerializer<T>>& serializer() const { return serializer_; }

    std::unique_ptr<OutputBase> createChainingOutput(
        StreamOperatorBase* next, OperatorContext* next_context,
        std::shared_ptr<const void> skew) const override {
        return std::make_unique<ChainingOutput<T>>(static_cast<OneInputStreamOperator<T>*>(next),
                                                   next_context, skewOf(skew));
    }
    std::unique_ptr<OutputBase> createRecordWriterOutput(
        ResultPartition* partition, const PartitionerSpec& spec, int subtask_index,
        uint64_t* task_records_out) const override {
        return std::make_unique<RecordWriterOutput<T>>(partition, spec, serializer_, subtask_index,
                                                       task_records_out);
    }
    std::unique_ptr<OutputBase> createBroadcastingOutput(
        std::vector<OutputBase*> outputs) const override {
        return std::make_unique<BroadcastingOutput<T>>(std::move(outputs));
    }
    std::unique_ptr<OutputBase> createCountingOutput(OutputBase* inner,
                                                     OperatorMetrics* metrics) const override {
        return std::make_unique<CountingOutput<T>>(static_cast<Output<T>*>(inner), metrics);
    }
    std::unique_ptr<InputProcessorBase> createInputProcessor(
        StreamOperatorBase* head, OperatorContext* head_context, std::shared_ptr<const void> skew,
        uint64_t* task_records_in) const override {
        return std::make_unique<NetworkInputProcessor<T>>(
            static_cast<OneInputStreamOperator<T>*>(head), head_context, serializer_, skewOf(skew),
            task_records_in);
    }

private:
    static SkewFunction<T> skewOf(const std::shared_ptr<const void>& skew) {
        return skew ? *static_cast<const SkewFunction<T>*>(skew.get()) : SkewFunction<T>{};
    }

    std::shared_ptr<const TypeSerializer<T>> serializer_;
};

}  // namespace sluice
