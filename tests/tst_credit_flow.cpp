// Credit-based flow control: a ResultPartition on one simulated node feeds an
// InputGate on another through a real sim::Simulation. The tests check
// initial credit, the bound that credits put on buffers in flight, floating
// buffers and backlog, events, backpressure and per-channel order.

#include <QtTest>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/network/input_gate.h"
#include "runtime/network/result_partition.h"
#include "sim/random.h"
#include "sim/simulation.h"

using sluice::BufferKind;
using sluice::ByteReader;
using sluice::ByteWriter;
using sluice::InputGate;
using sluice::MemorySegmentPool;
using sluice::NetworkBuffer;
using sluice::NetworkConfig;
using sluice::ResultPartition;

namespace {

constexpr int kProducerNode = 1;
constexpr int kConsumerNode = 2;

// Small buffers and pools so a handful of buffers exercises every limit.
NetworkConfig smallConfig(int buffers_per_channel, int floating_buffers_per_gate) {
    NetworkConfig config;
    config.buffer_size_bytes = 64;
    config.buffers_per_channel = buffers_per_channel;
    config.floating_buffers_per_gate = floating_buffers_per_gate;
    return config;
}

// One producer subtask connected to one consumer subtask over a remote link
// with 100 us latency and 1 Gbit/s.
struct Harness {
    Harness(const NetworkConfig& network_config, int channels)
        : config(network_config),
          sim(7, 3, sluice::sim::LinkSpec{}, sluice::sim::LinkSpec{100'000, 1'000'000'000}),
          segments(config.buffer_size_bytes),
          partition(sim, segments, config, kProducerNode, channels),
          gate(sim, config, kConsumerNode, channels),
          sent_values(size_t(channels)),
          next_value(size_t(channels), 0),
          received_values(size_t(channels)) {
        for (int i = 0; i < channels; ++i) {
            partition.connect(i, &gate, i, kConsumerNode);
            gate.connect(i, &partition, i, kProducerNode);
        }
        partition.setAvailabilityListener([this] { ++availability_calls; });
    }

    // Writes one 8-byte record into `channel` and finishes the buffer, so
    // every call produces exactly one data buffer.
    void emitBuffer(int channel) {
        const uint64_t value = next_value[size_t(channel)]++;
        partition.emit(
            channel, [value](ByteWriter& out) { out.writeRaw(value); }, true);
        partition.flushAll();
        sent_values[size_t(channel)].push_back(value);
        ++emitted;
    }

    // One task step: emits up to `count` buffers round robin over the
    // channels while the output pool is available. Returns how many it emitted.
    int produceStep(int count) {
        partition.beginStep();
        int done = 0;
        while (done < count && partition.isAvailable()) {
            emitBuffer(emitted % partition.subpartitionCount());
            ++done;
        }
        partition.endStep();
        return done;
    }

    void drain() {
        while (sim.step()) {
        }
    }

    // Takes the next available buffer without releasing it. Returns false
    // if no channel has one.
    bool takeOne() {
        const int channel = gate.nextAvailableChannel();
        if (channel < 0) {
            return false;
        }
        NetworkBuffer buffer = gate.take(channel);
        taken_kinds.push_back(buffer.kind);
        taken_channels.push_back(channel);
        taken_sequences.push_back(buffer.sequence);
        if (!buffer.isEvent()) {
            ByteReader reader(buffer.memory.get(), buffer.size_bytes);
            received_values[size_t(channel)].push_back(reader.readRaw<uint64_t>());
        }
        held.push_back({channel, std::move(buffer)});
        return true;
    }

    // Releases the oldest held buffer.
    void releaseOne() {
        auto [channel, buffer] = std::move(held.front());
        held.erase(held.begin());
        if (!buffer.isEvent()) {
            ++released[channel];
        }
        gate.release(channel, segments, std::move(buffer));
    }

    void consumeAll() {
        while (takeOne()) {
        }
        while (!held.empty()) {
            releaseOne();
        }
    }

    // Data buffers on the wire towards `channel`.
    int dataInFlight(int channel) const {
        int count = 0;
        for (const auto& buffer : gate.channel(channel).in_flight) {
            count += buffer.isEvent() ? 0 : 1;
        }
        return count;
    }

