// The command handlers of EngineService: one function per Request kind.
// Commands that move the run are in engine_moves.cpp.

#include "runtime/core/log.h"
#include "sim/checkpoint_queries.h"
#include "sim/engine_queries.h"
#include "sim/engine_service_impl.h"
#include "sim/recording.h"
#include "sim/scenario_loader.h"
#include "sim/state_export.h"
#include "sim/state_inspector_queries.h"

#include <filesystem>
#include <sstream>

namespace sluice::sim {

namespace {

// The verdict as the protocol shows it, with the engine's warnings.
protocol::Verdict verdictMessage(const Verdict& verdict, const Engine& engine) {
    protocol::Verdict message;
    message.set_available(true);
    message.set_pass(verdict.pass);
    message.set_event_index(engine.eventCount());
    if (!verdict.violations.empty()) {
        message.set_explanation(verdict.violations.front().explanation);
        if (verdict.violations.front().event_index != kNoEventIndex) {
            message.set_event_index(verdict.violations.front().event_index);
        }
    } else if (!verdict.pass) {
        message.set_explanation(verdict.summary());
    }
    for (const auto& violation : verdict.violations) {
        message.add_violations(violation.explanation);
    }
    for (const auto& warning : engine.warnings()) {
        message.add_warnings(warning);
    }
    for (const auto& fault : engine.unfiredFaults()) {
        message.add_warnings(fault + " never fired; its trigger did not match");
    }
    return message;
}

std::string versionMismatch(uint32_t version) {
    return "protocol version mismatch: the request has version " + std::to_string(version) +
           ", this engine (sluice " + buildVersion() + ") speaks version " +
           std::to_string(protocol::VERSION_CURRENT) +
           "; use a client and an engine of the same Sluice build";
}

}  // namespace

std::string requestCommandName(const protocol::Request& request) {
    const auto* field =
        protocol::Request::descriptor()->FindFieldByNumber(int(request.command_case()));
    return field ? field->name() : "unknown command";
}

protocol::Reply EngineService::Impl::handle(const protocol::Request& request) {
    protocol::Reply reply;
    reply.set_version(protocol::VERSION_CURRENT);
    reply.set_request_id(request.request_id());
    std::string error = request.version() != protocol::VERSION_CURRENT
                            ? versionMismatch(request.version())
                            : dispatch(request, &reply);
    if (!error.empty()) {
        log::warning("service", "request.failed",
                     {{"request", std::to_string(request.request_id())},
                      {"command", requestCommandName(request)},
                      {"error", error}});
    }
    reply.set_error(error);
    *reply.mutable_status() = status();
    return reply;
}

std::string EngineService::Impl::dispatch(const protocol::Request& request,
                                          protocol::Reply* reply) {
    using Request = protocol::Request;
    std::string error;
    if (request.command_case() != Request::kHello && request.command_case() != Request::kShutdown &&
        request.command_case() != Request::kLoadScenario &&
        request.command_case() != Request::kLoadRecording &&
        request.command_case() != Request::kSetSpeed && !requireRun(&error)) {
        return error;
    }
    if (std::string busy = busyError(request); !busy.empty()) {
        return busy;
    }
    switch (request.command_case()) {
        case Request::kHello:
            reply->mutable_hello()->set_build_version(buildVersion());
            reply->mutable_hello()->set_telemetry_address(telemetry_address);
            return {};
        case Request::kLoadScenario:
            return loadScenario(request.load_scenario());
        case Request::kLoadRecording:
            return loadRecording(request.load_recording());
        case Request::kPlay:
            playing_ = !run_->engine().isOver();
            resetPacing();
            publishFrame();
            return {};
        case Request::kPause:
            if (move_) {
                finishMove("interrupted by Pause at event " +
                           std::to_string(run_->engine().eventCount()));
            }
            playing_ = false;
            publishEvents();
            publishFrame();
            return {};
        case Request::kSetSpeed:
            if (!(request.set_speed().sim_ms_per_wall_second() >= 0)) {
                return "invalid speed " +
                       std::to_string(request.set_speed().sim_ms_per_wall_second()) +
                       ": expected simulated milliseconds per wall second, 0 or above";
            }
            sim_ms_per_wall_second_ = request.set_speed().sim_ms_per_wall_second();
            resetPacing();
            return {};
        case Request::kStepEvent:
            return stepEvents(request);
        case Request::kStepToBarrierEvent:
            return stepToBarrierEvent(request);
        case Request::kRunToCheckpoint:
            return runToCheckpoint(request);
        case Request::kSeek:
            return seek(request, request.seek().event_index());
        case Request::kInjectFault:
            return injectFault(request.inject_fault());
        case Request::kQueryKeyedState:
            if (request.query_keyed_state().checkpoint_id() != 0) {
                return queryCheckpointKeyedState(run_->engine(), request.query_keyed_state(),
                                                 state_cache_, checkpoint_views_,
                                                 reply->mutable_keyed_state());
            }
            return queryKeyedState(run_->engine(), request.query_keyed_state(), live_state_cache_,
                                   reply->mutable_keyed_state());
        case Request::kStateQueryDiff:
            return queryStateDiff(run_->engine(), request.state_query_diff(), state_cache_,
                                  state_diffs_, reply->mutable_state_diff());
        case Request::kStateExportQuery: {
            std::ostringstream out;
            std::string error = writeKeyedStateCsv(out, run_->engine(),
                                                   request.state_export_query().checkpoint_id());
            if (error.empty()) {
                reply->mutable_state_export()->set_data(out.str());
            }
            return error;
        }
        case Request::kStateQuerySources:
            *reply->mutable_state_sources() = queryStateSources(run_->engine());
            return {};
        case Request::kQueryMetrics:
            *reply->mutable_metrics() = queryMetrics(run_->engine(), request.query_metrics());
            return {};
        case Request::kQueryJobGraph:
            *reply->mutable_job_graph() = queryJobGraph(run_->engine());
            return {};
        case Request::kSaveRecording:
            return saveRecording(request.save_recording());
        case Request::kQueryCheckpoints:
            *reply->mutable_checkpoints() =
                queryCheckpoints(run_->engine(), events_.triggerEvents());
            return {};
        case Request::kCheckpointDetailsQuery:
            *reply->mutable_checkpoint_details() =
                queryCheckpointDetails(run_->engine(), events_.triggerEvents());
            return {};
        case Request::kCheckpointSharedStateQuery:
            *reply->mutable_checkpoint_shared_state() = queryCheckpointSharedState(run_->engine());
            return {};
        case Request::kCheckpointExportQuery:
            return queryCheckpointExport(run_->engine(), request.checkpoint_export_query(),
                                         reply->mutable_checkpoint_export());
        case Request::kShutdown:
            shutdown_requested_ = true;
            return {};
        case Request::COMMAND_NOT_SET:
            break;
    }
    return "invalid request: no command set, or a command this engine does not know";
}

bool EngineService::Impl::requireRun(std::string* error) const {
    if (!run_) {
        *error = "no scenario loaded; send LoadScenario or LoadRecording first";
        return false;
    }
    return true;
}

ReplayableRun::EngineBuilt EngineService::Impl::engineBuilt() {
    return [this](Engine& engine) {
        // The new engine may have the address of a destroyed one.
        live_state_cache_.clear();
        state_diffs_.clear();
        events_.attach(engine);
    };
}

std::string EngineService::Impl::loadScenario(const protocol::LoadScenario& load) {
    if (load.path().empty() && load.text().empty()) {
        return "LoadScenario needs a path or a scenario text";
    }
    std::variant<LoadedScenario, ScenarioError> loaded;
    if (load.text().empty()) {
        loaded = loadScenarioFile(load.path());
    } else {
        std::filesystem::path path = load.path().empty() ? "scenario.textproto" : load.path();
        std::filesystem::path base_dir = load.path().empty()
                                             ? std::filesystem::current_path()
                                             : std::filesystem::absolute(path).parent_path();
        loaded = parseScenario(load.text(), path.string(), base_dir, path.extension() == ".json");
    }
    if (auto* error = std::get_if<ScenarioError>(&loaded)) {
        return error->format();
    }
    EngineOptions options = options_.engine;
    if (load.has_seed()) {
        options.seed = load.seed();
    }
    auto built = ReplayableRun::fromScenario(std::get<LoadedScenario>(std::move(loaded)), options,
                                             engineBuilt());
    if (auto* error = std::get_if<ScenarioError>(&built)) {
        return error->format();
    }
    adoptRun(std::move(std::get<std::unique_ptr<ReplayableRun>>(built)), load.path());
    return {};
}

std::string EngineService::Impl::loadRecording(const protocol::LoadRecording& load) {
    auto read = readRecording(load.path());
    if (auto* error = std::get_if<RecordingError>(&read)) {
        return error->message;
    }
    auto built = ReplayableRun::fromRecording(std::get<Recording>(std::move(read)), options_.engine,
                                              engineBuilt());
    if (auto* error = std::get_if<ScenarioError>(&built)) {
        return "cannot rebuild the recorded run: " + error->format();
    }
    adoptRun(std::move(std::get<std::unique_ptr<ReplayableRun>>(built)), load.path());
    return {};
}

void EngineService::Impl::adoptRun(std::unique_ptr<ReplayableRun> run, std::string scenario_path) {
    clearVerdict();
    run_ = std::move(run);
    scenario_path_ = std::move(scenario_path);
    playing_ = false;
    resetPacing();
    log::info("service", "scenario.loaded",
              {{"scenario", run_->engine().scenario().path.string()},
               {"seed", std::to_string(run_->engine().seed())}});
    events_.poll();
    publishEvents();
    publishFrame();
}

void EngineService::Impl::afterMove() {
    events_.poll();
    if (run_->engine().isOver() && !verdict_done_ && !reference_) {
        startVerdict();
    }
    resetPacing();
    publishEvents();
    publishFrame();
}

std::string EngineService::Impl::injectFault(const protocol::InjectFault& inject) {
    if (run_->engine().isOver()) {
        return "the run is over (" + std::string(runStateName(run_->engine().runState())) +
               "); seek back to inject a fault";
    }
    if (std::string error = run_->injectFault(inject.fault()); !error.empty()) {
        return "invalid fault: " + error;
    }
    afterMove();
    return {};
}

std::string EngineService::Impl::saveRecording(const protocol::SaveRecording& save) {
    if (save.path().empty()) {
        return "SaveRecording needs a path";
    }
    Recording recording =
        recordingOf(run_->engine(), run_->options(), verdict_ ? &*verdict_ : nullptr);
    if (std::string error = writeRecording(recording, save.path()); !error.empty()) {
        return error;
    }
    log::info("service", "recording.saved",
              {{"path", save.path()}, {"event", std::to_string(run_->engine().eventCount())}});
    return {};
}

void EngineService::Impl::startVerdict() {
    const Engine& engine = run_->engine();
    if (!wantsVerdict(engine.scenario().proto) && engine.firedFaults().empty()) {
        verdict_done_ = true;
        return;
    }
    auto built = referenceEngineFor(engine);
    if (auto* error = std::get_if<ScenarioError>(&built)) {
        verdict_done_ = true;
        verdict_message_.set_available(true);
        verdict_message_.set_pass(false);
        verdict_message_.set_explanation("the reference run failed to start: " + error->format());
        return;
    }
    reference_ = std::move(std::get<std::unique_ptr<Engine>>(built));
    log::info("service", "verdict.started", {{"scenario", engine.scenario().path.string()}});
}

void EngineService::Impl::finishVerdict() {
    const Engine& engine = run_->engine();
    Verdict verdict = checkRun(engine, *reference_);
    reference_.reset();
    verdict_done_ = true;
    verdict_message_ = verdictMessage(verdict, engine);

    protocol::Event event;
    event.set_event_index(verdict_message_.event_index());
    event.set_time_ns(engine.now());
    event.set_kind(protocol::Event::VERDICT);
    event.set_vertex(-1);
    event.set_subtask(-1);
    event.set_text("verdict: " + verdict.summary());
    events_.add(std::move(event));
    log::info("service", "verdict.finished", {{"verdict", verdict.summary()}});
    verdict_ = std::move(verdict);
    publishEvents();
    publishFrame();
}

void EngineService::Impl::clearVerdict() {
    reference_.reset();
    verdict_.reset();
    verdict_message_.Clear();
    verdict_done_ = false;
}

protocol::Status EngineService::Impl::status() const {
    ServiceStatus service;
    service.playing = playing_;
    service.sim_ms_per_wall_second = sim_ms_per_wall_second_;
    service.events_per_second = events_per_second_;
    service.verdict = verdict_message_;
    service.verdict.set_checking(reference_ != nullptr);
    protocol::Status result;
    fillStatus(run_ ? &run_->engine() : nullptr, service, &result);
    if (run_ && !scenario_path_.empty()) {
        result.set_scenario_path(scenario_path_);
    }
    return result;
}

}  // namespace sluice::sim
