#pragma once

#include "proto/engine_protocol.pb.h"

#include <QGraphicsItem>
#include <QString>
#include <QStringList>

#include <string>

namespace sluice::ui {

// Graphics items of the job graph's nodes: subtasks, vertices and
// TaskManagers. Each keeps the latest telemetry it was given and repaints
// from it; none talks to the engine.

// One subtask: its fill is the Flink busy/idle/backpressured colour, a bar
// at the bottom shows the three shares, and the border marks failed,
// canceling and restoring tasks. A compact node is a small square without
// text, for vertices of high parallelism.
class SubtaskItem : public QGraphicsItem {
public:
    enum { Type = UserType + 1 };

    SubtaskItem(int vertex, int subtask, std::string operator_id, QRectF rect, bool compact);

    void setFrame(const protocol::SubtaskFrame& frame);
    const protocol::SubtaskFrame& frame() const { return frame_; }
    bool hasFrame() const { return has_frame_; }
    int vertex() const { return vertex_; }
    int subtask() const { return subtask_; }
    const std::string& operatorId() const { return operator_id_; }
    // The colour the node is filled with, from the latest frame.
    QColor fillColor() const;
    // "FAILED", "CANCELING", "RESTORING", ... or empty while running normally.
    QString markText() const;

    QRectF boundingRect() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;
    int type() const override { return Type; }

private:
    void paintShareBar(QPainter* painter, const QRectF& bar) const;

    int vertex_;
    int subtask_;
    std::string operator_id_;
    QRectF rect_;
    bool compact_;
    bool has_frame_ = false;
    protocol::SubtaskFrame frame_;
};

// A vertex: a box around its subtasks, headed by its name, the chained
// operators and its parallelism. The header has the colour of the worst
// subtask, the one with the least idle time.
class VertexItem : public QGraphicsItem {
public:
    enum { Type = UserType + 2 };

    VertexItem(const protocol::Vertex& vertex, QRectF rect, QRectF header);

    void setWorstSubtask(const protocol::SubtaskFrame& worst);
    const protocol::Vertex& vertex() const { return vertex_; }
    int worstSubtask() const { return has_worst_ ? worst_.subtask() : -1; }

    QRectF boundingRect() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;
    int type() const override { return Type; }

private:
    void paintHeaderText(QPainter* painter, const QRectF& head) const;

    protocol::Vertex vertex_;
    QRectF rect_;
    QRectF header_;
    bool has_worst_ = false;
    protocol::SubtaskFrame worst_;
};

// A TaskManager: alive or dead, and its slots.
class TaskManagerItem : public QGraphicsItem {
public:
    enum { Type = UserType + 3 };

    TaskManagerItem(int id, QRectF rect);

    void setFrame(const protocol::TaskManagerFrame& frame, int running_subtasks);
    int id() const { return id_; }
    bool alive() const { return alive_; }
    int runningSubtasks() const { return running_subtasks_; }

    QRectF boundingRect() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;
    int type() const override { return Type; }

private:
    int id_;
    QRectF rect_;
    bool alive_ = true;
    int slots_ = 0;
    int running_subtasks_ = 0;
};

}  // namespace sluice::ui
