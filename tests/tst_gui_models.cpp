// Views and item models of the GUI, fed with protocol messages built here:
// scene layout and telemetry, fault actions, the event log, the timeline,
// the verdict panel, the transport bar and the metrics CSV.
#include "gui_test_support.h"
#include "sim/engine.h"
#include "test_support.h"
#include "ui/event_log_model.h"
#include "ui/fault_menu.h"
#include "ui/graph_channel_items.h"
#include "ui/graph_colors.h"
#include "ui/graph_node_items.h"
#include "ui/job_graph_layout.h"
#include "ui/job_graph_scene.h"
#include "ui/metrics_csv.h"
#include "ui/timeline_widget.h"
#include "ui/transport_bar.h"
#include "ui/verdict_panel.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QGraphicsSceneContextMenuEvent>
#include <QListWidget>
#include <QMenu>
#include <QPushButton>
#include <QSignalSpy>
#include <QtTest>

#include <QDir>

#include <set>
#include <sstream>

using namespace sluice;
using namespace sluice::ui;
using sluice::JobEdge;
using sluice::JobGraph;
using sluice::JobVertex;

Q_DECLARE_METATYPE(sluice::scenario::Fault)
Q_DECLARE_METATYPE(sluice::protocol::Frame)
Q_DECLARE_METATYPE(sluice::protocol::JobGraph)
Q_DECLARE_METATYPE(sluice::ui::FaultTarget)

namespace {

protocol::Vertex* addVertex(protocol::JobGraph* graph, int id, const std::string& op,
                            int parallelism) {
    protocol::Vertex* vertex = graph->add_vertices();
    vertex->set_id(id);
    vertex->set_name(op);
    vertex->add_operators(op);
    vertex->set_parallelism(parallelism);
    vertex->set_max_parallelism(128);
    return vertex;
}

void addEdge(protocol::JobGraph* graph, int from, int to, const std::string& partitioning) {
    protocol::Edge* edge = graph->add_edges();
    edge->set_source_vertex(from);
    edge->set_target_vertex(to);
    edge->set_partitioning(partitioning);
}

// The shape of the flights scenario: source 2 -> window 4 -> sink 1.
protocol::JobGraph flightsGraph() {
    protocol::JobGraph graph;
    graph.set_job_name("flights-delay-per-airport");
    graph.set_task_managers(2);
    addVertex(&graph, 0, "flights", 2);
    addVertex(&graph, 1, "hourly-delay", 4)->set_keyed(true);
    addVertex(&graph, 2, "sink", 1);
    addEdge(&graph, 0, 1, "HASH");
    addEdge(&graph, 1, 2, "REBALANCE");
    return graph;
}

protocol::SubtaskFrame* addSubtask(protocol::Frame* frame, int vertex, int subtask, double busy,
                                   double idle, double backpressured) {
    protocol::SubtaskFrame* s = frame->add_subtasks();
    s->set_vertex(vertex);
    s->set_subtask(subtask);
    s->set_task_manager(subtask % 2);
    s->set_state("RUNNING");
    s->set_busy_ms_per_second(busy);
    s->set_idle_ms_per_second(idle);
    s->set_backpressured_ms_per_second(backpressured);
    return s;
}

protocol::Event makeEvent(uint64_t index, protocol::Event::Kind kind, int vertex,
                          int64_t checkpoint) {
    protocol::Event event;
    event.set_event_index(index);
    event.set_time_ns(int64_t(index) * 1000000);
    event.set_kind(kind);
    event.set_vertex(vertex);
    event.set_subtask(0);
    event.set_checkpoint_id(checkpoint);
    event.set_text("event " + std::to_string(index));
    return event;
}

}  // namespace

class TestGuiModels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() {
        qRegisterMetaType<sluice::scenario::Fault>();
        qRegisterMetaType<sluice::protocol::Frame>();
        qRegisterMetaType<sluice::protocol::JobGraph>();
        qRegisterMetaType<sluice::ui::FaultTarget>();
    }

    void sceneBuildsItemsOfFlightsGraph();
    void sceneMatchesShippedScenario_data();
    void sceneMatchesShippedScenario();
    void layoutKeepsSubtasksApartAndEdgesRight();
    void layoutCompactsAndBundlesAt256();
    void frameColoursSubtasksByFlinkScheme();
    void vertexShowsWorstSubtask();
    void frameMarksFailedAndRestoring();
    void channelShowsQueuesBarriersAndBlocking();
    void bundleSumsItsChannels();
    void barrierPositionsRunSenderToReceiver();
    void sceneTargetsForFaultMenus();
    void rightClickRequestsFaultMenu();
    void faultMenuKillsTaskManagerNow();
    void faultMenuUsesChosenPhase();
    void contextMenuFailsSubtaskAtAlignment();
    void eventLogPassesModelTester();
    void eventLogDropsOldestBeyondCapacity();
    void eventLogTruncatesAfterSeekBack();
    void eventLogFilterByKindTaskCheckpoint();
    void timelineMarksSeekToEvents();
    void verdictPanelShowsPassAndFail();
    void transportBarFollowsRunState();
    void metricsCsvMatchesSluiceRunFormat();
};

