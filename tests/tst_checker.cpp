// The exactly-once checker on synthetic stores, one violation kind at a time,
// the event stamps of ExternalStore, the checker's speed on a million
// records, and a real scenario run twice through sim::Engine.

// The engine headers come before Qt's: Qt defines emit and slots as macros,
// which are also names in the runtime.
#include "engine_support.h"
#include "sim/checker.h"
#include "sim/engine.h"
#include "sim/external_store.h"

#include <QElapsedTimer>
#include <QtTest>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using sluice::kNanosPerMilli;
using sluice::kNanosPerSecond;
using sluice::Nanos;
using sluice::sim::checkExactlyOnce;
using sluice::sim::CheckOptions;
using sluice::sim::ExternalStore;
using sluice::sim::kNoEventIndex;
using sluice::sim::Record;
using sluice::sim::Recovery;
using sluice::sim::RunState;
using sluice::sim::StoredRecord;
using sluice::sim::Verdict;
using sluice::sim::ViolationKind;
using sluice::sim::VisibilityEvent;
namespace scenario = sluice::scenario;

namespace {

// The id a generator source gives the record at `offset` of `partition`.
uint64_t sourceId(int op, int partition, uint64_t offset) {
    return (uint64_t(op) << 56) | (uint64_t(partition) << 40) | offset;
}

// A store with a hand-driven event clock. Each write or commit goes through
// at(event, time) first, so tests can name the event of every visibility.
class StoreBuilder {
public:
    StoreBuilder() {
        store.setEventClock([this] { return std::pair{event_index_, time_ns_}; });
    }
    StoreBuilder(const StoreBuilder&) = delete;
    StoreBuilder& operator=(const StoreBuilder&) = delete;

    StoreBuilder& at(uint64_t event_index, Nanos time_ns) {
        event_index_ = event_index;
        time_ns_ = time_ns;
        return *this;
    }
    // A write outside a transaction.
    StoreBuilder& write(uint64_t id, const std::string& key, int64_t value, int subtask = 0,
                        int sink = 0) {
        store.write(StoredRecord{sink, subtask, time_ns_, 0, Record{id, key, value}, -1});
        return *this;
    }
    // One committed transaction holding `records` of (id, key, value).
    int64_t commit(const std::vector<Record>& records, int subtask = 0, int sink = 0) {
        int64_t transaction = store.beginTransaction(sink, subtask, 0, 1, time_ns_, 0);
        for (const Record& record : records) {
            store.writeInTransaction(transaction,
                                     StoredRecord{sink, subtask, time_ns_, 0, record, -1});
        }
        store.preCommit(transaction, time_ns_);
        store.commit(transaction, time_ns_);
        return transaction;
    }

    ExternalStore store;

private:
    uint64_t event_index_ = kNoEventIndex;
    Nanos time_ns_ = 0;
};

// Writes `count` records of three keys from source 1 partition 0, one event
// per record, skipping the offsets in `skip`.
void writeSequence(StoreBuilder& builder, uint64_t count, const std::vector<uint64_t>& skip = {}) {
    for (uint64_t offset = 0; offset < count; ++offset) {
        if (std::find(skip.begin(), skip.end(), offset) != skip.end()) {
            continue;
        }
        builder.at(100 + offset, Nanos(offset) * kNanosPerMilli)
            .write(sourceId(1, 0, offset), "k" + std::to_string(offset % 3), int64_t(offset));
    }
}

// Options for two runs that both finished.
CheckOptions finishedRuns(scenario::Guarantee guarantee = scenario::EXACTLY_ONCE_OUTPUT) {
    CheckOptions options;
    options.guarantee = guarantee;
    options.job_finished = true;
    options.reference_finished = true;
    return options;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A copy of the visible output of `source`, written outside transactions in
// visibility order, with each record written copies(record) times. The copy's
// clock reports the event at which the source made the record visible.
std::unique_ptr<ExternalStore> replay(const ExternalStore& source,
                                      const std::function<int(const StoredRecord&)>& copies) {
    auto copy = std::make_unique<ExternalStore>();
    VisibilityEvent current;
    copy->setEventClock([&current] { return std::pair{current.event_index, current.time_ns}; });
    for (size_t index : source.visibleIndexes()) {
        current = source.visibleAt(index).value_or(VisibilityEvent{});
        const StoredRecord& stored = source.records()[index];
        int count = copies(stored);
        for (int i = 0; i < count; ++i) {
            StoredRecord written = stored;
            written.transaction = -1;
            copy->write(written);
        }
    }
    copy->setEventClock({});
    return copy;
}

}  // namespace

class TstChecker : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void identicalOutputPasses();
    void lostRecordFails();
    void lossAtTimeLimitNeedsLaterRecord();
    void duplicateCommitFails();
    void duplicateAllowedAtLeastOnce();
    void reorderedRecordsFail();
    void otherPartitionsMayInterleave();
    void valueMismatchFails();
    void unexpectedRecordFails();
    void upsertStaleValueIsLoss();
    void noProgressAfterFault();
    void recoveryTooSlow();
    void jobFailed();
    void noGuaranteeChecksOnlyLiveness();
    void violationsAreCapped();
    void eventClockStampsVisibility();
    void storeCopyDropsClock();
    void visibleIndexesMatchRecords();
    void millionRecordsCheck();
    void engineRunsCompare();
};

