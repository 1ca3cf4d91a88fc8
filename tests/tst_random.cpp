// Randomness of the simulator: the SplitMix64 mixer against reference
// outputs, Prng determinism, nextBelow range and uniformity, and the zipf,
// exponential and uniform integer distributions. Every statistical check uses
// a fixed seed and a bound several standard deviations wide, so it is
// deterministic and still fails on a biased implementation.

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "sim/random.h"

using sluice::sim::ExponentialDistribution;
using sluice::sim::Prng;
using sluice::sim::UniformIntDistribution;
using sluice::sim::ZipfDistribution;

namespace {

// Pearson's chi-square statistic of `counts` against equal expected counts.
double chiSquareUniform(const std::vector<uint64_t>& counts) {
    uint64_t total = 0;
    for (uint64_t c : counts) {
        total += c;
    }
    const double expected = double(total) / double(counts.size());
    double statistic = 0;
    for (uint64_t c : counts) {
        const double d = double(c) - expected;
        statistic += d * d / expected;
    }
    return statistic;
}

// Smallest coin (high 32 bits) for which column `column` of `zipf` yields
// something other than `column`, or 2^32 when every coin yields `column`.
// fromBits yields the column for coins below its threshold and the alias
// above, so bisection finds the threshold.
uint64_t aliasThreshold(const ZipfDistribution& zipf, uint64_t low_bits, uint64_t column) {
    uint64_t lo = 0;
    uint64_t hi = uint64_t(1) << 32;
    while (lo < hi) {
        const uint64_t mid = lo + (hi - lo) / 2;
        if (zipf.fromBits(mid << 32 | low_bits) != column) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

}  // namespace

class TstRandom : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // mix64 is the SplitMix64 output function including its increment, so
    // mix64(i * 0x9e3779b97f4a7c15) is output i+1 of SplitMix64 seeded with 0.
    // The expected values are the published seed-0 outputs that many ports test against.
    void mix64ReferenceOutputs() {
        constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ull;
        QCOMPARE(sluice::sim::mix64(0), 0xe220a8397b1dcdafull);
        QCOMPARE(sluice::sim::mix64(kGamma), 0x6e789e6aa1b965f4ull);
        QCOMPARE(sluice::sim::mix64(2 * kGamma), 0x06c45d188009454full);
    }

    void unitDoubleBounds() {
        QCOMPARE(sluice::sim::unitDouble(0), 0.0);
        QCOMPARE(sluice::sim::unitDouble(uint64_t(1) << 63), 0.5);
        const double top = sluice::sim::unitDouble(std::numeric_limits<uint64_t>::max());
        QVERIFY(top < 1.0);
        QCOMPARE(top, 1.0 - std::ldexp(1.0, -53));
    }

    void prngSameSeedSameSequence() {
        Prng a(42);
        Prng b(42);
        for (int i = 0; i < 1000; ++i) {
            const uint64_t x = a.nextU64();
            const uint64_t y = b.nextU64();
            if (x != y) {
                QFAIL(qPrintable(QString("draw %1 differs").arg(i)));
            }
        }
    }

    void prngDifferentSeedDiffers() {
        Prng a(42);
        Prng b(43);
        int equal = 0;
        for (int i = 0; i < 1000; ++i) {
            equal += a.nextU64() == b.nextU64() ? 1 : 0;
        }
        QCOMPARE(equal, 0);
    }

    // Seed 0 must not produce the all-zero state, which xoshiro never leaves.
    void prngSeedZero() {
        Prng prng(0);
        uint64_t combined = 0;
        for (int i = 0; i < 4; ++i) {
            combined |= prng.nextU64();
        }
        QVERIFY(combined != 0);
    }

    // Each of the 64 output bits is set in about half of the draws.
    void prngBitBalance() {
        Prng prng(2024);
        constexpr int kDraws = 100'000;
        std::vector<int> ones(64, 0);
        for (int i = 0; i < kDraws; ++i) {
            const uint64_t x = prng.nextU64();
            for (int bit = 0; bit < 64; ++bit) {
                ones[size_t(bit)] += int((x >> bit) & 1);
            }
        }
        // Standard deviation sqrt(n / 4) = 158; allow 6 of them.
        for (int bit = 0; bit < 64; ++bit) {
            if (std::abs(ones[size_t(bit)] - kDraws / 2) > 950) {
                QFAIL(qPrintable(QString("bit %1 set %2 times").arg(bit).arg(ones[size_t(bit)])));
            }
        }
    }

    void nextBelowRange_data() {
        QTest::addColumn<quint64>("bound");
        QTest::newRow("1") << quint64(1);
        QTest::newRow("2") << quint64(2);
        QTest::newRow("3") << quint64(3);
        QTest::newRow("7") << quint64(7);
        QTest::newRow("1000") << quint64(1000);
        QTest::newRow("2^32+1") << (quint64(1) << 32) + 1;
        QTest::newRow("2^63+1") << (quint64(1) << 63) + 1;
        QTest::newRow("max") << std::numeric_limits<quint64>::max();
    }
    void nextBelowRange() {
        QFETCH(quint64, bound);
        Prng prng(5);
        for (int i = 0; i < 20'000; ++i) {
            const uint64_t x = prng.nextBelow(bound);
            if (x >= bound) {
                QFAIL(qPrintable(QString("draw %1 is %2").arg(i).arg(x)));
            }
        }
    }

    // Every value of a small bound appears, and the counts pass a chi-square
    // test. With 9 degrees of freedom the 0.999 quantile is 27.9; the bound
    // of 40 is looser still.
    void nextBelowUniform() {
        Prng prng(99);
        std::vector<uint64_t> counts(10, 0);
        for (int i = 0; i < 100'000; ++i) {
            ++counts[prng.nextBelow(10)];
        }
        for (uint64_t c : counts) {
            QVERIFY(c > 0);
        }
        const double statistic = chiSquareUniform(counts);
        QVERIFY2(statistic < 40.0, qPrintable(QString::number(statistic)));
    }

    // A bound of 3 * 2^62 exposes modulo bias: with `x % bound` the lowest
    // third of the range would be drawn twice as often as the others.
    void nextBelowNoModuloBias() {
        Prng prng(1234);
        const uint64_t third = uint64_t(1) << 62;
        std::vector<uint64_t> counts(3, 0);
        for (int i = 0; i < 90'000; ++i) {
            ++counts[prng.nextBelow(3 * third) / third];
        }
        // Two degrees of freedom: the 0.999 quantile is 13.8.
        const double statistic = chiSquareUniform(counts);
        QVERIFY2(statistic < 20.0, qPrintable(QString::number(statistic)));
    }

    void zipfProbabilities_data() {
        QTest::addColumn<quint64>("n");
        QTest::addColumn<double>("exponent");
        QTest::newRow("100 s=1") << quint64(100) << 1.0;
        QTest::newRow("1000 s=1.2") << quint64(1000) << 1.2;
        QTest::newRow("10 s=0") << quint64(10) << 0.0;
        QTest::newRow("1 s=1") << quint64(1) << 1.0;
        QTest::newRow("5 s=3") << quint64(5) << 3.0;
    }
    // probability(k) is 1 / (k+1)^s over the generalized harmonic number,
    // and the probabilities sum to 1.
    void zipfProbabilities() {
        QFETCH(quint64, n);
        QFETCH(double, exponent);
        const ZipfDistribution zipf(n, exponent);
        QCOMPARE(zipf.size(), uint64_t(n));
        double harmonic = 0;
        for (uint64_t k = 1; k <= n; ++k) {
            harmonic += std::pow(double(k), -exponent);
        }
        double sum = 0;
        for (uint64_t k = 0; k < n; ++k) {
            const double expected = std::pow(double(k + 1), -exponent) / harmonic;
            if (std::abs(zipf.probability(k) - expected) > 1e-12) {
                QFAIL(qPrintable(QString("rank %1: %2, expected %3")
                                     .arg(k)
                                     .arg(zipf.probability(k))
                                     .arg(expected)));
            }
            sum += zipf.probability(k);
        }
        QVERIFY(std::abs(sum - 1.0) < 1e-9);
    }

    // For n=100, s=1 the harmonic number H_100 is 5.18737751763962, so
    // rank 0 has probability 0.192776 and rank 99 one hundredth of that.
    void zipfKnownValues() {
        const ZipfDistribution zipf(100, 1.0);
        QVERIFY(std::abs(zipf.probability(0) - 1.0 / 5.18737751763962) < 1e-12);
        QVERIFY(std::abs(zipf.probability(99) - 0.01 / 5.18737751763962) < 1e-12);
    }

    // The alias table, read back through fromBits over every column, encodes
    // exactly the probabilities, up to the 2^-32 resolution of the coin and
    // the column choice.
    void zipfAliasTableExact_data() { zipfProbabilities_data(); }
    void zipfAliasTableExact() {
        QFETCH(quint64, n);
        QFETCH(double, exponent);
        const ZipfDistribution zipf(n, exponent);
        const double two32 = 4294967296.0;
        std::vector<double> implied(n, 0.0);
        for (uint64_t column = 0; column < n; ++column) {
            // Low bits that select this column: (low * n) >> 32 == column.
            const uint64_t first_low = ((column << 32) + n - 1) / n;
            const uint64_t end_low = (((column + 1) << 32) + n - 1) / n;
            QCOMPARE((first_low * n) >> 32, column);
            QCOMPARE(((end_low - 1) * n) >> 32, column);
            const double weight = double(end_low - first_low) / two32;
            const uint64_t threshold = aliasThreshold(zipf, first_low, column);
            implied[column] += weight * double(threshold) / two32;
            if (threshold < (uint64_t(1) << 32)) {
                const uint64_t alias = zipf.fromBits(threshold << 32 | first_low);
                QVERIFY(alias < n);
                implied[alias] += weight * (1.0 - double(threshold) / two32);
            }
        }
        for (uint64_t k = 0; k < n; ++k) {
            if (std::abs(implied[k] - zipf.probability(k)) > 1e-6) {
                QFAIL(qPrintable(QString("rank %1: table gives %2, expected %3")
                                     .arg(k)
                                     .arg(implied[k])
                                     .arg(zipf.probability(k))));
            }
        }
    }

    // One million draws with a fixed seed: each rank's frequency is within
    // 5 standard deviations (sqrt(p (1 - p) / N)) of probability(k), and the
    // chi-square over all 100 ranks is far below its 0.999 quantile of 148.
    void zipfSampleFrequencies() {
        const uint64_t n = 100;
        const ZipfDistribution zipf(n, 1.0);
        Prng prng(31337);
        constexpr int kSamples = 1'000'000;
        std::vector<uint64_t> counts(n, 0);
        for (int i = 0; i < kSamples; ++i) {
            const uint64_t k = zipf.sample(prng);
            if (k >= n) {
                QFAIL(qPrintable(QString("rank %1 out of range").arg(k)));
            }
            ++counts[k];
        }
        double chi_square = 0;
        for (uint64_t k = 0; k < n; ++k) {
            const double p = zipf.probability(k);
            const double frequency = double(counts[k]) / kSamples;
            const double sigma = std::sqrt(p * (1 - p) / kSamples);
            if (std::abs(frequency - p) > 5 * sigma) {
                QFAIL(qPrintable(
                    QString("rank %1: frequency %2, probability %3").arg(k).arg(frequency).arg(p)));
            }
            const double expected = p * kSamples;
            chi_square +=
                (double(counts[k]) - expected) * (double(counts[k]) - expected) / expected;
        }
        QVERIFY2(chi_square < 170.0, qPrintable(QString::number(chi_square)));
    }

    // sample(prng) is fromBits(prng.nextU64()), so counter-based callers get
    // the same draws as sequential ones.
    void zipfFromBitsDeterministic() {
        const ZipfDistribution zipf(100, 1.0);
        Prng a(8);
        Prng b(8);
        for (int i = 0; i < 10'000; ++i) {
            const uint64_t bits = b.nextU64();
            const uint64_t from_bits = zipf.fromBits(bits);
            QCOMPARE(zipf.fromBits(bits), from_bits);
            if (zipf.sample(a) != from_bits) {
                QFAIL(qPrintable(QString("draw %1 differs").arg(i)));
            }
        }
    }

    void zipfRejectsZeroRanks() {
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ZipfDistribution(0, 1.0));
    }

