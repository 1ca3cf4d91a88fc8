#pragma once

#include "proto/engine_protocol.pb.h"

#include <QRectF>

#include <map>
#include <utility>
#include <vector>

namespace sluice::ui {

// Geometry of a job graph in scene coordinates (pixels at zoom 1): vertices
// in columns from sources to sinks, each vertex a box with its subtasks
// stacked inside, and a row of TaskManagers below. Pure computation, so it
// is unit-tested without a scene.
struct JobGraphLayout {
    struct VertexBox {
        int vertex = -1;
        QRectF rect;    // the whole box
        QRectF header;  // name and chained operators
        bool compact = false;
    };
    std::vector<VertexBox> vertices;  // in JobGraph order
    // (vertex, subtask) -> the subtask's node.
    std::map<std::pair<int, int>, QRectF> subtasks;
    // (vertex, subtask) -> where its outgoing and incoming channels attach.
    // Compact subtasks attach at the vertex box's edge, so lines do not
    // cross the other nodes of the grid.
    std::map<std::pair<int, int>, QPointF> outputs;
    std::map<std::pair<int, int>, QPointF> inputs;
    std::vector<QRectF> task_managers;  // by TaskManager id
    QRectF bounds;
};

// Parallelism above which subtasks are drawn as small squares in a grid.
inline constexpr int kCompactParallelism = 16;
// Channels of one all-to-all edge above which they are drawn as one bundle
// between the two vertices instead of one line each. FORWARD edges are
// never bundled: their lines run side by side.
inline constexpr int kMaxDrawnChannelsPerEdge = 64;

JobGraphLayout layoutJobGraph(const protocol::JobGraph& graph);

// Channels of an edge: parallelism for FORWARD, the product otherwise.
int channelCount(const protocol::JobGraph& graph, const protocol::Edge& edge);

// Chained operators listed under the vertex name: none when the vertex is
// one operator of the same name.
int listedOperatorCount(const protocol::Vertex& vertex);

// Whether the edge is drawn as one bundle.
bool isBundled(const protocol::JobGraph& graph, const protocol::Edge& edge);

// Index of the vertex with id `vertex_id` in graph.vertices(), or -1.
int vertexIndex(const protocol::JobGraph& graph, int vertex_id);

}  // namespace sluice::ui