void TstChecker::identicalOutputPasses() {
    StoreBuilder reference;
    StoreBuilder actual;
    for (StoreBuilder* builder : {&reference, &actual}) {
        writeSequence(*builder, 20);
        builder->at(500, kNanosPerSecond)
            .commit({{sourceId(2, 1, 0), "a", 1}, {sourceId(2, 1, 1), "a", 2}});
    }
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, finishedRuns());
    QVERIFY2(verdict.pass, verdict.summary().c_str());
    QVERIFY(verdict.violations.empty());
    QCOMPARE(verdict.reference_records, uint64_t(22));
    QCOMPARE(verdict.actual_records, uint64_t(22));
    QVERIFY(!verdict.compared_prefix);
    QVERIFY2(contains(verdict.summary(), "PASS"), verdict.summary().c_str());
}

void TstChecker::lostRecordFails() {
    StoreBuilder reference;
    StoreBuilder actual;
    writeSequence(reference, 20);
    writeSequence(actual, 20, {7});
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, finishedRuns());
    QVERIFY(!verdict.pass);
    QCOMPARE(verdict.count(ViolationKind::kLoss), uint64_t(1));
    QCOMPARE(verdict.violations.size(), size_t(1));
    const auto& violation = verdict.violations[0];
    QCOMPARE(violation.kind, ViolationKind::kLoss);
    QCOMPARE(violation.key, std::string("k1"));
    QCOMPARE(violation.sink, 0);
    QCOMPARE(violation.record_ids, std::vector<uint64_t>{sourceId(1, 0, 7)});
    QVERIFY2(contains(violation.explanation, "record 0x0100000000000007"),
             violation.explanation.c_str());
    QVERIFY2(contains(violation.explanation, "source 1 partition 0 offset 7"),
             violation.explanation.c_str());
    // Offset 19, the last record of key k1, shows the gap.
    QCOMPARE(violation.event_index, uint64_t(119));
    QVERIFY2(contains(verdict.summary(), "FAIL (loss: 1)"), verdict.summary().c_str());
}

void TstChecker::lossAtTimeLimitNeedsLaterRecord() {
    StoreBuilder reference;
    StoreBuilder truncated;
    StoreBuilder gap;
    writeSequence(reference, 20);
    writeSequence(truncated, 15);  // stopped before offset 15
    // Offset 4 is lost. Offset 13 comes after the last output record of its
    // key, so whether the run would still have output it is not known.
    writeSequence(gap, 15, {4, 13});
    CheckOptions options;
    options.reference_finished = true;  // the checked run stopped at its time limit
    Verdict passed = checkExactlyOnce(reference.store, truncated.store, options);
    QVERIFY2(passed.pass, passed.summary().c_str());
    QVERIFY(passed.compared_prefix);

    Verdict failed = checkExactlyOnce(reference.store, gap.store, options);
    QVERIFY(!failed.pass);
    QCOMPARE(failed.count(ViolationKind::kLoss), uint64_t(1));
    QCOMPARE(failed.violations[0].record_ids, std::vector<uint64_t>{sourceId(1, 0, 4)});

    // With both runs finished, the tail counts as lost too.
    Verdict full = checkExactlyOnce(reference.store, truncated.store, finishedRuns());
    QCOMPARE(full.count(ViolationKind::kLoss), uint64_t(5));
}

