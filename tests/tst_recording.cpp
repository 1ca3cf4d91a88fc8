// Recordings and their replay. A run with swarm faults and a fault injected
// at run time replays with every digest equal, and a stopped run replays up
// to where it stopped. An edited scenario diverges at a named checkpoint.
// Relative CSV paths resolve against the recorded folder. Missing, foreign,
// truncated and corrupted files give an error instead of a recording.

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include "runtime/core/log.h"
#include "sim/recording.h"
#include "test_support.h"

#include <filesystem>
#include <fstream>
#include <random>

namespace {

using sluice::sim::Engine;
using sluice::sim::Recording;
using sluice::sim::RecordingError;

const char* const kScenario = "tests/scenarios/swarm-failover.textproto";
// Seed 3 of the scenario draws four swarm faults.
constexpr uint64_t kSeed = 3;
constexpr sluice::Nanos kInjectAtNs = 3500 * sluice::kNanosPerMilli;

std::unique_ptr<Engine> engineFor(const std::string& path, uint64_t seed) {
    sluice::sim::EngineOptions options;
    options.seed = seed;
    auto built = Engine::fromFile(path, options);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&built)) {
        qWarning("engine not built: %s", error->format().c_str());
        return nullptr;
    }
    return std::move(std::get<std::unique_ptr<Engine>>(built));
}

sluice::scenario::Fault failSubtask(const std::string& operator_id, uint32_t subtask) {
    sluice::scenario::Fault fault;
    fault.mutable_fail_subtask()->set_operator_(operator_id);
    fault.mutable_fail_subtask()->set_subtask(subtask);
    fault.mutable_fail_subtask()->set_message("injected by the test");
    return fault;
}

// The recording of seed kSeed, with one fault injected at run time.
Recording recordInjectedRun() {
    auto engine = engineFor(sluice::test::sourcePath(kScenario), kSeed);
    if (!engine) {
        return {};
    }
    engine->runUntilTime(kInjectAtNs);
    std::string error = engine->injectFault(failSubtask("sum", 0));
    if (!error.empty()) {
        qWarning("injectFault: %s", error.c_str());
    }
    engine->run();
    return sluice::sim::recordingOf(*engine, {}, nullptr);
}

std::unique_ptr<Engine> replay(const Recording& recording) {
    auto built = sluice::sim::replayEngineFor(recording);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&built)) {
        qWarning("replay engine not built: %s", error->format().c_str());
        return nullptr;
    }
    auto engine = std::move(std::get<std::unique_ptr<Engine>>(built));
    sluice::sim::runReplay(*engine, recording);
    return engine;
}

// The error text of parsing `bytes`, or "parsed" when they parse.
std::string parseError(const std::string& bytes) {
    auto parsed = sluice::sim::parseRecording(bytes, "test.recording");
    if (auto* error = std::get_if<RecordingError>(&parsed)) {
        return error->message;
    }
    return "parsed";
}

std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) {
        text += line + "\n";
    }
    return text;
}

bool writeText(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    return bool(out);
}

}  // namespace

class TstRecording : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void injectedRunReplays();
    void injectedTriggerReplays();
    void fileRoundTrip();
    void stoppedRunReplays();
    void editedScenarioDiverges();
    void csvPathResolvesAgainstRecordedFolder();
    void missingFile();
    void badMagic();
    void unsupportedVersion();
    void truncatedMessageNamed();
    void flippedDigestIsCorruption();
    void truncationAtEveryOffset();
    void randomByteFlips();

private:
    Recording recording_;
    std::string bytes_;
};

void TstRecording::initTestCase() {
    // The faults log errors by design; they would bury the test output.
    sluice::log::setSink([](sluice::log::Level, const std::string&) {});
    recording_ = recordInjectedRun();
    bytes_ = sluice::sim::serializeRecording(recording_);
    QVERIFY(!bytes_.empty());
}

