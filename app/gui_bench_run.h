#pragma once

// The GUI half of sluice-gui-bench: the real MainWindow over an in-process
// EngineService, as `sluice` runs it, playing one scenario at full speed.
// Meanwhile a timer on the GUI thread measures how late the event loop
// serves it.

#include "proto/engine_protocol.pb.h"

#include <QString>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sluice::ui {
class EngineSession;
class MainWindow;
}  // namespace sluice::ui

namespace sluice::gui_bench {

// A stall this long or longer shows as a stutter: one frame at 60 Hz.
constexpr double kLongStallMs = 16;

struct GuiRunOptions {
    QString scenario_path;
    double seconds = 30;  // wall time of play
    int probe_interval_ms = 1;
    int64_t until_ms = 0;  // the engine's simulated time limit
};

struct GuiRunResult {
    // Lateness of each probe timeout: the wall time since the previous one
    // minus the probe interval, clamped at 0, in milliseconds.
    std::vector<double> stalls_ms;
    // Wall time since the Play request at which the longest stall ended.
    double stall_max_at_seconds = 0;
    // CPU time of the GUI thread from the probe timeout before the longest
    // stall to the one that ended it. Far below the stall, it means that the
    // thread waited (for a core, or blocked) rather than worked.
    double stall_max_cpu_ms = 0;
    // Sums over the stalls of at least kLongStallMs: their wall time, with
    // the probe interval, and the GUI thread's CPU time during them.
    double long_stalls_wall_ms = 0;
    double long_stalls_cpu_ms = 0;
    uint64_t frames = 0;
    uint64_t event_batches = 0;
    uint64_t events = 0;
    // Wall time from the Play request to the receipt of the last frame.
    double wall_seconds = 0;
    // CPU time (user and system) from the Play request to the end of the
    // measurement: of the GUI thread, and of the whole process. The rest of
    // the process is mostly the engine thread, the client's socket thread
    // and the ZeroMQ I/O thread.
    double gui_thread_cpu_seconds = 0;
    double process_cpu_seconds = 0;
    protocol::Frame last_frame;
    protocol::JobGraph job_graph;
    QString platform;
    // Set when the run failed: the service did not start, the scenario did
    // not load, a command failed or the connection was lost. The numbers
    // above are then incomplete.
    std::string error;
    // Set when the engine left PLAYING before the wall time was up, such as
    // at the simulated time limit.
    std::optional<std::string> stopped_early;
};

// Starts an in-process EngineService (engine time limit `until_ms`), a
// client, session and shown MainWindow over it, as `sluice` does, and calls
// `drive`, which runs the event loop. Returns an empty string, or why the
// service or the client did not start.
std::string runWithMainWindow(
    int64_t until_ms, const std::function<void(ui::EngineSession*, ui::MainWindow*)>& drive);

// Runs the GUI for `options.seconds` after the scenario loaded, then pauses
// the engine and returns. Needs a QApplication; runs its event loop.
GuiRunResult runGui(const GuiRunOptions& options);

// Sum of records_out over the subtasks of the job's sources (vertices
// without an incoming edge).
int64_t sourceRecords(const protocol::JobGraph& graph, const protocol::Frame& frame);

// CPU time (user and system) of the calling thread, or with `whole_process`
// of every thread of the process, in seconds.
double cpuSeconds(bool whole_process);

}  // namespace sluice::gui_bench
