// sluice: the GUI. Runs the engine in process behind the engine protocol
// (an EngineService on inproc:// addresses), or attaches to a headless
// `sluice-run --serve tcp://127.0.0.1:PORT`.
//
//   sluice [FILE]                 open a scenario (.textproto, .json) or a recording
//   sluice --attach tcp://127.0.0.1:PORT
#include "sim/engine_service.h"
#include "ui/engine_client.h"
#include "ui/engine_session.h"
#include "ui/logging_categories.h"
#include "ui/main_window.h"

#include <zmq.hpp>

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFile>
#include <QIcon>
#include <QStandardPaths>

#include <memory>

namespace {

using sluice::ui::EngineClient;
using sluice::ui::EngineSession;
using sluice::ui::MainWindow;

// Copies the embedded default scenario and its CSV file to the cache folder,
// because the engine reads the data file by a path relative to the
// scenario. Returns the scenario's path, or an empty string on failure.
QString extractDefaultScenario() {
    QDir folder(QStandardPaths::writableLocation(QStandardPaths::CacheLocation) +
                "/default-scenario");
    if (!folder.mkpath("data")) {
        return {};
    }
    for (const char* name : {"flights.textproto", "data/flights-20k.csv"}) {
        QString target = folder.filePath(name);
        QFile::remove(target);
        if (!QFile::copy(QStringLiteral(":/default/") + name, target)) {
            qCWarning(lcUiApp) << "cannot write" << target;
            return {};
        }
        QFile::setPermissions(target, QFile::ReadOwner | QFile::WriteOwner);
    }
    return folder.filePath("flights.textproto");
}

// After the Hello reply: opens the file from the command line, or the
// default scenario when there is none (and nothing to attach to).
void openInitialFile(MainWindow* window, const QString& file, bool attached) {
    if (!file.isEmpty()) {
        window->openFile(file);
        return;
    }
    if (attached) {
        return;  // the served engine already has its scenario
    }
    QString path = extractDefaultScenario();
    if (path.isEmpty()) {
        window->showError(QObject::tr("Default scenario"),
                          QObject::tr("Could not write the default scenario to the cache "
                                      "folder. Open a scenario with File > Open."));
        return;
    }
    window->openFile(path);
}

// The telemetry address `sluice-run --serve` binds next to a command
// address "tcp://HOST:PORT": PORT + 1. The Hello reply names the real one.
std::string guessTelemetryAddress(const std::string& command_address) {
    size_t colon = command_address.rfind(':');
    bool ok = false;
    int port = QString::fromStdString(command_address.substr(colon + 1)).toInt(&ok);
    if (colon == std::string::npos || !ok || port <= 0 || port >= 65535) {
        return command_address;
    }
    return command_address.substr(0, colon + 1) + std::to_string(port + 1);
}

// Connects to a served engine. The client needs a telemetry address before
// Hello can name it, so it starts with the conventional one and reconnects
// when Hello names another.
void attach(EngineClient* client, EngineSession* session, MainWindow* window,
            const std::string& address, const QString& file) {
    QString error;
    std::string guessed = guessTelemetryAddress(address);
    if (!client->connectTo(nullptr, address, guessed, &error)) {
        window->showError(QObject::tr("Cannot attach"), error);
        return;
    }
    session->hello([=](const sluice::protocol::Reply& reply) {
        if (!reply.error().empty()) {
            return;
        }
        std::string telemetry = reply.hello().telemetry_address();
        qCInfo(lcUiApp) << "attached to" << QString::fromStdString(address) << "telemetry"
                        << QString::fromStdString(telemetry);
        QString telemetry_error;
        if (telemetry != guessed &&
            !client->connectTo(nullptr, address, telemetry, &telemetry_error)) {
            window->showError(QObject::tr("Cannot attach"), telemetry_error);
            return;
        }
        if (file.isEmpty()) {
            session->adoptLoadedRun();
        } else {
            openInitialFile(window, file, true);
        }
    });
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Sluice"));
    QApplication::setApplicationName(QStringLiteral("sluice"));
    QApplication::setApplicationVersion(QStringLiteral(SLUICE_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/icons/sluice.svg")));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QObject::tr("Simulates checkpointed stream processing and checks exactly-once recovery."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(
        "file", QObject::tr("Scenario (.textproto, .json) or recording to open. Default: the "
                            "built-in flights scenario."));
    QCommandLineOption attach_option(
        "attach",
        QObject::tr("Attach to an engine served by `sluice-run --serve` at <address>, "
                    "such as tcp://127.0.0.1:7411."),
        "address");
    parser.addOption(attach_option);
    parser.process(app);
    QString file = parser.positionalArguments().value(0);

    zmq::context_t context;
    std::unique_ptr<sluice::sim::EngineService> service;
    EngineClient client;
    EngineSession session(&client);
    MainWindow window(&session);
    window.show();
    // A served engine that stopped is reported within the reply timeout
    // plus this interval, also while nothing else is sent.
    session.setKeepAliveIntervalMs(2000);

    if (parser.isSet(attach_option)) {
        attach(&client, &session, &window, parser.value(attach_option).toStdString(), file);
    } else {
        service = std::make_unique<sluice::sim::EngineService>(context,
                                                               sluice::sim::EngineServiceOptions{});
        std::string error = service->start();
        QString connect_error;
        if (!error.empty()) {
            window.showError(QObject::tr("Engine did not start"), QString::fromStdString(error));
        } else if (!client.connectTo(&context, service->commandAddress(),
                                     service->telemetryAddress(), &connect_error)) {
            window.showError(QObject::tr("Engine did not start"), connect_error);
        } else {
            qCInfo(lcUiApp) << "engine service started in process";
            session.hello([&window, file](const sluice::protocol::Reply& reply) {
                if (reply.error().empty()) {
                    openInitialFile(&window, file, false);
                }
            });
        }
    }
    int status = app.exec();
    client.disconnectFromEngine();
    if (service) {
        service->stop();
    }
    qCInfo(lcUiApp) << "stopped";
    return status;
}
