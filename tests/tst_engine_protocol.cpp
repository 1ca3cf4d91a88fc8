// The engine protocol end to end: an EngineService on its own thread and an
// EngineClient (or raw ZeroMQ sockets) talking to it over inproc and tcp.

#include "proto/engine_protocol.pb.h"
#include "sim/engine_service.h"
#include "sim/recording.h"
#include "test_support.h"
#include "ui/engine_client.h"

#include <zmq.hpp>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace sluice;

namespace {

// Guard against a hung service. No check depends on how fast the service is.
constexpr int kWaitMs = 20000;

// Spins the event loop until `done()` or kWaitMs passed, and returns done().
bool waitUntil(const std::function<bool()>& done, int timeout_ms = kWaitMs) {
    QElapsedTimer timer;
    timer.start();
    while (!done() && timer.elapsed() < timeout_ms) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
        QThread::msleep(1);
    }
    return done();
}

std::string flights() {
    return test::sourcePath("scenarios/flights.textproto");
}

// A service on its own thread and a connected client, with everything the
// client delivered.
class Harness {
public:
    explicit Harness(const std::string& name, int max_frames_per_second = 30) {
        sim::EngineServiceOptions options;
        options.command_address = "inproc://" + name + "-commands";
        options.telemetry_address = "inproc://" + name + "-telemetry";
        options.max_frames_per_second = max_frames_per_second;
        start(options);
    }
    explicit Harness(const sim::EngineServiceOptions& options) { start(options); }

    void start(const sim::EngineServiceOptions& options) {
        service = std::make_unique<sim::EngineService>(context, options);
        start_error = service->start();
        if (!start_error.empty()) {
            return;
        }
        QObject::connect(
            &client, &ui::EngineClient::replyReceived,
            [this](const protocol::Reply& reply) { replies[reply.request_id()] = reply; });
        QObject::connect(&client, &ui::EngineClient::frameReceived,
                         [this](const protocol::Frame& frame) {
                             latest_frame = frame;
                             ++frames;
                         });
        QObject::connect(&client, &ui::EngineClient::eventsReceived,
                         [this](const protocol::EventBatch& batch) {
                             for (const auto& event : batch.events()) {
                                 events.push_back(event);
                             }
                         });
        QObject::connect(&client, &ui::EngineClient::connectionLost,
                         [this](const QString& message) { lost.push_back(message); });
        QString error;
        connected = client.connectTo(&context, service->commandAddress(),
                                     service->telemetryAddress(), &error);
    }

    // Sends `request` and returns its reply, or a reply with the error "no
    // reply" when none arrived.
    protocol::Reply call(protocol::Request request) {
        uint64_t id = client.send(std::move(request));
        if (!waitUntil([&] { return replies.count(id) > 0 || !lost.empty(); }) ||
            !replies.count(id)) {
            protocol::Reply missing;
            missing.set_error("no reply");
            return missing;
        }
        return replies[id];
    }

    protocol::Reply load(const std::string& path) {
        protocol::Request request;
        request.mutable_load_scenario()->set_path(path);
        return call(request);
    }
    protocol::Reply stepEvents(uint32_t count) {
        protocol::Request request;
        request.mutable_step_event()->set_count(count);
        return call(request);
    }
    protocol::Reply seek(uint64_t event_index) {
        protocol::Request request;
        request.mutable_seek()->set_event_index(event_index);
        return call(request);
    }
    protocol::Reply runToCheckpoint(protocol::RunToCheckpoint::Direction direction) {
        protocol::Request request;
        request.mutable_run_to_checkpoint()->set_direction(direction);
        return call(request);
    }
    protocol::Reply setSpeed(double sim_ms_per_wall_second) {
        protocol::Request request;
        request.mutable_set_speed()->set_sim_ms_per_wall_second(sim_ms_per_wall_second);
        return call(request);
    }
    // Waits for a frame whose status satisfies `done`.
    bool waitForFrame(const std::function<bool(const protocol::Frame&)>& done) {
        return waitUntil([&] { return frames > 0 && done(latest_frame); });
    }
    bool hasEvent(protocol::Event::Kind kind) const {
        for (const auto& event : events) {
            if (event.kind() == kind) {
                return true;
            }
        }
        return false;
    }

    zmq::context_t context;
    std::unique_ptr<sim::EngineService> service;
    std::string start_error;
    ui::EngineClient client;
    bool connected = false;
    std::map<uint64_t, protocol::Reply> replies;
    protocol::Frame latest_frame;
    int frames = 0;
    std::vector<protocol::Event> events;
    std::vector<QString> lost;
};

