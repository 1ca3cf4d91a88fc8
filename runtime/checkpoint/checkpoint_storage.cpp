#include "runtime/checkpoint/checkpoint_storage.h"

#include "runtime/core/murmur3.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace sluice {

namespace {

namespace fs = std::filesystem;

// _metadata layout: magic, payload length (8 bytes little-endian), murmur3
// of the payload (4 bytes little-endian), then the protobuf payload. The
// length and checksum tell a truncated or damaged file from a valid one,
// which protobuf parsing alone cannot.
constexpr char kMagic[8] = {'S', 'L', 'C', 'K', 'P', 'T', '0', '1'};
constexpr size_t kHeaderSize = sizeof(kMagic) + 8 + 4;
constexpr const char* kMetadataName = "_metadata";

void putLe(std::string& out, uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) {
        out.push_back(char(uint8_t(value >> (8 * i))));
    }
}

uint64_t getLe(const std::string& in, size_t offset, int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) {
        value |= uint64_t(uint8_t(in[offset + size_t(i)])) << (8 * i);
    }
    return value;
}

}  // namespace

CheckpointStorage::CheckpointStorage(std::filesystem::path root) : root_(std::move(root)) {
    ensureDir(root_);
}

fs::path CheckpointStorage::ensureDir(const fs::path& dir) const {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw CheckpointStorageError("cannot create checkpoint directory " + dir.string() + ": " +
                                     ec.message());
    }
    return dir;
}

fs::path CheckpointStorage::checkpointDir(int64_t id) const {
    return ensureDir(root_ / checkpointDirName(id));
}

fs::path CheckpointStorage::savepointDir(int64_t id) const {
    return ensureDir(root_ / savepointDirName(id));
}

fs::path CheckpointStorage::sharedDir() const {
    return ensureDir(root_ / "shared");
}

fs::path CheckpointStorage::taskOwnedDir() const {
    return ensureDir(root_ / "taskowned");
}

void CheckpointStorage::writeMetadata(const checkpoint::CheckpointMetadata& metadata) const {
    fs::path dir = metadata.savepoint() ? savepointDir(metadata.checkpoint_id())
                                        : checkpointDir(metadata.checkpoint_id());
    std::string payload;
    if (!metadata.SerializeToString(&payload)) {
        throw CheckpointStorageError("cannot serialize the metadata of checkpoint " +
                                     std::to_string(metadata.checkpoint_id()));
    }
    std::string bytes(kMagic, sizeof(kMagic));
    putLe(bytes, payload.size(), 8);
    putLe(bytes, murmur3_32(payload), 4);
    bytes += payload;

    fs::path target = dir / kMetadataName;
    fs::path temp = dir / "_metadata.inprogress";
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), std::streamsize(bytes.size()));
        out.close();
        if (!out) {
            throw CheckpointStorageError("cannot write checkpoint metadata " + temp.string() +
                                         ": " + std::strerror(errno));
        }
    }
    std::error_code ec;
    fs::rename(temp, target, ec);
    if (ec) {
        throw CheckpointStorageError("cannot rename " + temp.string() + " to " + target.string() +
                                     ": " + ec.message());
    }
}

std::variant<checkpoint::CheckpointMetadata, std::string> CheckpointStorage::readMetadata(
    const fs::path& checkpoint_or_metadata_path) {
    std::error_code ec;
    fs::path path = checkpoint_or_metadata_path;
    if (fs::is_directory(path, ec)) {
        path /= kMetadataName;
    }
    if (!fs::exists(path, ec)) {
        return "checkpoint metadata " + path.string() + " does not exist";
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return "cannot open checkpoint metadata " + path.string() + ": " + std::strerror(errno);
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    std::string bytes = buffer.str();
    if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
        return "checkpoint metadata " + path.string() +
               (bytes.size() < kHeaderSize ? " is truncated (" + std::to_string(bytes.size()) +
                                                 " bytes, shorter than its header)"
                                           : " is not a metadata file (bad magic number)");
    }
    uint64_t length = getLe(bytes, sizeof(kMagic), 8);
    uint32_t checksum = uint32_t(getLe(bytes, sizeof(kMagic) + 8, 4));
    if (bytes.size() - kHeaderSize < length) {
        return "checkpoint metadata " + path.string() +
               " is truncated: " + std::to_string(bytes.size() - kHeaderSize) + " of " +
               std::to_string(length) + " payload bytes present";
    }
    if (bytes.size() - kHeaderSize > length) {
        return "checkpoint metadata " + path.string() +
               " is corrupt: " + std::to_string(bytes.size() - kHeaderSize - length) +
               " unexpected bytes after the payload";
    }
    std::string_view payload(bytes.data() + kHeaderSize, length);
    if (murmur3_32(payload) != checksum) {
        return "checkpoint metadata " + path.string() + " is corrupt: checksum mismatch";
    }
    checkpoint::CheckpointMetadata metadata;
    if (!metadata.ParseFromArray(payload.data(), int(payload.size()))) {
        return "checkpoint metadata " + path.string() + " is corrupt: the payload does not parse";
    }
    return metadata;
}

void CheckpointStorage::discardCheckpoint(int64_t id) const {
    std::error_code ec;
    fs::remove_all(root_ / checkpointDirName(id), ec);
    if (ec) {
        throw CheckpointStorageError("cannot delete checkpoint directory " +
                                     (root_ / checkpointDirName(id)).string() + ": " +
                                     ec.message());
    }
}

}  // namespace sluice
