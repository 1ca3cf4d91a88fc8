#pragma once

#include "proto/scenario.pb.h"
#include "runtime/core/log.h"
#include "runtime/operators/basic_operators.h"
#include "runtime/operators/operator_context.h"
#include "sim/external_store.h"
#include "sim/record.h"

#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace sluice::sim {

// Writes a sink's records into the ExternalStore, in one of the sink kinds
// of the scenario schema.
class StoreSink final : public SinkFunction<Record> {
public:
    StoreSink(ExternalStore* store, int sink_index, const scenario::Sink& spec,
              const scenario::DeliberateBugs& bugs)
        : store_(store), sink_index_(sink_index), spec_(spec), bugs_(bugs) {}

    void open(const OperatorContext& context) override {
        subtask_ = context.subtask_index;
        clock_ = context.processing_time;
        final_checkpoint_ = context.final_checkpoint;
        attempt_ = context.attempt;
        if (spec_.kind() == scenario::TWO_PHASE_COMMIT) {
            recoverTransactions(context.restored_checkpoint_id);
            current_ = begin(context.restored_checkpoint_id + 1);
        }
    }

    // The transactions pre-committed up to this checkpoint and not yet
    // committed, as "checkpoint:transaction" pairs.
    std::string snapshotOperatorState(int64_t checkpoint_id) override {
        std::string state;
        for (const auto& [id, transaction] : pending_) {
            state += std::to_string(id) + ":" + std::to_string(transaction) + ";";
        }
        return state;
    }

    void initializeOperatorState(const std::string& state) override {
        restored_pending_.clear();
        size_t start = 0;
        while (start < state.size()) {
            size_t colon = state.find(':', start);
            size_t end = state.find(';', start);
            if (colon == std::string::npos || end == std::string::npos || colon > end) {
                throw std::runtime_error("malformed sink transaction state: " + state);
            }
            restored_pending_[std::stoll(state.substr(start, colon - start))] =
                std::stoll(state.substr(colon + 1, end - colon - 1));
            start = end + 1;
        }
    }

    void invoke(const Record& record, TimestampMs timestamp) override {
        if (store_->takeRejection(sink_index_, subtask_)) {
            // The write fails, but the sink learns it only when the error
            // surfaces. Until then the write is not durable, so a sink that
            // flushes on checkpoints cannot acknowledge one.
            durable_at_ns_ = std::numeric_limits<Nanos>::max();
            return;
        }
        StoredRecord stored{sink_index_, subtask_, now(), timestamp, record, -1};
        switch (spec_.kind()) {
            case scenario::DISCARD:
                store_->discard(record);
                break;
            case scenario::UPSERT:
                store_->upsert(std::move(stored));
                break;
            case scenario::TWO_PHASE_COMMIT:
                store_->writeInTransaction(current_, std::move(stored));
                break;
            case scenario::ASYNC_AT_LEAST_ONCE:
                // The write is durable write_latency_ms after it was issued.
                durable_at_ns_ = std::max(durable_at_ns_,
                                          now() + Nanos(spec_.write_latency_ms()) * kNanosPerMilli);
                store_->write(std::move(stored));
                break;
            default:
                store_->write(std::move(stored));
                break;
        }
    }

    Nanos snapshotState(int64_t checkpoint_id) override {
        if (spec_.kind() == scenario::TWO_PHASE_COMMIT) {
            // preCommit on the barrier; the next epoch gets a new transaction.
            store_->preCommit(current_, now());
            if (bugs_.commit_on_pre_commit()) {
                store_->commit(current_, now());
            }
            pending_[checkpoint_id] = current_;
            current_ = begin(checkpoint_id + 1);
            // preCommit flushes: a rejected write makes the flush wait for
            // the error, so the checkpoint cannot complete before it fails
            // the task, as a Kafka producer's flush would.
            return durable_at_ns_;
        }
        if (spec_.kind() == scenario::ASYNC_AT_LEAST_ONCE &&
            !bugs_.at_least_once_sink_without_flush()) {
            return durable_at_ns_;  // the checkpoint waits for outstanding writes
        }
        return 0;
    }

    void notifyCheckpointComplete(int64_t checkpoint_id) override {
        // A completed checkpoint commits its transaction and every earlier one
        // still pending, such as the replacement for an aborted checkpoint.
        while (!pending_.empty() && pending_.begin()->first <= checkpoint_id) {
            int64_t transaction = pending_.begin()->second;
            if (skipAsCommitted(pending_.begin()->first, transaction)) {
                pending_.erase(pending_.begin());
                continue;
            }
            if (!store_->commit(transaction, now())) {
                log::warning("sink", "transaction.commit_failed",
                             {{"transaction", std::to_string(transaction)},
                              {"checkpoint", std::to_string(pending_.begin()->first)}});
            }
            pending_.erase(pending_.begin());
        }
    }

