#include "sim/engine_service.h"

#include "runtime/core/log.h"
#include "sim/engine_service_impl.h"
#include "sim/scenario_loader.h"
#include "sim/service_address.h"

#include <zmq_addon.hpp>

#include <algorithm>
#include <iterator>

namespace sluice::sim {

namespace {

// Maximum wait on the command socket while paused: the loop also checks
// stop() this often.
constexpr int kIdleWaitMs = 50;
// Events per EventBatch message.
constexpr size_t kEventsPerBatch = 1000;
// Frames while a command moves the run, such as a long seek.
constexpr auto kProgressInterval = std::chrono::seconds(1);

}  // namespace

EngineService::Impl::Impl(zmq::context_t& context, EngineServiceOptions options)
    : options_(std::move(options)),
      commands_(context, zmq::socket_type::router),
      telemetry_(context, zmq::socket_type::pub) {
    // The GUI's state inspector shows the state across each failure.
    options_.engine.keep_failure_states = true;
    options_.engine.keep_snapshot_update_times = true;
    commands_.set(zmq::sockopt::linger, 0);
    telemetry_.set(zmq::sockopt::linger, 0);
}

std::string EngineService::Impl::bind(zmq::socket_t& socket, const std::string& address,
                                      const char* what, std::string* bound) {
    if (std::string error = checkServiceAddress(address, options_.allow_remote); !error.empty()) {
        return std::string("cannot bind the ") + what + " socket: " + error;
    }
    try {
        socket.bind(address);
    } catch (const zmq::error_t& error) {
        std::string hint = error.num() == EADDRINUSE ? "; choose another port or address" : "";
        return std::string("cannot bind the ") + what + " socket to " + address + ": " +
               error.what() + hint;
    }
    // The endpoint as bound, with the port of "tcp://127.0.0.1:0" filled in.
    *bound = socket.get(zmq::sockopt::last_endpoint);
    return {};
}

std::string EngineService::Impl::start() {
    if (started_) {
        return "the engine service was started already";
    }
    if (std::string error = bind(commands_, options_.command_address, "command", &command_address);
        !error.empty()) {
        return error;
    }
    if (std::string error =
            bind(telemetry_, options_.telemetry_address, "telemetry", &telemetry_address);
        !error.empty()) {
        commands_.close();
        return error;
    }
    if (!options_.scenario_path.empty()) {
        protocol::LoadScenario load;
        load.set_path(options_.scenario_path);
        if (std::string error = loadScenario(load); !error.empty()) {
            commands_.close();
            telemetry_.close();
            return error;
        }
    }
    started_ = true;
    log::info("service", "service.started",
              {{"commands", command_address}, {"telemetry", telemetry_address}});
    thread_ = std::thread([this] { loop(); });
    return {};
}

void EngineService::Impl::stop() {
    stop_requested_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
}

bool EngineService::Impl::waitFor(std::optional<std::chrono::milliseconds> timeout) {
    std::unique_lock lock(done_mutex_);
    if (!timeout) {
        done_changed_.wait(lock, [this] { return done_ || !started_; });
        return true;
    }
    return done_changed_.wait_for(lock, *timeout, [this] { return done_ || !started_; });
}

void EngineService::Impl::loop() {
    resetPacing();
    while (!stop_requested_ && !shutdown_requested_) {
        bool busy = playing_ || move_ || reference_;
        serveRequests(busy ? idleWaitMs() : kIdleWaitMs);
        if (move_) {
            moveSlice();
        } else if (playing_) {
            playSlice();
        } else if (reference_) {
            verdictSlice();
        }
        updateEventRate();
    }
    if (move_) {
        finishMove("the engine service stopped before the " + move_->command + " ended");
    }
    publishEvents();
    log::info("service", "service.stopped",
              {{"commands", command_address},
               {"reason", shutdown_requested_ ? "shutdown request" : "stop"}});
    commands_.close();
    telemetry_.close();
    std::lock_guard lock(done_mutex_);
    done_ = true;
    done_changed_.notify_all();
}

// Returns how long to wait for a command before the next event is due, while
// playing at a set speed ahead of the wall clock, or 0 when work is waiting.
int EngineService::Impl::idleWaitMs() const {
    if (!playing_ || sim_ms_per_wall_second_ <= 0 || !run_) {
        return 0;
    }
    Nanos next = run_->engine().nextEventTime();
    if (next < 0) {
        return 0;
    }
    double wall_ms = double(next - pace_sim_start_ns_) / 1e6 / sim_ms_per_wall_second_ * 1000.0;
    auto due = pace_wall_start_ + std::chrono::microseconds(int64_t(wall_ms * 1000.0));
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now());
    int frame_ms = 1000 / std::max(1, options_.max_frames_per_second);
    return int(std::clamp<int64_t>(wait.count(), 0, frame_ms));
}

void EngineService::Impl::serveRequests(int timeout_ms) {
    zmq::pollitem_t item{commands_.handle(), 0, ZMQ_POLLIN, 0};
    try {
        zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
    } catch (const zmq::error_t& error) {
        if (error.num() != EINTR) {
            throw;
        }
        return;  // a signal, such as the SIGINT that stops sluice-run --serve
    }
    while (!shutdown_requested_) {
        std::vector<zmq::message_t> parts;
        if (!receiveRequest(&parts)) {
            return;
        }
        // A ROUTER socket prepends the client's identity to the empty
        // delimiter that DEALER and REQ clients send before the request.
        zmq::message_t message = std::move(parts.back());
        parts.pop_back();
        if (parts.empty()) {
            continue;  // no routing frames: nowhere to send a reply
        }
        protocol::Request request;
        protocol::Reply reply;
        reply_deferred_ = false;
        if (!request.ParseFromArray(message.data(), int(message.size()))) {
            reply.set_version(protocol::VERSION_CURRENT);
            reply.set_error("invalid request: the message is not a sluice.protocol.Request");
            *reply.mutable_status() = status();
        } else {
            reply = handle(request);
        }
        if (reply_deferred_) {
            move_->envelope = std::move(parts);
            continue;
        }
        sendReply(parts, reply);
    }
}

