#pragma once

#include "proto/engine_protocol.pb.h"

#include <QAbstractTableModel>

namespace sluice::ui {

// The shared-state registry of RocksDB incremental checkpoints as a table:
// one row per file under shared/, sorted by path, with its size, reference
// count and the checkpoints that refer to it.
//
// Threading: GUI thread only.
class CheckpointSharedStateModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { kPathColumn, kSizeColumn, kReferencesColumn, kCheckpointsColumn, kColumnCount };

    explicit CheckpointSharedStateModel(QObject* parent = nullptr);

    void setSharedState(const protocol::CheckpointSharedState& state);
    void clear();
    const protocol::CheckpointSharedFile& file(int row) const { return state_.files(row); }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    protocol::CheckpointSharedState state_;
};

}  // namespace sluice::ui