void TstChecker::duplicateCommitFails() {
    StoreBuilder reference;
    StoreBuilder actual;
    const uint64_t id = sourceId(1, 0, 7);
    reference.at(10233, 1204 * kNanosPerMilli).commit({{id, "word-3", 1}});
    actual.at(1, 0).commit({});  // transaction ids differ from the reference's
    int64_t first = actual.at(10233, 1204 * kNanosPerMilli).commit({{id, "word-3", 1}});
    int64_t again = actual.at(20211, 2500 * kNanosPerMilli).commit({{id, "word-3", 1}});
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, finishedRuns());
    QVERIFY(!verdict.pass);
    QCOMPARE(verdict.count(ViolationKind::kDuplicate), uint64_t(1));
    QCOMPARE(verdict.count(ViolationKind::kLoss), uint64_t(0));
    const auto& violation = verdict.violations.at(0);
    QCOMPARE(violation.kind, ViolationKind::kDuplicate);
    QCOMPARE(violation.event_index, uint64_t(20211));
    QCOMPARE(violation.time_ns, 2500 * kNanosPerMilli);
    const std::string expected =
        "record 0x0100000000000007 (key 'word-3', source 1 partition 0 offset 7) at sink 0 was "
        "committed twice, once in the reference run: first at event 10233 (t=1.204 s) in "
        "transaction " +
        std::to_string(first) + ", again at event 20211 (t=2.500 s) in transaction " +
        std::to_string(again);
    QCOMPARE(violation.explanation, expected);
}

void TstChecker::duplicateAllowedAtLeastOnce() {
    StoreBuilder reference;
    StoreBuilder actual;
    writeSequence(reference, 10);
    writeSequence(actual, 10);
    writeSequence(actual, 6);  // a replay from offset 0 after a failure
    Verdict exactly = checkExactlyOnce(reference.store, actual.store, finishedRuns());
    QVERIFY(!exactly.pass);
    QCOMPARE(exactly.count(ViolationKind::kDuplicate), uint64_t(6));
    QCOMPARE(exactly.count(ViolationKind::kOrder), uint64_t(0));  // first copies are in order
    QCOMPARE(exactly.violations.size(), size_t(3));               // one per key

    Verdict at_least = checkExactlyOnce(reference.store, actual.store,
                                        finishedRuns(scenario::AT_LEAST_ONCE_OUTPUT));
    QVERIFY2(at_least.pass, at_least.summary().c_str());
    QCOMPARE(at_least.tolerated_duplicates, uint64_t(6));

    // At-least-once still rejects a loss.
    StoreBuilder lossy;
    writeSequence(lossy, 10, {3});
    Verdict lost = checkExactlyOnce(reference.store, lossy.store,
                                    finishedRuns(scenario::AT_LEAST_ONCE_OUTPUT));
    QCOMPARE(lost.count(ViolationKind::kLoss), uint64_t(1));
}

void TstChecker::reorderedRecordsFail() {
    StoreBuilder reference;
    StoreBuilder actual;
    for (uint64_t offset : {1, 2, 3, 4}) {
        reference.at(offset, Nanos(offset)).write(sourceId(1, 0, offset), "k", 1);
    }
    for (uint64_t offset : {1, 3, 2, 4}) {
        actual.at(offset * 10, Nanos(offset)).write(sourceId(1, 0, offset), "k", 1);
    }
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, finishedRuns());
    QVERIFY(!verdict.pass);
    QCOMPARE(verdict.count(ViolationKind::kOrder), uint64_t(1));
    QCOMPARE(verdict.count(ViolationKind::kLoss), uint64_t(0));
    const auto& violation = verdict.violations.at(0);
    QCOMPARE(violation.kind, ViolationKind::kOrder);
    QCOMPARE(violation.record_ids, std::vector<uint64_t>{sourceId(1, 0, 2)});
    QCOMPARE(violation.event_index, uint64_t(20));
    QVERIFY2(contains(violation.explanation, "with the higher offset 3"),
             violation.explanation.c_str());
}

