#pragma once

#include "proto/engine_protocol.pb.h"

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>

#include <deque>
#include <map>
#include <string>

namespace sluice::ui {

// The discrete events of the run (barriers, checkpoints, faults, restores,
// verdicts), oldest first. It keeps at most capacity() events and drops the
// oldest beyond that, so a long run does not grow without bound.
//
// Threading: GUI thread only.
class EventLogModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        kEventColumn,
        kTimeColumn,
        kKindColumn,
        kTaskColumn,
        kCheckpointColumn,
        kTextColumn,
        kColumnCount
    };
    // Raw values for filters and seeking, on every column.
    enum Role { kEventIndexRole = Qt::UserRole + 1, kKindRole, kVertexRole, kCheckpointRole };

    explicit EventLogModel(QObject* parent = nullptr, int capacity = 100000);

    // Names for the task column, by vertex id.
    void setVertexNames(std::map<int, std::string> names);
    void appendEvents(const protocol::EventBatch& batch);
    // Removes the events after `event_index`: after a seek backward the
    // engine replays them again.
    void truncateAfter(uint64_t event_index);
    void clear();
    int capacity() const { return capacity_; }
    const protocol::Event& event(int row) const { return events_[size_t(row)]; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    static QString kindName(protocol::Event::Kind kind);

private:
    QVariant displayData(const protocol::Event& event, int column) const;

    int capacity_;
    std::deque<protocol::Event> events_;
    std::map<int, std::string> vertex_names_;
};

// Filters the event log by kind, task (vertex) and checkpoint id. -1 (0 for
// the checkpoint) means no filter on that field.
class EventLogFilter : public QSortFilterProxyModel {
    Q_OBJECT

public:
    explicit EventLogFilter(QObject* parent = nullptr);

    void setKind(int kind);
    void setVertex(int vertex);
    void setCheckpoint(int64_t checkpoint_id);

protected:
    bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

private:
    int kind_ = -1;
    int vertex_ = -1;
    int64_t checkpoint_id_ = 0;
};

}  // namespace sluice::ui
