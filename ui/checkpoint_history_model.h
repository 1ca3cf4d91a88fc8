#pragma once

#include "proto/engine_protocol.pb.h"

#include <QAbstractTableModel>

namespace sluice::ui {

// Flink's checkpoint history as a table, oldest checkpoint first, from a
// CheckpointDetails reply. Headers name the unit of their column.
//
// Threading: GUI thread only.
class CheckpointHistoryModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        kIdColumn,
        kStatusColumn,
        kTriggerColumn,
        kAcknowledgedColumn,
        kDurationColumn,
        kCheckpointedSizeColumn,
        kFullSizeColumn,
        kProcessedColumn,
        kPersistedColumn,
        kUnalignedColumn,
        kTypeColumn,
        kCauseColumn,
        kColumnCount
    };
    // The checkpoint id, on every column.
    static constexpr int kCheckpointIdRole = Qt::UserRole + 1;

    explicit CheckpointHistoryModel(QObject* parent = nullptr);

    // Replaces the rows with `details`, keeping the rows of unchanged
    // checkpoints in place so selections survive a refresh.
    void setDetails(const protocol::CheckpointDetails& details);
    void clear();
    const protocol::CheckpointDetails& details() const { return details_; }
    const protocol::CheckpointDetail& checkpoint(int row) const;
    // Row of checkpoint `id`, or -1.
    int rowOf(int64_t id) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QVariant displayData(const protocol::CheckpointDetail& checkpoint, int column) const;

    protocol::CheckpointDetails details_;
};

// Text of `bytes` with a binary unit (B, KiB, MiB, GiB), such as "1.5 MiB".
QString formatBytes(int64_t bytes);
// Colour of a checkpoint status: completed green, failed red, in progress
// blue, as Flink's web UI colours them.
QColor checkpointStatusColor(const std::string& status);

}  // namespace sluice::ui
