#include "runtime/checkpoint/shared_state_registry.h"

#include <algorithm>
#include <system_error>

namespace sluice {

SharedStateRegistry::SharedStateRegistry(std::filesystem::path root) : root_(std::move(root)) {
}

void SharedStateRegistry::registerFile(int64_t checkpoint_id, const std::string& key,
                                       const std::string& relative_path, uint64_t size_bytes) {
    File& file = entries_[key];
    if (file.checkpoints.empty()) {
        file.path = relative_path;
        file.size_bytes = size_bytes;
    }
    file.checkpoints.insert(checkpoint_id);
}

std::vector<std::string> SharedStateRegistry::releaseCheckpoint(int64_t checkpoint_id) {
    std::vector<std::string> deleted;
    for (auto it = entries_.begin(); it != entries_.end();) {
        File& file = it->second;
        if (file.checkpoints.erase(checkpoint_id) == 0) {
            ++it;
            continue;
        }
        if (!file.checkpoints.empty() && !delete_early) {
            ++it;
            continue;
        }
        // A missing file is not an error here: deleting is idempotent, and
        // the early-deletion bug may have removed it already.
        std::error_code ec;
        if (std::filesystem::remove(root_ / file.path, ec)) {
            deleted.push_back(file.path);
        }
        if (file.checkpoints.empty()) {
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    std::sort(deleted.begin(), deleted.end());
    return deleted;
}

std::vector<SharedStateRegistry::Entry> SharedStateRegistry::entries() const {
    std::vector<Entry> out;
    out.reserve(entries_.size());
    for (const auto& [key, file] : entries_) {
        out.push_back(
            Entry{key, file.path, file.size_bytes, int(file.checkpoints.size()),
                  std::vector<int64_t>(file.checkpoints.begin(), file.checkpoints.end())});
    }
    std::sort(out.begin(), out.end(),
              [](const Entry& a, const Entry& b) { return a.path < b.path; });
    return out;
}

}  // namespace sluice
