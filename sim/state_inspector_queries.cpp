#include "sim/state_inspector_queries.h"

#include "sim/engine_queries.h"
#include "sim/live_state_cache.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace sluice::sim {

namespace {

using protocol::QueryKeyedState;
using protocol::StateRow;

constexpr size_t kDefaultPageRows = 1000;

// Row indexes of `entry` in ascending `sort` order, sorted once per column.
const std::vector<uint32_t>& sortedOrder(CheckpointStateCache::Entry& entry,
                                         QueryKeyedState::SortColumn sort) {
    auto [it, inserted] = entry.orders.try_emplace(int(sort));
    if (inserted) {
        it->second.resize(entry.rows.size());
        for (uint32_t i = 0; i < it->second.size(); ++i) {
            it->second[i] = i;
        }
        const auto& rows = entry.rows;
        std::sort(it->second.begin(), it->second.end(),
                  [&](uint32_t a, uint32_t b) { return stateRowLess(rows[a], rows[b], sort); });
    }
    return it->second;
}

bool matches(const StateRow& row, int subtask, const std::string& key_filter) {
    return (subtask == -1 || row.subtask() == subtask) &&
           (key_filter.empty() || row.key().find(key_filter) != std::string::npos);
}

bool diffLess(const StateRow& a, const StateRow& b) {
    return std::forward_as_tuple(a.state_name(), a.key_group(), a.key()) <
           std::forward_as_tuple(b.state_name(), b.key_group(), b.key());
}

// One side of a diff: rows sorted by (state name, key group, key), which
// point into `owned` or into a decoded checkpoint of the cache.
struct DiffSide {
    std::vector<StateRow> owned;
    std::vector<const StateRow*> rows;
};

void sortForDiff(DiffSide* side) {
    auto less = [](const StateRow* a, const StateRow* b) { return diffLess(*a, *b); };
    // Decoded checkpoints come in this order already, which one pass shows.
    if (!std::is_sorted(side->rows.begin(), side->rows.end(), less)) {
        std::stable_sort(side->rows.begin(), side->rows.end(), less);
    }
}

void pointAtOwned(DiffSide* side) {
    side->rows.reserve(side->owned.size());
    for (const StateRow& row : side->owned) {
        side->rows.push_back(&row);
    }
}

// Rows of one side of a diff, sorted by (state name, key group, key). The
// rows of a checkpoint stay valid while `cache` keeps its entry.
std::variant<DiffSide, std::string> diffSide(const Engine& engine,
                                             const protocol::StateQueryDiff& query,
                                             int64_t checkpoint_id, CheckpointStateCache& cache) {
    DiffSide side;
    if (checkpoint_id == 0) {
        side.owned = liveStateRows(engine, query.vertex(), query.subtask(), query.key_filter());
        pointAtOwned(&side);
    } else {
        auto entry = cache.entry(engine, checkpoint_id, query.vertex());
        if (auto* error = std::get_if<std::string>(&entry)) {
            return *error;
        }
        for (const StateRow& row : std::get<CheckpointStateCache::Entry*>(entry)->rows) {
            if (matches(row, query.subtask(), query.key_filter())) {
                side.rows.push_back(&row);
            }
        }
    }
    sortForDiff(&side);
    return side;
}

// Rows of the entries kept at a failure, sorted like diffSide's.
DiffSide failureSide(const std::map<std::pair<int, int>, std::vector<StateEntryView>>& kept,
                     const protocol::StateQueryDiff& query) {
    DiffSide side;
    for (const auto& [target, entries] : kept) {
        if (target.first != query.vertex()) {
            continue;
        }
        for (const StateEntryView& view : entries) {
            StateRow row;
            row.set_key(view.key);
            row.set_key_group(view.key_group);
            row.set_state_name(view.state_name);
            row.set_value(view.value);
            row.set_subtask(target.second);
            row.set_last_update_ns(view.last_update_ns);
            if (matches(row, query.subtask(), query.key_filter())) {
                side.owned.push_back(std::move(row));
            }
        }
    }
    pointAtOwned(&side);
    sortForDiff(&side);
    return side;
}

const Engine::FailureKeyedState* findFailure(const Engine& engine, uint64_t event_index) {
    for (const auto& failure : engine.failureStates()) {
        if (failure.event_index == event_index) {
            return &failure;
        }
    }
    return nullptr;
}

protocol::StateDiffRow diffRow(protocol::StateDiffRow::Change change, const StateRow& row) {
    protocol::StateDiffRow out;
    out.set_change(change);
    out.set_key(row.key());
    out.set_key_group(row.key_group());
    out.set_state_name(row.state_name());
    out.set_subtask(row.subtask());
    return out;
}

// Merges two sorted sides into the list of differences.
std::vector<protocol::StateDiffRow> mergeDiff(const std::vector<const StateRow*>& from,
                                              const std::vector<const StateRow*>& to,
                                              bool include_unchanged) {
    std::vector<protocol::StateDiffRow> diff;
    size_t i = 0;
    size_t j = 0;
    while (i < from.size() || j < to.size()) {
        if (j == to.size() || (i < from.size() && diffLess(*from[i], *to[j]))) {
            diff.push_back(diffRow(protocol::StateDiffRow::REMOVED, *from[i]));
            diff.back().set_old_value(from[i++]->value());
        } else if (i == from.size() || diffLess(*to[j], *from[i])) {
            diff.push_back(diffRow(protocol::StateDiffRow::ADDED, *to[j]));
            diff.back().set_new_value(to[j++]->value());
        } else {
            bool changed = from[i]->value() != to[j]->value();
            if (changed || include_unchanged) {
                diff.push_back(diffRow(
                    changed ? protocol::StateDiffRow::CHANGED : protocol::StateDiffRow::UNCHANGED,
                    *to[j]));
                diff.back().set_old_value(from[i]->value());
                diff.back().set_new_value(to[j]->value());
            }
            ++i;
            ++j;
        }
    }
    return diff;
}

}  // namespace

