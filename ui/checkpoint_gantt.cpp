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
// through them, indexed by GanttPhase.
const std::array<Phase, 4>& phases() {
    static const std::array<Phase, 4> kPhases = {{
        {"Start delay", QColor(0xb0, 0xb0, 0xb0)},
        {"Alignment", QColor(0xe6, 0x9f, 0x00)},
        {"Sync", QColor(0x00, 0x72, 0xb2)},
        {"Async", QColor(0x56, 0xb4, 0xe9)},
    }};
    return kPhases;
}

double ms(int64_t ns) {
    return double(ns) / kNanosPerMilli;
}

// Milliseconds from `trigger_ns` to the absolute time `ns`, or -1 for 0
// (a step not reached).
double since(int64_t ns, int64_t trigger_ns) {
    return ns > 0 ? ms(ns - trigger_ns) : -1;
}

void addBar(CheckpointGanttRow* row, GanttPhase phase, double from_ms, double to_ms,
            bool pending = false, bool overlay = false) {
    if (to_ms > from_ms || (to_ms == from_ms && !pending && from_ms >= 0)) {
        row->bars.push_back({phase, std::max(from_ms, 0.0), to_ms, pending, overlay});
    }
}

void addAcknowledgedBars(CheckpointGanttRow* row) {
    double aligned_ms = row->start_delay_ms + row->alignment_ms;
    double async_from_ms = row->ack_ms - row->async_ms;
    double sync_from_ms = async_from_ms - row->sync_ms;
    addBar(row, GanttPhase::kStartDelay, 0, row->start_delay_ms);
    // An unaligned snapshot starts at the first barrier while the other
    // barriers still arrive.
    addBar(row, GanttPhase::kAlignment, row->start_delay_ms, aligned_ms, false,
           aligned_ms > sync_from_ms + 1e-6);
    addBar(row, GanttPhase::kSync, sync_from_ms, async_from_ms);
    addBar(row, GanttPhase::kAsync, async_from_ms, row->ack_ms);
}

// Bars up to where a subtask that did not acknowledge had come.
void addPendingBars(CheckpointGanttRow* row) {
    if (row->first_barrier_ms < 0 && row->snapshot_ms < 0) {
        addBar(row, GanttPhase::kStartDelay, 0, row->end_ms, true);
        return;
    }
    if (row->first_barrier_ms >= 0) {
        addBar(row, GanttPhase::kStartDelay, 0, row->first_barrier_ms);
        double aligned_ms = row->all_barriers_ms >= 0 ? row->all_barriers_ms : row->end_ms;
        addBar(row, GanttPhase::kAlignment, row->first_barrier_ms, aligned_ms,
               row->all_barriers_ms < 0,
               row->snapshot_ms >= 0 && aligned_ms > row->snapshot_ms + 1e-6);
    }
    if (row->snapshot_ms >= 0) {
        addBar(row, GanttPhase::kAsync, row->snapshot_ms, row->end_ms, true);
    }
}

}  // namespace

