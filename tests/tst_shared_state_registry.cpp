// The shared-state registry: reference counts of shared files, deletion when
// the last checkpoint lets go, and an incremental checkpoint history with
// retention of one checkpoint, a savepoint in between, and the deliberate
// early-deletion bug making a restore fail.

#include <QtTest>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/shared_state_registry.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/state_backend.h"
#include "runtime/state/state_descriptors.h"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

constexpr int kMaxParallelism = 128;
const KeyGroupRange kAll{0, kMaxParallelism - 1};

void touchFile(const fs::path& path) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << "x";
}

void setKey(KeyedStateBackend& backend, int64_t key) {
    std::string bytes(sizeof(key), '\0');
    std::memcpy(bytes.data(), &key, sizeof(key));
    backend.setCurrentKey(bytes, keyGroupForKey(bytes, kMaxParallelism));
}

std::set<std::string> filesUnder(const fs::path& dir, const fs::path& root) {
    std::set<std::string> out;
    if (!fs::exists(dir)) {
        return out;
    }
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file()) {
            out.insert(fs::relative(entry.path(), root).string());
        }
    }
    return out;
}

std::set<std::string> sharedFilesOf(const checkpoint::KeyedStateHandle& handle) {
    std::set<std::string> out;
    for (const auto& file : handle.files()) {
        if (file.shared()) {
            out.insert(file.path());
        }
    }
    return out;
}

}  // namespace

class TstSharedStateRegistry : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void referenceCounts();
    void deleteEarly();
    void retainedHistory_data();
    void retainedHistory();
};

void TstSharedStateRegistry::referenceCounts() {
    QTemporaryDir dir;
    fs::path root = dir.path().toStdString();
    touchFile(root / "shared/b.sst");
    touchFile(root / "shared/a.sst");
    SharedStateRegistry registry(root);
    registry.registerFile(1, "shared/b.sst", "shared/b.sst", 10);
    registry.registerFile(1, "shared/a.sst", "shared/a.sst", 20);
    registry.registerFile(2, "shared/a.sst", "shared/a.sst", 20);
    registry.registerFile(2, "shared/a.sst", "shared/a.sst", 20);  // same checkpoint again

    auto entries = registry.entries();
    QCOMPARE(entries.size(), size_t(2));
    QCOMPARE(entries[0].path, std::string("shared/a.sst"));
    QCOMPARE(entries[0].reference_count, 2);
    QCOMPARE(entries[0].checkpoint_ids, (std::vector<int64_t>{1, 2}));
    QCOMPARE(entries[0].size_bytes, uint64_t(20));
    QCOMPARE(entries[1].path, std::string("shared/b.sst"));
    QCOMPARE(entries[1].reference_count, 1);

    QCOMPARE(registry.releaseCheckpoint(1), std::vector<std::string>{"shared/b.sst"});
    QVERIFY(!fs::exists(root / "shared/b.sst"));
    QVERIFY(fs::exists(root / "shared/a.sst"));
    QCOMPARE(registry.entries().size(), size_t(1));
    QCOMPARE(registry.entries()[0].reference_count, 1);

    QCOMPARE(registry.releaseCheckpoint(2), std::vector<std::string>{"shared/a.sst"});
    QVERIFY(!fs::exists(root / "shared/a.sst"));
    QVERIFY(registry.entries().empty());
}

void TstSharedStateRegistry::deleteEarly() {
    QTemporaryDir dir;
    fs::path root = dir.path().toStdString();
    touchFile(root / "shared/a.sst");
    SharedStateRegistry registry(root);
    registry.delete_early = true;
    registry.registerFile(1, "shared/a.sst", "shared/a.sst", 1);
    registry.registerFile(2, "shared/a.sst", "shared/a.sst", 1);
    QCOMPARE(registry.releaseCheckpoint(1), std::vector<std::string>{"shared/a.sst"});
    QVERIFY(!fs::exists(root / "shared/a.sst"));
    // Checkpoint 2 still refers to the deleted file.
    QCOMPARE(registry.entries().size(), size_t(1));
    QCOMPARE(registry.entries()[0].checkpoint_ids, std::vector<int64_t>{2});
}

void TstSharedStateRegistry::retainedHistory_data() {
    QTest::addColumn<bool>("delete_early");
    QTest::newRow("correct") << false;
    QTest::newRow("delete early") << true;
}