// A fault injected with a trigger fires later, inside an event of its own.
// The replay injects it again at the same event count, trigger included.
void TstRecording::injectedTriggerReplays() {
    auto engine = engineFor(sluice::test::sourcePath(kScenario), kSeed);
    QVERIFY(engine);
    engine->runUntilTime(kInjectAtNs);
    auto fault = failSubtask("sum", 1);
    fault.mutable_trigger()->set_at_ms(uint64_t(engine->now() / sluice::kNanosPerMilli) + 700);
    QCOMPARE(engine->injectFault(fault), std::string());
    engine->run();
    Recording recording = sluice::sim::recordingOf(*engine, {}, nullptr);
    const sluice::sim::FiredFault* fired = nullptr;
    for (const auto& f : engine->firedFaults()) {
        fired = f.injected ? &f : fired;
    }
    QVERIFY(fired);
    QVERIFY(fired->event_index > fired->injected_at_event);

    auto replayed = replay(recording);
    QVERIFY(replayed);
    auto check = sluice::sim::compareReplay(recording, *replayed);
    QVERIFY2(check.match, joined(check.differences).c_str());
    QCOMPARE(replayed->digest(), engine->digest());
}

void TstRecording::injectedRunReplays() {
    size_t scenario_faults = 0;
    size_t injected = 0;
    for (const auto& fault : recording_.faults) {
        (fault.injected() ? injected : scenario_faults) += 1;
    }
    QCOMPARE(injected, size_t(1));
    QVERIFY2(scenario_faults > 0, "the swarm fired no fault, so the test covers less");
    QVERIFY(recording_.checkpoints.size() > 2);
    QCOMPARE(recording_.final.run_state(), std::string("FINISHED"));

    auto engine = replay(recording_);
    QVERIFY(engine);
    auto check = sluice::sim::compareReplay(recording_, *engine);
    QVERIFY2(check.match, joined(check.differences).c_str());
    QCOMPARE(check.checkpoints_compared, recording_.checkpoints.size());
    QCOMPARE(engine->digest(), recording_.final.digest());
    // The injected fault fired again at its recorded event index.
    bool found = false;
    for (const auto& fired : engine->firedFaults()) {
        if (fired.injected) {
            found = true;
            for (const auto& recorded : recording_.faults) {
                if (recorded.injected()) {
                    QCOMPARE(fired.event_index, recorded.event_index());
                }
            }
        }
    }
    QVERIFY(found);
}

void TstRecording::fileRoundTrip() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    std::filesystem::path path = dir.filePath("run.recording").toStdString();
    QCOMPARE(sluice::sim::writeRecording(recording_, path), std::string());
    auto read = sluice::sim::readRecording(path);
    auto* error = std::get_if<RecordingError>(&read);
    QVERIFY2(!error, error ? error->message.c_str() : "");
    const auto& back = std::get<Recording>(read);
    QCOMPARE(back.header.SerializeAsString(), recording_.header.SerializeAsString());
    QCOMPARE(back.faults.size(), recording_.faults.size());
    QCOMPARE(back.checkpoints.size(), recording_.checkpoints.size());
    QCOMPARE(back.final.SerializeAsString(), recording_.final.SerializeAsString());
    QCOMPARE(back.header.magic(), std::string(sluice::sim::kRecordingMagic));
    QCOMPARE(back.header.seed(), kSeed);
    QCOMPARE(back.header.build_version(), std::string(sluice::sim::buildVersion()));
}

// A run stopped before its end replays up to the same event count.
void TstRecording::stoppedRunReplays() {
    auto engine = engineFor(sluice::test::sourcePath(kScenario), kSeed);
    QVERIFY(engine);
    engine->runUntilTime(kInjectAtNs);
    QVERIFY(!engine->isOver());
    Recording recording = sluice::sim::recordingOf(*engine, {}, nullptr);
    QCOMPARE(recording.final.run_state(), std::string("RUNNING"));
    auto replayed = replay(recording);
    QVERIFY(replayed);
    QCOMPARE(replayed->eventCount(), engine->eventCount());
    auto check = sluice::sim::compareReplay(recording, *replayed);
    QVERIFY2(check.match, joined(check.differences).c_str());
}

