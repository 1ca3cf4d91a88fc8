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
// Prints one "name: value" line per measurement and a PASS or MISS line per
// target; progress goes to standard error. Exit status 0 whether or not the
// targets are met, 1 when a run failed, 2 for invalid usage.

#include "app/gui_bench_run.h"
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

constexpr int kExitOk = 0;
constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;

// Targets: a stall of one 60 Hz frame is visible as a stutter, and the GUI
// may take at most a fifth of the engine's throughput.
constexpr double kStallP99TargetMs = sluice::gui_bench::kLongStallMs;
constexpr double kEngineRatioTargetPercent = 80;

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

// Returns the exit status to use, or -1 to go on.
int parseArguments(const QApplication& app, GuiRunOptions* options) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Measures GUI event-loop stalls, telemetry frames and engine throughput while the "
        "GUI plays a scenario at full speed, against a headless run of the same span."));
    parser.addHelpOption();
    parser.addPositionalArgument(
        "scenario", QStringLiteral("Scenario to play. Default: scenarios/wide-64.textproto, "
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
    parser.addOptions({seconds, probe, until});
    parser.process(app);

    options->scenario_path =
        parser.positionalArguments().value(0, QStringLiteral("scenarios/wide-64.textproto"));
    bool seconds_ok = false;
    bool probe_ok = false;
    bool until_ok = false;
    options->seconds = parser.value(seconds).toDouble(&seconds_ok);
    options->probe_interval_ms = parser.value(probe).toInt(&probe_ok);
    options->until_ms = parser.value(until).toLongLong(&until_ok);

    if (!seconds_ok || options->seconds <= 0 || options->seconds > 3600 || !probe_ok ||
        options->probe_interval_ms <= 0 || !until_ok || options->until_ms <= 0) {
        std::fprintf(stderr,
                     "sluice-gui-bench: invalid option value: --seconds takes 0 < N <= 3600, "
                     "--probe-ms and --until-ms a positive integer.\n");
        return kExitUsage;
    }
    return -1;
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    // Its own settings file, so the benchmark leaves the GUI's settings alone.
    QApplication::setOrganizationName(QStringLiteral("Sluice"));
    QApplication::setApplicationName(QStringLiteral("sluice-gui-bench"));

    GuiRunOptions options;
    if (int status = parseArguments(app, &options); status >= 0) {
        return status;
    }

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