void TestGuiModels::sceneBuildsItemsOfFlightsGraph() {
    JobGraphScene scene;
    scene.setJobGraph(flightsGraph());
    QCOMPARE(scene.vertexItemCount(), 3);
    QCOMPARE(scene.subtaskItemCount(), 7);
    // HASH 2x4 and REBALANCE 4x1.
    QCOMPARE(scene.channelItemCount(), 12);
    QCOMPARE(scene.bundleItemCount(), 0);
    QCOMPARE(scene.taskManagerItemCount(), 2);
    QVERIFY(scene.subtaskItem(1, 3) != nullptr);
    QVERIFY(scene.subtaskItem(1, 4) == nullptr);
    QVERIFY(scene.channelItem(0, 1, 1, 3) != nullptr);
    QVERIFY(scene.channelItem(1, 2, 2, 0) != nullptr);
    QCOMPARE(scene.subtaskItem(1, 0)->operatorId(), std::string("hourly-delay"));
}

void TestGuiModels::sceneMatchesShippedScenario_data() {
    QTest::addColumn<QString>("path");
    QDir folder(QString::fromStdString(test::sourcePath("scenarios")));
    for (const QString& name : folder.entryList({"*.textproto"}, QDir::Files, QDir::Name)) {
        QTest::newRow(qPrintable(name)) << folder.filePath(name);
    }
}

// The scene built from the service's JobGraph has an item for every vertex,
// subtask and channel of the engine's own job graph, and every subtask and
// channel of a live frame lands on an item.
void TestGuiModels::sceneMatchesShippedScenario() {
    QFETCH(QString, path);
    auto built = sim::Engine::fromFile(path.toStdString());
    QVERIFY(std::holds_alternative<std::unique_ptr<sim::Engine>>(built));
    const JobGraph& expected = std::get<std::unique_ptr<sim::Engine>>(built)->jobGraph();

    test::ServedEngine engine;
    QVERIFY2(engine.error.isEmpty(), qPrintable(engine.error));
    QSignalSpy graphs(engine.session.get(), &EngineSession::jobGraphChanged);
    QSignalSpy frames(engine.session.get(), &EngineSession::frameReceived);
    engine.session->loadScenario(path);
    QTRY_COMPARE_WITH_TIMEOUT(graphs.count(), 1, 60000);
    JobGraphScene scene;
    scene.setJobGraph(engine.session->jobGraph());

    QCOMPARE(scene.vertexItemCount(), int(expected.vertices().size()));
    int subtasks = 0;
    for (const JobVertex& vertex : expected.vertices()) {
        subtasks += vertex.parallelism;
        QVERIFY(scene.vertexItem(vertex.id) != nullptr);
        QCOMPARE(scene.vertexItem(vertex.id)->vertex().name(), vertex.name);
        QCOMPARE(scene.vertexItem(vertex.id)->vertex().parallelism(), vertex.parallelism);
    }
    QCOMPARE(scene.subtaskItemCount(), subtasks);
    int channels = 0;
    for (const JobEdge& edge : expected.edges()) {
        int from = expected.vertex(edge.source_vertex).parallelism;
        int to = expected.vertex(edge.target_vertex).parallelism;
        int count = edge.isPointwise() ? from : from * to;
        bool bundled = !edge.isPointwise() && count > kMaxDrawnChannelsPerEdge;
        channels += bundled ? 1 : count;
    }
    QCOMPARE(scene.channelItemCount(), channels);

    engine.session->stepEvent(20000);
    // Jobs chained into one vertex have no channels, so wait for subtasks.
    QTRY_VERIFY_WITH_TIMEOUT(
        !frames.isEmpty() &&
            frames.last().at(0).value<protocol::Frame>().status().event_index() > 0 &&
            !frames.last().at(0).value<protocol::Frame>().subtasks().empty(),
        60000);
    protocol::Frame frame = frames.last().at(0).value<protocol::Frame>();
    for (const protocol::SubtaskFrame& subtask : frame.subtasks()) {
        QVERIFY(scene.subtaskItem(subtask.vertex(), subtask.subtask()) != nullptr);
    }
    for (const protocol::ChannelFrame& channel : frame.channels()) {
        QVERIFY(scene.channelItem(channel.source_vertex(), channel.source_subtask(),
                                  channel.target_vertex(), channel.target_subtask()) != nullptr);
    }
    QCOMPARE(frame.task_managers_size(), scene.taskManagerItemCount());
}