// A slower operator in the replayed scenario changes the run from the first
// checkpoint on; the check names the first checkpoint whose digest differs.
void TstRecording::editedScenarioDiverges() {
    Recording edited = recording_;
    std::string text = edited.header.scenario_text();
    const std::string cost = "ns_per_record: 2000";
    size_t at = text.find(cost);
    QVERIFY(at != std::string::npos);
    text.replace(at, cost.size(), "ns_per_record: 2500");
    edited.header.set_scenario_text(text);

    auto engine = replay(edited);
    QVERIFY(engine);
    auto check = sluice::sim::compareReplay(edited, *engine);
    QVERIFY(!check.match);
    QVERIFY(check.expected_checkpoint.has_value());
    QVERIFY(check.actual_checkpoint.has_value());
    const auto& actual = engine->checkpointDigests();
    size_t first = 0;
    while (first < actual.size() && first < edited.checkpoints.size() &&
           actual[first].digest == edited.checkpoints[first].digest()) {
        ++first;
    }
    QVERIFY(first < edited.checkpoints.size());
    QCOMPARE(check.checkpoints_compared, first);
    QCOMPARE(check.expected_checkpoint->checkpoint_id(), edited.checkpoints[first].checkpoint_id());
    QCOMPARE(check.actual_checkpoint->digest, actual[first].digest);
    QVERIFY(!check.differences.empty());
    const std::string& line = check.differences.front();
    const std::string id = std::to_string(edited.checkpoints[first].checkpoint_id());
    QVERIFY2(line.find("checkpoint " + id + " diverges") != std::string::npos, line.c_str());
    QVERIFY2(
        line.find(sluice::sim::digestHex(edited.checkpoints[first].digest())) != std::string::npos,
        line.c_str());
    QVERIFY2(line.find(sluice::sim::digestHex(actual[first].digest)) != std::string::npos,
             line.c_str());
    QVERIFY2(line.find("event " + std::to_string(edited.checkpoints[first].event_index())) !=
                 std::string::npos,
             line.c_str());
}

// The scenario is loaded by a relative path from its own folder; the replay
// runs from another folder and still finds the CSV file.
void TstRecording::csvPathResolvesAgainstRecordedFolder() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    std::filesystem::path folder = dir.path().toStdString();
    std::string csv = "key,time,value\n";
    for (int i = 0; i < 200; ++i) {
        csv += "k" + std::to_string(i % 7) + "," + std::to_string(1000 + i * 10) + "," +
               std::to_string(i % 13) + "\n";
    }
    QVERIFY(writeText(folder / "rows.csv", csv));
    QVERIFY(writeText(folder / "csv.textproto", R"(name: "csv"
job {
  name: "csv"
  operators {
    id: "rows"
    parallelism: 1
    csv { path: "rows.csv" key_column: "key" event_time_column: "time"
          value_column: "value" time_format: "epoch_ms" rate_per_second: 1000 }
  }
  operators { id: "sink" parallelism: 1 sink { kind: COLLECT } }
  edges { from: "rows" to: "sink" }
}
)"));
    // sluice-run loads and records from one current folder, as here.
    const std::filesystem::path previous = std::filesystem::current_path();
    std::filesystem::current_path(folder);
    auto engine = engineFor("csv.textproto", 1);
    Recording recording;
    if (engine) {
        engine->run();
        recording = sluice::sim::recordingOf(*engine, {}, nullptr);
    }
    std::filesystem::current_path(previous);
    QVERIFY(engine);
    QCOMPARE(recording.header.scenario_path(), std::string("csv.textproto"));
    QCOMPARE(std::filesystem::path(recording.header.scenario_dir()), folder.lexically_normal());
    auto replayed = replay(recording);
    QVERIFY(replayed);
    auto check = sluice::sim::compareReplay(recording, *replayed);
    QVERIFY2(check.match, joined(check.differences).c_str());
}

