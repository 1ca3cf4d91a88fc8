#pragma once

#include "runtime/core/types.h"

#include <cstdint>
#include <vector>

namespace sluice {

enum class CheckpointingMode : uint8_t {
    kExactlyOnce,         // aligned barriers
    kAtLeastOnce,         // barriers counted, channels never blocked
    kUnaligned,           // barriers overtake buffers, which become channel state
    kAlignedWithTimeout,  // aligned, switching to unaligned after the timeout
};

const char* checkpointingModeName(CheckpointingMode mode);

// Checkpointing settings of a job, with Flink's meanings.
struct CheckpointConfig {
    bool enabled = false;
    CheckpointingMode mode = CheckpointingMode::kExactlyOnce;
    Nanos interval_ns = 0;
    Nanos timeout_ns = 600 * kNanosPerSecond;
    Nanos min_pause_ns = 0;
    int max_concurrent = 1;
    Nanos aligned_timeout_ns = 2 * kNanosPerSecond;
    // Failed checkpoints in a row the job tolerates; one more fails the job.
    int tolerable_failures = 0;
    int retained = 1;
    std::vector<Nanos> savepoints_at_ns;
    // Simulated snapshot cost: synchronous time per state entry and upload
    // bandwidth for the asynchronous part.
    Nanos sync_ns_per_entry = 20;
    Nanos sync_base_ns = 100 * kNanosPerMicro;
    uint64_t upload_bits_per_second = 200'000'000;
    // Deliberate bugs, to prove the checks: aligned checkpoints that never
    // block a channel, and restores that ignore source offsets or channel
    // state.
    bool bug_skip_alignment = false;
    bool bug_dont_rewind_sources = false;
    bool bug_drop_channel_state = false;
    // Aligned checkpoints with timeout never prioritize a barrier that still
    // waits in an output queue; only the receiving task's timer switches.
    bool bug_alignment_timeout_only_at_receiver = false;
};

}  // namespace sluice
