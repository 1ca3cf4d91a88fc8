#include "app/serve.h"

#include "sim/engine_service.h"
#include "sim/service_address.h"

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

volatile std::sig_atomic_t g_serve_interrupted = 0;

void interruptServe(int) {
    g_serve_interrupted = 1;
}

// The telemetry address next to "tcp://HOST:PORT": PORT + 1 on the same
// host, or an ephemeral port when PORT is 0 or *. Other schemes get a
// "-telemetry" suffix.
std::string telemetryAddressFor(const std::string& command_address) {
    size_t colon = command_address.rfind(':');
    if (command_address.rfind("tcp://", 0) != 0 || colon == std::string::npos) {
        return command_address + "-telemetry";
    }
    std::string host = command_address.substr(0, colon);
    std::string port = command_address.substr(colon + 1);
    char* end = nullptr;
    unsigned long number = std::strtoul(port.c_str(), &end, 10);
    if (port == "*" || port.empty() || *end != '\0' || number == 0 || number >= 65535) {
        return host + ":*";
    }
    return host + ":" + std::to_string(number + 1);
}

}  // namespace

int runServe(const std::string& scenario, const std::string& command_address, bool allow_remote,
             const sluice::sim::EngineOptions& engine_options) {
    if (std::string error = sluice::sim::checkServiceAddress(command_address, allow_remote);
        !error.empty()) {
        std::fprintf(stderr, "sluice-run: --serve: %s\n", error.c_str());
        return kExitUsage;
    }
    zmq::context_t context;
    sluice::sim::EngineServiceOptions options;
    options.command_address = command_address;
    options.telemetry_address = telemetryAddressFor(command_address);
    options.allow_remote = allow_remote;
    options.engine = engine_options;
    options.scenario_path = scenario;
    // Installed before the scenario loads, so an early signal stops the
    // service as soon as it runs.
    std::signal(SIGINT, interruptServe);
    std::signal(SIGTERM, interruptServe);
    sluice::sim::EngineService service(context, options);
    if (std::string error = service.start(); !error.empty()) {
        std::fprintf(stderr, "sluice-run: %s\n", error.c_str());
        return kExitUsage;
    }
    std::printf("serving %s\ncommands: %s\ntelemetry: %s\n", scenario.c_str(),
                service.commandAddress().c_str(), service.telemetryAddress().c_str());
    std::fflush(stdout);

    while (!service.waitFor(std::chrono::milliseconds(100))) {
        if (g_serve_interrupted) {
            std::printf("stopped by a signal\n");
            break;
        }
    }
    service.stop();
    std::printf("engine service stopped\n");
    return kExitOk;
}
