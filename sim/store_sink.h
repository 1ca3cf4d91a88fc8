#pragma once

#include "proto/scenario.pb.h"
#include "runtime/core/log.h"
#include "runtime/operators/basic_operators.h"
#include "runtime/operators/operator_context.h"
#include "sim/external_store.h"
#include "sim/record.h"

#include <map>
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
        if (spec_.kind() == scenario::TWO_PHASE_COMMIT) {
            current_ = begin(1);
        }
    }

    void invoke(const Record& record, TimestampMs timestamp) override {
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
    Nanos now() const { return clock_->currentProcessingTimeMs() * kNanosPerMilli; }
    int64_t begin(int64_t epoch) {
        return store_->beginTransaction(sink_index_, subtask_, 0, epoch, now(),
                                        Nanos(spec_.transaction_timeout_ms()) * kNanosPerMilli);
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
    Nanos durable_at_ns_ = 0;
};

}  // namespace sluice::sim
