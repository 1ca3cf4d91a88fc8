#include "runtime/cluster/shuffle_registry.h"

#include <algorithm>

namespace sluice {

bool ShuffleRegistry::connectInputs(StreamTask& consumer, const JobGraph& job) const {
    const JobVertex& vertex = consumer.vertex();
    for (size_t g = 0; g < vertex.in_edges.size(); ++g) {
        const JobEdge& edge = job.edge(vertex.in_edges[g]);
        const JobVertex& source = job.vertex(edge.source_vertex);
        int partition_index =
            int(std::find(source.out_edges.begin(), source.out_edges.end(), edge.id) -
                source.out_edges.begin());
        InputGate& gate = consumer.gate(int(g));
        for (int channel = 0; channel < gate.channelCount(); ++channel) {
            int producer_subtask = edge.isPointwise() ? consumer.id().subtask : channel;
            int subpartition = edge.isPointwise() ? 0 : consumer.id().subtask;
            StreamTask* producer = find(edge.source_vertex, producer_subtask);
            if (!producer) {
                return false;
            }
            ResultPartition& partition = producer->partition(partition_index);
            gate.connect(channel, &partition, subpartition, producer->node());
            partition.connect(subpartition, &gate, channel, consumer.node());
        }
    }
    return true;
}

}  // namespace sluice
