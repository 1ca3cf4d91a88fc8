#include "ui/keyed_state_model.h"

#include "ui/engine_session.h"

#include <QBrush>
#include <QColor>
#include <QPointer>

Q_LOGGING_CATEGORY(lcUiState, "sluice.ui.state")

namespace sluice::ui {

namespace {

QString fromStd(const std::string& text) {
    return QString::fromStdString(text);
}

QString changeName(protocol::StateDiffRow::Change change) {
    switch (change) {
        case protocol::StateDiffRow::ADDED:
            return QStringLiteral("added");
        case protocol::StateDiffRow::REMOVED:
            return QStringLiteral("removed");
        case protocol::StateDiffRow::CHANGED:
            return QStringLiteral("changed");
        case protocol::StateDiffRow::UNCHANGED:
            return QStringLiteral("unchanged");
        default:
            return {};
    }
}

}  // namespace

KeyedStateModel::KeyedStateModel(EngineSession* session, QObject* parent)
    : QAbstractTableModel(parent), session_(session) {
}

void KeyedStateModel::setQuery(const Query& query) {
    beginResetModel();
    query_ = query;
    ++generation_;
    total_ = 0;
    differing_ = 0;
    loaded_ = false;
    pages_.clear();
    pending_.clear();
    endResetModel();
    if (query_.vertex >= 0) {
        requestPage(0);
    }
}

void KeyedStateModel::clear() {
    setQuery(Query{});
}

void KeyedStateModel::refresh() {
    if (query_.vertex < 0) {
        return;
    }
    ++generation_;
    pending_.clear();
    for (auto& [index, page] : pages_) {
        page.stale = true;
    }
    requestPage(0);
}

bool KeyedStateModel::isRowLoaded(int row) const {
    auto it = pages_.find(row / kPageRows);
    return it != pages_.end() && !it->second.stale;
}

protocol::Request KeyedStateModel::pageRequest(int page) const {
    protocol::Request request;
    uint32_t offset = uint32_t(page) * kPageRows;
    if (isDiff()) {
        auto* diff = request.mutable_state_query_diff();
        diff->set_vertex(query_.vertex);
        diff->set_subtask(query_.subtask);
        diff->set_from_checkpoint_id(query_.from_checkpoint_id);
        diff->set_to_checkpoint_id(query_.to_checkpoint_id);
        if (query_.failure_event_index) {
            diff->set_failure_event_index(*query_.failure_event_index);
        }
        diff->set_offset(offset);
        diff->set_limit(kPageRows);
        diff->set_key_filter(query_.key_filter.toStdString());
        diff->set_include_unchanged(query_.include_unchanged);
        return request;
    }
    auto* state = request.mutable_query_keyed_state();
    state->set_vertex(query_.vertex);
    state->set_subtask(query_.subtask);
    state->set_checkpoint_id(query_.mode == Mode::kCheckpoint ? query_.checkpoint_id : 0);
    state->set_offset(offset);
    state->set_limit(kPageRows);
    state->set_key_filter(query_.key_filter.toStdString());
    state->set_sort(sort_);
    state->set_descending(descending_);
    state->set_changed_only(query_.mode != Mode::kDiff && query_.changed_only);
    return request;
}

void KeyedStateModel::requestPage(int page) const {
    if (!pending_.insert(page).second) {
        return;
    }
    QPointer<KeyedStateModel> self(const_cast<KeyedStateModel*>(this));
    uint64_t generation = generation_;
    session_->request(pageRequest(page), [self, generation, page](const protocol::Reply& reply) {
        if (self) {
            self->onPage(generation, page, reply);
        }
    });
}

void KeyedStateModel::onPage(uint64_t generation, int page, const protocol::Reply& reply) {
    if (generation != generation_) {
        return;  // a reply to an older query or refresh
    }
    pending_.erase(page);
    if (!reply.error().empty()) {
        qCWarning(lcUiState) << "keyed state query of vertex" << query_.vertex
                             << "failed:" << fromStd(reply.error());
        applyTotal(0);
        loaded_ = true;
        Q_EMIT queryFailed(fromStd(reply.error()));
        return;
    }
    Page fresh;
    uint64_t total = 0;
    if (reply.has_state_diff()) {
        total = reply.state_diff().total();
        differing_ = reply.state_diff().differing();
        fresh.diff_rows.assign(reply.state_diff().rows().begin(), reply.state_diff().rows().end());
    } else {
        total = reply.keyed_state().total();
        fresh.state_rows.assign(reply.keyed_state().rows().begin(),
                                reply.keyed_state().rows().end());
    }
    fresh.used = ++use_clock_;
    pages_[page] = std::move(fresh);
    loaded_ = true;
    applyTotal(total);
    evictPages();
    int first = page * kPageRows;
    int last = std::min(int(total_), first + kPageRows) - 1;
    if (first <= last) {
        Q_EMIT dataChanged(index(first, 0), index(last, columnCount() - 1));
    }
    Q_EMIT pageLoaded(page, total);
}

// Follows the engine's row count by inserting or removing rows at the end,
// so the view keeps its scroll position while the live state grows.
void KeyedStateModel::applyTotal(uint64_t total) {
    // QAbstractItemModel counts rows in int.
    total = std::min<uint64_t>(total, uint64_t(std::numeric_limits<int>::max()));
    if (total > total_) {
        beginInsertRows({}, int(total_), int(total) - 1);
        total_ = total;
        endInsertRows();
    } else if (total < total_) {
        beginRemoveRows({}, int(total), int(total_) - 1);
        total_ = total;
        pages_.erase(pages_.lower_bound(int((total + kPageRows - 1) / kPageRows)), pages_.end());
        endRemoveRows();
    }
    // Rows of stale pages are fetched again when the view reads them.
    if (total_ > 0) {
        Q_EMIT dataChanged(index(0, 0), index(int(total_) - 1, columnCount() - 1));
    }
}

void KeyedStateModel::evictPages() {
    while (pages_.size() > size_t(kMaxCachedPages)) {
        auto oldest = pages_.begin();
        for (auto it = pages_.begin(); it != pages_.end(); ++it) {
            if (it->second.used < oldest->second.used) {
                oldest = it;
            }
        }
        pages_.erase(oldest);
    }
}

int KeyedStateModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(total_);
}

