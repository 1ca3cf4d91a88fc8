#pragma once

#include "proto/engine_protocol.pb.h"

#include <QWidget>

class QComboBox;
class QSpinBox;
class QTableView;

namespace sluice::ui {

class EventLogFilter;
class EventLogModel;

// The event log: a table of the run's discrete events with filters by kind,
// task and checkpoint. Double-clicking a row asks to seek to its event.
class EventLogView : public QWidget {
    Q_OBJECT

public:
    explicit EventLogView(QWidget* parent = nullptr);

    void setJobGraph(const protocol::JobGraph& graph);
    EventLogModel* model() const { return model_; }
    EventLogFilter* filter() const { return filter_; }
    QTableView* table() const { return table_; }

Q_SIGNALS:
    void seekRequested(uint64_t event_index);

private:
    void buildKindFilter();

    EventLogModel* model_;
    EventLogFilter* filter_;
    QComboBox* kind_;
    QComboBox* task_;
    QSpinBox* checkpoint_;
    QTableView* table_;
};

}  // namespace sluice::ui
