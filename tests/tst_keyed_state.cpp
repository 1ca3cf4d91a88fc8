// Heap keyed state: value, list, map and reducing states are separate per key
// and per key group, clear removes entries, the inspector view lists entries
// in (key group, key) order with display strings, and a state name keeps its
// type.

#include <QtTest>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runtime/state/heap_keyed_state_backend.h"
#include "runtime/state/state_descriptors.h"
#include "sim/random.h"

using sluice::HeapKeyedStateBackend;
using sluice::KeyGroupRange;
using sluice::ListStateDescriptor;
using sluice::MapStateDescriptor;
using sluice::ReducingStateDescriptor;
using sluice::StateEntryView;
using sluice::ValueStateDescriptor;

namespace {

constexpr int kMaxParallelism = 128;

// A backend over `range` with a clock the test controls.
struct Fixture {
    explicit Fixture(KeyGroupRange range = {0, kMaxParallelism - 1})
        : backend(range, kMaxParallelism, &clock) {}

    // Makes `key` current in the key group its bytes hash to.
    void setKey(const std::string& key) {
        backend.setCurrentKey(key, sluice::keyGroupForKey(key, kMaxParallelism));
    }

    std::vector<StateEntryView> entries(const std::string& state_name) {
        std::vector<StateEntryView> result;
        backend.forEachState([&](const sluice::InternalKvState& state) {
            if (state.name() == state_name) {
                state.forEachEntry([&](const StateEntryView& view) { result.push_back(view); });
            }
        });
        return result;
    }

    size_t entryCount(const std::string& state_name) {
        size_t count = 0;
        backend.forEachState([&](const sluice::InternalKvState& state) {
            if (state.name() == state_name) {
                count = state.entryCount();
            }
        });
        return count;
    }

    sluice::Nanos clock = 0;
    HeapKeyedStateBackend backend;
};

}  // namespace

