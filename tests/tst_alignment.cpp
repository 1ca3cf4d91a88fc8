// Barrier handling inside tasks, seen through sim::Engine: aligned
// checkpoints block the channels that delivered their barrier, at-least-once
// ones never do, a newer barrier cancels an alignment in progress, unaligned
// barriers persist the buffers they overtake, and aligned checkpoints with a
// timeout switch to unaligned while the barrier still waits in an output
// queue. That no record after a barrier enters a snapshot is checked on the
// state itself by tst_consistent_cut.

// The engine headers come before Qt's: Qt defines emit and slots as macros,
// which are also names in the runtime.
#include "engine_support.h"
#include "sim/engine.h"

#include <QtTest>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

using sluice::CheckpointStats;
using sluice::CheckpointStatus;
using sluice::kNanosPerMilli;
using sluice::Nanos;
using sluice::sim::Engine;
using sluice::sim::EngineOptions;
using sluice::sim::LoadedScenario;
using sluice::sim::RunState;
using sluice::sim::ScenarioError;
namespace scenario = sluice::scenario;

namespace {

using sluice::test::loadScenario;
using sluice::test::makeEngine;

// aligned-vs-unaligned with 4 KiB buffers: the aggregate is backpressured,
// and the barriers of its two input channels arrive hundreds of
// milliseconds apart, yet aligned checkpoints complete.
LoadedScenario skewedJob(scenario::CheckpointingMode mode) {
    LoadedScenario s = loadScenario("scenarios/aligned-vs-unaligned.textproto");
    s.proto.mutable_network()->set_buffer_size_bytes(4096);
    auto* c = s.proto.mutable_checkpointing();
    c->set_mode(mode);
    c->set_timeout_ms(600000);
    return s;
}

int vertexNamed(const Engine& engine, const std::string& prefix) {
    for (const auto& v : engine.jobGraph().vertices()) {
        if (v.name.rfind(prefix, 0) == 0) {
            return v.id;
        }
    }
    return -1;
}

// Whether any input channel of the vertex's subtasks is blocked now.
bool anyChannelBlocked(const Engine& engine, int vertex) {
    for (int s = 0; s < engine.jobGraph().vertex(vertex).parallelism; ++s) {
        // gate() is non-const only because tasks feed it; this only reads.
        auto* task = const_cast<sluice::StreamTask*>(engine.task(vertex, s));
        if (!task) {
            continue;
        }
        for (int g = 0; g < task->gateCount(); ++g) {
            auto& gate = task->gate(g);
            for (int c = 0; c < gate.channelCount(); ++c) {
                if (gate.channel(c).blocked) {
                    return true;
                }
            }
        }
    }
    return false;
}

// The slow-sink job of the aligned-timeout cases: source -> map -> sink, no
// chaining, the sink at 5 % of the source rate, two exclusive buffers per
// channel, so map's output subpartition fills and the barrier waits in it.
LoadedScenario slowSinkJob(scenario::CheckpointingMode mode) {
    auto parsed =
        sluice::sim::parseScenario(R"(
name: "slow-sink"
seed: 9
cluster { task_managers: 1 }
network { buffers_per_channel: 2 floating_buffers_per_gate: 0 }
run { until_ms: 5500 }
checkpointing { interval_ms: 3000 timeout_ms: 30000 aligned_timeout_ms: 2000 }
job {
  name: "slow-sink"
  operators {
    id: "source"
    parallelism: 1
    generator { key_count: 100 rate_per_second: 5000 }
  }
  operators { id: "map" parallelism: 1 chaining: DISABLE_CHAINING map {} cost { ns_per_record: 1000 } }
  operators { id: "sink" parallelism: 1 chaining: DISABLE_CHAINING sink { kind: DISCARD }
              cost { ns_per_record: 4000000 } }
  edges { from: "source" to: "map" partitioning: FORWARD }
  edges { from: "map" to: "sink" partitioning: FORWARD }
}
)",
                                   "slow-sink.textproto", sluice::test::sourcePath("tests"), false);
    if (auto* e = std::get_if<ScenarioError>(&parsed)) {
        qFatal("test scenario does not parse: %s", e->format().c_str());
    }
    LoadedScenario s = std::get<LoadedScenario>(parsed);
    s.proto.mutable_checkpointing()->set_mode(mode);
    return s;
}

