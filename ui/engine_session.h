#pragma once

#include "proto/engine_protocol.pb.h"

#include <QObject>
#include <QString>

class QTimer;

#include <deque>
#include <functional>
#include <map>

namespace sluice::ui {

class EngineClient;

// The GUI's view of one engine: sends commands through an EngineClient,
// routes each reply to the handler given with its request, and keeps the
// latest status and job graph. After a scenario or recording loads it
// requests the job graph itself.
//
// Threading: GUI thread only; nothing here waits for a reply.
class EngineSession : public QObject {
    Q_OBJECT

public:
    using ReplyHandler = std::function<void(const protocol::Reply&)>;

    // `client` must outlive the session.
    explicit EngineSession(EngineClient* client, QObject* parent = nullptr);

    // Sends `request`; `handler` runs on the GUI thread when the reply
    // arrives, also when it carries an error. Returns the request id.
    uint64_t request(protocol::Request request, ReplyHandler handler = {});

    void hello(ReplyHandler handler);
    // With `text` empty the engine reads `path`; otherwise `path` only names
    // the file and resolves its relative data paths.
    void loadScenario(const QString& path, const QString& text = {});
    void loadRecording(const QString& path);
    // Shows the run an attached engine already has loaded, as if it had
    // just been loaded: emits runLoaded and fetches the job graph.
    void adoptLoadedRun();
    void play();
    void pause();
    void setSpeed(double sim_ms_per_wall_second);
    void stepEvent(uint32_t count = 1);
    void stepToBarrierEvent();
    void runToCheckpoint(protocol::RunToCheckpoint::Direction direction);
    void seek(uint64_t event_index);
    void injectFault(const scenario::Fault& fault);
    void saveRecording(const QString& path, ReplyHandler handler);
    void queryMetrics(ReplyHandler handler);

    // Sends Hello this often while no request waits for its reply, so a
    // served engine that died is noticed (as connectionLost) also while the
    // user only watches. 0 turns it off.
    void setKeepAliveIntervalMs(int interval_ms);

    const protocol::Status& status() const { return status_; }
    const protocol::JobGraph& jobGraph() const { return job_graph_; }
    EngineClient* client() const { return client_; }

Q_SIGNALS:
    void statusChanged(const sluice::protocol::Status& status);
    void jobGraphChanged(const sluice::protocol::JobGraph& graph);
    // A scenario or recording loaded: views drop what they showed before.
    void runLoaded(const QString& path);
    // A seek or a run to a checkpoint ended at `event_index`. After a move
    // backward, views drop what they showed of later events.
    void positionSet(uint64_t event_index);
    void frameReceived(const sluice::protocol::Frame& frame);
    void eventsReceived(const sluice::protocol::EventBatch& events);
    // A command failed; `message` is the engine's error, such as
    // "flights.textproto:12:5: unknown field 'paralelism'".
    void commandFailed(const QString& message);
    void connectionLost(const QString& message);

private:
    void onReply(const protocol::Reply& reply);
    void onFrame(const protocol::Frame& frame);
    void afterLoad(const protocol::Reply& reply, const QString& path);
    void onMoved(const protocol::Reply& reply);
    // Sends a command that moves the run, or queues it while another move
    // runs: the engine takes one move at a time, and key presses come
    // faster than long moves end.
    void sendMove(protocol::Request request);
    void sendNextMove();

    void sendKeepAlive();

    EngineClient* client_;
    QTimer* keep_alive_;
    std::map<uint64_t, ReplyHandler> handlers_;
    protocol::Status status_;
    protocol::JobGraph job_graph_;
    bool move_in_flight_ = false;
    std::deque<protocol::Request> queued_moves_;
};

}  // namespace sluice::ui
