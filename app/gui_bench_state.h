#pragma once

// The Keyed State half of sluice-gui-bench (--inspect-state). The real
// MainWindow over an in-process EngineService plays a scenario with a large
// keyed state and pauses. Then a script drives the Keyed State dock as a
// user would: it opens the dock, scrolls, jumps, sorts, searches and
// switches to a checkpoint. Meanwhile a timer on the GUI thread measures how
// late the event loop serves it, and how long the rows on screen wait for
// their pages.

#include <QString>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::gui_bench {

struct StateInspectOptions {
    QString scenario_path;
    // Simulated time at which the run pauses before the dock is used.
    int64_t pause_at_ms = 6000;
    int probe_interval_ms = 1;
    int64_t until_ms = 0;  // the engine's simulated time limit
    // Typed into the search field, in the live and the checkpoint view.
    QString search_text = QStringLiteral("key-1234");
};

// One step of the script and the wall time from its action (a scroll, a
// click, the last keystroke) until every row on screen had its page.
struct StateAction {
    std::string name;
    bool scrolling = false;  // part of the scrolling that the stall target covers
    // -1 when the step does not wait for the rows, such as one notch of a
    // continuous scroll.
    double settled_ms = -1;
};

struct StateInspectResult {
    QString platform;
    uint64_t seed = 0;
    double paused_at_seconds = 0;  // simulated
    uint64_t paused_at_event = 0;
    // Wall time from the Play request to the reply to Pause.
    double play_wall_seconds = 0;
    // Lateness of each probe timeout while the script ran, in ms: all of
    // them, and those during the scrolling steps.
    std::vector<double> stalls_ms;
    std::vector<double> scroll_stalls_ms;
    std::string stall_max_step;
    double stall_max_gui_cpu_ms = 0;
    // Wall time from the first probe that saw a page's rows on screen
    // without data to the first probe that saw them loaded, in ms, per
    // page and view.
    std::vector<double> page_latencies_ms;
    // Pages that left the screen before they arrived.
    uint64_t pages_scrolled_past = 0;
    std::vector<StateAction> actions;
    // The last phase plays the run slowly with the live view on screen.
    // These are the probe's lateness meanwhile, the simulated time the
    // phase covered, its wall time up to the reply to Pause, and the first
    // pages that arrived, one per refresh of the view.
    std::vector<double> play_stalls_ms;
    double live_play_from_seconds = 0;
    double live_play_to_seconds = 0;
    double live_play_wall_seconds = 0;
    uint64_t live_play_first_pages = 0;
    uint64_t live_rows = 0;
    uint64_t checkpoint_rows = 0;
    int64_t checkpoint_id = 0;
    // Rows that the key search found in the live state and in the checkpoint.
    uint64_t search_rows = 0;
    uint64_t checkpoint_search_rows = 0;
    uint64_t diff_rows = 0;  // keys that differ between the two newest checkpoints
    QString search_text;
    double script_wall_seconds = 0;
    double gui_thread_cpu_seconds = 0;
    double process_cpu_seconds = 0;
    // Set when the run failed: the service did not start, the scenario did
    // not load, a step timed out or the connection was lost.
    std::string error;
};

// Runs the script. Needs a QApplication; runs its event loop.
StateInspectResult runStateInspection(const StateInspectOptions& options);

// Wall times of the engine-side work alone, without the GUI, on a headless
// engine of the same scenario and seed run to the same simulated time.
struct StateQueryTimes {
    uint64_t live_rows = 0;
    double live_uncached_page_ms = 0;  // liveStateRows and sortStateRows
    double live_first_page_ms = 0;     // collect and sort into the cache
    double live_cached_page_ms = 0;
    double live_search_ms = 0;  // a key filter over the cached rows
    double live_other_sort_ms = 0;
    int64_t checkpoint_id = 0;
    uint64_t checkpoint_rows = 0;
    double checkpoint_decode_ms = 0;      // readCheckpointState
    double checkpoint_first_page_ms = 0;  // decode, keep, sort by key
    double checkpoint_cached_page_ms = 0;
    double checkpoint_search_page_ms = 0;  // the first page of a key filter
    double checkpoint_search_next_page_ms = 0;
    // One page of the diff between the two newest retained checkpoints, and
    // of the diff from the newest one to the live state, with their totals.
    double diff_checkpoints_page_ms = 0;
    double diff_checkpoints_next_page_ms = 0;  // from the kept diff
    uint64_t diff_checkpoints_rows = 0;
    double diff_live_page_ms = 0;
    uint64_t diff_live_rows = 0;
    std::string error;
};

StateQueryTimes timeStateQueries(const std::string& scenario_path, uint64_t seed, int64_t until_ms,
                                 uint64_t event_index, const std::string& search_text);

}  // namespace sluice::gui_bench
