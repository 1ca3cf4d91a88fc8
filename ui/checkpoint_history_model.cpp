#include "ui/checkpoint_history_model.h"

#include <QColor>

namespace sluice::ui {

namespace {

constexpr double kNanosPerMilli = 1e6;
constexpr double kNanosPerSecond = 1e9;

QString milliseconds(int64_t ns) {
    return QString::number(double(ns) / kNanosPerMilli, 'f', 1);
}

}  // namespace

QString formatBytes(int64_t bytes) {
    static const char* const kUnits[] = {"KiB", "MiB", "GiB"};
    if (bytes < 1024) {
        return QStringLiteral("%1 B").arg(bytes);
    }
    double value = double(bytes) / 1024.0;
    int unit = 0;
    while (value >= 1024.0 && unit < 2) {
        value /= 1024.0;
        ++unit;
    }
    return QStringLiteral("%1 %2").arg(value, 0, 'f', 1).arg(QLatin1String(kUnits[unit]));
}

QColor checkpointStatusColor(const std::string& status) {
    if (status == "COMPLETED") {
        return QColor(0x3c, 0xa0, 0x4a);
    }
    if (status == "FAILED") {
        return QColor(0xd0, 0x3a, 0x32);
    }
    return QColor(0x3a, 0x7b, 0xd5);
}

CheckpointHistoryModel::CheckpointHistoryModel(QObject* parent) : QAbstractTableModel(parent) {
}

void CheckpointHistoryModel::setDetails(const protocol::CheckpointDetails& details) {
    int old_rows = details_.checkpoints_size();
    int new_rows = details.checkpoints_size();
    // The history only grows while a run moves forward. Any other change,
    // such as a seek backward or a new run, resets the table.
    bool prefix = new_rows >= old_rows;
    for (int row = 0; prefix && row < old_rows; ++row) {
        prefix = details.checkpoints(row).mark().checkpoint_id() ==
                 details_.checkpoints(row).mark().checkpoint_id();
    }
    if (!prefix) {
        beginResetModel();
        details_ = details;
        endResetModel();
        return;
    }
    if (new_rows > old_rows) {
        beginInsertRows({}, old_rows, new_rows - 1);
        details_ = details;
        endInsertRows();
    } else {
        details_ = details;
    }
    if (old_rows > 0) {
        Q_EMIT dataChanged(index(0, 0), index(old_rows - 1, kColumnCount - 1));
    }
}

void CheckpointHistoryModel::clear() {
    beginResetModel();
    details_.Clear();
    endResetModel();
}

const protocol::CheckpointDetail& CheckpointHistoryModel::checkpoint(int row) const {
    return details_.checkpoints(row);
}

int CheckpointHistoryModel::rowOf(int64_t id) const {
    for (int row = 0; row < details_.checkpoints_size(); ++row) {
        if (details_.checkpoints(row).mark().checkpoint_id() == id) {
            return row;
        }
    }
    return -1;
}

int CheckpointHistoryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : details_.checkpoints_size();
}

int CheckpointHistoryModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : kColumnCount;
}

QVariant CheckpointHistoryModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const protocol::CheckpointDetail& checkpoint = details_.checkpoints(index.row());
    switch (role) {
        case Qt::DisplayRole:
            return displayData(checkpoint, index.column());
        case kCheckpointIdRole:
            return qlonglong(checkpoint.mark().checkpoint_id());
        case Qt::ForegroundRole:
            if (index.column() == kStatusColumn) {
                return checkpointStatusColor(checkpoint.mark().status());
            }
            return {};
        case Qt::ToolTipRole:
            if (index.column() == kCauseColumn || index.column() == kStatusColumn) {
                return QString::fromStdString(checkpoint.mark().failure_cause());
            }
            return {};
        case Qt::TextAlignmentRole:
            if (index.column() == kStatusColumn || index.column() == kTypeColumn ||
                index.column() == kCauseColumn || index.column() == kUnalignedColumn) {
                return {};
            }
            return int(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return {};
    }
}

QVariant CheckpointHistoryModel::displayData(const protocol::CheckpointDetail& checkpoint,
                                             int column) const {
    const protocol::CheckpointMark& mark = checkpoint.mark();
    switch (column) {
        case kIdColumn:
            return qlonglong(mark.checkpoint_id());
        case kStatusColumn:
            return QString::fromStdString(mark.status());
        case kTriggerColumn:
            return QString::number(double(mark.trigger_ns()) / kNanosPerSecond, 'f', 3);
        case kAcknowledgedColumn:
            return QStringLiteral("%1/%2")
                .arg(checkpoint.acknowledged_subtasks())
                .arg(checkpoint.total_subtasks());
        case kDurationColumn:
            return milliseconds(checkpoint.end_to_end_duration_ns());
        case kCheckpointedSizeColumn:
            return formatBytes(checkpoint.checkpointed_size_bytes());
        case kFullSizeColumn:
            return formatBytes(checkpoint.full_size_bytes());
        case kProcessedColumn:
            return formatBytes(checkpoint.processed_bytes());
        case kPersistedColumn:
            return formatBytes(checkpoint.persisted_bytes());
        case kUnalignedColumn:
            return checkpoint.unaligned() ? tr("yes") : tr("no");
        case kTypeColumn:
            return mark.savepoint() ? tr("savepoint") : tr("checkpoint");
        case kCauseColumn:
            return QString::fromStdString(mark.failure_cause());
        default:
            return {};
    }
}

QVariant CheckpointHistoryModel::headerData(int section, Qt::Orientation orientation,
                                            int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
        case kIdColumn:
            return tr("ID");
        case kStatusColumn:
            return tr("Status");
        case kTriggerColumn:
            return tr("Trigger time (s)");
        case kAcknowledgedColumn:
            return tr("Acknowledged (subtasks)");
        case kDurationColumn:
            return tr("End to end duration (ms)");
        case kCheckpointedSizeColumn:
            return tr("Checkpointed data size");
        case kFullSizeColumn:
            return tr("Full checkpoint data size");
        case kProcessedColumn:
            return tr("Processed in-flight data");
        case kPersistedColumn:
            return tr("Persisted in-flight data");
        case kUnalignedColumn:
            return tr("Unaligned");
        case kTypeColumn:
            return tr("Type");
        case kCauseColumn:
            return tr("Failure cause");
        default:
            return {};
    }
}

}  // namespace sluice::ui
