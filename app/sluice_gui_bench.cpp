// sluice-gui-bench: measures how responsive the GUI stays while the engine
// plays a scenario at full speed, and how much engine throughput the GUI
// costs. It opens the real MainWindow over an in-process engine service, as
// `sluice` does, and plays for a given wall time. Meanwhile a precise timer
// on the GUI thread records how late each timeout arrives, and the
// telemetry frames the GUI receives are counted. Then, in the same process
// and without the GUI, it runs sim::Engine on the same scenario and seed
// over the same simulated span and compares the source records per wall
// second.
//
//   sluice-gui-bench [SCENARIO] [--seconds N] [--probe-ms N] [--until-ms N]
//
// With --inspect-state it measures the Keyed State dock over a large state
// instead. It plays SCENARIO (default scenarios/state-1m.textproto) at full
// speed until --pause-at-ms of simulated time and pauses. Then it drives the
// dock as a user would (scroll, jump, sort, search, view a checkpoint, play
// slowly with the live view open) while the same probe timer runs. It also
// prints how long the rows on screen waited for their pages, how long each
// step took to settle, and the engine-side query times on a headless engine
// at the same event.
//
//   sluice-gui-bench --inspect-state [SCENARIO] [--pause-at-ms N] [--search TEXT]
//
// Prints one "name: value" line per measurement and a PASS or MISS line per
// target; progress goes to standard error. Exit status 0 whether or not the
// targets are met, 1 when a run failed, 2 for invalid usage.

#include "app/gui_bench_run.h"
#include "app/gui_bench_state.h"
#include "sim/engine.h"
#include "sim/engine_queries.h"
#include "sim/telemetry_frame.h"

#include <QApplication>
#include <QCommandLineParser>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

namespace {

using sluice::gui_bench::GuiRunOptions;
using sluice::gui_bench::GuiRunResult;
using sluice::gui_bench::StateInspectOptions;
using sluice::gui_bench::StateInspectResult;
using sluice::gui_bench::StateQueryTimes;

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

// Targets: a stall of one 60 Hz frame is visible as a stutter, and the GUI
// may take at most a fifth of the engine's throughput.
constexpr double kStallP99TargetMs = sluice::gui_bench::kLongStallMs;
constexpr double kEngineRatioTargetPercent = 80;
// While scrolling the Keyed State dock, no stall may be long enough to read
// as a freeze.
constexpr double kScrollStallMaxTargetMs = 250;

// One simulated day. On a 2-core machine, 30 wall seconds at full speed
// reach about 300 simulated seconds of wide-64, so the run stays below
// this limit rather than stopping at the scenario's own short one.
constexpr int64_t kDefaultUntilMs = int64_t(24) * 3600 * 1000;

struct HeadlessResult {
    double wall_seconds = 0;
    double cpu_seconds = 0;
    int64_t records = 0;
    uint64_t events = 0;
    std::string digest;
    std::string error;
};

// Runs the scenario without the GUI up to simulated time `until_ns`.
HeadlessResult runHeadless(const std::string& path, uint64_t seed, int64_t until_ms,
                           int64_t until_ns) {
    HeadlessResult result;
    sluice::sim::EngineOptions options;
    options.seed = seed;
    options.until_ms = until_ms;
    auto built = sluice::sim::Engine::fromFile(path, options);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&built)) {
        result.error = error->format();
        return result;
    }
    sluice::sim::Engine& engine = *std::get<std::unique_ptr<sluice::sim::Engine>>(built);
    auto start = std::chrono::steady_clock::now();
    double cpu_start_seconds = sluice::gui_bench::cpuSeconds(false);
    engine.runUntilTime(until_ns);
    result.cpu_seconds = sluice::gui_bench::cpuSeconds(false) - cpu_start_seconds;
    result.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    sluice::protocol::Frame frame = sluice::sim::buildFrame(engine, {}, {});
    result.records = sluice::gui_bench::sourceRecords(sluice::sim::queryJobGraph(engine), frame);
    result.events = engine.eventCount();
    result.digest = engine.digestHex();
    return result;
}

