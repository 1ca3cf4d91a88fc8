#pragma once

#include "runtime/core/types.h"
#include "sim/record.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::sim {

// One record written by a sink.
struct StoredRecord {
    int sink = 0;  // index of the sink operator in the scenario
    int subtask = 0;
    Nanos written_at_ns = 0;
    TimestampMs timestamp = 0;
    Record record;
};

// The external system that sinks write into, owned by the simulation so it
// survives task failures. Every write is kept in arrival order.
//
// TODO: transactions (pre-commit, commit, abort) for two-phase-commit sinks.
class ExternalStore {
public:
    void write(StoredRecord record) {
        hash_ = hashRecord(hash_, record.record);
        records_.push_back(std::move(record));
    }
    // Counts a record of a DISCARD sink without keeping it.
    void discard(const Record& record) {
        hash_ = hashRecord(hash_, record);
        ++discarded_;
    }

    const std::vector<StoredRecord>& records() const { return records_; }
    uint64_t discardedCount() const { return discarded_; }
    // Order-sensitive hash of every record written or discarded.
    uint64_t hash() const { return hash_; }

private:
    static uint64_t hashRecord(uint64_t seed, const Record& record);

    std::vector<StoredRecord> records_;
    uint64_t discarded_ = 0;
    uint64_t hash_ = 0;
};

}  // namespace sluice::sim
