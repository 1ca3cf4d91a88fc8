#pragma once

#include "proto/engine_protocol.pb.h"

#include <QStringList>
#include <QWidget>

class QDockWidget;
class QLabel;
class QMainWindow;
class QPushButton;
class QTableView;
class QTabWidget;

namespace sluice::ui {

class CheckpointGantt;
class CheckpointHistoryModel;
class CheckpointSharedStateModel;
class CheckpointStrip;
class EngineSession;

// The Checkpoints dock: Flink's checkpoint history as a table, a strip of
// recent checkpoints coloured by status, and for the selected checkpoint a
// Gantt chart of its subtasks' phases, its failure cause and a button that
// seeks to its completion. A Shared state tab lists the registry of RocksDB
// incremental checkpoints while it has files.
//
// It requests the history from the engine when a run loads, after a seek, and
// when telemetry reports a checkpoint triggered, completed or failed, with
// at most one query in flight.
//
// Threading: GUI thread only. `session` must outlive the panel.
class CheckpointsPanel : public QWidget {
    Q_OBJECT

public:
    explicit CheckpointsPanel(EngineSession* session, QWidget* parent = nullptr);

    CheckpointHistoryModel* historyModel() const { return history_; }
    CheckpointSharedStateModel* sharedStateModel() const { return shared_; }
    CheckpointGantt* gantt() const { return gantt_; }
    CheckpointStrip* strip() const { return strip_; }
    QTableView* historyView() const { return table_; }
    QPushButton* seekButton() const { return seek_button_; }
    QLabel* detailLabel() const { return detail_; }
    QTabWidget* tabs() const { return tabs_; }
    // Number of checkpoint queries sent, for tests of the refresh policy.
    int queriesSent() const { return queries_sent_; }
    // True while a query is in flight or waits for one.
    bool isRefreshing() const { return query_in_flight_ || refresh_pending_; }

    // Selects checkpoint `id` in the table, if it is there. Until the first
    // call or click after a run loads, the newest checkpoint is selected.
    void selectCheckpoint(int64_t id);
    // The selected checkpoint's id, or 0 when none is selected.
    int64_t selectedId() const;
    // Requests the history now, or after the query in flight returns.
    void refresh();

private:
    void onEvents(const protocol::EventBatch& batch);
    void onRunLoaded();
    void onDetails(const protocol::Reply& reply);
    void onSharedState(const protocol::Reply& reply);
    void showSelected();
    void selectRow(int row);
    QWidget* buildHistoryTab();
    QWidget* buildSharedStateTab();

    EngineSession* session_;
    CheckpointHistoryModel* history_;
    CheckpointSharedStateModel* shared_;
    CheckpointStrip* strip_;
    QTabWidget* tabs_;
    QTableView* table_;
    CheckpointGantt* gantt_;
    QLabel* detail_;
    QPushButton* seek_button_;
    QWidget* shared_tab_ = nullptr;
    QStringList vertex_names_;
    bool query_in_flight_ = false;
    bool refresh_pending_ = false;
    bool follow_newest_ = true;
    bool selecting_ = false;  // set while the panel itself changes the selection
    int queries_sent_ = 0;
};

// Creates the Checkpoints dock (object name "checkpoints-dock") in the bottom
// area of `window`, tabbed with the Event Log dock when there is one.
QDockWidget* addCheckpointsDock(EngineSession* session, QMainWindow* window);

}  // namespace sluice::ui
