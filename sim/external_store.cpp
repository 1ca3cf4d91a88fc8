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

void ExternalStore::write(StoredRecord record) {
    hash_ = hashRecord(hash_, record.record);
    visible_at_.push_back(next_visible_++);
    records_.push_back(std::move(record));
}

void ExternalStore::discard(const Record& record) {
    hash_ = hashRecord(hash_, record);
    ++discarded_;
}

void ExternalStore::upsert(StoredRecord record) {
    hash_ = hashRecord(hash_, record.record);
    upserts_[{record.sink, record.record.key}] = records_.size();
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
        transaction.state = TransactionState::kCommitted;
        transaction.visible_sequence = next_visible_++;
    }
    return true;
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
    transaction.state = TransactionState::kAborted;
    transaction.abort_reason = reason;
}

bool ExternalStore::isVisible(const StoredRecord& record) const {
    if (record.transaction < 0) {
        return true;
    }
    return transactions_.at(record.transaction).state == TransactionState::kCommitted;
}

std::vector<StoredRecord> ExternalStore::visibleRecords() const {
    // (visibility sequence, record index) of each visible record.
    std::vector<std::pair<uint64_t, size_t>> order;
    for (size_t i = 0; i < records_.size(); ++i) {
        const StoredRecord& record = records_[i];
        auto upsert = upserts_.find({record.sink, record.record.key});
        if (upsert != upserts_.end() && upsert->second != i && record.transaction < 0) {
            // An older upsert of the key, replaced by a later one.
            bool is_upsert_sink = records_[upsert->second].sink == record.sink;
            if (is_upsert_sink) {
                continue;
            }
        }
        if (record.transaction < 0) {
            order.emplace_back(visible_at_[i], i);
        } else if (isVisible(record)) {
            order.emplace_back(transactions_.at(record.transaction).visible_sequence, i);
        }
    }
    std::sort(order.begin(), order.end());
    std::vector<StoredRecord> result;
    result.reserve(order.size());
    for (const auto& [sequence, index] : order) {
        result.push_back(records_[index]);
    }
    return result;
}

}  // namespace sluice::sim
