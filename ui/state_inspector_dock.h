#pragma once

#include "proto/engine_protocol.pb.h"
#include "ui/keyed_state_model.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDockWidget;
class QLabel;
class QLineEdit;
class QMainWindow;
class QTableView;
class QTimer;

namespace sluice::ui {

class EngineSession;

// The Keyed State dock shows the keyed state of one operator and subtask
// (or all subtasks): live, at a retained checkpoint, as the differences
// between two checkpoints or a checkpoint and the live state, or across a
// failure. The failure view compares the state when the fault fired with
// the checkpoint the failover restored. Rows come through KeyedStateModel,
// a page at a time. While the run plays, the live view is fetched again at
// most every kLiveRefreshMs.
//
// Threading: GUI thread only.
class StateInspector : public QWidget {
    Q_OBJECT

public:
    enum class View { kLive, kCheckpoint, kCheckpointDiff, kFailureDiff };
    static constexpr int kLiveRefreshMs = 400;
    static constexpr int kSourcesRefreshMs = 1000;

    // `session` must outlive the widget.
    explicit StateInspector(EngineSession* session, QWidget* parent = nullptr);

    KeyedStateModel* model() const { return model_; }
    QTableView* table() const { return table_; }
    QComboBox* operatorBox() const { return operator_box_; }
    QComboBox* subtaskBox() const { return subtask_box_; }
    QComboBox* viewBox() const { return view_box_; }
    QComboBox* fromBox() const { return from_box_; }
    QComboBox* toBox() const { return to_box_; }
    QLineEdit* searchEdit() const { return search_; }
    QCheckBox* changedOnlyBox() const { return changed_only_; }
    QCheckBox* showUnchangedBox() const { return show_unchanged_; }
    QString statusText() const;

    // Requests the retained checkpoints and kept failures again.
    void refreshSources();

protected:
    // A tab brought to the front shows the current live state, also when paused.
    void showEvent(QShowEvent* event) override;

private:
    void buildControls();
    void connectSession();
    void setJobGraph(const protocol::JobGraph& graph);
    void fillSubtasks();
    void setSources(const protocol::StateSources& sources);
    void fillSourceBoxes();
    void updateControls();
    void applyQuery();
    void onFrame();
    void updateStatus();

    EngineSession* session_;
    KeyedStateModel* model_;
    protocol::JobGraph graph_;
    protocol::StateSources sources_;
    QComboBox* operator_box_;
    QComboBox* subtask_box_;
    QComboBox* view_box_;
    QLabel* from_label_;
    QComboBox* from_box_;
    QLabel* to_label_;
    QComboBox* to_box_;
    QLineEdit* search_;
    QCheckBox* changed_only_;
    QCheckBox* show_unchanged_;
    QTableView* table_;
    QLabel* status_;
    QTimer* live_timer_;
    QTimer* sources_timer_;
    QTimer* search_timer_;
    QString error_;
};

// Creates the Keyed State dock (object name "keyed-state-dock") and adds it
// to the bottom area of `window`, as a tab behind the Event Log when that
// dock exists.
QDockWidget* addStateInspectorDock(QMainWindow* window, EngineSession* session);

}  // namespace sluice::ui
