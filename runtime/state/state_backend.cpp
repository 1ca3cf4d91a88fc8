#include "runtime/state/state_backend.h"

#include "runtime/state/heap_keyed_state_backend.h"
#include "runtime/state/rocksdb_keyed_state_backend.h"

#include <atomic>

namespace sluice {

std::unique_ptr<KeyedStateBackend> createKeyedStateBackend(const StateBackendConfig& config,
                                                           KeyGroupRange range, int max_parallelism,
                                                           const Nanos* clock,
                                                           const std::string& instance_name) {
    if (config.kind == StateBackendConfig::kHeap) {
        return std::make_unique<HeapKeyedStateBackend>(range, max_parallelism, clock);
    }
    // A restarted task may create its new instance before the old one is
    // gone, so every instance gets its own directory.
    static std::atomic<uint64_t> instance_counter{0};
    RocksDbKeyedStateBackend::Options options;
    options.instance_dir =
        config.local_dir / instance_name / ("db-" + std::to_string(instance_counter.fetch_add(1)));
    options.cache_entries = config.write_cache_entries;
    options.compact_every_snapshots = config.compact_every_snapshots;
    options.keep_update_times = config.keep_update_times;
    return std::make_unique<RocksDbKeyedStateBackend>(range, max_parallelism, clock,
                                                      std::move(options));
}

}  // namespace sluice
