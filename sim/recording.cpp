#include "sim/recording.h"

#include "sim/scenario_loader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

// sim/CMakeLists.txt passes project(VERSION); the fallback serves builds
// that compile this file on their own.
#ifndef SLUICE_VERSION
#define SLUICE_VERSION "unknown"
#endif

namespace sluice::sim {

namespace {

// A varint never needs more than 10 bytes for 64 bits.
constexpr size_t kMaxVarintBytes = 10;

uint64_t fnv1a64(const char* data, size_t size) {
    uint64_t hash = 14695981039346656037ULL;
    for (size_t i = 0; i < size; ++i) {
        hash ^= uint8_t(data[i]);
        hash *= 1099511628211ULL;
    }
    return hash;
}

void appendVarint(std::string& out, uint64_t value) {
    while (value >= 0x80) {
        out.push_back(char(uint8_t(value) | 0x80));
        value >>= 7;
    }
    out.push_back(char(value));
}

void appendDelimited(std::string& out, const google::protobuf::MessageLite& message) {
    std::string body = message.SerializeAsString();
    appendVarint(out, body.size());
    out += body;
}

enum class VarintStatus { kOk, kTruncated, kInvalid };

VarintStatus readVarint(const std::string& bytes, size_t* pos, uint64_t* value) {
    *value = 0;
    for (size_t i = 0; i < kMaxVarintBytes; ++i) {
        if (*pos >= bytes.size()) {
            return VarintStatus::kTruncated;
        }
        uint8_t byte = uint8_t(bytes[(*pos)++]);
        *value |= uint64_t(byte & 0x7f) << (7 * i);
        if ((byte & 0x80) == 0) {
            return VarintStatus::kOk;
        }
    }
    return VarintStatus::kInvalid;
}

bool isJsonPath(const std::filesystem::path& path) {
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return extension == ".json";
}

std::string absoluteFolder(const std::filesystem::path& folder) {
    std::error_code error;
    auto absolute = std::filesystem::absolute(folder.empty() ? "." : folder, error);
    if (error) {
        return folder.string();
    }
    absolute = absolute.lexically_normal();
    // "/a/b/." normalizes to "/a/b/"; drop the trailing separator.
    return (absolute.has_filename() ? absolute : absolute.parent_path()).string();
}

// Position of one length-delimited message in the file.
struct Frame {
    size_t offset = 0;  // of its size prefix
    size_t body = 0;    // of its first byte after the prefix
    size_t size = 0;    // of the body
};

std::string messageName(size_t index) {
    return "message " + std::to_string(index + 1) + (index == 0 ? " (the header)" : "");
}

// The expected first bytes of a header body: field 1 (magic) as a
// length-delimited field, tag 0x0a, then its length and text.
std::string magicPrefix() {
    std::string prefix = "\x0a";
    prefix.push_back(char(std::strlen(kRecordingMagic)));
    prefix += kRecordingMagic;
    return prefix;
}

// Splits the file into frames; the error names the first message that does
// not fit.
std::variant<std::vector<Frame>, RecordingError> splitFrames(const std::string& bytes,
                                                             const std::string& name) {
    std::vector<Frame> frames;
    size_t pos = 0;
    while (pos < bytes.size()) {
        Frame frame;
        frame.offset = pos;
        uint64_t size = 0;
        VarintStatus status = readVarint(bytes, &pos, &size);
        std::string where = name + ": " + messageName(frames.size()) + " at byte offset " +
                            std::to_string(frame.offset);
        if (status == VarintStatus::kTruncated) {
            return RecordingError{where + " is truncated: the file ends inside its size prefix"};
        }
        if (status == VarintStatus::kInvalid) {
            return RecordingError{where + " is corrupted: its size prefix is not a valid varint"};
        }
        size_t left = bytes.size() - pos;
        if (size > left) {
            return RecordingError{where + " is truncated: its size prefix gives " +
                                  std::to_string(size) + " bytes but only " + std::to_string(left) +
                                  " remain in the file"};
        }
        frame.body = pos;
        frame.size = size_t(size);
        pos += frame.size;
        frames.push_back(frame);
    }
    return frames;
}

// Checks the magic string and the format version from the raw bytes, so a
// file that is not a recording, or one of a newer layout, is named as such
// instead of as corrupted.
std::optional<RecordingError> checkMagicAndVersion(const std::string& bytes,
                                                   const std::string& name) {
    if (bytes.empty()) {
        return RecordingError{name + ": the file is empty, so it is not a Sluice recording"};
    }
    size_t pos = 0;
    uint64_t size = 0;
    const std::string prefix = magicPrefix();
    const std::string not_recording =
        name + ": not a Sluice recording (bad magic: the file does not start with a header " +
        "whose magic is \"" + kRecordingMagic + "\")";
    if (readVarint(bytes, &pos, &size) == VarintStatus::kInvalid) {
        return RecordingError{not_recording};
    }
    // readVarint leaves pos at most at bytes.size().
    size_t available = std::min(prefix.size(), bytes.size() - pos);
    if (bytes.compare(pos, available, prefix, 0, available) != 0) {
        return RecordingError{not_recording};
    }
    if (available < prefix.size()) {
        return std::nullopt;  // truncated inside the magic; splitFrames names it
    }
    pos += prefix.size();
    // Field 2 (format_version) as a varint: tag 0x10.
    uint64_t version = 0;
    if (pos >= bytes.size()) {
        return std::nullopt;
    }
    if (uint8_t(bytes[pos]) != 0x10) {
        return RecordingError{name + ": message 1 (the header) at byte offset 0 is corrupted: " +
                              "no format version follows the magic string"};
    }
    ++pos;
    if (readVarint(bytes, &pos, &version) != VarintStatus::kOk) {
        return std::nullopt;
    }
    if (version != kRecordingFormatVersion) {
        return RecordingError{name + ": recording format version " + std::to_string(version) +
                              " is not supported; this build of sluice (" + buildVersion() +
                              ") reads version " + std::to_string(kRecordingFormatVersion)};
    }
    return std::nullopt;
}

// Checks that the file ends with an End entry whose checksum matches the
// bytes before it.
std::optional<RecordingError> checkEnd(const std::string& bytes, const std::vector<Frame>& frames,
                                       const std::string& name) {
    const Frame& last = frames.back();
    recording::Entry entry;
    bool is_end = frames.size() > 1 &&
                  entry.ParseFromArray(bytes.data() + last.body, int(last.size)) &&
                  entry.kind_case() == recording::Entry::kEnd;
    if (!is_end) {
        return RecordingError{name + ": the file is truncated: it ends after " +
                              messageName(frames.size() - 1) + " at byte offset " +
                              std::to_string(last.offset) + " without the end message"};
    }
    if (entry.end().checksum() != fnv1a64(bytes.data(), last.offset)) {
        return RecordingError{name + ": the file is corrupted: the checksum in " +
                              messageName(frames.size() - 1) + " at byte offset " +
                              std::to_string(last.offset) + " does not match the bytes before it"};
    }
    return std::nullopt;
}

// Fills `recording` from the entries between the header and the end, which
// must be faults and checkpoints followed by exactly one final entry.
std::optional<RecordingError> readEntries(const std::string& bytes,
                                          const std::vector<Frame>& frames, const std::string& name,
                                          Recording* recording) {
    bool has_final = false;
    for (size_t i = 1; i + 1 < frames.size(); ++i) {
        std::string where =
            name + ": " + messageName(i) + " at byte offset " + std::to_string(frames[i].offset);
        recording::Entry entry;
        if (!entry.ParseFromArray(bytes.data() + frames[i].body, int(frames[i].size))) {
            return RecordingError{where + " is corrupted: it does not parse"};
        }
        if (has_final) {
            return RecordingError{where + " is corrupted: it follows the final message"};
        }
        switch (entry.kind_case()) {
            case recording::Entry::kFault:
                recording->faults.push_back(entry.fault());
                break;
            case recording::Entry::kCheckpoint:
                recording->checkpoints.push_back(entry.checkpoint());
                break;
            case recording::Entry::kFinal:
                recording->final = entry.final();
                has_final = true;
                break;
            default:
                return RecordingError{where + " is corrupted: it is neither a fault, a " +
                                      "checkpoint nor the final message"};
        }
    }
    if (!has_final) {
        return RecordingError{name + ": the file is corrupted: it has no final message"};
    }
    return std::nullopt;
}

std::string faultLine(const recording::Fault& fault) {
    return "'" + fault.description() + "' at event " + std::to_string(fault.event_index());
}

std::string checkpointLine(int64_t id, uint64_t event_index, uint64_t digest) {
    return "checkpoint " + std::to_string(id) + " at event " + std::to_string(event_index) +
           " with digest " + digestHex(digest);
}

// The first checkpoint that differs, if any; fills the checkpoint fields of
// `check` and returns the event index where the difference shows.
std::optional<std::pair<uint64_t, std::string>> firstCheckpointDifference(
    const Recording& recording, const Engine& replayed, ReplayCheck* check) {
    const auto& expected = recording.checkpoints;
    const auto& actual = replayed.checkpointDigests();
    for (size_t i = 0; i < std::max(expected.size(), actual.size()); ++i) {
        if (i < expected.size() && i < actual.size()) {
            const auto& e = expected[i];
            const auto& a = actual[i];
            if (e.checkpoint_id() == a.checkpoint_id && e.event_index() == a.event_index &&
                e.digest() == a.digest) {
                ++check->checkpoints_compared;
                continue;
            }
            check->expected_checkpoint = e;
            check->actual_checkpoint = a;
            return std::make_pair(
                std::min(e.event_index(), a.event_index),
                "checkpoint " + std::to_string(e.checkpoint_id()) + " diverges: recorded " +
                    checkpointLine(e.checkpoint_id(), e.event_index(), e.digest()) + ", replayed " +
                    checkpointLine(a.checkpoint_id, a.event_index, a.digest));
        }
        if (i < expected.size()) {
            const auto& e = expected[i];
            check->expected_checkpoint = e;
            return std::make_pair(
                e.event_index(),
                "checkpoint " + std::to_string(e.checkpoint_id()) + " diverges: recorded " +
                    checkpointLine(e.checkpoint_id(), e.event_index(), e.digest()) +
                    ", but the replay never completed it");
        }
        const auto& a = actual[i];
        check->actual_checkpoint = a;
        return std::make_pair(a.event_index,
                              "checkpoint " + std::to_string(a.checkpoint_id) +
                                  " diverges: the replay completed " +
                                  checkpointLine(a.checkpoint_id, a.event_index, a.digest) +
                                  ", but the recorded run did not");
    }
    return std::nullopt;
}

std::optional<std::pair<uint64_t, std::string>> firstFaultDifference(const Recording& recording,
                                                                     const Engine& replayed) {
    const auto& expected = recording.faults;
    const auto& actual = replayed.firedFaults();
    for (size_t i = 0; i < std::max(expected.size(), actual.size()); ++i) {
        std::string label = "fault " + std::to_string(i + 1) + " diverges: ";
        if (i >= actual.size()) {
            return std::make_pair(
                expected[i].event_index(),
                label + "recorded " + faultLine(expected[i]) + ", but the replay did not fire it");
        }
        recording::Fault replayed_fault;
        replayed_fault.set_event_index(actual[i].event_index);
        replayed_fault.set_description(actual[i].description);
        if (i >= expected.size()) {
            return std::make_pair(actual[i].event_index, label + "the replay fired " +
                                                             faultLine(replayed_fault) +
                                                             ", but the recorded run did not");
        }
        const auto& e = expected[i];
        // Triggers are left out of the comparison: the fault and the event
        // index at which it fired are what the run saw.
        scenario::Fault expected_fault = e.fault();
        scenario::Fault actual_fault = actual[i].fault;
        expected_fault.clear_trigger();
        actual_fault.clear_trigger();
        if (e.event_index() != actual[i].event_index ||
            expected_fault.SerializeAsString() != actual_fault.SerializeAsString()) {
            return std::make_pair(
                std::min(e.event_index(), actual[i].event_index),
                label + "recorded " + faultLine(e) + ", replayed " + faultLine(replayed_fault));
        }
    }
    return std::nullopt;
}

}  // namespace

const char* buildVersion() {
    return SLUICE_VERSION;
}

std::string digestHex(uint64_t digest) {
    char text[17];
    std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(digest));
    return text;
}

