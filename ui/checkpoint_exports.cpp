#include "ui/checkpoint_exports.h"

#include "ui/engine_session.h"
#include "ui/event_log_model.h"
#include "ui/logging_categories.h"
#include "ui/trace_export.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QSaveFile>

#include <vector>

namespace sluice::ui {

namespace {

QString writeFile(const QString& path, const QByteArray& data) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(data) != data.size() || !file.commit()) {
        return QObject::tr("Could not write %1: %2. Check that its folder exists and is writable.")
            .arg(path, file.errorString());
    }
    return {};
}

QString defaultName(EngineSession* session, const QString& suffix) {
    QString base = QFileInfo(QString::fromStdString(session->status().scenario_path())).baseName();
    return (base.isEmpty() ? QStringLiteral("run") : base) + suffix;
}

void reportDone(QWidget* parent, const QString& what, const QString& path, const QString& error) {
    if (!error.isEmpty()) {
        qCWarning(lcUiCheckpoints) << "export of" << what << "failed:" << error;
        QMessageBox::warning(parent, QObject::tr("Export failed"), error);
        return;
    }
    qCInfo(lcUiCheckpoints) << "exported" << what << "to" << path;
}

}  // namespace

void exportCheckpointHistory(EngineSession* session, const QString& path,
                             protocol::CheckpointExportQuery::Format format, ExportDone done) {
    protocol::Request request;
    request.mutable_checkpoint_export_query()->set_format(format);
    session->request(std::move(request), [path, done](const protocol::Reply& reply) {
        if (!reply.error().empty()) {
            done(QString::fromStdString(reply.error()));
            return;
        }
        const std::string& data = reply.checkpoint_export().data();
        done(writeFile(path, QByteArray(data.data(), qsizetype(data.size()))));
    });
}

void exportKeyedState(EngineSession* session, int64_t checkpoint_id, const QString& path,
                      ExportDone done) {
    protocol::Request request;
    request.mutable_state_export_query()->set_checkpoint_id(checkpoint_id);
    session->request(std::move(request), [path, done](const protocol::Reply& reply) {
        if (!reply.error().empty()) {
            done(QObject::tr("The keyed state was not exported: %1.")
                     .arg(QString::fromStdString(reply.error())));
            return;
        }
        const std::string& data = reply.state_export().data();
        done(writeFile(path, QByteArray(data.data(), qsizetype(data.size()))));
    });
}

void exportTrace(EngineSession* session, const EventLogModel* events, const QString& path,
                 ExportDone done) {
    std::vector<protocol::Event> copied;
    copied.reserve(size_t(events->rowCount()));
    for (int row = 0; row < events->rowCount(); ++row) {
        copied.push_back(events->event(row));
    }
    protocol::Request request;
    request.mutable_checkpoint_details_query();
    session->request(std::move(request),
                     [path, done, copied = std::move(copied)](const protocol::Reply& reply) {
                         if (!reply.error().empty()) {
                             done(QString::fromStdString(reply.error()));
                             return;
                         }
                         done(writeFile(path, chromeTraceJson(reply.checkpoint_details(), copied)));
                     });
}

void addCheckpointExportActions(QMenu* menu, EngineSession* session, const EventLogModel* events,
                                std::function<int64_t()> selected_checkpoint, QWidget* parent) {
    auto history = [session, parent](const QString& title, const QString& suffix,
                                     const QString& filter,
                                     protocol::CheckpointExportQuery::Format format) {
        QString path =
            QFileDialog::getSaveFileName(parent, title, defaultName(session, suffix), filter);
        if (!path.isEmpty()) {
            exportCheckpointHistory(session, path, format, [parent, path](const QString& error) {
                reportDone(parent, QStringLiteral("checkpoint history"), path, error);
            });
        }
    };
    menu->addAction(QObject::tr("Export &Checkpoints CSV..."), parent, [history] {
        history(QObject::tr("Export Checkpoints CSV"), QStringLiteral("-checkpoints.csv"),
                QObject::tr("CSV files (*.csv)"), protocol::CheckpointExportQuery::CSV);
    });
    menu->addAction(QObject::tr("Export Checkpoints &JSON..."), parent, [history] {
        history(QObject::tr("Export Checkpoints JSON"), QStringLiteral("-checkpoints.json"),
                QObject::tr("JSON files (*.json)"), protocol::CheckpointExportQuery::JSON);
    });
    menu->addAction(
        QObject::tr("Export &Keyed State of Checkpoint CSV..."), parent,
        [session, parent, selected_checkpoint = std::move(selected_checkpoint)] {
            int64_t id = selected_checkpoint ? selected_checkpoint() : 0;
            QString suffix =
                id > 0 ? QStringLiteral("-state-chk-%1.csv").arg(id) : QStringLiteral("-state.csv");
            QString title = id > 0 ? QObject::tr("Export Keyed State of Checkpoint %1").arg(id)
                                   : QObject::tr("Export Keyed State of the Newest Checkpoint");
            QString path = QFileDialog::getSaveFileName(parent, title, defaultName(session, suffix),
                                                        QObject::tr("CSV files (*.csv)"));
            if (!path.isEmpty()) {
                exportKeyedState(session, id, path, [parent, path](const QString& error) {
                    reportDone(parent, QStringLiteral("keyed state"), path, error);
                });
            }
        });
    menu->addAction(
        QObject::tr("Export &Trace (Chrome JSON)..."), parent, [session, events, parent] {
            QString path =
                QFileDialog::getSaveFileName(parent, QObject::tr("Export Trace"),
                                             defaultName(session, QStringLiteral("-trace.json")),
                                             QObject::tr("Trace files (*.json)"));
            if (!path.isEmpty()) {
                exportTrace(session, events, path, [parent, path](const QString& error) {
                    reportDone(parent, QStringLiteral("trace"), path, error);
                });
            }
        });
}

}  // namespace sluice::ui
