#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sluice {

// Reference counts of the files under shared/ that incremental checkpoints
// share: a file lives as long as at least one retained checkpoint refers to
// it. Savepoints never register; they are self-contained copies.
//
// Thread safety: none; the checkpoint coordinator's thread owns it.
class SharedStateRegistry {
public:
    struct Entry {
        std::string key;
        std::string path;  // relative to the storage root
        uint64_t size_bytes = 0;
        int reference_count = 0;              // number of checkpoints referring to the file
        std::vector<int64_t> checkpoint_ids;  // ascending
    };

    // `root` is the checkpoint storage root the relative paths resolve in.
    explicit SharedStateRegistry(std::filesystem::path root);

    // Records that `checkpoint_id` refers to the file `key`. The same key
    // always names the same file; registering it again for another
    // checkpoint adds a reference, for the same checkpoint does nothing.
    void registerFile(int64_t checkpoint_id, const std::string& key,
                      const std::string& relative_path, uint64_t size_bytes);

    // Drops the references of `checkpoint_id` (subsumed, discarded or
    // aborted) and deletes the files no checkpoint refers to any more.
    // Returns the relative paths of the deleted files, sorted.
    std::vector<std::string> releaseCheckpoint(int64_t checkpoint_id);

    bool contains(const std::string& key) const { return entries_.count(key) != 0; }
    // Every registered file, sorted by path.
    std::vector<Entry> entries() const;

    // Deliberate bug for demonstrations: when set, releaseCheckpoint deletes
    // every file of the released checkpoint even if later checkpoints still
    // refer to it, which makes restoring those checkpoints fail.
    bool delete_early = false;

private:
    struct File {
        std::string path;
        uint64_t size_bytes = 0;
        std::set<int64_t> checkpoints;
    };

    std::filesystem::path root_;
    std::map<std::string, File> entries_;
};

}  // namespace sluice