Recording recordingOf(const Engine& engine, const EngineOptions& options, const Verdict* verdict) {
    Recording recording;
    recording::Header& header = recording.header;
    header.set_magic(kRecordingMagic);
    header.set_format_version(kRecordingFormatVersion);
    header.set_build_version(buildVersion());
    const LoadedScenario& scenario = engine.scenario();
    header.set_scenario_path(scenario.path.string());
    header.set_scenario_dir(absoluteFolder(scenario.base_dir));
    header.set_scenario_text(scenario.text);
    header.set_scenario_json(isJsonPath(scenario.path));
    header.set_seed(engine.seed());
    header.set_until_ms(uint64_t(engine.untilNs() / kNanosPerMilli));
    if (!options.restore_path.empty()) {
        std::error_code error;
        auto absolute = std::filesystem::absolute(options.restore_path, error);
        header.set_restore_path(error ? options.restore_path.string() : absolute.string());
    }
    for (const FiredFault& fired : engine.firedFaults()) {
        recording::Fault& fault = recording.faults.emplace_back();
        fault.set_event_index(fired.event_index);
        fault.set_time_ns(fired.time_ns);
        *fault.mutable_fault() = fired.fault;
        fault.set_injected(fired.injected);
        fault.set_injected_at_event(fired.injected_at_event);
        fault.set_description(fired.description);
    }
    for (const CheckpointDigest& digest : engine.checkpointDigests()) {
        recording::Checkpoint& checkpoint = recording.checkpoints.emplace_back();
        checkpoint.set_checkpoint_id(digest.checkpoint_id);
        checkpoint.set_event_index(digest.event_index);
        checkpoint.set_digest(digest.digest);
    }
    recording::Final& final = recording.final;
    final.set_digest(engine.digest());
    final.set_event_count(engine.eventCount());
    final.set_run_state(runStateName(engine.runState()));
    final.set_end_time_ns(engine.now());
    final.set_restarts(engine.numRestarts());
    if (verdict) {
        final.set_checked(true);
        final.set_verdict_pass(verdict->pass);
        final.set_verdict_summary(verdict->summary());
    }
    return recording;
}

