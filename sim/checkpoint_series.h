#pragma once

// Metric series derived from the checkpoint history and the failovers of a
// run, in the shape of the sampled metrics, for the GUI's charts. The
// MetricsRecorder does not sample them because they change only when a
// checkpoint completes or the job fails.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"

#include <cstdint>

namespace sluice::sim {

// Appends to `page` the derived samples at or after `from_ns`, as described
// at QueryMetrics.include_checkpoint_series in engine_protocol.proto: job
// level ones with an empty task and subtask -1, per-subtask ones with the
// vertex name. When `metrics` is not empty, only those names.
void appendCheckpointSeries(const Engine& engine, int64_t from_ns,
                            const google::protobuf::RepeatedPtrField<std::string>& metrics,
                            protocol::MetricsPage* page);

}  // namespace sluice::sim