void TstChecker::otherPartitionsMayInterleave() {
    // Records of two partitions interleave differently, records of one
    // partition reach different subtasks, and a derived id breaks the
    // reference's order: none of these is an order violation.
    StoreBuilder reference;
    StoreBuilder actual;
    reference.write(sourceId(1, 0, 1), "k", 1).write(sourceId(1, 1, 1), "k", 1);
    reference.write(sourceId(1, 0, 2), "k", 1).write(sourceId(1, 1, 2), "k", 1);
    reference.write(sourceId(1, 2, 5), "k", 1, 0).write(sourceId(1, 2, 6), "k", 1, 1);
    reference.write(sourceId(1, 3, 9), "k", 1).write(sourceId(1, 3, 8), "k", 1);
    actual.write(sourceId(1, 1, 1), "k", 1).write(sourceId(1, 1, 2), "k", 1);
    actual.write(sourceId(1, 0, 1), "k", 1).write(sourceId(1, 0, 2), "k", 1);
    actual.write(sourceId(1, 2, 6), "k", 1, 1).write(sourceId(1, 2, 5), "k", 1, 0);
    actual.write(sourceId(1, 3, 8), "k", 1).write(sourceId(1, 3, 9), "k", 1);
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, finishedRuns());
    QVERIFY2(verdict.pass, verdict.summary().c_str());
}

void TstChecker::valueMismatchFails() {
    StoreBuilder reference;
    StoreBuilder actual;
    writeSequence(reference, 6);
    for (uint64_t offset = 0; offset < 6; ++offset) {
        int64_t value = offset == 4 ? 40 : int64_t(offset);
        actual.at(offset, Nanos(offset))
            .write(sourceId(1, 0, offset), "k" + std::to_string(offset % 3), value);
    }
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, finishedRuns());
    QVERIFY(!verdict.pass);
    QCOMPARE(verdict.count(ViolationKind::kValueMismatch), uint64_t(1));
    QCOMPARE(verdict.count(ViolationKind::kLoss), uint64_t(0));
    QCOMPARE(verdict.count(ViolationKind::kDuplicate), uint64_t(0));
    const auto& violation = verdict.violations.at(0);
    QCOMPARE(violation.key, std::string("k1"));
    QVERIFY2(contains(violation.explanation, "with value 40, but the reference run output value 4"),
             violation.explanation.c_str());
}

void TstChecker::unexpectedRecordFails() {
    StoreBuilder reference;
    StoreBuilder actual;
    writeSequence(reference, 5);
    writeSequence(actual, 5);
    actual.at(900, kNanosPerSecond).write(0x1234567890abcdefull, "x", 3);
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, finishedRuns());
    QCOMPARE(verdict.count(ViolationKind::kUnexpected), uint64_t(1));
    QVERIFY2(contains(verdict.violations.at(0).explanation, "never wrote it"),
             verdict.violations.at(0).explanation.c_str());

    // A reference stopped at its time limit may not have reached the record.
    CheckOptions options;
    Verdict unfinished = checkExactlyOnce(reference.store, actual.store, options);
    QVERIFY2(unfinished.pass, unfinished.summary().c_str());
}

void TstChecker::upsertStaleValueIsLoss() {
    ExternalStore reference;
    ExternalStore actual;
    auto upsert = [](ExternalStore& store, uint64_t offset, const std::string& key) {
        store.upsert(StoredRecord{0, 0, 0, 0, Record{sourceId(1, 0, offset), key, 1}, -1});
    };
    for (ExternalStore* store : {&reference, &actual}) {
        upsert(*store, 0, "a");
        upsert(*store, 1, "b");
        upsert(*store, 2, "a");
    }
    upsert(reference, 3, "b");
    Verdict verdict = checkExactlyOnce(reference, actual, finishedRuns());
    QCOMPARE(verdict.count(ViolationKind::kLoss), uint64_t(1));
    QCOMPARE(verdict.count(ViolationKind::kDuplicate), uint64_t(0));
    QCOMPARE(verdict.violations.at(0).record_ids, std::vector<uint64_t>{sourceId(1, 0, 3)});
}

