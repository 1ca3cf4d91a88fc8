#pragma once

#include "proto/engine_protocol.pb.h"

#include <QString>

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

// Adds the checkpoint CSV, checkpoint JSON and trace export entries to
// `menu`; their dialogs and messages open over `parent`.
void addCheckpointExportActions(QMenu* menu, EngineSession* session, const EventLogModel* events,
                                QWidget* parent);

}  // namespace sluice::ui
