#pragma once

// A sentence or two on why a checkpoint took as long as it did, or why it
// failed, from its subtasks' phases: the question a user brings to the
// Checkpoints dock.

#include "proto/engine_protocol.pb.h"
#include "ui/checkpoint_gantt.h"

#include <QString>

#include <vector>

namespace sluice::ui {

// Explains `checkpoint` from `rows` (checkpointGanttRows of it). For a
// checkpoint that failed or is in progress: which subtasks had not
// acknowledged and where they stopped. Otherwise: the slowest subtask and
// the phase that took most of its time, with what that phase points to.
// Returns HTML with the labels escaped, or an empty string without rows.
QString diagnoseCheckpoint(const protocol::CheckpointDetail& checkpoint,
                           const std::vector<CheckpointGanttRow>& rows);

}  // namespace sluice::ui