std::vector<CheckpointGanttRow> checkpointGanttRows(const protocol::CheckpointDetail& checkpoint,
                                                    const QStringList& vertex_names) {
    int64_t trigger_ns = checkpoint.mark().trigger_ns();
    double checkpoint_end_ms = ms(checkpoint.end_to_end_duration_ns());
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
        row.state_size_bytes = subtask.state_size_bytes();
        row.unaligned = subtask.unaligned();
        row.first_barrier_ms = since(subtask.first_barrier_ns(), trigger_ns);
        row.all_barriers_ms = since(subtask.all_barriers_ns(), trigger_ns);
        row.snapshot_ms = since(subtask.snapshot_ns(), trigger_ns);
        if (row.acknowledged) {
            row.ack_ms = ms(subtask.ack_time_ns() - trigger_ns);
            row.end_ms = row.ack_ms;
            addAcknowledgedBars(&row);
        } else {
            row.end_ms = checkpoint_end_ms;
            addPendingBars(&row);
        }
        rows.push_back(row);
    }
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        if (a.end_ms != b.end_ms) {
            return a.end_ms > b.end_ms;
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
    auto step = [](double at_ms) {
        return at_ms < 0 ? tr("none") : tr("+%1 ms").arg(at_ms, 0, 'f', 3);
    };
    text += tr("Since the trigger: first barrier %1, all barriers %2, snapshot %3, "
               "acknowledged %4<br>")
                .arg(step(r.first_barrier_ms), step(r.all_barriers_ms), step(r.snapshot_ms),
                     step(r.ack_ms));
    if (!r.acknowledged) {
        if (r.first_barrier_ms < 0 && r.snapshot_ms < 0) {
            text += tr("No barrier arrived before the checkpoint ended at +%1 ms.<br>")
                        .arg(r.end_ms, 0, 'f', 3);
        } else if (r.snapshot_ms < 0) {
            text += tr("Still waiting for barriers when the checkpoint ended at +%1 ms.<br>")
                        .arg(r.end_ms, 0, 'f', 3);
        } else {
            text += tr("Still writing its snapshot when the checkpoint ended at +%1 ms.<br>")
                        .arg(r.end_ms, 0, 'f', 3);
        }
    }
    text += tr("State size: %1 bytes<br>").arg(r.state_size_bytes);
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
    painter.setPen(palette().color(QPalette::WindowText));
    for (const Phase& phase : phases()) {
        painter.fillRect(QRect(x, 6, 12, 12), phase.color);
        QString name = tr(phase.name);
        painter.drawText(QPoint(x + 16, 16), name);
        x += 16 + painter.fontMetrics().horizontalAdvance(name) + 14;
    }
    painter.fillRect(QRect(x, 6, 12, 12), QBrush(phases()[0].color, Qt::BDiagPattern));
    QString pending = tr("hatched: not finished when the checkpoint ended");
    painter.drawText(QPoint(x + 16, 16), pending);
}

void CheckpointGantt::paintAxis(QPainter& painter, const QRect& plot, double max_ms) const {
    painter.setPen(palette().color(QPalette::Mid));
    int y = plot.top() - 4;
    painter.drawLine(plot.left(), y, plot.right(), y);
    painter.setPen(palette().color(QPalette::WindowText));
    // Fewer ticks on a narrow chart, so that their labels do not overlap.
    int ticks = std::clamp(plot.width() / 110, 1, 4);
    for (int tick = 0; tick <= ticks; ++tick) {
        int x = plot.left() + plot.width() * tick / ticks;
        QString text =
            QStringLiteral("+%1 ms").arg(max_ms * tick / ticks, 0, 'f', max_ms < 10 ? 2 : 0);
        int width = painter.fontMetrics().horizontalAdvance(text);
        painter.drawText(QPoint(std::min(x, plot.right() - width), y - 3), text);
    }
}

void CheckpointGantt::paintRow(QPainter& painter, const QRect& plot, int y, double max_ms,
                               const CheckpointGanttRow& row) const {
    painter.setPen(palette().color(QPalette::WindowText));
    QRect label(kMargin, y, kLabelWidth - kMargin * 2, kRowHeight);
    painter.drawText(label, Qt::AlignVCenter | Qt::AlignLeft,
                     painter.fontMetrics().elidedText(row.label, Qt::ElideMiddle, label.width()));
    auto xOf = [&](double at_ms) { return plot.left() + int(plot.width() * at_ms / max_ms); };
    // Overlays last, so that the snapshot's bars do not hide them.
    std::vector<CheckpointGanttBar> bars = row.bars;
    std::stable_partition(bars.begin(), bars.end(), [](const auto& bar) { return !bar.overlay; });
    for (const CheckpointGanttBar& bar : bars) {
        int x0 = xOf(bar.from_ms);
        // A phase shorter than a pixel still shows as a sliver.
        int width = std::max(xOf(bar.to_ms) - x0, 1);
        QRect rect = bar.overlay ? QRect(x0, y + kRowHeight / 2 + 1, width, kRowHeight / 2 - 3)
                                 : QRect(x0, y + 3, width, kRowHeight - 6);
        const QColor& color = phases()[size_t(bar.phase)].color;
        if (bar.pending) {
            painter.fillRect(rect, color.lighter(150));
            painter.fillRect(rect, QBrush(color.darker(130), Qt::BDiagPattern));
        } else {
            painter.fillRect(rect, color);
        }
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
    // Rows are sorted by their end, latest first, so the first row sets the scale.
    double max_ms = std::max(rows_.front().end_ms, 0.001);
    paintAxis(painter, plot, max_ms);
    for (size_t i = 0; i < rows_.size(); ++i) {
        paintRow(painter, plot, plot.top() + int(i) * kRowHeight, max_ms, rows_[i]);
    }
}

}  // namespace sluice::ui
