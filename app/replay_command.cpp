// sluice-run --replay: re-executes a recording and verifies its digests.

#include "app/run_command.h"
#include "sim/recording.h"
#include "sim/run_check.h"

#include <cstdio>
#include <string>

namespace sluice::app {

using sim::Engine;

void printReplayHeader(const Options& options, const sluice::sim::Recording& recording) {
    const auto& header = recording.header;
    size_t injected = 0;
    for (const auto& fault : recording.faults) {
        injected += fault.injected() ? 1 : 0;
    }
    const std::string until = header.until_ms() >= sluice::sim::kBoundedJobLimitMs
                                  ? "until the job ends"
                                  : "until " + std::to_string(header.until_ms()) + " ms";
    std::printf("replay of %s: scenario %s (seed %llu, %s), recorded by sluice %s\n",
                options.replay.c_str(), header.scenario_path().c_str(),
                static_cast<unsigned long long>(header.seed()), until.c_str(),
                header.build_version().c_str());
    if (header.build_version() != sluice::sim::buildVersion()) {
        std::printf(
            "note: this is sluice %s; a change of the simulation in between can change "
            "the digests\n",
            sluice::sim::buildVersion());
    }
    std::printf(
        "recorded faults: %zu (%zu injected at run time, applied again at their event "
        "index), %zu checkpoint digests, %s at event %llu\n",
        recording.faults.size(), injected, recording.checkpoints.size(),
        recording.final.run_state().c_str(),
        static_cast<unsigned long long>(recording.final.event_count()));
    if (recording.final.checked()) {
        std::printf("recorded verdict: %s\n", recording.final.verdict_summary().c_str());
    }
}

// Prints the comparison; returns the exit status.
int printReplayCheck(const sluice::sim::ReplayCheck& check) {
    if (check.match) {
        std::printf("replay: OK, %zu checkpoint digests and the final digest match\n",
                    check.checkpoints_compared);
        return kExitOk;
    }
    if (check.expected_checkpoint || check.actual_checkpoint) {
        const auto& expected = check.expected_checkpoint;
        const auto& actual = check.actual_checkpoint;
        int64_t id = expected ? expected->checkpoint_id() : actual->checkpoint_id;
        std::printf(
            "replay: DIVERGED at checkpoint %lld: expected digest %s at event %s, got %s "
            "at event %s (%zu earlier checkpoint digests matched)\n",
            static_cast<long long>(id),
            expected ? sluice::sim::digestHex(expected->digest()).c_str() : "(none)",
            expected ? std::to_string(expected->event_index()).c_str() : "-",
            actual ? sluice::sim::digestHex(actual->digest).c_str() : "(none)",
            actual ? std::to_string(actual->event_index).c_str() : "-", check.checkpoints_compared);
    } else {
        std::printf("replay: DIVERGED after all %zu checkpoint digests matched\n",
                    check.checkpoints_compared);
    }
    for (const auto& difference : check.differences) {
        std::printf("  %s\n", difference.c_str());
    }
    return kExitRunFailed;
}

int runReplayCommand(const Options& options) {
    auto read = sluice::sim::readRecording(options.replay);
    if (auto* error = std::get_if<sluice::sim::RecordingError>(&read)) {
        std::fprintf(stderr, "sluice-run: %s\n", error->message.c_str());
        return kExitUsage;
    }
    const auto& recording = std::get<sluice::sim::Recording>(read);
    printReplayHeader(options, recording);
    sluice::sim::EngineOptions engine_options;
    engine_options.checkpoint_dir = options.engine.checkpoint_dir;
    auto built = sluice::sim::replayEngineFor(recording, engine_options);
    if (auto* error = std::get_if<sluice::sim::ScenarioError>(&built)) {
        std::fprintf(stderr, "sluice-run: cannot rebuild the recorded run: %s\n",
                     error->format().c_str());
        return kExitUsage;
    }
    Engine& engine = *std::get<std::unique_ptr<Engine>>(built);
    auto wall_start = std::chrono::steady_clock::now();
    if (!runStoppable(engine, [&] { sluice::sim::runReplay(engine, recording); })) {
        std::fprintf(stderr, "sluice-run: stopped by a signal at %.3f s simulated\n",
                     double(engine.now()) / 1e9);
        return kExitRunFailed;
    }
    std::printf("\n");
    printRunSummary(engine, options, secondsSince(wall_start));
    std::optional<sluice::sim::Verdict> verdict;
    if (options.check.value_or(false)) {
        std::printf("\n");
        verdict = printVerdict(engine);
    }
    std::printf("\n");
    int status = writeOutputs(engine, options);
    std::printf("digest: %s\n", engine.digestHex().c_str());
    int replay_status = printReplayCheck(sluice::sim::compareReplay(recording, engine));
    if (status != kExitOk) {
        return status;
    }
    if (replay_status != kExitOk || (options.check.value_or(false) && !verdict)) {
        return kExitRunFailed;
    }
    return verdict && !verdict->pass ? kExitRunFailed : kExitOk;
}

}  // namespace sluice::app