// Nearest-rank percentile of sorted `values`, `fraction` in (0, 1].
double percentile(const std::vector<double>& values, double fraction) {
    if (values.empty()) {
        return 0;
    }
    size_t rank = size_t(std::ceil(fraction * double(values.size())));
    return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

double perSecond(double count, double seconds) {
    return seconds > 0 ? count / seconds : 0;
}

void printTarget(const char* name, bool met, const char* target) {
    std::printf("target_%s: %s (%s)\n", name, met ? "PASS" : "MISS", target);
}

void printGui(const GuiRunOptions& options, GuiRunResult& gui) {
    std::sort(gui.stalls_ms.begin(), gui.stalls_ms.end());
    const sluice::protocol::Status& status = gui.last_frame.status();
    std::printf("scenario: %s\n", qPrintable(options.scenario_path));
    std::printf("platform: %s\n", qPrintable(gui.platform));
    std::printf("seed: %llu\n", static_cast<unsigned long long>(status.seed()));
    std::printf("probe_interval_ms: %d\n", options.probe_interval_ms);
    std::printf("probe_timeouts: %zu\n", gui.stalls_ms.size());
    std::printf("stall_p50_ms: %.2f\n", percentile(gui.stalls_ms, 0.50));
    std::printf("stall_p99_ms: %.2f\n", percentile(gui.stalls_ms, 0.99));
    std::printf("stall_max_ms: %.2f\n", gui.stalls_ms.empty() ? 0.0 : gui.stalls_ms.back());
    std::printf("stall_max_at_seconds: %.3f\n", gui.stall_max_at_seconds);
    std::printf("stall_max_gui_cpu_ms: %.2f\n", gui.stall_max_cpu_ms);
    auto long_stall = std::lower_bound(gui.stalls_ms.begin(), gui.stalls_ms.end(),
                                       sluice::gui_bench::kLongStallMs);
    std::printf("stalls_16_ms_or_more: %td\n", gui.stalls_ms.end() - long_stall);
    std::printf("long_stalls_wall_ms: %.1f\n", gui.long_stalls_wall_ms);
    std::printf("long_stalls_gui_cpu_ms: %.1f\n", gui.long_stalls_cpu_ms);
    std::printf("frames: %llu\n", static_cast<unsigned long long>(gui.frames));
    std::printf("frames_per_second: %.1f\n", perSecond(double(gui.frames), gui.wall_seconds));
    std::printf("event_batches_per_second: %.1f\n",
                perSecond(double(gui.event_batches), gui.wall_seconds));
    std::printf("events_received_per_second: %.0f\n",
                perSecond(double(gui.events), gui.wall_seconds));
    std::printf("simulated_seconds: %.3f\n", double(status.now_ns()) / 1e9);
    std::printf("gui_thread_cpu_seconds: %.3f\n", gui.gui_thread_cpu_seconds);
    std::printf("other_threads_cpu_seconds: %.3f\n",
                gui.process_cpu_seconds - gui.gui_thread_cpu_seconds);
}

void printRuns(const GuiRunResult& gui, int64_t gui_records, const HeadlessResult& headless) {
    const sluice::protocol::Status& status = gui.last_frame.status();
    std::printf("gui_wall_seconds: %.3f\n", gui.wall_seconds);
    std::printf("gui_records: %lld\n", static_cast<long long>(gui_records));
    std::printf("gui_events: %llu\n", static_cast<unsigned long long>(status.event_index()));
    std::printf("gui_digest: %s\n", status.digest().c_str());
    std::printf("gui_records_per_second: %.0f\n", perSecond(double(gui_records), gui.wall_seconds));
    std::printf("headless_wall_seconds: %.3f\n", headless.wall_seconds);
    std::printf("headless_cpu_seconds: %.3f\n", headless.cpu_seconds);
    std::printf("headless_records: %lld\n", static_cast<long long>(headless.records));
    std::printf("headless_events: %llu\n", static_cast<unsigned long long>(headless.events));
    std::printf("headless_digest: %s\n", headless.digest.c_str());
    std::printf("headless_records_per_second: %.0f\n",
                perSecond(double(headless.records), headless.wall_seconds));
}

// Prints the engine's records per second with the GUI against without it,
// by wall time and by CPU time, and the targets.
void printComparison(const GuiRunResult& gui, const HeadlessResult& headless) {
    int64_t gui_records = sluice::gui_bench::sourceRecords(gui.job_graph, gui.last_frame);
    printRuns(gui, gui_records, headless);

    // NOTE: the two runs are sequential, so a change in the CPU that other
    // processes take between them can move this ratio more than the GUI
    // does.
    double gui_rate = perSecond(double(gui_records), gui.wall_seconds);
    double headless_rate = perSecond(double(headless.records), headless.wall_seconds);
    double ratio = headless_rate > 0 ? 100.0 * gui_rate / headless_rate : 0;
    std::printf("engine_ratio_percent: %.1f\n", ratio);

    // Records per CPU second depend much less than records per wall second on
    // the CPU that other processes take, so they show the extra work of the
    // GUI mode apart from scheduling delays.
    double gui_cpu_rate =
        perSecond(double(gui_records), gui.process_cpu_seconds - gui.gui_thread_cpu_seconds);
    double headless_cpu_rate = perSecond(double(headless.records), headless.cpu_seconds);
    std::printf("engine_cpu_ratio_percent: %.1f\n",
                headless_cpu_rate > 0 ? 100.0 * gui_cpu_rate / headless_cpu_rate : 0);

    printTarget("stall_p99", percentile(gui.stalls_ms, 0.99) < kStallP99TargetMs,
                "stall_p99_ms < 16");
    printTarget("engine_ratio", ratio >= kEngineRatioTargetPercent, "engine_ratio_percent >= 80");
}

// Wall time that step `name` took to settle, or -1.
double settledMs(const StateInspectResult& gui, const std::string& name) {
    for (const auto& action : gui.actions) {
        if (action.name == name) {
            return action.settled_ms;
        }
    }
    return -1;
}

void printPercentiles(const char* name, std::vector<double>& values) {
    std::sort(values.begin(), values.end());
    std::printf("%s_count: %zu\n", name, values.size());
    std::printf("%s_p50_ms: %.2f\n", name, percentile(values, 0.50));
    std::printf("%s_p99_ms: %.2f\n", name, percentile(values, 0.99));
    std::printf("%s_max_ms: %.2f\n", name, values.empty() ? 0.0 : values.back());
}

void printInspection(const StateInspectOptions& options, StateInspectResult& gui) {
    std::printf("scenario: %s\n", qPrintable(options.scenario_path));
    std::printf("platform: %s\n", qPrintable(gui.platform));
    std::printf("seed: %llu\n", static_cast<unsigned long long>(gui.seed));
    std::printf("paused_at_seconds: %.3f\n", gui.paused_at_seconds);
    std::printf("paused_at_event: %llu\n", static_cast<unsigned long long>(gui.paused_at_event));
    std::printf("play_wall_seconds: %.3f\n", gui.play_wall_seconds);
    std::printf("live_rows: %llu\n", static_cast<unsigned long long>(gui.live_rows));
    std::printf("checkpoint_id: %lld\n", static_cast<long long>(gui.checkpoint_id));
    std::printf("checkpoint_rows: %llu\n", static_cast<unsigned long long>(gui.checkpoint_rows));
    std::printf("diff_rows: %llu\n", static_cast<unsigned long long>(gui.diff_rows));
    std::printf("search_text: %s\n", qPrintable(gui.search_text));
    std::printf("search_rows: %llu\n", static_cast<unsigned long long>(gui.search_rows));
    std::printf("checkpoint_search_rows: %llu\n",
                static_cast<unsigned long long>(gui.checkpoint_search_rows));
    std::printf("probe_interval_ms: %d\n", options.probe_interval_ms);

    printPercentiles("stall", gui.stalls_ms);
    std::printf("stall_max_step: %s\n", gui.stall_max_step.c_str());
    std::printf("stall_max_gui_cpu_ms: %.2f\n", gui.stall_max_gui_cpu_ms);
    auto long_stall = std::lower_bound(gui.stalls_ms.begin(), gui.stalls_ms.end(),
                                       sluice::gui_bench::kLongStallMs);
    std::printf("stalls_16_ms_or_more: %td\n", gui.stalls_ms.end() - long_stall);
    printPercentiles("scroll_stall", gui.scroll_stalls_ms);

    printPercentiles("page_latency", gui.page_latencies_ms);
    std::printf("pages_scrolled_past: %llu\n",
                static_cast<unsigned long long>(gui.pages_scrolled_past));
    std::printf("first_live_page_ms: %.1f\n", settledMs(gui, "open dock (collect live state)"));
    std::printf("first_checkpoint_read_ms: %.1f\n", settledMs(gui, "view checkpoint (first read)"));
    std::printf("first_diff_page_ms: %.1f\n", settledMs(gui, "view diff between checkpoints"));

    printPercentiles("live_play_stall", gui.play_stalls_ms);
    std::printf("live_play_simulated_seconds: %.3f to %.3f\n", gui.live_play_from_seconds,
                gui.live_play_to_seconds);
    std::printf("live_play_wall_seconds: %.3f\n", gui.live_play_wall_seconds);
    std::printf("live_play_refreshes: %llu\n",
                static_cast<unsigned long long>(gui.live_play_first_pages));

    std::printf("script_wall_seconds: %.3f\n", gui.script_wall_seconds);
    std::printf("gui_thread_cpu_seconds: %.3f\n", gui.gui_thread_cpu_seconds);
    std::printf("other_threads_cpu_seconds: %.3f\n",
                gui.process_cpu_seconds - gui.gui_thread_cpu_seconds);
    // Steps that wait for their rows, in script order. A search includes
    // the dock's delay after the last keystroke.
    for (const auto& action : gui.actions) {
        if (action.settled_ms >= 0) {
            std::printf("settled_ms \"%s\": %.1f\n", action.name.c_str(), action.settled_ms);
        }
    }
}

void printQueryTimes(const StateQueryTimes& times) {
    std::printf("engine_live_rows: %llu\n", static_cast<unsigned long long>(times.live_rows));
    std::printf("engine_live_uncached_page_ms: %.1f\n", times.live_uncached_page_ms);
    std::printf("engine_live_first_page_ms: %.1f\n", times.live_first_page_ms);
    std::printf("engine_live_cached_page_ms: %.3f\n", times.live_cached_page_ms);
    std::printf("engine_live_sort_by_value_ms: %.1f\n", times.live_other_sort_ms);
    std::printf("engine_live_search_ms: %.1f\n", times.live_search_ms);
    std::printf("engine_checkpoint_id: %lld\n", static_cast<long long>(times.checkpoint_id));
    std::printf("engine_checkpoint_rows: %llu\n",
                static_cast<unsigned long long>(times.checkpoint_rows));
    std::printf("engine_checkpoint_decode_ms: %.1f\n", times.checkpoint_decode_ms);
    std::printf("engine_checkpoint_first_page_ms: %.1f\n", times.checkpoint_first_page_ms);
    std::printf("engine_checkpoint_cached_page_ms: %.3f\n", times.checkpoint_cached_page_ms);
    std::printf("engine_checkpoint_search_page_ms: %.1f\n", times.checkpoint_search_page_ms);
    std::printf("engine_checkpoint_search_next_page_ms: %.3f\n",
                times.checkpoint_search_next_page_ms);
    std::printf("engine_diff_checkpoints_page_ms: %.1f\n", times.diff_checkpoints_page_ms);
    std::printf("engine_diff_checkpoints_next_page_ms: %.3f\n",
                times.diff_checkpoints_next_page_ms);
    std::printf("engine_diff_checkpoints_rows: %llu\n",
                static_cast<unsigned long long>(times.diff_checkpoints_rows));
    std::printf("engine_diff_live_page_ms: %.1f\n", times.diff_live_page_ms);
    std::printf("engine_diff_live_rows: %llu\n",
                static_cast<unsigned long long>(times.diff_live_rows));
}

void printInspectionTargets(const StateInspectResult& gui) {
    printTarget("stall_p99", percentile(gui.stalls_ms, 0.99) < kStallP99TargetMs,
                "stall_p99_ms < 16");
    double scroll_max = gui.scroll_stalls_ms.empty() ? 0.0 : gui.scroll_stalls_ms.back();
    printTarget("scroll_stall_max", scroll_max < kScrollStallMaxTargetMs,
                "scroll_stall_max_ms < 250");
}

struct Arguments {
    bool inspect_state = false;
    GuiRunOptions play;
    StateInspectOptions inspect;
};

// Returns the exit status to use, or -1 to go on.
int parseArguments(const QApplication& app, Arguments* arguments) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Measures GUI event-loop stalls, telemetry frames and engine throughput while the "
        "GUI plays a scenario at full speed, against a headless run of the same span. With "
        "--inspect-state, measures the stalls and page latencies of the Keyed State dock "
        "over a large keyed state instead."));
    parser.addHelpOption();
    parser.addPositionalArgument(
        "scenario", QStringLiteral("Scenario to play. Default: scenarios/wide-64.textproto, or "
                                   "scenarios/state-1m.textproto with --inspect-state, "
                                   "relative to the working directory."));
    QCommandLineOption seconds(QStringLiteral("seconds"),
                               QStringLiteral("Wall seconds of play (default 30)."), "N", "30");
    QCommandLineOption probe(QStringLiteral("probe-ms"),
                             QStringLiteral("Interval of the GUI thread's probe timer in ms "
                                            "(default 1)."),
                             "N", "1");
    QCommandLineOption until(QStringLiteral("until-ms"),
                             QStringLiteral("Simulated time limit of the run in ms, which "
                                            "replaces the scenario's run.until_ms (default "
                                            "one day)."),
                             "N", QString::number(kDefaultUntilMs));
    QCommandLineOption inspect(QStringLiteral("inspect-state"),
                               QStringLiteral("Drive the Keyed State dock over a paused run "
                                              "instead of playing for --seconds."));
    QCommandLineOption pause_at(QStringLiteral("pause-at-ms"),
                                QStringLiteral("With --inspect-state: simulated time in ms at "
                                               "which the run pauses (default 6000)."),
                                "N", "6000");
    QCommandLineOption search(QStringLiteral("search"),
                              QStringLiteral("With --inspect-state: text typed into the key "
                                             "search (default key-1234)."),
                              "TEXT", "key-1234");
    parser.addOptions({seconds, probe, until, inspect, pause_at, search});
    parser.process(app);

    arguments->inspect_state = parser.isSet(inspect);
    GuiRunOptions* options = &arguments->play;
    options->scenario_path = parser.positionalArguments().value(
        0, arguments->inspect_state ? QStringLiteral("scenarios/state-1m.textproto")
                                    : QStringLiteral("scenarios/wide-64.textproto"));
    bool seconds_ok = false;
    bool probe_ok = false;
    bool until_ok = false;
    bool pause_ok = false;
    options->seconds = parser.value(seconds).toDouble(&seconds_ok);
    options->probe_interval_ms = parser.value(probe).toInt(&probe_ok);
    options->until_ms = parser.value(until).toLongLong(&until_ok);
    StateInspectOptions* inspect_options = &arguments->inspect;
    inspect_options->scenario_path = options->scenario_path;
    inspect_options->probe_interval_ms = options->probe_interval_ms;
    inspect_options->until_ms = options->until_ms;
    inspect_options->pause_at_ms = parser.value(pause_at).toLongLong(&pause_ok);
    inspect_options->search_text = parser.value(search);

    if (!seconds_ok || options->seconds <= 0 || options->seconds > 3600 || !probe_ok ||
        options->probe_interval_ms <= 0 || !until_ok || options->until_ms <= 0 || !pause_ok ||
        inspect_options->pause_at_ms <= 0 || inspect_options->search_text.isEmpty()) {
        std::fprintf(stderr,
                     "sluice-gui-bench: invalid option value: --seconds takes 0 < N <= 3600, "
                     "--probe-ms, --until-ms and --pause-at-ms a positive integer, --search a "
                     "non-empty text.\n");
        return kExitUsage;
    }
    return -1;
}