void TestGuiModels::layoutKeepsSubtasksApartAndEdgesRight() {
    protocol::JobGraph graph = flightsGraph();
    JobGraphLayout layout = layoutJobGraph(graph);
    QCOMPARE(int(layout.subtasks.size()), 7);
    for (const auto& [a_key, a] : layout.subtasks) {
        for (const auto& [b_key, b] : layout.subtasks) {
            if (a_key != b_key) {
                QVERIFY2(!a.intersects(b), "two subtask nodes overlap");
            }
        }
    }
    for (const protocol::Edge& edge : graph.edges()) {
        QRectF from = layout.vertices[size_t(vertexIndex(graph, edge.source_vertex()))].rect;
        QRectF to = layout.vertices[size_t(vertexIndex(graph, edge.target_vertex()))].rect;
        QVERIFY(from.right() < to.left());
    }
    QVERIFY(layout.bounds.contains(layout.vertices[2].rect));
}

void TestGuiModels::layoutCompactsAndBundlesAt256() {
    protocol::JobGraph graph;
    graph.set_task_managers(8);
    addVertex(&graph, 0, "source", 256);
    addVertex(&graph, 1, "count", 256);
    addVertex(&graph, 2, "sink", 256);
    addEdge(&graph, 0, 1, "HASH");
    addEdge(&graph, 1, 2, "FORWARD");
    JobGraphLayout layout = layoutJobGraph(graph);
    QVERIFY(layout.vertices[0].compact);
    // 256 compact nodes fit a box a screen can show at a readable zoom.
    QVERIFY2(layout.vertices[0].rect.height() < 500, "compact vertex too tall");
    QVERIFY2(layout.vertices[0].rect.width() < 500, "compact vertex too wide");
    std::set<std::pair<double, double>> corners;
    for (const auto& [key, rect] : layout.subtasks) {
        corners.insert({rect.x(), rect.y()});
    }
    QCOMPARE(int(corners.size()), 768);

    JobGraphScene scene;
    scene.setJobGraph(graph);
    QCOMPARE(scene.subtaskItemCount(), 768);
    // 65,536 shuffle channels become one bundle; the forward edge keeps 256.
    QCOMPARE(scene.bundleItemCount(), 1);
    QCOMPARE(scene.channelItemCount(), 257);
    QVERIFY(scene.channelItem(0, 5, 1, 200)->isBundle());
    QVERIFY(!scene.channelItem(1, 7, 2, 7)->isBundle());
}

void TestGuiModels::frameColoursSubtasksByFlinkScheme() {
    JobGraphScene scene;
    scene.setJobGraph(flightsGraph());
    protocol::Frame frame;
    addSubtask(&frame, 1, 0, 0, 1000, 0);
    addSubtask(&frame, 1, 1, 1000, 0, 0);
    addSubtask(&frame, 1, 2, 0, 0, 1000);
    addSubtask(&frame, 1, 3, 500, 500, 0);
    scene.applyFrame(frame);
    QColor idle = scene.subtaskItem(1, 0)->fillColor();
    QColor busy = scene.subtaskItem(1, 1)->fillColor();
    QColor backpressured = scene.subtaskItem(1, 2)->fillColor();
    QColor half = scene.subtaskItem(1, 3)->fillColor();
    QVERIFY(idle.blue() > idle.red());
    QVERIFY(busy.red() > busy.blue());
    QVERIFY(backpressured.lightnessF() < 0.2);
    QVERIFY(half.red() > idle.red());
    QVERIFY(half.red() < busy.red());
    QCOMPARE(backpressureStatus(50), QStringLiteral("OK"));
    QCOMPARE(backpressureStatus(300), QStringLiteral("LOW"));
    QCOMPARE(backpressureStatus(800), QStringLiteral("HIGH"));
}

void TestGuiModels::vertexShowsWorstSubtask() {
    JobGraphScene scene;
    scene.setJobGraph(flightsGraph());
    protocol::Frame frame;
    addSubtask(&frame, 1, 0, 100, 900, 0);
    addSubtask(&frame, 1, 1, 200, 100, 700);
    addSubtask(&frame, 1, 2, 600, 400, 0);
    addSubtask(&frame, 1, 3, 0, 1000, 0);
    scene.applyFrame(frame);
    QCOMPARE(scene.vertexItem(1)->worstSubtask(), 1);
    QCOMPARE(scene.vertexItem(0)->worstSubtask(), -1);
}

