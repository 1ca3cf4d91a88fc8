#pragma once

#include "proto/engine_protocol.pb.h"

#include <QByteArray>
#include <QStringList>

#include <vector>

namespace sluice::ui {

// Writes the run as Chrome trace-event JSON (the "JSON Object Format" of the
// Trace Event Format that chrome://tracing and Perfetto load):
//
//   - one process per task (pid = vertex id + 1) and one thread per subtask
//     (tid = subtask index + 1), named with "M" metadata events, and the
//     process "Job" (pid 0) for events of the whole job;
//   - per acknowledged subtask of each checkpoint, one "X" span
//     "checkpoint N" from the trigger to the subtask's acknowledgement, and
//     inside it one "X" span per phase: start delay and alignment from the
//     trigger on, sync and async ending at the acknowledgement;
//   - barrier events as thread-scoped "i" instants on their subtask, faults
//     and checkpoint completions or failures as global "i" instants on the
//     Job process.
//
// Timestamps and durations are simulated microseconds, the unit the format
// requires. `events` are the run's telemetry events, oldest first.
QByteArray chromeTraceJson(const protocol::CheckpointDetails& details,
                           const std::vector<protocol::Event>& events);

}  // namespace sluice::ui