// Case C2, position B: the slow aggregate has two inputs. The light source's
// barrier arrives at once and blocks its channel; the busy source's barrier
// waits in the aggregate's input channel behind many buffers (its sender's
// output queue stays empty, because the receiver has buffers to spare), so
// only the receiver can switch to unaligned when the timeout expires.
LoadedScenario stalledInputJob() {
    auto parsed = sluice::sim::parseScenario(R"(
name: "stalled-input"
seed: 4
cluster { task_managers: 1 }
network { buffers_per_channel: 50 floating_buffers_per_gate: 50 buffer_timeout_ms: 10 }
run { until_ms: 5500 }
checkpointing { mode: ALIGNED_WITH_TIMEOUT interval_ms: 2000 timeout_ms: 30000
                aligned_timeout_ms: 2000 }
job {
  name: "stalled-input"
  operators { id: "light" parallelism: 1 generator { key_count: 100 rate_per_second: 100 } }
  operators { id: "busy" parallelism: 1 generator { key_count: 100 rate_per_second: 2000 } }
  operators { id: "aggregate" parallelism: 1 aggregate { function: COUNT }
              cost { ns_per_record: 1000000 } }
  operators { id: "sink" parallelism: 1 sink { kind: DISCARD } }
  edges { from: "light" to: "aggregate" partitioning: HASH }
  edges { from: "busy" to: "aggregate" partitioning: HASH }
  edges { from: "aggregate" to: "sink" partitioning: FORWARD }
}
)",
                                             "stalled-input.textproto",
                                             sluice::test::sourcePath("tests"), false);
    if (auto* e = std::get_if<ScenarioError>(&parsed)) {
        qFatal("test scenario does not parse: %s", e->format().c_str());
    }
    return std::get<LoadedScenario>(parsed);
}

const sluice::SubtaskCheckpointStats* subtaskStats(const CheckpointStats& stats, int vertex,
                                                   int subtask) {
    for (const auto& s : stats.subtasks) {
        if (s.vertex == vertex && s.subtask == subtask) {
            return &s;
        }
    }
    return nullptr;
}

}  // namespace

class TstAlignment : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void exactlyOnceBlocks();
    void atLeastOnceNeverBlocks();
    void newerBarrierCancels();
    void unalignedPersistsOvertaken();
    void timeoutInOutputQueue();
    void timeoutInInputChannel();
    void alignedWithoutTimeoutExpires();
};

void TstAlignment::exactlyOnceBlocks() {
    EngineOptions options;
    options.until_ms = 16000;
    auto engine = makeEngine(skewedJob(scenario::EXACTLY_ONCE), options);
    QVERIFY(engine);
    const int aggregate = vertexNamed(*engine, "aggregate");
    QVERIFY(aggregate >= 0);
    bool blocked_seen = false;
    engine->addEventObserver([&](const sluice::sim::SimEvent&) {
        blocked_seen = blocked_seen || anyChannelBlocked(*engine, aggregate);
    });
    engine->run();
    int completed = 0;
    Nanos max_alignment = 0;
    for (const auto& stats : engine->checkpointHistory()) {
        if (stats.status != CheckpointStatus::kCompleted) {
            continue;
        }
        ++completed;
        QVERIFY(!stats.unaligned);
        for (int s = 0; s < 2; ++s) {
            const auto* sub = subtaskStats(stats, aggregate, s);
            QVERIFY(sub && sub->acknowledged);
            max_alignment = std::max(max_alignment, sub->alignment_duration_ns);
        }
    }
    QVERIFY(completed >= 2);
    QVERIFY2(max_alignment > 10 * kNanosPerMilli, qPrintable(QString::number(max_alignment)));
    QVERIFY(blocked_seen);
}

void TstAlignment::atLeastOnceNeverBlocks() {
    EngineOptions options;
    options.until_ms = 16000;
    auto engine = makeEngine(skewedJob(scenario::AT_LEAST_ONCE), options);
    QVERIFY(engine);
    const int aggregate = vertexNamed(*engine, "aggregate");
    bool blocked_seen = false;
    engine->addEventObserver([&](const sluice::sim::SimEvent&) {
        blocked_seen = blocked_seen || anyChannelBlocked(*engine, aggregate);
    });
    engine->run();
    int completed = 0;
    Nanos max_alignment = 0;
    for (const auto& stats : engine->checkpointHistory()) {
        if (stats.status == CheckpointStatus::kCompleted) {
            ++completed;
            for (const auto& sub : stats.subtasks) {
                if (sub.vertex == aggregate) {
                    max_alignment = std::max(max_alignment, sub.alignment_duration_ns);
                }
            }
        }
    }
    QVERIFY(completed >= 2);
    QVERIFY(!blocked_seen);
    // The barriers still arrive apart, and the time between them is
    // reported, but records kept flowing meanwhile.
    QVERIFY(max_alignment > 0);
}

