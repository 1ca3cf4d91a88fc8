#pragma once

#include "proto/engine_protocol.pb.h"

#include <QString>

#include <cstdint>
#include <functional>

class QMenu;
class QWidget;

namespace sluice::ui {

class EngineSession;
class EventLogModel;

// Called with an empty string on success, or why the export failed.
using ExportDone = std::function<void(const QString& error)>;

// Writes the checkpoint history to `path` in the bytes `sluice-run
// --checkpoints-csv` or `--checkpoints-json` writes, as the engine returns
// them.
void exportCheckpointHistory(EngineSession* session, const QString& path,
                             protocol::CheckpointExportQuery::Format format, ExportDone done);

// Writes the run as Chrome trace-event JSON (see chromeTraceJson): the
// checkpoint phases from the engine and the barrier, fault and checkpoint
// events `events` holds.
void exportTrace(EngineSession* session, const EventLogModel* events, const QString& path,
                 ExportDone done);

// Writes the keyed state of every task in retained checkpoint
// `checkpoint_id` (0: the newest retained one) to `path`, in the bytes
// `sluice-run --keyed-state-csv` writes.
void exportKeyedState(EngineSession* session, int64_t checkpoint_id, const QString& path,
                      ExportDone done);

// Adds the checkpoint CSV, checkpoint JSON, keyed state CSV and trace export
// entries to `menu`; their dialogs and messages open over `parent`. The
// keyed state export takes the checkpoint `selected_checkpoint` returns
// (0: none selected, export the newest retained one).
void addCheckpointExportActions(QMenu* menu, EngineSession* session, const EventLogModel* events,
                                std::function<int64_t()> selected_checkpoint, QWidget* parent);

}  // namespace sluice::ui