    // The mean of an exponential distribution is 1 / rate. Its standard
    // error over N draws is (1 / rate) / sqrt(N), 0.1% for N = 10^6.
    void exponentialMean_data() {
        QTest::addColumn<double>("rate");
        QTest::newRow("0.5") << 0.5;
        QTest::newRow("1") << 1.0;
        QTest::newRow("250") << 250.0;
    }
    void exponentialMean() {
        QFETCH(double, rate);
        const ExponentialDistribution exponential(rate);
        Prng prng(77);
        constexpr int kSamples = 1'000'000;
        double sum = 0;
        int below_mean = 0;
        for (int i = 0; i < kSamples; ++i) {
            const double x = exponential.sample(prng);
            if (!(x >= 0) || !std::isfinite(x)) {
                QFAIL(qPrintable(QString("draw %1 is %2").arg(i).arg(x)));
            }
            sum += x;
            below_mean += x < 1.0 / rate ? 1 : 0;
        }
        const double mean = sum / kSamples;
        QVERIFY2(std::abs(mean * rate - 1.0) < 0.005, qPrintable(QString::number(mean)));
        // P(X < mean) = 1 - 1/e = 0.632; its standard error is 0.0005.
        const double fraction = double(below_mean) / kSamples;
        QVERIFY2(std::abs(fraction - (1.0 - std::exp(-1.0))) < 0.003,
                 qPrintable(QString::number(fraction)));
    }