void TstChecker::noProgressAfterFault() {
    StoreBuilder reference;
    StoreBuilder actual;
    writeSequence(reference, 10);
    writeSequence(actual, 10);  // the last write is at 9 ms
    CheckOptions options;
    options.reference_finished = true;
    options.last_fault_ns = 20 * kNanosPerMilli;
    options.end_ns = 60 * kNanosPerMilli;
    Verdict stuck = checkExactlyOnce(reference.store, actual.store, options);
    QVERIFY(!stuck.pass);
    QCOMPARE(stuck.count(ViolationKind::kNoProgress), uint64_t(1));
    QCOMPARE(stuck.violations.at(0).time_ns, 60 * kNanosPerMilli);
    QVERIFY2(contains(stuck.violations.at(0).explanation, "event 109 (t=0.009 s)"),
             stuck.violations.at(0).explanation.c_str());

    options.job_finished = true;
    QVERIFY(checkExactlyOnce(reference.store, actual.store, options).pass);

    options.job_finished = false;
    reference.at(300, 30 * kNanosPerMilli).commit({{sourceId(1, 0, 10), "k1", 10}});
    actual.at(300, 30 * kNanosPerMilli).commit({{sourceId(1, 0, 10), "k1", 10}});
    Verdict moving = checkExactlyOnce(reference.store, actual.store, options);
    QVERIFY2(moving.pass, moving.summary().c_str());
}

void TstChecker::recoveryTooSlow() {
    StoreBuilder reference;
    StoreBuilder actual;
    CheckOptions options = finishedRuns();
    options.max_recovery_ns = 2 * kNanosPerSecond;
    options.end_ns = 20 * kNanosPerSecond;
    options.recoveries = {{1 * kNanosPerSecond, 2 * kNanosPerSecond},
                          {5 * kNanosPerSecond, 9 * kNanosPerSecond}};
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, options);
    QVERIFY(!verdict.pass);
    QCOMPARE(verdict.count(ViolationKind::kRecoveryTooSlow), uint64_t(1));
    QCOMPARE(verdict.violations.at(0).time_ns, 7 * kNanosPerSecond);
    QVERIFY2(contains(verdict.violations.at(0).explanation,
                      "failure at t=5.000 s took 4.000 s, more than the maximum of 2.000 s"),
             verdict.violations.at(0).explanation.c_str());

    // A recovery still running at the end counts until the end of the run.
    options.recoveries = {{19 * kNanosPerSecond, -1}, {10 * kNanosPerSecond, -1}};
    verdict = checkExactlyOnce(reference.store, actual.store, options);
    QCOMPARE(verdict.count(ViolationKind::kRecoveryTooSlow), uint64_t(1));
    QVERIFY2(contains(verdict.violations.at(0).explanation, "had not finished"),
             verdict.violations.at(0).explanation.c_str());

    options.max_recovery_ns = 0;  // no limit
    QVERIFY(checkExactlyOnce(reference.store, actual.store, options).pass);
}

void TstChecker::jobFailed() {
    StoreBuilder reference;
    StoreBuilder actual;
    CheckOptions options;
    options.reference_finished = true;
    options.job_failed = true;
    options.failure_cause = "restart strategy exhausted";
    options.last_fault_ns = kNanosPerSecond;
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, options);
    QVERIFY(!verdict.pass);
    QCOMPARE(verdict.count(ViolationKind::kJobFailed), uint64_t(1));
    QCOMPARE(verdict.count(ViolationKind::kNoProgress), uint64_t(0));
    QCOMPARE(verdict.violations.at(0).explanation,
             std::string("the job failed: restart strategy exhausted"));
}

void TstChecker::noGuaranteeChecksOnlyLiveness() {
    StoreBuilder reference;
    StoreBuilder actual;
    writeSequence(reference, 10);
    writeSequence(actual, 5);
    writeSequence(actual, 5);
    CheckOptions options = finishedRuns(scenario::NO_GUARANTEE);
    QVERIFY(checkExactlyOnce(reference.store, actual.store, options).pass);
    options.job_finished = false;
    options.last_fault_ns = kNanosPerSecond;
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, options);
    QVERIFY(!verdict.pass);
    QCOMPARE(verdict.count(ViolationKind::kNoProgress), uint64_t(1));
    QCOMPARE(verdict.violations.size(), size_t(1));
}

