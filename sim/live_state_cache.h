#pragma once

// The live keyed state that the state inspector pages through, collected
// once per state version instead of once per page.

#include "proto/engine_protocol.pb.h"
#include "sim/engine.h"

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <vector>

namespace sluice::sim {

// Identifies one live keyed state of an engine. Through the engine
// service's commands the state changes only by an event, which raises the
// event count, or by a fault injected at run time without a trigger, which
// fires at once and folds into the digest. The address distinguishes
// engines that exist at the same time. A destroyed engine's address can be
// reused, so the engine service also clears its cache for every engine it
// builds.
struct LiveStateVersion {
    const Engine* engine = nullptr;
    uint64_t event_count = 0;
    uint64_t digest = 0;

    bool operator==(const LiveStateVersion&) const = default;
};

LiveStateVersion liveStateVersion(const Engine& engine);

// Cached live keyed state of the latest queried state version: the rows of
// each queried vertex, their order under each sort column and direction,
// and the filtered views (subtask, key filter, changed only) of recent
// queries. A page of an unchanged state copies its rows from the cache. A
// new filter or sort scans or sorts the cached rows without collecting
// them again. A query of another state version first drops every cached
// row, so a page never shows the rows of an older state. The rows and the
// order of equal rows are those of liveStateRows and sortStateRows.
//
// Memory: the rows of at most kMaxVertices vertices of one state version,
// at 88 bytes per entry (x86-64, libstdc++) plus the heap storage of keys
// and values longer than 15 characters. Each sort order used (at most 8)
// and each filtered view (at most kMaxViews per vertex) adds 4 bytes per
// entry.
//
// NOTE: while the run plays, every refresh of a live view meets a new
// state version and collects all rows again, 1.1 to 1.5 s at 1 M keys on
// the machine of docs/benchmarks.md.
//
// Threading: the engine thread only, like the Engine it reads.
class LiveStateCache {
public:
    static constexpr size_t kMaxVertices = 2;
    static constexpr size_t kMaxViews = 8;

    // Fills `page` as `query` requests, for a vertex and subtask that
    // checkStateTarget accepted.
    void fillPage(const Engine& engine, const protocol::QueryKeyedState& query,
                  protocol::KeyedStatePage* page);
    void clear();
    // Collections of a vertex's live state so far; a page served from the
    // cache leaves it unchanged.
    uint64_t collections() const { return collections_; }

private:
    using SortColumn = protocol::QueryKeyedState::SortColumn;

    // One entry, compact: the state name is an index into
    // Snapshot::state_names, numbered in name order so that indexes
    // compare like the names.
    struct Row {
        std::string key;
        std::string value;
        Nanos last_update_ns = 0;
        int32_t key_group = 0;
        int32_t subtask = 0;
        uint32_t state = 0;
        bool changed_since_checkpoint = false;
    };
    // Row indexes of the entries that match a filter, in sorted order.
    struct View {
        int subtask = -1;
        std::string key_filter;
        bool changed_only = false;
        SortColumn sort = protocol::QueryKeyedState::SORT_KEY;
        bool descending = false;
        std::vector<uint32_t> rows;
    };
    struct Snapshot {
        int vertex = -1;
        std::vector<std::string> state_names;
        std::vector<Row> rows;  // collection order
        // Row indexes sorted by (column, descending).
        std::map<std::pair<SortColumn, bool>, std::vector<uint32_t>> orders;
        std::list<View> views;  // most recently used last
    };

    // The order of stateRowLess on the rows' StateRow form.
    static bool rowLess(const Row& a, const Row& b, SortColumn sort);
    // Sorts `indexes`, given in collection order, stably.
    static void sortIndexes(const std::vector<Row>& rows, SortColumn sort, bool descending,
                            std::vector<uint32_t>* indexes);
    Snapshot& snapshot(const Engine& engine, int vertex);
    void collect(const Engine& engine, Snapshot* snapshot);
    const std::vector<uint32_t>& order(Snapshot& snapshot, SortColumn sort, bool descending);
    const std::vector<uint32_t>& view(Snapshot& snapshot, const protocol::QueryKeyedState& query,
                                      SortColumn sort);

    LiveStateVersion version_;
    std::list<Snapshot> snapshots_;  // most recently used last
    uint64_t collections_ = 0;
};

}  // namespace sluice::sim
