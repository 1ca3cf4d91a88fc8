#include "ui/checkpoint_shared_state_model.h"

#include "ui/checkpoint_history_model.h"

#include <QStringList>

namespace sluice::ui {

CheckpointSharedStateModel::CheckpointSharedStateModel(QObject* parent)
    : QAbstractTableModel(parent) {
}

void CheckpointSharedStateModel::setSharedState(const protocol::CheckpointSharedState& state) {
    beginResetModel();
    state_ = state;
    endResetModel();
}

void CheckpointSharedStateModel::clear() {
    beginResetModel();
    state_.Clear();
    endResetModel();
}

int CheckpointSharedStateModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : state_.files_size();
}

int CheckpointSharedStateModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : kColumnCount;
}

QVariant CheckpointSharedStateModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const protocol::CheckpointSharedFile& file = state_.files(index.row());
    if (role == Qt::TextAlignmentRole) {
        bool number = index.column() == kSizeColumn || index.column() == kReferencesColumn;
        return number ? QVariant(int(Qt::AlignRight | Qt::AlignVCenter)) : QVariant();
    }
    if (role == Qt::ToolTipRole && index.column() == kPathColumn) {
        return QString::fromStdString(file.key());
    }
    if (role != Qt::DisplayRole) {
        return {};
    }
    switch (index.column()) {
        case kPathColumn:
            return QString::fromStdString(file.path());
        case kSizeColumn:
            return formatBytes(int64_t(file.size_bytes()));
        case kReferencesColumn:
            return file.reference_count();
        case kCheckpointsColumn: {
            QStringList ids;
            for (int64_t id : file.checkpoint_ids()) {
                ids << QString::number(id);
            }
            return ids.join(QStringLiteral(", "));
        }
        default:
            return {};
    }
}

QVariant CheckpointSharedStateModel::headerData(int section, Qt::Orientation orientation,
                                                int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
        case kPathColumn:
            return tr("File");
        case kSizeColumn:
            return tr("Size");
        case kReferencesColumn:
            return tr("Reference count");
        case kCheckpointsColumn:
            return tr("Referenced by checkpoints");
        default:
            return {};
    }
}

}  // namespace sluice::ui