const std::vector<uint32_t>& CheckpointViewCache::rows(const CheckpointStateCache::Entry& entry,
                                                       const std::vector<uint32_t>& order,
                                                       const QueryKeyedState& query) {
    for (auto it = views_.begin(); it != views_.end(); ++it) {
        if (it->storage_root == entry.storage_root && it->checkpoint_id == entry.checkpoint_id &&
            it->vertex == entry.vertex && it->sort == int(query.sort()) &&
            it->descending == query.descending() && it->subtask == query.subtask() &&
            it->key_filter == query.key_filter() && it->changed_only == query.changed_only()) {
            views_.splice(views_.end(), views_, it);
            return views_.back().rows;
        }
    }
    if (views_.size() >= kMaxViews) {
        views_.pop_front();
    }
    View& view = views_.emplace_back();
    view.storage_root = entry.storage_root;
    view.checkpoint_id = entry.checkpoint_id;
    view.vertex = entry.vertex;
    view.sort = int(query.sort());
    view.descending = query.descending();
    view.subtask = query.subtask();
    view.key_filter = query.key_filter();
    view.changed_only = query.changed_only();
    for (size_t n = 0; n < order.size(); ++n) {
        uint32_t index = order[query.descending() ? order.size() - 1 - n : n];
        const StateRow& row = entry.rows[index];
        if (matches(row, query.subtask(), query.key_filter()) &&
            (!query.changed_only() || row.changed_since_checkpoint())) {
            view.rows.push_back(index);
        }
    }
    return view.rows;
}

void CheckpointViewCache::forget(const CheckpointStateCache::Entry& entry) {
    views_.remove_if([&](const View& view) {
        return view.storage_root == entry.storage_root &&
               view.checkpoint_id == entry.checkpoint_id && view.vertex == entry.vertex;
    });
}

std::string queryCheckpointKeyedState(const Engine& engine, const QueryKeyedState& query,
                                      CheckpointStateCache& cache, CheckpointViewCache& views,
                                      protocol::KeyedStatePage* page) {
    if (std::string error = checkStateTarget(engine, query.vertex(), query.subtask());
        !error.empty()) {
        return error;
    }
    auto found = cache.entry(engine, query.checkpoint_id(), query.vertex());
    if (auto* error = std::get_if<std::string>(&found)) {
        return *error;
    }
    CheckpointStateCache::Entry& entry = *std::get<CheckpointStateCache::Entry*>(found);
    // Only sortedOrder fills the orders, and views are built after it, so
    // an entry without orders is a new decode that no view was built on.
    if (entry.orders.empty()) {
        views.forget(entry);
    }
    const std::vector<uint32_t>& order = sortedOrder(entry, query.sort());
    size_t limit = query.limit() == 0 ? kDefaultPageRows : query.limit();
    page->set_offset(query.offset());
    if (query.subtask() == -1 && query.key_filter().empty() && !query.changed_only()) {
        // Every row matches, so the page is a slice of the order.
        size_t end = std::min(order.size(), size_t(query.offset()) + limit);
        for (size_t n = query.offset(); n < end; ++n) {
            *page->add_rows() = entry.rows[order[query.descending() ? order.size() - 1 - n : n]];
        }
        page->set_total(order.size());
        return {};
    }
    const std::vector<uint32_t>& matched = views.rows(entry, order, query);
    size_t end = std::min(matched.size(), size_t(query.offset()) + limit);
    for (size_t n = query.offset(); n < end; ++n) {
        *page->add_rows() = entry.rows[matched[n]];
    }
    page->set_total(matched.size());
    return {};
}