std::string serializeRecording(const Recording& recording) {
    std::string out;
    appendDelimited(out, recording.header);
    recording::Entry entry;
    for (const auto& fault : recording.faults) {
        *entry.mutable_fault() = fault;
        appendDelimited(out, entry);
    }
    for (const auto& checkpoint : recording.checkpoints) {
        *entry.mutable_checkpoint() = checkpoint;
        appendDelimited(out, entry);
    }
    *entry.mutable_final() = recording.final;
    appendDelimited(out, entry);
    entry.mutable_end()->set_checksum(fnv1a64(out.data(), out.size()));
    appendDelimited(out, entry);
    return out;
}

std::string writeRecording(const Recording& recording, const std::filesystem::path& path) {
    std::string bytes = serializeRecording(recording);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (out) {
        out.write(bytes.data(), std::streamsize(bytes.size()));
        out.close();
    }
    if (!out) {
        return "cannot write the recording to " + path.string() + ": " + std::strerror(errno);
    }
    return {};
}

std::variant<Recording, RecordingError> parseRecording(const std::string& bytes,
                                                       const std::string& name) {
    if (auto error = checkMagicAndVersion(bytes, name)) {
        return *error;
    }
    auto split = splitFrames(bytes, name);
    if (auto* error = std::get_if<RecordingError>(&split)) {
        return *error;
    }
    const auto& frames = std::get<std::vector<Frame>>(split);
    // The checksum is verified before any message is parsed, so corrupted
    // bytes are reported as such and never reach the protobuf parser's
    // UTF-8 checks, which print an error line of their own.
    if (auto error = checkEnd(bytes, frames, name)) {
        return *error;
    }
    Recording recording;
    if (!recording.header.ParseFromArray(bytes.data() + frames[0].body, int(frames[0].size))) {
        return RecordingError{name + ": message 1 (the header) at byte offset 0 is corrupted: " +
                              "it does not parse"};
    }
    if (auto error = readEntries(bytes, frames, name, &recording)) {
        return *error;
    }
    return recording;
}

