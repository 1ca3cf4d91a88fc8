// Operator chaining: how JobGraph::fromStreamGraph groups the operators of a
// DataStream program into vertices and which partitioner each remaining
// network edge gets.

#include <QtTest>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/api/data_stream.h"
#include "runtime/graph/job_graph.h"

using sluice::DataStream;
using sluice::InvalidJobError;
using sluice::JobGraph;
using sluice::PartitionerKind;
using sluice::StreamExecutionEnvironment;

namespace {

// An empty log partition: translation never reads records, but a source
// needs a spec.
class EmptyPartition final : public sluice::LogPartition<int64_t> {
public:
    uint64_t size() const override { return 0; }
    void read(uint64_t, int64_t&, sluice::TimestampMs&) override {}
};

sluice::LogSourceSpec<int64_t> emptySpec() {
    sluice::LogSourceSpec<int64_t> spec;
    spec.partition_count = 2;
    spec.open_partition = [](int) { return std::make_unique<EmptyPartition>(); };
    return spec;
}

class DiscardSink final : public sluice::SinkFunction<int64_t> {
public:
    void invoke(const int64_t&, sluice::TimestampMs) override {}
};

class DiscardPairSink final : public sluice::SinkFunction<std::pair<int64_t, int64_t>> {
public:
    void invoke(const std::pair<int64_t, int64_t>&, sluice::TimestampMs) override {}
};

DataStream<int64_t> addDiscardSink(const DataStream<int64_t>& stream) {
    return stream.addSink([] { return std::make_unique<DiscardSink>(); });
}

int64_t twice(const int64_t& value) {
    return 2 * value;
}
bool isEven(const int64_t& value) {
    return value % 2 == 0;
}
int64_t identityKey(const int64_t& value) {
    return value;
}

std::vector<std::string> vertexNames(const JobGraph& job) {
    std::vector<std::string> names;
    for (const auto& vertex : job.vertices()) {
        names.push_back(vertex.name);
    }
    return names;
}

}  // namespace

