#include "ui/event_log_model.h"

#include "ui/logging_categories.h"

#include <algorithm>

namespace sluice::ui {

EventLogModel::EventLogModel(QObject* parent, int capacity)
    : QAbstractTableModel(parent), capacity_(std::max(1, capacity)) {
}

void EventLogModel::setVertexNames(std::map<int, std::string> names) {
    vertex_names_ = std::move(names);
    if (!events_.empty()) {
        Q_EMIT dataChanged(index(0, kTaskColumn), index(rowCount() - 1, kTaskColumn));
    }
}

void EventLogModel::appendEvents(const protocol::EventBatch& batch) {
    int incoming = batch.events_size();
    if (incoming == 0) {
        return;
    }
    int first = std::max(0, incoming - capacity_);  // a huge batch keeps only its tail
    int overflow = int(events_.size()) + (incoming - first) - capacity_;
    if (overflow > 0) {
        beginRemoveRows({}, 0, overflow - 1);
        events_.erase(events_.begin(), events_.begin() + overflow);
        endRemoveRows();
    }
    int row = int(events_.size());
    beginInsertRows({}, row, row + (incoming - first) - 1);
    for (int i = first; i < incoming; ++i) {
        events_.push_back(batch.events(i));
    }
    endInsertRows();
}

void EventLogModel::truncateAfter(uint64_t event_index) {
    auto keep = std::find_if(events_.begin(), events_.end(), [&](const protocol::Event& e) {
        return e.event_index() > event_index;
    });
    int first = int(keep - events_.begin());
    if (first == int(events_.size())) {
        return;
    }
    qCDebug(lcUiEvents) << "dropping events after" << event_index;
    beginRemoveRows({}, first, int(events_.size()) - 1);
    events_.erase(keep, events_.end());
    endRemoveRows();
}

void EventLogModel::clear() {
    beginResetModel();
    events_.clear();
    endResetModel();
}

int EventLogModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(events_.size());
}

int EventLogModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : kColumnCount;
}

QString EventLogModel::kindName(protocol::Event::Kind kind) {
    return QString::fromStdString(protocol::Event::Kind_Name(kind));
}

QVariant EventLogModel::displayData(const protocol::Event& event, int column) const {
    switch (column) {
        case kEventColumn:
            return QVariant::fromValue<qulonglong>(event.event_index());
        case kTimeColumn:
            return QString::number(event.time_ns() / 1e6, 'f', 3);
        case kKindColumn:
            return kindName(event.kind());
        case kTaskColumn: {
            if (event.vertex() < 0) {
                return QString();
            }
            auto it = vertex_names_.find(event.vertex());
            QString name = it == vertex_names_.end() ? QString::number(event.vertex())
                                                     : QString::fromStdString(it->second);
            return QStringLiteral("%1 #%2").arg(name).arg(event.subtask());
        }
        case kCheckpointColumn:
            return event.checkpoint_id() > 0 ? QVariant::fromValue<qlonglong>(event.checkpoint_id())
                                             : QVariant(QString());
        case kTextColumn:
            return QString::fromStdString(event.text());
        default:
            return {};
    }
}

QVariant EventLogModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const protocol::Event& event = events_[size_t(index.row())];
    switch (role) {
        case Qt::DisplayRole:
            return displayData(event, index.column());
        case kEventIndexRole:
            return QVariant::fromValue<qulonglong>(event.event_index());
        case kKindRole:
            return int(event.kind());
        case kVertexRole:
            return event.vertex();
        case kCheckpointRole:
            return QVariant::fromValue<qlonglong>(event.checkpoint_id());
        default:
            return {};
    }
}

QVariant EventLogModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    static const char* const kHeaders[] = {"Event", "Time (ms)",  "Kind",
                                           "Task",  "Checkpoint", "Details"};
    return section >= 0 && section < kColumnCount ? QString::fromLatin1(kHeaders[section])
                                                  : QVariant();
}

EventLogFilter::EventLogFilter(QObject* parent) : QSortFilterProxyModel(parent) {
}

void EventLogFilter::setKind(int kind) {
    kind_ = kind;
    invalidateRowsFilter();
}

void EventLogFilter::setVertex(int vertex) {
    vertex_ = vertex;
    invalidateRowsFilter();
}

void EventLogFilter::setCheckpoint(int64_t checkpoint_id) {
    checkpoint_id_ = checkpoint_id;
    invalidateRowsFilter();
}

bool EventLogFilter::filterAcceptsRow(int source_row, const QModelIndex& source_parent) const {
    QModelIndex index = sourceModel()->index(source_row, 0, source_parent);
    if (kind_ >= 0 && index.data(EventLogModel::kKindRole).toInt() != kind_) {
        return false;
    }
    if (vertex_ >= 0 && index.data(EventLogModel::kVertexRole).toInt() != vertex_) {
        return false;
    }
    return checkpoint_id_ <= 0 ||
           index.data(EventLogModel::kCheckpointRole).toLongLong() == checkpoint_id_;
}

}  // namespace sluice::ui