void TestGuiModels::frameMarksFailedAndRestoring() {
    JobGraphScene scene;
    scene.setJobGraph(flightsGraph());
    protocol::Frame frame;
    addSubtask(&frame, 0, 0, 0, 1000, 0)->set_state("FAILED");
    addSubtask(&frame, 0, 1, 0, 1000, 0)->set_state("CANCELING");
    addSubtask(&frame, 1, 0, 0, 1000, 0)->set_restoring(true);
    addSubtask(&frame, 1, 1, 0, 1000, 0);
    scene.applyFrame(frame);
    QCOMPARE(scene.subtaskItem(0, 0)->markText(), QStringLiteral("FAILED"));
    QCOMPARE(scene.subtaskItem(0, 1)->markText(), QStringLiteral("CANCELING"));
    QCOMPARE(scene.subtaskItem(1, 0)->markText(), QStringLiteral("RESTORING"));
    QCOMPARE(scene.subtaskItem(1, 1)->markText(), QString());
    protocol::TaskManagerFrame* tm = frame.add_task_managers();
    tm->set_id(1);
    tm->set_alive(false);
    scene.applyFrame(frame);
    QVERIFY(!scene.taskManagerItem(1)->alive());
    QVERIFY(scene.taskManagerItem(0)->alive());
    // Subtask 1 of both vertices runs on TaskManager 1; only hourly-delay #1 is RUNNING.
    QCOMPARE(scene.taskManagerItem(1)->runningSubtasks(), 1);
}

void TestGuiModels::channelShowsQueuesBarriersAndBlocking() {
    JobGraphScene scene;
    scene.setJobGraph(flightsGraph());
    protocol::Frame frame;
    protocol::ChannelFrame* channel = frame.add_channels();
    channel->set_source_vertex(0);
    channel->set_source_subtask(1);
    channel->set_target_vertex(1);
    channel->set_target_subtask(2);
    channel->set_queued_output_buffers(3);
    channel->set_queued_input_buffers(2);
    channel->set_credits(1);
    channel->set_backlog(4);
    channel->set_capacity_buffers(10);
    channel->set_blocked_by_alignment(true);
    protocol::BarrierInFlight* barrier = channel->add_barriers();
    barrier->set_checkpoint_id(7);
    barrier->set_where(protocol::BarrierInFlight::OUTPUT_QUEUE);
    barrier->set_position(0.5);
    barrier->set_unaligned(true);
    barrier->set_overtook_data(true);
    scene.applyFrame(frame);
    const ChannelSummary& summary = scene.channelItem(0, 1, 1, 2)->summary();
    QCOMPARE(summary.channels, 1);
    QCOMPARE(summary.queued_output_buffers, 3);
    QCOMPARE(summary.queued_input_buffers, 2);
    QCOMPARE(summary.credits, 1);
    QCOMPARE(summary.backlog, 4);
    QCOMPARE(summary.blocked_channels, 1);
    QCOMPARE(int(summary.barriers.size()), 1);
    QCOMPARE(summary.barriers[0].checkpoint_id(), 7);
    QVERIFY(scene.channelItem(0, 1, 1, 2)->toolTip().contains("overtook data"));
    QCOMPARE(scene.channelItem(0, 0, 1, 2)->summary().blocked_channels, 0);
    QVERIFY(checkpointColor(7) != checkpointColor(8));
}

void TestGuiModels::bundleSumsItsChannels() {
    protocol::JobGraph graph;
    graph.set_task_managers(2);
    addVertex(&graph, 0, "source", 16);
    addVertex(&graph, 1, "count", 16);
    addEdge(&graph, 0, 1, "HASH");
    JobGraphScene scene;
    scene.setJobGraph(graph);
    QCOMPARE(scene.bundleItemCount(), 1);
    protocol::Frame frame;
    for (int s = 0; s < 16; ++s) {
        for (int t = 0; t < 16; ++t) {
            protocol::ChannelFrame* channel = frame.add_channels();
            channel->set_source_vertex(0);
            channel->set_source_subtask(s);
            channel->set_target_vertex(1);
            channel->set_target_subtask(t);
            channel->set_queued_input_buffers(1);
            channel->set_capacity_buffers(2);
            channel->set_blocked_by_alignment(t == 0);
        }
    }
    scene.applyFrame(frame);
    const ChannelSummary& summary = scene.channelItem(0, 3, 1, 4)->summary();
    QCOMPARE(summary.channels, 256);
    QCOMPARE(summary.queued_input_buffers, 256);
    QCOMPARE(summary.capacity_buffers, 512);
    QCOMPARE(summary.blocked_channels, 16);
}

