#include "sim/random.h"

#include <stdexcept>

namespace sluice::sim {

uint64_t Prng::nextBelow(uint64_t bound) {
    // Lemire, "Fast Random Integer Generation in an Interval" (2019).
    __uint128_t product = __uint128_t(nextU64()) * bound;
    uint64_t low = uint64_t(product);
    if (low < bound) {
        uint64_t threshold = -bound % bound;
        while (low < threshold) {
            product = __uint128_t(nextU64()) * bound;
            low = uint64_t(product);
        }
    }
    return uint64_t(product >> 64);
}

ZipfDistribution::ZipfDistribution(uint64_t n, double exponent) {
    if (n == 0 || n > UINT32_MAX) {
        throw std::invalid_argument("zipf distribution needs 1 to 2^32-1 ranks");
    }
    probabilities_.resize(n);
    double total = 0;
    for (uint64_t k = 0; k < n; ++k) {
        probabilities_[k] = 1.0 / std::pow(double(k + 1), exponent);
        total += probabilities_[k];
    }
    for (auto& p : probabilities_) {
        p /= total;
    }

    // Vose's alias method: split scaled probabilities into small and large.
    std::vector<double> scaled(n);
    std::vector<uint32_t> small;
    std::vector<uint32_t> large;
    for (uint64_t k = 0; k < n; ++k) {
        scaled[k] = probabilities_[k] * double(n);
        (scaled[k] < 1.0 ? small : large).push_back(uint32_t(k));
    }
    table_.resize(n);
    for (uint64_t k = 0; k < n; ++k) {
        table_[k] = Column{UINT32_MAX, uint32_t(k)};
    }
    while (!small.empty() && !large.empty()) {
        uint32_t s = small.back();
        small.pop_back();
        uint32_t l = large.back();
        table_[s] = Column{uint32_t(scaled[s] * 4294967296.0), l};
        scaled[l] = (scaled[l] + scaled[s]) - 1.0;
        if (scaled[l] < 1.0) {
            large.pop_back();
            small.push_back(l);
        }
    }
    // Leftovers have probability 1 up to rounding: never take the alias.
    for (uint32_t k : small) {
        table_[k].threshold = UINT32_MAX;
    }
    for (uint32_t k : large) {
        table_[k].threshold = UINT32_MAX;
    }
}

}  // namespace sluice::sim