// Barriers travel FIFO, so a newer barrier can only reach a task that is
// still aligning an older one when it overtakes it: an aligned barrier with
// timeout that turned into a priority barrier in its sender's output queue.
// Here: two sources, a keyed aggregate, barriers every 200 ms with two
// checkpoints allowed at once, alignment timeout 300 ms.
void TstAlignment::newerBarrierCancels() {
    LoadedScenario s = skewedJob(scenario::ALIGNED_WITH_TIMEOUT);
    s.proto.mutable_checkpointing()->set_interval_ms(200);
    s.proto.mutable_checkpointing()->set_max_concurrent(2);
    s.proto.mutable_checkpointing()->set_aligned_timeout_ms(300);
    EngineOptions options;
    options.until_ms = 8000;
    auto engine = makeEngine(s, options);
    QVERIFY(engine);
    engine->run();
    QCOMPARE(engine->runState(), RunState::kTimeLimit);
    int64_t first_canceled = -1;
    int64_t completed_after = -1;
    for (const auto& stats : engine->checkpointHistory()) {
        const QString cause = QString::fromStdString(stats.failure_cause);
        if (stats.status == CheckpointStatus::kFailed && first_canceled < 0 &&
            cause.contains("declined") && cause.contains("canceled by the")) {
            first_canceled = stats.id;
        }
        if (stats.status == CheckpointStatus::kCompleted && first_canceled > 0 &&
            stats.id > first_canceled) {
            completed_after = stats.id;
        }
    }
    QVERIFY2(first_canceled > 0, "no checkpoint was canceled by a newer one");
    // A source whose acknowledgement of checkpoint n still waits for its
    // barrier to leave the output queue must not decline n when n+1 is
    // triggered, or with an interval below the alignment timeout no
    // checkpoint would ever complete.
    QVERIFY2(completed_after > 0, "no checkpoint completed after the cancellation");
    // Cancellation unblocks the channels: the aggregate kept processing.
    const int aggregate = vertexNamed(*engine, "aggregate");
    QVERIFY(aggregate >= 0);
    QVERIFY(!anyChannelBlocked(*engine, aggregate));
}

void TstAlignment::unalignedPersistsOvertaken() {
    LoadedScenario s = loadScenario("scenarios/backpressure.textproto");
    auto* c = s.proto.mutable_checkpointing();
    c->set_mode(scenario::UNALIGNED);
    c->set_interval_ms(1000);
    EngineOptions options;
    options.until_ms = 4500;
    auto engine = makeEngine(s, options);
    QVERIFY(engine);
    engine->run();
    const int enrich = vertexNamed(*engine, "enrich");
    QVERIFY(enrich >= 0);
    // Tasks keep the channel state of their latest acknowledged checkpoint.
    const auto history = engine->checkpointHistory();
    const CheckpointStats* latest = nullptr;
    for (const auto& stats : history) {
        if (stats.status == CheckpointStatus::kCompleted) {
            latest = &stats;
        }
    }
    QVERIFY(latest);
    QVERIFY(latest->unaligned);
    for (int s = 0; s < 2; ++s) {
        const auto* sub = subtaskStats(*latest, enrich, s);
        QVERIFY(sub && sub->acknowledged);
        QVERIFY(sub->unaligned);
        QVERIFY2(sub->persisted_bytes > 0, qPrintable(QString("subtask %1").arg(s)));
        const auto& state = engine->task(enrich, s)->channelState(latest->id);
        int64_t total = 0;
        std::map<std::tuple<bool, int, int>, int64_t> last_sequence;
        for (const auto& buffer : state) {
            total += int64_t(buffer.data.size());
            auto key = std::make_tuple(buffer.input, buffer.gate_or_partition, buffer.channel);
            auto it = last_sequence.find(key);
            QVERIFY2(it == last_sequence.end() || buffer.sequence > it->second,
                     qPrintable(QString("sequence %1 after %2")
                                    .arg(buffer.sequence)
                                    .arg(it == last_sequence.end() ? -1 : it->second)));
            last_sequence[key] = buffer.sequence;
        }
        QCOMPARE(total, sub->persisted_bytes);
    }
}