void TestGuiModels::barrierPositionsRunSenderToReceiver() {
    auto at = [](protocol::BarrierInFlight::Where where, double position) {
        protocol::BarrierInFlight barrier;
        barrier.set_where(where);
        barrier.set_position(position);
        return ChannelItem::barrierPercent(barrier);
    };
    using B = protocol::BarrierInFlight;
    // Tail of the output queue, head of the output queue, in flight, tail
    // and head of the input channel: strictly from sender to receiver.
    double points[] = {at(B::OUTPUT_QUEUE, 1), at(B::OUTPUT_QUEUE, 0), at(B::IN_FLIGHT, 0.5),
                       at(B::INPUT_CHANNEL, 1), at(B::INPUT_CHANNEL, 0)};
    for (size_t i = 1; i < std::size(points); ++i) {
        QVERIFY(points[i - 1] < points[i]);
    }
    QCOMPARE(points[0], 0.0);
    QCOMPARE(points[4], 1.0);
}

void TestGuiModels::sceneTargetsForFaultMenus() {
    JobGraphScene scene;
    scene.setJobGraph(flightsGraph());
    protocol::Frame frame;
    addSubtask(&frame, 1, 3, 0, 1000, 0);
    scene.applyFrame(frame);
    FaultTarget subtask = scene.targetAt(scene.subtaskItem(1, 3)->boundingRect().center());
    QCOMPARE(int(subtask.kind), int(FaultTarget::Kind::kSubtask));
    QCOMPARE(subtask.operator_id, std::string("hourly-delay"));
    QCOMPARE(subtask.subtask, 3);
    QCOMPARE(subtask.task_manager, 1);
    FaultTarget tm = scene.targetAt(scene.taskManagerItem(1)->boundingRect().center());
    QCOMPARE(int(tm.kind), int(FaultTarget::Kind::kTaskManager));
    QCOMPARE(tm.task_manager, 1);
    FaultTarget nothing = scene.targetAt(QPointF(-30, -30));
    QCOMPARE(int(nothing.kind), int(FaultTarget::Kind::kNone));
}

void TestGuiModels::rightClickRequestsFaultMenu() {
    JobGraphScene scene;
    scene.setJobGraph(flightsGraph());
    QSignalSpy spy(&scene, &JobGraphScene::faultMenuRequested);
    QGraphicsSceneContextMenuEvent on_subtask(QEvent::GraphicsSceneContextMenu);
    on_subtask.setScenePos(scene.subtaskItem(0, 1)->boundingRect().center());
    on_subtask.setScreenPos(QPoint(100, 200));
    QApplication::sendEvent(&scene, &on_subtask);
    QCOMPARE(spy.count(), 1);
    auto target = spy.at(0).at(0).value<FaultTarget>();
    QCOMPARE(int(target.kind), int(FaultTarget::Kind::kSubtask));
    QCOMPARE(target.operator_id, std::string("flights"));
    QCOMPARE(target.subtask, 1);
    QCOMPARE(spy.at(0).at(1).toPoint(), QPoint(100, 200));
    QGraphicsSceneContextMenuEvent on_nothing(QEvent::GraphicsSceneContextMenu);
    on_nothing.setScenePos(QPointF(-30, -30));
    QApplication::sendEvent(&scene, &on_nothing);
    QCOMPARE(spy.count(), 1);
}

void TestGuiModels::faultMenuKillsTaskManagerNow() {
    FaultMenu menu;
    menu.setJobGraph(flightsGraph());
    QSignalSpy spy(&menu, &FaultMenu::faultRequested);
    QAction* kill = menu.findAction(QStringLiteral("kill-task-manager-1"));
    QVERIFY(kill != nullptr);
    kill->trigger();
    QCOMPARE(spy.count(), 1);
    auto fault = spy.at(0).at(0).value<scenario::Fault>();
    QVERIFY(fault.has_kill_task_manager());
    QCOMPARE(fault.kill_task_manager().task_manager(), 1u);
    QVERIFY(!fault.has_trigger());
    // Every fault kind of the engine has an entry in the Faults menu.
    QVERIFY(menu.findAction("fail-flights-1") != nullptr);
    QVERIFY(menu.findAction("decline-sink-0") != nullptr);
    QVERIFY(menu.findAction("slow-hourly-delay") != nullptr);
    QVERIFY(menu.findAction("partition-link--1-0") != nullptr);
    QVERIFY(menu.findAction("partition-link-0-1") != nullptr);
    QVERIFY(menu.findAction("drop-ACKNOWLEDGE_CHECKPOINT") != nullptr);
    QVERIFY(menu.findAction("delay-NOTIFY_CHECKPOINT_COMPLETE") != nullptr);
    QVERIFY(menu.findAction("storage-fail") != nullptr);
    QVERIFY(menu.findAction("storage-slow") != nullptr);
    QVERIFY(menu.findAction("reject-writes-sink") != nullptr);
    QVERIFY(menu.findAction("reject-writes-flights") == nullptr);
}