    void notifyCheckpointAborted(int64_t checkpoint_id) override {
        auto it = pending_.find(checkpoint_id);
        if (it == pending_.end()) {
            return;  // the barrier never reached this sink
        }
        // Abort the epoch's transaction and write its records again into a
        // replacement that takes its place, so the next completed checkpoint
        // commits them in epoch order. A transaction that expired or was
        // committed already is left as it is.
        int64_t aborted = it->second;
        if (store_->state(aborted, now()) != TransactionState::kPreCommitted) {
            return;
        }
        store_->abort(aborted, "checkpoint " + std::to_string(checkpoint_id) + " was aborted");
        int64_t replacement = begin(checkpoint_id);
        std::vector<size_t> indexes = store_->transactions().at(aborted).records;
        for (size_t index : indexes) {
            StoredRecord copy = store_->records()[index];
            copy.written_at_ns = now();
            store_->writeInTransaction(replacement, std::move(copy));
        }
        store_->preCommit(replacement, now());
        it->second = replacement;
        log::info("sink", "transaction.aborted",
                  {{"transaction", std::to_string(aborted)},
                   {"checkpoint", std::to_string(checkpoint_id)},
                   {"replacement", std::to_string(replacement)},
                   {"records", std::to_string(indexes.size())}});
    }

    void finish() override {
        if (spec_.kind() == scenario::TWO_PHASE_COMMIT && !final_checkpoint_) {
            // Without checkpointing, end of input is the only commit point.
            store_->preCommit(current_, now());
            for (const auto& [id, transaction] : pending_) {
                store_->commit(transaction, now());
            }
            pending_.clear();
            store_->commit(current_, now());
        }
    }

    void close() override {
        if (spec_.kind() == scenario::TWO_PHASE_COMMIT && final_checkpoint_ &&
            store_->state(current_, now()) == TransactionState::kOpen) {
            // The transaction opened by the final checkpoint stays empty.
            store_->abort(current_, "unused at end of input");
        }
    }

private:
    // The deliberate bug dedup_commits_by_checkpoint_id: a checkpoint id at
    // or below the highest committed one counts as committed already, so
    // its transaction is aborted instead of committed.
    bool skipAsCommitted(int64_t checkpoint_id, int64_t transaction) {
        if (!bugs_.dedup_commits_by_checkpoint_id() ||
            store_->highestCommittedCheckpoint(sink_index_, subtask_) < checkpoint_id) {
            return false;
        }
        store_->abort(transaction, "skipped: checkpoint " + std::to_string(checkpoint_id) +
                                       " counts as committed already");
        log::warning("sink", "transaction.skipped",
                     {{"transaction", std::to_string(transaction)},
                      {"checkpoint", std::to_string(checkpoint_id)}});
        return true;
    }

    Nanos now() const { return clock_->currentProcessingTimeMs() * kNanosPerMilli; }
    int64_t begin(int64_t epoch) {
        return store_->beginTransaction(sink_index_, subtask_, attempt_, epoch, now(),
                                        Nanos(spec_.transaction_timeout_ms()) * kNanosPerMilli);
    }

    // On restore, like Flink's TwoPhaseCommitSinkFunction: commit the
    // transactions the restored checkpoint pre-committed (again, which is
    // idempotent), and abort every other transaction this subtask left
    // open or pre-committed in earlier attempts.
    void recoverTransactions(int64_t restored_checkpoint_id) {
        for (const auto& [checkpoint_id, transaction] : restored_pending_) {
            if (store_->transactions().count(transaction) == 0) {
                continue;  // written by another run into another store
            }
            if (store_->commit(transaction, now())) {
                continue;
            }
            const std::string& reason = store_->transactions().at(transaction).abort_reason;
            if (!spec_.ignore_failures_after_transaction_timeout()) {
                throw std::runtime_error(
                    "committing transaction " + std::to_string(transaction) + " of checkpoint " +
                    std::to_string(checkpoint_id) + " on recovery failed: " + reason +
                    "; raise transaction_timeout_ms above the expected downtime plus the "
                    "checkpoint interval");
            }
            log::warning(
                "sink", "transaction.lost_after_timeout",
                {{"transaction", std::to_string(transaction)},
                 {"checkpoint", std::to_string(checkpoint_id)},
                 {"records", std::to_string(store_->transactions().at(transaction).records.size())},
                 {"reason", reason}});
        }
        std::vector<int64_t> leftovers;
        for (const auto& [id, transaction] : store_->transactions()) {
            bool live = transaction.state == TransactionState::kOpen ||
                        transaction.state == TransactionState::kPreCommitted;
            if (live && transaction.sink == sink_index_ && transaction.subtask == subtask_ &&
                transaction.attempt < attempt_) {
                leftovers.push_back(id);
            }
        }
        for (int64_t id : leftovers) {
            store_->abort(id, "aborted on recovery from checkpoint " +
                                  std::to_string(restored_checkpoint_id) + " by attempt " +
                                  std::to_string(attempt_));
        }
    }

    ExternalStore* store_;
    int sink_index_;
    scenario::Sink spec_;
    scenario::DeliberateBugs bugs_;
    const ProcessingTimeService* clock_ = nullptr;
    int subtask_ = 0;
    bool final_checkpoint_ = false;
    int64_t current_ = -1;
    std::map<int64_t, int64_t> pending_;  // checkpoint id -> transaction
    std::map<int64_t, int64_t> restored_pending_;
    int64_t attempt_ = 0;
    Nanos durable_at_ns_ = 0;
};

}  // namespace sluice::sim
