#include "sim/live_state_cache.h"

#include "sim/engine_queries.h"

#include <algorithm>
#include <numeric>
#include <tuple>

namespace sluice::sim {

namespace {

using protocol::QueryKeyedState;

// Rows per page when a query gives no limit.
constexpr size_t kDefaultPageRows = 1000;

// Proto3 enums are open, so a query can carry a value without a name. Such
// a value sorts by key, as in stateRowLess.
QueryKeyedState::SortColumn sortColumnOf(const QueryKeyedState& query) {
    switch (query.sort()) {
        case QueryKeyedState::SORT_KEY_GROUP:
        case QueryKeyedState::SORT_STATE_NAME:
        case QueryKeyedState::SORT_VALUE:
            return query.sort();
        default:
            return QueryKeyedState::SORT_KEY;
    }
}

bool unfiltered(const QueryKeyedState& query) {
    return query.subtask() == -1 && query.key_filter().empty() && !query.changed_only();
}

}  // namespace

LiveStateVersion liveStateVersion(const Engine& engine) {
    return {&engine, engine.eventCount(), engine.digest()};
}

void LiveStateCache::clear() {
    snapshots_.clear();
    version_ = {};
}

void LiveStateCache::fillPage(const Engine& engine, const QueryKeyedState& query,
                              protocol::KeyedStatePage* page) {
    Snapshot& cached = snapshot(engine, query.vertex());
    SortColumn sort = sortColumnOf(query);
    const std::vector<uint32_t>& rows =
        unfiltered(query) ? order(cached, sort, query.descending()) : view(cached, query, sort);
    page->set_total(rows.size());
    page->set_offset(query.offset());
    size_t limit = query.limit() == 0 ? kDefaultPageRows : query.limit();
    size_t end = std::min(rows.size(), size_t(query.offset()) + limit);
    for (size_t i = query.offset(); i < end; ++i) {
        const Row& row = cached.rows[rows[i]];
        protocol::StateRow* out = page->add_rows();
        out->set_key(row.key);
        out->set_key_group(row.key_group);
        out->set_state_name(cached.state_names[row.state]);
        out->set_value(row.value);
        out->set_subtask(row.subtask);
        out->set_last_update_ns(row.last_update_ns);
        out->set_changed_since_checkpoint(row.changed_since_checkpoint);
    }
}

LiveStateCache::Snapshot& LiveStateCache::snapshot(const Engine& engine, int vertex) {
    LiveStateVersion version = liveStateVersion(engine);
    if (!(version == version_)) {
        snapshots_.clear();
        version_ = version;
    }
    for (auto it = snapshots_.begin(); it != snapshots_.end(); ++it) {
        if (it->vertex == vertex) {
            snapshots_.splice(snapshots_.end(), snapshots_, it);
            return snapshots_.back();
        }
    }
    if (snapshots_.size() >= kMaxVertices) {
        snapshots_.pop_front();
    }
    Snapshot& added = snapshots_.emplace_back();
    added.vertex = vertex;
    collect(engine, &added);
    ++collections_;
    return added;
}

void LiveStateCache::collect(const Engine& engine, Snapshot* snapshot) {
    // Numbers state names in the order first seen, then renumbers them in
    // name order.
    std::map<std::string, uint32_t> numbers;
    const std::string* last_name = nullptr;
    uint32_t last_number = 0;
    forEachLiveEntry(
        engine, snapshot->vertex, -1, [&](const StateEntryView& view, int subtask, bool changed) {
            if (!last_name || *last_name != view.state_name) {
                auto [it, added] = numbers.try_emplace(view.state_name, uint32_t(numbers.size()));
                last_name = &it->first;
                last_number = it->second;
            }
            Row& row = snapshot->rows.emplace_back();
            row.key = view.key;
            row.value = view.value;
            row.last_update_ns = view.last_update_ns;
            row.key_group = view.key_group;
            row.subtask = subtask;
            row.state = last_number;
            row.changed_since_checkpoint = changed;
        });
    std::vector<uint32_t> renumbered(numbers.size());
    for (const auto& [name, number] : numbers) {
        renumbered[number] = uint32_t(snapshot->state_names.size());
        snapshot->state_names.push_back(name);
    }
    for (Row& row : snapshot->rows) {
        row.state = renumbered[row.state];
    }
}

bool LiveStateCache::rowLess(const Row& a, const Row& b, SortColumn sort) {
    switch (sort) {
        case QueryKeyedState::SORT_KEY_GROUP:
            return std::tie(a.key_group, a.key, a.state, a.subtask) <
                   std::tie(b.key_group, b.key, b.state, b.subtask);
        case QueryKeyedState::SORT_STATE_NAME:
            return std::tie(a.state, a.key, a.subtask) < std::tie(b.state, b.key, b.subtask);
        case QueryKeyedState::SORT_VALUE:
            return std::tie(a.value, a.key, a.state, a.subtask) <
                   std::tie(b.value, b.key, b.state, b.subtask);
        default:
            return std::tie(a.key, a.state, a.subtask) < std::tie(b.key, b.state, b.subtask);
    }
}

void LiveStateCache::sortIndexes(const std::vector<Row>& rows, SortColumn sort, bool descending,
                                 std::vector<uint32_t>* indexes) {
    // Stable, so equal rows keep the collection order, as in sortStateRows.
    std::stable_sort(indexes->begin(), indexes->end(), [&](uint32_t a, uint32_t b) {
        return descending ? rowLess(rows[b], rows[a], sort) : rowLess(rows[a], rows[b], sort);
    });
}

const std::vector<uint32_t>& LiveStateCache::order(Snapshot& snapshot, SortColumn sort,
                                                   bool descending) {
    if (auto found = snapshot.orders.find({sort, descending}); found != snapshot.orders.end()) {
        return found->second;
    }
    const std::vector<Row>& rows = snapshot.rows;
    std::vector<uint32_t> sorted;
    auto ascending = snapshot.orders.find({sort, false});
    if (descending && ascending != snapshot.orders.end()) {
        // The reversed ascending order, except that runs of equal rows stay
        // in collection order: reverse those back. Linear, unlike a sort.
        sorted.assign(ascending->second.rbegin(), ascending->second.rend());
        size_t run = 0;
        for (size_t i = 1; i <= sorted.size(); ++i) {
            if (i == sorted.size() || rowLess(rows[sorted[i]], rows[sorted[i - 1]], sort)) {
                std::reverse(sorted.begin() + std::ptrdiff_t(run),
                             sorted.begin() + std::ptrdiff_t(i));
                run = i;
            }
        }
    } else {
        sorted.resize(rows.size());
        std::iota(sorted.begin(), sorted.end(), 0u);
        sortIndexes(rows, sort, descending, &sorted);
    }
    return snapshot.orders.emplace(std::pair{sort, descending}, std::move(sorted)).first->second;
}

const std::vector<uint32_t>& LiveStateCache::view(Snapshot& snapshot, const QueryKeyedState& query,
                                                  SortColumn sort) {
    for (auto it = snapshot.views.begin(); it != snapshot.views.end(); ++it) {
        if (it->subtask == query.subtask() && it->key_filter == query.key_filter() &&
            it->changed_only == query.changed_only() && it->sort == sort &&
            it->descending == query.descending()) {
            snapshot.views.splice(snapshot.views.end(), snapshot.views, it);
            return snapshot.views.back().rows;
        }
    }
    // The cached rows are scanned in memory order, not collected again.
    std::vector<char> matches(snapshot.rows.size());
    for (size_t i = 0; i < snapshot.rows.size(); ++i) {
        const Row& row = snapshot.rows[i];
        matches[i] =
            (query.subtask() == -1 || row.subtask == query.subtask()) &&
            (!query.changed_only() || row.changed_since_checkpoint) &&
            (query.key_filter().empty() || row.key.find(query.key_filter()) != std::string::npos);
    }
    if (snapshot.views.size() >= kMaxViews) {
        snapshot.views.pop_front();
    }
    View& added = snapshot.views.emplace_back();
    added.subtask = query.subtask();
    added.key_filter = query.key_filter();
    added.changed_only = query.changed_only();
    added.sort = sort;
    added.descending = query.descending();
    // With the order of all rows at hand, picking the matches from it is
    // linear; otherwise only the matches are sorted.
    if (snapshot.orders.count({sort, query.descending()}) || snapshot.orders.count({sort, false})) {
        for (uint32_t index : order(snapshot, sort, query.descending())) {
            if (matches[index]) {
                added.rows.push_back(index);
            }
        }
    } else {
        for (uint32_t index = 0; index < matches.size(); ++index) {
            if (matches[index]) {
                added.rows.push_back(index);
            }
        }
        sortIndexes(snapshot.rows, sort, query.descending(), &added.rows);
    }
    return added.rows;
}

}  // namespace sluice::sim
