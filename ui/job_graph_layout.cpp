#include "ui/job_graph_layout.h"

#include <algorithm>

namespace sluice::ui {

namespace {

constexpr double kNodeWidth = 220;
constexpr double kNodeHeight = 38;
constexpr double kCompactNode = 14;
constexpr double kTaskManagerWidth = 230;
constexpr double kGap = 6;
constexpr double kPadding = 8;
constexpr double kHeaderLine = 15;
constexpr double kColumnGap = 170;
constexpr double kRowGap = 40;
constexpr int kCompactRows = 16;
// Spread of the attachment points of one grid row's subtasks.
constexpr double kAnchorSpread = 3;

double headerHeight(const protocol::Vertex& vertex) {
    // Name, listed operators, parallelism, worst subtask.
    return kHeaderLine * (3 + listedOperatorCount(vertex));
}

// Column of each vertex: its longest path from a source, so every edge
// points to the right.
std::vector<int> columnsOf(const protocol::JobGraph& graph) {
    std::vector<int> column(size_t(graph.vertices_size()), 0);
    for (int round = 0; round < graph.vertices_size(); ++round) {
        bool changed = false;
        for (const protocol::Edge& edge : graph.edges()) {
            int from = vertexIndex(graph, edge.source_vertex());
            int to = vertexIndex(graph, edge.target_vertex());
            if (from >= 0 && to >= 0 && column[size_t(to)] < column[size_t(from)] + 1) {
                column[size_t(to)] = column[size_t(from)] + 1;
                changed = true;
            }
        }
        if (!changed) {
            break;
        }
    }
    return column;
}

QSizeF bodySize(int parallelism, bool compact) {
    if (!compact) {
        return {kNodeWidth, parallelism * (kNodeHeight + kGap) - kGap};
    }
    int rows = std::min(parallelism, kCompactRows);
    int columns = (parallelism + kCompactRows - 1) / kCompactRows;
    return {columns * (kCompactNode + kGap) - kGap, rows * (kCompactNode + kGap) - kGap};
}

QRectF subtaskRect(QPointF body_origin, int subtask, bool compact) {
    if (!compact) {
        return {body_origin.x(), body_origin.y() + subtask * (kNodeHeight + kGap), kNodeWidth,
                kNodeHeight};
    }
    int column = subtask / kCompactRows;
    int row = subtask % kCompactRows;
    return {body_origin.x() + column * (kCompactNode + kGap),
            body_origin.y() + row * (kCompactNode + kGap), kCompactNode, kCompactNode};
}

}  // namespace

int vertexIndex(const protocol::JobGraph& graph, int vertex_id) {
    for (int i = 0; i < graph.vertices_size(); ++i) {
        if (graph.vertices(i).id() == vertex_id) {
            return i;
        }
    }
    return -1;
}

int channelCount(const protocol::JobGraph& graph, const protocol::Edge& edge) {
    int from = vertexIndex(graph, edge.source_vertex());
    int to = vertexIndex(graph, edge.target_vertex());
    if (from < 0 || to < 0) {
        return 0;
    }
    int p_from = graph.vertices(from).parallelism();
    int p_to = graph.vertices(to).parallelism();
    if (edge.partitioning() == "FORWARD") {
        return std::min(p_from, p_to);
    }
    return p_from * p_to;
}

int listedOperatorCount(const protocol::Vertex& vertex) {
    if (vertex.operators_size() == 1 && vertex.operators(0) == vertex.name()) {
        return 0;
    }
    return vertex.operators_size();
}

bool isBundled(const protocol::JobGraph& graph, const protocol::Edge& edge) {
    return edge.partitioning() != "FORWARD" && channelCount(graph, edge) > kMaxDrawnChannelsPerEdge;
}

namespace {

QSizeF boxSize(const protocol::Vertex& vertex) {
    bool compact = vertex.parallelism() > kCompactParallelism;
    QSizeF body = bodySize(std::max(1, vertex.parallelism()), compact);
    return {std::max(body.width(), kNodeWidth) + 2 * kPadding,
            headerHeight(vertex) + body.height() + 2 * kPadding};
}

// Widths, heights and left edges of the columns, from the boxes in them.
struct Columns {
    std::vector<double> width;
    std::vector<double> height;
    std::vector<double> x;
    double max_height = 0;
};

Columns measureColumns(const std::vector<int>& column, const std::vector<QSizeF>& sizes) {
    int count = column.empty() ? 0 : *std::max_element(column.begin(), column.end()) + 1;
    Columns columns;
    columns.width.assign(size_t(count), 0);
    columns.height.assign(size_t(count), 0);
    columns.x.assign(size_t(count), 0);
    for (size_t i = 0; i < column.size(); ++i) {
        size_t c = size_t(column[i]);
        columns.width[c] = std::max(columns.width[c], sizes[i].width());
        columns.height[c] += sizes[i].height() + (columns.height[c] > 0 ? kRowGap : 0);
        columns.max_height = std::max(columns.max_height, columns.height[c]);
    }
    for (size_t c = 1; c < size_t(count); ++c) {
        columns.x[c] = columns.x[c - 1] + columns.width[c - 1] + kColumnGap;
    }
    return columns;
}

// Adds the subtask nodes of a placed vertex box and their channel anchors.
void placeSubtasks(const protocol::Vertex& vertex, const JobGraphLayout::VertexBox& box,
                   JobGraphLayout* layout) {
    QPointF body_origin(box.rect.left() + kPadding,
                        box.rect.top() + kPadding + headerHeight(vertex));
    int columns_in_grid = (vertex.parallelism() + kCompactRows - 1) / kCompactRows;
    for (int s = 0; s < vertex.parallelism(); ++s) {
        QRectF rect = subtaskRect(body_origin, s, box.compact);
        std::pair<int, int> key{vertex.id(), s};
        layout->subtasks[key] = rect;
        if (box.compact) {
            double offset = (s / kCompactRows - (columns_in_grid - 1) / 2.0) * kAnchorSpread;
            layout->outputs[key] = {box.rect.right(), rect.center().y() + offset};
            layout->inputs[key] = {box.rect.left(), rect.center().y() + offset};
        } else {
            layout->outputs[key] = {rect.right(), rect.center().y()};
            layout->inputs[key] = {rect.left(), rect.center().y()};
        }
    }
}

void placeTaskManagers(int count, double top, JobGraphLayout* layout) {
    for (int t = 0; t < count; ++t) {
        layout->task_managers.emplace_back(t * (kTaskManagerWidth + kGap * 2), top,
                                           kTaskManagerWidth, 30);
    }
}

}  // namespace

JobGraphLayout layoutJobGraph(const protocol::JobGraph& graph) {
    JobGraphLayout layout;
    std::vector<int> column = columnsOf(graph);
    std::vector<QSizeF> sizes;
    for (const protocol::Vertex& vertex : graph.vertices()) {
        sizes.push_back(boxSize(vertex));
    }
    Columns columns = measureColumns(column, sizes);

    // Each column is centred vertically, so a chain reads as a straight line.
    std::vector<double> next_y;
    for (double height : columns.height) {
        next_y.push_back((columns.max_height - height) / 2);
    }
    for (int i = 0; i < graph.vertices_size(); ++i) {
        const protocol::Vertex& vertex = graph.vertices(i);
        size_t c = size_t(column[size_t(i)]);
        QSizeF size = sizes[size_t(i)];
        double x = columns.x[c] + (columns.width[c] - size.width()) / 2;
        JobGraphLayout::VertexBox box;
        box.vertex = vertex.id();
        box.compact = vertex.parallelism() > kCompactParallelism;
        box.rect = QRectF(x, next_y[c], size.width(), size.height());
        box.header = QRectF(x, next_y[c], size.width(), headerHeight(vertex) + kPadding);
        placeSubtasks(vertex, box, &layout);
        next_y[c] += size.height() + kRowGap;
        layout.vertices.push_back(box);
    }

    double width = columns.x.empty() ? 0 : columns.x.back() + columns.width.back();
    double tm_top = columns.max_height + kRowGap;
    placeTaskManagers(graph.task_managers(), tm_top, &layout);
    double tm_width = graph.task_managers() * (kTaskManagerWidth + kGap * 2);
    layout.bounds = QRectF(0, 0, std::max(width, tm_width), tm_top + 30);
    return layout;
}

}  // namespace sluice::ui
