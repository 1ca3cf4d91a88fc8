// Keyed state snapshots of both backends: restore gives back the same
// entries, rescaling splits them by key group, a changed max parallelism is
// refused, logical sizes are deterministic, and checkpoint metadata
// round-trips and reports damaged files.

#include <QtTest>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/shared_state_registry.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/state_backend.h"
#include "runtime/state/state_descriptors.h"

using namespace sluice;

Q_DECLARE_METATYPE(StateBackendConfig::Kind)

namespace {

constexpr int kMaxParallelism = 128;

using Dump = std::vector<std::tuple<std::string, int, std::string, std::string>>;

struct Fixture {
    QTemporaryDir dir;
    CheckpointStorage storage{(dir.path() + "/checkpoints").toStdString()};
    SharedStateRegistry registry{storage.root()};
    int instances = 0;

    std::unique_ptr<KeyedStateBackend> make(StateBackendConfig::Kind kind, KeyGroupRange range,
                                            int max_parallelism = kMaxParallelism) {
        StateBackendConfig config;
        config.kind = kind;
        config.incremental = true;
        config.local_dir = (dir.path() + "/local").toStdString();
        config.write_cache_entries = 8;  // small, so most entries live in RocksDB
        auto backend = createKeyedStateBackend(config, range, max_parallelism, nullptr,
                                               "op1-sub" + std::to_string(instances++));
        backend->key_formatter = [](std::string_view bytes) {
            int64_t key = 0;
            std::memcpy(&key, bytes.data(), sizeof(key));
            return std::to_string(key);
        };
        return backend;
    }
};

std::string keyBytes(int64_t key) {
    std::string bytes(sizeof(key), '\0');
    std::memcpy(bytes.data(), &key, sizeof(key));
    return bytes;
}

int keyGroupOf(int64_t key) {
    return keyGroupForKey(keyBytes(key), kMaxParallelism);
}

void setKey(KeyedStateBackend& backend, int64_t key) {
    std::string bytes = keyBytes(key);
    backend.setCurrentKey(bytes, keyGroupForKey(bytes, kMaxParallelism));
}

int64_t add(const int64_t& a, const int64_t& b) {
    return a + b;
}

// Registers the four states of every test; restored backends must register
// them too before their entries show.
struct States {
    ValueState<int64_t>* value;
    ListState<int64_t>* list;
    MapState<int32_t, int64_t>* map;
    ReducingState<int64_t>* sum;

    explicit States(KeyedStateBackend& backend)
        : value(&getValueState(backend, ValueStateDescriptor<int64_t>("value"))),
          list(&getListState(backend, ListStateDescriptor<int64_t>("list"))),
          map(&getMapState(backend, MapStateDescriptor<int32_t, int64_t>("map"))),
          sum(&getReducingState(backend, ReducingStateDescriptor<int64_t>("sum", add))) {}
};

// 1000 values, 100 lists of two, 50 maps of two, 200 sums.
void fill(KeyedStateBackend& backend) {
    States states(backend);
    for (int64_t k = 0; k < 1000; ++k) {
        setKey(backend, k);
        states.value->update(k * 7);
        if (k < 100) {
            states.list->add(k);
            states.list->add(k + 1);
        }
        if (k < 50) {
            states.map->put(1, k);
            states.map->put(2, 2 * k);
        }
        if (k < 200) {
            states.sum->add(k);
            states.sum->add(1);
        }
    }
}

// Logical bytes of fill(), from the serialized sizes: 8-byte keys and
// values, lists as a 1-byte count plus two values, 4-byte map user keys.
constexpr uint64_t kFillBytes =
    1000 * (8 + 8) + 100 * (8 + 1 + 16) + 100 * (8 + 4 + 8) + 200 * (8 + 8);
constexpr uint64_t kFillEntries = 1000 + 100 + 100 + 200;

Dump dump(const KeyedStateBackend& backend) {
    Dump out;
    backend.forEachState([&](const InternalKvState& state) {
        state.forEachEntry([&](const StateEntryView& view) {
            out.emplace_back(view.state_name, view.key_group, view.key, view.value);
        });
    });
    return out;
}

// What fill() leaves, computed without a backend, sorted like the
// inspector: state name, key group, serialized key.
Dump expectedDump(KeyGroupRange range) {
    Dump out;
    std::vector<int64_t> keys;
    for (int64_t k = 0; k < 1000; ++k) {
        if (range.contains(keyGroupOf(k))) {
            keys.push_back(k);
        }
    }
    std::sort(keys.begin(), keys.end(), [](int64_t a, int64_t b) {
        return std::make_pair(keyGroupOf(a), keyBytes(a)) <
               std::make_pair(keyGroupOf(b), keyBytes(b));
    });
    for (int64_t k : keys) {
        if (k < 100) {
            out.emplace_back("list", keyGroupOf(k), std::to_string(k),
                             "[" + std::to_string(k) + ", " + std::to_string(k + 1) + "]");
        }
    }
    for (int64_t k : keys) {
        if (k < 50) {
            out.emplace_back("map", keyGroupOf(k), std::to_string(k),
                             "{1: " + std::to_string(k) + ", 2: " + std::to_string(2 * k) + "}");
        }
    }
    for (int64_t k : keys) {
        if (k < 200) {
            out.emplace_back("sum", keyGroupOf(k), std::to_string(k), std::to_string(k + 1));
        }
    }
    for (int64_t k : keys) {
        out.emplace_back("value", keyGroupOf(k), std::to_string(k), std::to_string(k * 7));
    }
    return out;
}

void kindRows() {
    QTest::addColumn<StateBackendConfig::Kind>("writer");
    QTest::addColumn<StateBackendConfig::Kind>("reader");
    QTest::newRow("heap") << StateBackendConfig::kHeap << StateBackendConfig::kHeap;
    QTest::newRow("rocksdb") << StateBackendConfig::kRocksDb << StateBackendConfig::kRocksDb;
    QTest::newRow("heap to rocksdb") << StateBackendConfig::kHeap << StateBackendConfig::kRocksDb;
    QTest::newRow("rocksdb to heap") << StateBackendConfig::kRocksDb << StateBackendConfig::kHeap;
}

const KeyGroupRange kAll{0, kMaxParallelism - 1};

}  // namespace