std::variant<Recording, RecordingError> readRecording(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return RecordingError{"cannot open the recording " + path.string() + ": " +
                              std::strerror(errno)};
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        return RecordingError{"cannot read the recording " + path.string() + ": " +
                              std::strerror(errno)};
    }
    return parseRecording(bytes, path.string());
}

std::variant<std::unique_ptr<Engine>, ScenarioError> replayEngineFor(const Recording& recording,
                                                                     EngineOptions options) {
    const recording::Header& header = recording.header;
    auto parsed = parseScenario(header.scenario_text(), header.scenario_path(),
                                header.scenario_dir(), header.scenario_json());
    if (auto* error = std::get_if<ScenarioError>(&parsed)) {
        return *error;
    }
    options.seed = header.seed();
    options.until_ms = int64_t(header.until_ms());
    options.restore_path = header.restore_path();
    auto built = Engine::fromScenario(std::move(std::get<LoadedScenario>(parsed)), options);
    if (auto* engine = std::get_if<std::unique_ptr<Engine>>(&built)) {
        // Run-time faults are injected again, trigger included, at the event
        // count of the original injectFault call; scenario faults fire again
        // by themselves.
        for (const auto& fault : recording.faults) {
            if (fault.injected()) {
                (*engine)->injectFaultAtEvent(fault.injected_at_event(), fault.fault());
            }
        }
    }
    return built;
}

