#pragma once

#include "runtime/core/key_groups.h"
#include "runtime/graph/partitioner.h"
#include "runtime/operators/operator_context.h"
#include "runtime/operators/stream_operator.h"
#include "runtime/serialization/type_serializer.h"
#include "runtime/state/keyed_state_backend.h"

#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>

namespace sluice {

// Base of operators on a KeyedStream: extracts and serializes each record's
// key, sets it as the state backend's current key, and keeps event-time and
// processing-time timers per key, like Flink's InternalTimerService.
template <class IN, class OUT, class K>
class KeyedOperatorBase : public AbstractStreamOperator<IN, OUT> {
public:
    using KeySelector = std::function<K(const IN&)>;

    KeyedOperatorBase(KeySelector key_selector,
                      std::shared_ptr<const TypeSerializer<K>> key_serializer)
        : key_selector_(std::move(key_selector)), key_serializer_(std::move(key_serializer)) {}

    bool isKeyed() const override { return true; }

    void open() override {
        backend_ = this->context().keyed_state_backend;
        if (!backend_) {
            throw std::logic_error("keyed operator '" + this->context().operator_name +
                                   "' has no keyed state backend");
        }
        auto serializer = key_serializer_;
        backend_->key_formatter = [serializer](std::string_view bytes) {
            K key{};
            ByteReader in(bytes);
            serializer->deserialize(key, in);
            return serializer->toDisplayString(key);
        };
    }

    void processWatermark(TimestampMs watermark) override {
        while (!event_timers_.empty() && event_timers_.begin()->time <= watermark) {
            Timer timer = *event_timers_.begin();
            event_timers_.erase(event_timers_.begin());
            restoreKey(timer);
            onEventTime(timer.time, timer.id);
        }
        this->output().emitWatermark(watermark);
    }

    void onProcessingTime(TimestampMs now_ms, uint64_t) override {
        while (!processing_timers_.empty() && processing_timers_.begin()->time <= now_ms) {
            Timer timer = *processing_timers_.begin();
            processing_timers_.erase(processing_timers_.begin());
            restoreKey(timer);
            onProcessingTimer(timer.time, timer.id);
        }
    }

    size_t eventTimerCount() const { return event_timers_.size(); }

    void snapshotTimers(std::vector<TimerSnapshot>* out) const override {
        for (const Timer& t : event_timers_) {
            out->push_back({t.key_group, t.key, t.time, t.id, true});
        }
        for (const Timer& t : processing_timers_) {
            out->push_back({t.key_group, t.key, t.time, t.id, false});
        }
    }

    void restoreTimers(const std::vector<TimerSnapshot>& timers) override {
        const KeyGroupRange& range = this->context().key_group_range;
        for (const TimerSnapshot& t : timers) {
            if (!range.contains(t.key_group)) {
                continue;
            }
            Timer timer{t.time_ms, t.key, t.key_group, t.id};
            if (t.event_time) {
                event_timers_.insert(std::move(timer));
            } else {
                processing_timers_.insert(std::move(timer));
            }
        }
        if (!processing_timers_.empty()) {
            this->context().processing_time->registerProcessingTimer(
                this, processing_timers_.begin()->time, 0);
        }
    }

protected:
    // Makes `value`'s key the current key. Throws if this subtask does not
    // own the key's key group, which would mean records were misrouted.
    void setKeyFor(const IN& value) {
        current_key_ = key_selector_(value);
        key_bytes_.clear();
        std::string& bytes = key_bytes_;
        serializeKey(current_key_, bytes);
        uint32_t key_hash = murmur3_32(bytes);
        int key_group = int(key_hash % uint32_t(this->context().max_parallelism));
        if (!this->context().key_group_range.contains(key_group)) {
            throw std::logic_error("operator '" + this->context().operator_name + "' subtask " +
                                   std::to_string(this->context().subtask_index) +
                                   " received a key of key group " + std::to_string(key_group) +
                                   " outside its range");
        }
        backend_->setCurrentKey(bytes, key_group, key_hash);
    }

    const K& currentKey() const { return current_key_; }
    KeyedStateBackend& backend() { return *backend_; }
    TimestampMs currentWatermark() const { return this->context().current_watermark; }

    void registerEventTimeTimer(TimestampMs time, uint64_t id = 0) {
        event_timers_.insert(Timer{time, backend_->currentKey(), backend_->currentKeyGroup(), id});
    }
    void deleteEventTimeTimer(TimestampMs time, uint64_t id = 0) {
        event_timers_.erase(Timer{time, backend_->currentKey(), backend_->currentKeyGroup(), id});
    }
    void registerProcessingTimeTimer(TimestampMs time, uint64_t id = 0) {
        bool earliest = processing_timers_.empty() || time < processing_timers_.begin()->time;
        processing_timers_.insert(
            Timer{time, backend_->currentKey(), backend_->currentKeyGroup(), id});
        if (earliest) {
            this->context().processing_time->registerProcessingTimer(this, time, 0);
        }
    }
    TimestampMs currentProcessingTime() const {
        return this->context().processing_time->currentProcessingTimeMs();
    }

    virtual void onEventTime(TimestampMs time, uint64_t id) {}
    virtual void onProcessingTimer(TimestampMs time, uint64_t id) {}

private:
    struct Timer {
        TimestampMs time;
        std::string key;
        int key_group;
        uint64_t id;
        bool operator<(const Timer& other) const {
            return std::tie(time, key, id) < std::tie(other.time, other.key, other.id);
        }
    };

    void serializeKey(const K& key, std::string& out) {
        // Keys are small; serialize into a stack buffer and copy.
        uint8_t buffer[256];
        ByteWriter writer(buffer, sizeof(buffer));
        key_serializer_->serialize(key, writer);
        if (writer.overflowed()) {
            throw std::length_error("key of operator '" + this->context().operator_name +
                                    "' is longer than 256 bytes when serialized");
        }
        out.assign(reinterpret_cast<const char*>(buffer), writer.position());
    }

    void restoreKey(const Timer& timer) {
        backend_->setCurrentKey(timer.key, timer.key_group);
        ByteReader in(timer.key);
        key_serializer_->deserialize(current_key_, in);
    }

    KeySelector key_selector_;
    std::shared_ptr<const TypeSerializer<K>> key_serializer_;
    KeyedStateBackend* backend_ = nullptr;
    K current_key_{};
    std::string key_bytes_;
    std::set<Timer> event_timers_;
    std::set<Timer> processing_timers_;
};

// Serialized key of a record, for HASH partitioning with the same bytes the
// keyed operator derives its key group from.
template <class IN, class K>
KeyBytesFunction<IN> makeKeyBytesFunction(std::function<K(const IN&)> selector,
                                          std::shared_ptr<const TypeSerializer<K>> serializer) {
    return [selector = std::move(selector), serializer = std::move(serializer)](const IN& value,
                                                                                std::string& out) {
        uint8_t buffer[256];
        ByteWriter writer(buffer, sizeof(buffer));
        serializer->serialize(selector(value), writer);
        if (writer.overflowed()) {
            throw std::length_error("record key is longer than 256 bytes when serialized");
        }
        out.assign(reinterpret_cast<const char*>(buffer), writer.position());
    };
}

}  // namespace sluice
