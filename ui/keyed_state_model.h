#pragma once

#include "proto/engine_protocol.pb.h"

#include <QAbstractTableModel>
#include <QLoggingCategory>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

Q_DECLARE_LOGGING_CATEGORY(lcUiState)

namespace sluice::ui {

class EngineSession;

// Keyed state of one operator as the engine pages it out: the live state,
// the state in a completed checkpoint, or the differences between two
// states. The model never contains the whole state: rowCount() is the total
// the engine reported, and data() for a row outside the cached pages
// requests its page (kPageRows rows) and shows an empty cell until the page
// arrives. At most kMaxCachedPages pages stay cached, least recently used
// evicted first. Sorting is done by the engine.
//
// Threading: GUI thread only; replies of an older query are dropped.
class KeyedStateModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum class Mode { kLive, kCheckpoint, kDiff };

    struct Query {
        Mode mode = Mode::kLive;
        int vertex = -1;                 // -1: no operator chosen, the model is empty
        int subtask = -1;                // -1: every subtask
        int64_t checkpoint_id = 0;       // kCheckpoint
        int64_t from_checkpoint_id = 0;  // kDiff
        int64_t to_checkpoint_id = 0;    // kDiff; 0 is the live state
        // kDiff across a failure: the event index of the failure, whose
        // captured state is compared with the checkpoint it restored.
        std::optional<uint64_t> failure_event_index;
        QString key_filter;
        bool changed_only = false;       // kLive, kCheckpoint
        bool include_unchanged = false;  // kDiff
    };

    // Columns of the state views (kLive, kCheckpoint).
    enum StateColumn {
        kKeyColumn,
        kKeyGroupColumn,
        kStateNameColumn,
        kValueColumn,
        kSubtaskColumn,
        kLastUpdateColumn,
        kChangedColumn,
        kStateColumnCount
    };
    // Columns of the diff view.
    enum DiffColumn {
        kChangeColumn,
        kDiffKeyColumn,
        kDiffKeyGroupColumn,
        kDiffStateNameColumn,
        kDiffSubtaskColumn,
        kBeforeColumn,
        kAfterColumn,
        kDiffColumnCount
    };
    // True on rows whose key group lies outside the subtask's range.
    enum Role { kOutsideOwnerRole = Qt::UserRole + 1 };

    static constexpr int kPageRows = 256;
    static constexpr int kMaxCachedPages = 64;

    // `session` must outlive the model.
    explicit KeyedStateModel(EngineSession* session, QObject* parent = nullptr);

    // Drops every row and requests the first page of `query`.
    void setQuery(const Query& query);
    const Query& query() const { return query_; }
    // Fetches the first page again and marks the cached pages stale, so the
    // rows on screen are fetched again when the view reads them. For the
    // live state while the run moves.
    void refresh();
    // Shows nothing, for a new run.
    void clear();

    // Rows the last page reply reported, and whether a reply arrived.
    uint64_t total() const { return total_; }
    // kDiff: the rows of total() that differ (all but the unchanged ones).
    uint64_t differing() const { return differing_; }
    bool loaded() const { return loaded_; }
    // Whether the row has arrived (not stale); for tests and the status line.
    bool isRowLoaded(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    void sort(int column, Qt::SortOrder order = Qt::AscendingOrder) override;

Q_SIGNALS:
    // A page arrived; `total` is the number of rows matching the query.
    void pageLoaded(int page, uint64_t total);
    // The engine rejected the query, such as a checkpoint no longer retained.
    void queryFailed(const QString& message);

private:
    struct Page {
        std::vector<protocol::StateRow> state_rows;
        std::vector<protocol::StateDiffRow> diff_rows;
        uint64_t used = 0;  // LRU stamp
        bool stale = false;
    };

    bool isDiff() const { return query_.mode == Mode::kDiff; }
    void requestPage(int page) const;
    protocol::Request pageRequest(int page) const;
    void onPage(uint64_t generation, int page, const protocol::Reply& reply);
    void applyTotal(uint64_t total);
    void evictPages();
    QVariant stateData(const protocol::StateRow& row, int column, int role) const;
    QVariant diffData(const protocol::StateDiffRow& row, int column, int role) const;

    EngineSession* session_;
    Query query_;
    protocol::QueryKeyedState::SortColumn sort_ = protocol::QueryKeyedState::SORT_KEY;
    bool descending_ = false;
    uint64_t generation_ = 0;
    uint64_t total_ = 0;
    uint64_t differing_ = 0;
    bool loaded_ = false;
    // Requests from data() change only the cache, not what the model shows.
    mutable std::map<int, Page> pages_;
    mutable std::set<int> pending_;
    mutable uint64_t use_clock_ = 0;
};

}  // namespace sluice::ui
