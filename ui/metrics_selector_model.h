#pragma once

#include <QAbstractListModel>
#include <QStringList>

#include <vector>

namespace sluice::ui {

// A checkable list of choices for the metrics chart, such as metric names
// or subtasks. Each row has an id (Qt::UserRole) and a label
// (Qt::DisplayRole); Qt::CheckStateRole is editable.
//
// Threading: GUI thread only.
class MetricsSelectorModel : public QAbstractListModel {
    Q_OBJECT

public:
    struct Choice {
        QString id;
        QString label;
        QString tooltip;
    };

    explicit MetricsSelectorModel(QObject* parent = nullptr);

    // Replaces the rows. A row whose id was listed before keeps its check
    // state; a new row is checked when its id is in `checked_by_default`.
    void setChoices(const std::vector<Choice>& choices, const QStringList& checked_by_default);
    // Checks exactly the rows whose id is in `ids`.
    void setCheckedIds(const QStringList& ids);
    QStringList checkedIds() const;
    QStringList ids() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;

Q_SIGNALS:
    void checkedIdsChanged();

private:
    struct Row {
        Choice choice;
        bool checked = false;
    };
    std::vector<Row> rows_;
};

}  // namespace sluice::ui