class TstStateSnapshots : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void restoreSame_data() { kindRows(); }
    void restoreSame();
    void rescaleOneToTwo_data() { kindRows(); }
    void rescaleOneToTwo();
    void maxParallelismMismatch_data() { kindRows(); }
    void maxParallelismMismatch();
    void logicalSizesDeterministic_data() { kindRows(); }
    void logicalSizesDeterministic();
    void metadataRoundTrip();
    void metadataErrors_data();
    void metadataErrors();
    void discardKeepsShared();
};

void TstStateSnapshots::restoreSame() {
    QFETCH(StateBackendConfig::Kind, writer);
    QFETCH(StateBackendConfig::Kind, reader);
    Fixture f;
    auto original = f.make(writer, kAll);
    fill(*original);
    QCOMPARE(dump(*original), expectedDump(kAll));
    auto handle = original->snapshot(1, f.storage, &f.registry, true, false, "op1-sub0");

    auto restored = f.make(reader, kAll);
    restored->restore({handle}, f.storage);
    States states(*restored);
    QCOMPARE(dump(*restored), expectedDump(kAll));
    // The restored state is live: updates see the restored values.
    setKey(*restored, 3);
    states.sum->add(10);
    QCOMPARE(states.sum->get(), std::optional<int64_t>(3 + 1 + 10));
}

void TstStateSnapshots::rescaleOneToTwo() {
    QFETCH(StateBackendConfig::Kind, writer);
    QFETCH(StateBackendConfig::Kind, reader);
    Fixture f;
    auto original = f.make(writer, kAll);
    fill(*original);
    auto handle = original->snapshot(1, f.storage, &f.registry, true, false, "op1-sub0");

    KeyGroupRange left = keyGroupRangeForSubtask(kMaxParallelism, 2, 0);
    KeyGroupRange right = keyGroupRangeForSubtask(kMaxParallelism, 2, 1);
    auto first = f.make(reader, left);
    auto second = f.make(reader, right);
    first->restore({handle}, f.storage);
    second->restore({handle}, f.storage);
    States first_states(*first);
    States second_states(*second);
    Dump first_dump = dump(*first);
    Dump second_dump = dump(*second);
    QCOMPARE(first_dump, expectedDump(left));
    QCOMPARE(second_dump, expectedDump(right));
    QCOMPARE(first_dump.size() + second_dump.size(), expectedDump(kAll).size());
}

void TstStateSnapshots::maxParallelismMismatch() {
    QFETCH(StateBackendConfig::Kind, writer);
    QFETCH(StateBackendConfig::Kind, reader);
    Fixture f;
    auto original = f.make(writer, kAll);
    fill(*original);
    auto handle = original->snapshot(1, f.storage, &f.registry, true, false, "op1-sub0");
    auto restored = f.make(reader, {0, 255}, 256);
    QString message;
    try {
        restored->restore({handle}, f.storage);
    } catch (const StateRestoreError& e) {
        message = e.what();
    }
    QCOMPARE(message, QString("state was written with max parallelism 128 but the operator now "
                              "has 256; key groups cannot be remapped, restore with max "
                              "parallelism 128"));
}

