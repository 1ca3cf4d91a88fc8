#pragma once

#include "proto/engine_protocol.pb.h"

#include <QObject>
#include <QString>

#include <cstdint>
#include <memory>
#include <string>

namespace zmq {
class context_t;
}

namespace sluice::ui {

// The GUI's side of the engine protocol: sends Requests to an engine service
// and delivers its Replies and Telemetry as Qt signals.
//
// Threading: create, call and destroy it on the GUI thread. It owns a worker
// thread that does all socket I/O, so no member function waits on the
// engine. Results arrive as queued signals on the GUI thread.
//
// Errors: a reply of another protocol version, or no reply within
// replyTimeoutMs() while no telemetry arrives either, emits connectionLost
// with a message for the user. Later sends fail the same way until connectTo
// is called again. The service publishes a frame about every second during a
// long command, such as a seek that re-executes the run.
class EngineClient : public QObject {
    Q_OBJECT

public:
    explicit EngineClient(QObject* parent = nullptr);
    ~EngineClient() override;

    // Connects to a service's command and telemetry addresses, such as
    // "inproc://engine-commands" with a shared context (the in-process
    // engine), or tcp://127.0.0.1:PORT and the telemetry address the Hello
    // reply names (sluice --attach). Returns false and sets `error` when an
    // address is malformed. `context` must outlive the client; null makes the
    // client use its own context.
    bool connectTo(zmq::context_t* context, const std::string& command_address,
                   const std::string& telemetry_address, QString* error);
    void disconnectFromEngine();

    // Queues a request; fills in version and request_id and returns the id.
    // The reply arrives through replyReceived with the same id.
    uint64_t send(protocol::Request request);

    // Takes effect at the next connectTo.
    int replyTimeoutMs() const { return reply_timeout_ms_; }
    void setReplyTimeoutMs(int timeout_ms) { reply_timeout_ms_ = timeout_ms; }
    bool isConnected() const;

Q_SIGNALS:
    void replyReceived(const sluice::protocol::Reply& reply);
    // The latest frame; frames that arrive faster than the GUI takes them
    // are dropped, never queued.
    void frameReceived(const sluice::protocol::Frame& frame);
    void eventsReceived(const sluice::protocol::EventBatch& events);
    void connectionLost(const QString& message);

private:
    class Worker;
    std::unique_ptr<Worker> worker_;
    int reply_timeout_ms_ = 5000;
    uint64_t next_request_id_ = 0;
};

}  // namespace sluice::ui
