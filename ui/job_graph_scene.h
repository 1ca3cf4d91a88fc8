#pragma once

#include "proto/engine_protocol.pb.h"
#include "ui/fault_target.h"

#include <QGraphicsScene>

#include <map>
#include <tuple>
#include <utility>
#include <vector>

namespace sluice::ui {

class ChannelItem;
class SubtaskItem;
class TaskManagerItem;
class VertexItem;
struct JobGraphLayout;

// The live job graph: one VertexItem per vertex with a SubtaskItem per
// subtask, one ChannelItem per channel (or one bundle per all-to-all edge
// with more than kMaxDrawnChannelsPerEdge channels) and a TaskManagerItem per
// TaskManager. setJobGraph builds the items, and applyFrame updates them.
//
// Threading: GUI thread only. It reads protocol messages and never talks to
// the engine.
class JobGraphScene : public QGraphicsScene {
    Q_OBJECT

public:
    explicit JobGraphScene(QObject* parent = nullptr);

    void setJobGraph(const protocol::JobGraph& graph);
    void applyFrame(const protocol::Frame& frame);
    const protocol::JobGraph& jobGraph() const { return graph_; }

    int vertexItemCount() const { return int(vertices_.size()); }
    int subtaskItemCount() const { return int(subtasks_.size()); }
    int taskManagerItemCount() const { return int(task_managers_.size()); }
    // Drawn channel items, bundles included.
    int channelItemCount() const { return int(channels_.size()) + int(bundles_.size()); }
    int bundleItemCount() const { return int(bundles_.size()); }
    SubtaskItem* subtaskItem(int vertex, int subtask) const;
    VertexItem* vertexItem(int vertex) const;
    TaskManagerItem* taskManagerItem(int id) const;
    // The item of one channel, or of the bundle it is drawn in.
    ChannelItem* channelItem(int source_vertex, int source_subtask, int target_vertex,
                             int target_subtask) const;
    // The fault target under a scene position: a subtask, channel or
    // TaskManager, else kNone.
    FaultTarget targetAt(QPointF scene_pos) const;

Q_SIGNALS:
    // A right click on a subtask, channel or TaskManager.
    void faultMenuRequested(const sluice::ui::FaultTarget& target, QPoint screen_pos);

protected:
    void contextMenuEvent(QGraphicsSceneContextMenuEvent* event) override;

private:
    using ChannelKey = std::tuple<int, int, int, int>;
    void buildChannels(const protocol::Edge& edge, const JobGraphLayout& layout);
    void updateVertices();
    std::string operatorIdOf(int vertex) const;
    int taskManagerOf(int vertex, int subtask) const;

    protocol::JobGraph graph_;
    std::map<int, VertexItem*> vertices_;
    std::map<std::pair<int, int>, SubtaskItem*> subtasks_;
    std::vector<TaskManagerItem*> task_managers_;
    std::map<ChannelKey, ChannelItem*> channels_;
    // (source vertex, target vertex) -> bundle.
    std::map<std::pair<int, int>, ChannelItem*> bundles_;
};

}  // namespace sluice::ui