void TstChecker::violationsAreCapped() {
    StoreBuilder reference;
    StoreBuilder actual;
    for (uint64_t offset = 0; offset < 50; ++offset) {
        reference.write(sourceId(1, 0, offset), "key-" + std::to_string(offset), 1);
    }
    CheckOptions options = finishedRuns();
    options.max_violations = 10;
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, options);
    QCOMPARE(verdict.count(ViolationKind::kLoss), uint64_t(50));
    QCOMPARE(verdict.violations.size(), size_t(10));
    QCOMPARE(verdict.omitted_violations, uint64_t(40));
    // Losses without a later record have no time and keep reference order.
    QCOMPARE(verdict.violations[0].key, std::string("key-0"));
    QCOMPARE(verdict.violations[0].time_ns, Nanos(-1));
    QVERIFY2(contains(verdict.summary(), "49 more violations"), verdict.summary().c_str());
}

void TstChecker::eventClockStampsVisibility() {
    StoreBuilder builder;
    ExternalStore& store = builder.store;
    builder.at(5, 100).write(1, "a", 1).write(2, "a", 1);
    int64_t transaction = store.beginTransaction(0, 0, 0, 1, 100, 0);
    store.writeInTransaction(transaction, StoredRecord{0, 0, 100, 0, Record{3, "a", 1}, -1});
    builder.at(6, 200).write(4, "b", 1);
    QVERIFY(!store.visibleAt(2).has_value());  // not committed yet
    builder.at(9, 300);
    store.commit(transaction, 300);
    builder.at(12, 400);
    store.commit(transaction, 400);  // committing again keeps the first stamp

    auto expect = [&](size_t index, uint64_t event_index, Nanos time_ns) {
        std::optional<VisibilityEvent> event = store.visibleAt(index);
        QVERIFY(event.has_value());
        QCOMPARE(event->event_index, event_index);
        QCOMPARE(event->time_ns, time_ns);
    };
    expect(0, 5, 100);
    expect(1, 5, 100);
    expect(2, 9, 300);
    expect(3, 6, 200);
    QCOMPARE(store.transactions().at(transaction).committed_at.event_index, uint64_t(9));
    QCOMPARE(store.lastVisibility().event_index, uint64_t(9));

    builder.at(20, 500);
    store.discard(Record{5, "c", 1});
    QCOMPARE(store.lastVisibility().time_ns, Nanos(500));

    // Without a clock, writes fall back to their written_at_ns.
    store.setEventClock({});
    store.write(StoredRecord{0, 0, 777, 0, Record{6, "d", 1}, -1});
    expect(4, kNoEventIndex, 777);
    expect(3, 6, 200);
}

void TstChecker::storeCopyDropsClock() {
    StoreBuilder builder;
    builder.at(3, 30).write(1, "a", 1);
    ExternalStore copy = builder.store;
    copy.write(StoredRecord{0, 0, 55, 0, Record{2, "a", 1}, -1});
    QCOMPARE(copy.visibleAt(0)->event_index, uint64_t(3));
    QCOMPARE(copy.visibleAt(1)->event_index, kNoEventIndex);
    QCOMPARE(copy.visibleAt(1)->time_ns, Nanos(55));
}

void TstChecker::visibleIndexesMatchRecords() {
    StoreBuilder builder;
    ExternalStore& store = builder.store;
    int64_t open = store.beginTransaction(0, 0, 0, 1, 0, 0);
    store.writeInTransaction(open, StoredRecord{0, 0, 0, 0, Record{1, "a", 1}, -1});
    builder.write(2, "a", 1);
    store.commit(open, 0);
    store.upsert(StoredRecord{1, 0, 0, 0, Record{3, "u", 1}, -1});
    store.upsert(StoredRecord{1, 0, 0, 0, Record{4, "u", 2}, -1});
    std::vector<size_t> indexes = store.visibleIndexes();
    std::vector<StoredRecord> records = store.visibleRecords();
    QCOMPARE(indexes, (std::vector<size_t>{1, 0, 3}));
    QCOMPARE(records.size(), indexes.size());
    for (size_t i = 0; i < indexes.size(); ++i) {
        QVERIFY(records[i].record == store.records()[indexes[i]].record);
    }
}