void TstRecording::missingFile() {
    auto read = sluice::sim::readRecording("/nonexistent-dir/run.recording");
    auto* error = std::get_if<RecordingError>(&read);
    QVERIFY(error);
    QVERIFY2(error->message.find("cannot open the recording /nonexistent-dir/run.recording") !=
                 std::string::npos,
             error->message.c_str());
}

void TstRecording::badMagic() {
    std::string bytes = bytes_;
    // The magic string starts 4 bytes in: 2 bytes of size prefix, the
    // field's tag and its length.
    bytes[5] = 'X';
    std::string error = parseError(bytes);
    QVERIFY2(error.find("not a Sluice recording (bad magic") != std::string::npos, error.c_str());
    error = parseError("scenario: not a recording\n");
    QVERIFY2(error.find("bad magic") != std::string::npos, error.c_str());
    error = parseError("");
    QVERIFY2(error.find("empty") != std::string::npos, error.c_str());
}

void TstRecording::unsupportedVersion() {
    Recording future = recording_;
    future.header.set_format_version(sluice::sim::kRecordingFormatVersion + 1);
    std::string error = parseError(sluice::sim::serializeRecording(future));
    QVERIFY2(error.find("recording format version 2 is not supported") != std::string::npos,
             error.c_str());
}

// Cut inside the second message (the first entry after the header).
void TstRecording::truncatedMessageNamed() {
    size_t pos = 0;
    uint64_t header_size = 0;
    for (int shift = 0;; shift += 7) {
        uint8_t byte = uint8_t(bytes_[pos++]);
        header_size |= uint64_t(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            break;
        }
    }
    size_t second = pos + header_size;
    std::string error = parseError(bytes_.substr(0, second + 3));
    const std::string expected =
        "message 2 at byte offset " + std::to_string(second) + " is truncated";
    QVERIFY2(error.find(expected) != std::string::npos, error.c_str());
}

// A changed digest byte still parses, but the checksum gives it away, so it
// is not mistaken for a divergence of the replay.
void TstRecording::flippedDigestIsCorruption() {
    Recording changed = recording_;
    changed.checkpoints[1].set_digest(changed.checkpoints[1].digest() ^ 1);
    std::string bytes = sluice::sim::serializeRecording(changed);
    std::string original = bytes_;
    size_t differing = 0;
    while (bytes[differing] == original[differing]) {
        ++differing;
    }
    original[differing] = bytes[differing];
    std::string error = parseError(original);
    QVERIFY2(error.find("corrupted: the checksum") != std::string::npos, error.c_str());
}

void TstRecording::truncationAtEveryOffset() {
    for (size_t size = 0; size < bytes_.size(); ++size) {
        std::string error = parseError(bytes_.substr(0, size));
        bool named = error.find(size == 0 ? "empty" : "truncated") != std::string::npos;
        QVERIFY2(named, ("cut at " + std::to_string(size) + ": " + error).c_str());
        if (size > 0 && error.find("byte offset") == std::string::npos) {
            QFAIL(("cut at " + std::to_string(size) + " names no byte offset: " + error).c_str());
        }
    }
    QCOMPARE(parseError(bytes_), std::string("parsed"));
}

// Every change of one to three bytes is reported, never parsed or crashed on.
void TstRecording::randomByteFlips() {
    std::mt19937_64 random(20240531);
    for (int trial = 0; trial < 3000; ++trial) {
        std::string bytes = bytes_;
        int flips = 1 + int(random() % 3);
        for (int i = 0; i < flips; ++i) {
            size_t at = size_t(random() % bytes.size());
            bytes[at] = char(uint8_t(bytes[at]) ^ uint8_t(1 + random() % 255));
        }
        if (bytes == bytes_) {
            continue;  // two flips of one byte cancelled out
        }
        std::string error = parseError(bytes);
        QVERIFY2(error != "parsed", ("trial " + std::to_string(trial) + " parsed").c_str());
    }
}

QTEST_GUILESS_MAIN(TstRecording)
#include "tst_recording.moc"
