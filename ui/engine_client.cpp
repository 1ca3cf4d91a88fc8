#include "ui/engine_client.h"

#include <QLoggingCategory>
#include <QMetaObject>
#include <QPointer>

#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace sluice::ui {

namespace {

Q_LOGGING_CATEGORY(lcEngineClient, "sluice.ui.engine_client")

using Clock = std::chrono::steady_clock;

// Maximum wait of the worker's poll, so it notices reply timeouts in time.
constexpr int kMaxPollMs = 50;

std::atomic<uint64_t> g_pair_counter{0};

bool hasKnownScheme(const std::string& address) {
    for (const char* scheme : {"inproc://", "tcp://", "ipc://"}) {
        if (address.rfind(scheme, 0) == 0 && address.size() > std::strlen(scheme)) {
            return true;
        }
    }
    return false;
}

QString secondsText(int milliseconds) {
    return QString::number(milliseconds / 1000.0, 'g', 3) + QStringLiteral(" s");
}

}  // namespace

// Owns the sockets and the thread that does all I/O. Requests come from the
// GUI thread over an inproc PAIR socket. Replies, frames and events go back
// as queued calls on the client. The latest frame waits in `frame_slot_`, so
// at most one frame delivery is queued at a time.
class EngineClient::Worker {
public:
    struct FrameSlot {
        std::mutex mutex;
        std::optional<protocol::Frame> frame;
        bool delivery_queued = false;
    };

    Worker(EngineClient* client, zmq::context_t* context, std::string command_address,
           std::string telemetry_address, int reply_timeout_ms)
        : client_(client),
          own_context_(context ? nullptr : std::make_unique<zmq::context_t>()),
          context_(context ? *context : *own_context_),
          command_address_(std::move(command_address)),
          telemetry_address_(std::move(telemetry_address)),
          reply_timeout_ms_(reply_timeout_ms),
          alive_(std::make_shared<bool>(true)),
          frame_slot_(std::make_shared<FrameSlot>()) {}

    ~Worker() {
        *alive_ = false;
        if (thread_.joinable()) {
            gui_side_.send(zmq::message_t(), zmq::send_flags::none);  // empty: stop
            thread_.join();
        }
    }

    // Creates and connects the sockets, then starts the thread.
    bool connect(QString* error) {
        try {
            dealer_ = zmq::socket_t(context_, zmq::socket_type::dealer);
            sub_ = zmq::socket_t(context_, zmq::socket_type::sub);
            gui_side_ = zmq::socket_t(context_, zmq::socket_type::pair);
            worker_side_ = zmq::socket_t(context_, zmq::socket_type::pair);
            for (zmq::socket_t* socket : {&dealer_, &sub_, &gui_side_, &worker_side_}) {
                socket->set(zmq::sockopt::linger, 0);
            }
            std::string pair = "inproc://sluice-engine-client-" + std::to_string(++g_pair_counter);
            gui_side_.bind(pair);
            worker_side_.connect(pair);
            dealer_.connect(command_address_);
            sub_.set(zmq::sockopt::subscribe, "");
            sub_.connect(telemetry_address_);
        } catch (const zmq::error_t& failure) {
            if (error) {
                *error = QStringLiteral("Cannot connect to the engine at %1 (telemetry %2): %3")
                             .arg(QString::fromStdString(command_address_),
                                  QString::fromStdString(telemetry_address_),
                                  QString::fromUtf8(failure.what()));
            }
            return false;
        }
        thread_ = std::thread([this] { run(); });
        return true;
    }

    // GUI thread: hands a serialized request to the worker.
    void send(uint64_t request_id, const std::string& bytes) {
        zmq::message_t id(&request_id, sizeof(request_id));
        gui_side_.send(id, zmq::send_flags::sndmore);
        gui_side_.send(zmq::buffer(bytes), zmq::send_flags::none);
    }

