// Determinism of whole runs. Every shipped scenario, run twice with the same
// seed, executes the same events and writes the same output (same digest and
// event count), however the run is driven. A different seed gives a different
// run when the scenario draws random input.

// The engine headers come before Qt's: Qt defines emit and slots as macros,
// which are also names in the runtime.
#include "sim/engine.h"
#include "test_support.h"

#include <QDir>
#include <QtTest>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>

using sluice::sim::Engine;
using sluice::sim::EngineOptions;
using sluice::sim::RunState;
using sluice::sim::ScenarioError;

namespace {

// Seeds per scenario; SLUICE_DETERMINISM_SEEDS lowers it for the sanitizer
// pass, which runs about ten times slower.
int seedCount() {
    const char* text = std::getenv("SLUICE_DETERMINISM_SEEDS");
    int seeds = text ? std::atoi(text) : 20;
    return seeds > 0 ? seeds : 20;
}
// Runs of scenarios with an unbounded source stop here, to keep the suite fast.
constexpr int64_t kUnboundedLimitMs = 3000;
// rocksdb-incremental loads 100,000 keys per second into RocksDB, so the
// tests over all scenarios stop it before its first checkpoint (at 1 s);
// rocksdbSameSeed covers its checkpoints with a longer limit.
constexpr int64_t kRocksDbLimitMs = 500;
constexpr int64_t kRocksDbCheckpointLimitMs = 1500;
constexpr int kRocksDbSeedCount = 10;
const QString kRocksDbScenario = QStringLiteral("rocksdb-incremental.textproto");
// state-1m loads 350,000 records per second into heap state. Its runs to
// 3 s took 100 s of this suite, so they stop before its first checkpoint.
constexpr int64_t kState1mLimitMs = 500;
const QString kState1mScenario = QStringLiteral("state-1m.textproto");

// Every scenarios/*.textproto, sorted by name, so new scenarios are covered.
QStringList shippedScenarios() {
    QDir dir(QString::fromStdString(sluice::test::sourcePath("scenarios")));
    return dir.entryList({"*.textproto"}, QDir::Files, QDir::Name);
}

std::string scenarioPath(const QString& name) {
    return sluice::test::sourcePath("scenarios/" + name.toStdString());
}

// Unbounded, or large enough (fifo-1m, reliability-10m) that 40 runs per
// scenario would dominate the suite; such runs stop at kUnboundedLimitMs.
bool hasUnboundedSource(const Engine& engine) {
    constexpr uint64_t kLargeRecordCount = 200'000;
    for (const auto& op : engine.scenario().proto.job().operators()) {
        if (op.has_generator() && (op.generator().record_count() == 0 ||
                                   op.generator().record_count() > kLargeRecordCount)) {
            return true;
        }
    }
    return false;
}

bool hasGenerator(const Engine& engine) {
    for (const auto& op : engine.scenario().proto.job().operators()) {
        if (op.has_generator()) {
            return true;
        }
    }
    return false;
}

// Builds an engine for `path` with `seed`, limited to kUnboundedLimitMs if a
// source is unbounded (kRocksDbLimitMs for rocksdb-incremental,
// kState1mLimitMs for state-1m), or to `until_ms` when given. Returns null,
// with a warning, if loading fails.
std::unique_ptr<Engine> makeEngine(const std::string& path, uint64_t seed,
                                   std::optional<int64_t> until_ms = std::nullopt) {
    auto probe = Engine::fromFile(path);
    if (auto* error = std::get_if<ScenarioError>(&probe)) {
        qWarning("cannot load %s: %s", path.c_str(), error->format().c_str());
        return nullptr;
    }
    EngineOptions options;
    options.seed = seed;
    if (until_ms) {
        options.until_ms = until_ms;
    } else if (std::filesystem::path(path).filename() == kRocksDbScenario.toStdString()) {
        options.until_ms = kRocksDbLimitMs;
    } else if (std::filesystem::path(path).filename() == kState1mScenario.toStdString()) {
        options.until_ms = kState1mLimitMs;
    } else if (hasUnboundedSource(*std::get<std::unique_ptr<Engine>>(probe))) {
        options.until_ms = kUnboundedLimitMs;
    }
    auto loaded = Engine::fromFile(path, options);
    if (std::holds_alternative<ScenarioError>(loaded)) {
        return nullptr;
    }
    return std::move(std::get<std::unique_ptr<Engine>>(loaded));
}

struct RunResult {
    std::string digest;
    uint64_t events = 0;
    RunState state = RunState::kRunning;
};

RunResult finish(Engine& engine) {
    return {engine.digestHex(), engine.eventCount(), engine.runState()};
}

std::string describe(const QString& scenario, uint64_t seed) {
    return scenario.toStdString() + " with --seed " + std::to_string(seed);
}

}  // namespace