class TstChaining : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // FORWARD with equal parallelism: the whole pipeline is one vertex.
    void forwardEqualParallelismChains() {
        StreamExecutionEnvironment env;
        env.setParallelism(2);
        auto source = env.fromSource(emptySpec(), "Source");
        auto mapped = source.map<int64_t>(twice, "Map");
        auto filtered = mapped.filter(isEven, "Filter");
        auto sink = addDiscardSink(filtered);

        const JobGraph job = JobGraph::fromStreamGraph(env.streamGraph());
        QCOMPARE(job.vertices().size(), size_t(1));
        QCOMPARE(job.edges().size(), size_t(0));
        const auto& vertex = job.vertex(0);
        QCOMPARE(vertex.name, std::string("Source -> Map -> Filter -> Sink"));
        QCOMPARE(vertex.nodes, (std::vector<int>{source.nodeId(), mapped.nodeId(),
                                                 filtered.nodeId(), sink.nodeId()}));
        QCOMPARE(vertex.head_node, source.nodeId());
        QCOMPARE(vertex.parallelism, 2);
        QVERIFY(vertex.is_source);
        QCOMPARE(job.vertexOfNode(sink.nodeId()), 0);
    }

    // Without an explicit partitioner a parallelism change becomes REBALANCE
    // and splits the chain.
    void differentParallelismSplits() {
        StreamExecutionEnvironment env;
        auto source = env.fromSource(emptySpec(), "Source").setParallelism(1);
        auto mapped = source.map<int64_t>(twice, "Map").setParallelism(3);
        auto sink = addDiscardSink(mapped).setParallelism(3);

        const JobGraph job = JobGraph::fromStreamGraph(env.streamGraph());
        QCOMPARE(vertexNames(job), (std::vector<std::string>{"Source", "Map -> Sink"}));
        QCOMPARE(job.vertex(0).parallelism, 1);
        QCOMPARE(job.vertex(1).parallelism, 3);
        QVERIFY(!job.vertex(1).is_source);
        QCOMPARE(job.edges().size(), size_t(1));
        const auto& edge = job.edge(0);
        QCOMPARE(edge.source_vertex, 0);
        QCOMPARE(edge.target_vertex, 1);
        QCOMPARE(int(edge.partitioner.kind), int(PartitionerKind::kRebalance));
        QVERIFY(!edge.isPointwise());
        QCOMPARE(job.vertex(0).out_edges, std::vector<int>{0});
        QCOMPARE(job.vertex(1).in_edges, std::vector<int>{0});
        QCOMPARE(job.vertexOfNode(sink.nodeId()), 1);
    }

    // keyBy makes the edge HASH, which never chains even at equal parallelism.
    // The edge uses the max parallelism of its target.
    void keyByBreaksChain() {
        StreamExecutionEnvironment env;
        env.setParallelism(2);
        env.setMaxParallelism(64);
        auto mapped = env.fromSource(emptySpec(), "Source").map<int64_t>(twice, "Map");
        auto counted = mapped.keyBy<int64_t>(identityKey).count("Count");
        counted.setMaxParallelism(32);
        counted.addSink([] { return std::make_unique<DiscardPairSink>(); }, "Sink");

        const JobGraph job = JobGraph::fromStreamGraph(env.streamGraph());
        QCOMPARE(vertexNames(job), (std::vector<std::string>{"Source -> Map", "Count -> Sink"}));
        QCOMPARE(job.edges().size(), size_t(1));
        const auto& edge = job.edge(0);
        QCOMPARE(int(edge.partitioner.kind), int(PartitionerKind::kHash));
        QVERIFY(!edge.isPointwise());
        QVERIFY(edge.partitioner.key_bytes != nullptr);
        QCOMPARE(edge.partitioner.max_parallelism, 32);
        QCOMPARE(job.vertex(1).max_parallelism, 32);
    }

    // An explicit rebalance() or broadcast() at equal parallelism also breaks
    // the chain, because only FORWARD edges chain.
    void explicitPartitionerSplits_data() {
        QTest::addColumn<int>("kind");
        QTest::newRow("rebalance") << int(PartitionerKind::kRebalance);
        QTest::newRow("broadcast") << int(PartitionerKind::kBroadcast);
    }
    void explicitPartitionerSplits() {
        QFETCH(int, kind);
        StreamExecutionEnvironment env;
        env.setParallelism(2);
        auto source = env.fromSource(emptySpec(), "Source");
        auto partitioned =
            kind == int(PartitionerKind::kRebalance) ? source.rebalance() : source.broadcast();
        addDiscardSink(partitioned.map<int64_t>(twice, "Map"));

        const JobGraph job = JobGraph::fromStreamGraph(env.streamGraph());
        QCOMPARE(vertexNames(job), (std::vector<std::string>{"Source", "Map -> Sink"}));
        QCOMPARE(job.edges().size(), size_t(1));
        QCOMPARE(int(job.edge(0).partitioner.kind), kind);
    }

    // An explicit forward() at equal parallelism chains like the default.
    void explicitForwardChains() {
        StreamExecutionEnvironment env;
        env.setParallelism(3);
        auto source = env.fromSource(emptySpec(), "Source");
        addDiscardSink(source.forward().map<int64_t>(twice, "Map"));

        const JobGraph job = JobGraph::fromStreamGraph(env.streamGraph());
        QCOMPARE(vertexNames(job), (std::vector<std::string>{"Source -> Map -> Sink"}));
    }

    // startNewChain: the operator heads a new vertex but still chains with
    // its own successor. The edge into it stays FORWARD, so it is pointwise.
    void startNewChain() {
        StreamExecutionEnvironment env;
        env.setParallelism(2);
        auto mapped = env.fromSource(emptySpec(), "Source").map<int64_t>(twice, "Map");
        auto filtered = mapped.filter(isEven, "Filter");
        filtered.startNewChain();
        addDiscardSink(filtered);

        const JobGraph job = JobGraph::fromStreamGraph(env.streamGraph());
        QCOMPARE(vertexNames(job), (std::vector<std::string>{"Source -> Map", "Filter -> Sink"}));
        QCOMPARE(job.edges().size(), size_t(1));
        QCOMPARE(int(job.edge(0).partitioner.kind), int(PartitionerKind::kForward));
        QVERIFY(job.edge(0).isPointwise());
        QCOMPARE(job.vertex(1).head_node, filtered.nodeId());
    }

    // disableChaining: the operator chains with neither its input nor its output.
    void disableChaining() {
        StreamExecutionEnvironment env;
        env.setParallelism(2);
        auto mapped = env.fromSource(emptySpec(), "Source").map<int64_t>(twice, "Map");
        mapped.disableChaining();
        addDiscardSink(mapped.filter(isEven, "Filter"));

        const JobGraph job = JobGraph::fromStreamGraph(env.streamGraph());
        QCOMPARE(vertexNames(job), (std::vector<std::string>{"Source", "Map", "Filter -> Sink"}));
        QCOMPARE(job.edges().size(), size_t(2));
        QCOMPARE(int(job.edge(0).partitioner.kind), int(PartitionerKind::kForward));
        QCOMPARE(int(job.edge(1).partitioner.kind), int(PartitionerKind::kForward));
    }

    // An operator with two inputs heads its own vertex, with one input gate
    // per input edge, even though both edges are FORWARD at equal parallelism.
    void twoInputsNotChained() {
        StreamExecutionEnvironment env;
        env.setParallelism(2);
        auto left = env.fromSource(emptySpec(), "Left");
        auto right = env.fromSource(emptySpec(), "Right");
        auto joined = left.map<int64_t>(twice, "Union");
        env.streamGraph().addEdge(right.nodeId(), joined.nodeId(), sluice::PartitionerSpec{},
                                  false);
        addDiscardSink(joined);

        const JobGraph job = JobGraph::fromStreamGraph(env.streamGraph());
        QCOMPARE(vertexNames(job), (std::vector<std::string>{"Left", "Right", "Union -> Sink"}));
        QCOMPARE(job.edges().size(), size_t(2));
        const auto& union_vertex = job.vertex(2);
        QCOMPARE(union_vertex.in_edges.size(), size_t(2));
        QCOMPARE(job.edge(union_vertex.in_edges[0]).source_vertex, 0);
        QCOMPARE(job.edge(union_vertex.in_edges[1]).source_vertex, 1);
        QCOMPARE(int(job.edge(0).partitioner.kind), int(PartitionerKind::kForward));
    }

    // A source may fan out: each single-input successor chains into it.
    void fanOutChainsEachBranch() {
        StreamExecutionEnvironment env;
        auto source = env.fromSource(emptySpec(), "Source");
        addDiscardSink(source.map<int64_t>(twice, "A"));
        addDiscardSink(source.filter(isEven, "B"));

        const JobGraph job = JobGraph::fromStreamGraph(env.streamGraph());
        QCOMPARE(vertexNames(job), (std::vector<std::string>{"Source -> A -> Sink -> B -> Sink"}));
        QCOMPARE(job.edges().size(), size_t(0));
    }

    // FORWARD needs equal parallelism, so an explicit one across a change is an error.
    void explicitForwardMismatchThrows() {
        StreamExecutionEnvironment env;
        auto source = env.fromSource(emptySpec(), "Source").setParallelism(2);
        addDiscardSink(source.forward().map<int64_t>(twice, "Map").setParallelism(3))
            .setParallelism(3);

        try {
            JobGraph::fromStreamGraph(env.streamGraph());
            QFAIL("a FORWARD edge between parallelism 2 and 3 was accepted");
        } catch (const InvalidJobError& error) {
            const std::string message = error.what();
            QVERIFY2(message.find("FORWARD") != std::string::npos, error.what());
            QVERIFY2(message.find("'Source'") != std::string::npos, error.what());
            QVERIFY2(message.find("'Map'") != std::string::npos, error.what());
        }
    }

    void parallelismAboveMaxThrows() {
        StreamExecutionEnvironment env;
        env.setMaxParallelism(4);
        auto source = env.fromSource(emptySpec(), "Source").setParallelism(5);
        addDiscardSink(source.rebalance()).setParallelism(1);
        QVERIFY_THROWS_EXCEPTION(InvalidJobError, JobGraph::fromStreamGraph(env.streamGraph()));
    }

    // Vertices, chains and edges are consistent with each other in a larger
    // program: every node is in exactly one vertex, and every stream edge is
    // either inside a vertex or carried by exactly one job edge.
    void translationIsConsistent() {
        StreamExecutionEnvironment env;
        env.setParallelism(2);
        auto source = env.fromSource(emptySpec(), "Source");
        auto mapped = source.map<int64_t>(twice, "Map").setParallelism(4);
        auto counted = mapped.keyBy<int64_t>(identityKey).count("Count");
        counted.addSink([] { return std::make_unique<DiscardPairSink>(); }, "Sink")
            .setParallelism(4);

        const auto& graph = env.streamGraph();
        const JobGraph job = JobGraph::fromStreamGraph(graph);
        QCOMPARE(vertexNames(job), (std::vector<std::string>{"Source", "Map", "Count", "Sink"}));
        std::vector<int> seen(graph.nodes().size(), 0);
        for (const auto& vertex : job.vertices()) {
            for (int node : vertex.nodes) {
                ++seen[size_t(node)];
                QCOMPARE(job.vertexOfNode(node), vertex.id);
                QCOMPARE(graph.node(node).parallelism, vertex.parallelism);
            }
        }
        QCOMPARE(seen, std::vector<int>(graph.nodes().size(), 1));
        std::vector<int> carried(graph.edges().size(), 0);
        for (const auto& edge : job.edges()) {
            ++carried[size_t(edge.stream_edge)];
        }
        for (const auto& edge : graph.edges()) {
            const bool internal = job.vertexOfNode(edge.source) == job.vertexOfNode(edge.target);
            QCOMPARE(carried[size_t(edge.id)], internal ? 0 : 1);
        }
        // Source(2) -> Map(4) REBALANCE, Map(4) -> Count(2) HASH, Count(2) -> Sink(4) REBALANCE.
        QCOMPARE(job.edges().size(), size_t(3));
        QCOMPARE(int(job.edge(0).partitioner.kind), int(PartitionerKind::kRebalance));
        QCOMPARE(int(job.edge(1).partitioner.kind), int(PartitionerKind::kHash));
        QCOMPARE(int(job.edge(2).partitioner.kind), int(PartitionerKind::kRebalance));
    }
};

QTEST_GUILESS_MAIN(TstChaining)
#include "tst_chaining.moc"