void TestGuiModels::faultMenuUsesChosenPhase() {
    FaultMenu menu;
    menu.setJobGraph(flightsGraph());
    menu.setCurrentAttempt(2);
    menu.setTiming(scenario::ALL_ACKNOWLEDGED);
    QSignalSpy spy(&menu, &FaultMenu::faultRequested);
    menu.findAction(QStringLiteral("kill-task-manager-0"))->trigger();
    QCOMPARE(spy.count(), 1);
    auto fault = spy.at(0).at(0).value<scenario::Fault>();
    QVERIFY(fault.trigger().has_phase());
    QCOMPARE(fault.trigger().phase().phase(), scenario::ALL_ACKNOWLEDGED);
    QCOMPARE(fault.trigger().phase().checkpoint_id(), 0);
    QCOMPARE(fault.trigger().phase().subtask(), -1);
    QCOMPARE(fault.trigger().phase().attempt(), 2u);
    // Rebuilding the menu for another graph keeps the chosen timing.
    menu.setJobGraph(flightsGraph());
    QCOMPARE(menu.timing().phase, scenario::ALL_ACKNOWLEDGED);
}

void TestGuiModels::contextMenuFailsSubtaskAtAlignment() {
    FaultMenu menu;
    menu.setJobGraph(flightsGraph());
    menu.setTiming(scenario::DURING_ALIGNMENT);
    FaultTarget target;
    target.kind = FaultTarget::Kind::kSubtask;
    target.operator_id = "hourly-delay";
    target.vertex = 1;
    target.subtask = 2;
    target.task_manager = 0;
    QMenu context;
    menu.populate(&context, target);
    QAction* fail = context.findChild<QAction*>(QStringLiteral("context-fail"));
    QVERIFY(fail != nullptr);
    QVERIFY(context.findChild<QAction*>(QStringLiteral("context-kill-task-manager")) != nullptr);
    QSignalSpy spy(&menu, &FaultMenu::faultRequested);
    fail->trigger();
    QCOMPARE(spy.count(), 1);
    auto fault = spy.at(0).at(0).value<scenario::Fault>();
    QCOMPARE(fault.fail_subtask().operator_(), std::string("hourly-delay"));
    QCOMPARE(fault.fail_subtask().subtask(), 2u);
    QCOMPARE(fault.trigger().phase().phase(), scenario::DURING_ALIGNMENT);
    QCOMPARE(fault.trigger().phase().operator_(), std::string("hourly-delay"));
    QCOMPARE(fault.trigger().phase().subtask(), 2);
}

void TestGuiModels::eventLogPassesModelTester() {
    EventLogModel model(nullptr, 50);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    EventLogFilter filter;
    filter.setSourceModel(&model);
    QAbstractItemModelTester filter_tester(&filter,
                                           QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setVertexNames({{0, "flights"}, {1, "hourly-delay"}});
    for (int round = 0; round < 4; ++round) {
        protocol::EventBatch batch;
        for (int i = 0; i < 20; ++i) {
            uint64_t index = uint64_t(round * 20 + i);
            *batch.add_events() = makeEvent(
                index,
                i % 2 ? protocol::Event::BARRIER_RECEIVED : protocol::Event::CHECKPOINT_TRIGGERED,
                i % 3 - 1, i % 4);
        }
        model.appendEvents(batch);
        filter.setKind(round % 2 ? protocol::Event::BARRIER_RECEIVED : -1);
    }
    model.truncateAfter(70);
    filter.setCheckpoint(2);
    filter.setVertex(0);
    model.clear();
    QCOMPARE(model.rowCount(), 0);
}

void TestGuiModels::eventLogDropsOldestBeyondCapacity() {
    EventLogModel model(nullptr, 5);
    protocol::EventBatch batch;
    for (uint64_t i = 0; i < 8; ++i) {
        *batch.add_events() = makeEvent(i, protocol::Event::FAULT, -1, 0);
    }
    model.appendEvents(batch);
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.event(0).event_index(), 3u);
    protocol::EventBatch more;
    *more.add_events() = makeEvent(8, protocol::Event::FAULT, -1, 0);
    model.appendEvents(more);
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.event(0).event_index(), 4u);
    QCOMPARE(model.event(4).event_index(), 8u);
    QCOMPARE(model.index(4, EventLogModel::kTaskColumn).data().toString(), QString());
}

