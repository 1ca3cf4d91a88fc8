#include "runtime/graph/job_graph.h"

namespace sluice {

namespace {

// Resolves the default partitioner and checks FORWARD edges.
PartitionerSpec resolvePartitioner(const StreamGraph& graph, const StreamEdge& edge) {
    const StreamNode& source = graph.node(edge.source);
    const StreamNode& target = graph.node(edge.target);
    PartitionerSpec spec = edge.partitioner;
    if (!edge.explicit_partitioner) {
        spec.kind = source.parallelism == target.parallelism ? PartitionerKind::kForward
                                                             : PartitionerKind::kRebalance;
    }
    if (spec.kind == PartitionerKind::kForward && source.parallelism != target.parallelism) {
        throw InvalidJobError("FORWARD edge from '" + source.name + "' (parallelism " +
                              std::to_string(source.parallelism) + ") to '" + target.name +
                              "' (parallelism " + std::to_string(target.parallelism) +
                              ") needs equal parallelism; use REBALANCE or HASH instead");
    }
    spec.max_parallelism = target.max_parallelism;
    return spec;
}

}  // namespace

bool isChainable(const StreamGraph& graph, const StreamEdge& edge) {
    const StreamNode& source = graph.node(edge.source);
    const StreamNode& target = graph.node(edge.target);
    PartitionerKind kind = edge.explicit_partitioner ? edge.partitioner.kind
                                                     : (source.parallelism == target.parallelism
                                                            ? PartitionerKind::kForward
                                                            : PartitionerKind::kRebalance);
    return kind == PartitionerKind::kForward && source.parallelism == target.parallelism &&
           target.in_edges.size() == 1 && source.chaining != ChainingStrategy::kNever &&
           target.chaining == ChainingStrategy::kAlways && !target.is_source;
}

JobGraph JobGraph::fromStreamGraph(const StreamGraph& graph) {
    JobGraph job;
    const auto& nodes = graph.nodes();
    job.vertex_of_node_.assign(nodes.size(), -1);

    // Nodes are in topological order, so a node's chained input already has
    // its vertex when the node is visited.
    for (const StreamNode& node : nodes) {
        if (node.parallelism < 1 || node.parallelism > node.max_parallelism) {
            throw InvalidJobError("operator '" + node.name + "' has parallelism " +
                                  std::to_string(node.parallelism) +
                                  "; it must be between 1 and its max parallelism " +
                                  std::to_string(node.max_parallelism));
        }
        if (!node.is_source && node.in_edges.empty()) {
            throw InvalidJobError("operator '" + node.name + "' has no input");
        }
        int vertex_id = -1;
        if (node.in_edges.size() == 1) {
            const StreamEdge& in = graph.edge(node.in_edges[0]);
            if (isChainable(graph, in)) {
                vertex_id = job.vertex_of_node_[size_t(in.source)];
            }
        }
        if (vertex_id < 0) {
            JobVertex vertex;
            vertex.id = int(job.vertices_.size());
            vertex.name = node.name;
            vertex.parallelism = node.parallelism;
            vertex.max_parallelism = node.max_parallelism;
            vertex.head_node = node.id;
            vertex.is_source = node.is_source;
            job.vertices_.push_back(vertex);
            vertex_id = vertex.id;
        } else {
            job.vertices_[size_t(vertex_id)].name += " -> " + node.name;
        }
        job.vertices_[size_t(vertex_id)].nodes.push_back(node.id);
        job.vertex_of_node_[size_t(node.id)] = vertex_id;
    }

    for (const StreamEdge& edge : graph.edges()) {
        PartitionerSpec spec = resolvePartitioner(graph, edge);
        int source_vertex = job.vertex_of_node_[size_t(edge.source)];
        int target_vertex = job.vertex_of_node_[size_t(edge.target)];
        if (source_vertex == target_vertex) {
            continue;  // chained
        }
        JobEdge job_edge;
        job_edge.id = int(job.edges_.size());
        job_edge.source_vertex = source_vertex;
        job_edge.target_vertex = target_vertex;
        job_edge.stream_edge = edge.id;
        job_edge.partitioner = std::move(spec);
        job.vertices_[size_t(source_vertex)].out_edges.push_back(job_edge.id);
        job.vertices_[size_t(target_vertex)].in_edges.push_back(job_edge.id);
        job.edges_.push_back(std::move(job_edge));
    }
    return job;
}

}  // namespace sluice
