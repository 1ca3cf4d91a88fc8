#include "ui/event_log_view.h"

#include "ui/event_log_model.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QScrollBar>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>

namespace sluice::ui {

EventLogView::EventLogView(QWidget* parent)
    : QWidget(parent),
      model_(new EventLogModel(this)),
      filter_(new EventLogFilter(this)),
      kind_(new QComboBox(this)),
      task_(new QComboBox(this)),
      checkpoint_(new QSpinBox(this)),
      table_(new QTableView(this)) {
    filter_->setSourceModel(model_);
    buildKindFilter();
    task_->addItem(tr("all tasks"), -1);
    checkpoint_->setRange(0, 1000000);
    checkpoint_->setSpecialValueText(tr("all checkpoints"));
    auto* filters = new QHBoxLayout;
    filters->addWidget(new QLabel(tr("Kind"), this));
    filters->addWidget(kind_);
    filters->addWidget(new QLabel(tr("Task"), this));
    filters->addWidget(task_);
    filters->addWidget(new QLabel(tr("Checkpoint"), this));
    filters->addWidget(checkpoint_);
    filters->addStretch(1);
    table_->setModel(filter_);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setAlternatingRowColors(true);
    table_->verticalHeader()->setVisible(false);
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 4);
    table_->horizontalHeader()->setStretchLastSection(true);
    // Widths for the longest kind name and a typical task name.
    table_->setColumnWidth(EventLogModel::kEventColumn, 80);
    table_->setColumnWidth(EventLogModel::kTimeColumn, 90);
    table_->setColumnWidth(EventLogModel::kKindColumn, 200);
    table_->setColumnWidth(EventLogModel::kTaskColumn, 150);
    table_->setColumnWidth(EventLogModel::kCheckpointColumn, 80);
    table_->setToolTip(tr("Double-click an event to go to it"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(filters);
    layout->addWidget(table_, 1);

    connect(kind_, &QComboBox::currentIndexChanged, this,
            [this] { filter_->setKind(kind_->currentData().toInt()); });
    connect(task_, &QComboBox::currentIndexChanged, this,
            [this] { filter_->setVertex(task_->currentData().toInt()); });
    connect(checkpoint_, &QSpinBox::valueChanged, this,
            [this](int value) { filter_->setCheckpoint(value); });
    connect(table_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        Q_EMIT seekRequested(index.data(EventLogModel::kEventIndexRole).toULongLong());
    });
    // Follow the newest event unless the user scrolled up to read.
    connect(model_, &QAbstractItemModel::rowsInserted, this, [this] {
        QScrollBar* bar = table_->verticalScrollBar();
        if (bar->value() >= bar->maximum() - 2) {
            table_->scrollToBottom();
        }
    });
}

void EventLogView::buildKindFilter() {
    kind_->addItem(tr("all kinds"), -1);
    const protocol::Event::Kind kinds[] = {protocol::Event::BARRIER_EMITTED,
                                           protocol::Event::BARRIER_RECEIVED,
                                           protocol::Event::BARRIER_ALIGNED,
                                           protocol::Event::BARRIER_FORWARDED,
                                           protocol::Event::CHECKPOINT_TRIGGERED,
                                           protocol::Event::CHECKPOINT_ACKNOWLEDGED,
                                           protocol::Event::CHECKPOINT_COMPLETED,
                                           protocol::Event::CHECKPOINT_FAILED,
                                           protocol::Event::FAULT,
                                           protocol::Event::TASK_STATE,
                                           protocol::Event::RESTORE,
                                           protocol::Event::VERDICT,
                                           protocol::Event::JOB_STATE};
    for (protocol::Event::Kind kind : kinds) {
        kind_->addItem(EventLogModel::kindName(kind), int(kind));
    }
}

void EventLogView::setJobGraph(const protocol::JobGraph& graph) {
    std::map<int, std::string> names;
    task_->blockSignals(true);
    task_->clear();
    task_->addItem(tr("all tasks"), -1);
    for (const protocol::Vertex& vertex : graph.vertices()) {
        names[vertex.id()] = vertex.name();
        task_->addItem(QString::fromStdString(vertex.name()), vertex.id());
    }
    task_->blockSignals(false);
    filter_->setVertex(-1);
    model_->setVertexNames(std::move(names));
}

}  // namespace sluice::ui
