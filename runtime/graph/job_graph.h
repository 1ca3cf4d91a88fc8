#pragma once

#include "runtime/graph/stream_graph.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace sluice {

// Thrown when a program cannot be translated, such as a FORWARD edge between
// different parallelisms.
class InvalidJobError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A chain of operators that runs as one task per subtask.
struct JobVertex {
    int id = 0;
    std::string name;  // operator names joined with " -> "
    int parallelism = 1;
    int max_parallelism = kDefaultMaxParallelism;
    int head_node = 0;
    // Stream nodes of the chain in topological order, head first.
    std::vector<int> nodes;
    std::vector<int> in_edges;   // JobEdge ids, in the order of the input gates
    std::vector<int> out_edges;  // JobEdge ids, in the order of the result partitions
    bool is_source = false;
};

// A network connection between two vertices.
struct JobEdge {
    int id = 0;
    int source_vertex = 0;
    int target_vertex = 0;
    int stream_edge = 0;  // the StreamEdge it carries
    PartitionerSpec partitioner;
    // FORWARD: one channel per subtask pair; otherwise all-to-all.
    bool isPointwise() const { return partitioner.kind == PartitionerKind::kForward; }
};

// The program after operator chaining. Operators joined by a FORWARD edge
// with equal parallelism chain into one vertex unless a chaining strategy
// forbids it, and the downstream operator has exactly one input.
class JobGraph {
public:
    // Translates `graph`; throws InvalidJobError if it is inconsistent.
    static JobGraph fromStreamGraph(const StreamGraph& graph);

    const std::vector<JobVertex>& vertices() const { return vertices_; }
    const std::vector<JobEdge>& edges() const { return edges_; }
    const JobVertex& vertex(int id) const { return vertices_.at(size_t(id)); }
    const JobEdge& edge(int id) const { return edges_.at(size_t(id)); }
    // Vertex that contains stream node `node`.
    int vertexOfNode(int node) const { return vertex_of_node_.at(size_t(node)); }

private:
    std::vector<JobVertex> vertices_;
    std::vector<JobEdge> edges_;
    std::vector<int> vertex_of_node_;
};

// Decides whether `edge` may chain its target into its source's vertex.
bool isChainable(const StreamGraph& graph, const StreamEdge& edge);

}  // namespace sluice