// Retaining one checkpoint: CP1..CP3 incremental, a savepoint, then CP4;
// each completed checkpoint subsumes (releases and discards) the previous.
void TstSharedStateRegistry::retainedHistory() {
    QFETCH(bool, delete_early);
    QTemporaryDir dir;
    CheckpointStorage storage((dir.path() + "/checkpoints").toStdString());
    SharedStateRegistry registry(storage.root());
    registry.delete_early = delete_early;
    StateBackendConfig config;
    config.kind = StateBackendConfig::kRocksDb;
    config.incremental = true;
    config.local_dir = (dir.path() + "/local").toStdString();
    config.write_cache_entries = 1024;
    auto backend = createKeyedStateBackend(config, kAll, kMaxParallelism, nullptr, "op1-sub0");
    auto& state = getValueState(*backend, ValueStateDescriptor<int64_t>("v"));

    std::vector<int64_t> expected(5000, 0);
    auto update = [&](int64_t from, int64_t step, int64_t delta) {
        for (int64_t k = from; k < 5000; k += step) {
            setKey(*backend, k);
            state.update(state.value().value_or(0) + delta);
            expected[size_t(k)] += delta;
        }
    };

    update(0, 1, 1);
    checkpoint::KeyedStateHandle previous;
    checkpoint::KeyedStateHandle cp4;
    std::set<std::string> savepoint_files;
    checkpoint::KeyedStateHandle savepoint_handle;
    std::vector<int64_t> expected_at_savepoint;
    for (int64_t id = 1; id <= 5; ++id) {
        bool savepoint = id == 4;
        auto handle = backend->snapshot(id, storage, savepoint ? nullptr : &registry, true,
                                        savepoint, "op1-sub0");
        if (savepoint) {
            QVERIFY(sharedFilesOf(handle).empty());
            savepoint_files = filesUnder(storage.root() / "savepoint-4", storage.root());
            savepoint_handle = handle;
            expected_at_savepoint = expected;
        } else {
            if (id > 1) {
                registry.releaseCheckpoint(previous.checkpoint_id());
                storage.discardCheckpoint(previous.checkpoint_id());
            }
            previous = handle;
        }
        update(id % 7, 7, 10);
    }
    cp4 = previous;  // the fourth checkpoint has id 5, after the savepoint
    QCOMPARE(cp4.checkpoint_id(), int64_t(5));

    // Shared files: those of the retained checkpoint, nothing else (the
    // correct registry), or fewer (files deleted early).
    std::set<std::string> shared_on_disk = filesUnder(storage.sharedDir(), storage.root());
    std::set<std::string> referenced = sharedFilesOf(cp4);
    QVERIFY(!referenced.empty());
    if (!delete_early) {
        QCOMPARE(shared_on_disk, referenced);
    } else {
        QVERIFY(shared_on_disk.size() < referenced.size());
    }
    // Exclusive directories of subsumed checkpoints are gone; the savepoint
    // is untouched.
    QVERIFY(!fs::exists(storage.root() / "chk-1"));
    QVERIFY(!fs::exists(storage.root() / "chk-3"));
    QVERIFY(fs::exists(storage.root() / "chk-5"));
    QCOMPARE(filesUnder(storage.root() / "savepoint-4", storage.root()), savepoint_files);

    config.write_cache_entries = 16;
    // The savepoint is self-contained: it restores whatever the registry
    // deleted.
    auto from_savepoint =
        createKeyedStateBackend(config, kAll, kMaxParallelism, nullptr, "op1-sub0");
    from_savepoint->restore({savepoint_handle}, storage);
    auto& savepoint_state = getValueState(*from_savepoint, ValueStateDescriptor<int64_t>("v"));
    int wrong_in_savepoint = 0;
    for (int64_t k = 0; k < 5000; ++k) {
        setKey(*from_savepoint, k);
        wrong_in_savepoint +=
            savepoint_state.value() != std::optional<int64_t>(expected_at_savepoint[size_t(k)]);
    }
    QCOMPARE(wrong_in_savepoint, 0);

    auto restored = createKeyedStateBackend(config, kAll, kMaxParallelism, nullptr, "op1-sub0");
    QString error;
    try {
        restored->restore({cp4}, storage);
    } catch (const StateRestoreError& e) {
        error = e.what();
    }
    if (delete_early) {
        QVERIFY2(error.startsWith("shared state file shared/op1-sub0-c1-"), qPrintable(error));
        QVERIFY2(error.endsWith(".sst of checkpoint 5 is missing; it was deleted while still "
                                "referenced"),
                 qPrintable(error));
        return;
    }
    QCOMPARE(error, QString());
    // The restored values are those at the time of checkpoint 5: all
    // updates but the last round.
    update(5 % 7, 7, -10);
    auto& restored_state = getValueState(*restored, ValueStateDescriptor<int64_t>("v"));
    int wrong = 0;
    for (int64_t k = 0; k < 5000; ++k) {
        setKey(*restored, k);
        wrong += restored_state.value() != std::optional<int64_t>(expected[size_t(k)]);
    }
    QCOMPARE(wrong, 0);
}

QTEST_GUILESS_MAIN(TstSharedStateRegistry)
#include "tst_shared_state_registry.moc"