void TstStateSnapshots::logicalSizesDeterministic() {
    QFETCH(StateBackendConfig::Kind, writer);
    std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> runs[2];
    for (auto& sizes : runs) {
        Fixture f;
        auto backend = f.make(writer, kAll);
        fill(*backend);
        States states(*backend);
        for (int64_t id = 1; id <= 3; ++id) {
            auto handle = backend->snapshot(id, f.storage, &f.registry, true, false, "op1-sub0");
            sizes.emplace_back(handle.full_size_bytes(), handle.incremental_size_bytes(),
                               handle.entry_count());
            for (int64_t k = 0; k < 1000; k += 10) {
                setKey(*backend, k);
                states.value->update(k * 7);
            }
        }
    }
    QCOMPARE(runs[0], runs[1]);
    QCOMPARE(std::get<0>(runs[0][0]), kFillBytes);
    QCOMPARE(std::get<2>(runs[0][0]), kFillEntries);
    // Rewriting 100 values (to the same contents) keeps the full size.
    QCOMPARE(std::get<0>(runs[0][2]), kFillBytes);
    // The heap backend always uploads everything, RocksDB only the 100
    // rewritten values.
    uint64_t expected_incremental = writer == StateBackendConfig::kHeap ? kFillBytes : 100 * 16;
    QCOMPARE(std::get<1>(runs[0][1]), expected_incremental);
}

void TstStateSnapshots::metadataRoundTrip() {
    QTemporaryDir dir;
    CheckpointStorage storage(dir.path().toStdString());
    checkpoint::CheckpointMetadata metadata;
    metadata.set_checkpoint_id(7);
    metadata.set_trigger_time_ns(1000);
    metadata.set_completion_time_ns(2500);
    metadata.set_job_name("wordcount");
    auto* subtask = metadata.add_subtask_states();
    subtask->set_vertex(2);
    subtask->set_subtask(1);
    auto* keyed = subtask->add_keyed_state();
    keyed->set_backend("heap");
    keyed->set_full_size_bytes(123);
    storage.writeMetadata(metadata);
    QVERIFY(std::filesystem::exists(storage.root() / "chk-7" / "_metadata"));

    auto read = CheckpointStorage::readMetadata(storage.root() / "chk-7");
    QVERIFY(std::holds_alternative<checkpoint::CheckpointMetadata>(read));
    const auto& back = std::get<checkpoint::CheckpointMetadata>(read);
    QCOMPARE(back.SerializeAsString(), metadata.SerializeAsString());

    metadata.set_savepoint(true);
    metadata.set_checkpoint_id(8);
    storage.writeMetadata(metadata);
    QVERIFY(std::filesystem::exists(storage.root() / "savepoint-8" / "_metadata"));
}

void TstStateSnapshots::metadataErrors_data() {
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("error");
    QTest::newRow("missing") << "delete"
                             << "does not exist";
    QTest::newRow("truncated") << "truncate"
                               << "is truncated";
    QTest::newRow("corrupt") << "flip"
                             << "is corrupt: checksum mismatch";
    QTest::newRow("not metadata") << "garbage"
                                  << "bad magic number";
}

void TstStateSnapshots::metadataErrors() {
    QFETCH(QString, damage);
    QFETCH(QString, error);
    QTemporaryDir dir;
    CheckpointStorage storage(dir.path().toStdString());
    checkpoint::CheckpointMetadata metadata;
    metadata.set_checkpoint_id(3);
    metadata.set_job_name("a job name long enough to damage");
    storage.writeMetadata(metadata);
    std::filesystem::path file = storage.root() / "chk-3" / "_metadata";
    std::string bytes;
    {
        std::ifstream in(file, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (damage == "delete") {
        std::filesystem::remove(file);
    } else {
        if (damage == "truncate") {
            bytes.resize(bytes.size() - 5);
        } else if (damage == "flip") {
            bytes[bytes.size() - 3] ^= 0x20;
        } else {
            bytes = "this is not checkpoint metadata";
        }
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << bytes;
    }
    auto read = CheckpointStorage::readMetadata(file);
    QVERIFY(std::holds_alternative<std::string>(read));
    QString message = QString::fromStdString(std::get<std::string>(read));
    QVERIFY2(message.contains(error), qPrintable(message));
    QVERIFY2(message.contains("chk-3/_metadata"), qPrintable(message));
}

void TstStateSnapshots::discardKeepsShared() {
    Fixture f;
    auto backend = f.make(StateBackendConfig::kRocksDb, kAll);
    fill(*backend);
    auto handle = backend->snapshot(1, f.storage, &f.registry, true, false, "op1-sub0");
    int shared = 0;
    for (const auto& file : handle.files()) {
        shared += file.shared();
    }
    QVERIFY(shared > 0);
    f.storage.discardCheckpoint(1);
    QVERIFY(!std::filesystem::exists(f.storage.root() / "chk-1"));
    for (const auto& file : handle.files()) {
        QCOMPARE(std::filesystem::exists(f.storage.root() / file.path()), file.shared());
    }
}

QTEST_GUILESS_MAIN(TstStateSnapshots)
#include "tst_state_snapshots.moc"
