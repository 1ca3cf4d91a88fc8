#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace sluice::sim {

// SplitMix64 finalizer: a bijective 64-bit mix. Used to derive seeds and for
// counter-based randomness, where the value for (seed, partition, offset)
// must be computable in any order.
inline uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// Uniform double in [0, 1) from the top 53 bits of `bits`.
inline double unitDouble(uint64_t bits) {
    return double(bits >> 11) * (1.0 / 9007199254740992.0);
}

// xoshiro256** (Blackman and Vigna), seeded through SplitMix64. Owned by the
// project so every platform and standard library draws the same sequence.
class Prng {
public:
    explicit Prng(uint64_t seed) {
        uint64_t x = seed;
        for (auto& word : state_) {
            x += 0x9e3779b97f4a7c15ull;
            word = mix64(x);
        }
    }

    uint64_t nextU64() {
        uint64_t result = rotl(state_[1] * 5, 7) * 9;
        uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    double nextDouble() { return unitDouble(nextU64()); }

    // Uniform integer in [0, bound), bound > 0, without modulo bias
    // (Lemire's multiply-and-reject method).
    uint64_t nextBelow(uint64_t bound);

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t state_[4];
};

// Uniform integers in [min, max].
class UniformIntDistribution {
public:
    // Unsigned arithmetic, so spans wider than INT64_MAX do not overflow.
    UniformIntDistribution(int64_t min, int64_t max)
        : min_(min), span_(uint64_t(max) - uint64_t(min) + 1) {}
    int64_t sample(Prng& prng) const {
        return span_ == 0 ? int64_t(prng.nextU64())
                          : int64_t(uint64_t(min_) + prng.nextBelow(span_));
    }
    // From given random bits instead of a generator, for counter-based use;
    // the bias of the modulo is below 2^-40 for spans up to 2^24.
    int64_t fromBits(uint64_t bits) const {
        return span_ == 0 ? int64_t(bits) : int64_t(uint64_t(min_) + bits % span_);
    }

private:
    int64_t min_;
    uint64_t span_;  // 0 means the whole 64-bit range
};

// Exponential distribution with the given rate (events per unit).
class ExponentialDistribution {
public:
    explicit ExponentialDistribution(double rate) : rate_(rate) {}
    double sample(Prng& prng) const { return fromBits(prng.nextU64()); }
    double fromBits(uint64_t bits) const { return -std::log1p(-unitDouble(bits)) / rate_; }

private:
    double rate_;
};

// Zipf distribution over ranks [0, n): P(k) proportional to 1 / (k + 1)^s.
// Sampling is O(1) through Vose's alias table, built once in O(n).
class ZipfDistribution {
public:
    ZipfDistribution(uint64_t n, double exponent);

    uint64_t sample(Prng& prng) const { return fromBits(prng.nextU64()); }
    // One draw from 64 random bits: the low 32 pick a column, the high 32
    // flip the biased coin.
    uint64_t fromBits(uint64_t bits) const {
        uint64_t column = ((bits & 0xffffffffull) * uint64_t(table_.size())) >> 32;
        uint32_t coin = uint32_t(bits >> 32);
        const Column& c = table_[column];
        return coin < c.threshold ? column : c.alias;
    }
    // Probability of rank k, for tests.
    double probability(uint64_t k) const { return probabilities_[k]; }
    uint64_t size() const { return table_.size(); }

private:
    // Threshold and alias side by side, so a draw touches one cache line.
    struct Column {
        uint32_t threshold;  // coin threshold scaled to 2^32
        uint32_t alias;
    };
    std::vector<Column> table_;
    std::vector<double> probabilities_;
};

}  // namespace sluice::sim