// A SUB socket on the service's telemetry, for counting every message the
// client would coalesce.
class RawTelemetry {
public:
    RawTelemetry(zmq::context_t& context, const std::string& address)
        : socket_(context, zmq::socket_type::sub) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.set(zmq::sockopt::subscribe, "");
        socket_.connect(address);
    }
    // The next frame, or false after kWaitMs without one.
    bool nextFrame(protocol::Frame* frame) {
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < kWaitMs) {
            zmq::message_t message;
            socket_.set(zmq::sockopt::rcvtimeo, 100);
            if (!socket_.recv(message)) {
                continue;
            }
            protocol::Telemetry telemetry;
            if (telemetry.ParseFromArray(message.data(), int(message.size())) &&
                telemetry.has_frame()) {
                *frame = telemetry.frame();
                return true;
            }
        }
        return false;
    }

private:
    zmq::socket_t socket_;
};

}  // namespace

class TestEngineProtocol : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void roundTripEveryCommandInproc();
    void roundTripOverTcp();
    void backwardSeekSameDigest();
    void barrierStepStopsAtFinalCheckpoint();
    void previousCheckpointSameDigest();
    void pauseInterruptsLongSeek();
    void stepPublishesOneFrame();
    void playFramesRateLimited();
    void playAtSpeedReachesEnd();
    void injectedFaultInFrameAndRecording();
    void verdictAfterRunEnds();
    void keyedStateQueryPaged();
    void lostConnectionEmitsSignal();
    void versionMismatchInRequest();
    void versionMismatchInReply();
    void malformedScenarioTextNamesLine();
    void nonLoopbackBindRejected();
    void addressInUseRejected();
    void sluiceRunServeShutdown();
    void sluiceRunServeRejectsRemote();
    void sluiceRunServeBadScenario();
};

