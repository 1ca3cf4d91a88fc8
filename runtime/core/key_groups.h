#pragma once

#include "runtime/core/murmur3.h"

#include <cstdint>
#include <string_view>

namespace sluice {

constexpr int kDefaultMaxParallelism = 128;

// Inclusive range of key groups [first, last]. Empty when last < first.
struct KeyGroupRange {
    int first = 0;
    int last = -1;

    int size() const { return last >= first ? last - first + 1 : 0; }
    bool contains(int key_group) const { return key_group >= first && key_group <= last; }
    bool operator==(const KeyGroupRange&) const = default;
};

// Key group of a serialized key: murmur3 of the bytes modulo max_parallelism.
inline int keyGroupForKey(std::string_view serialized_key, int max_parallelism) {
    return int(murmur3_32(serialized_key) % uint32_t(max_parallelism));
}

// Range owned by subtask `index` of `parallelism`:
// [ceil(index * P / n), ceil((index + 1) * P / n) - 1] for P = max_parallelism.
inline KeyGroupRange keyGroupRangeForSubtask(int max_parallelism, int parallelism, int index) {
    auto ceil_div = [](int64_t a, int64_t b) { return int((a + b - 1) / b); };
    return {ceil_div(int64_t(index) * max_parallelism, parallelism),
            ceil_div(int64_t(index + 1) * max_parallelism, parallelism) - 1};
}

// Subtask that owns `key_group`; the inverse of keyGroupRangeForSubtask.
inline int subtaskForKeyGroup(int max_parallelism, int parallelism, int key_group) {
    return int(int64_t(key_group) * parallelism / max_parallelism);
}

}  // namespace sluice
