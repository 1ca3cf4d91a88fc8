#include "ui/checkpoints_dock.h"

#include "ui/checkpoint_diagnosis.h"
#include "ui/checkpoint_gantt.h"
#include "ui/checkpoint_history_model.h"
#include "ui/checkpoint_shared_state_model.h"
#include "ui/checkpoint_strip.h"
#include "ui/engine_session.h"
#include "ui/logging_categories.h"

#include <QDockWidget>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMainWindow>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTabBar>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace sluice::ui {

namespace {

bool changesHistory(protocol::Event::Kind kind) {
    return kind == protocol::Event::CHECKPOINT_TRIGGERED ||
           kind == protocol::Event::CHECKPOINT_COMPLETED ||
           kind == protocol::Event::CHECKPOINT_FAILED;
}

QTableView* makeTable(QAbstractItemModel* model, QWidget* parent) {
    auto* table = new QTableView(parent);
    table->setModel(model);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->verticalHeader()->hide();
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
    table->horizontalHeader()->setStretchLastSection(true);
    table->setWordWrap(false);
    return table;
}

}  // namespace

CheckpointsPanel::CheckpointsPanel(EngineSession* session, QWidget* parent)
    : QWidget(parent),
      session_(session),
      history_(new CheckpointHistoryModel(this)),
      shared_(new CheckpointSharedStateModel(this)),
      strip_(new CheckpointStrip(this)),
      tabs_(new QTabWidget(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(strip_);
    layout->addWidget(tabs_, 1);
    tabs_->addTab(buildHistoryTab(), tr("History"));
    // The Shared state tab is added once the registry has files.
    shared_tab_ = buildSharedStateTab();
    shared_tab_->hide();
    tabs_->tabBar()->setAutoHide(true);

    connect(strip_, &CheckpointStrip::checkpointClicked, this, &CheckpointsPanel::selectCheckpoint);
    connect(session_, &EngineSession::eventsReceived, this, &CheckpointsPanel::onEvents);
    connect(session_, &EngineSession::runLoaded, this, &CheckpointsPanel::onRunLoaded);
    connect(session_, &EngineSession::positionSet, this, &CheckpointsPanel::refresh);
    connect(session_, &EngineSession::jobGraphChanged, this,
            [this](const protocol::JobGraph&) { refresh(); });
}

QWidget* CheckpointsPanel::buildHistoryTab() {
    // Side by side, because the dock usually sits wide and low under the graph.
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    table_ = makeTable(history_, splitter);
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        // A selection the user made stops the chart from following the run.
        follow_newest_ = follow_newest_ && selecting_;
        showSelected();
    });
    connect(history_, &QAbstractItemModel::dataChanged, this, &CheckpointsPanel::showSelected);

    auto* detail_box = new QWidget(splitter);
    auto* detail_layout = new QVBoxLayout(detail_box);
    detail_layout->setContentsMargins(0, 0, 0, 0);
    auto* header = new QHBoxLayout;
    detail_ = new QLabel(tr("Select a checkpoint in the table or the strip above."), detail_box);
    detail_->setWordWrap(true);
    detail_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    seek_button_ = new QPushButton(tr("Go to Completion"), detail_box);
    seek_button_->setToolTip(tr("Seek the run to the event at which this checkpoint completed"));
    seek_button_->setEnabled(false);
    header->addWidget(detail_, 1);
    header->addWidget(seek_button_, 0, Qt::AlignTop);
    detail_layout->addLayout(header);
    gantt_ = new CheckpointGantt(detail_box);
    auto* scroll = new QScrollArea(detail_box);
    scroll->setWidget(gantt_);
    scroll->setWidgetResizable(true);
    detail_layout->addWidget(scroll, 1);
    connect(seek_button_, &QPushButton::clicked, this, [this] {
        int row = history_->rowOf(selectedId());
        if (row >= 0) {
            uint64_t event = history_->checkpoint(row).mark().end_event();
            qCInfo(lcUiCheckpoints)
                << "seek to completion of checkpoint" << selectedId() << "at event" << event;
            session_->seek(event);
        }
    });
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    return splitter;
}

QWidget* CheckpointsPanel::buildSharedStateTab() {
    auto* box = new QWidget(this);
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* note = new QLabel(tr("Files under shared/ that RocksDB incremental checkpoints refer to. "
                               "A file is deleted when no retained checkpoint refers to it."),
                            box);
    note->setWordWrap(true);
    layout->addWidget(note);
    auto* table = makeTable(shared_, box);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    layout->addWidget(table, 1);
    return box;
}

void CheckpointsPanel::onEvents(const protocol::EventBatch& batch) {
    for (const protocol::Event& event : batch.events()) {
        if (changesHistory(event.kind())) {
            refresh();
            return;
        }
    }
}

void CheckpointsPanel::onRunLoaded() {
    follow_newest_ = true;
    history_->clear();
    shared_->clear();
    strip_->setCheckpoints({});
    gantt_->clear();
    if (int index = tabs_->indexOf(shared_tab_); index >= 0) {
        tabs_->removeTab(index);
    }
    refresh();
}

