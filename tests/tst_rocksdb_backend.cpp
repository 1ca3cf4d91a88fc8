// The RocksDB keyed state backend: every state type, the write-back cache
// under eviction, one column family per state, the on-disk key layout, and
// incremental checkpoints uploading only what changed.

#include <QtTest>

#include <rocksdb/db.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/shared_state_registry.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/rocksdb_keyed_state_backend.h"
#include "runtime/state/state_descriptors.h"
#include "sim/random.h"

using namespace sluice;

namespace {

constexpr int kMaxParallelism = 128;

std::string keyBytes(int64_t key) {
    std::string bytes(sizeof(key), '\0');
    std::memcpy(bytes.data(), &key, sizeof(key));
    return bytes;
}

void setKey(KeyedStateBackend& backend, int64_t key) {
    std::string bytes = keyBytes(key);
    backend.setCurrentKey(bytes, keyGroupForKey(bytes, kMaxParallelism));
}

std::unique_ptr<RocksDbKeyedStateBackend> makeBackend(const QTemporaryDir& dir,
                                                      size_t cache_entries,
                                                      const QString& name = "db") {
    RocksDbKeyedStateBackend::Options options;
    options.instance_dir = (dir.path() + "/" + name).toStdString();
    options.cache_entries = cache_entries;
    return std::make_unique<RocksDbKeyedStateBackend>(KeyGroupRange{0, kMaxParallelism - 1},
                                                      kMaxParallelism, nullptr, options);
}

// Number of raw entries RocksDB stores in the state's column family.
size_t rawEntryCount(RocksDbKeyedStateBackend& backend, const std::string& state) {
    std::unique_ptr<rocksdb::Iterator> it(
        backend.db()->NewIterator(rocksdb::ReadOptions(), backend.columnFamilyHandle(state)));
    size_t count = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
        ++count;
    }
    return count;
}

// Entry count of a state as the inspector reports it.
size_t entryCount(const KeyedStateBackend& backend, const std::string& state) {
    size_t count = 0;
    backend.forEachState([&](const InternalKvState& s) {
        if (s.name() == state) {
            count = s.entryCount();
        }
    });
    return count;
}

}  // namespace

class TstRocksdbBackend : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void valueState_data();
    void valueState();
    void listState();
    void mapState();
    void reducingState();
    void cacheEviction();
    void columnFamilyPerState();
    void keyLayout();
    void incrementalUploadsLess();
    void zipfCountThroughput();
};

void TstRocksdbBackend::valueState_data() {
    QTest::addColumn<int>("cache");
    QTest::newRow("cache 2") << 2;
    QTest::newRow("cache 16") << 16;
    QTest::newRow("cache 65536") << 65536;
}

void TstRocksdbBackend::valueState() {
    QFETCH(int, cache);
    QTemporaryDir dir;
    auto backend = makeBackend(dir, size_t(cache));
    auto& state = getValueState(*backend, ValueStateDescriptor<int64_t>("v"));
    for (int64_t k = 0; k < 200; ++k) {
        setKey(*backend, k);
        QVERIFY(!state.value().has_value());
        state.update(k * 3);
    }
    for (int64_t k = 0; k < 200; k += 2) {
        setKey(*backend, k);
        state.clear();
    }
    int wrong = 0;
    for (int64_t k = 0; k < 200; ++k) {
        setKey(*backend, k);
        auto value = state.value();
        wrong += k % 2 ? value != std::optional<int64_t>(k * 3) : value.has_value();
    }
    QCOMPARE(wrong, 0);
    QCOMPARE(entryCount(*backend, "v"), size_t(100));
    backend->writeBackCaches();
    QCOMPARE(rawEntryCount(*backend, "v"), size_t(100));
}

void TstRocksdbBackend::listState() {
    QTemporaryDir dir;
    auto backend = makeBackend(dir, 2);
    auto& state = getListState(*backend, ListStateDescriptor<int64_t>("l"));
    for (int64_t k = 0; k < 10; ++k) {
        setKey(*backend, k);
        state.add(k);
        state.add(k + 100);
    }
    setKey(*backend, 3);
    state.update({7, 8, 9});
    setKey(*backend, 4);
    state.update({});
    setKey(*backend, 5);
    state.clear();

    setKey(*backend, 0);
    QCOMPARE(state.get(), (std::vector<int64_t>{0, 100}));
    setKey(*backend, 3);
    QCOMPARE(state.get(), (std::vector<int64_t>{7, 8, 9}));
    setKey(*backend, 4);
    QVERIFY(state.get().empty());
    setKey(*backend, 5);
    QVERIFY(state.get().empty());
    setKey(*backend, 9);
    QCOMPARE(state.get(), (std::vector<int64_t>{9, 109}));
    QCOMPARE(entryCount(*backend, "l"), size_t(8));
}