class TstKeyedState : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void valuePerKey() {
        Fixture f;
        auto& state = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("count"));
        f.setKey("apple");
        QVERIFY(!state.value().has_value());
        state.update(1);
        f.setKey("banana");
        QVERIFY(!state.value().has_value());
        state.update(2);
        f.setKey("apple");
        QCOMPARE(state.value(), std::optional<int64_t>(1));
        f.setKey("banana");
        QCOMPARE(state.value(), std::optional<int64_t>(2));
        QCOMPARE(f.entryCount("count"), size_t(2));
    }

    // The same key bytes in two key groups are two entries.
    void valuePerKeyGroup() {
        Fixture f;
        auto& state = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("v"));
        f.backend.setCurrentKey("k", 3);
        state.update(30);
        f.backend.setCurrentKey("k", 5);
        QVERIFY(!state.value().has_value());
        state.update(50);
        f.backend.setCurrentKey("k", 3);
        QCOMPARE(state.value(), std::optional<int64_t>(30));
        const auto views = f.entries("v");
        QCOMPARE(views.size(), size_t(2));
        QCOMPARE(views[0].key_group, 3);
        QCOMPARE(views[0].value, std::string("30"));
        QCOMPARE(views[1].key_group, 5);
        QCOMPARE(views[1].value, std::string("50"));
    }

    // Two states never share values, even for the same key.
    void statesAreIndependent() {
        Fixture f;
        auto& first = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("first"));
        auto& second = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("second"));
        f.setKey("x");
        first.update(1);
        QVERIFY(!second.value().has_value());
        second.update(2);
        QCOMPARE(first.value(), std::optional<int64_t>(1));
        second.clear();
        QCOMPARE(first.value(), std::optional<int64_t>(1));
    }

    void valueClear() {
        Fixture f;
        auto& state = sluice::getValueState(f.backend, ValueStateDescriptor<std::string>("name"));
        f.setKey("a");
        state.update("alpha");
        f.setKey("b");
        state.update("beta");
        state.clear();
        QVERIFY(!state.value().has_value());
        QCOMPARE(f.entryCount("name"), size_t(1));
        f.setKey("a");
        QCOMPARE(state.value(), std::optional<std::string>("alpha"));
        // Clearing a key without a value is a no-op.
        f.setKey("never");
        state.clear();
        QCOMPARE(f.entryCount("name"), size_t(1));
    }

    void listState() {
        Fixture f;
        auto& list = sluice::getListState(f.backend, ListStateDescriptor<int64_t>("list"));
        f.setKey("a");
        QVERIFY(list.get().empty());
        list.add(1);
        list.add(2);
        list.add(3);
        QCOMPARE(list.get(), (std::vector<int64_t>{1, 2, 3}));
        f.setKey("b");
        QVERIFY(list.get().empty());
        list.update({9, 8});
        QCOMPARE(list.get(), (std::vector<int64_t>{9, 8}));
        f.setKey("a");
        QCOMPARE(list.get(), (std::vector<int64_t>{1, 2, 3}));
        list.clear();
        QVERIFY(list.get().empty());
        QCOMPARE(f.entryCount("list"), size_t(1));
        // Updating with an empty list removes the entry, like clear.
        f.setKey("b");
        list.update({});
        QVERIFY(list.get().empty());
        QCOMPARE(f.entryCount("list"), size_t(0));
    }

    void mapState() {
        Fixture f;
        auto& map = sluice::getMapState(f.backend, MapStateDescriptor<std::string, int64_t>("map"));
        f.setKey("a");
        QVERIFY(map.isEmpty());
        map.put("zeta", 26);
        map.put("alpha", 1);
        map.put("mu", 12);
        map.put("alpha", 100);
        QVERIFY(!map.isEmpty());
        QCOMPARE(map.get("alpha"), std::optional<int64_t>(100));
        QVERIFY(!map.get("beta").has_value());
        QVERIFY(map.contains("mu"));
        QVERIFY(!map.contains("nu"));
        const std::vector<std::pair<std::string, int64_t>> expected{
            {"alpha", 100}, {"mu", 12}, {"zeta", 26}};
        QCOMPARE(map.entries(), expected);

        f.setKey("b");
        QVERIFY(map.isEmpty());
        QVERIFY(!map.contains("alpha"));
        map.put("only", 7);

        f.setKey("a");
        map.remove("mu");
        map.remove("not there");
        QVERIFY(!map.contains("mu"));
        QCOMPARE(map.entries().size(), size_t(2));
        // Removing the last user key removes the key's entry.
        map.remove("alpha");
        map.remove("zeta");
        QVERIFY(map.isEmpty());
        QCOMPARE(f.entryCount("map"), size_t(1));

        f.setKey("b");
        map.clear();
        QVERIFY(map.isEmpty());
        QCOMPARE(f.entryCount("map"), size_t(0));
    }

    void reducingState() {
        Fixture f;
        auto& sum = sluice::getReducingState(
            f.backend, ReducingStateDescriptor<int64_t>(
                           "sum", [](const int64_t& a, const int64_t& b) { return a + b; }));
        auto& longest = sluice::getReducingState(
            f.backend, ReducingStateDescriptor<std::string>(
                           "longest", [](const std::string& a, const std::string& b) {
                               return b.size() > a.size() ? b : a;
                           }));
        f.setKey("a");
        QVERIFY(!sum.get().has_value());
        sum.add(5);
        QCOMPARE(sum.get(), std::optional<int64_t>(5));
        sum.add(-2);
        sum.add(10);
        QCOMPARE(sum.get(), std::optional<int64_t>(13));
        longest.add("ab");
        longest.add("abcd");
        longest.add("x");
        QCOMPARE(longest.get(), std::optional<std::string>("abcd"));

        f.setKey("b");
        QVERIFY(!sum.get().has_value());
        sum.add(1);
        QCOMPARE(sum.get(), std::optional<int64_t>(1));

        f.setKey("a");
        sum.clear();
        QVERIFY(!sum.get().has_value());
        // After clear the next value starts a new fold instead of reducing with 0.
        sum.add(4);
        QCOMPARE(sum.get(), std::optional<int64_t>(4));
    }

    // The reduce function gets the stored value first and the new one second.
    void reducingArgumentOrder() {
        Fixture f;
        auto& joined = sluice::getReducingState(
            f.backend, ReducingStateDescriptor<std::string>(
                           "joined", [](const std::string& stored, const std::string& added) {
                               return stored + "+" + added;
                           }));
        f.setKey("k");
        joined.add("a");
        joined.add("b");
        joined.add("c");
        QCOMPARE(joined.get(), std::optional<std::string>("a+b+c"));
    }

    // forEachEntry visits key groups in ascending order and keys in byte
    // order inside a group, whatever the insertion order, and shows values
    // with the serializers' display strings.
    void forEachEntryOrder() {
        Fixture f;
        auto& state = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("v"));
        const std::vector<std::pair<std::string, int>> keys{
            {"delta", 9}, {"alpha", 2}, {"charlie", 9}, {"bravo", 2}, {"echo", 0}, {"Zulu", 9}};
        int64_t value = 0;
        for (const auto& [key, group] : keys) {
            f.backend.setCurrentKey(key, group);
            state.update(++value);
        }
        const auto views = f.entries("v");
        std::vector<std::pair<int, std::string>> order;
        for (const auto& view : views) {
            order.emplace_back(view.key_group, view.key);
            QCOMPARE(view.state_name, std::string("v"));
        }
        const std::vector<std::pair<int, std::string>> expected{
            {0, "echo"}, {2, "alpha"}, {2, "bravo"}, {9, "Zulu"}, {9, "charlie"}, {9, "delta"}};
        QCOMPARE(order, expected);
        // Values were assigned 1..6 in insertion order.
        QCOMPARE(views[0].value, std::string("5"));
        QCOMPARE(views[3].value, std::string("6"));
        QCOMPARE(views[5].value, std::string("1"));
    }

    void forEachEntryDisplay() {
        Fixture f;
        f.backend.key_formatter = [](std::string_view bytes) {
            return "<" + std::string(bytes) + ">";
        };
        auto& list = sluice::getListState(f.backend, ListStateDescriptor<int64_t>("list"));
        auto& map = sluice::getMapState(f.backend, MapStateDescriptor<std::string, int64_t>("map"));
        auto& text = sluice::getValueState(f.backend, ValueStateDescriptor<std::string>("text"));
        f.clock = 1500;
        f.backend.setCurrentKey("k", 4);
        list.add(1);
        list.add(-2);
        map.put("b", 2);
        map.put("a", 1);
        f.clock = 2500;
        text.update("hello");

        const auto lists = f.entries("list");
        QCOMPARE(lists.size(), size_t(1));
        QCOMPARE(lists[0].key, std::string("<k>"));
        QCOMPARE(lists[0].key_group, 4);
        QCOMPARE(lists[0].value, std::string("[1, -2]"));
        QCOMPARE(lists[0].last_update_ns, sluice::Nanos(1500));

        const auto maps = f.entries("map");
        QCOMPARE(maps.size(), size_t(1));
        QCOMPARE(maps[0].value, std::string("{a: 1, b: 2}"));

        const auto texts = f.entries("text");
        QCOMPARE(texts.size(), size_t(1));
        QCOMPARE(texts[0].value, std::string("hello"));
        QCOMPARE(texts[0].last_update_ns, sluice::Nanos(2500));
    }

    // Without a formatter the inspector shows the raw key bytes.
    void forEachEntryRawKey() {
        Fixture f;
        auto& state = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("v"));
        f.backend.setCurrentKey("raw", 1);
        state.update(7);
        const auto views = f.entries("v");
        QCOMPARE(views.size(), size_t(1));
        QCOMPARE(views[0].key, std::string("raw"));
    }

    // A backend that owns only part of the key groups reports them with
    // their absolute numbers.
    void subRangeBackend() {
        Fixture f(KeyGroupRange{32, 63});
        auto& state = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("v"));
        for (int group : {63, 32, 40}) {
            f.backend.setCurrentKey("key", group);
            state.update(group * 10);
        }
        f.backend.setCurrentKey("key", 40);
        QCOMPARE(state.value(), std::optional<int64_t>(400));
        const auto views = f.entries("v");
        QCOMPARE(views.size(), size_t(3));
        QCOMPARE(views[0].key_group, 32);
        QCOMPARE(views[1].key_group, 40);
        QCOMPARE(views[2].key_group, 63);
        QCOMPARE(views[2].value, std::string("630"));
    }

    void sameNameSameHandle() {
        Fixture f;
        auto& first = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("v"));
        auto& again = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("v"));
        QCOMPARE(&first, &again);
        f.setKey("k");
        first.update(3);
        QCOMPARE(again.value(), std::optional<int64_t>(3));
    }

    void nameWithOtherTypeThrows_data() {
        QTest::addColumn<int>("kind");
        QTest::newRow("list") << 0;
        QTest::newRow("map") << 1;
        QTest::newRow("reducing") << 2;
        QTest::newRow("value of another type") << 3;
    }
    void nameWithOtherTypeThrows() {
        QFETCH(int, kind);
        Fixture f;
        sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("shared"));
        try {
            switch (kind) {
                case 0:
                    sluice::getListState(f.backend, ListStateDescriptor<int64_t>("shared"));
                    break;
                case 1:
                    sluice::getMapState(f.backend,
                                        MapStateDescriptor<std::string, int64_t>("shared"));
                    break;
                case 2:
                    sluice::getReducingState(
                        f.backend,
                        ReducingStateDescriptor<int64_t>(
                            "shared", [](const int64_t& a, const int64_t& b) { return a + b; }));
                    break;
                default:
                    sluice::getValueState(f.backend, ValueStateDescriptor<std::string>("shared"));
                    break;
            }
            QFAIL("a state name was registered again with another type");
        } catch (const std::logic_error& error) {
            QVERIFY2(std::string(error.what()).find("'shared'") != std::string::npos, error.what());
        }
    }

    // Random updates and clears over many keys in a few key groups, checked
    // against a std::map model, so the per-group hash tables grow and
    // delete (with entries moved on deletion) many times.
    void manyKeysMatchModel() {
        Fixture f(KeyGroupRange{10, 13});
        auto& state = sluice::getValueState(f.backend, ValueStateDescriptor<int64_t>("v"));
        std::map<std::pair<int, std::string>, int64_t> model;
        sluice::sim::Prng prng(2718);
        for (int i = 0; i < 60'000; ++i) {
            const int group = 10 + int(prng.nextBelow(4));
            const std::string key = "key-" + std::to_string(prng.nextBelow(3000));
            f.backend.setCurrentKey(key, group);
            const uint64_t op = prng.nextBelow(4);
            const auto model_key = std::make_pair(group, key);
            if (op == 0) {
                state.clear();
                model.erase(model_key);
            } else if (op == 1) {
                auto it = model.find(model_key);
                const auto actual = state.value();
                const bool match = it == model.end() ? !actual.has_value()
                                                     : actual == std::optional<int64_t>(it->second);
                if (!match) {
                    QFAIL(qPrintable(QString("operation %1: wrong value for %2 in group %3")
                                         .arg(i)
                                         .arg(QString::fromStdString(key))
                                         .arg(group)));
                }
            } else {
                state.update(i);
                model[model_key] = i;
            }
        }
        QCOMPARE(f.entryCount("v"), model.size());
        const auto views = f.entries("v");
        QCOMPARE(views.size(), model.size());
        size_t index = 0;
        for (const auto& [model_key, value] : model) {
            if (views[index].key_group != model_key.first || views[index].key != model_key.second ||
                views[index].value != std::to_string(value)) {
                QFAIL(qPrintable(QString("entry %1 differs from the model").arg(index)));
            }
            ++index;
        }
    }
};

QTEST_GUILESS_MAIN(TstKeyedState)
#include "tst_keyed_state.moc"
