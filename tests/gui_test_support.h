#pragma once

// An engine service and the GUI's client and session connected to it over
// inproc://, as `sluice` sets them up in process. Include before <QtTest>.
#include "sim/engine_service.h"
#include "ui/engine_client.h"
#include "ui/engine_session.h"

#include <zmq.hpp>

#include <QString>

#include <memory>
#include <string>

namespace sluice::test {

class ServedEngine {
public:
    // Each instance binds its own inproc addresses, so tests never share a
    // service. `error` is empty when the service started and the client
    // connected.
    ServedEngine() {
        static int instance = 0;
        ++instance;
        sim::EngineServiceOptions options;
        options.command_address = "inproc://gui-test-commands-" + std::to_string(instance);
        options.telemetry_address = "inproc://gui-test-telemetry-" + std::to_string(instance);
        service = std::make_unique<sim::EngineService>(context, options);
        error = QString::fromStdString(service->start());
        if (!error.isEmpty()) {
            return;
        }
        client = std::make_unique<ui::EngineClient>();
        // A generous timeout: loading a scenario builds its whole job first.
        client->setReplyTimeoutMs(60000);
        client->connectTo(&context, service->commandAddress(), service->telemetryAddress(), &error);
        session = std::make_unique<ui::EngineSession>(client.get());
    }

    ~ServedEngine() {
        session.reset();
        client.reset();
        service->stop();
    }

    zmq::context_t context;
    std::unique_ptr<sim::EngineService> service;
    std::unique_ptr<ui::EngineClient> client;
    std::unique_ptr<ui::EngineSession> session;
    QString error;
};

}  // namespace sluice::test
