#include "app/gui_bench_state.h"

#include "app/gui_bench_run.h"
#include "sim/engine.h"
#include "sim/engine_queries.h"
#include "sim/live_state_cache.h"
#include "sim/state_checkpoint_reader.h"
#include "sim/state_inspector_queries.h"
#include "ui/engine_session.h"
#include "ui/keyed_state_model.h"
#include "ui/main_window.h"
#include "ui/state_inspector_dock.h"
#include "ui/transport_bar.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QScrollBar>
#include <QTableView>
#include <QTimer>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <variant>

namespace sluice::gui_bench {

namespace {

using ui::EngineSession;
using ui::KeyedStateModel;
using ui::MainWindow;
using ui::StateInspector;

// Time the scenario may take to load, and a step to settle, before the run
// counts as failed. The first read of a large checkpoint is the slowest step.
constexpr int kLoadTimeoutMs = 60000;
constexpr double kStepTimeoutMs = 120000;
// Pause between two keystrokes of the search text, and between two notches
// of a continuous scroll: a quick typist, a quick drag of the scroll bar.
constexpr int kKeystrokeMs = 120;
constexpr int kScrollNotchMs = 20;
// Looks at the settled rows before the next step, as a user would.
constexpr int kDwellMs = 150;
// The last phase plays the run at 0.1x (the transport bar's slowest but
// one speed) for this long with the live view on screen.
constexpr double kLivePlaySpeed = 100;
constexpr int kLivePlayMs = 10000;

double threadCpuMs() {
    timespec time{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time);
    return double(time.tv_sec) * 1e3 + double(time.tv_nsec) / 1e6;
}

// One step of the script: an action, then a wait until `done` returns true
// (or, without `done`, no wait), then `dwell_ms` before the next step.
struct Step {
    enum class Phase { kOther, kScrolling, kPlaying };
    std::string name;
    std::function<void()> act;
    std::function<bool()> done;
    int dwell_ms = 0;
    Phase phase = Phase::kOther;
};

// Plays the scenario at full speed until the pause time, pauses, then runs
// the script over the Keyed State dock while the probe timer measures the
// event loop. GUI thread only.
class InspectDriver {
public:
    InspectDriver(const StateInspectOptions& options, EngineSession* session, MainWindow* window,
                  StateInspectResult* result);
    void start();

private:
    void onFrame(const protocol::Frame& frame);
    void beginScript();
    void buildScript();
    void buildCheckpointScript();
    void buildPlayScript();
    void addSort(const std::string& name, int column, Qt::SortOrder order);
    // Types the search text, counts the rows found into `rows`, jumps to
    // the end of them and clears the search.
    void addSearchAndClear(const std::string& prefix, uint64_t* rows);
    void addScroll(const std::string& name, int notches, double from, double to);
    void addJump(const std::string& name, double fraction);
    void addSearch(const QString& text);
    void startStep();
    void onProbe();
    void advance(double now_ms);
    void trackPages(double now_ms);
    // First and last row on screen, or -1 when no row is.
    std::pair<int, int> rowsOnScreen() const;
    bool rowsLoaded() const;
    void scrollTo(double fraction);
    void finish();
    void fail(const QString& message);

