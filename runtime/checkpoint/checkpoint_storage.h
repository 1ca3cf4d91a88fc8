#pragma once

#include "proto/checkpoint.pb.h"

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <variant>

namespace sluice {

// A filesystem operation on checkpoint storage failed; the message names the
// path and the cause.
class CheckpointStorageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Checkpoint storage in Flink's layout under one root directory:
//   root/chk-<id>/_metadata        metadata of checkpoint <id>
//   root/chk-<id>/<owner>/...      files exclusive to checkpoint <id>
//   root/savepoint-<id>/...        self-contained savepoints
//   root/shared/...                incremental files shared between
//                                  checkpoints, reference-counted by
//                                  SharedStateRegistry
//   root/taskowned/...             files owned by tasks (unused so far)
//
// Errors of the underlying filesystem surface as CheckpointStorageError
// (or an error string from readMetadata), never as crashes.
class CheckpointStorage {
public:
    explicit CheckpointStorage(std::filesystem::path root);

    // Injected faults: uploads take `upload_slowdown` times longer, and
    // while `failing` every upload fails, so subtasks decline checkpoints.
    double upload_slowdown = 1.0;
    bool failing = false;

    const std::filesystem::path& root() const { return root_; }
    // Directories; each is created if missing.
    std::filesystem::path checkpointDir(int64_t id) const;
    std::filesystem::path savepointDir(int64_t id) const;
    std::filesystem::path sharedDir() const;
    std::filesystem::path taskOwnedDir() const;

    // Relative names of the directories above, as state files refer to them.
    static std::string checkpointDirName(int64_t id) { return "chk-" + std::to_string(id); }
    static std::string savepointDirName(int64_t id) { return "savepoint-" + std::to_string(id); }

    // Writes chk-<id>/_metadata, or savepoint-<id>/_metadata when
    // metadata.savepoint() is set. The file is written to a temporary name
    // first and renamed, so a reader never sees a partial file.
    void writeMetadata(const checkpoint::CheckpointMetadata& metadata) const;

    // Reads the metadata of a checkpoint directory or of a _metadata file.
    // Returns an error string naming the file on a missing, truncated or
    // corrupt file.
    static std::variant<checkpoint::CheckpointMetadata, std::string> readMetadata(
        const std::filesystem::path& checkpoint_or_metadata_path);

    // Deletes chk-<id> with all its exclusive files. Files under shared/ are
    // left alone: the registry deletes them once no checkpoint uses them.
    void discardCheckpoint(int64_t id) const;

private:
    std::filesystem::path ensureDir(const std::filesystem::path& dir) const;

    std::filesystem::path root_;
};

}  // namespace sluice