class TstDeterminism : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void scenariosFound();
    void sameSeed_data();
    void sameSeed();
    void steppedEqualsRun_data();
    void steppedEqualsRun();
    void interleavedEngines_data();
    void interleavedEngines();
    void seedChangesDigest_data();
    void seedChangesDigest();
    void rocksdbSameSeed_data();
    void rocksdbSameSeed();
};

void TstDeterminism::scenariosFound() {
    // Guards the data-driven tests below against an empty, vacuous table.
    QVERIFY2(!shippedScenarios().isEmpty(), "no scenarios/*.textproto found");
}

void TstDeterminism::sameSeed_data() {
    QTest::addColumn<QString>("scenario");
    QTest::addColumn<quint64>("seed");
    for (const QString& name : shippedScenarios()) {
        for (int i = 0; i < seedCount(); ++i) {
            // Spread the seeds so both small and large values are tried.
            quint64 seed = quint64(i) * 0x9e3779b97f4a7c15ull % 1000003ull + quint64(i);
            QTest::addRow("%s seed %llu", qPrintable(name), seed) << name << seed;
        }
    }
}

void TstDeterminism::sameSeed() {
    QFETCH(QString, scenario);
    QFETCH(quint64, seed);
    const std::string what = describe(scenario, seed);
    auto first = makeEngine(scenarioPath(scenario), seed);
    auto second = makeEngine(scenarioPath(scenario), seed);
    QVERIFY2(first && second, what.c_str());
    first->run();
    second->run();
    RunResult a = finish(*first);
    RunResult b = finish(*second);
    QVERIFY2(a.state != RunState::kFailed && a.state != RunState::kStalled,
             (what + ": run ended " + sluice::sim::runStateName(a.state)).c_str());
    QVERIFY2(a.events > 0, what.c_str());
    QVERIFY2(a.digest == b.digest, (what + ": digest " + a.digest + " then " + b.digest).c_str());
    QVERIFY2(a.events == b.events,
             (what + ": " + std::to_string(a.events) + " events then " + std::to_string(b.events))
                 .c_str());
}

void TstDeterminism::steppedEqualsRun_data() {
    QTest::addColumn<QString>("scenario");
    for (const QString& name : shippedScenarios()) {
        QTest::newRow(qPrintable(name)) << name;
    }
}

// The GUI drives the engine by single steps and by time slices, and the run
// must not depend on how it is driven.
void TstDeterminism::steppedEqualsRun() {
    QFETCH(QString, scenario);
    const uint64_t seed = 11;
    const std::string what = describe(scenario, seed);
    auto whole = makeEngine(scenarioPath(scenario), seed);
    auto stepped = makeEngine(scenarioPath(scenario), seed);
    auto sliced = makeEngine(scenarioPath(scenario), seed);
    QVERIFY2(whole && stepped && sliced, what.c_str());
    whole->run();
    while (stepped->step()) {
    }
    // Slices of 37 ms simulated time, which do not line up with metric samples.
    const sluice::Nanos slice = 37 * sluice::kNanosPerMilli;
    for (sluice::Nanos t = slice; !sliced->isOver(); t += slice) {
        sliced->runUntilTime(t);
        if (t - sliced->now() > 10 * sluice::kNanosPerSecond) {
            sliced->run();  // no event for long: let run() settle the end state
        }
    }
    QVERIFY2(stepped->digestHex() == whole->digestHex(),
             (what + ": step() gives " + stepped->digestHex() + ", run() " + whole->digestHex())
                 .c_str());
    QVERIFY2(
        sliced->digestHex() == whole->digestHex(),
        (what + ": runUntilTime() gives " + sliced->digestHex() + ", run() " + whole->digestHex())
            .c_str());
    QCOMPARE(stepped->eventCount(), whole->eventCount());
    QCOMPARE(sliced->eventCount(), whole->eventCount());
}

void TstDeterminism::interleavedEngines_data() {
    steppedEqualsRun_data();
}