void TestGuiModels::eventLogTruncatesAfterSeekBack() {
    EventLogModel model;
    protocol::EventBatch batch;
    for (uint64_t i = 0; i < 10; ++i) {
        *batch.add_events() = makeEvent(i * 10, protocol::Event::BARRIER_EMITTED, 0, 1);
    }
    model.appendEvents(batch);
    model.truncateAfter(45);
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(model.event(4).event_index(), 40u);
    model.truncateAfter(1000);
    QCOMPARE(model.rowCount(), 5);
}

void TestGuiModels::eventLogFilterByKindTaskCheckpoint() {
    EventLogModel model;
    model.setVertexNames({{0, "flights"}, {1, "hourly-delay"}});
    protocol::EventBatch batch;
    *batch.add_events() = makeEvent(1, protocol::Event::CHECKPOINT_TRIGGERED, -1, 1);
    *batch.add_events() = makeEvent(2, protocol::Event::BARRIER_EMITTED, 0, 1);
    *batch.add_events() = makeEvent(3, protocol::Event::BARRIER_RECEIVED, 1, 1);
    *batch.add_events() = makeEvent(4, protocol::Event::BARRIER_RECEIVED, 1, 2);
    *batch.add_events() = makeEvent(5, protocol::Event::FAULT, -1, 0);
    model.appendEvents(batch);
    EventLogFilter filter;
    filter.setSourceModel(&model);
    QCOMPARE(filter.rowCount(), 5);
    filter.setKind(protocol::Event::BARRIER_RECEIVED);
    QCOMPARE(filter.rowCount(), 2);
    filter.setCheckpoint(2);
    QCOMPARE(filter.rowCount(), 1);
    QCOMPARE(filter.index(0, EventLogModel::kEventColumn).data().toULongLong(), 4u);
    QCOMPARE(filter.index(0, EventLogModel::kTaskColumn).data().toString(),
             QStringLiteral("hourly-delay #0"));
    filter.setKind(-1);
    filter.setCheckpoint(0);
    filter.setVertex(0);
    QCOMPARE(filter.rowCount(), 1);
    QCOMPARE(filter.index(0, EventLogModel::kKindColumn).data().toString(),
             QStringLiteral("BARRIER_EMITTED"));
}

void TestGuiModels::timelineMarksSeekToEvents() {
    TimelineWidget timeline;
    timeline.resize(1000, 60);
    protocol::Frame frame;
    frame.mutable_status()->set_now_ns(5000000000);
    frame.mutable_status()->set_until_ns(10000000000);
    protocol::CheckpointMark* done = frame.add_checkpoints();
    done->set_checkpoint_id(3);
    done->set_status("COMPLETED");
    done->set_trigger_ns(3000000000);
    done->set_end_ns(3100000000);
    done->set_trigger_event(3000);
    done->set_end_event(3100);
    protocol::CheckpointMark* failed = frame.add_checkpoints();
    failed->set_checkpoint_id(4);
    failed->set_status("FAILED");
    failed->set_trigger_ns(4000000000);
    failed->set_end_ns(4200000000);
    failed->set_end_event(4200);
    protocol::FaultMark* fault = frame.add_faults();
    fault->set_event_index(3500);
    fault->set_time_ns(3500000000);
    fault->set_description("kill TaskManager 1");
    fault->set_injected(true);
    timeline.applyFrame(frame);
    QCOMPARE(int(timeline.marks().size()), 3);
    QSignalSpy spy(&timeline, &TimelineWidget::seekRequested);
    QTest::mouseClick(&timeline, Qt::LeftButton, {}, QPoint(timeline.xOf(3100000000), 24));
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toULongLong(), 3100u);
    QTest::mouseClick(&timeline, Qt::LeftButton, {}, QPoint(timeline.xOf(3500000000), 50));
    QCOMPARE(spy.count(), 2);
    QCOMPARE(spy.at(1).at(0).toULongLong(), 3500u);
    QTest::mouseClick(&timeline, Qt::LeftButton, {}, QPoint(timeline.xOf(4200000000), 24));
    QCOMPARE(spy.at(2).at(0).toULongLong(), 4200u);
    // Far from every mark: no seek.
    QTest::mouseClick(&timeline, Qt::LeftButton, {}, QPoint(timeline.xOf(8000000000), 24));
    QCOMPARE(spy.count(), 3);
}