    bool lost() const { return lost_; }
    QString lostMessage() const {
        std::lock_guard lock(lost_mutex_);
        return lost_message_;
    }

private:
    void run() {
        zmq::pollitem_t items[] = {{worker_side_.handle(), 0, ZMQ_POLLIN, 0},
                                   {dealer_.handle(), 0, ZMQ_POLLIN, 0},
                                   {sub_.handle(), 0, ZMQ_POLLIN, 0}};
        while (true) {
            try {
                zmq::poll(items, 3, std::chrono::milliseconds(kMaxPollMs));
            } catch (const zmq::error_t& error) {
                if (error.num() != EINTR) {
                    throw;
                }
                continue;  // a signal interrupted the wait
            }
            if ((items[0].revents & ZMQ_POLLIN) && !forwardRequests()) {
                return;
            }
            if (items[1].revents & ZMQ_POLLIN) {
                receiveReplies();
            }
            if (items[2].revents & ZMQ_POLLIN) {
                receiveTelemetry();
            }
            if (!lost_) {
                checkTimeouts();
            }
        }
    }

    // Returns false on the stop message.
    bool forwardRequests() {
        zmq::message_t id;
        while (worker_side_.recv(id, zmq::recv_flags::dontwait)) {
            if (id.size() != sizeof(uint64_t)) {
                return false;
            }
            zmq::message_t payload;
            (void)worker_side_.recv(payload, zmq::recv_flags::none);
            if (lost_) {
                continue;
            }
            uint64_t request_id = 0;
            std::memcpy(&request_id, id.data(), sizeof(request_id));
            // A REP socket expects the empty delimiter frame a REQ socket adds.
            // Without a peer (the engine went away) a DEALER socket cannot
            // send, so the request times out like an unanswered one.
            if (dealer_.send(zmq::message_t(),
                             zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
                (void)dealer_.send(payload, zmq::send_flags::dontwait);
            }
            pending_[request_id] = Clock::now();
        }
        return true;
    }

    void receiveReplies() {
        zmq::message_t part;
        while (dealer_.recv(part, zmq::recv_flags::dontwait)) {
            if (part.size() == 0 && part.more()) {
                continue;  // the delimiter
            }
            protocol::Reply reply;
            if (!reply.ParseFromArray(part.data(), int(part.size()))) {
                qCWarning(lcEngineClient) << "invalid reply from" << command_address_.c_str();
                continue;
            }
            if (reply.version() != protocol::VERSION_CURRENT) {
                loseConnection(
                    QStringLiteral("The engine at %1 speaks engine protocol version %2, but this "
                                   "client speaks version %3. Use a GUI and an engine of the same "
                                   "Sluice build.")
                        .arg(QString::fromStdString(command_address_))
                        .arg(reply.version())
                        .arg(int(protocol::VERSION_CURRENT)));
                return;
            }
            pending_.erase(reply.request_id());
            deliver([reply](EngineClient* client) { Q_EMIT client->replyReceived(reply); });
        }
    }

    void receiveTelemetry() {
        zmq::message_t message;
        while (sub_.recv(message, zmq::recv_flags::dontwait)) {
            last_telemetry_ = Clock::now();
            protocol::Telemetry telemetry;
            if (!telemetry.ParseFromArray(message.data(), int(message.size())) ||
                telemetry.version() != protocol::VERSION_CURRENT) {
                if (++dropped_telemetry_ == 1) {
                    qCWarning(lcEngineClient) << "dropping telemetry of another protocol version "
                                                 "or an invalid message from"
                                              << telemetry_address_.c_str();
                }
                continue;
            }
            if (telemetry.has_frame()) {
                offerFrame(std::move(*telemetry.mutable_frame()));
            } else if (telemetry.has_events()) {
                protocol::EventBatch events = std::move(*telemetry.mutable_events());
                deliver([events](EngineClient* client) { Q_EMIT client->eventsReceived(events); });
            }
        }
    }

    // Keeps only the latest frame and queues one delivery if none is waiting.
    void offerFrame(protocol::Frame frame) {
        std::shared_ptr<FrameSlot> slot = frame_slot_;
        {
            std::lock_guard lock(slot->mutex);
            slot->frame = std::move(frame);
            if (slot->delivery_queued) {
                return;
            }
            slot->delivery_queued = true;
        }
        deliver([slot](EngineClient* client) {
            protocol::Frame latest;
            {
                std::lock_guard lock(slot->mutex);
                latest = std::move(*slot->frame);
                slot->frame.reset();
                slot->delivery_queued = false;
            }
            Q_EMIT client->frameReceived(latest);
        });
    }

    void checkTimeouts() {
        auto now = Clock::now();
        for (const auto& [id, sent] : pending_) {
            // Telemetry during a long command shows the engine is alive.
            if (now - std::max(sent, last_telemetry_) >
                std::chrono::milliseconds(reply_timeout_ms_)) {
                loseConnection(QStringLiteral("No reply from the engine at %1 within %2; it may "
                                              "have stopped or be busy. Connect again to retry.")
                                   .arg(QString::fromStdString(command_address_),
                                        secondsText(reply_timeout_ms_)));
                return;
            }
        }
    }

    void loseConnection(const QString& message) {
        {
            std::lock_guard lock(lost_mutex_);
            lost_message_ = message;
        }
        lost_ = true;
        pending_.clear();
        qCWarning(lcEngineClient).noquote()
            << "connection lost:" << command_address_.c_str() << message;
        deliver([message](EngineClient* client) { Q_EMIT client->connectionLost(message); });
    }

    // Runs `emitSignal` on the GUI thread unless the worker is gone by then.
    template <class EmitSignal>
    void deliver(EmitSignal emitSignal) {
        std::shared_ptr<bool> alive = alive_;
        EngineClient* client = client_;
        QMetaObject::invokeMethod(
            client,
            [alive, client, emitSignal = std::move(emitSignal)] {
                if (*alive) {
                    emitSignal(client);
                }
            },
            Qt::QueuedConnection);
    }

    EngineClient* client_;
    std::unique_ptr<zmq::context_t> own_context_;
    zmq::context_t& context_;
    std::string command_address_;
    std::string telemetry_address_;
    int reply_timeout_ms_;
    // Read and written on the GUI thread only, where deliveries run.
    std::shared_ptr<bool> alive_;
    std::shared_ptr<FrameSlot> frame_slot_;
    zmq::socket_t dealer_;
    zmq::socket_t sub_;
    zmq::socket_t gui_side_;
    zmq::socket_t worker_side_;
    std::thread thread_;
    std::map<uint64_t, Clock::time_point> pending_;  // worker thread only
    Clock::time_point last_telemetry_;               // worker thread only
    std::atomic<bool> lost_{false};
    mutable std::mutex lost_mutex_;
    QString lost_message_;
    uint64_t dropped_telemetry_ = 0;
};

EngineClient::EngineClient(QObject* parent) : QObject(parent) {
    qRegisterMetaType<sluice::protocol::Reply>();
    qRegisterMetaType<sluice::protocol::Frame>();
    qRegisterMetaType<sluice::protocol::EventBatch>();
}

EngineClient::~EngineClient() {
    disconnectFromEngine();
}

bool EngineClient::connectTo(zmq::context_t* context, const std::string& command_address,
                             const std::string& telemetry_address, QString* error) {
    disconnectFromEngine();
    for (const std::string* address : {&command_address, &telemetry_address}) {
        if (!hasKnownScheme(*address)) {
            if (error) {
                *error = QStringLiteral(
                             "Invalid engine address '%1': expected inproc://NAME or "
                             "tcp://HOST:PORT, such as tcp://127.0.0.1:7411")
                             .arg(QString::fromStdString(*address));
            }
            return false;
        }
    }
    auto worker = std::make_unique<Worker>(this, context, command_address, telemetry_address,
                                           reply_timeout_ms_);
    if (!worker->connect(error)) {
        return false;
    }
    worker_ = std::move(worker);
    qCInfo(lcEngineClient) << "connected to" << command_address.c_str() << "telemetry"
                           << telemetry_address.c_str();
    return true;
}

void EngineClient::disconnectFromEngine() {
    if (worker_) {
        worker_.reset();
        qCInfo(lcEngineClient) << "disconnected";
    }
}

uint64_t EngineClient::send(protocol::Request request) {
    uint64_t id = ++next_request_id_;
    request.set_version(protocol::VERSION_CURRENT);
    request.set_request_id(id);
    if (!worker_ || worker_->lost()) {
        QString message = worker_ ? worker_->lostMessage()
                                  : QStringLiteral("Not connected to an engine; connect first.");
        QPointer<EngineClient> self(this);
        QMetaObject::invokeMethod(
            this,
            [self, message] {
                if (self) {
                    Q_EMIT self->connectionLost(message);
                }
            },
            Qt::QueuedConnection);
        return id;
    }
    worker_->send(id, request.SerializeAsString());
    return id;
}

bool EngineClient::isConnected() const {
    return worker_ && !worker_->lost();
}

}  // namespace sluice::ui