void runReplay(Engine& engine, const Recording& recording) {
    if (recording.final.run_state() != runStateName(RunState::kRunning)) {
        engine.run();
        return;
    }
    const uint64_t stop_at = recording.final.event_count();
    if (engine.eventCount() < stop_at) {
        engine.runUntil([&] { return engine.eventCount() >= stop_at; });
    }
}

ReplayCheck compareReplay(const Recording& recording, const Engine& replayed) {
    ReplayCheck check;
    std::vector<std::pair<uint64_t, std::string>> differences;
    if (auto difference = firstCheckpointDifference(recording, replayed, &check)) {
        differences.push_back(*difference);
    }
    if (auto difference = firstFaultDifference(recording, replayed)) {
        differences.push_back(*difference);
    }
    std::stable_sort(differences.begin(), differences.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    const recording::Final& final = recording.final;
    std::string state = runStateName(replayed.runState());
    if (final.digest() != replayed.digest() || final.event_count() != replayed.eventCount() ||
        final.run_state() != state) {
        differences.emplace_back(std::max(final.event_count(), replayed.eventCount()),
                                 "the end diverges: recorded " + final.run_state() + " at event " +
                                     std::to_string(final.event_count()) + " with digest " +
                                     digestHex(final.digest()) + ", replayed " + state +
                                     " at event " + std::to_string(replayed.eventCount()) +
                                     " with digest " + replayed.digestHex());
    }
    for (auto& [event_index, text] : differences) {
        check.differences.push_back(std::move(text));
    }
    check.match = check.differences.empty();
    return check;
}

}  // namespace sluice::sim
