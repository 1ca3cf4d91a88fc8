// Key groups: MurmurHash3 x86_32 against published reference vectors and an
// independent byte-at-a-time implementation, and the assignment of key-group
// ranges to subtasks.

#include <QtTest>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/key_groups.h"
#include "runtime/core/murmur3.h"

using sluice::KeyGroupRange;
using sluice::keyGroupRangeForSubtask;
using sluice::murmur3_32;
using sluice::subtaskForKeyGroup;

Q_DECLARE_METATYPE(std::string)

namespace {

// Reference MurmurHash3_x86_32 written from the published algorithm. It
// differs in structure from the engine's (blocks assembled byte by byte in
// little-endian order, tail handled by a loop) so a shared mistake is unlikely.
uint32_t referenceMurmur3(const std::string& bytes, uint32_t seed) {
    auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
    auto mix_k = [&](uint32_t k) {
        k *= 0xcc9e2d51u;
        k = rotl(k, 15);
        k *= 0x1b873593u;
        return k;
    };

    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t n = bytes.size();
    uint32_t h = seed;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t k = uint32_t(p[i]) | uint32_t(p[i + 1]) << 8 | uint32_t(p[i + 2]) << 16 |
                     uint32_t(p[i + 3]) << 24;
        h ^= mix_k(k);
        h = rotl(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    if (i < n) {
        uint32_t k = 0;
        for (size_t j = n; j > i; --j) {
            k = (k << 8) | p[j - 1];
        }
        h ^= mix_k(k);
    }

    h ^= uint32_t(n);
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

// Max parallelisms exercised by the range tests: the default, small, prime,
// and the largest Flink allows.
const std::vector<int> kMaxParallelisms = {1, 7, 10, 128, 131, 1000, 32768};

}  // namespace

class TstKeyGroups : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // MurmurHash3_x86_32 test vectors that circulate in the test tables of
    // several ports. Each is checked against the reference implementation too.
    void murmurVectors_data() {
        QTest::addColumn<std::string>("input");
        QTest::addColumn<uint>("seed");
        QTest::addColumn<uint>("expected");
        using namespace std::string_literals;

        QTest::newRow("empty seed 0") << ""s << 0u << 0u;
        QTest::newRow("empty seed 1") << ""s << 1u << 0x514E28B7u;
        QTest::newRow("empty seed ffffffff") << ""s << 0xffffffffu << 0x81F16F39u;
        QTest::newRow("ffffffff") << "\xff\xff\xff\xff"s << 0u << 0x76293B50u;
        QTest::newRow("21436587") << "\x21\x43\x65\x87"s << 0u << 0xF55B516Bu;
        QTest::newRow("21436587 seeded") << "\x21\x43\x65\x87"s << 0x5082EDEEu << 0x2362F9DEu;
        QTest::newRow("214365") << "\x21\x43\x65"s << 0u << 0x7E4A8634u;
        QTest::newRow("2143") << "\x21\x43"s << 0u << 0xA0F7B07Au;
        QTest::newRow("21") << "\x21"s << 0u << 0x72661CF4u;
        QTest::newRow("zero x4") << "\0\0\0\0"s << 0u << 0x2362F9DEu;
        QTest::newRow("zero x3") << "\0\0\0"s << 0u << 0x85F0B427u;
        QTest::newRow("zero x2") << "\0\0"s << 0u << 0x30F4C306u;
        QTest::newRow("zero x1") << "\0"s << 0u << 0x514E28B7u;
        QTest::newRow("hello") << "hello"s << 0u << 0x248bfa47u;
        QTest::newRow("abc") << "abc"s << 0u << 0xB3DD93FAu;
        QTest::newRow("fox seed 0")
            << "The quick brown fox jumps over the lazy dog"s << 0u << 0x2e4ff723u;
        QTest::newRow("fox seeded")
            << "The quick brown fox jumps over the lazy dog"s << 0x9747b28cu << 0x2FA826CDu;
        QTest::newRow("aaaa seeded") << "aaaa"s << 0x9747b28cu << 0x5A97808Au;
        QTest::newRow("aaa seeded") << "aaa"s << 0x9747b28cu << 0x283E0130u;
        QTest::newRow("aa seeded") << "aa"s << 0x9747b28cu << 0x5D211726u;
        QTest::newRow("a seeded") << "a"s << 0x9747b28cu << 0x7FA09EA6u;
        QTest::newRow("abcd seeded") << "abcd"s << 0x9747b28cu << 0xF0478627u;
        QTest::newRow("abc seeded") << "abc"s << 0x9747b28cu << 0xC84A62DDu;
        QTest::newRow("ab seeded") << "ab"s << 0x9747b28cu << 0x74875592u;
        QTest::newRow("hello world seeded") << "Hello, world!"s << 0x9747b28cu << 0x24884CBAu;
    }
    void murmurVectors() {
        QFETCH(std::string, input);
        QFETCH(uint, seed);
        QFETCH(uint, expected);
        QCOMPARE(referenceMurmur3(input, seed), uint32_t(expected));
        QCOMPARE(murmur3_32(input, seed), uint32_t(expected));
    }

    // Every length 0..64 (all tail sizes and several blocks) and several
    // seeds, with deterministic pseudo-random bytes including high bytes.
    void murmurMatchesReference() {
        uint32_t state = 12345;
        auto next_byte = [&state] {
            state = state * 1103515245u + 12345u;
            return char(state >> 24);
        };
        for (uint32_t seed : {0u, 1u, 0x9747b28cu, 0xffffffffu}) {
            for (int length = 0; length <= 64; ++length) {
                std::string bytes;
                for (int i = 0; i < length; ++i) {
                    bytes.push_back(next_byte());
                }
                const uint32_t actual = murmur3_32(bytes, seed);
                const uint32_t expected = referenceMurmur3(bytes, seed);
                if (actual != expected) {
                    QFAIL(qPrintable(QString("length %1 seed %2: got %3, reference %4")
                                         .arg(length)
                                         .arg(seed)
                                         .arg(actual, 8, 16, QChar('0'))
                                         .arg(expected, 8, 16, QChar('0'))));
                }
            }
        }
    }

    // The pointer overload and the string_view overload hash the same bytes.
    void murmurPointerOverload() {
        const std::string s = "key-42";
        QCOMPARE(murmur3_32(s.data(), s.size(), 7u), murmur3_32(std::string_view(s), 7u));
    }

    void keyGroupForKey() {
        // murmur3("hello") = 0x248bfa47 = 613153351; 613153351 % 128 = 71.
        QCOMPARE(sluice::keyGroupForKey("hello", 128), 71);
        // 613153351 % 1000 = 351.
        QCOMPARE(sluice::keyGroupForKey("hello", 1000), 351);
        QCOMPARE(sluice::keyGroupForKey("", 128), 0);
    }

    void keyGroupRangeValues_data() {
        QTest::addColumn<int>("maxParallelism");
        QTest::addColumn<int>("parallelism");
        QTest::addColumn<int>("index");
        QTest::addColumn<int>("first");
        QTest::addColumn<int>("last");
        QTest::newRow("128/1/0") << 128 << 1 << 0 << 0 << 127;
        QTest::newRow("128/2/0") << 128 << 2 << 0 << 0 << 63;
        QTest::newRow("128/2/1") << 128 << 2 << 1 << 64 << 127;
        // 128/3 = 42.67: ceil(0)=0, ceil(42.67)=43, ceil(85.33)=86, 128.
        QTest::newRow("128/3/0") << 128 << 3 << 0 << 0 << 42;
        QTest::newRow("128/3/1") << 128 << 3 << 1 << 43 << 85;
        QTest::newRow("128/3/2") << 128 << 3 << 2 << 86 << 127;
        QTest::newRow("128/128/77") << 128 << 128 << 77 << 77 << 77;
        // 10/4 = 2.5: boundaries 0, 3 (ceil 2.5), 5, 8 (ceil 7.5), 10.
        QTest::newRow("10/4/0") << 10 << 4 << 0 << 0 << 2;
        QTest::newRow("10/4/1") << 10 << 4 << 1 << 3 << 4;
        QTest::newRow("10/4/2") << 10 << 4 << 2 << 5 << 7;
        QTest::newRow("10/4/3") << 10 << 4 << 3 << 8 << 9;
        QTest::newRow("32768/3/2") << 32768 << 3 << 2 << 21846 << 32767;
    }
    void keyGroupRangeValues() {
        QFETCH(int, maxParallelism);
        QFETCH(int, parallelism);
        QFETCH(int, index);
        QFETCH(int, first);
        QFETCH(int, last);
        const KeyGroupRange range = keyGroupRangeForSubtask(maxParallelism, parallelism, index);
        QCOMPARE(range.first, first);
        QCOMPARE(range.last, last);
    }

    // For every parallelism 1..P: ranges are non-empty, contiguous, cover
    // [0, P-1] exactly once and match the ceiling formula computed here in
    // floating point.
    void keyGroupRangesPartition_data() {
        QTest::addColumn<int>("maxParallelism");
        for (int p : kMaxParallelisms) {
            QTest::addRow("P=%d", p) << p;
        }
    }
    void keyGroupRangesPartition() {
        QFETCH(int, maxParallelism);
        const int max_n = std::min(maxParallelism, 300);
        for (int n = 1; n <= max_n; ++n) {
            std::vector<int> owners(size_t(maxParallelism), 0);
            int expected_next = 0;
            for (int i = 0; i < n; ++i) {
                const KeyGroupRange range = keyGroupRangeForSubtask(maxParallelism, n, i);
                const int first = int(std::ceil(double(i) * maxParallelism / n));
                const int last = int(std::ceil(double(i + 1) * maxParallelism / n)) - 1;
                if (range.first != first || range.last != last) {
                    QFAIL(qPrintable(QString("P=%1 n=%2 i=%3: [%4, %5], expected [%6, %7]")
                                         .arg(maxParallelism)
                                         .arg(n)
                                         .arg(i)
                                         .arg(range.first)
                                         .arg(range.last)
                                         .arg(first)
                                         .arg(last)));
                }
                if (range.first != expected_next || range.size() < 1) {
                    QFAIL(qPrintable(QString("P=%1 n=%2 i=%3 not contiguous or empty")
                                         .arg(maxParallelism)
                                         .arg(n)
                                         .arg(i)));
                }
                for (int kg = range.first; kg <= range.last; ++kg) {
                    ++owners[size_t(kg)];
                }
                expected_next = range.last + 1;
            }
            if (expected_next != maxParallelism) {
                QFAIL(qPrintable(QString("P=%1 n=%2 ends at %3")
                                     .arg(maxParallelism)
                                     .arg(n)
                                     .arg(expected_next - 1)));
            }
            for (int kg = 0; kg < maxParallelism; ++kg) {
                if (owners[size_t(kg)] != 1) {
                    QFAIL(qPrintable(QString("P=%1 n=%2 key group %3 owned %4 times")
                                         .arg(maxParallelism)
                                         .arg(n)
                                         .arg(kg)
                                         .arg(owners[size_t(kg)])));
                }
            }
        }
    }

    // subtaskForKeyGroup(kg) is the subtask whose range contains kg.
    void subtaskForKeyGroupInverse_data() { keyGroupRangesPartition_data(); }
    void subtaskForKeyGroupInverse() {
        QFETCH(int, maxParallelism);
        const int max_n = std::min(maxParallelism, 300);
        for (int n = 1; n <= max_n; ++n) {
            for (int i = 0; i < n; ++i) {
                const KeyGroupRange range = keyGroupRangeForSubtask(maxParallelism, n, i);
                for (int kg = range.first; kg <= range.last; ++kg) {
                    const int owner = subtaskForKeyGroup(maxParallelism, n, kg);
                    if (owner != i) {
                        QFAIL(qPrintable(QString("P=%1 n=%2 key group %3: owner %4, range of %5")
                                             .arg(maxParallelism)
                                             .arg(n)
                                             .arg(kg)
                                             .arg(owner)
                                             .arg(i)));
                    }
                }
            }
        }
    }

    void rangeHelpers() {
        const KeyGroupRange range{3, 5};
        QCOMPARE(range.size(), 3);
        QVERIFY(range.contains(3));
        QVERIFY(range.contains(5));
        QVERIFY(!range.contains(2));
        QVERIFY(!range.contains(6));
        const KeyGroupRange empty;
        QCOMPARE(empty.size(), 0);
        QVERIFY(!empty.contains(0));
    }
};

QTEST_GUILESS_MAIN(TstKeyGroups)
#include "tst_key_groups.moc"
