#include "ui/checkpoint_gantt.h"

#include "ui/checkpoint_history_model.h"

#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <array>

namespace sluice::ui {

namespace {

constexpr double kNanosPerMilli = 1e6;
constexpr int kRowHeight = 20;
constexpr int kLegendHeight = 22;
constexpr int kAxisHeight = 18;
constexpr int kLabelWidth = 170;
constexpr int kMargin = 6;

struct Phase {
    const char* name;
    QColor color;
};

// Start delay, alignment, sync, async: the order in which a subtask goes
// through them.
const std::array<Phase, 4>& phases() {
    static const std::array<Phase, 4> kPhases = {{
        {"Start delay", QColor(0xb0, 0xb0, 0xb0)},
        {"Alignment", QColor(0xe6, 0x9f, 0x00)},
        {"Sync", QColor(0x00, 0x72, 0xb2)},
        {"Async", QColor(0x56, 0xb4, 0xe9)},
    }};
    return kPhases;
}

std::array<double, 4> phaseDurations(const CheckpointGanttRow& row) {
    return {row.start_delay_ms, row.alignment_ms, row.sync_ms, row.async_ms};
}

double ms(int64_t ns) {
    return double(ns) / kNanosPerMilli;
}

}  // namespace

std::vector<CheckpointGanttRow> checkpointGanttRows(const protocol::CheckpointDetail& checkpoint,
                                                    const QStringList& vertex_names) {
    std::vector<CheckpointGanttRow> rows;
    for (const protocol::CheckpointSubtaskDetail& subtask : checkpoint.subtasks()) {
        CheckpointGanttRow row;
        QString task = subtask.vertex() < vertex_names.size()
                           ? vertex_names[subtask.vertex()]
                           : QStringLiteral("vertex %1").arg(subtask.vertex());
        row.label = QStringLiteral("%1 #%2").arg(task).arg(subtask.subtask());
        row.vertex = subtask.vertex();
        row.subtask = subtask.subtask();
        row.acknowledged = subtask.acknowledged();
        row.start_delay_ms = ms(subtask.start_delay_ns());
        row.alignment_ms = ms(subtask.alignment_duration_ns());
        row.sync_ms = ms(subtask.sync_duration_ns());
        row.async_ms = ms(subtask.async_duration_ns());
        row.processed_bytes = subtask.processed_bytes();
        row.persisted_bytes = subtask.persisted_bytes();
        row.unaligned = subtask.unaligned();
        rows.push_back(row);
    }
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        if (a.totalMs() != b.totalMs()) {
            return a.totalMs() > b.totalMs();
        }
        return std::pair(a.vertex, a.subtask) < std::pair(b.vertex, b.subtask);
    });
    return rows;
}

CheckpointGantt::CheckpointGantt(QWidget* parent) : QWidget(parent) {
    setMouseTracking(true);
}

void CheckpointGantt::setCheckpoint(const protocol::CheckpointDetail& checkpoint,
                                    const QStringList& vertex_names) {
    rows_ = checkpointGanttRows(checkpoint, vertex_names);
    // A scroll area shrinks its widget down to the minimum size only, so
    // the minimum height keeps every row reachable by scrolling.
    setMinimumHeight(sizeHint().height());
    updateGeometry();
    update();
}

void CheckpointGantt::clear() {
    rows_.clear();
    setMinimumHeight(minimumSizeHint().height());
    updateGeometry();
    update();
}

QString CheckpointGantt::rowToolTip(int row) const {
    const CheckpointGanttRow& r = rows_.at(size_t(row));
    QString text =
        QStringLiteral("<b>%1</b>%2<br>")
            .arg(r.label.toHtmlEscaped(), r.acknowledged ? QString() : tr(" (not acknowledged)"));
    text += tr("Start delay: %1 ms<br>Alignment: %2 ms<br>Sync: %3 ms<br>Async: %4 ms<br>")
                .arg(r.start_delay_ms, 0, 'f', 3)
                .arg(r.alignment_ms, 0, 'f', 3)
                .arg(r.sync_ms, 0, 'f', 3)
                .arg(r.async_ms, 0, 'f', 3);
    text += tr("Processed in-flight data: %1 bytes<br>Persisted in-flight data: %2 bytes<br>")
                .arg(r.processed_bytes)
                .arg(r.persisted_bytes);
    text += tr("Unaligned: %1").arg(r.unaligned ? tr("yes") : tr("no"));
    return text;
}

