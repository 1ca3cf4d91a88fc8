#pragma once

#include "runtime/operators/aggregates.h"
#include "runtime/operators/keyed_operator.h"
#include "runtime/state/state_descriptors.h"

#include <cstdint>
#include <vector>

namespace sluice {

// [start, end) in event-time milliseconds.
struct TimeWindow {
    TimestampMs start = 0;
    TimestampMs end = 0;
    TimestampMs maxTimestamp() const { return end - 1; }
};

// Assigns event-time windows: tumbling when slide == size, sliding when
// slide < size. Windows are aligned to the epoch, as in Flink.
struct WindowSpec {
    TimestampMs size_ms = 0;
    TimestampMs slide_ms = 0;
    TimestampMs allowed_lateness_ms = 0;

    static WindowSpec tumbling(TimestampMs size) { return {size, size, 0}; }
    static WindowSpec sliding(TimestampMs size, TimestampMs slide) { return {size, slide, 0}; }

    // Windows that contain `timestamp`, earliest first.
    std::vector<TimeWindow> assign(TimestampMs timestamp) const;
};

// Keyed event-time window with an incremental aggregate. A window fires when
// the watermark passes its max timestamp and emits
// result_fn(key, window, aggregate). Records whose every window already
// expired (max timestamp + allowed lateness <= watermark) are dropped and
// counted in late_records_dropped; records that are late but within the
// allowed lateness update their window and fire it again.
template <class IN, class K, class OUT>
class WindowAggregateOperator final : public KeyedOperatorBase<IN, OUT, K> {
public:
    using ValueFn = std::function<int64_t(const IN&)>;
    using ResultFn = std::function<OUT(const K&, const TimeWindow&, int64_t)>;

    WindowAggregateOperator(typename KeyedOperatorBase<IN, OUT, K>::KeySelector selector,
                            std::shared_ptr<const TypeSerializer<K>> key_serializer,
                            WindowSpec spec, AggregateKind kind, ValueFn value_fn,
                            ResultFn result_fn)
        : KeyedOperatorBase<IN, OUT, K>(std::move(selector), std::move(key_serializer)),
          spec_(spec),
          kind_(kind),
          value_fn_(std::move(value_fn)),
          result_fn_(std::move(result_fn)) {}

    void open() override {
        KeyedOperatorBase<IN, OUT, K>::open();
        windows_ =
            &getMapState(this->backend(), MapStateDescriptor<TimestampMs, Accumulator>(
                                              "window-contents", serializerFor<TimestampMs>(),
                                              std::make_shared<AccumulatorSerializer>()));
    }

    void processElement(const IN& value, TimestampMs timestamp) override {
        this->setKeyFor(value);
        TimestampMs watermark = this->currentWatermark();
        bool assigned = false;
        for (const TimeWindow& window : spec_.assign(timestamp)) {
            if (window.maxTimestamp() + spec_.allowed_lateness_ms <= watermark) {
                continue;  // expired
            }
            assigned = true;
            Accumulator acc = windows_->get(window.start).value_or(Accumulator{});
            acc.add(value_fn_ ? value_fn_(value) : 1);
            windows_->put(window.start, acc);
            if (window.maxTimestamp() <= watermark) {
                // Late but within the allowed lateness: fire the update now.
                emit(window, acc);
            } else {
                this->registerEventTimeTimer(window.maxTimestamp(), kFire);
            }
            this->registerEventTimeTimer(window.maxTimestamp() + spec_.allowed_lateness_ms,
                                         kCleanup);
        }
        if (!assigned) {
            ++this->context().metrics.late_records_dropped;
        }
    }

protected:
    void onEventTime(TimestampMs time, uint64_t id) override {
        if (id == kFire) {
            TimestampMs start = time + 1 - spec_.size_ms;
            if (auto acc = windows_->get(start)) {
                emit(TimeWindow{start, start + spec_.size_ms}, *acc);
            }
            if (spec_.allowed_lateness_ms == 0) {
                windows_->remove(start);
            }
            return;
        }
        windows_->remove(time - spec_.allowed_lateness_ms + 1 - spec_.size_ms);
    }

private:
    static constexpr uint64_t kFire = 0;
    static constexpr uint64_t kCleanup = 1;

    void emit(const TimeWindow& window, const Accumulator& acc) {
        this->output().collect(result_fn_(this->currentKey(), window, acc.result(kind_)),
                               window.maxTimestamp());
    }

    WindowSpec spec_;
    AggregateKind kind_;
    ValueFn value_fn_;
    ResultFn result_fn_;
    MapState<TimestampMs, Accumulator>* windows_ = nullptr;
};

}  // namespace sluice