void TstRocksdbBackend::mapState() {
    QTemporaryDir dir;
    auto backend = makeBackend(dir, 2);
    auto& state = getMapState(*backend, MapStateDescriptor<int64_t, int64_t>("m"));
    for (int64_t k = 0; k < 10; ++k) {
        setKey(*backend, k);
        QVERIFY(state.isEmpty());
        for (int64_t u = 0; u < 5; ++u) {
            state.put(u, k * 10 + u);
        }
    }
    setKey(*backend, 1);
    state.remove(2);
    setKey(*backend, 2);
    state.clear();
    setKey(*backend, 3);
    state.put(0, -1);

    setKey(*backend, 1);
    QVERIFY(!state.contains(2));
    QVERIFY(state.contains(3));
    QCOMPARE(state.get(4), std::optional<int64_t>(14));
    QCOMPARE(state.entries(),
             (std::vector<std::pair<int64_t, int64_t>>{{0, 10}, {1, 11}, {3, 13}, {4, 14}}));
    setKey(*backend, 2);
    QVERIFY(state.isEmpty());
    QCOMPARE(state.get(0), std::optional<int64_t>());
    setKey(*backend, 3);
    QCOMPARE(state.get(0), std::optional<int64_t>(-1));
    QCOMPARE(entryCount(*backend, "m"), size_t(9));
    // 10 keys x 5 user keys, minus one removed, minus five cleared.
    QCOMPARE(rawEntryCount(*backend, "m"), size_t(44));
}

void TstRocksdbBackend::reducingState() {
    QTemporaryDir dir;
    auto backend = makeBackend(dir, 2);
    auto& state = getReducingState(
        *backend, ReducingStateDescriptor<int64_t>(
                      "r", [](const int64_t& a, const int64_t& b) { return a + b; }));
    for (int round = 0; round < 3; ++round) {
        for (int64_t k = 0; k < 20; ++k) {
            setKey(*backend, k);
            state.add(k + round);
        }
    }
    setKey(*backend, 7);
    QCOMPARE(state.get(), std::optional<int64_t>(7 * 3 + 0 + 1 + 2));
    state.clear();
    QCOMPARE(state.get(), std::optional<int64_t>());
    setKey(*backend, 19);
    QCOMPARE(state.get(), std::optional<int64_t>(19 * 3 + 3));
}

void TstRocksdbBackend::cacheEviction() {
    QTemporaryDir dir;
    auto backend = makeBackend(dir, 4);
    auto& state = getValueState(*backend, ValueStateDescriptor<int64_t>("v"));
    for (int64_t k = 0; k < 1000; ++k) {
        setKey(*backend, k);
        state.update(k);
    }
    // A cache of 4 keys keeps at most 4 dirty entries; the others were
    // written on eviction.
    QVERIFY(rawEntryCount(*backend, "v") >= 996);
    // Second pass: read-modify-write through the cache again.
    for (int64_t k = 0; k < 1000; ++k) {
        setKey(*backend, k);
        state.update(state.value().value_or(-1000000) + 1);
    }
    int wrong = 0;
    for (int64_t k = 999; k >= 0; --k) {
        setKey(*backend, k);
        wrong += state.value() != std::optional<int64_t>(k + 1);
    }
    QCOMPARE(wrong, 0);
}

void TstRocksdbBackend::columnFamilyPerState() {
    QTemporaryDir dir;
    auto backend = makeBackend(dir, 16);
    getValueState(*backend, ValueStateDescriptor<int64_t>("a"));
    getListState(*backend, ListStateDescriptor<int64_t>("b"));
    getMapState(*backend, MapStateDescriptor<int64_t, int64_t>("c"));
    QCOMPARE(backend->columnFamilyNames(), (std::vector<std::string>{"default", "a", "b", "c"}));
    std::vector<std::string> on_disk;
    QVERIFY(rocksdb::DB::ListColumnFamilies(rocksdb::Options(), backend->instanceDir().string(),
                                            &on_disk)
                .ok());
    std::sort(on_disk.begin(), on_disk.end());
    QCOMPARE(on_disk, (std::vector<std::string>{"a", "b", "c", "default"}));
}

