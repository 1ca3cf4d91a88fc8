#include "sim/external_store.h"

#include "runtime/core/murmur3.h"
#include "sim/random.h"

namespace sluice::sim {

uint64_t ExternalStore::hashRecord(uint64_t seed, const Record& record) {
    uint64_t h = mix64(seed ^ record.id);
    h = mix64(h ^ murmur3_32(record.key));
    return mix64(h ^ uint64_t(record.value));
}

}  // namespace sluice::sim
