#pragma once

#include "runtime/core/types.h"
#include "sim/record.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sluice::sim {

// Event index of a visibility that happened without an event clock, or
// before the first event.
constexpr uint64_t kNoEventIndex = std::numeric_limits<uint64_t>::max();

// The simulation event during which a write or a commit became visible.
struct VisibilityEvent {
    uint64_t event_index = kNoEventIndex;
    Nanos time_ns = -1;  // -1: unknown
};

// Returns the index of the event being executed and the simulated time.
using EventClock = std::function<std::pair<uint64_t, Nanos>()>;

enum class TransactionState : uint8_t { kOpen, kPreCommitted, kCommitted, kAborted };
const char* transactionStateName(TransactionState state);

// One record written by a sink.
struct StoredRecord {
    int sink = 0;  // index of the sink operator among the scenario's sinks
    int subtask = 0;
    Nanos written_at_ns = 0;
    TimestampMs timestamp = 0;
    Record record;
    int64_t transaction = -1;  // -1: written outside a transaction
};

struct Transaction {
    int64_t id = 0;
    int sink = 0;
    int subtask = 0;
    int64_t attempt = 0;
    int64_t checkpoint_id = 0;  // the checkpoint epoch of its records
    Nanos opened_at_ns = 0;
    Nanos timeout_ns = 0;
    TransactionState state = TransactionState::kOpen;
    std::string abort_reason;
    std::vector<size_t> records;  // indexes into ExternalStore::records()
    // Position of the commit among all visibility events of the store; a
    // reader sees committed transactions in this order.
    uint64_t visible_sequence = 0;
    // The event of the first successful commit. Without an event clock the
    // event index stays kNoEventIndex and the time is the commit's `now`.
    VisibilityEvent committed_at;
};

// The external system that sinks write into, owned by the simulation so it
// outlives task failures. It keeps every write with its transaction, so the
// exactly-once checker can see what became visible and what did not.
// Transactions left open longer than their timeout are aborted by the store
// itself, the way Kafka aborts a producer's transaction after
// transaction.timeout.ms. The expiry is evaluated at the next operation on
// the transaction, which keeps it deterministic.
class ExternalStore {
public:
    // Fault injection: the store rejects the next `count` writes of sink
    // `sink`. A sink calls takeRejection() before each write, and the first
    // rejection of a batch calls the listener, so the simulation can fail
    // the writer once the error surfaces.
    void rejectNextWrites(int sink, uint32_t count) {
        rejections_[sink] += count;
        batch_started_.insert(sink);
    }
    void clearRejections(int sink) { rejections_.erase(sink); }
    bool takeRejection(int sink, int subtask);
    void setRejectionListener(std::function<void(int sink, int subtask)> listener) {
        rejection_listener_ = std::move(listener);
    }
    uint64_t rejectedWrites() const { return rejected_writes_; }

    // A write outside a transaction, visible at once.
    void write(StoredRecord record);
    // Counts a record of a DISCARD sink without keeping it.
    void discard(const Record& record);
    // Replaces the sink's value for the record's key.
    void upsert(StoredRecord record);

    int64_t beginTransaction(int sink, int subtask, int64_t attempt, int64_t checkpoint_id,
                             Nanos now, Nanos timeout_ns);
    void writeInTransaction(int64_t transaction, StoredRecord record);
    // Returns false (and leaves the transaction aborted) if it expired.
    bool preCommit(int64_t transaction, Nanos now);
    // Idempotent: committing a committed transaction succeeds again.
    // Returns false if the transaction was aborted or expired.
    bool commit(int64_t transaction, Nanos now);
    void abort(int64_t transaction, const std::string& reason);
    // Highest checkpoint id of a committed transaction of (sink, subtask),
    // or 0.
    int64_t highestCommittedCheckpoint(int sink, int subtask) const;
    // The state at `now`, after aborting the transaction if it expired.
    TransactionState state(int64_t transaction, Nanos now);

    // Sets the clock that stamps each write outside a transaction, each
    // commit and each discard with the event that made it visible. Without a
    // clock, writes are stamped with their written_at_ns and commits with
    // their `now`, and no event index is known. Copies of the store do not
    // take the clock, because it usually points into the engine that owns
    // the original.
    void setEventClock(EventClock clock) { clock_.function = std::move(clock); }
    // The event at which records()[index] became visible: its write outside
    // a transaction, or the commit of its transaction. An upsert replaced
    // later still reports when it became visible. Returns nullopt for a
    // record whose transaction did not commit.
    std::optional<VisibilityEvent> visibleAt(size_t index) const;
    // The last write, commit of a non-empty transaction or discard. Discards
    // are stamped only with an event clock; otherwise time_ns is -1 if
    // nothing else became visible.
    VisibilityEvent lastVisibility() const { return last_visibility_; }

    const std::vector<StoredRecord>& records() const { return records_; }
    const std::map<int64_t, Transaction>& transactions() const { return transactions_; }
    // Records visible to a reader of the store: non-transactional writes and
    // writes of committed transactions, in the order they became visible:
    // a write outside a transaction when written, a transaction's records
    // when it committed, in their write order. For upsert sinks only the
    // latest value per key is visible.
    std::vector<StoredRecord> visibleRecords() const;
    // Indexes into records() of visibleRecords(), in the same order, without
    // copying the records.
    std::vector<size_t> visibleIndexes() const;
    bool isVisible(const StoredRecord& record) const;
    uint64_t discardedCount() const { return discarded_; }
    // Order-sensitive hash of every record written or discarded.
    uint64_t hash() const { return hash_; }

private:
    std::map<int, uint32_t> rejections_;  // sink -> writes still to reject
    std::set<int> batch_started_;         // sinks whose next rejection is a batch's first
    std::function<void(int, int)> rejection_listener_;
    uint64_t rejected_writes_ = 0;

    static uint64_t hashRecord(uint64_t seed, const Record& record);
    void expireIfDue(Transaction& transaction, Nanos now);
    VisibilityEvent stamp(Nanos fallback_ns) const;
    void stampWrite(uint64_t sequence, Nanos written_at_ns);

    // Keeps the clock on moves and drops it on copies (see setEventClock).
    struct ClockHolder {
        ClockHolder() = default;
        ClockHolder(const ClockHolder&) {}
        ClockHolder(ClockHolder&&) = default;
        ClockHolder& operator=(const ClockHolder&) {
            function = nullptr;
            return *this;
        }
        ClockHolder& operator=(ClockHolder&&) = default;
        EventClock function;
    };
    // Event of the writes outside a transaction from visibility sequence
    // first_sequence on. A sink task usually writes many records within one
    // event, because one step processes a whole input buffer, so one entry
    // covers many records.
    struct WriteClockRun {
        uint64_t first_sequence = 0;
        VisibilityEvent event;
    };

    std::vector<StoredRecord> records_;
    std::map<int64_t, Transaction> transactions_;
    std::map<std::pair<int, std::string>, size_t> upserts_;  // (sink, key) -> record index
    // Visibility sequence of each record, parallel to records_; 0 for a
    // record of a transaction, which takes its transaction's sequence.
    std::vector<uint64_t> visible_at_;
    uint64_t next_visible_ = 1;
    ClockHolder clock_;
    std::vector<WriteClockRun> write_clock_;  // ordered by first_sequence
    VisibilityEvent last_visibility_;
    std::vector<bool> upsert_sinks_;  // by sink index: the sink upserts
    int64_t next_transaction_ = 1;
    uint64_t discarded_ = 0;
    uint64_t hash_ = 0;
};

}  // namespace sluice::sim
