#include "runtime/graph/stream_graph.h"

namespace sluice {

StreamNode& StreamGraph::addNode(StreamNode node) {
    node.id = int(nodes_.size());
    nodes_.push_back(std::move(node));
    return nodes_.back();
}

StreamEdge& StreamGraph::addEdge(int source, int target, PartitionerSpec partitioner,
                                 bool is_explicit) {
    StreamEdge edge;
    edge.id = int(edges_.size());
    edge.source = source;
    edge.target = target;
    edge.partitioner = std::move(partitioner);
    edge.explicit_partitioner = is_explicit;
    edges_.push_back(std::move(edge));
    nodes_.at(size_t(source)).out_edges.push_back(edges_.back().id);
    nodes_.at(size_t(target)).in_edges.push_back(edges_.back().id);
    return edges_.back();
}

}  // namespace sluice
