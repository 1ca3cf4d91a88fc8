#pragma once

#include "runtime/serialization/type_serializer.h"

#include <cstdint>
#include <string>

namespace sluice::sim {

// The record type of scenario jobs. The event-time timestamp travels beside
// it in the stream, as in Flink's StreamRecord.
struct Record {
    // Unique per source record; derived deterministically by operators that
    // create records, so the exactly-once checker can name records.
    uint64_t id = 0;
    std::string key;
    int64_t value = 0;

    bool operator==(const Record&) const = default;
};

// Wire format: id (8 bytes), key (varint length + bytes), value (8 bytes).
class RecordSerializer final : public TypeSerializer<Record> {
public:
    void serialize(const Record& record, ByteWriter& out) const override {
        out.writeRaw(record.id);
        out.writeString(record.key);
        out.writeRaw(record.value);
    }
    void deserialize(Record& record, ByteReader& in) const override {
        record.id = in.readRaw<uint64_t>();
        in.readString(record.key);
        record.value = in.readRaw<int64_t>();
    }
    std::string toDisplayString(const Record& record) const override {
        return "{id=" + std::to_string(record.id) + " key=" + record.key +
               " value=" + std::to_string(record.value) + "}";
    }
};

// Registers RecordSerializer with the SerializerRegistry; idempotent.
void registerRecordSerializer();

}  // namespace sluice::sim