// Two engines stepped alternately in one thread must each behave as if run
// alone. A difference means state shared between engines (statics, globals).
void TstDeterminism::interleavedEngines() {
    QFETCH(QString, scenario);
    const uint64_t seed_a = 3;
    const uint64_t seed_b = 4;
    auto alone_a = makeEngine(scenarioPath(scenario), seed_a);
    auto alone_b = makeEngine(scenarioPath(scenario), seed_b);
    auto mixed_a = makeEngine(scenarioPath(scenario), seed_a);
    auto mixed_b = makeEngine(scenarioPath(scenario), seed_b);
    QVERIFY(alone_a && alone_b && mixed_a && mixed_b);
    alone_a->run();
    alone_b->run();
    bool more_a = true;
    bool more_b = true;
    while (more_a || more_b) {
        more_a = more_a && mixed_a->step();
        more_b = more_b && mixed_b->step();
    }
    QVERIFY2(mixed_a->digestHex() == alone_a->digestHex(), describe(scenario, seed_a).c_str());
    QVERIFY2(mixed_b->digestHex() == alone_b->digestHex(), describe(scenario, seed_b).c_str());
}

void TstDeterminism::seedChangesDigest_data() {
    steppedEqualsRun_data();
}

// Scenarios with a generator draw their input from the seed, so every seed
// must give its own digest. Scenarios without one may or may not depend on
// the seed (cost jitter does), so they are skipped.
void TstDeterminism::seedChangesDigest() {
    QFETCH(QString, scenario);
    auto probe = makeEngine(scenarioPath(scenario), 0);
    QVERIFY(probe);
    if (!hasGenerator(*probe)) {
        QSKIP("no generator source");
    }
    std::set<std::string> digests;
    for (uint64_t seed = 1; seed <= uint64_t(seedCount()); ++seed) {
        auto engine = makeEngine(scenarioPath(scenario), seed);
        QVERIFY(engine);
        engine->run();
        bool fresh = digests.insert(engine->digestHex()).second;
        QVERIFY2(fresh, (describe(scenario, seed) + ": digest " + engine->digestHex() +
                         " was already produced by a lower seed")
                            .c_str());
    }
}

void TstDeterminism::rocksdbSameSeed_data() {
    QTest::addColumn<quint64>("seed");
    for (int i = 0; i < kRocksDbSeedCount; ++i) {
        quint64 seed = 100 + quint64(i) * 7919;
        QTest::addRow("seed %llu", seed) << seed;
    }
}

// RocksDB keeps its own files, caches and background state; none of it may
// leak into the simulated run. Each run includes a completed incremental
// checkpoint, whose durations derive from logical state sizes only.
void TstDeterminism::rocksdbSameSeed() {
    QFETCH(quint64, seed);
    const std::string path = scenarioPath(kRocksDbScenario);
    const std::string what = describe(kRocksDbScenario, seed);
    auto first = makeEngine(path, seed, kRocksDbCheckpointLimitMs);
    auto second = makeEngine(path, seed, kRocksDbCheckpointLimitMs);
    QVERIFY2(first && second, what.c_str());
    first->run();
    second->run();
    bool completed = false;
    for (const auto& stats : first->checkpointHistory()) {
        completed = completed || stats.status == sluice::CheckpointStatus::kCompleted;
    }
    QVERIFY2(completed, (what + ": no checkpoint completed").c_str());
    QVERIFY2(first->digestHex() == second->digestHex(),
             (what + ": digest " + first->digestHex() + " then " + second->digestHex()).c_str());
    QCOMPARE(first->eventCount(), second->eventCount());
    // checkpointHistory() returns a copy; keep it alive while comparing.
    const auto first_history = first->checkpointHistory();
    const auto second_history = second->checkpointHistory();
    QCOMPARE(first_history.size(), second_history.size());
    for (size_t i = 0; i < first_history.size(); ++i) {
        const auto& a = first_history[i];
        const auto& b = second_history[i];
        QCOMPARE(a.end_time_ns, b.end_time_ns);
        QCOMPARE(a.checkpointed_size_bytes, b.checkpointed_size_bytes);
        QCOMPARE(a.full_size_bytes, b.full_size_bytes);
    }
}

// RocksDB syncs its files to disk on every flush and checkpoint, which makes
// up most of the wall time of the RocksDB runs on a disk-backed /tmp; the
// runs keep their temporary folders in memory when /dev/shm is available.
int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("SLUICE_TEST_KEEP_TMPDIR") &&
        QFileInfo(QStringLiteral("/dev/shm")).isWritable()) {
        qputenv("TMPDIR", "/dev/shm");
    }
    QCoreApplication app(argc, argv);
    TstDeterminism test;
    return QTest::qExec(&test, argc, argv);
}
#include "tst_determinism.moc"