void CheckpointsPanel::refresh() {
    if (query_in_flight_) {
        refresh_pending_ = true;
        return;
    }
    query_in_flight_ = true;
    refresh_pending_ = false;
    ++queries_sent_;
    protocol::Request details;
    details.mutable_checkpoint_details_query();
    session_->request(std::move(details),
                      [this](const protocol::Reply& reply) { onDetails(reply); });
    protocol::Request shared;
    shared.mutable_checkpoint_shared_state_query();
    session_->request(std::move(shared),
                      [this](const protocol::Reply& reply) { onSharedState(reply); });
}

void CheckpointsPanel::onDetails(const protocol::Reply& reply) {
    if (reply.error().empty()) {
        int64_t selected = selectedId();
        vertex_names_.clear();
        for (const std::string& name : reply.checkpoint_details().vertex_names()) {
            vertex_names_ << QString::fromStdString(name);
        }
        history_->setDetails(reply.checkpoint_details());
        strip_->setCheckpoints(reply.checkpoint_details());
        table_->resizeColumnsToContents();
        if (follow_newest_ && history_->rowCount() > 0) {
            selectRow(history_->rowCount() - 1);
        } else if (selected != 0 && history_->rowOf(selected) >= 0) {
            selectRow(history_->rowOf(selected));
        }
        showSelected();
    }
}

void CheckpointsPanel::onSharedState(const protocol::Reply& reply) {
    // The details reply came first, because the service replies in request order.
    query_in_flight_ = false;
    if (reply.error().empty()) {
        shared_->setSharedState(reply.checkpoint_shared_state());
        if (reply.checkpoint_shared_state().files_size() > 0 && tabs_->indexOf(shared_tab_) < 0) {
            tabs_->addTab(shared_tab_, tr("Shared state"));
        }
    }
    if (refresh_pending_) {
        refresh();
    }
}

void CheckpointsPanel::selectCheckpoint(int64_t id) {
    int row = history_->rowOf(id);
    if (row >= 0) {
        follow_newest_ = false;
        selectRow(row);
    }
}

void CheckpointsPanel::selectRow(int row) {
    QModelIndex index = history_->index(row, 0);
    selecting_ = true;
    table_->selectionModel()->select(
        index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    selecting_ = false;
    table_->scrollTo(index);
}

int64_t CheckpointsPanel::selectedId() const {
    QModelIndexList rows = table_->selectionModel()->selectedRows();
    if (rows.isEmpty()) {
        return 0;
    }
    return rows.first().data(CheckpointHistoryModel::kCheckpointIdRole).toLongLong();
}

void CheckpointsPanel::showSelected() {
    int64_t id = selectedId();
    int row = history_->rowOf(id);
    strip_->setSelectedId(id);
    if (id == 0 || row < 0) {
        gantt_->clear();
        seek_button_->setEnabled(false);
        detail_->setText(history_->rowCount() == 0
                             ? tr("No checkpoints yet. They appear here as the run triggers them.")
                             : tr("Select a checkpoint in the table or the strip above."));
        return;
    }
    const protocol::CheckpointDetail& checkpoint = history_->checkpoint(row);
    const protocol::CheckpointMark& mark = checkpoint.mark();
    gantt_->setCheckpoint(checkpoint, vertex_names_);
    QString text = tr("<b>%1 %2</b>: %3, triggered at %4 s, end to end %5 ms, %6/%7 subtasks "
                      "acknowledged.")
                       .arg(mark.savepoint() ? tr("Savepoint") : tr("Checkpoint"))
                       .arg(mark.checkpoint_id())
                       .arg(QString::fromStdString(mark.status()))
                       .arg(double(mark.trigger_ns()) / 1e9, 0, 'f', 3)
                       .arg(double(checkpoint.end_to_end_duration_ns()) / 1e6, 0, 'f', 1)
                       .arg(checkpoint.acknowledged_subtasks())
                       .arg(checkpoint.total_subtasks());
    if (mark.status() == "FAILED") {
        text += tr("<br><span style='color:#d03a32'>Failure cause: %1</span>")
                    .arg(QString::fromStdString(mark.failure_cause()).toHtmlEscaped());
    }
    QString diagnosis = diagnoseCheckpoint(checkpoint, gantt_->rows());
    if (!diagnosis.isEmpty()) {
        text += QStringLiteral("<br>") + diagnosis;
    }
    detail_->setText(text);
    seek_button_->setEnabled(mark.status() == "COMPLETED" && mark.end_event() > 0);
}

QDockWidget* addCheckpointsDock(EngineSession* session, QMainWindow* window) {
    auto* dock = new QDockWidget(QObject::tr("Checkpoints"), window);
    dock->setObjectName(QStringLiteral("checkpoints-dock"));
    dock->setWidget(new CheckpointsPanel(session, dock));
    window->addDockWidget(Qt::BottomDockWidgetArea, dock);
    if (auto* log = window->findChild<QDockWidget*>(QStringLiteral("event-log-dock"))) {
        window->tabifyDockWidget(log, dock);
        log->raise();
    }
    return dock;
}

}  // namespace sluice::ui
