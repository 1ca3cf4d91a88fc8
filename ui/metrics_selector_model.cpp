#include "ui/metrics_selector_model.h"

#include <QSet>

namespace sluice::ui {

MetricsSelectorModel::MetricsSelectorModel(QObject* parent) : QAbstractListModel(parent) {
}

void MetricsSelectorModel::setChoices(const std::vector<Choice>& choices,
                                      const QStringList& checked_by_default) {
    QSet<QString> known;
    QSet<QString> checked;
    for (const Row& row : rows_) {
        known.insert(row.choice.id);
        if (row.checked) {
            checked.insert(row.choice.id);
        }
    }
    beginResetModel();
    rows_.clear();
    for (const Choice& choice : choices) {
        bool is_checked = known.contains(choice.id) ? checked.contains(choice.id)
                                                    : checked_by_default.contains(choice.id);
        rows_.push_back({choice, is_checked});
    }
    endResetModel();
    Q_EMIT checkedIdsChanged();
}

void MetricsSelectorModel::setCheckedIds(const QStringList& ids) {
    for (size_t i = 0; i < rows_.size(); ++i) {
        rows_[i].checked = ids.contains(rows_[i].choice.id);
    }
    if (!rows_.empty()) {
        Q_EMIT dataChanged(index(0), index(int(rows_.size()) - 1), {Qt::CheckStateRole});
    }
    Q_EMIT checkedIdsChanged();
}

QStringList MetricsSelectorModel::checkedIds() const {
    QStringList ids;
    for (const Row& row : rows_) {
        if (row.checked) {
            ids.append(row.choice.id);
        }
    }
    return ids;
}

QStringList MetricsSelectorModel::ids() const {
    QStringList ids;
    for (const Row& row : rows_) {
        ids.append(row.choice.id);
    }
    return ids;
}

int MetricsSelectorModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(rows_.size());
}

QVariant MetricsSelectorModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const Row& row = rows_[size_t(index.row())];
    switch (role) {
        case Qt::DisplayRole:
            return row.choice.label;
        case Qt::ToolTipRole:
            return row.choice.tooltip.isEmpty() ? QVariant() : QVariant(row.choice.tooltip);
        case Qt::UserRole:
            return row.choice.id;
        case Qt::CheckStateRole:
            return row.checked ? Qt::Checked : Qt::Unchecked;
        default:
            return {};
    }
}

bool MetricsSelectorModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (role != Qt::CheckStateRole ||
        !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return false;
    }
    rows_[size_t(index.row())].checked = value.toInt() == Qt::Checked;
    Q_EMIT dataChanged(index, index, {Qt::CheckStateRole});
    Q_EMIT checkedIdsChanged();
    return true;
}

Qt::ItemFlags MetricsSelectorModel::flags(const QModelIndex& index) const {
    if (!index.isValid()) {
        return Qt::NoItemFlags;
    }
    return Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsUserCheckable;
}

}  // namespace sluice::ui