void TestEngineProtocol::roundTripEveryCommandInproc() {
    Harness h("round-trip");
    QVERIFY(h.start_error.empty());
    QVERIFY(h.connected);

    protocol::Request hello;
    hello.mutable_hello();
    protocol::Reply reply = h.call(hello);
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.version(), uint32_t(protocol::VERSION_CURRENT));
    QCOMPARE(reply.hello().build_version(), std::string(sim::buildVersion()));
    QCOMPARE(reply.hello().telemetry_address(), std::string("inproc://round-trip-telemetry"));
    QCOMPARE(reply.status().run_state(), protocol::EMPTY);

    reply = h.load(flights());
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.status().run_state(), protocol::PAUSED);
    QCOMPARE(reply.status().event_index(), uint64_t(0));
    QCOMPARE(reply.status().scenario_path(), flights());

    protocol::Request graph;
    graph.mutable_query_job_graph();
    reply = h.call(graph);
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.job_graph().vertices_size(), 3);
    QCOMPARE(reply.job_graph().vertices(1).operators(0), std::string("hourly-delay"));
    QCOMPARE(reply.job_graph().vertices(1).parallelism(), 4);
    QVERIFY(reply.job_graph().vertices(1).keyed());
    QCOMPARE(reply.job_graph().edges_size(), 2);
    QCOMPARE(reply.job_graph().edges(0).partitioning(), std::string("HASH"));
    QCOMPARE(reply.job_graph().task_managers(), 2);

    QCOMPARE(h.setSpeed(0).error(), std::string());
    reply = h.stepEvents(100);
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.status().event_index(), uint64_t(100));
    QVERIFY(h.waitForFrame([](const auto& f) { return f.status().event_index() == 100; }));
    QVERIFY(h.latest_frame.subtasks_size() >= 7);
    QVERIFY(h.latest_frame.channels_size() > 0);
    QCOMPARE(h.latest_frame.task_managers_size(), 2);

    // The first stop is the trigger, the next one a source's barrier.
    protocol::Request barrier;
    barrier.mutable_step_to_barrier_event();
    reply = h.call(barrier);
    QCOMPARE(reply.error(), std::string());
    QVERIFY(reply.status().event_index() > 100);
    QVERIFY(waitUntil([&] { return h.hasEvent(protocol::Event::CHECKPOINT_TRIGGERED); }));
    reply = h.call(barrier);
    QCOMPARE(reply.error(), std::string());
    QVERIFY(waitUntil([&] { return h.hasEvent(protocol::Event::BARRIER_EMITTED); }));

    reply = h.runToCheckpoint(protocol::RunToCheckpoint::NEXT);
    QCOMPARE(reply.error(), std::string());
    QVERIFY(waitUntil([&] { return h.hasEvent(protocol::Event::CHECKPOINT_COMPLETED); }));
    QVERIFY(h.hasEvent(protocol::Event::CHECKPOINT_TRIGGERED));
    QVERIFY(h.hasEvent(protocol::Event::BARRIER_RECEIVED));
    QVERIFY(h.hasEvent(protocol::Event::BARRIER_ALIGNED));
    QVERIFY(h.hasEvent(protocol::Event::CHECKPOINT_ACKNOWLEDGED));
    uint64_t completed_at = reply.status().event_index();

    protocol::Request checkpoints;
    checkpoints.mutable_query_checkpoints();
    reply = h.call(checkpoints);
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.checkpoints().checkpoints(0).status(), std::string("COMPLETED"));
    QCOMPARE(reply.checkpoints().checkpoints(0).end_event(), completed_at);
    QVERIFY(reply.checkpoints().checkpoints(0).trigger_event() > 0);

    reply = h.seek(completed_at + 500);
    QCOMPARE(reply.status().event_index(), completed_at + 500);

    protocol::Request state;
    state.mutable_query_keyed_state()->set_vertex(1);
    state.mutable_query_keyed_state()->set_subtask(-1);
    reply = h.call(state);
    QCOMPARE(reply.error(), std::string());
    QVERIFY(reply.keyed_state().total() > 0);

    protocol::Request metrics;
    metrics.mutable_query_metrics()->add_metrics("busyTimeMsPerSecond");
    reply = h.call(metrics);
    QCOMPARE(reply.error(), std::string());
    QVERIFY(reply.metrics().samples_size() > 0);
    for (const auto& sample : reply.metrics().samples()) {
        QCOMPARE(sample.metric(), std::string("busyTimeMsPerSecond"));
    }

    protocol::Request inject;
    auto* fail = inject.mutable_inject_fault()->mutable_fault()->mutable_fail_subtask();
    fail->set_operator_("hourly-delay");
    fail->set_subtask(1);
    reply = h.call(inject);
    QCOMPARE(reply.error(), std::string());

    QTemporaryDir dir;
    protocol::Request save;
    save.mutable_save_recording()->set_path((dir.path() + "/run.recording").toStdString());
    QCOMPARE(h.call(save).error(), std::string());

    protocol::Request play;
    play.mutable_play();
    QCOMPARE(h.call(play).error(), std::string());
    protocol::Request pause;
    pause.mutable_pause();
    reply = h.call(pause);
    QCOMPARE(reply.error(), std::string());
    QVERIFY(reply.status().run_state() != protocol::PLAYING);

    protocol::Request load_recording;
    load_recording.mutable_load_recording()->set_path(save.save_recording().path());
    reply = h.call(load_recording);
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.status().event_index(), uint64_t(0));

    protocol::Request shutdown;
    shutdown.mutable_shutdown();
    QCOMPARE(h.call(shutdown).error(), std::string());
    h.service->wait();
}

void TestEngineProtocol::roundTripOverTcp() {
    sim::EngineServiceOptions options;
    options.command_address = "tcp://127.0.0.1:0";
    options.telemetry_address = "tcp://127.0.0.1:0";
    Harness h(options);
    QVERIFY(h.start_error.empty());
    QVERIFY(h.connected);
    QVERIFY(h.service->commandAddress().rfind("tcp://127.0.0.1:", 0) == 0);
    QVERIFY(h.service->commandAddress() != "tcp://127.0.0.1:0");

    protocol::Request hello;
    hello.mutable_hello();
    protocol::Reply reply = h.call(hello);
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.hello().telemetry_address(), h.service->telemetryAddress());

    QCOMPARE(h.load(flights()).error(), std::string());
    reply = h.stepEvents(1000);
    QCOMPARE(reply.status().event_index(), uint64_t(1000));
    // A SUB socket joins late over tcp, so step again until a frame arrives.
    QVERIFY(waitUntil([&] {
        h.stepEvents(1);
        return h.frames > 0;
    }));
    QVERIFY(h.latest_frame.status().event_index() > 1000);
}

