#pragma once

#include "runtime/operators/operator_context.h"
#include "runtime/operators/source_operator.h"

#include <algorithm>
#include <limits>
#include <memory>

namespace sluice {

// One partition of a replayable log, like a Kafka partition: record
// `offset` is always the same, so a source can rewind to any offset.
template <class T>
class LogPartition {
public:
    virtual ~LogPartition() = default;
    // Number of records; kUnbounded for an endless partition.
    virtual uint64_t size() const = 0;
    virtual void read(uint64_t offset, T& value, TimestampMs& timestamp) = 0;

    static constexpr uint64_t kUnbounded = std::numeric_limits<uint64_t>::max();
};

// Watermark generation of a source, per partition as in Flink's per-split
// watermarks: each partition's watermark is its highest timestamp minus the
// bound, minus 1; the source emits the minimum over active partitions.
struct WatermarkStrategy {
    bool enabled = true;
    TimestampMs bounded_out_of_orderness_ms = 0;
    // A partition that emitted no record for this long is idle and does not
    // hold back the watermark. 0 disables idleness.
    Nanos idleness_timeout_ns = 0;
    Nanos interval_ns = 200 * kNanosPerMilli;
};

template <class T>
struct LogSourceSpec {
    int partition_count = 1;
    std::function<std::unique_ptr<LogPartition<T>>(int partition)> open_partition;
    // Each partition's record `offset` becomes due at offset / rate seconds
    // after the source started; 0 emits as fast as possible.
    double records_per_second_per_partition = 0;
    // A rate-limited source wakes at most this often and then emits every
    // record that became due, the way a Kafka consumer polls in batches.
    Nanos poll_interval_ns = kNanosPerMilli;
    WatermarkStrategy watermarks;
};

// Reads the partitions p with p % parallelism == subtask index.
template <class T>
class LogSourceOperator final : public SourceOperatorBase {
public:
    explicit LogSourceOperator(LogSourceSpec<T> spec) : spec_(std::move(spec)) {}

    void open() override {
        const auto& context = this->context();
        for (int p = context.subtask_index; p < spec_.partition_count; p += context.parallelism) {
            Partition partition;
            partition.index = p;
            partition.log = spec_.open_partition(p);
            partition.size = partition.log->size();
            auto restored = restored_offsets_.find(p);
            if (restored != restored_offsets_.end()) {
                partition.offset = std::min(restored->second, partition.size);
            }
            // After a failover, the log kept growing while the job was down:
            // pacing counts from the log's first record, so the backlog is
            // due at once. A first run, restored or not, paces from where it
            // starts reading.
            partition.first_offset = context.attempt > 0 ? 0 : partition.offset;
            partitions_.push_back(std::move(partition));
        }
    }

    StepResult emitStep(Nanos now, uint64_t max_records,
                        const std::function<bool()>& output_available) override {
        if (!started_) {
            started_ = true;
            // The simulation's time 0 is when the logs started growing.
            start_ns_ = this->context().attempt > 0 ? 0 : now;
            next_watermark_ns_ = now + spec_.watermarks.interval_ns;
            for (auto& partition : partitions_) {
                partition.last_emit_ns = now;
            }
        }
        auto& out = *static_cast<Output<T>*>(output_base_);
        StepResult result;
        bool progress = true;
        // Round robin in small slices so partitions interleave.
        constexpr uint64_t kSlice = 64;
        while (progress && result.records < max_records) {
            progress = false;
            for (auto& partition : partitions_) {
                uint64_t slice_end = std::min(result.records + kSlice, max_records);
                while (result.records < slice_end && partition.offset < partition.size &&
                       dueNs(partition, partition.offset) <= now) {
                    if (!output_available()) {
                        result.status = Status::kBackpressured;
                        return result;
                    }
                    partition.log->read(partition.offset, scratch_, timestamp_);
                    ++partition.offset;
                    ++result.records;
                    ++context_->cost.records;
                    partition.max_timestamp = std::max(partition.max_timestamp, timestamp_);
                    partition.last_emit_ns = now;
                    out.collect(scratch_, timestamp_);
                    progress = true;
                }
            }
        }
        if (spec_.watermarks.enabled && now >= next_watermark_ns_) {
            emitWatermark(now, out);
            next_watermark_ns_ = now + spec_.watermarks.interval_ns;
        }
        if (allExhausted()) {
            result.status = Status::kFinished;
            return result;
        }
        if (result.records >= max_records) {
            result.status = Status::kMoreAvailable;
            return result;
        }
        result.status = Status::kWaiting;
        result.wake_at_ns = std::max(nextDueNs(), now + spec_.poll_interval_ns);
        if (spec_.watermarks.enabled) {
            result.wake_at_ns = std::min(result.wake_at_ns, next_watermark_ns_);
        }
        return result;
    }

