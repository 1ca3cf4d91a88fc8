#pragma once

#include "proto/engine_protocol.pb.h"

#include <QToolBar>

class QAction;
class QComboBox;

namespace sluice::ui {

// Play/pause, speed, step one event, step to the next barrier event and
// jump to the next or previous checkpoint. The actions carry the keyboard
// shortcuts, and the main window lists the same actions in its Run menu.
class TransportBar : public QToolBar {
    Q_OBJECT

public:
    explicit TransportBar(QWidget* parent = nullptr);

    // Enables the actions that make sense in `state` and shows Play or
    // Pause on the toggle.
    void setRunState(protocol::RunState state);
    // Selects the speed entry nearest `sim_ms_per_wall_second` (0: full).
    void setSpeed(double sim_ms_per_wall_second);
    double speed() const;

    QAction* playPauseAction() const { return play_pause_; }
    QAction* stepEventAction() const { return step_event_; }
    QAction* stepBarrierAction() const { return step_barrier_; }
    QAction* nextCheckpointAction() const { return next_checkpoint_; }
    QAction* previousCheckpointAction() const { return previous_checkpoint_; }
    QAction* fasterAction() const { return faster_; }
    QAction* slowerAction() const { return slower_; }
    QList<QAction*> runActions() const;

Q_SIGNALS:
    void playRequested();
    void pauseRequested();
    void stepEventRequested();
    void stepToBarrierRequested();
    void runToCheckpointRequested(sluice::protocol::RunToCheckpoint::Direction direction);
    void speedRequested(double sim_ms_per_wall_second);

private:
    QAction* makeAction(const QString& text, const QKeySequence& shortcut, const QString& tip);
    void onPlayPause();
    void stepSpeed(int delta);

    QAction* play_pause_;
    QAction* step_event_;
    QAction* step_barrier_;
    QAction* next_checkpoint_;
    QAction* previous_checkpoint_;
    QAction* faster_;
    QAction* slower_;
    QComboBox* speed_;
    bool playing_ = false;
};

}  // namespace sluice::ui