// The final checkpoint of a bounded job sends no barriers. Stepping to the
// next barrier event after the last periodic checkpoint stops at its
// trigger instead of running to the end.
void TestEngineProtocol::barrierStepStopsAtFinalCheckpoint() {
    Harness h("final-checkpoint-step");
    QCOMPARE(h.load(flights()).error(), std::string());
    QCOMPARE(h.setSpeed(0).error(), std::string());
    protocol::Reply reply = h.seek(std::numeric_limits<uint32_t>::max());
    QCOMPARE(reply.status().run_state(), protocol::FINISHED);

    protocol::Request checkpoints;
    checkpoints.mutable_query_checkpoints();
    reply = h.call(checkpoints);
    const int count = reply.checkpoints().checkpoints_size();
    QVERIFY(count >= 2);
    // Copies: `reply` is assigned again below.
    const protocol::CheckpointMark final_mark = reply.checkpoints().checkpoints(count - 1);
    const protocol::CheckpointMark before = reply.checkpoints().checkpoints(count - 2);
    QCOMPARE(h.seek(before.end_event()).status().event_index(), before.end_event());

    protocol::Request barrier;
    barrier.mutable_step_to_barrier_event();
    reply = h.call(barrier);
    QCOMPARE(reply.error(), std::string());
    QVERIFY(reply.status().run_state() != protocol::FINISHED);
    QVERIFY(reply.status().event_index() <= final_mark.end_event());
}

void TestEngineProtocol::backwardSeekSameDigest() {
    Harness h("backward-seek");
    QCOMPARE(h.load(flights()).error(), std::string());

    std::string at_2000 = h.stepEvents(2000).status().digest();
    QCOMPARE(at_2000.size(), size_t(16));
    QCOMPARE(h.seek(3000).error(), std::string());
    protocol::Request inject;
    auto* fail = inject.mutable_inject_fault()->mutable_fault()->mutable_fail_subtask();
    fail->set_operator_("hourly-delay");
    fail->set_subtask(2);
    std::string at_3000_injected = h.call(inject).status().digest();
    protocol::Reply reply = h.seek(9000);
    std::string at_9000 = reply.status().digest();
    QVERIFY(reply.status().num_restarts() >= 1);

    reply = h.seek(2000);
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.status().event_index(), uint64_t(2000));
    QCOMPARE(reply.status().digest(), at_2000);

    // The run-time fault is injected again at event 3000.
    reply = h.seek(3000);
    QCOMPARE(reply.status().digest(), at_3000_injected);
    reply = h.seek(9000);
    QCOMPARE(reply.status().event_index(), uint64_t(9000));
    QCOMPARE(reply.status().digest(), at_9000);
    QVERIFY(reply.status().num_restarts() >= 1);
}

void TestEngineProtocol::previousCheckpointSameDigest() {
    Harness h("previous-checkpoint");
    QCOMPARE(h.load(flights()).error(), std::string());
    protocol::Reply first = h.runToCheckpoint(protocol::RunToCheckpoint::NEXT);
    protocol::Reply second = h.runToCheckpoint(protocol::RunToCheckpoint::NEXT);
    QVERIFY(second.status().event_index() > first.status().event_index());
    h.stepEvents(700);

    protocol::Reply back = h.runToCheckpoint(protocol::RunToCheckpoint::PREVIOUS);
    QCOMPARE(back.error(), std::string());
    QCOMPARE(back.status().event_index(), second.status().event_index());
    QCOMPARE(back.status().digest(), second.status().digest());

    back = h.runToCheckpoint(protocol::RunToCheckpoint::PREVIOUS);
    QCOMPARE(back.status().event_index(), first.status().event_index());
    QCOMPARE(back.status().digest(), first.status().digest());

    back = h.runToCheckpoint(protocol::RunToCheckpoint::PREVIOUS);
    QVERIFY(back.error().find("no checkpoint completed before event") != std::string::npos);
}

void TestEngineProtocol::pauseInterruptsLongSeek() {
    // About 2.6 million events, so a seek to the middle runs for seconds.
    Harness h("interrupt");
    QCOMPARE(h.load(test::sourcePath("scenarios/reliability-10m.textproto")).error(),
             std::string());
    constexpr uint64_t kTarget = 1'500'000;
    protocol::Request seek;
    seek.mutable_seek()->set_event_index(kTarget);
    uint64_t seek_id = h.client.send(seek);

    protocol::Request hello;
    hello.mutable_hello();
    protocol::Reply reply = h.call(hello);
    QCOMPARE(reply.error(), std::string());
    QVERIFY(h.replies.count(seek_id) == 0);
    QVERIFY(reply.status().event_index() < kTarget);

    protocol::Request step;
    step.mutable_step_event();
    reply = h.call(step);
    QVERIFY2(reply.error().find("busy with seek") != std::string::npos, reply.error().c_str());

    protocol::Request pause;
    pause.mutable_pause();
    reply = h.call(pause);
    QCOMPARE(reply.error(), std::string());
    QVERIFY(h.replies.count(seek_id) == 1);
    const protocol::Reply& interrupted = h.replies[seek_id];
    QVERIFY2(interrupted.error().find("interrupted by Pause at event") != std::string::npos,
             interrupted.error().c_str());
    QVERIFY(interrupted.status().event_index() < kTarget);
    QCOMPARE(reply.status().event_index(), interrupted.status().event_index());
    QCOMPARE(reply.status().run_state(), protocol::PAUSED);
}

