#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice {

// MurmurHash3 x86_32 of `data` (Austin Appleby's public-domain algorithm).
// Key groups are derived from it, so its output must never change between
// builds.
uint32_t murmur3_32(const void* data, size_t size, uint32_t seed = 0);

inline uint32_t murmur3_32(std::string_view bytes, uint32_t seed = 0) {
    return murmur3_32(bytes.data(), bytes.size(), seed);
}

}  // namespace sluice