void TstAlignment::timeoutInOutputQueue() {
    auto engine = makeEngine(slowSinkJob(scenario::ALIGNED_WITH_TIMEOUT));
    QVERIFY(engine);
    engine->run();
    const int map = vertexNamed(*engine, "map");
    QVERIFY(map >= 0);
    auto history = engine->checkpointHistory();
    QVERIFY(!history.empty());
    const CheckpointStats& first = history.front();
    QCOMPARE(first.status, CheckpointStatus::kCompleted);
    QVERIFY(first.unaligned);
    // The switch happens at trigger + aligned_timeout (2 s); what remains
    // is delivery and acknowledgement.
    Nanos duration = first.end_time_ns - first.trigger_time_ns;
    QVERIFY2(duration >= 2000 * kNanosPerMilli && duration < 2500 * kNanosPerMilli,
             qPrintable(QString("%1 ms").arg(duration / kNanosPerMilli)));
    const auto* sub = subtaskStats(first, map, 0);
    QVERIFY(sub);
    QVERIFY2(sub->persisted_bytes > 0, "map persisted nothing");
    QVERIFY(sub->unaligned);
    // Map's queued output, overtaken in its output queue, is persisted: its
    // channel state contains output (subpartition) buffers, and all of it adds
    // up to the reported persisted bytes.
    int64_t output_bytes = 0;
    int64_t total = 0;
    for (const auto& buffer : engine->task(map, 0)->channelState(first.id)) {
        total += int64_t(buffer.data.size());
        output_bytes += buffer.input ? 0 : int64_t(buffer.data.size());
    }
    QVERIFY2(output_bytes > 0, "no output buffer persisted");
    QCOMPARE(total, sub->persisted_bytes);
}

void TstAlignment::timeoutInInputChannel() {
    auto engine = makeEngine(stalledInputJob());
    QVERIFY(engine);
    engine->run();
    const int aggregate = vertexNamed(*engine, "aggregate");
    const int busy = vertexNamed(*engine, "busy");
    QVERIFY(aggregate >= 0);
    QVERIFY(busy >= 0);
    auto history = engine->checkpointHistory();
    QVERIFY(!history.empty());
    const CheckpointStats& first = history.front();
    QCOMPARE(first.status, CheckpointStatus::kCompleted);
    QVERIFY(first.unaligned);
    Nanos duration = first.end_time_ns - first.trigger_time_ns;
    QVERIFY2(duration >= 2000 * kNanosPerMilli && duration < 2500 * kNanosPerMilli,
             qPrintable(QString("%1 ms").arg(duration / kNanosPerMilli)));
    const auto* receiver = subtaskStats(first, aggregate, 0);
    QVERIFY(receiver);
    QVERIFY(receiver->unaligned);
    QVERIFY2(receiver->persisted_bytes > 0, "the aggregate persisted nothing");
    // The receiver persisted the input in front of the stalled barrier.
    int64_t input_bytes = 0;
    for (const auto& buffer : engine->task(aggregate, 0)->channelState(first.id)) {
        input_bytes += buffer.input ? int64_t(buffer.data.size()) : 0;
    }
    QVERIFY2(input_bytes > 0, "no input buffer persisted");
    // The busy source's barrier had left its output queue: the switch was
    // the receiver's, not the sender's.
    const auto* sender = subtaskStats(first, busy, 0);
    QVERIFY(sender);
    QCOMPARE(sender->persisted_bytes, int64_t(0));
}

void TstAlignment::alignedWithoutTimeoutExpires() {
    LoadedScenario s = slowSinkJob(scenario::EXACTLY_ONCE);
    s.proto.mutable_run()->set_until_ms(34000);
    s.proto.mutable_checkpointing()->set_tolerable_failures(10);
    auto engine = makeEngine(s);
    QVERIFY(engine);
    engine->run();
    auto history = engine->checkpointHistory();
    QVERIFY(!history.empty());
    QCOMPARE(history.front().status, CheckpointStatus::kFailed);
    QCOMPARE(QString::fromStdString(history.front().failure_cause),
             QStringLiteral("Checkpoint expired before completing."));
}

QTEST_GUILESS_MAIN(TstAlignment)
#include "tst_alignment.moc"
