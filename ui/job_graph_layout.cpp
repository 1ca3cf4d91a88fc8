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

JobGraphLayout layoutJobGraph(const protocol::JobGraph& graph) {
    JobGraphLayout layout;
    std::vector<int> column = columnsOf(graph);
    int columns =
        graph.vertices_size() == 0 ? 0 : *std::max_element(column.begin(), column.end()) + 1;
    std::vector<double> column_width(size_t(columns), 0);
    std::vector<double> column_height(size_t(columns), 0);
    std::vector<QSizeF> box_size;
    for (int i = 0; i < graph.vertices_size(); ++i) {
        const protocol::Vertex& vertex = graph.vertices(i);
        bool compact = vertex.parallelism() > kCompactParallelism;
        QSizeF body = bodySize(std::max(1, vertex.parallelism()), compact);
        double header = headerHeight(vertex);
        QSizeF size(std::max(body.width(), kNodeWidth) + 2 * kPadding,
                    header + body.height() + 2 * kPadding);
        box_size.push_back(size);
        size_t c = size_t(column[size_t(i)]);
        column_width[c] = std::max(column_width[c], size.width());
        column_height[c] += size.height() + (column_height[c] > 0 ? kRowGap : 0);
    }
    double total_height = 0;
    for (double height : column_height) {
        total_height = std::max(total_height, height);
    }
    std::vector<double> column_x(size_t(columns), 0);
    for (int c = 1; c < columns; ++c) {
        column_x[size_t(c)] = column_x[size_t(c - 1)] + column_width[size_t(c - 1)] + kColumnGap;
    }
    // Each column is centred vertically, so a chain reads as a straight line.
    std::vector<double> next_y(size_t(columns), 0);
    for (int c = 0; c < columns; ++c) {
        next_y[size_t(c)] = (total_height - column_height[size_t(c)]) / 2;
    }
    for (int i = 0; i < graph.vertices_size(); ++i) {
        const protocol::Vertex& vertex = graph.vertices(i);
        size_t c = size_t(column[size_t(i)]);
        QSizeF size = box_size[size_t(i)];
        double x = column_x[c] + (column_width[c] - size.width()) / 2;
        JobGraphLayout::VertexBox box;
        box.vertex = vertex.id();
        box.compact = vertex.parallelism() > kCompactParallelism;
        box.rect = QRectF(x, next_y[c], size.width(), size.height());
        double header = headerHeight(vertex);
        box.header = QRectF(x, next_y[c], size.width(), header + kPadding);
        QPointF body_origin(x + kPadding, next_y[c] + kPadding + header);
        int columns_in_grid = (vertex.parallelism() + kCompactRows - 1) / kCompactRows;
        for (int s = 0; s < vertex.parallelism(); ++s) {
            QRectF rect = subtaskRect(body_origin, s, box.compact);
            layout.subtasks[{vertex.id(), s}] = rect;
            if (box.compact) {
                double offset = (s / kCompactRows - (columns_in_grid - 1) / 2.0) * kAnchorSpread;
                layout.outputs[{vertex.id(), s}] = {box.rect.right(), rect.center().y() + offset};
                layout.inputs[{vertex.id(), s}] = {box.rect.left(), rect.center().y() + offset};
            } else {
                layout.outputs[{vertex.id(), s}] = {rect.right(), rect.center().y()};
                layout.inputs[{vertex.id(), s}] = {rect.left(), rect.center().y()};
            }
        }
        next_y[c] += size.height() + kRowGap;
        layout.vertices.push_back(box);
    }
    double width = columns == 0 ? 0 : column_x.back() + column_width.back();
    double tm_y = total_height + kRowGap;
    for (int t = 0; t < graph.task_managers(); ++t) {
        layout.task_managers.emplace_back(t * (kTaskManagerWidth + kGap * 2), tm_y,
                                          kTaskManagerWidth, 30);
    }
    double tm_width = graph.task_managers() * (kTaskManagerWidth + kGap * 2);
    layout.bounds = QRectF(0, 0, std::max(width, tm_width), tm_y + 30);
    return layout;
}

}  // namespace sluice::ui
