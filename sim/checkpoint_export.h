#pragma once

#include "runtime/checkpoint/checkpoint_stats.h"

#include <ostream>
#include <string>
#include <vector>

namespace sluice::sim {

// Returns `text` as one CSV field: as it is, or in double quotes (with
// inner quotes doubled) when it contains a comma, quote or line break.
std::string csvField(const std::string& text);

// Writes one row per checkpoint and subtask, with the fields of Flink's
// checkpoint history. Times are simulated milliseconds since the start of
// the run; durations are milliseconds; sizes are bytes.
void writeCheckpointsCsv(std::ostream& out, const std::vector<CheckpointStats>& history,
                         const std::vector<std::string>& vertex_names);

// Writes the history in the shape of Flink's REST response of
// GET /jobs/:jobid/checkpoints (counts, summary, latest, history), so
// scripts written for Flink can read it. Timestamps are simulated
// milliseconds instead of epoch milliseconds.
void writeCheckpointsJson(std::ostream& out, const std::vector<CheckpointStats>& history,
                          const std::vector<std::string>& vertex_names);

}  // namespace sluice::sim