int runPlay(const GuiRunOptions& options) {
    GuiRunResult gui = sluice::gui_bench::runGui(options);
    if (!gui.error.empty()) {
        std::fprintf(stderr, "sluice-gui-bench: the GUI run failed: %s\n", gui.error.c_str());
        return kExitRunFailed;
    }
    if (gui.stopped_early) {
        std::fprintf(stderr, "sluice-gui-bench: %s after %.1f s wall; the rates cover that span\n",
                     gui.stopped_early->c_str(), gui.wall_seconds);
    }
    printGui(options, gui);
    std::fflush(stdout);

    std::fprintf(stderr, "progress: headless run to %.3f s simulated\n",
                 double(gui.last_frame.status().now_ns()) / 1e9);
    HeadlessResult headless =
        runHeadless(options.scenario_path.toStdString(), gui.last_frame.status().seed(),
                    options.until_ms, gui.last_frame.status().now_ns());
    if (!headless.error.empty()) {
        std::fprintf(stderr, "sluice-gui-bench: the headless run failed: %s\n",
                     headless.error.c_str());
        return kExitRunFailed;
    }
    printComparison(gui, headless);
    return kExitOk;
}

int runInspect(const StateInspectOptions& options) {
    StateInspectResult gui = sluice::gui_bench::runStateInspection(options);
    if (!gui.error.empty()) {
        std::fprintf(stderr, "sluice-gui-bench: the Keyed State run failed: %s\n",
                     gui.error.c_str());
        return kExitRunFailed;
    }
    printInspection(options, gui);
    std::fflush(stdout);

    std::fprintf(stderr, "progress: engine-side query times at event %llu\n",
                 static_cast<unsigned long long>(gui.paused_at_event));
    StateQueryTimes times = sluice::gui_bench::timeStateQueries(
        options.scenario_path.toStdString(), gui.seed, options.until_ms, gui.paused_at_event,
        options.search_text.toStdString());
    if (!times.error.empty()) {
        std::fprintf(stderr, "sluice-gui-bench: the headless query run failed: %s\n",
                     times.error.c_str());
        return kExitRunFailed;
    }
    printQueryTimes(times);
    printInspectionTargets(gui);
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    // Its own settings file, so the benchmark leaves the GUI's settings alone.
    QApplication::setOrganizationName(QStringLiteral("Sluice"));
    QApplication::setApplicationName(QStringLiteral("sluice-gui-bench"));

    Arguments arguments;
    if (int status = parseArguments(app, &arguments); status >= 0) {
        return status;
    }
    return arguments.inspect_state ? runInspect(arguments.inspect) : runPlay(arguments.play);
}