    void finish() override {
        // End of input: like Flink, a finished source emits the final
        // watermark so every pending event-time window fires.
        if (spec_.watermarks.enabled) {
            static_cast<Output<T>*>(output_base_)->emitWatermark(kMaxWatermark);
        }
    }

    void restoreOffsets(const std::map<int, uint64_t>& offsets) override {
        restored_offsets_ = offsets;
    }

    std::vector<PartitionOffset> offsets() const override {
        std::vector<PartitionOffset> result;
        for (const auto& partition : partitions_) {
            result.push_back({partition.index, partition.offset});
        }
        return result;
    }

private:
    struct Partition {
        int index = 0;
        std::unique_ptr<LogPartition<T>> log;
        uint64_t size = 0;
        uint64_t offset = 0;
        uint64_t first_offset = 0;  // where this run started reading
        TimestampMs max_timestamp = kMinWatermark;
        Nanos last_emit_ns = 0;
    };

    // When record `offset` of a partition becomes available; see open().
    Nanos dueNs(const Partition& partition, uint64_t offset) const {
        double rate = spec_.records_per_second_per_partition;
        if (rate <= 0) {
            return start_ns_;
        }
        return start_ns_ +
               Nanos(double(offset - partition.first_offset) * double(kNanosPerSecond) / rate);
    }

    Nanos nextDueNs() const {
        Nanos next = std::numeric_limits<Nanos>::max();
        for (const auto& partition : partitions_) {
            if (partition.offset < partition.size) {
                next = std::min(next, dueNs(partition, partition.offset));
            }
        }
        return next;
    }

    bool allExhausted() const {
        return std::all_of(partitions_.begin(), partitions_.end(),
                           [](const Partition& p) { return p.offset >= p.size; });
    }

    void emitWatermark(Nanos now, Output<T>& out) {
        const auto& strategy = spec_.watermarks;
        TimestampMs combined = kMaxWatermark;
        bool any_active = false;
        for (const auto& partition : partitions_) {
            if (partition.offset >= partition.size) {
                continue;
            }
            bool idle = strategy.idleness_timeout_ns > 0 &&
                        now - partition.last_emit_ns >= strategy.idleness_timeout_ns;
            if (idle) {
                continue;
            }
            any_active = true;
            TimestampMs watermark =
                partition.max_timestamp == kMinWatermark
                    ? kMinWatermark
                    : partition.max_timestamp - strategy.bounded_out_of_orderness_ms - 1;
            combined = std::min(combined, watermark);
        }
        if (!any_active) {
            if (!idle_ && !partitions_.empty() && !allExhausted()) {
                idle_ = true;
                out.emitWatermarkStatus(true);
            }
            return;
        }
        if (idle_) {
            idle_ = false;
            out.emitWatermarkStatus(false);
        }
        if (combined > last_watermark_) {
            last_watermark_ = combined;
            out.emitWatermark(combined);
        }
    }

    LogSourceSpec<T> spec_;
    std::vector<Partition> partitions_;
    std::map<int, uint64_t> restored_offsets_;
    bool started_ = false;
    bool idle_ = false;
    Nanos start_ns_ = 0;
    Nanos next_watermark_ns_ = 0;
    TimestampMs last_watermark_ = kMinWatermark;
    T scratch_{};
    TimestampMs timestamp_ = 0;
};

}  // namespace sluice