int CheckpointGantt::rowAt(int y) const {
    int row = (y - kLegendHeight - kAxisHeight) / kRowHeight;
    if (y < kLegendHeight + kAxisHeight || row >= int(rows_.size())) {
        return -1;
    }
    return row;
}

QSize CheckpointGantt::sizeHint() const {
    return {600, kLegendHeight + kAxisHeight + int(rows_.size()) * kRowHeight + kMargin};
}

QSize CheckpointGantt::minimumSizeHint() const {
    return {kLabelWidth + 100, kLegendHeight + kAxisHeight + kRowHeight};
}

bool CheckpointGantt::event(QEvent* event) {
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        int row = rowAt(help->pos().y());
        if (row < 0) {
            QToolTip::hideText();
        } else {
            QToolTip::showText(help->globalPos(), rowToolTip(row), this);
        }
        return true;
    }
    return QWidget::event(event);
}

void CheckpointGantt::paintLegend(QPainter& painter) const {
    int x = kMargin;
    for (const Phase& phase : phases()) {
        painter.fillRect(QRect(x, 6, 12, 12), phase.color);
        painter.setPen(palette().color(QPalette::WindowText));
        QString name = tr(phase.name);
        painter.drawText(QPoint(x + 16, 16), name);
        x += 16 + painter.fontMetrics().horizontalAdvance(name) + 14;
    }
}

void CheckpointGantt::paintAxis(QPainter& painter, const QRect& plot, double max_ms) const {
    painter.setPen(palette().color(QPalette::Mid));
    int y = plot.top() - 4;
    painter.drawLine(plot.left(), y, plot.right(), y);
    painter.setPen(palette().color(QPalette::WindowText));
    for (int tick = 0; tick <= 4; ++tick) {
        int x = plot.left() + plot.width() * tick / 4;
        QString text = QStringLiteral("%1 ms").arg(max_ms * tick / 4, 0, 'f', max_ms < 10 ? 2 : 0);
        int width = painter.fontMetrics().horizontalAdvance(text);
        painter.drawText(QPoint(std::min(x, plot.right() - width), y - 3), text);
    }
}

void CheckpointGantt::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().color(QPalette::Base));
    paintLegend(painter);
    if (rows_.empty()) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(kMargin, kLegendHeight, 0, 0),
                         Qt::AlignLeft | Qt::AlignTop,
                         tr("Select a checkpoint to see the phases of its subtasks."));
        return;
    }
    QRect plot(kLabelWidth, kLegendHeight + kAxisHeight, width() - kLabelWidth - kMargin * 2,
               int(rows_.size()) * kRowHeight);
    // Rows are sorted slowest first, so the first row sets the scale.
    double max_ms = std::max(rows_.front().totalMs(), 0.001);
    paintAxis(painter, plot, max_ms);
    for (size_t i = 0; i < rows_.size(); ++i) {
        const CheckpointGanttRow& row = rows_[i];
        int y = plot.top() + int(i) * kRowHeight;
        painter.setPen(palette().color(QPalette::WindowText));
        QRect label(kMargin, y, kLabelWidth - kMargin * 2, kRowHeight);
        painter.drawText(
            label, Qt::AlignVCenter | Qt::AlignLeft,
            painter.fontMetrics().elidedText(row.label, Qt::ElideMiddle, label.width()));
        double start_ms = 0;
        auto durations = phaseDurations(row);
        for (size_t p = 0; p < durations.size(); ++p) {
            int x0 = plot.left() + int(plot.width() * start_ms / max_ms);
            start_ms += durations[p];
            int x1 = plot.left() + int(plot.width() * start_ms / max_ms);
            // A phase shorter than a pixel still shows as a sliver.
            if (durations[p] > 0) {
                painter.fillRect(QRect(x0, y + 3, std::max(x1 - x0, 1), kRowHeight - 6),
                                 phases()[p].color);
            }
        }
    }
}

}  // namespace sluice::ui
