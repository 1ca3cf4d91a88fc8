#pragma once

#include "sim/engine.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace zmq {
class context_t;
}

namespace sluice::sim {

struct EngineServiceOptions {
    // Where commands (REP) and telemetry (PUB) are bound, such as
    // "inproc://engine-commands" or "tcp://127.0.0.1:7411". A tcp address
    // that is not loopback is refused unless allow_remote is set: the
    // protocol has no authentication.
    std::string command_address = "inproc://engine-commands";
    std::string telemetry_address = "inproc://engine-telemetry";
    bool allow_remote = false;
    // Upper bound of telemetry frames per second while playing.
    int max_frames_per_second = 30;
    // Options of every engine the service builds; LoadScenario's seed
    // overrides engine.seed.
    EngineOptions engine;
    // Loaded by start(), before any client connects, when not empty.
    std::string scenario_path;
};

// Serves one Engine over the engine protocol (proto/engine_protocol.proto).
// The service owns the engine and a thread that runs it: commands are
// answered between engine events, so a playing run stays responsive.
//
// Threading: start and stop from one thread; everything else happens on the
// service's own thread.
class EngineService {
public:
    // `context` must outlive the service; inproc addresses need the same
    // context as the client.
    EngineService(zmq::context_t& context, EngineServiceOptions options);
    ~EngineService();  // stops the thread

    // Binds both sockets and starts the thread. Returns an empty string, or
    // why it could not bind (address in use, not loopback).
    std::string start();
    void stop();
    // Blocks until a Shutdown request arrives or stop() is called.
    void wait();
    // Waits at most `timeout`. Returns true when the service has stopped.
    bool waitFor(std::chrono::milliseconds timeout);
    // The bound telemetry address, with the port filled in for "tcp://...:0".
    std::string telemetryAddress() const;
    std::string commandAddress() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::sim
