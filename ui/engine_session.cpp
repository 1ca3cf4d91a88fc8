#include "ui/engine_session.h"

#include "ui/engine_client.h"
#include "ui/logging_categories.h"

#include <QTimer>

namespace sluice::ui {

EngineSession::EngineSession(EngineClient* client, QObject* parent)
    : QObject(parent), client_(client), keep_alive_(new QTimer(this)) {
    connect(keep_alive_, &QTimer::timeout, this, &EngineSession::sendKeepAlive);
    connect(client_, &EngineClient::replyReceived, this, &EngineSession::onReply);
    connect(client_, &EngineClient::frameReceived, this, &EngineSession::onFrame);
    connect(client_, &EngineClient::eventsReceived, this, &EngineSession::eventsReceived);
    connect(client_, &EngineClient::connectionLost, this, [this](const QString& message) {
        qCWarning(lcUiSession) << "connection lost:" << message;
        handlers_.clear();
        queued_moves_.clear();
        move_in_flight_ = false;
        keep_alive_->stop();
        Q_EMIT connectionLost(message);
    });
}

uint64_t EngineSession::request(protocol::Request request, ReplyHandler handler) {
    uint64_t id = client_->send(std::move(request));
    if (handler) {
        handlers_[id] = std::move(handler);
    }
    return id;
}

void EngineSession::onReply(const protocol::Reply& reply) {
    if (reply.has_status()) {
        status_ = reply.status();
        Q_EMIT statusChanged(status_);
    }
    if (!reply.error().empty()) {
        qCWarning(lcUiSession) << "request" << reply.request_id()
                               << "failed:" << QString::fromStdString(reply.error());
        Q_EMIT commandFailed(QString::fromStdString(reply.error()));
    }
    auto it = handlers_.find(reply.request_id());
    if (it == handlers_.end()) {
        return;
    }
    ReplyHandler handler = std::move(it->second);
    handlers_.erase(it);
    handler(reply);
}

void EngineSession::onFrame(const protocol::Frame& frame) {
    if (frame.has_status()) {
        status_ = frame.status();
        Q_EMIT statusChanged(status_);
    }
    Q_EMIT frameReceived(frame);
}

void EngineSession::setKeepAliveIntervalMs(int interval_ms) {
    keep_alive_->stop();
    if (interval_ms > 0) {
        keep_alive_->start(interval_ms);
    }
}

void EngineSession::sendKeepAlive() {
    if (!handlers_.empty() || !client_->isConnected()) {
        return;
    }
    // An empty handler still marks the request as waiting, so keep-alives
    // never pile up behind a slow engine.
    hello([](const protocol::Reply&) {});
}

void EngineSession::hello(ReplyHandler handler) {
    protocol::Request request;
    request.mutable_hello();
    this->request(std::move(request), std::move(handler));
}

void EngineSession::afterLoad(const protocol::Reply& reply, const QString& path) {
    if (!reply.error().empty()) {
        return;
    }
    qCInfo(lcUiSession) << "loaded" << path << "seed" << reply.status().seed();
    Q_EMIT runLoaded(path);
    protocol::Request query;
    query.mutable_query_job_graph();
    request(std::move(query), [this](const protocol::Reply& graph_reply) {
        if (graph_reply.has_job_graph()) {
            job_graph_ = graph_reply.job_graph();
            Q_EMIT jobGraphChanged(job_graph_);
        }
    });
}

void EngineSession::adoptLoadedRun() {
    protocol::Request request;
    request.mutable_hello();
    this->request(std::move(request), [this](const protocol::Reply& reply) {
        if (reply.status().run_state() != protocol::EMPTY) {
            afterLoad(reply, QString::fromStdString(reply.status().scenario_path()));
        }
    });
}

void EngineSession::loadScenario(const QString& path, const QString& text) {
    queued_moves_.clear();
    protocol::Request request;
    request.mutable_load_scenario()->set_path(path.toStdString());
    if (!text.isEmpty()) {
        request.mutable_load_scenario()->set_text(text.toStdString());
    }
    this->request(std::move(request),
                  [this, path](const protocol::Reply& reply) { afterLoad(reply, path); });
}

void EngineSession::loadRecording(const QString& path) {
    queued_moves_.clear();
    protocol::Request request;
    request.mutable_load_recording()->set_path(path.toStdString());
    this->request(std::move(request),
                  [this, path](const protocol::Reply& reply) { afterLoad(reply, path); });
}

void EngineSession::play() {
    protocol::Request request;
    request.mutable_play();
    this->request(std::move(request));
}

void EngineSession::pause() {
    queued_moves_.clear();
    protocol::Request request;
    request.mutable_pause();
    this->request(std::move(request));
}

void EngineSession::setSpeed(double sim_ms_per_wall_second) {
    protocol::Request request;
    request.mutable_set_speed()->set_sim_ms_per_wall_second(sim_ms_per_wall_second);
    this->request(std::move(request));
}

void EngineSession::stepEvent(uint32_t count) {
    protocol::Request request;
    request.mutable_step_event()->set_count(count);
    sendMove(std::move(request));
}

void EngineSession::stepToBarrierEvent() {
    protocol::Request request;
    request.mutable_step_to_barrier_event();
    sendMove(std::move(request));
}

void EngineSession::runToCheckpoint(protocol::RunToCheckpoint::Direction direction) {
    protocol::Request request;
    request.mutable_run_to_checkpoint()->set_direction(direction);
    sendMove(std::move(request));
}

void EngineSession::seek(uint64_t event_index) {
    protocol::Request request;
    request.mutable_seek()->set_event_index(event_index);
    sendMove(std::move(request));
}

void EngineSession::sendMove(protocol::Request request) {
    constexpr size_t kMaxQueuedMoves = 16;
    if (move_in_flight_) {
        if (queued_moves_.size() >= kMaxQueuedMoves) {
            qCInfo(lcUiSession) << "move dropped:" << queued_moves_.size() << "moves queued";
            return;
        }
        queued_moves_.push_back(std::move(request));
        return;
    }
    move_in_flight_ = true;
    this->request(std::move(request), [this](const protocol::Reply& reply) {
        onMoved(reply);
        move_in_flight_ = false;
        sendNextMove();
    });
}

void EngineSession::sendNextMove() {
    if (queued_moves_.empty()) {
        return;
    }
    protocol::Request next = std::move(queued_moves_.front());
    queued_moves_.pop_front();
    sendMove(std::move(next));
}

void EngineSession::onMoved(const protocol::Reply& reply) {
    // Frames during a backward seek show the re-execution on its way, so
    // only the reply states where the run ended.
    if (reply.error().empty() && reply.has_status()) {
        Q_EMIT positionSet(reply.status().event_index());
    }
}

void EngineSession::injectFault(const scenario::Fault& fault) {
    protocol::Request request;
    *request.mutable_inject_fault()->mutable_fault() = fault;
    this->request(std::move(request));
}

void EngineSession::saveRecording(const QString& path, ReplyHandler handler) {
    protocol::Request request;
    request.mutable_save_recording()->set_path(path.toStdString());
    this->request(std::move(request), std::move(handler));
}

void EngineSession::queryMetrics(ReplyHandler handler) {
    protocol::Request request;
    request.mutable_query_metrics();
    this->request(std::move(request), std::move(handler));
}

}  // namespace sluice::ui