void TestEngineProtocol::stepPublishesOneFrame() {
    Harness h("one-frame");
    RawTelemetry telemetry(h.context, h.service->telemetryAddress());
    QCOMPARE(h.load(flights()).error(), std::string());
    h.stepEvents(5000);
    h.stepEvents(1);  // its frame marks the end of the first step's frames

    std::vector<uint64_t> indexes;
    protocol::Frame frame;
    while (telemetry.nextFrame(&frame)) {
        indexes.push_back(frame.status().event_index());
        if (frame.status().event_index() == 5001) {
            break;
        }
    }
    QCOMPARE(indexes, (std::vector<uint64_t>{0, 5000, 5001}));
}

void TestEngineProtocol::playFramesRateLimited() {
    constexpr int kMaxFramesPerSecond = 4;
    Harness h("rate-limit", kMaxFramesPerSecond);
    RawTelemetry telemetry(h.context, h.service->telemetryAddress());
    QCOMPARE(h.load(flights()).error(), std::string());
    QCOMPARE(h.setSpeed(0).error(), std::string());

    QElapsedTimer timer;
    timer.start();
    protocol::Request play;
    play.mutable_play();
    QCOMPARE(h.call(play).error(), std::string());
    int frames = 0;
    protocol::Frame frame;
    while (telemetry.nextFrame(&frame)) {
        ++frames;
        if (frame.status().run_state() == protocol::FINISHED) {
            break;
        }
    }
    double wall_s = double(timer.elapsed()) / 1000.0;
    QCOMPARE(frame.status().run_state(), protocol::FINISHED);
    QVERIFY(frame.status().event_index() > 30000);
    // Frames of load, play and the end, plus at most the limit per second.
    qInfo("%d frames for %llu events in %.2f s", frames,
          static_cast<unsigned long long>(frame.status().event_index()), wall_s);
    QVERIFY(frames <= 3 + int(kMaxFramesPerSecond * (wall_s + 1)));
}