namespace {

// The whole diff that `query` pages through.
std::string buildDiff(const Engine& engine, const protocol::StateQueryDiff& query,
                      CheckpointStateCache& cache, StateDiffCache::Diff* diff) {
    std::variant<DiffSide, std::string> from;
    std::variant<DiffSide, std::string> to;
    if (query.has_failure_event_index()) {
        const auto* failure = findFailure(engine, query.failure_event_index());
        if (!failure) {
            return "no keyed state was kept for a failure at event " +
                   std::to_string(query.failure_event_index()) +
                   "; StateQuerySources lists the failures that have one";
        }
        if (!failure->restore_error.empty()) {
            return failure->restore_error;
        }
        from = failureSide(failure->entries, query);
        // Without a completed checkpoint the job restarts with empty state.
        to = failureSide(failure->restored_entries, query);
    } else {
        from = diffSide(engine, query, query.from_checkpoint_id(), cache);
        to = diffSide(engine, query, query.to_checkpoint_id(), cache);
    }
    if (auto* error = std::get_if<std::string>(&from)) {
        return *error;
    }
    if (auto* error = std::get_if<std::string>(&to)) {
        return *error;
    }
    diff->rows = mergeDiff(std::get<DiffSide>(from).rows, std::get<DiffSide>(to).rows,
                           query.include_unchanged());
    diff->differing =
        uint64_t(std::count_if(diff->rows.begin(), diff->rows.end(), [](const auto& row) {
            return row.change() != protocol::StateDiffRow::UNCHANGED;
        }));
    return {};
}

// The query without its page, as the key of the diff it pages through.
std::string diffKey(const protocol::StateQueryDiff& query) {
    protocol::StateQueryDiff key = query;
    key.clear_offset();
    key.clear_limit();
    return key.SerializeAsString();
}

}  // namespace

const StateDiffCache::Diff* StateDiffCache::find(const Engine& engine,
                                                 const protocol::StateQueryDiff& query) const {
    bool same = valid_ && version_ == liveStateVersion(engine) && key_ == diffKey(query);
    return same ? &diff_ : nullptr;
}

const StateDiffCache::Diff& StateDiffCache::store(const Engine& engine,
                                                  const protocol::StateQueryDiff& query,
                                                  Diff diff) {
    version_ = liveStateVersion(engine);
    key_ = diffKey(query);
    diff_ = std::move(diff);
    valid_ = true;
    return diff_;
}

void StateDiffCache::clear() {
    valid_ = false;
    diff_ = {};
}

std::string queryStateDiff(const Engine& engine, const protocol::StateQueryDiff& query,
                           CheckpointStateCache& cache, StateDiffCache& diffs,
                           protocol::StateDiffPage* page) {
    if (std::string error = checkStateTarget(engine, query.vertex(), query.subtask());
        !error.empty()) {
        return error;
    }
    const StateDiffCache::Diff* diff = diffs.find(engine, query);
    if (!diff) {
        StateDiffCache::Diff built;
        if (std::string error = buildDiff(engine, query, cache, &built); !error.empty()) {
            return error;
        }
        diff = &diffs.store(engine, query, std::move(built));
    }
    size_t limit = query.limit() == 0 ? kDefaultPageRows : query.limit();
    page->set_total(diff->rows.size());
    page->set_differing(diff->differing);
    page->set_offset(query.offset());
    size_t end = std::min(diff->rows.size(), size_t(query.offset()) + limit);
    for (size_t i = query.offset(); i < end; ++i) {
        *page->add_rows() = diff->rows[i];
    }
    return {};
}

protocol::StateSources queryStateSources(const Engine& engine) {
    protocol::StateSources sources;
    for (int64_t id : engine.retainedCheckpoints()) {
        sources.add_retained_checkpoint_ids(id);
    }
    for (const auto& failure : engine.failureStates()) {
        auto* out = sources.add_failures();
        out->set_event_index(failure.event_index);
        out->set_time_ns(failure.time_ns);
        out->set_fault(failure.fault);
        out->set_restore_checkpoint_id(failure.restore_checkpoint_id);
    }
    return sources;
}

}  // namespace sluice::sim