void TstChecker::millionRecordsCheck() {
    // 1 M records of 10 k keys from 4 partitions, committed in transactions
    // of 1000 records. The checked store misses one record of each
    // transaction, and commits the transaction at 500 k twice, first whole.
    const uint64_t count = 1'000'000;
    StoreBuilder reference;
    StoreBuilder actual;
    std::vector<Record> batch;
    for (uint64_t i = 0; i < count; ++i) {
        batch.push_back(
            Record{sourceId(1, int(i % 4), i / 4), "key-" + std::to_string(i % 10000), int64_t(i)});
        if (batch.size() == 1000) {
            reference.at(i, Nanos(i) * 1000).commit(batch);
            if (i == 499'999) {
                actual.at(i, Nanos(i) * 1000).commit(batch);  // the duplicate
            }
            batch.erase(batch.begin() + 10);
            actual.at(i, Nanos(i) * 1000).commit(batch);
            batch.clear();
        }
    }
    QElapsedTimer timer;
    timer.start();
    Verdict verdict = checkExactlyOnce(reference.store, actual.store, finishedRuns());
    qint64 elapsed_ms = timer.elapsed();
    qInfo("checked %llu records in %lld ms", (unsigned long long)count, (long long)elapsed_ms);
    QCOMPARE(verdict.count(ViolationKind::kLoss), uint64_t(999));
    QCOMPARE(verdict.count(ViolationKind::kDuplicate), uint64_t(999));
    QCOMPARE(verdict.count(ViolationKind::kOrder), uint64_t(0));
    // The time is printed, not asserted: speed is a benchmark's job, and a
    // sanitized or loaded machine is several times slower.
}

void TstChecker::engineRunsCompare() {
    auto scenario = sluice::test::loadScenario("tests/scenarios/rolling-sum.textproto");
    auto reference = sluice::test::makeEngine(scenario);
    auto actual = sluice::test::makeEngine(scenario);
    QVERIFY(reference);
    QVERIFY(actual);
    reference->run();
    actual->run();
    QCOMPARE(reference->runState(), RunState::kFinished);
    QCOMPARE(actual->runState(), RunState::kFinished);
    QVERIFY(actual->store().visibleIndexes().size() > 1000);

    CheckOptions options = sluice::sim::checkOptionsFor(scenario.proto);
    options.reference_finished = true;
    options.job_finished = true;
    options.end_ns = actual->now();
    Verdict same = checkExactlyOnce(reference->store(), actual->store(), options);
    QVERIFY2(same.pass, same.summary().c_str());
    QCOMPARE(same.actual_records, same.reference_records);

    // Every 100th record of the output is missing from the copy.
    uint64_t position = 0;
    uint64_t removed = 0;
    auto lossy = replay(actual->store(), [&](const StoredRecord&) {
        bool drop = position++ % 100 == 50;
        removed += drop ? 1 : 0;
        return drop ? 0 : 1;
    });
    Verdict lost = checkExactlyOnce(reference->store(), *lossy, options);
    qInfo("%s", lost.summary().c_str());
    QVERIFY(!lost.pass);
    QCOMPARE(lost.count(ViolationKind::kLoss), removed);
    QCOMPARE(lost.count(ViolationKind::kDuplicate), uint64_t(0));
    QCOMPARE(lost.count(ViolationKind::kOrder), uint64_t(0));
    QVERIFY2(contains(lost.violations.at(0).explanation, "source 'values' partition"),
             lost.violations.at(0).explanation.c_str());
    QVERIFY2(contains(lost.violations.at(0).explanation, "at sink 'sink'"),
             lost.violations.at(0).explanation.c_str());

    // Writing record 10 twice is a duplicate with the time of its second copy.
    position = 0;
    auto doubled =
        replay(actual->store(), [&](const StoredRecord&) { return position++ == 10 ? 2 : 1; });
    Verdict duplicated = checkExactlyOnce(reference->store(), *doubled, options);
    QCOMPARE(duplicated.count(ViolationKind::kDuplicate), uint64_t(1));
    QCOMPARE(duplicated.count(ViolationKind::kLoss), uint64_t(0));
    size_t tenth = actual->store().visibleIndexes().at(10);
    QCOMPARE(duplicated.violations.at(0).time_ns, actual->store().visibleAt(tenth)->time_ns);
}

QTEST_GUILESS_MAIN(TstChecker)
#include "tst_checker.moc"