void TestEngineProtocol::playAtSpeedReachesEnd() {
    Harness h("paced");
    QCOMPARE(h.load(flights()).error(), std::string());
    // 10 s of simulated time at 10 simulated seconds per wall second.
    protocol::Reply reply = h.setSpeed(10000);
    QCOMPARE(reply.error(), std::string());
    QCOMPARE(reply.status().sim_ms_per_wall_second(), 10000.0);
    protocol::Request play;
    play.mutable_play();
    QCOMPARE(h.call(play).status().run_state(), protocol::PLAYING);
    QVERIFY(h.waitForFrame([](const auto& f) { return f.status().now_ns() > 1'000'000'000; }));
    QCOMPARE(h.latest_frame.status().run_state(), protocol::PLAYING);

    protocol::Request pause;
    pause.mutable_pause();
    reply = h.call(pause);
    QCOMPARE(reply.status().run_state(), protocol::PAUSED);
    uint64_t paused_at = reply.status().event_index();
    protocol::Request hello;
    hello.mutable_hello();
    QCOMPARE(h.call(hello).status().event_index(), paused_at);

    QCOMPARE(h.call(play).error(), std::string());
    QVERIFY(h.waitForFrame([](const auto& f) { return f.status().verdict().available(); }));
    QCOMPARE(h.latest_frame.status().run_state(), protocol::FINISHED);
    QVERIFY(!h.latest_frame.status().verdict().checking());
}

void TestEngineProtocol::injectedFaultInFrameAndRecording() {
    Harness h("inject");
    QCOMPARE(h.load(flights()).error(), std::string());
    h.stepEvents(3000);
    protocol::Request inject;
    auto* fail = inject.mutable_inject_fault()->mutable_fault()->mutable_fail_subtask();
    fail->set_operator_("hourly-delay");
    fail->set_subtask(0);
    QCOMPARE(h.call(inject).error(), std::string());
    QVERIFY(h.waitForFrame([](const auto& f) { return f.faults_size() == 1; }));
    QCOMPARE(h.latest_frame.faults(0).event_index(), uint64_t(3000));
    QVERIFY(h.latest_frame.faults(0).injected());
    QVERIFY(waitUntil([&] { return h.hasEvent(protocol::Event::FAULT); }));

    protocol::Request bad;
    bad.mutable_inject_fault()->mutable_fault()->mutable_fail_subtask()->set_operator_("nope");
    QVERIFY(h.call(bad).error().find("nope") != std::string::npos);

    h.stepEvents(4000);
    QTemporaryDir dir;
    std::string path = (dir.path() + "/injected.recording").toStdString();
    protocol::Request save;
    save.mutable_save_recording()->set_path(path);
    QCOMPARE(h.call(save).error(), std::string());

    auto read = sim::readRecording(path);
    QVERIFY(std::holds_alternative<sim::Recording>(read));
    const auto& recording = std::get<sim::Recording>(read);
    QCOMPARE(recording.faults.size(), size_t(1));
    QVERIFY(recording.faults[0].injected());
    QCOMPARE(recording.faults[0].injected_at_event(), uint64_t(3000));

    QProcess process;
    process.start(QString::fromStdString(test::binaryPath("sluice-run")),
                  {"--replay", QString::fromStdString(path)});
    QVERIFY(process.waitForFinished(kWaitMs));
    QString output = QString::fromUtf8(process.readAllStandardOutput());
    QVERIFY2(output.contains("replay: OK"), qPrintable(output));
    QCOMPARE(process.exitCode(), 0);
}

void TestEngineProtocol::verdictAfterRunEnds() {
    Harness h("verdict");
    QCOMPARE(h.load(flights()).error(), std::string());
    QCOMPARE(h.setSpeed(0).error(), std::string());
    protocol::Request play;
    play.mutable_play();
    QCOMPARE(h.call(play).error(), std::string());
    QVERIFY(h.waitForFrame([](const auto& f) { return f.status().verdict().available(); }));
    const auto& verdict = h.latest_frame.status().verdict();
    QVERIFY2(verdict.pass(), verdict.explanation().c_str());
    QCOMPARE(h.latest_frame.status().run_state(), protocol::FINISHED);
    QVERIFY(waitUntil([&] { return h.hasEvent(protocol::Event::VERDICT); }));
    QVERIFY(h.hasEvent(protocol::Event::JOB_STATE));
    QVERIFY(h.hasEvent(protocol::Event::TASK_STATE));
    QVERIFY(h.hasEvent(protocol::Event::RESTORE));
    QCOMPARE(h.latest_frame.faults_size(), 1);
    QVERIFY(!h.latest_frame.faults(0).injected());

    protocol::Request hello;
    hello.mutable_hello();
    QVERIFY(h.call(hello).status().verdict().pass());
}

void TestEngineProtocol::keyedStateQueryPaged() {
    Harness h("keyed-state");
    QCOMPARE(h.load(flights()).error(), std::string());
    h.stepEvents(8000);

    protocol::Request request;
    auto* query = request.mutable_query_keyed_state();
    query->set_vertex(1);
    query->set_subtask(-1);
    query->set_limit(3);
    query->set_offset(1);
    query->set_sort(protocol::QueryKeyedState::SORT_KEY);
    protocol::Reply all = h.call(request);
    QCOMPARE(all.error(), std::string());
    QVERIFY(all.keyed_state().total() >= 5);
    QCOMPARE(all.keyed_state().rows_size(), 3);
    QCOMPARE(all.keyed_state().offset(), uint32_t(1));
    for (int i = 1; i < all.keyed_state().rows_size(); ++i) {
        QVERIFY(all.keyed_state().rows(i - 1).key() <= all.keyed_state().rows(i).key());
    }

    std::string key = all.keyed_state().rows(0).key();
    query->set_key_filter(key);
    query->set_offset(0);
    protocol::Reply filtered = h.call(request);
    QVERIFY(filtered.keyed_state().total() >= 1);
    QVERIFY(filtered.keyed_state().total() < all.keyed_state().total());
    for (const auto& row : filtered.keyed_state().rows()) {
        QVERIFY(row.key().find(key) != std::string::npos);
    }

    query->set_checkpoint_id(9999);
    QVERIFY(h.call(request).error().find("not a retained") != std::string::npos);
    query->set_checkpoint_id(0);
    query->set_vertex(7);
    QVERIFY(h.call(request).error().find("unknown vertex 7") != std::string::npos);
}

void TestEngineProtocol::lostConnectionEmitsSignal() {
    Harness h("lost");
    h.client.setReplyTimeoutMs(300);
    QString error;
    QVERIFY(h.client.connectTo(&h.context, h.service->commandAddress(),
                               h.service->telemetryAddress(), &error));
    protocol::Request hello;
    hello.mutable_hello();
    QCOMPARE(h.call(hello).error(), std::string());

    h.service->stop();
    QSignalSpy lost(&h.client, &ui::EngineClient::connectionLost);
    h.client.send(hello);
    QVERIFY(lost.wait(kWaitMs));
    QString message = lost.at(0).at(0).toString();
    QVERIFY2(message.contains("No reply from the engine at inproc://lost-commands within 0.3 s"),
             qPrintable(message));
    QVERIFY(!h.client.isConnected());

    h.client.send(hello);
    QVERIFY(lost.wait(kWaitMs));
    QCOMPARE(lost.at(1).at(0).toString(), message);
}

void TestEngineProtocol::versionMismatchInRequest() {
    Harness h("version-request");
    zmq::socket_t socket(h.context, zmq::socket_type::req);
    socket.set(zmq::sockopt::linger, 0);
    socket.connect(h.service->commandAddress());
    protocol::Request request;
    request.set_version(99);
    request.set_request_id(7);
    request.mutable_hello();
    std::string bytes = request.SerializeAsString();
    socket.send(zmq::buffer(bytes), zmq::send_flags::none);
    zmq::message_t message;
    QVERIFY(socket.recv(message));
    protocol::Reply reply;
    QVERIFY(reply.ParseFromArray(message.data(), int(message.size())));
    QCOMPARE(reply.request_id(), uint64_t(7));
    QCOMPARE(reply.version(), uint32_t(protocol::VERSION_CURRENT));
    QVERIFY2(reply.error().find("version 99") != std::string::npos, reply.error().c_str());
    QVERIFY(reply.error().find("speaks version 1") != std::string::npos);
}

void TestEngineProtocol::versionMismatchInReply() {
    zmq::context_t context;
    zmq::socket_t fake(context, zmq::socket_type::rep);
    fake.set(zmq::sockopt::linger, 0);
    fake.bind("inproc://fake-engine");
    zmq::socket_t telemetry(context, zmq::socket_type::pub);
    telemetry.bind("inproc://fake-telemetry");
    std::thread server([&] {
        zmq::message_t message;
        if (!fake.recv(message)) {
            return;
        }
        protocol::Request request;
        request.ParseFromArray(message.data(), int(message.size()));
        protocol::Reply reply;
        reply.set_version(2);
        reply.set_request_id(request.request_id());
        std::string bytes = reply.SerializeAsString();
        fake.send(zmq::buffer(bytes), zmq::send_flags::none);
    });

    ui::EngineClient client;
    QString error;
    QVERIFY(client.connectTo(&context, "inproc://fake-engine", "inproc://fake-telemetry", &error));
    QSignalSpy lost(&client, &ui::EngineClient::connectionLost);
    protocol::Request hello;
    hello.mutable_hello();
    client.send(hello);
    QVERIFY(lost.wait(kWaitMs));
    server.join();
    QString message = lost.at(0).at(0).toString();
    QVERIFY2(message.contains("speaks engine protocol version 2"), qPrintable(message));
    QVERIFY(message.contains("this client speaks version 1"));

    QVERIFY(!client.connectTo(&context, "127.0.0.1:7411", "inproc://x", &error));
    QVERIFY(error.contains("Invalid engine address '127.0.0.1:7411'"));
}

void TestEngineProtocol::malformedScenarioTextNamesLine() {
    Harness h("malformed");
    protocol::Request request;
    request.mutable_load_scenario()->set_text(
        "name: \"broken\"\n"
        "job {\n"
        "  operators { id: \"a\" paralelism: 2 }\n"
        "}\n");
    request.mutable_load_scenario()->set_path("broken.textproto");
    protocol::Reply reply = h.call(request);
    QVERIFY2(reply.error().find("broken.textproto:3:") == 0, reply.error().c_str());
    QVERIFY(reply.error().find("paralelism") != std::string::npos);
    QCOMPARE(reply.status().run_state(), protocol::EMPTY);

    protocol::Request step;
    step.mutable_step_event();
    QVERIFY(h.call(step).error().find("no scenario loaded") != std::string::npos);
}

void TestEngineProtocol::nonLoopbackBindRejected() {
    zmq::context_t context;
    sim::EngineServiceOptions options;
    options.command_address = "tcp://0.0.0.0:0";
    sim::EngineService service(context, options);
    std::string error = service.start();
    QVERIFY2(error.find("not loopback or inproc") != std::string::npos, error.c_str());
    QVERIFY(error.find("tcp://0.0.0.0:0") != std::string::npos);

    options.command_address = "tcp://192.168.1.1:7411";
    sim::EngineService other(context, options);
    QVERIFY(other.start().find("rejected address") != std::string::npos);
}

void TestEngineProtocol::addressInUseRejected() {
    zmq::context_t context;
    sim::EngineServiceOptions options;
    options.command_address = "tcp://127.0.0.1:0";
    options.telemetry_address = "inproc://in-use-telemetry";
    sim::EngineService first(context, options);
    QCOMPARE(first.start(), std::string());

    options.command_address = first.commandAddress();
    options.telemetry_address = "inproc://in-use-telemetry-2";
    sim::EngineService second(context, options);
    std::string error = second.start();
    QVERIFY2(error.find("Address already in use") != std::string::npos, error.c_str());
    QVERIFY(error.find(first.commandAddress()) != std::string::npos);
}

void TestEngineProtocol::sluiceRunServeShutdown() {
    QProcess process;
    process.start(QString::fromStdString(test::binaryPath("sluice-run")),
                  {QString::fromStdString(flights()), "--serve", "tcp://127.0.0.1:0"});
    QVERIFY(process.waitForStarted(kWaitMs));
    QString commands;
    QString telemetry;
    QVERIFY(waitUntil([&] {
        process.waitForReadyRead(10);
        while (process.canReadLine()) {
            QString line = QString::fromUtf8(process.readLine()).trimmed();
            if (line.startsWith("commands: ")) {
                commands = line.mid(10);
            } else if (line.startsWith("telemetry: ")) {
                telemetry = line.mid(11);
            }
        }
        return !commands.isEmpty() && !telemetry.isEmpty();
    }));
    QVERIFY2(commands.startsWith("tcp://127.0.0.1:"), qPrintable(commands));
    QVERIFY(commands != "tcp://127.0.0.1:0");

    zmq::context_t context;
    ui::EngineClient client;
    QString error;
    QVERIFY(client.connectTo(&context, commands.toStdString(), telemetry.toStdString(), &error));
    QSignalSpy replies(&client, &ui::EngineClient::replyReceived);
    protocol::Request hello;
    hello.mutable_hello();
    client.send(hello);
    QVERIFY(replies.wait(kWaitMs));
    protocol::Request shutdown;
    shutdown.mutable_shutdown();
    client.send(shutdown);
    QVERIFY(process.waitForFinished(kWaitMs));
    QCOMPARE(process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(process.exitCode(), 0);
    QVERIFY(QString::fromUtf8(process.readAll()).contains("engine service stopped"));
}

void TestEngineProtocol::sluiceRunServeRejectsRemote() {
    QProcess process;
    process.start(QString::fromStdString(test::binaryPath("sluice-run")),
                  {QString::fromStdString(flights()), "--serve", "tcp://0.0.0.0:0"});
    QVERIFY(process.waitForFinished(kWaitMs));
    QCOMPARE(process.exitCode(), 2);
    QString output = QString::fromUtf8(process.readAllStandardError());
    QVERIFY2(output.contains("not loopback"), qPrintable(output));
    QVERIFY(output.contains("--allow-remote"));
}

void TestEngineProtocol::sluiceRunServeBadScenario() {
    QTemporaryDir dir;
    QString path = dir.path() + "/broken.textproto";
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("job { operators { id: \"a\" paralelism: 2 } }\n");
    file.close();

    QProcess process;
    process.start(QString::fromStdString(test::binaryPath("sluice-run")),
                  {path, "--serve", "tcp://127.0.0.1:0"});
    QVERIFY(process.waitForFinished(kWaitMs));
    QCOMPARE(process.exitCode(), 2);
    QString output = QString::fromUtf8(process.readAllStandardError());
    QVERIFY2(output.contains("broken.textproto:1:"), qPrintable(output));
    QVERIFY(output.contains("paralelism"));
}

QTEST_GUILESS_MAIN(TestEngineProtocol)
#include "tst_engine_protocol.moc"
