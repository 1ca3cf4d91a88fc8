#pragma once

// Recordings of runs (schema and file layout: sim/proto/recording.proto): the
// scenario text, seed and time limit, every fault that fired, the digest at
// every completed checkpoint and the final digest. Replaying a recording
// rebuilds the engine, re-applies the faults injected at run time at their
// event index and compares the digests, so a failing seed found by a sweep
// or a fault injected from the GUI can be reproduced exactly.

#include "proto/recording.pb.h"
#include "sim/checker.h"
#include "sim/engine.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace sluice::sim {

inline constexpr const char* kRecordingMagic = "sluice-recording";
inline constexpr uint32_t kRecordingFormatVersion = 1;

// Version of this Sluice build, such as "0.1.0".
const char* buildVersion();

struct Recording {
    recording::Header header;
    std::vector<recording::Fault> faults;
    std::vector<recording::Checkpoint> checkpoints;
    recording::Final final;
};

// Why a recording cannot be read: the whole text is one message for people,
// such as "run.recording: message 3 at byte offset 812 is truncated: ...".
struct RecordingError {
    std::string message;
};

// The recording of `engine`'s run so far. `options` are the options the
// engine was built with, for the restore path. `verdict` is the run's checked
// verdict, or null when it was not checked. Relative scenario and restore
// paths are made absolute against the current folder, so the current folder
// must not have changed since the engine was built.
Recording recordingOf(const Engine& engine, const EngineOptions& options, const Verdict* verdict);

// The file's bytes: length-delimited messages as recording.proto describes.
std::string serializeRecording(const Recording& recording);

// Writes the recording to `path`, replacing the file. Returns an empty
// string, or why the file could not be written.
std::string writeRecording(const Recording& recording, const std::filesystem::path& path);

// Parses a recording's bytes. `name` is the file name used in messages.
// Returns a RecordingError for a bad magic string, an unsupported format
// version, a truncated or unparsable message (with its number, counting the
// header as 1, and its byte offset), a missing end and a checksum mismatch.
std::variant<Recording, RecordingError> parseRecording(const std::string& bytes,
                                                       const std::string& name);

// Reads and parses a recording file; a missing or unreadable file is a
// RecordingError too.
std::variant<Recording, RecordingError> readRecording(const std::filesystem::path& path);

// Builds the engine that replays `recording`: the recorded scenario text,
// with relative data paths resolved against the recorded scenario folder,
// the recorded seed, time limit and restore path, and every fault injected at
// run time scheduled at its event index. `options` supplies the other
// settings, such as checkpoint_dir; its seed, until_ms and restore_path are
// replaced by the recorded ones.
std::variant<std::unique_ptr<Engine>, ScenarioError> replayEngineFor(const Recording& recording,
                                                                     EngineOptions options = {});

// Runs a replay engine like the recorded run: to its end, or, when the
// recorded run was stopped early (run state RUNNING), until the recorded
// event count. Returns early when Engine::requestPause was called.
void runReplay(Engine& engine, const Recording& recording);

// Result of comparing a replayed run with its recording.
struct ReplayCheck {
    bool match = true;
    size_t checkpoints_compared = 0;
    // The first checkpoint whose id, event index or digest differs, or that
    // only one of the runs completed. Both are null when every checkpoint
    // matched, even if the end of the run differs.
    std::optional<recording::Checkpoint> expected_checkpoint;
    std::optional<CheckpointDigest> actual_checkpoint;
    // Every difference found, first divergence first, one line each.
    std::vector<std::string> differences;
};

// Compares every checkpoint digest, the fired faults, the final digest, the
// event count and the run state of `replayed` with `recording`.
ReplayCheck compareReplay(const Recording& recording, const Engine& replayed);

// Lower-case hex of a digest, 16 digits, as Engine::digestHex prints it.
std::string digestHex(uint64_t digest);

}  // namespace sluice::sim