void EngineService::Impl::sendReply(std::vector<zmq::message_t>& envelope,
                                    const protocol::Reply& reply) {
    std::string bytes = reply.SerializeAsString();
    for (auto& part : envelope) {
        commands_.send(part, zmq::send_flags::sndmore);
    }
    // ROUTER drops replies to clients that went away instead of blocking.
    commands_.send(zmq::buffer(bytes), zmq::send_flags::none);
}

bool EngineService::Impl::receiveRequest(std::vector<zmq::message_t>* parts) {
    try {
        return bool(
            zmq::recv_multipart(commands_, std::back_inserter(*parts), zmq::recv_flags::dontwait));
    } catch (const zmq::error_t& error) {
        if (error.num() != EINTR) {
            throw;
        }
        return false;
    }
}

void EngineService::Impl::resetPacing() {
    pace_sim_start_ns_ = run_ ? run_->engine().now() : 0;
    pace_wall_start_ = Clock::now();
}

void EngineService::Impl::playSlice() {
    Engine& engine = run_->engine();
    auto slice_end = Clock::now() + kSliceWall;
    bool paced = sim_ms_per_wall_second_ > 0;
    Nanos target_ns = 0;
    if (paced) {
        double wall_ns = double(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - pace_wall_start_)
                .count());
        target_ns = pace_sim_start_ns_ + Nanos(wall_ns * sim_ms_per_wall_second_ / 1000.0);
    }
    for (int i = 0; i < kEventsPerSlice && !engine.isOver(); ++i) {
        Nanos next = engine.nextEventTime();
        if (paced && next > target_ns) {
            break;
        }
        run_->step();
        if (i % kEventsPerPoll == kEventsPerPoll - 1) {
            events_.poll();
            if (Clock::now() > slice_end) {
                break;
            }
        }
    }
    events_.poll();
    if (engine.isOver()) {
        playing_ = false;
        afterMove();
        return;
    }
    auto frame_interval =
        std::chrono::milliseconds(1000 / std::max(1, options_.max_frames_per_second));
    if (Clock::now() - last_frame_ >= frame_interval) {
        publishEvents();
        publishFrame();
    }
}

void EngineService::Impl::verdictSlice() {
    auto slice_end = Clock::now() + kSliceWall;
    for (int i = 0; i < kEventsPerSlice && reference_->step(); ++i) {
        if (i % kEventsPerPoll == kEventsPerPoll - 1 && Clock::now() > slice_end) {
            return;
        }
    }
    if (reference_->isOver()) {
        finishVerdict();
    }
}

void EngineService::Impl::updateEventRate() {
    auto now = Clock::now();
    auto elapsed = std::chrono::duration<double>(now - rate_wall_start_).count();
    if (elapsed < 1.0) {
        return;
    }
    uint64_t events = run_ ? run_->engine().eventCount() : 0;
    events_per_second_ =
        events >= rate_events_start_ ? double(events - rate_events_start_) / elapsed : 0.0;
    rate_events_start_ = events;
    rate_wall_start_ = now;
}

void EngineService::Impl::publishTelemetry(const protocol::Telemetry& telemetry) {
    std::string bytes = telemetry.SerializeAsString();
    // A PUB socket drops messages for slow subscribers instead of blocking.
    telemetry_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
}

void EngineService::Impl::publishFrame() {
    last_frame_ = Clock::now();
    protocol::Telemetry telemetry;
    telemetry.set_version(protocol::VERSION_CURRENT);
    if (run_) {
        *telemetry.mutable_frame() = buildFrame(run_->engine(), status(), events_.triggerEvents());
    } else {
        *telemetry.mutable_frame()->mutable_status() = status();
    }
    publishTelemetry(telemetry);
}

void EngineService::Impl::publishProgress(bool with_events) {
    if (Clock::now() - last_frame_ < kProgressInterval) {
        return;
    }
    if (with_events) {
        events_.poll();
        publishEvents();
    }
    publishFrame();
}

void EngineService::Impl::publishEvents() {
    std::vector<protocol::Event> events = events_.take();
    for (size_t first = 0; first < events.size(); first += kEventsPerBatch) {
        protocol::Telemetry telemetry;
        telemetry.set_version(protocol::VERSION_CURRENT);
        auto* batch = telemetry.mutable_events();
        size_t last = std::min(events.size(), first + kEventsPerBatch);
        for (size_t i = first; i < last; ++i) {
            *batch->add_events() = std::move(events[i]);
        }
        publishTelemetry(telemetry);
    }
}

EngineService::EngineService(zmq::context_t& context, EngineServiceOptions options)
    : impl_(std::make_unique<Impl>(context, std::move(options))) {
}

EngineService::~EngineService() {
    stop();
}

std::string EngineService::start() {
    return impl_->start();
}

void EngineService::stop() {
    impl_->stop();
}

void EngineService::wait() {
    impl_->waitFor(std::nullopt);
}

bool EngineService::waitFor(std::chrono::milliseconds timeout) {
    return impl_->waitFor(timeout);
}

std::string EngineService::telemetryAddress() const {
    return impl_->telemetry_address;
}

std::string EngineService::commandAddress() const {
    return impl_->command_address;
}

}  // namespace sluice::sim
