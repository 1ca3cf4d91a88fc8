#include "ui/transport_bar.h"

#include "ui/logging_categories.h"

#include <QAction>
#include <QComboBox>
#include <QLabel>

#include <cmath>

namespace sluice::ui {

namespace {

// Simulated milliseconds per wall second. 0 is as fast as the engine runs.
const double kSpeeds[] = {10, 100, 250, 1000, 4000, 10000, 0};
const char* const kSpeedLabels[] = {"0.01x", "0.1x", "0.25x",     "1x (real time)",
                                    "4x",    "10x",  "full speed"};
constexpr int kDefaultSpeed = 3;

}  // namespace

TransportBar::TransportBar(QWidget* parent) : QToolBar(tr("Transport"), parent) {
    setObjectName(QStringLiteral("transport"));
    play_pause_ = makeAction(tr("Play"), QKeySequence(Qt::Key_Space), tr("Run or pause"));
    step_event_ = makeAction(tr("Step Event"), QKeySequence(Qt::Key_Right), tr("Run one event"));
    step_barrier_ =
        makeAction(tr("Step to Barrier Event"), QKeySequence(Qt::SHIFT | Qt::Key_Right),
                   tr("Run to the next barrier emitted, received, aligned or forwarded"));
    previous_checkpoint_ =
        makeAction(tr("Previous Checkpoint"), QKeySequence(Qt::CTRL | Qt::Key_Left),
                   tr("Go back to the completion of the previous checkpoint"));
    next_checkpoint_ = makeAction(tr("Next Checkpoint"), QKeySequence(Qt::CTRL | Qt::Key_Right),
                                  tr("Run to the completion of the next checkpoint"));
    slower_ = makeAction(tr("Slower"), QKeySequence(Qt::Key_BracketLeft), tr("Halve the speed"));
    faster_ = makeAction(tr("Faster"), QKeySequence(Qt::Key_BracketRight), tr("Raise the speed"));
    addAction(play_pause_);
    addAction(step_event_);
    addAction(step_barrier_);
    addAction(previous_checkpoint_);
    addAction(next_checkpoint_);
    addSeparator();
    addWidget(new QLabel(tr(" Speed "), this));
    speed_ = new QComboBox(this);
    for (size_t i = 0; i < std::size(kSpeeds); ++i) {
        speed_->addItem(tr(kSpeedLabels[i]), kSpeeds[i]);
    }
    speed_->setCurrentIndex(kDefaultSpeed);
    speed_->setToolTip(tr("Simulated time per wall-clock second"));
    addWidget(speed_);

    connect(play_pause_, &QAction::triggered, this, &TransportBar::onPlayPause);
    connect(step_event_, &QAction::triggered, this, &TransportBar::stepEventRequested);
    connect(step_barrier_, &QAction::triggered, this, &TransportBar::stepToBarrierRequested);
    connect(next_checkpoint_, &QAction::triggered, this,
            [this] { Q_EMIT runToCheckpointRequested(protocol::RunToCheckpoint::NEXT); });
    connect(previous_checkpoint_, &QAction::triggered, this,
            [this] { Q_EMIT runToCheckpointRequested(protocol::RunToCheckpoint::PREVIOUS); });
    connect(faster_, &QAction::triggered, this, [this] { stepSpeed(1); });
    connect(slower_, &QAction::triggered, this, [this] { stepSpeed(-1); });
    connect(speed_, &QComboBox::activated, this,
            [this](int index) { Q_EMIT speedRequested(speed_->itemData(index).toDouble()); });
    setRunState(protocol::EMPTY);
}

QAction* TransportBar::makeAction(const QString& text, const QKeySequence& shortcut,
                                  const QString& tip) {
    auto* action = new QAction(text, this);
    action->setShortcut(shortcut);
    // The graph view would take arrow keys for scrolling otherwise.
    action->setShortcutContext(Qt::WindowShortcut);
    action->setToolTip(
        QStringLiteral("%1 (%2)").arg(tip, shortcut.toString(QKeySequence::NativeText)));
    return action;
}

QList<QAction*> TransportBar::runActions() const {
    return {play_pause_,      step_event_, step_barrier_, previous_checkpoint_,
            next_checkpoint_, slower_,     faster_};
}

void TransportBar::setRunState(protocol::RunState state) {
    playing_ = state == protocol::PLAYING;
    bool loaded = state != protocol::EMPTY && state != protocol::RUN_STATE_UNSPECIFIED;
    bool can_run = loaded && (state == protocol::PAUSED || state == protocol::PLAYING);
    play_pause_->setText(playing_ ? tr("Pause") : tr("Play"));
    play_pause_->setEnabled(can_run);
    step_event_->setEnabled(can_run && !playing_);
    step_barrier_->setEnabled(can_run && !playing_);
    next_checkpoint_->setEnabled(can_run);
    // Going back works from a finished run too, because it replays from the start.
    previous_checkpoint_->setEnabled(loaded);
}

void TransportBar::setSpeed(double sim_ms_per_wall_second) {
    int best = 0;
    for (int i = 0; i < speed_->count(); ++i) {
        double value = speed_->itemData(i).toDouble();
        double best_value = speed_->itemData(best).toDouble();
        bool exact_full = value == 0 && sim_ms_per_wall_second == 0;
        if (exact_full || (value > 0 && sim_ms_per_wall_second > 0 &&
                           std::abs(std::log(value / sim_ms_per_wall_second)) <
                               std::abs(std::log(best_value / sim_ms_per_wall_second)))) {
            best = i;
        }
    }
    if (sim_ms_per_wall_second == 0) {
        best = speed_->count() - 1;
    }
    speed_->setCurrentIndex(best);
}

double TransportBar::speed() const {
    return speed_->currentData().toDouble();
}

void TransportBar::onPlayPause() {
    qCInfo(lcUiTransport) << (playing_ ? "pause" : "play");
    if (playing_) {
        Q_EMIT pauseRequested();
    } else {
        Q_EMIT playRequested();
    }
}

void TransportBar::stepSpeed(int delta) {
    int index = std::clamp(speed_->currentIndex() + delta, 0, speed_->count() - 1);
    speed_->setCurrentIndex(index);
    Q_EMIT speedRequested(speed_->currentData().toDouble());
}

}  // namespace sluice::ui
