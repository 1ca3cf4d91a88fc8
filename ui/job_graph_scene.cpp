#include "ui/job_graph_scene.h"

#include "ui/graph_channel_items.h"
#include "ui/graph_node_items.h"
#include "ui/job_graph_layout.h"
#include "ui/logging_categories.h"

#include <QGraphicsSceneContextMenuEvent>

#include <algorithm>

namespace sluice::ui {

namespace {

QPointF rightMiddle(const QRectF& rect) {
    return {rect.right(), rect.center().y()};
}

QPointF leftMiddle(const QRectF& rect) {
    return {rect.left(), rect.center().y()};
}

// Minimum idle time first: the subtask a vertex is coloured by.
bool worseThan(const protocol::SubtaskFrame& a, const protocol::SubtaskFrame& b) {
    return a.idle_ms_per_second() < b.idle_ms_per_second();
}

}  // namespace

JobGraphScene::JobGraphScene(QObject* parent) : QGraphicsScene(parent) {
    setItemIndexMethod(QGraphicsScene::NoIndex);
}

void JobGraphScene::setJobGraph(const protocol::JobGraph& graph) {
    clear();
    vertices_.clear();
    subtasks_.clear();
    task_managers_.clear();
    channels_.clear();
    bundles_.clear();
    graph_ = graph;
    JobGraphLayout layout = layoutJobGraph(graph);
    for (int i = 0; i < graph.vertices_size(); ++i) {
        const protocol::Vertex& vertex = graph.vertices(i);
        const JobGraphLayout::VertexBox& box = layout.vertices[size_t(i)];
        auto* item = new VertexItem(vertex, box.rect, box.header);
        addItem(item);
        vertices_[vertex.id()] = item;
        for (int s = 0; s < vertex.parallelism(); ++s) {
            auto* subtask = new SubtaskItem(vertex.id(), s, operatorIdOf(vertex.id()),
                                            layout.subtasks.at({vertex.id(), s}), box.compact);
            addItem(subtask);
            subtasks_[{vertex.id(), s}] = subtask;
        }
    }
    for (const protocol::Edge& edge : graph.edges()) {
        buildChannels(edge, layout);
    }
    for (int t = 0; t < graph.task_managers(); ++t) {
        auto* item = new TaskManagerItem(t, layout.task_managers[size_t(t)]);
        addItem(item);
        task_managers_.push_back(item);
    }
    setSceneRect(layout.bounds.adjusted(-40, -40, 40, 40));
    qCInfo(lcUiGraph) << "job graph" << QString::fromStdString(graph.job_name()) << "with"
                      << graph.vertices_size() << "vertices," << subtasks_.size() << "subtasks,"
                      << channels_.size() << "channels and" << bundles_.size() << "bundles";
}

void JobGraphScene::buildChannels(const protocol::Edge& edge, const JobGraphLayout& layout) {
    int from = vertexIndex(graph_, edge.source_vertex());
    int to = vertexIndex(graph_, edge.target_vertex());
    if (from < 0 || to < 0) {
        qCWarning(lcUiGraph) << "edge names an unknown vertex:" << edge.source_vertex() << "->"
                             << edge.target_vertex();
        return;
    }
    int p_from = graph_.vertices(from).parallelism();
    int p_to = graph_.vertices(to).parallelism();
    if (isBundled(graph_, edge)) {
        QRectF a = vertices_.at(edge.source_vertex())->boundingRect();
        QRectF b = vertices_.at(edge.target_vertex())->boundingRect();
        auto* bundle = new ChannelItem(rightMiddle(a), leftMiddle(b), true);
        bundle->source_vertex = edge.source_vertex();
        bundle->target_vertex = edge.target_vertex();
        addItem(bundle);
        bundles_[{edge.source_vertex(), edge.target_vertex()}] = bundle;
        return;
    }
    bool forward = edge.partitioning() == "FORWARD";
    for (int s = 0; s < p_from; ++s) {
        for (int t = 0; t < p_to; ++t) {
            if (forward && s != t) {
                continue;
            }
            auto* channel = new ChannelItem(layout.outputs.at({edge.source_vertex(), s}),
                                            layout.inputs.at({edge.target_vertex(), t}), false);
            channel->source_vertex = edge.source_vertex();
            channel->source_subtask = s;
            channel->target_vertex = edge.target_vertex();
            channel->target_subtask = t;
            channel->setSummary({});
            addItem(channel);
            channels_[{edge.source_vertex(), s, edge.target_vertex(), t}] = channel;
        }
    }
}

void JobGraphScene::applyFrame(const protocol::Frame& frame) {
    for (const protocol::SubtaskFrame& subtask : frame.subtasks()) {
        auto it = subtasks_.find({subtask.vertex(), subtask.subtask()});
        if (it != subtasks_.end()) {
            it->second->setFrame(subtask);
        }
    }
    std::map<std::pair<int, int>, ChannelSummary> bundle_sums;
    for (const protocol::ChannelFrame& channel : frame.channels()) {
        ChannelKey key{channel.source_vertex(), channel.source_subtask(), channel.target_vertex(),
                       channel.target_subtask()};
        auto it = channels_.find(key);
        if (it != channels_.end()) {
            ChannelSummary summary;
            summary.add(channel);
            it->second->setSummary(std::move(summary));
        } else if (bundles_.count({channel.source_vertex(), channel.target_vertex()}) > 0) {
            bundle_sums[{channel.source_vertex(), channel.target_vertex()}].add(channel);
        }
    }
    for (auto& [key, bundle] : bundles_) {
        bundle->setSummary(std::move(bundle_sums[key]));
    }
    for (const protocol::TaskManagerFrame& tm : frame.task_managers()) {
        if (tm.id() < 0 || tm.id() >= int(task_managers_.size())) {
            continue;
        }
        // Counted over the items because they keep the latest state of
        // every subtask, also when a frame leaves some out.
        int running = 0;
        for (const auto& [key, item] : subtasks_) {
            const protocol::SubtaskFrame& subtask = item->frame();
            bool counts = item->hasFrame() && subtask.task_manager() == tm.id() &&
                          subtask.state() == "RUNNING";
            running += counts ? 1 : 0;
        }
        task_managers_[size_t(tm.id())]->setFrame(tm, running);
    }
    updateVertices();
}

void JobGraphScene::updateVertices() {
    for (auto& [id, vertex] : vertices_) {
        const protocol::SubtaskFrame* worst = nullptr;
        for (int s = 0; s < vertex->vertex().parallelism(); ++s) {
            SubtaskItem* item = subtasks_.at({id, s});
            if (item->hasFrame() && (worst == nullptr || worseThan(item->frame(), *worst))) {
                worst = &item->frame();
            }
        }
        if (worst != nullptr) {
            vertex->setWorstSubtask(*worst);
        }
    }
}

SubtaskItem* JobGraphScene::subtaskItem(int vertex, int subtask) const {
    auto it = subtasks_.find({vertex, subtask});
    return it == subtasks_.end() ? nullptr : it->second;
}

VertexItem* JobGraphScene::vertexItem(int vertex) const {
    auto it = vertices_.find(vertex);
    return it == vertices_.end() ? nullptr : it->second;
}

TaskManagerItem* JobGraphScene::taskManagerItem(int id) const {
    return id >= 0 && id < int(task_managers_.size()) ? task_managers_[size_t(id)] : nullptr;
}

ChannelItem* JobGraphScene::channelItem(int source_vertex, int source_subtask, int target_vertex,
                                        int target_subtask) const {
    auto it = channels_.find({source_vertex, source_subtask, target_vertex, target_subtask});
    if (it != channels_.end()) {
        return it->second;
    }
    auto bundle = bundles_.find({source_vertex, target_vertex});
    return bundle == bundles_.end() ? nullptr : bundle->second;
}

std::string JobGraphScene::operatorIdOf(int vertex) const {
    int index = vertexIndex(graph_, vertex);
    if (index < 0) {
        return {};
    }
    const protocol::Vertex& v = graph_.vertices(index);
    return v.operators_size() > 0 ? v.operators(0) : v.name();
}

int JobGraphScene::taskManagerOf(int vertex, int subtask) const {
    SubtaskItem* item = subtaskItem(vertex, subtask);
    return item != nullptr && item->hasFrame() ? item->frame().task_manager() : -1;
}

FaultTarget JobGraphScene::targetAt(QPointF scene_pos) const {
    FaultTarget target;
    for (QGraphicsItem* item : items(scene_pos)) {
        if (auto* subtask = qgraphicsitem_cast<SubtaskItem*>(item)) {
            target.kind = FaultTarget::Kind::kSubtask;
            target.vertex = subtask->vertex();
            target.subtask = subtask->subtask();
            target.operator_id = subtask->operatorId();
            target.task_manager = taskManagerOf(target.vertex, target.subtask);
            return target;
        }
        if (auto* tm = qgraphicsitem_cast<TaskManagerItem*>(item)) {
            target.kind = FaultTarget::Kind::kTaskManager;
            target.task_manager = tm->id();
            return target;
        }
        auto* channel = qgraphicsitem_cast<ChannelItem*>(item);
        if (channel != nullptr && !channel->isBundle()) {
            target.kind = FaultTarget::Kind::kChannel;
            target.vertex = channel->target_vertex;
            target.subtask = channel->target_subtask;
            target.operator_id = operatorIdOf(channel->target_vertex);
            target.task_manager = taskManagerOf(channel->target_vertex, channel->target_subtask);
            target.source_vertex = channel->source_vertex;
            target.source_subtask = channel->source_subtask;
            target.source_operator_id = operatorIdOf(channel->source_vertex);
            target.source_task_manager =
                taskManagerOf(channel->source_vertex, channel->source_subtask);
            return target;
        }
    }
    return target;
}

void JobGraphScene::contextMenuEvent(QGraphicsSceneContextMenuEvent* event) {
    FaultTarget target = targetAt(event->scenePos());
    if (target.kind == FaultTarget::Kind::kNone) {
        return;
    }
    event->accept();
    Q_EMIT faultMenuRequested(target, event->screenPos());
}

}  // namespace sluice::ui
