#pragma once

#include "runtime/graph/partitioner.h"
#include "runtime/graph/type_info.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sluice {

enum class ChainingStrategy : uint8_t {
    kAlways,  // chain with the input and output where the rules allow it
    kHead,    // begin a new chain here (DataStream#startNewChain)
    kNever,   // chain with neither side (DataStream#disableChaining)
};

// Cost of one operator in the simulated CPU.
struct OperatorCostSpec {
    int64_t ns_per_record = 0;
    double jitter = 0;
    // A SkewFunction<IN> of the operator's input type, or null.
    std::shared_ptr<const void> skew;
};

// One operator of the program as the DataStream API built it.
struct StreamNode {
    int id = 0;
    std::string name;
    int parallelism = 1;
    int max_parallelism = kDefaultMaxParallelism;
    ChainingStrategy chaining = ChainingStrategy::kAlways;
    bool is_source = false;
    bool is_sink = false;
    // Creates one operator instance per subtask.
    std::function<std::unique_ptr<StreamOperatorBase>()> operator_factory;
    std::shared_ptr<const TypeInfoBase> input_type;   // null for sources
    std::shared_ptr<const TypeInfoBase> output_type;  // null for sinks
    OperatorCostSpec cost;
    std::vector<int> in_edges;
    std::vector<int> out_edges;
};

// A connection between two stream nodes. `explicit_partitioner` is false
// when the program chose none: then it is FORWARD for equal parallelism and
// REBALANCE otherwise, decided at translation.
struct StreamEdge {
    int id = 0;
    int source = 0;
    int target = 0;
    PartitionerSpec partitioner;
    bool explicit_partitioner = false;
};

// The logical program: nodes in creation order, which is a topological order
// because every node is created after its inputs.
class StreamGraph {
public:
    StreamNode& addNode(StreamNode node);
    StreamEdge& addEdge(int source, int target, PartitionerSpec partitioner, bool is_explicit);

    const std::vector<StreamNode>& nodes() const { return nodes_; }
    std::vector<StreamNode>& nodes() { return nodes_; }
    const std::vector<StreamEdge>& edges() const { return edges_; }
    std::vector<StreamEdge>& edges() { return edges_; }
    StreamNode& node(int id) { return nodes_.at(size_t(id)); }
    const StreamNode& node(int id) const { return nodes_.at(size_t(id)); }
    const StreamEdge& edge(int id) const { return edges_.at(size_t(id)); }

private:
    std::vector<StreamNode> nodes_;
    std::vector<StreamEdge> edges_;
};

}  // namespace sluice