void TstRocksdbBackend::keyLayout() {
    QTemporaryDir dir;
    auto backend = makeBackend(dir, 16);
    auto& value = getValueState(*backend, ValueStateDescriptor<int64_t>("v"));
    auto& map = getMapState(*backend, MapStateDescriptor<int32_t, int64_t>("m"));
    const int64_t key = 4242;
    setKey(*backend, key);
    value.update(99);
    map.put(7, 11);
    backend->writeBackCaches();

    std::string k = keyBytes(key);
    int group = keyGroupForKey(k, kMaxParallelism);
    std::string prefix{char(group >> 8), char(group & 0xff)};
    int64_t ninety_nine = 99;
    int32_t seven = 7;
    int64_t eleven = 11;

    std::unique_ptr<rocksdb::Iterator> it(
        backend->db()->NewIterator(rocksdb::ReadOptions(), backend->columnFamilyHandle("v")));
    it->SeekToFirst();
    QVERIFY(it->Valid());
    QCOMPARE(it->key().ToString(), prefix + k);
    QCOMPARE(it->value().ToString(), std::string(reinterpret_cast<char*>(&ninety_nine), 8));

    it.reset(backend->db()->NewIterator(rocksdb::ReadOptions(), backend->columnFamilyHandle("m")));
    it->SeekToFirst();
    QVERIFY(it->Valid());
    // Key group, varint key length (8), key, user key.
    QCOMPARE(it->key().ToString(),
             prefix + std::string(1, '\x08') + k + std::string(reinterpret_cast<char*>(&seven), 4));
    QCOMPARE(it->value().ToString(), std::string(reinterpret_cast<char*>(&eleven), 8));
}

void TstRocksdbBackend::incrementalUploadsLess() {
    QTemporaryDir dir;
    auto backend = makeBackend(dir, 65536);
    CheckpointStorage storage((dir.path() + "/checkpoints").toStdString());
    SharedStateRegistry registry(storage.root());
    auto& state = getValueState(*backend, ValueStateDescriptor<int64_t>("v"));
    const int64_t keys = 100000;
    for (int64_t k = 0; k < keys; ++k) {
        setKey(*backend, k);
        state.update(k);
    }
    auto first = backend->snapshot(1, storage, &registry, true, false, "op1-sub0");
    // 8-byte keys and 8-byte values.
    QCOMPARE(first.full_size_bytes(), uint64_t(keys * 16));
    QCOMPARE(first.incremental_size_bytes(), uint64_t(keys * 16));
    QCOMPARE(first.entry_count(), uint64_t(keys));

    for (int64_t k = 0; k < keys; k += 100) {
        setKey(*backend, k);
        state.update(-k);
    }
    auto second = backend->snapshot(2, storage, &registry, true, false, "op1-sub0");
    QCOMPARE(second.full_size_bytes(), uint64_t(keys * 16));
    QCOMPARE(second.incremental_size_bytes(), uint64_t(keys / 100 * 16));
    QVERIFY(second.incremental_size_bytes() * 20 <= second.full_size_bytes());

    // The SSTs of the first checkpoint are referenced, not uploaded again.
    uint64_t reused = 0;
    uint64_t shared_total = 0;
    for (const auto& file : second.files()) {
        if (!file.shared()) {
            continue;
        }
        shared_total += file.size_bytes();
        for (const auto& old : first.files()) {
            if (old.path() == file.path()) {
                reused += file.size_bytes();
            }
        }
    }
    QVERIFY(shared_total > 0);
    QVERIFY((shared_total - reused) * 20 <= shared_total);
}

void TstRocksdbBackend::zipfCountThroughput() {
    QTemporaryDir dir;
    auto backend = makeBackend(dir, 65536);
    auto& state = getValueState(*backend, ValueStateDescriptor<int64_t>("count"));
    const int64_t keys = 100000;
    const int records = 1000000;
    std::vector<std::string> key_bytes;
    std::vector<int> groups;
    std::vector<uint32_t> hashes;
    for (int64_t k = 0; k < keys; ++k) {
        key_bytes.push_back(keyBytes(k));
        hashes.push_back(murmur3_32(key_bytes.back()));
        groups.push_back(int(hashes.back() % kMaxParallelism));
    }
    sim::ZipfDistribution zipf(uint64_t(keys), 1.0);
    sim::Prng prng(7);
    std::vector<uint32_t> sequence(records);
    std::vector<int64_t> expected(size_t(keys), 0);
    for (auto& k : sequence) {
        k = uint32_t(zipf.sample(prng));
        ++expected[k];
    }
    auto start = std::chrono::steady_clock::now();
    for (uint32_t k : sequence) {
        backend->setCurrentKey(key_bytes[k], groups[k], hashes[k]);
        state.update(state.value().value_or(0) + 1);
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    qInfo("RocksDB count over %lld zipf keys: %.2f M records/s", (long long)keys,
          records / seconds / 1e6);
    int wrong = 0;
    for (int64_t k = 0; k < keys; ++k) {
        backend->setCurrentKey(key_bytes[size_t(k)], groups[size_t(k)], hashes[size_t(k)]);
        auto value = state.value();
        wrong += expected[size_t(k)] ? value != std::optional<int64_t>(expected[size_t(k)])
                                     : value.has_value();
    }
    QCOMPARE(wrong, 0);
}

QTEST_GUILESS_MAIN(TstRocksdbBackend)
#include "tst_rocksdb_backend.moc"
