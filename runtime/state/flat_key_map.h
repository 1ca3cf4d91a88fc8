#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

// Open-addressing hash map from serialized keys to values, with linear
// probing and backward-shift deletion. Keys of up to 15 bytes live inside
// the slot (std::string's small buffer), so a lookup usually touches one
// cache line, where a node-based std::unordered_map touches two or three.
// Keyed state lookups are the hottest path of the engine.
//
// Pointers returned by find and insert stay valid until the next insert or
// erase.
template <class V>
class FlatKeyMap {
public:
    struct Slot {
        uint32_t hash = 0;  // 0 marks an empty slot
        std::string key;
        V value{};
    };

    // `key_hash` is murmur3_32 of the key, as KeyedStateBackend keeps it.
    V* find(std::string_view key, uint32_t key_hash) const {
        if (size_ == 0) {
            return nullptr;
        }
        uint32_t hash = slotHash(key_hash);
        size_t mask = slots_.size() - 1;
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
            const Slot& slot = slots_[i];
            if (slot.hash == 0) {
                return nullptr;
            }
            if (slot.hash == hash && slot.key == key) {
                return const_cast<V*>(&slot.value);
            }
        }
    }

    // Returns the value of `key`, inserting V{} if absent.
    V& findOrInsert(std::string_view key, uint32_t key_hash) {
        if ((size_ + 1) * 4 > slots_.size() * 3) {
            grow();
        }
        uint32_t hash = slotHash(key_hash);
        size_t mask = slots_.size() - 1;
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
            Slot& slot = slots_[i];
            if (slot.hash == 0) {
                slot.hash = hash;
                slot.key.assign(key);
                slot.value = V{};
                ++size_;
                return slot.value;
            }
            if (slot.hash == hash && slot.key == key) {
                return slot.value;
            }
        }
    }

    bool erase(std::string_view key, uint32_t key_hash) {
        if (size_ == 0) {
            return false;
        }
        uint32_t hash = slotHash(key_hash);
        size_t mask = slots_.size() - 1;
        size_t i = hash & mask;
        for (;; i = (i + 1) & mask) {
            if (slots_[i].hash == 0) {
                return false;
            }
            if (slots_[i].hash == hash && slots_[i].key == key) {
                break;
            }
        }
        // Backward-shift: move later entries of the probe run into the hole.
        size_t hole = i;
        for (size_t j = (i + 1) & mask; slots_[j].hash != 0; j = (j + 1) & mask) {
            size_t home = slots_[j].hash & mask;
            bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable) {
                slots_[hole] = std::move(slots_[j]);
                hole = j;
            }
        }
        slots_[hole].hash = 0;
        slots_[hole].key.clear();
        slots_[hole].value = V{};
        --size_;
        return true;
    }

    size_t size() const { return size_; }

    // Like forEach, with mutable values; must not insert or erase.
    template <class Fn>
    void forEachMutable(Fn&& fn) {
        for (Slot& slot : slots_) {
            if (slot.hash != 0) {
                fn(static_cast<const std::string&>(slot.key), slot.value);
            }
        }
    }

    template <class Fn>
    void forEach(Fn&& fn) const {
        for (const Slot& slot : slots_) {
            if (slot.hash != 0) {
                fn(slot.key, slot.value);
            }
        }
    }

private:
    // Keys of one key group share murmur3 modulo max parallelism, which
    // depends on its low bits. Rotating brings the varying high bits to the
    // bottom, where the probe position comes from.
    static uint32_t slotHash(uint32_t key_hash) {
        uint32_t h = (key_hash >> 16 | key_hash << 16) * 0x9e3779b1u;
        return h == 0 ? 1 : h;
    }

    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_ = std::vector<Slot>(old.empty() ? 16 : old.size() * 2);
        size_t mask = slots_.size() - 1;
        for (Slot& slot : old) {
            if (slot.hash == 0) {
                continue;
            }
            size_t i = slot.hash & mask;
            while (slots_[i].hash != 0) {
                i = (i + 1) & mask;
            }
            slots_[i] = std::move(slot);
        }
    }

    std::vector<Slot> slots_;
    size_t size_ = 0;
};

}  // namespace sluice