    NetworkConfig config;
    sluice::sim::Simulation sim;
    MemorySegmentPool segments;
    ResultPartition partition;
    InputGate gate;
    int emitted = 0;
    int availability_calls = 0;
    std::vector<std::vector<uint64_t>> sent_values;
    std::vector<uint64_t> next_value;
    std::vector<std::vector<uint64_t>> received_values;
    std::vector<BufferKind> taken_kinds;
    std::vector<int> taken_channels;
    std::vector<int64_t> taken_sequences;
    std::vector<std::pair<int, NetworkBuffer>> held;
    std::map<int, uint64_t> released;
};

}  // namespace

class TstCreditFlow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Every channel announces its exclusive buffers; the credit travels over
    // the link, so it reaches the producer only after the latency.
    void initialCredit_data() {
        QTest::addColumn<int>("buffersPerChannel");
        QTest::addColumn<int>("channels");
        QTest::newRow("2 x 1") << 2 << 1;
        QTest::newRow("2 x 3") << 2 << 3;
        QTest::newRow("5 x 2") << 5 << 2;
    }
    void initialCredit() {
        QFETCH(int, buffersPerChannel);
        QFETCH(int, channels);
        Harness h(smallConfig(buffersPerChannel, 4), channels);
        h.gate.announceInitialCredit();
        for (int i = 0; i < channels; ++i) {
            QCOMPARE(h.partition.subpartition(i).credit, 0);
        }
        h.drain();
        QVERIFY(h.sim.now() >= 100'000);
        for (int i = 0; i < channels; ++i) {
            QCOMPARE(h.partition.subpartition(i).credit, buffersPerChannel);
        }
        QCOMPARE(h.partition.poolSize(), channels * buffersPerChannel + 4);
    }

    // Data queued before any credit stays at the producer.
    void noCreditNoSend() {
        Harness h(smallConfig(2, 4), 1);
        h.produceStep(3);
        h.drain();
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(0));
        QCOMPARE(h.partition.queuedBuffers(), 3);
        QCOMPARE(h.gate.queuedBuffers(), 0);
    }

    // A step that queues five buffers sends two on the exclusive credit. The
    // first carries backlog 4, so the consumer requests 4 floating buffers
    // (backlog + exclusive - owned = 4 + 2 - 2), which the gate has.
    void backlogRequestsFloating() {
        Harness h(smallConfig(2, 4), 1);
        h.gate.announceInitialCredit();
        h.drain();
        QCOMPARE(h.produceStep(5), 5);
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(2));
        h.drain();
        QCOMPARE(h.gate.channel(0).floating_buffers, 4);
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(5));
        QCOMPARE(h.partition.queuedBuffers(), 0);
        QCOMPARE(h.gate.channel(0).buffers_holding_data, 5);
        // 5 buffers hold data and 4 + 2 - 3 = 1 credit is left: 1 + 5 = 2 + 4.
        QCOMPARE(h.partition.subpartition(0).credit, 1);
    }

    // With backlog 0 the channel does not keep floating buffers: releasing
    // returns them to the gate, and at rest the producer again has exactly
    // the exclusive credit.
    void floatingReturnedWhenBacklogDrops() {
        Harness h(smallConfig(2, 4), 1);
        h.gate.announceInitialCredit();
        h.drain();
        h.produceStep(5);
        h.drain();
        QCOMPARE(h.gate.channel(0).floating_buffers, 4);

        h.consumeAll();
        h.drain();
        QCOMPARE(h.gate.channel(0).floating_buffers, 0);
        QCOMPARE(h.gate.channel(0).buffers_holding_data, 0);
        QCOMPARE(h.partition.subpartition(0).credit, 2);
        QCOMPARE(h.received_values, h.sent_values);
    }

    // Floating buffers are shared: a channel that waits for them gets the
    // ones another channel returns.
    void floatingGoesToWaiter() {
        Harness h(smallConfig(1, 2), 2);
        h.gate.announceInitialCredit();
        h.drain();
        // Channel 0: 4 buffers in one step, sent with backlog 3 -> wants 3
        // floating, gets both.
        h.partition.beginStep();
        for (int i = 0; i < 4; ++i) {
            h.emitBuffer(0);
        }
        h.partition.endStep();
        h.drain();
        QCOMPARE(h.gate.channel(0).floating_buffers, 2);
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(3));

        // Channel 1: 3 buffers with backlog 2 -> wants 2 floating, none free.
        h.partition.beginStep();
        for (int i = 0; i < 3; ++i) {
            h.emitBuffer(1);
        }
        h.partition.endStep();
        h.drain();
        QCOMPARE(h.gate.channel(1).floating_buffers, 0);
        QCOMPARE(h.gate.channel(1).waiting_for_floating, true);
        QCOMPARE(h.partition.subpartition(1).buffers_sent, uint64_t(1));

        // Releasing channel 0's buffers returns a floating buffer to the gate
        // (its backlog is 1 of 2 floating), and the gate hands it to channel 1.
        h.consumeAll();
        QCOMPARE(h.gate.channel(1).floating_buffers, 1);

        for (int round = 0; round < 10; ++round) {
            h.drain();
            h.consumeAll();
        }
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(4));
        QCOMPARE(h.partition.subpartition(1).buffers_sent, uint64_t(3));
        QCOMPARE(h.received_values, h.sent_values);
        // At rest with backlog 0 neither channel keeps a floating buffer.
        QCOMPARE(h.gate.channel(0).floating_buffers, 0);
        QCOMPARE(h.gate.channel(1).floating_buffers, 0);
    }

    // Random interleaving of producer steps, network events and a consumer
    // that keeps buffers for a while. After every action, for every channel:
    // producer credit + data in flight + data held by the consumer never
    // exceeds the buffers the channel owns, the channels together never own
    // more floating buffers than the gate has, and sent minus released never
    // exceeds exclusive + floating.
    void creditBoundsInFlight_data() {
        QTest::addColumn<int>("buffersPerChannel");
        QTest::addColumn<int>("floating");
        QTest::addColumn<int>("channels");
        QTest::addColumn<quint64>("seed");
        QTest::newRow("2+8 x 1") << 2 << 8 << 1 << quint64(1);
        QTest::newRow("2+8 x 3") << 2 << 8 << 3 << quint64(2);
        QTest::newRow("1+2 x 4") << 1 << 2 << 4 << quint64(3);
        QTest::newRow("3+0 x 2") << 3 << 0 << 2 << quint64(4);
    }
    void creditBoundsInFlight() {
        QFETCH(int, buffersPerChannel);
        QFETCH(int, floating);
        QFETCH(int, channels);
        QFETCH(quint64, seed);
        Harness h(smallConfig(buffersPerChannel, floating), channels);
        h.gate.announceInitialCredit();
        sluice::sim::Prng prng(seed);
        constexpr int kTarget = 4000;

        auto check = [&](int action) -> bool {
            int floating_owned = 0;
            for (int c = 0; c < channels; ++c) {
                const auto& sub = h.partition.subpartition(c);
                const auto& channel = h.gate.channel(c);
                const int owned = channel.exclusive_buffers + channel.floating_buffers;
                const int used = sub.credit + h.dataInFlight(c) + channel.buffers_holding_data;
                floating_owned += channel.floating_buffers;
                if (sub.credit < 0 || used > owned) {
                    qWarning("action %d channel %d: credit %d + in flight %d + held %d > owned %d",
                             action, c, sub.credit, h.dataInFlight(c), channel.buffers_holding_data,
                             owned);
                    return false;
                }
                if (sub.buffers_sent - h.released[c] > uint64_t(buffersPerChannel + floating)) {
                    qWarning("action %d channel %d: %llu sent, %llu released", action, c,
                             static_cast<unsigned long long>(sub.buffers_sent),
                             static_cast<unsigned long long>(h.released[c]));
                    return false;
                }
            }
            if (floating_owned > floating) {
                qWarning("action %d: channels own %d floating buffers of %d", action,
                         floating_owned, floating);
                return false;
            }
            return true;
        };

        int action = 0;
        for (; action < 2'000'000; ++action) {
            const uint64_t choice = prng.nextBelow(10);
            if (choice < 5) {
                if (!h.sim.step() && h.emitted >= kTarget && h.held.empty() &&
                    h.gate.nextAvailableChannel() < 0) {
                    break;
                }
            } else if (choice < 7) {
                if (h.emitted < kTarget) {
                    h.produceStep(std::min(int(prng.nextBelow(4)) + 1, kTarget - h.emitted));
                }
            } else if (choice < 9) {
                h.takeOne();
            } else if (!h.held.empty()) {
                h.releaseOne();
            }
            if (!check(action)) {
                QFAIL("credit bound violated");
            }
        }
        QVERIFY2(action < 2'000'000, "the exchange did not finish");
        QCOMPARE(h.emitted, kTarget);
        QCOMPARE(h.received_values, h.sent_values);
    }

    // An event needs no credit: it is sent even when the channel has none.
    void eventWithoutCredit() {
        Harness h(smallConfig(2, 0), 2);
        h.partition.broadcastEvent(BufferKind::kEndOfPartition, 0, 0);
        h.drain();
        QCOMPARE(h.partition.subpartition(0).credit, 0);
        QVERIFY(!h.gate.allFinished());
        QVERIFY(h.takeOne());
        QVERIFY(h.takeOne());
        QVERIFY(!h.takeOne());
        QCOMPARE(h.taken_kinds, (std::vector<BufferKind>{BufferKind::kEndOfPartition,
                                                         BufferKind::kEndOfPartition}));
        QVERIFY(h.gate.allFinished());
        // Events take no buffer at the consumer.
        QCOMPARE(h.gate.channel(0).buffers_holding_data, 0);
    }

    // An event queued behind data waits for that data, credit or not.
    void eventStaysBehindData() {
        Harness h(smallConfig(2, 0), 1);
        h.gate.announceInitialCredit();
        h.drain();
        h.partition.beginStep();
        for (int i = 0; i < 3; ++i) {
            h.emitBuffer(0);
        }
        h.partition.endStep();
        h.partition.broadcastEvent(BufferKind::kEndOfPartition, 0, 0);
        h.drain();
        // Two credits: data 0 and 1 went out, data 2 and the event wait.
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(2));
        QCOMPARE(int(h.partition.subpartition(0).queue.size()), 2);
        QCOMPARE(h.gate.channel(0).received.size(), size_t(2));
        QVERIFY(!h.gate.channel(0).finished);

        h.consumeAll();
        h.drain();
        h.consumeAll();
        QCOMPARE(h.taken_kinds,
                 (std::vector<BufferKind>{BufferKind::kData, BufferKind::kData, BufferKind::kData,
                                          BufferKind::kEndOfPartition}));
        QCOMPARE(h.taken_sequences, (std::vector<int64_t>{0, 1, 2, 3}));
        QVERIFY(h.gate.allFinished());
    }

    // A consumer that stops releasing fills its exclusive and floating
    // buffers, then the producer's queue fills its pool: isAvailable() turns
    // false. Releasing buffers grants credit and frees the pool again.
    void backpressureAndRecovery() {
        const int exclusive = 2;
        const int floating = 4;
        Harness h(smallConfig(exclusive, floating), 1);
        h.gate.announceInitialCredit();
        h.drain();
        for (int round = 0; round < 10; ++round) {
            h.produceStep(100);
            h.drain();
            while (h.takeOne()) {
            }
        }
        QVERIFY(!h.partition.isAvailable());
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(exclusive + floating));
        QCOMPARE(h.partition.queuedBuffers(), h.partition.poolSize());
        QCOMPARE(h.gate.channel(0).buffers_holding_data, exclusive + floating);
        QCOMPARE(h.partition.poolUsage(), 1.0);
        QCOMPARE(h.produceStep(1), 0);

        const int calls_before = h.availability_calls;
        while (!h.held.empty()) {
            h.releaseOne();
        }
        h.drain();
        QVERIFY(h.partition.isAvailable());
        QVERIFY(h.availability_calls > calls_before);
        QVERIFY(h.partition.subpartition(0).buffers_sent > uint64_t(exclusive + floating));

        // Keep consuming: everything that was produced arrives in order.
        for (int round = 0; round < 20; ++round) {
            h.consumeAll();
            h.drain();
        }
        QCOMPARE(h.partition.queuedBuffers(), 0);
        QCOMPARE(h.received_values, h.sent_values);
    }

    // Sequence numbers count from 0 per channel and arrive in order, with
    // several buffers in flight on a link with latency.
    void sequencesInOrder() {
        const int channels = 3;
        Harness h(smallConfig(2, 6), channels);
        h.gate.announceInitialCredit();
        h.drain();
        sluice::sim::Prng prng(11);
        while (h.emitted < 300) {
            h.produceStep(std::min(int(prng.nextBelow(6)) + 1, 300 - h.emitted));
            // Run part of the network, so buffers are still in flight when
            // the consumer reads.
            for (uint64_t i = prng.nextBelow(8); i > 0 && h.sim.step(); --i) {
            }
            h.consumeAll();
        }
        for (int round = 0; round < 50; ++round) {
            h.drain();
            h.consumeAll();
        }

        std::vector<int64_t> next(channels, 0);
        for (size_t i = 0; i < h.taken_sequences.size(); ++i) {
            const int channel = h.taken_channels[i];
            if (h.taken_sequences[i] != next[size_t(channel)]) {
                QFAIL(qPrintable(QString("channel %1: sequence %2, expected %3")
                                     .arg(channel)
                                     .arg(h.taken_sequences[i])
                                     .arg(next[size_t(channel)])));
            }
            ++next[size_t(channel)];
        }
        for (int c = 0; c < channels; ++c) {
            QCOMPARE(next[size_t(c)], int64_t(100));
            QCOMPARE(h.gate.channel(c).next_expected_sequence, int64_t(100));
        }
        QCOMPARE(h.received_values, h.sent_values);
    }

    // A record larger than a whole buffer cannot be split and is rejected
    // with the buffer size in the message.
    void recordTooLarge() {
        Harness h(smallConfig(2, 0), 1);
        const std::string big(100, 'x');
        try {
            h.partition.emit(
                0, [&](ByteWriter& out) { out.writeString(big); }, true);
            QFAIL("a 101-byte record was accepted into 64-byte buffers");
        } catch (const sluice::RecordTooLargeError& error) {
            QVERIFY2(std::string(error.what()).find("64 bytes") != std::string::npos, error.what());
        }
    }

    // Finished buffers stay at the producer until the step ends.
    void stepHoldsBuffers() {
        Harness h(smallConfig(2, 0), 1);
        h.gate.announceInitialCredit();
        h.drain();
        h.partition.beginStep();
        h.emitBuffer(0);
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(0));
        h.partition.endStep();
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(1));
    }

    // Credit that arrives while a step runs sends the buffers queued before
    // the step began, the way Flink's network thread sends independently of
    // the task thread, but not the buffers the running step produced.
    void creditDuringStepSendsOlderBuffers() {
        Harness h(smallConfig(2, 0), 1);
        h.gate.announceInitialCredit();
        h.drain();
        h.produceStep(2);  // both leave on the initial credit
        h.drain();
        h.produceStep(2);  // both wait for credit
        h.drain();
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(2));
        QCOMPARE(int(h.partition.subpartition(0).queue.size()), 2);

        h.partition.beginStep();
        h.emitBuffer(0);  // produced by the running step
        QVERIFY(h.takeOne());
        h.releaseOne();  // returns one credit while the step runs
        h.drain();
        // The credit sent the oldest queued buffer.
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(3));
        QVERIFY(h.takeOne());
        h.releaseOne();
        h.drain();
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(4));
        // Only the step's own buffer is left: it waits for the step to end.
        QVERIFY(h.takeOne());
        h.releaseOne();
        h.drain();
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(4));
        QCOMPARE(int(h.partition.subpartition(0).queue.size()), 1);
        h.partition.endStep();
        h.drain();
        QCOMPARE(h.partition.subpartition(0).buffers_sent, uint64_t(5));
        h.consumeAll();
        QCOMPARE(h.received_values[0], (std::vector<uint64_t>{0, 1, 2, 3, 4}));
    }
};

QTEST_GUILESS_MAIN(TstCreditFlow)
#include "tst_credit_flow.moc"
