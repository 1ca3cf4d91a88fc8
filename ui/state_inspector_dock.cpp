#include "ui/state_inspector_dock.h"

#include "ui/engine_session.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMainWindow>
#include <QPointer>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

namespace sluice::ui {

namespace {

// Delay between the last keystroke in the search field and the query.
constexpr int kSearchDelayMs = 250;
// Item data of the "live state" entry of the "To" box.
constexpr qint64 kLiveStateId = 0;

QString checkpointLabel(int64_t id) {
    return QObject::tr("checkpoint %1").arg(id);
}

}  // namespace

StateInspector::StateInspector(EngineSession* session, QWidget* parent)
    : QWidget(parent),
      session_(session),
      model_(new KeyedStateModel(session, this)),
      live_timer_(new QTimer(this)),
      sources_timer_(new QTimer(this)),
      search_timer_(new QTimer(this)) {
    live_timer_->setSingleShot(true);
    live_timer_->setInterval(kLiveRefreshMs);
    sources_timer_->setSingleShot(true);
    sources_timer_->setInterval(kSourcesRefreshMs);
    search_timer_->setSingleShot(true);
    search_timer_->setInterval(kSearchDelayMs);
    buildControls();
    connectSession();
    updateControls();
    updateStatus();
}

void StateInspector::buildControls() {
    operator_box_ = new QComboBox(this);
    operator_box_->setMinimumContentsLength(16);
    operator_box_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    subtask_box_ = new QComboBox(this);
    view_box_ = new QComboBox(this);
    view_box_->addItem(tr("Live state"), int(View::kLive));
    view_box_->addItem(tr("At checkpoint"), int(View::kCheckpoint));
    view_box_->addItem(tr("Diff between checkpoints"), int(View::kCheckpointDiff));
    view_box_->addItem(tr("Diff across failure"), int(View::kFailureDiff));
    from_label_ = new QLabel(this);
    from_box_ = new QComboBox(this);
    from_box_->setMinimumContentsLength(14);
    to_label_ = new QLabel(tr("To"), this);
    to_box_ = new QComboBox(this);
    search_ = new QLineEdit(this);
    search_->setPlaceholderText(tr("Search keys"));
    search_->setClearButtonEnabled(true);
    changed_only_ = new QCheckBox(tr("Changed since checkpoint only"), this);
    show_unchanged_ = new QCheckBox(tr("Show unchanged keys"), this);
    show_unchanged_->setToolTip(
        tr("List every key with its value on both sides, to read a key before and after"));
    table_ = new QTableView(this);
    table_->setModel(model_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(KeyedStateModel::kKeyColumn, Qt::AscendingOrder);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->horizontalHeader()->setDefaultSectionSize(140);
    status_ = new QLabel(this);

    auto* first_row = new QHBoxLayout;
    first_row->addWidget(new QLabel(tr("Operator"), this));
    first_row->addWidget(operator_box_);
    first_row->addWidget(new QLabel(tr("Subtask"), this));
    first_row->addWidget(subtask_box_);
    first_row->addWidget(view_box_);
    first_row->addWidget(from_label_);
    first_row->addWidget(from_box_);
    first_row->addWidget(to_label_);
    first_row->addWidget(to_box_);
    first_row->addStretch(1);
    auto* second_row = new QHBoxLayout;
    second_row->addWidget(search_, 1);
    second_row->addWidget(changed_only_);
    second_row->addWidget(show_unchanged_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(first_row);
    layout->addLayout(second_row);
    layout->addWidget(table_, 1);
    layout->addWidget(status_);

    auto requery = [this]() {
        updateControls();
        applyQuery();
    };
    connect(operator_box_, &QComboBox::currentIndexChanged, this, [this, requery]() {
        fillSubtasks();
        requery();
    });
    connect(subtask_box_, &QComboBox::currentIndexChanged, this, requery);
    connect(view_box_, &QComboBox::currentIndexChanged, this, [this, requery]() {
        // Another view starts from its default selection.
        from_box_->clear();
        to_box_->clear();
        fillSourceBoxes();
        requery();
    });
    connect(from_box_, &QComboBox::activated, this, requery);
    connect(to_box_, &QComboBox::activated, this, requery);
    connect(changed_only_, &QCheckBox::toggled, this, requery);
    connect(show_unchanged_, &QCheckBox::toggled, this, requery);
    connect(search_, &QLineEdit::textChanged, search_timer_, qOverload<>(&QTimer::start));
    connect(search_timer_, &QTimer::timeout, this, &StateInspector::applyQuery);
    connect(live_timer_, &QTimer::timeout, model_, &KeyedStateModel::refresh);
    connect(sources_timer_, &QTimer::timeout, this, &StateInspector::refreshSources);
    connect(model_, &KeyedStateModel::pageLoaded, this, [this]() {
        error_.clear();
        updateStatus();
    });
    connect(model_, &KeyedStateModel::queryFailed, this, [this](const QString& message) {
        error_ = message;
        updateStatus();
    });
}

void StateInspector::connectSession() {
    connect(session_, &EngineSession::jobGraphChanged, this, &StateInspector::setJobGraph);
    connect(session_, &EngineSession::runLoaded, this, [this]() {
        sources_ = {};
        error_.clear();
        model_->clear();
        updateStatus();
    });
    connect(session_, &EngineSession::positionSet, this, [this]() {
        refreshSources();
        model_->refresh();
    });
    connect(session_, &EngineSession::frameReceived, this, &StateInspector::onFrame);
}

void StateInspector::onFrame() {
    // Frames come at the GUI frame rate; the timers cap the queries they cause.
    if (!sources_timer_->isActive()) {
        sources_timer_->start();
    }
    bool live = view_box_->currentData().toInt() == int(View::kLive) ||
                (view_box_->currentData().toInt() == int(View::kCheckpointDiff) &&
                 to_box_->currentData().toLongLong() == kLiveStateId);
    // A dock behind another dock's tab stays visible to Qt but shows nothing.
    if (live && !visibleRegion().isEmpty() && !live_timer_->isActive()) {
        live_timer_->start();
    }
}

void StateInspector::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    model_->refresh();
}

void StateInspector::setJobGraph(const protocol::JobGraph& graph) {
    graph_ = graph;
    QSignalBlocker block(operator_box_);
    operator_box_->clear();
    for (const auto& vertex : graph.vertices()) {
        if (vertex.keyed()) {
            operator_box_->addItem(QString::fromStdString(vertex.name()), vertex.id());
        }
    }
    fillSubtasks();
    refreshSources();
    updateControls();
    applyQuery();
}

void StateInspector::fillSubtasks() {
    QSignalBlocker block(subtask_box_);
    int previous = subtask_box_->currentData().isValid() ? subtask_box_->currentData().toInt() : -1;
    subtask_box_->clear();
    subtask_box_->addItem(tr("All"), -1);
    int vertex = operator_box_->currentData().isValid() ? operator_box_->currentData().toInt() : -1;
    for (const auto& v : graph_.vertices()) {
        if (v.id() == vertex) {
            for (int s = 0; s < v.parallelism(); ++s) {
                subtask_box_->addItem(QString::number(s), s);
            }
        }
    }
    int index = subtask_box_->findData(previous);
    subtask_box_->setCurrentIndex(index < 0 ? 0 : index);
}

void StateInspector::refreshSources() {
    protocol::Request request;
    request.mutable_state_query_sources();
    QPointer<StateInspector> self(this);
    session_->request(std::move(request), [self](const protocol::Reply& reply) {
        if (self && reply.error().empty() && reply.has_state_sources()) {
            self->setSources(reply.state_sources());
        }
    });
}

void StateInspector::setSources(const protocol::StateSources& sources) {
    if (sources.SerializeAsString() == sources_.SerializeAsString()) {
        return;
    }
    sources_ = sources;
    fillSourceBoxes();
    updateControls();
}

// Fills the source boxes for the current view, keeping the selection when
// it is still offered. A changed selection queries again.
void StateInspector::fillSourceBoxes() {
    auto view = View(view_box_->currentData().toInt());
    QVariant from_before = from_box_->currentData();
    QVariant to_before = to_box_->currentData();
    {
        QSignalBlocker block_from(from_box_);
        QSignalBlocker block_to(to_box_);
        from_box_->clear();
        to_box_->clear();
        if (view == View::kFailureDiff) {
            for (const auto& failure : sources_.failures()) {
                from_box_->addItem(tr("%1 at %2 s")
                                       .arg(QString::fromStdString(failure.fault()))
                                       .arg(double(failure.time_ns()) / 1e9, 0, 'f', 1),
                                   qulonglong(failure.event_index()));
            }
        } else {
            for (int64_t id : sources_.retained_checkpoint_ids()) {
                from_box_->addItem(checkpointLabel(id), qlonglong(id));
                to_box_->addItem(checkpointLabel(id), qlonglong(id));
            }
            to_box_->addItem(tr("live state"), qlonglong(kLiveStateId));
        }
        int from_index = from_box_->findData(from_before);
        // New checkpoints: default to the newest one to look at, and diff
        // from the second newest to the newest.
        if (from_index < 0 && view == View::kCheckpointDiff) {
            from_index = std::max(0, from_box_->count() - 2);
        } else if (from_index < 0) {
            from_index = from_box_->count() - 1;
        }
        from_box_->setCurrentIndex(from_index);
        int to_index = to_box_->findData(to_before);
        to_box_->setCurrentIndex(to_index < 0 ? std::max(0, to_box_->count() - 2) : to_index);
    }
    // The live view reads neither box, and its query collects the whole state.
    if (view != View::kLive &&
        (from_box_->currentData() != from_before || to_box_->currentData() != to_before)) {
        applyQuery();
    }
}

void StateInspector::updateControls() {
    auto view = View(view_box_->currentData().toInt());
    bool has_from = view != View::kLive;
    from_label_->setVisible(has_from);
    from_box_->setVisible(has_from);
    from_label_->setText(view == View::kFailureDiff  ? tr("Failure")
                         : view == View::kCheckpoint ? tr("Checkpoint")
                                                     : tr("From"));
    to_label_->setVisible(view == View::kCheckpointDiff);
    to_box_->setVisible(view == View::kCheckpointDiff);
    changed_only_->setVisible(view == View::kLive || view == View::kCheckpoint);
    show_unchanged_->setVisible(view == View::kCheckpointDiff || view == View::kFailureDiff);
    changed_only_->setText(view == View::kCheckpoint ? tr("Changed since previous checkpoint only")
                                                     : tr("Changed since checkpoint only"));
}

void StateInspector::applyQuery() {
    KeyedStateModel::Query query;
    auto view = View(view_box_->currentData().toInt());
    query.vertex =
        operator_box_->currentData().isValid() ? operator_box_->currentData().toInt() : -1;
    query.subtask =
        subtask_box_->currentData().isValid() ? subtask_box_->currentData().toInt() : -1;
    query.key_filter = search_->text();
    query.changed_only = changed_only_->isChecked();
    query.include_unchanged = show_unchanged_->isChecked();
    switch (view) {
        case View::kLive:
            query.mode = KeyedStateModel::Mode::kLive;
            break;
        case View::kCheckpoint:
            query.mode = KeyedStateModel::Mode::kCheckpoint;
            query.checkpoint_id = from_box_->currentData().toLongLong();
            break;
        case View::kCheckpointDiff:
            query.mode = KeyedStateModel::Mode::kDiff;
            query.from_checkpoint_id = from_box_->currentData().toLongLong();
            query.to_checkpoint_id = to_box_->currentData().toLongLong();
            break;
        case View::kFailureDiff:
            query.mode = KeyedStateModel::Mode::kDiff;
            query.failure_event_index = from_box_->currentData().toULongLong();
            break;
    }
    // A view that needs a checkpoint or failure shows why it is empty instead.
    if (view != View::kLive && from_box_->count() == 0) {
        query.vertex = -1;
    }
    error_.clear();
    model_->setQuery(query);
    qCDebug(lcUiState) << "keyed state query: vertex" << query.vertex << "subtask" << query.subtask
                       << "view" << view_box_->currentText();
    updateStatus();
}

QString StateInspector::statusText() const {
    return status_->text();
}

void StateInspector::updateStatus() {
    auto view = View(view_box_->currentData().toInt());
    QString text;
    if (!error_.isEmpty()) {
        text = error_;
    } else if (graph_.vertices_size() == 0) {
        text = tr("No run loaded.");
    } else if (operator_box_->count() == 0) {
        text = tr("This job has no keyed operator, so it has no keyed state.");
    } else if (view == View::kFailureDiff && from_box_->count() == 0) {
        text =
            tr("No failure so far. The state is kept when a TaskManager is killed, a subtask "
               "fails or a link is partitioned.");
    } else if (view != View::kLive && from_box_->count() == 0) {
        text = tr("No completed checkpoint is retained yet.");
    } else if (!model_->loaded()) {
        text = tr("Loading...");
    } else {
        QString count = QLocale().toString(qulonglong(model_->total()));
        if (model_->query().mode != KeyedStateModel::Mode::kDiff) {
            text = tr("%1 entries").arg(count);
        } else if (model_->query().include_unchanged) {
            text = tr("%1 entries, %2 differ")
                       .arg(count, QLocale().toString(qulonglong(model_->differing())));
        } else if (model_->total() == 0) {
            text =
                tr("0 keys differ: both sides hold the same state. Tick \"Show unchanged "
                   "keys\" to read every key's value.");
        } else {
            text = tr("%1 keys differ").arg(count);
        }
        if (view == View::kCheckpoint) {
            text += tr(" (last update and change as of each subtask's snapshot)");
        }
    }
    status_->setText(text);
}

QDockWidget* addStateInspectorDock(QMainWindow* window, EngineSession* session) {
    auto* dock = new QDockWidget(QObject::tr("Keyed State"), window);
    dock->setObjectName(QStringLiteral("keyed-state-dock"));
    auto* inspector = new StateInspector(session, dock);
    dock->setWidget(inspector);
    window->addDockWidget(Qt::BottomDockWidgetArea, dock);
    // Selecting the dock's tab emits visibilityChanged but no show event.
    QObject::connect(dock, &QDockWidget::visibilityChanged, inspector, [inspector](bool visible) {
        if (visible) {
            inspector->model()->refresh();
        }
    });
    // Shares the bottom area with the Event Log as a tab, so the graph keeps its height.
    if (auto* log_dock = window->findChild<QDockWidget*>(QStringLiteral("event-log-dock"))) {
        window->tabifyDockWidget(log_dock, dock);
        log_dock->raise();
    }
    return dock;
}

}  // namespace sluice::ui
