#pragma once

#include "proto/engine_protocol.pb.h"

#include <QWidget>

#include <vector>

namespace sluice::ui {

// The most recent checkpoints as a row of squares coloured by status,
// newest on the right. Clicking a square selects that checkpoint.
//
// Threading: GUI thread only.
class CheckpointStrip : public QWidget {
    Q_OBJECT

public:
    explicit CheckpointStrip(QWidget* parent = nullptr);

    void setCheckpoints(const protocol::CheckpointDetails& details);
    void setSelectedId(int64_t id);
    // Checkpoint id of the square at widget position `x`, or 0.
    int64_t idAt(int x) const;
    int shownCount() const { return int(marks_.size()); }

    QSize sizeHint() const override;

Q_SIGNALS:
    void checkpointClicked(int64_t id);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;

private:
    int visibleCount() const;
    int firstVisible() const;

    std::vector<protocol::CheckpointMark> marks_;
    int64_t selected_id_ = 0;
};

}  // namespace sluice::ui