    // The inverse CDF at both ends of the bit range: 0 for zero bits, and a
    // finite value for all-one bits.
    void exponentialFromBitsEnds() {
        const ExponentialDistribution exponential(2.0);
        QCOMPARE(exponential.fromBits(0), 0.0);
        const double top = exponential.fromBits(std::numeric_limits<uint64_t>::max());
        QVERIFY(std::isfinite(top));
        // -ln(2^-53) / 2 = 53 ln 2 / 2.
        QVERIFY(std::abs(top - 53 * std::log(2.0) / 2) < 1e-9);
        // Half of the bit range maps to the median ln 2 / rate.
        QVERIFY(std::abs(exponential.fromBits(uint64_t(1) << 63) - std::log(2.0) / 2) < 1e-12);
    }

    void uniformIntRange() {
        const UniformIntDistribution uniform(-3, 3);
        Prng prng(3);
        std::vector<uint64_t> counts(7, 0);
        for (int i = 0; i < 70'000; ++i) {
            const int64_t x = uniform.sample(prng);
            if (x < -3 || x > 3) {
                QFAIL(qPrintable(QString("draw %1 is %2").arg(i).arg(x)));
            }
            ++counts[size_t(x + 3)];
        }
        // Six degrees of freedom: the 0.999 quantile is 22.5.
        const double statistic = chiSquareUniform(counts);
        QVERIFY2(statistic < 30.0, qPrintable(QString::number(statistic)));
        QCOMPARE(uniform.fromBits(0), int64_t(-3));
        QCOMPARE(uniform.fromBits(6), int64_t(3));
        QCOMPARE(uniform.fromBits(7), int64_t(-3));
    }

    void uniformIntSingleValue() {
        const UniformIntDistribution uniform(5, 5);
        Prng prng(3);
        for (int i = 0; i < 100; ++i) {
            QCOMPARE(uniform.sample(prng), int64_t(5));
        }
    }

    // Ranges wider than INT64_MAX: the span must be computed without signed
    // overflow. The whole int64 range returns the raw bits.
    void uniformIntWideRange() {
        const int64_t min = std::numeric_limits<int64_t>::min();
        const int64_t max = std::numeric_limits<int64_t>::max();
        const UniformIntDistribution full(min, max);
        QCOMPARE(full.fromBits(0), int64_t(0));
        QCOMPARE(full.fromBits(uint64_t(max)), max);

        const UniformIntDistribution upper(-1, max);
        // Span 2^63 + 1: bits 0 is -1, bits 2^63 is max.
        QCOMPARE(upper.fromBits(0), int64_t(-1));
        QCOMPARE(upper.fromBits(uint64_t(1) << 63), max);
        Prng prng(17);
        for (int i = 0; i < 1000; ++i) {
            QVERIFY(upper.sample(prng) >= -1);
        }
    }
};

QTEST_GUILESS_MAIN(TstRandom)
#include "tst_random.moc"
