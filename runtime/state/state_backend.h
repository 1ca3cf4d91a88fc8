#pragma once

#include "runtime/state/keyed_state_backend.h"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace sluice {

// Configuration of the keyed state backend of a job.
struct StateBackendConfig {
    enum Kind { kHeap, kRocksDb };
    Kind kind = kHeap;
    // RocksDB only: checkpoints upload only new SST files. The heap
    // backend always takes full snapshots.
    bool incremental = false;
    // Working directory of the RocksDB instances.
    std::filesystem::path local_dir;
    // RocksDB only: keys cached per state in front of RocksDB.
    size_t write_cache_entries = 65536;
    // RocksDB only: every this many checkpoints one compacts the instance
    // fully; 0 never compacts.
    int compact_every_snapshots = 10;
    // RocksDB only: remembers the last update time of keys evicted from the
    // cache, for the state inspector. It costs a hash-map entry holding the
    // key per evicted key (an estimated 50 to 100 bytes for short keys).
    bool keep_update_times = false;
};

// Creates the keyed state backend of one operator subtask. The RocksDB
// instance lives under config.local_dir/instance_name/ and is deleted with
// the backend; instance_name must be unique among the live backends of a
// process (for example "job-op3-sub1"), several incarnations may coexist.
std::unique_ptr<KeyedStateBackend> createKeyedStateBackend(const StateBackendConfig& config,
                                                           KeyGroupRange range, int max_parallelism,
                                                           const Nanos* clock,
                                                           const std::string& instance_name);

}  // namespace sluice
