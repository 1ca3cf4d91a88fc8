#pragma once

// The keyed state of a retained checkpoint as CSV, for `sluice-run
// --keyed-state-csv` and the GUI's export, which write the same bytes for
// the same run.

#include "sim/engine.h"

#include <cstdint>
#include <ostream>
#include <string>

namespace sluice::sim {

// Writes every keyed-state entry of checkpoint `checkpoint_id` (0: the
// newest retained checkpoint), one row per (task, subtask, state, key), in
// task order and then as readCheckpointState orders them. Columns:
//
//   checkpoint_id,task,subtask,key_group,state_name,key,value,
//   last_update_ms,changed_since_previous_checkpoint,outside_owner
//
// last_update_ms is simulated milliseconds with three decimals; it and
// changed_since_previous_checkpoint are empty when unknown (see
// EngineOptions::keep_snapshot_update_times). Returns an empty string, or
// why nothing was written.
std::string writeKeyedStateCsv(std::ostream& out, const Engine& engine, int64_t checkpoint_id);

}  // namespace sluice::sim
