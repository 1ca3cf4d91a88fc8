#include "sim/external_store.h"

#include "runtime/core/log.h"
#include "runtime/core/murmur3.h"
#include "sim/random.h"

#include <algorithm>

namespace sluice::sim {

const char* transactionStateName(TransactionState state) {
    switch (state) {
        case TransactionState::kOpen:
            return "OPEN";
        case TransactionState::kPreCommitted:
            return "PRE_COMMITTED";
        case TransactionState::kCommitted:
            return "COMMITTED";
        case TransactionState::kAborted:
            return "ABORTED";
    }
    return "UNKNOWN";
}

uint64_t ExternalStore::hashRecord(uint64_t seed, const Record& record) {
    uint64_t h = mix64(seed ^ record.id);
    h = mix64(h ^ murmur3_32(record.key));
    return mix64(h ^ uint64_t(record.value));
}

VisibilityEvent ExternalStore::stamp(Nanos fallback_ns) const {
    if (!clock_.function) {
        return VisibilityEvent{kNoEventIndex, fallback_ns};
    }
    auto [event_index, time_ns] = clock_.function();
    return VisibilityEvent{event_index, time_ns};
}

void ExternalStore::stampWrite(uint64_t sequence, Nanos written_at_ns) {
    VisibilityEvent event = stamp(written_at_ns);
    last_visibility_ = event;
    if (!clock_.function) {
        // Later lookups fall back to written_at_ns; a run is needed only to
        // end the run of an earlier clock.
        bool clock_run_open = !write_clock_.empty() && write_clock_.back().event.time_ns >= 0;
        if (clock_run_open) {
            write_clock_.push_back(WriteClockRun{sequence, VisibilityEvent{kNoEventIndex, -1}});
        }
        return;
    }
    bool same_event = !write_clock_.empty() &&
                      write_clock_.back().event.event_index == event.event_index &&
                      write_clock_.back().event.time_ns == event.time_ns;
    if (!same_event) {
        write_clock_.push_back(WriteClockRun{sequence, event});
    }
}

bool ExternalStore::takeRejection(int sink, int subtask) {
    auto it = rejections_.find(sink);
    if (it == rejections_.end() || it->second == 0) {
        return false;
    }
    bool first = batch_started_.erase(sink) > 0;
    --it->second;
    ++rejected_writes_;
    if (first && rejection_listener_) {
        rejection_listener_(sink, subtask);
    }
    return true;
}

void ExternalStore::write(StoredRecord record) {
    hash_ = hashRecord(hash_, record.record);
    stampWrite(next_visible_, record.written_at_ns);
    visible_at_.push_back(next_visible_++);
    records_.push_back(std::move(record));
}

void ExternalStore::discard(const Record& record) {
    hash_ = hashRecord(hash_, record);
    ++discarded_;
    if (clock_.function) {
        last_visibility_ = stamp(-1);
    }
}

void ExternalStore::upsert(StoredRecord record) {
    hash_ = hashRecord(hash_, record.record);
    upserts_[{record.sink, record.record.key}] = records_.size();
    if (upsert_sinks_.size() <= size_t(record.sink)) {
        upsert_sinks_.resize(size_t(record.sink) + 1, false);
    }
    upsert_sinks_[size_t(record.sink)] = true;
    stampWrite(next_visible_, record.written_at_ns);
    visible_at_.push_back(next_visible_++);
    records_.push_back(std::move(record));
}

int64_t ExternalStore::beginTransaction(int sink, int subtask, int64_t attempt,
                                        int64_t checkpoint_id, Nanos now, Nanos timeout_ns) {
    Transaction transaction;
    transaction.id = next_transaction_++;
    transaction.sink = sink;
    transaction.subtask = subtask;
    transaction.attempt = attempt;
    transaction.checkpoint_id = checkpoint_id;
    transaction.opened_at_ns = now;
    transaction.timeout_ns = timeout_ns;
    transactions_[transaction.id] = transaction;
    return transaction.id;
}

void ExternalStore::writeInTransaction(int64_t id, StoredRecord record) {
    record.transaction = id;
    hash_ = hashRecord(hash_, record.record);
    transactions_.at(id).records.push_back(records_.size());
    visible_at_.push_back(0);  // visible when the transaction commits
    records_.push_back(std::move(record));
}

void ExternalStore::expireIfDue(Transaction& transaction, Nanos now) {
    bool open = transaction.state == TransactionState::kOpen ||
                transaction.state == TransactionState::kPreCommitted;
    if (open && transaction.timeout_ns > 0 &&
        now - transaction.opened_at_ns > transaction.timeout_ns) {
        hash_ = mix64(hash_ ^ (uint64_t(transaction.id) << 2) ^ 3);
        transaction.state = TransactionState::kAborted;
        transaction.abort_reason = "transaction timeout of " +
                                   std::to_string(transaction.timeout_ns / kNanosPerMilli) +
                                   " ms expired";
        log::warning("store", "transaction.expired",
                     {{"transaction", std::to_string(transaction.id)},
                      {"checkpoint", std::to_string(transaction.checkpoint_id)}});
    }
}

bool ExternalStore::preCommit(int64_t id, Nanos now) {
    Transaction& transaction = transactions_.at(id);
    expireIfDue(transaction, now);
    if (transaction.state != TransactionState::kOpen) {
        return transaction.state == TransactionState::kPreCommitted;
    }
    transaction.state = TransactionState::kPreCommitted;
    return true;
}

bool ExternalStore::commit(int64_t id, Nanos now) {
    Transaction& transaction = transactions_.at(id);
    expireIfDue(transaction, now);
    if (transaction.state == TransactionState::kAborted) {
        return false;
    }
    if (transaction.state != TransactionState::kCommitted) {
        // Commits and aborts decide what becomes visible, so they are part
        // of the digest too.
        hash_ = mix64(hash_ ^ (uint64_t(id) << 2) ^ 1);
        transaction.state = TransactionState::kCommitted;
        transaction.visible_sequence = next_visible_++;
        transaction.committed_at = stamp(now);
        if (!transaction.records.empty()) {
            last_visibility_ = transaction.committed_at;
        }
    }
    return true;
}

int64_t ExternalStore::highestCommittedCheckpoint(int sink, int subtask) const {
    int64_t highest = 0;
    for (const auto& [id, transaction] : transactions_) {
        if (transaction.sink == sink && transaction.subtask == subtask &&
            transaction.state == TransactionState::kCommitted) {
            highest = std::max(highest, transaction.checkpoint_id);
        }
    }
    return highest;
}

TransactionState ExternalStore::state(int64_t id, Nanos now) {
    Transaction& transaction = transactions_.at(id);
    expireIfDue(transaction, now);
    return transaction.state;
}

void ExternalStore::abort(int64_t id, const std::string& reason) {
    Transaction& transaction = transactions_.at(id);
    if (transaction.state == TransactionState::kCommitted) {
        return;  // too late: commits are final
    }
    hash_ = mix64(hash_ ^ (uint64_t(id) << 2) ^ 2);
    transaction.state = TransactionState::kAborted;
    transaction.abort_reason = reason;
}

bool ExternalStore::isVisible(const StoredRecord& record) const {
    if (record.transaction < 0) {
        return true;
    }
    return transactions_.at(record.transaction).state == TransactionState::kCommitted;
}

std::optional<VisibilityEvent> ExternalStore::visibleAt(size_t index) const {
    const StoredRecord& record = records_.at(index);
    if (record.transaction >= 0) {
        const Transaction& transaction = transactions_.at(record.transaction);
        if (transaction.state != TransactionState::kCommitted) {
            return std::nullopt;
        }
        return transaction.committed_at;
    }
    uint64_t sequence = visible_at_[index];
    auto after = std::upper_bound(
        write_clock_.begin(), write_clock_.end(), sequence,
        [](uint64_t value, const WriteClockRun& run) { return value < run.first_sequence; });
    if (after == write_clock_.begin() || std::prev(after)->event.time_ns < 0) {
        return VisibilityEvent{kNoEventIndex, record.written_at_ns};
    }
    return std::prev(after)->event;
}

std::vector<size_t> ExternalStore::visibleIndexes() const {
    // (visibility sequence, record index) of each visible record.
    std::vector<std::pair<uint64_t, size_t>> order;
    order.reserve(records_.size());
    int64_t cached_id = -1;
    const Transaction* cached = nullptr;
    for (size_t i = 0; i < records_.size(); ++i) {
        const StoredRecord& record = records_[i];
        // The map lookup runs only for sinks that upsert, because it costs a
        // string comparison per map level.
        bool upsert_sink =
            size_t(record.sink) < upsert_sinks_.size() && upsert_sinks_[size_t(record.sink)];
        if (upsert_sink && record.transaction < 0) {
            auto upsert = upserts_.find({record.sink, record.record.key});
            if (upsert != upserts_.end() && upsert->second != i) {
                continue;  // an older upsert of the key, replaced by a later one
            }
        }
        if (record.transaction < 0) {
            order.emplace_back(visible_at_[i], i);
            continue;
        }
        // A transaction's records are mostly adjacent, so one map lookup
        // serves a run of them.
        if (record.transaction != cached_id) {
            cached_id = record.transaction;
            cached = &transactions_.at(record.transaction);
        }
        if (cached->state == TransactionState::kCommitted) {
            order.emplace_back(cached->visible_sequence, i);
        }
    }
    std::sort(order.begin(), order.end());
    std::vector<size_t> result;
    result.reserve(order.size());
    for (const auto& [sequence, index] : order) {
        result.push_back(index);
    }
    return result;
}

std::vector<StoredRecord> ExternalStore::visibleRecords() const {
    std::vector<size_t> indexes = visibleIndexes();
    std::vector<StoredRecord> result;
    result.reserve(indexes.size());
    for (size_t index : indexes) {
        result.push_back(records_[index]);
    }
    return result;
}

}  // namespace sluice::sim