int KeyedStateModel::columnCount(const QModelIndex& parent) const {
    if (parent.isValid()) {
        return 0;
    }
    return isDiff() ? int(kDiffColumnCount) : int(kStateColumnCount);
}

QVariant KeyedStateModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    int page_index = index.row() / kPageRows;
    auto it = pages_.find(page_index);
    if (it == pages_.end() || it->second.stale) {
        requestPage(page_index);
    }
    if (it == pages_.end()) {
        return {};
    }
    Page& page = it->second;
    page.used = ++use_clock_;
    size_t offset = size_t(index.row() % kPageRows);
    if (isDiff()) {
        return offset < page.diff_rows.size()
                   ? diffData(page.diff_rows[offset], index.column(), role)
                   : QVariant();
    }
    return offset < page.state_rows.size()
               ? stateData(page.state_rows[offset], index.column(), role)
               : QVariant();
}

QVariant KeyedStateModel::stateData(const protocol::StateRow& row, int column, int role) const {
    if (role == kOutsideOwnerRole) {
        return row.outside_owner();
    }
    if (role == Qt::ForegroundRole && column == kKeyGroupColumn && row.outside_owner()) {
        return QBrush(QColor(200, 0, 0));
    }
    if (role == Qt::ToolTipRole && row.outside_owner()) {
        return tr("Key group %1 lies outside the range of subtask %2")
            .arg(row.key_group())
            .arg(row.subtask());
    }
    if (role != Qt::DisplayRole) {
        return {};
    }
    switch (column) {
        case kKeyColumn:
            return fromStd(row.key());
        case kKeyGroupColumn:
            return row.outside_owner() ? tr("%1 (outside owner)").arg(row.key_group())
                                       : QString::number(row.key_group());
        case kStateNameColumn:
            return fromStd(row.state_name());
        case kValueColumn:
            return fromStd(row.value());
        case kSubtaskColumn:
            return row.subtask();
        case kLastUpdateColumn:
            // Restored entries and RocksDB entries outside the cache have no
            // update time.
            return row.last_update_ns() > 0
                       ? QVariant(QString::number(double(row.last_update_ns()) / 1e6, 'f', 3))
                       : QVariant(tr("unknown"));
        case kChangedColumn:
            if (query_.mode == Mode::kCheckpoint && row.last_update_ns() == 0 &&
                !row.changed_since_checkpoint()) {
                return tr("unknown");
            }
            return row.changed_since_checkpoint() ? tr("yes") : tr("no");
        default:
            return {};
    }
}

QVariant KeyedStateModel::diffData(const protocol::StateDiffRow& row, int column, int role) const {
    if (role != Qt::DisplayRole) {
        return {};
    }
    switch (column) {
        case kChangeColumn:
            return changeName(row.change());
        case kDiffKeyColumn:
            return fromStd(row.key());
        case kDiffKeyGroupColumn:
            return row.key_group();
        case kDiffStateNameColumn:
            return fromStd(row.state_name());
        case kDiffSubtaskColumn:
            return row.subtask();
        case kBeforeColumn:
            return fromStd(row.old_value());
        case kAfterColumn:
            return fromStd(row.new_value());
        default:
            return {};
    }
}

QVariant KeyedStateModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    if (isDiff()) {
        static const char* const kDiffHeaders[] = {"Change",  "Key",    "Key group", "State",
                                                   "Subtask", "Before", "After"};
        return section < kDiffColumnCount ? tr(kDiffHeaders[section]) : QVariant();
    }
    static const char* const kStateHeaders[] = {"Key",
                                                "Key group",
                                                "State",
                                                "Value",
                                                "Subtask",
                                                "Last update (ms)",
                                                "Changed since checkpoint"};
    if (section == kChangedColumn && query_.mode == Mode::kCheckpoint) {
        return tr("Changed since previous checkpoint");
    }
    return section < kStateColumnCount ? tr(kStateHeaders[section]) : QVariant();
}

void KeyedStateModel::sort(int column, Qt::SortOrder order) {
    if (isDiff()) {
        return;  // diffs come in (state, key group, key) order
    }
    switch (column) {
        case kKeyGroupColumn:
            sort_ = protocol::QueryKeyedState::SORT_KEY_GROUP;
            break;
        case kStateNameColumn:
            sort_ = protocol::QueryKeyedState::SORT_STATE_NAME;
            break;
        case kValueColumn:
            sort_ = protocol::QueryKeyedState::SORT_VALUE;
            break;
        default:
            sort_ = protocol::QueryKeyedState::SORT_KEY;
            break;
    }
    descending_ = order == Qt::DescendingOrder;
    setQuery(query_);
}

}  // namespace sluice::ui
