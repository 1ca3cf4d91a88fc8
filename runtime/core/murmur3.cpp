#include "runtime/core/murmur3.h"

#include <cstring>

namespace sluice {

namespace {

uint32_t rotl32(uint32_t x, int r) {
    return (x << r) | (x >> (32 - r));
}

uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

}  // namespace

uint32_t murmur3_32(const void* data, size_t size, uint32_t seed) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    const size_t block_count = size / 4;
    constexpr uint32_t c1 = 0xcc9e2d51u;
    constexpr uint32_t c2 = 0x1b873593u;
    uint32_t h = seed;

    for (size_t i = 0; i < block_count; ++i) {
        uint32_t k;
        std::memcpy(&k, bytes + i * 4, 4);  // little-endian on every supported target
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }

    const uint8_t* tail = bytes + block_count * 4;
    uint32_t k = 0;
    switch (size & 3) {
        case 3:
            k ^= uint32_t(tail[2]) << 16;
            [[fallthrough]];
        case 2:
            k ^= uint32_t(tail[1]) << 8;
            [[fallthrough]];
        case 1:
            k ^= tail[0];
            k *= c1;
            k = rotl32(k, 15);
            k *= c2;
            h ^= k;
    }
    h ^= uint32_t(size);
    return fmix32(h);
}

}  // namespace sluice