    const StateInspectOptions& options_;
    EngineSession* session_;
    MainWindow* window_;
    StateInspectResult* result_;
    QDockWidget* dock_ = nullptr;
    StateInspector* inspector_ = nullptr;
    KeyedStateModel* model_ = nullptr;
    QTableView* table_ = nullptr;
    QTimer probe_;
    QElapsedTimer clock_;
    QElapsedTimer play_clock_;
    QElapsedTimer live_play_clock_;
    double last_probe_ms_ = 0;
    double probe_cpu_ms_ = 0;
    double max_stall_ms_ = -1;
    double thread_cpu_start_seconds_ = 0;
    double process_cpu_start_seconds_ = 0;
    std::vector<Step> steps_;
    size_t step_ = 0;
    double step_start_ms_ = 0;
    double dwell_until_ms_ = -1;  // -1 while the step waits for `done`
    // Pages whose rows are on screen without data, by the time first seen.
    std::map<int, double> waiting_pages_;
    bool pausing_ = false;
    bool finished_ = false;
};

InspectDriver::InspectDriver(const StateInspectOptions& options, EngineSession* session,
                             MainWindow* window, StateInspectResult* result)
    : options_(options), session_(session), window_(window), result_(result) {
    probe_.setTimerType(Qt::PreciseTimer);
    probe_.setInterval(options.probe_interval_ms);
    QObject::connect(&probe_, &QTimer::timeout, [this] { onProbe(); });
    dock_ = window->findChild<QDockWidget*>(QStringLiteral("keyed-state-dock"));
    inspector_ = dock_ ? qobject_cast<StateInspector*>(dock_->widget()) : nullptr;
    if (inspector_) {
        model_ = inspector_->model();
        table_ = inspector_->table();
        // A new query drops the rows; its pages count from when they show up empty.
        QObject::connect(model_, &KeyedStateModel::pageLoaded, window, [this](int page) {
            bool playing = step_ < steps_.size() && steps_[step_].phase == Step::Phase::kPlaying;
            result_->live_play_first_pages += playing && page == 0;
        });
        QObject::connect(model_, &QAbstractItemModel::modelReset, window,
                         [this] { waiting_pages_.clear(); });
    }
}

void InspectDriver::start() {
    if (!inspector_) {
        fail(QStringLiteral("the main window has no Keyed State dock"));
        return;
    }
    QObject::connect(session_, &EngineSession::runLoaded, window_, [this] {
        std::fprintf(stderr, "progress: loaded %s, playing to %.1f s simulated\n",
                     qPrintable(options_.scenario_path), double(options_.pause_at_ms) / 1e3);
        session_->setSpeed(0);
        session_->play();
        play_clock_.start();
    });
    QObject::connect(session_, &EngineSession::frameReceived, window_,
                     [this](const protocol::Frame& frame) { onFrame(frame); });
    QObject::connect(session_, &EngineSession::commandFailed, window_,
                     [this](const QString& message) { fail(message); });
    QObject::connect(session_, &EngineSession::connectionLost, window_,
                     [this](const QString& message) { fail(message); });
    QTimer::singleShot(kLoadTimeoutMs, window_, [this] {
        if (!pausing_ && !finished_) {
            fail(QStringLiteral("the scenario did not load within %1 ms").arg(kLoadTimeoutMs));
        }
    });
    window_->transportBar()->setSpeed(0);
    session_->hello([this](const protocol::Reply& reply) {
        if (reply.error().empty()) {
            window_->openFile(options_.scenario_path);
        }
    });
}

void InspectDriver::onFrame(const protocol::Frame& frame) {
    if (pausing_ || finished_) {
        return;
    }
    const protocol::Status& status = frame.status();
    if (status.run_state() != protocol::PLAYING && status.run_state() != protocol::PAUSED) {
        fail(QStringLiteral("the run ended as %1 before the pause time; lower --pause-at-ms")
                 .arg(QString::fromStdString(protocol::RunState_Name(status.run_state()))));
        return;
    }
    if (status.now_ns() < options_.pause_at_ms * 1'000'000) {
        return;
    }
    pausing_ = true;
    protocol::Request pause;
    pause.mutable_pause();
    session_->request(std::move(pause), [this](const protocol::Reply& reply) {
        result_->seed = reply.status().seed();
        result_->paused_at_seconds = double(reply.status().now_ns()) / 1e9;
        result_->paused_at_event = reply.status().event_index();
        result_->play_wall_seconds = double(play_clock_.nsecsElapsed()) / 1e9;
        std::fprintf(stderr, "progress: paused at %.3f s simulated, event %llu\n",
                     result_->paused_at_seconds,
                     static_cast<unsigned long long>(result_->paused_at_event));
        // Lets the window take the last frames and the checkpoint list first.
        QTimer::singleShot(1000, window_, [this] { beginScript(); });
    });
}

void InspectDriver::beginScript() {
    if (finished_) {
        return;
    }
    buildScript();
    thread_cpu_start_seconds_ = cpuSeconds(false);
    process_cpu_start_seconds_ = cpuSeconds(true);
    clock_.start();
    last_probe_ms_ = 0;
    probe_cpu_ms_ = threadCpuMs();
    probe_.start();
    startStep();
}

void InspectDriver::scrollTo(double fraction) {
    QScrollBar* bar = table_->verticalScrollBar();
    bar->setValue(bar->minimum() + int(fraction * double(bar->maximum() - bar->minimum())));
}

void InspectDriver::addScroll(const std::string& name, int notches, double from, double to) {
    for (int i = 0; i <= notches; ++i) {
        double fraction = from + (to - from) * double(i) / notches;
        steps_.push_back({name, [this, fraction] { scrollTo(fraction); }, nullptr, kScrollNotchMs,
                          Step::Phase::kScrolling});
    }
    steps_.push_back({name + " (rows settle)", [] {}, [this] { return rowsLoaded(); }, kDwellMs,
                      Step::Phase::kScrolling});
}

void InspectDriver::addJump(const std::string& name, double fraction) {
    steps_.push_back({name, [this, fraction] { scrollTo(fraction); },
                      [this] { return rowsLoaded(); }, kDwellMs, Step::Phase::kScrolling});
}

void InspectDriver::addSearch(const QString& text) {
    for (int i = 1; i <= text.size(); ++i) {
        QString typed = text.left(i);
        bool last = i == text.size();
        Step step;
        step.name = last ? "type search '" + text.toStdString() + "'" : "typing";
        step.act = [this, typed] { inspector_->searchEdit()->setText(typed); };
        if (last) {
            // The dock waits for a pause in the typing before it queries.
            step.done = [this, text] { return model_->query().key_filter == text && rowsLoaded(); };
            step.dwell_ms = kDwellMs;
        } else {
            step.dwell_ms = kKeystrokeMs;
        }
        steps_.push_back(std::move(step));
    }
}

void InspectDriver::addSort(const std::string& name, int column, Qt::SortOrder order) {
    steps_.push_back({name, [this, column, order] { table_->sortByColumn(column, order); },
                      [this] { return rowsLoaded(); }, kDwellMs});
}

void InspectDriver::addSearchAndClear(const std::string& prefix, uint64_t* rows) {
    addSearch(result_->search_text);
    steps_.push_back({"count search rows", [this, rows] { *rows = model_->total(); }, nullptr, 0});
    addJump(prefix + "search: jump to end", 1.0);
    steps_.push_back({prefix + "clear search", [this] { inspector_->searchEdit()->clear(); },
                      [this] { return model_->query().key_filter.isEmpty() && rowsLoaded(); },
                      kDwellMs});
}

void InspectDriver::buildScript() {
    auto loaded = [this] { return rowsLoaded(); };
    // The user brings the dock's tab to the front and picks the operator,
    // then one subtask and all of them again.
    steps_.push_back({"open dock (collect live state)",
                      [this] {
                          dock_->raise();
                          inspector_->operatorBox()->setCurrentIndex(0);
                      },
                      loaded, kDwellMs});
    steps_.push_back({"select subtask 1", [this] { inspector_->subtaskBox()->setCurrentIndex(2); },
                      loaded, kDwellMs});
    steps_.push_back({"select all subtasks",
                      [this] { inspector_->subtaskBox()->setCurrentIndex(0); }, loaded, kDwellMs});
    addScroll("drag to end", 100, 0.0, 1.0);
    addScroll("drag to start", 50, 1.0, 0.0);
    for (double fraction : {0.5, 1.0, 0.0, 0.25, 0.75, 0.1, 0.9, 0.33, 0.66}) {
        addJump("jump to " + std::to_string(int(fraction * 100)) + "%", fraction);
    }

    addSort("sort by value, descending", KeyedStateModel::kValueColumn, Qt::DescendingOrder);
    addJump("sorted: jump to 50%", 0.5);
    addJump("sorted: jump to end", 1.0);
    addScroll("sorted: drag to start", 50, 1.0, 0.0);
    addSort("sort by key group", KeyedStateModel::kKeyGroupColumn, Qt::AscendingOrder);
    addJump("key group: jump to 50%", 0.5);
    addSort("sort by key", KeyedStateModel::kKeyColumn, Qt::AscendingOrder);

    addSearchAndClear("", &result_->search_rows);
    steps_.push_back({"changed since checkpoint only",
                      [this] { inspector_->changedOnlyBox()->setChecked(true); }, loaded,
                      kDwellMs});
    steps_.push_back({"all entries", [this] { inspector_->changedOnlyBox()->setChecked(false); },
                      loaded, kDwellMs});
    steps_.push_back(
        {"count live rows", [this] { result_->live_rows = model_->total(); }, nullptr, 0});
    buildCheckpointScript();
}

void InspectDriver::buildCheckpointScript() {
    auto loaded = [this] { return rowsLoaded(); };
    steps_.push_back(
        {"view checkpoint (first read)",
         [this] {
             inspector_->viewBox()->setCurrentIndex(int(StateInspector::View::kCheckpoint));
             result_->checkpoint_id = inspector_->fromBox()->currentData().toLongLong();
         },
         loaded, kDwellMs});
    steps_.push_back({"count checkpoint rows",
                      [this] { result_->checkpoint_rows = model_->total(); }, nullptr, 0});

    addScroll("checkpoint: drag to end", 100, 0.0, 1.0);
    for (double fraction : {0.5, 0.0, 0.25, 0.75}) {
        addJump("checkpoint: jump to " + std::to_string(int(fraction * 100)) + "%", fraction);
    }
    addSort("checkpoint: sort by value, descending", KeyedStateModel::kValueColumn,
            Qt::DescendingOrder);
    addJump("checkpoint sorted: jump to 50%", 0.5);
    addSearchAndClear("checkpoint ", &result_->checkpoint_search_rows);

    // The diff view starts from the second newest to the newest checkpoint.
    steps_.push_back({"view diff between checkpoints",
                      [this] {
                          inspector_->viewBox()->setCurrentIndex(
                              int(StateInspector::View::kCheckpointDiff));
                      },
                      loaded, kDwellMs});
    steps_.push_back(
        {"count diff rows", [this] { result_->diff_rows = model_->total(); }, nullptr, 0});
    addScroll("diff: drag to end", 50, 0.0, 1.0);
    addJump("diff: jump to 50%", 0.5);

    steps_.push_back(
        {"back to live state",
         [this] { inspector_->viewBox()->setCurrentIndex(int(StateInspector::View::kLive)); },
         loaded, kDwellMs});
    addJump("live again: jump to 50%", 0.5);
    buildPlayScript();
}

void InspectDriver::buildPlayScript() {
    Step play;
    play.name = "play at 0.1x with the live view open";
    play.act = [this] {
        result_->live_play_from_seconds = double(session_->status().now_ns()) / 1e9;
        live_play_clock_.start();
        session_->setSpeed(kLivePlaySpeed);
        session_->play();
    };
    play.dwell_ms = kLivePlayMs;
    play.phase = Step::Phase::kPlaying;
    steps_.push_back(std::move(play));

    Step pause;
    pause.name = "pause";
    pause.act = [this] { session_->pause(); };
    pause.done = [this] { return session_->status().run_state() == protocol::PAUSED; };
    pause.phase = Step::Phase::kPlaying;
    steps_.push_back(std::move(pause));

    Step count;
    count.name = "count live play";
    count.act = [this] {
        result_->live_play_wall_seconds = double(live_play_clock_.nsecsElapsed()) / 1e9;
        result_->live_play_to_seconds = double(session_->status().now_ns()) / 1e9;
    };
    steps_.push_back(std::move(count));
}

void InspectDriver::startStep() {
    if (step_ >= steps_.size()) {
        finish();
        return;
    }
    Step& step = steps_[step_];
    step_start_ms_ = double(clock_.nsecsElapsed()) / 1e6;
    step.act();
    dwell_until_ms_ = step.done ? -1 : step_start_ms_ + step.dwell_ms;
    result_->actions.push_back({step.name, step.phase == Step::Phase::kScrolling, -1});
}

// Moves the script on: ends a wait whose condition holds, starts the next
// step after the dwell.
void InspectDriver::advance(double now_ms) {
    if (step_ >= steps_.size()) {
        return;
    }
    Step& step = steps_[step_];
    if (dwell_until_ms_ < 0) {
        if (step.done()) {
            result_->actions.back().settled_ms = now_ms - step_start_ms_;
            dwell_until_ms_ = now_ms + step.dwell_ms;
        } else if (now_ms - step_start_ms_ > kStepTimeoutMs) {
            fail(QStringLiteral("the step '%1' did not settle within %2 s")
                     .arg(QString::fromStdString(step.name))
                     .arg(kStepTimeoutMs / 1e3));
            return;
        }
    }
    if (dwell_until_ms_ >= 0 && now_ms >= dwell_until_ms_) {
        ++step_;
        startStep();
    }
}

void InspectDriver::onProbe() {
    double now_ms = double(clock_.nsecsElapsed()) / 1e6;
    double gap_ms = std::max(0.0, now_ms - last_probe_ms_ - options_.probe_interval_ms);
    last_probe_ms_ = now_ms;
    double cpu_ms = threadCpuMs();
    const Step& step = steps_[std::min(step_, steps_.size() - 1)];
    double stall_cpu_ms = cpu_ms - probe_cpu_ms_;
    probe_cpu_ms_ = cpu_ms;
    if (step.phase == Step::Phase::kPlaying) {
        // The pages of a playing run go stale at every refresh, so only
        // the paused steps count page latencies.
        result_->play_stalls_ms.push_back(gap_ms);
        waiting_pages_.clear();
        advance(now_ms);
        return;
    }
    if (gap_ms > max_stall_ms_) {
        max_stall_ms_ = gap_ms;
        result_->stall_max_step = step.name;
        result_->stall_max_gui_cpu_ms = stall_cpu_ms;
    }
    result_->stalls_ms.push_back(gap_ms);
    if (step.phase == Step::Phase::kScrolling) {
        result_->scroll_stalls_ms.push_back(gap_ms);
    }
    trackPages(now_ms);
    advance(now_ms);
}

void InspectDriver::trackPages(double now_ms) {
    auto [first, last] = rowsOnScreen();
    std::set<int> on_screen;
    if (first >= 0) {
        for (int page = first / KeyedStateModel::kPageRows;
             page <= last / KeyedStateModel::kPageRows; ++page) {
            on_screen.insert(page);
            int row = std::max(first, page * KeyedStateModel::kPageRows);
            auto waiting = waiting_pages_.find(page);
            if (!model_->isRowLoaded(row)) {
                waiting_pages_.try_emplace(page, now_ms);
            } else if (waiting != waiting_pages_.end()) {
                result_->page_latencies_ms.push_back(now_ms - waiting->second);
                waiting_pages_.erase(waiting);
            }
        }
    }
    for (auto it = waiting_pages_.begin(); it != waiting_pages_.end();) {
        if (on_screen.count(it->first)) {
            ++it;
        } else {
            ++result_->pages_scrolled_past;
            it = waiting_pages_.erase(it);
        }
    }
}

std::pair<int, int> InspectDriver::rowsOnScreen() const {
    if (!table_->isVisible() || model_->rowCount() == 0) {
        return {-1, -1};
    }
    int first = table_->rowAt(0);
    int last = table_->rowAt(table_->viewport()->height() - 1);
    if (first < 0) {
        return {-1, -1};
    }
    return {first, last < 0 ? model_->rowCount() - 1 : last};
}

bool InspectDriver::rowsLoaded() const {
    if (!model_->loaded()) {
        return false;
    }
    auto [first, last] = rowsOnScreen();
    for (int row = first; first >= 0 && row <= last; ++row) {
        if (!model_->isRowLoaded(row)) {
            return false;
        }
    }
    return true;
}

void InspectDriver::finish() {
    finished_ = true;
    probe_.stop();
    result_->script_wall_seconds = double(clock_.nsecsElapsed()) / 1e9;
    result_->gui_thread_cpu_seconds = cpuSeconds(false) - thread_cpu_start_seconds_;
    result_->process_cpu_seconds = cpuSeconds(true) - process_cpu_start_seconds_;
    QCoreApplication::exit(0);
}

void InspectDriver::fail(const QString& message) {
    if (finished_) {
        return;
    }
    finished_ = true;
    probe_.stop();
    result_->error = message.toStdString();
    QCoreApplication::exit(1);
}

double elapsedMs(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

// Times the page at `offset` of the diff from checkpoint `from` to `to`
// (0: the live state). A page of a diff not in `diffs` builds the whole diff.
double timeDiffPage(const sim::Engine& engine, int vertex, int64_t from, int64_t to,
                    uint32_t offset, sim::CheckpointStateCache& checkpoints,
                    sim::StateDiffCache& diffs, uint64_t* total, std::string* error) {
    protocol::StateQueryDiff diff;
    diff.set_vertex(vertex);
    diff.set_subtask(-1);
    diff.set_offset(offset);
    diff.set_limit(KeyedStateModel::kPageRows);
    diff.set_from_checkpoint_id(from);
    diff.set_to_checkpoint_id(to);
    protocol::StateDiffPage page;
    auto start = std::chrono::steady_clock::now();
    std::string failed = sim::queryStateDiff(engine, diff, checkpoints, diffs, &page);
    double ms = elapsedMs(start);
    *total = page.total();
    if (!failed.empty() && error->empty()) {
        *error = failed;
    }
    return ms;
}

}  // namespace

StateInspectResult runStateInspection(const StateInspectOptions& options) {
    StateInspectResult result;
    result.platform = QGuiApplication::platformName();
    result.search_text = options.search_text;
    std::string error =
        runWithMainWindow(options.until_ms, [&](EngineSession* session, MainWindow* window) {
            InspectDriver driver(options, session, window, &result);
            driver.start();
            QApplication::exec();
        });
    if (!error.empty()) {
        result.error = error;
    }
    return result;
}

StateQueryTimes timeStateQueries(const std::string& scenario_path, uint64_t seed, int64_t until_ms,
                                 uint64_t event_index, const std::string& search_text) {
    StateQueryTimes times;
    sim::EngineOptions options;
    options.seed = seed;
    options.until_ms = until_ms;
    auto built = sim::Engine::fromFile(scenario_path, options);
    if (auto* error = std::get_if<sim::ScenarioError>(&built)) {
        times.error = error->format();
        return times;
    }
    sim::Engine& engine = *std::get<std::unique_ptr<sim::Engine>>(built);
    engine.runUntil([&] { return engine.eventCount() >= event_index; });
    int vertex = -1;
    protocol::JobGraph graph = sim::queryJobGraph(engine);
    for (const auto& candidate : graph.vertices()) {
        vertex = candidate.keyed() ? candidate.id() : vertex;
    }
    if (vertex < 0 || engine.retainedCheckpoints().empty()) {
        times.error = "the scenario has no keyed operator or no retained checkpoint at event " +
                      std::to_string(event_index);
        return times;
    }
    protocol::QueryKeyedState query;
    query.set_vertex(vertex);
    query.set_subtask(-1);
    query.set_limit(KeyedStateModel::kPageRows);
    auto timePage = [&](const std::function<std::string(protocol::KeyedStatePage*)>& fill,
                        double* ms) {
        protocol::KeyedStatePage page;
        auto start = std::chrono::steady_clock::now();
        std::string error = fill(&page);
        *ms = elapsedMs(start);
        if (!error.empty() && times.error.empty()) {
            times.error = error;
        }
        return page.total();
    };

    // One page the way every page was served before LiveStateCache: collect
    // every row as a StateRow, sort them all, copy the page.
    auto start = std::chrono::steady_clock::now();
    std::vector<protocol::StateRow> uncached = sim::liveStateRows(engine, vertex, -1, {});
    sim::sortStateRows(&uncached, protocol::QueryKeyedState::SORT_KEY, false);
    times.live_uncached_page_ms = elapsedMs(start);
    uncached = {};

    sim::LiveStateCache live;
    auto live_page = [&](protocol::KeyedStatePage* page) {
        return sim::queryKeyedState(engine, query, live, page);
    };
    times.live_rows = timePage(live_page, &times.live_first_page_ms);
    query.set_offset(uint32_t(times.live_rows / 2));
    timePage(live_page, &times.live_cached_page_ms);
    query.set_sort(protocol::QueryKeyedState::SORT_VALUE);
    timePage(live_page, &times.live_other_sort_ms);
    query.set_sort(protocol::QueryKeyedState::SORT_KEY);
    query.set_offset(0);
    query.set_key_filter(search_text);
    timePage(live_page, &times.live_search_ms);

    times.checkpoint_id = engine.retainedCheckpoints().back();
    start = std::chrono::steady_clock::now();
    auto decoded = sim::readCheckpointState(engine, times.checkpoint_id, vertex);
    times.checkpoint_decode_ms = elapsedMs(start);
    if (auto* error = std::get_if<std::string>(&decoded)) {
        times.error = *error;
        return times;
    }
    sim::CheckpointStateCache checkpoints;
    sim::CheckpointViewCache checkpoint_views;
    query.set_checkpoint_id(times.checkpoint_id);
    query.set_key_filter({});
    auto checkpoint_page = [&](protocol::KeyedStatePage* page) {
        return sim::queryCheckpointKeyedState(engine, query, checkpoints, checkpoint_views, page);
    };
    times.checkpoint_rows = timePage(checkpoint_page, &times.checkpoint_first_page_ms);
    query.set_offset(uint32_t(times.checkpoint_rows / 2));
    timePage(checkpoint_page, &times.checkpoint_cached_page_ms);
    query.set_offset(0);
    query.set_key_filter(search_text);
    timePage(checkpoint_page, &times.checkpoint_search_page_ms);
    query.set_offset(KeyedStateModel::kPageRows);
    timePage(checkpoint_page, &times.checkpoint_search_next_page_ms);
    const std::vector<int64_t>& retained = engine.retainedCheckpoints();
    sim::StateDiffCache diffs;
    if (retained.size() >= 2) {
        int64_t older = retained[retained.size() - 2];
        times.diff_checkpoints_page_ms =
            timeDiffPage(engine, vertex, older, retained.back(), 0, checkpoints, diffs,
                         &times.diff_checkpoints_rows, &times.error);
        uint64_t total = 0;
        times.diff_checkpoints_next_page_ms =
            timeDiffPage(engine, vertex, older, retained.back(), KeyedStateModel::kPageRows,
                         checkpoints, diffs, &total, &times.error);
    }
    times.diff_live_page_ms = timeDiffPage(engine, vertex, retained.back(), 0, 0, checkpoints,
                                           diffs, &times.diff_live_rows, &times.error);
    return times;
}

}  // namespace sluice::gui_bench