void TestGuiModels::verdictPanelShowsPassAndFail() {
    VerdictPanel panel;
    QCOMPARE(panel.verdictText(), QString());
    protocol::Verdict pass;
    pass.set_available(true);
    pass.set_pass(true);
    panel.setVerdict(pass);
    QCOMPARE(panel.verdictText(), QStringLiteral("PASS"));
    QVERIFY(panel.seekButton()->isHidden());
    protocol::Verdict fail;
    fail.set_available(true);
    fail.set_pass(false);
    fail.set_explanation("key ORD: record 17 committed twice");
    fail.set_event_index(12345);
    fail.add_violations("duplicate: key ORD record 17");
    fail.add_violations("duplicate: key DFW record 4");
    fail.add_warnings("transaction timeout shorter than downtime");
    panel.setVerdict(fail);
    QCOMPARE(panel.verdictText(), QStringLiteral("FAIL"));
    QVERIFY(panel.explanation().contains("ORD"));
    QCOMPARE(panel.violationList()->count(), 3);
    QSignalSpy spy(&panel, &VerdictPanel::seekRequested);
    panel.seekButton()->click();
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toULongLong(), 12345u);
    Q_EMIT panel.violationList()->itemClicked(panel.violationList()->item(0));
    QCOMPARE(spy.count(), 2);
    Q_EMIT panel.violationList()->itemClicked(panel.violationList()->item(1));
    QCOMPARE(spy.count(), 2);
    panel.setVerdict(protocol::Verdict());
    QCOMPARE(panel.verdictText(), QString());
}

void TestGuiModels::transportBarFollowsRunState() {
    TransportBar bar;
    QVERIFY(!bar.playPauseAction()->isEnabled());
    bar.setRunState(protocol::PAUSED);
    QVERIFY(bar.playPauseAction()->isEnabled());
    QVERIFY(bar.stepEventAction()->isEnabled());
    QSignalSpy play(&bar, &TransportBar::playRequested);
    QSignalSpy pause(&bar, &TransportBar::pauseRequested);
    bar.playPauseAction()->trigger();
    QCOMPARE(play.count(), 1);
    bar.setRunState(protocol::PLAYING);
    QVERIFY(!bar.stepEventAction()->isEnabled());
    bar.playPauseAction()->trigger();
    QCOMPARE(pause.count(), 1);
    bar.setRunState(protocol::FINISHED);
    QVERIFY(!bar.playPauseAction()->isEnabled());
    QVERIFY(bar.previousCheckpointAction()->isEnabled());
    for (QAction* action : bar.runActions()) {
        QVERIFY2(!action->shortcut().isEmpty(), qPrintable(action->text()));
    }
    QSignalSpy speed(&bar, &TransportBar::speedRequested);
    bar.setSpeed(1000);
    QCOMPARE(bar.speed(), 1000.0);
    bar.fasterAction()->trigger();
    QCOMPARE(speed.count(), 1);
    QCOMPARE(speed.at(0).at(0).toDouble(), 4000.0);
    bar.setSpeed(0);
    QCOMPARE(bar.speed(), 0.0);
}

void TestGuiModels::metricsCsvMatchesSluiceRunFormat() {
    protocol::MetricsPage page;
    auto add = [&](int64_t time_ms, const std::string& task, int subtask, const std::string& metric,
                   double value) {
        protocol::MetricSample* sample = page.add_samples();
        sample->set_time_ms(time_ms);
        sample->set_task(task);
        sample->set_subtask(subtask);
        sample->set_metric(metric);
        sample->set_value(value);
    };
    add(1000, "flights", 0, "busyTimeMsPerSecond", 250);
    add(1000, "a, \"b\"", 1, "inPoolUsage", 0.125);
    add(2000, "sink", 0, "currentInputWatermark", 9.3e18);
    std::ostringstream out;
    writeMetricsCsv(out, page);
    QCOMPARE(QString::fromStdString(out.str()),
             QStringLiteral("time_ms,task,subtask,metric,value\n"
                            "1000,flights,0,busyTimeMsPerSecond,250\n"
                            "1000,\"a, \"\"b\"\"\",1,inPoolUsage,0.125\n"
                            "2000,sink,0,currentInputWatermark,9223372036854775807\n"));
}

QTEST_MAIN(TestGuiModels)
#include "tst_gui_models.moc"
