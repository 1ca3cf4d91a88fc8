#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice {

// Appends bytes to a fixed memory region, such as the free part of a network
// buffer. Writing past the end sets overflowed() instead of writing, so a
// caller can serialize optimistically and roll back by resetting position.
class ByteWriter {
public:
    ByteWriter(uint8_t* data, size_t capacity) : data_(data), capacity_(capacity) {}

    void writeBytes(const void* bytes, size_t size) {
        if (position_ + size > capacity_) {
            overflowed_ = true;
            return;
        }
        std::memcpy(data_ + position_, bytes, size);
        position_ += size;
    }

    template <class T>
    void writeRaw(const T& value) {
        writeBytes(&value, sizeof(T));
    }

    void writeVarUint(uint64_t value) {
        uint8_t tmp[10];
        size_t n = 0;
        while (value >= 0x80) {
            tmp[n++] = uint8_t(value) | 0x80;
            value >>= 7;
        }
        tmp[n++] = uint8_t(value);
        writeBytes(tmp, n);
    }

    void writeString(std::string_view s) {
        writeVarUint(s.size());
        writeBytes(s.data(), s.size());
    }

    size_t position() const { return position_; }
    void reset(size_t position) {
        position_ = position;
        overflowed_ = false;
    }
    bool overflowed() const { return overflowed_; }

private:
    uint8_t* data_;
    size_t capacity_;
    size_t position_ = 0;
    bool overflowed_ = false;
};

// Reads bytes written by ByteWriter. Reading past the end sets failed() and
// yields zero bytes; callers check failed() once after a whole record.
class ByteReader {
public:
    ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    explicit ByteReader(std::string_view bytes)
        : data_(reinterpret_cast<const uint8_t*>(bytes.data())), size_(bytes.size()) {}

    void readBytes(void* out, size_t size) {
        if (position_ + size > size_) {
            failed_ = true;
            std::memset(out, 0, size);
            return;
        }
        std::memcpy(out, data_ + position_, size);
        position_ += size;
    }

    template <class T>
    T readRaw() {
        T value;
        readBytes(&value, sizeof(T));
        return value;
    }

    uint64_t readVarUint() {
        uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position_ >= size_) {
                failed_ = true;
                return 0;
            }
            uint8_t byte = data_[position_++];
            value |= uint64_t(byte & 0x7f) << shift;
            if (!(byte & 0x80)) {
                return value;
            }
        }
        failed_ = true;
        return 0;
    }

    void readString(std::string& out) {
        uint64_t size = readVarUint();
        if (failed_ || position_ + size > size_) {
            failed_ = true;
            out.clear();
            return;
        }
        out.assign(reinterpret_cast<const char*>(data_ + position_), size);
        position_ += size;
    }

    std::string_view readStringView() {
        uint64_t size = readVarUint();
        if (failed_ || position_ + size > size_) {
            failed_ = true;
            return {};
        }
        std::string_view view(reinterpret_cast<const char*>(data_ + position_), size);
        position_ += size;
        return view;
    }

    size_t position() const { return position_; }
    void seek(size_t position) { position_ = position; }
    size_t remaining() const { return size_ - position_; }
    bool atEnd() const { return position_ >= size_; }
    bool failed() const { return failed_; }
    void markFailed() { failed_ = true; }

private:
    const uint8_t* data_;
    size_t size_;
    size_t position_ = 0;
    bool failed_ = false;
};

}  // namespace sluice
