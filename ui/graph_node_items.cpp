#include "ui/graph_node_items.h"

#include "ui/graph_colors.h"
#include "ui/job_graph_layout.h"

#include <QPainter>

namespace sluice::ui {

namespace {

const QColor kBusyBar(0xd9, 0x3a, 0x2b);
const QColor kIdleBar(0x5b, 0x9b, 0xd5);
const QColor kBackpressuredBar(0x20, 0x20, 0x20);

QString shareText(const protocol::SubtaskFrame& frame) {
    return QStringLiteral("busy %1%  idle %2%  backpressured %3% (%4)")
        .arg(frame.busy_ms_per_second() / 10, 0, 'f', 0)
        .arg(frame.idle_ms_per_second() / 10, 0, 'f', 0)
        .arg(frame.backpressured_ms_per_second() / 10, 0, 'f', 0)
        .arg(backpressureStatus(frame.backpressured_ms_per_second()));
}

}  // namespace

SubtaskItem::SubtaskItem(int vertex, int subtask, std::string operator_id, QRectF rect,
                         bool compact)
    : vertex_(vertex),
      subtask_(subtask),
      operator_id_(std::move(operator_id)),
      rect_(rect),
      compact_(compact) {
    setToolTip(QStringLiteral("%1 #%2").arg(QString::fromStdString(operator_id_)).arg(subtask));
}

void SubtaskItem::setFrame(const protocol::SubtaskFrame& frame) {
    frame_ = frame;
    has_frame_ = true;
    setToolTip(QStringLiteral("%1 #%2 on TaskManager %3\n%4, attempt %5\n%6\n"
                              "records in %7, out %8")
                   .arg(QString::fromStdString(operator_id_))
                   .arg(subtask_)
                   .arg(frame.task_manager())
                   .arg(QString::fromStdString(frame.state()))
                   .arg(frame.attempt())
                   .arg(shareText(frame))
                   .arg(frame.records_in())
                   .arg(frame.records_out()));
    update();
}

QColor SubtaskItem::fillColor() const {
    if (!has_frame_) {
        return subtaskFillColor(0, 0, 0);
    }
    return subtaskFillColor(frame_.busy_ms_per_second(), frame_.idle_ms_per_second(),
                            frame_.backpressured_ms_per_second());
}

QString SubtaskItem::markText() const {
    if (!has_frame_) {
        return {};
    }
    if (frame_.restoring()) {
        return QStringLiteral("RESTORING");
    }
    const std::string& state = frame_.state();
    if (state == "FAILED" || state == "CANCELING" || state == "CANCELED" || state == "DEPLOYING" ||
        state == "INITIALIZING") {
        return QString::fromStdString(state);
    }
    return {};
}

QRectF SubtaskItem::boundingRect() const {
    return rect_.adjusted(-3, -3, 3, 3);
}

void SubtaskItem::paintShareBar(QPainter* painter, const QRectF& bar) const {
    double total = frame_.busy_ms_per_second() + frame_.idle_ms_per_second() +
                   frame_.backpressured_ms_per_second();
    if (total <= 0) {
        return;
    }
    double x = bar.left();
    const std::pair<double, QColor> parts[] = {
        {frame_.busy_ms_per_second(), kBusyBar},
        {frame_.idle_ms_per_second(), kIdleBar},
        {frame_.backpressured_ms_per_second(), kBackpressuredBar}};
    for (const auto& [share, color] : parts) {
        double width = bar.width() * share / total;
        painter->fillRect(QRectF(x, bar.top(), width, bar.height()), color);
        x += width;
    }
}

void SubtaskItem::paint(QPainter* painter, const QStyleOptionGraphicsItem*, QWidget*) {
    QColor fill = fillColor();
    QString mark = markText();
    QPen border(QColor(0x55, 0x55, 0x55), 1);
    if (mark == "FAILED") {
        border = QPen(QColor(0xe0, 0x00, 0x00), 3);
    } else if (mark == "CANCELING" || mark == "CANCELED") {
        border = QPen(QColor(0x88, 0x88, 0x88), 2, Qt::DashLine);
        fill = fill.lighter(150);
    } else if (mark == "RESTORING") {
        border = QPen(QColor(0xff, 0xa0, 0x00), 3);
    } else if (!mark.isEmpty()) {
        border = QPen(QColor(0x55, 0x55, 0x55), 1, Qt::DotLine);
    }
    painter->setPen(border);
    painter->setBrush(fill);
    painter->drawRoundedRect(rect_, 3, 3);
    if (compact_) {
        if (mark == "FAILED") {
            painter->drawLine(rect_.topLeft(), rect_.bottomRight());
            painter->drawLine(rect_.topRight(), rect_.bottomLeft());
        }
        return;
    }
    QRectF bar(rect_.left() + 3, rect_.bottom() - 7, rect_.width() - 6, 4);
    paintShareBar(painter, bar);
    painter->setPen(textColorOn(fill));
    QFont font = painter->font();
    font.setPointSizeF(8);
    painter->setFont(font);
    QRectF text = rect_.adjusted(5, 2, -5, -9);
    QString state = mark.isEmpty() ? QString::fromStdString(frame_.state()) : mark;
    painter->drawText(text, Qt::AlignLeft | Qt::AlignTop,
                      QStringLiteral("#%1  TM %2").arg(subtask_).arg(frame_.task_manager()));
    painter->drawText(text, Qt::AlignRight | Qt::AlignTop, state);
    if (has_frame_) {
        painter->drawText(
            text, Qt::AlignLeft | Qt::AlignBottom,
            QStringLiteral("in %1  out %2").arg(frame_.records_in()).arg(frame_.records_out()));
    }
}

VertexItem::VertexItem(const protocol::Vertex& vertex, QRectF rect, QRectF header)
    : vertex_(vertex), rect_(rect), header_(header) {
    setZValue(-1);
}

void VertexItem::setWorstSubtask(const protocol::SubtaskFrame& worst) {
    worst_ = worst;
    has_worst_ = true;
    setToolTip(QStringLiteral("%1, parallelism %2\nworst subtask #%3: %4")
                   .arg(QString::fromStdString(vertex_.name()))
                   .arg(vertex_.parallelism())
                   .arg(worst.subtask())
                   .arg(shareText(worst)));
    update();
}

QRectF VertexItem::boundingRect() const {
    return rect_.adjusted(-2, -2, 2, 2);
}

void VertexItem::paint(QPainter* painter, const QStyleOptionGraphicsItem*, QWidget*) {
    painter->setPen(QPen(QColor(0x70, 0x70, 0x70), 1.5));
    painter->setBrush(QColor(0xf7, 0xf7, 0xf7));
    painter->drawRoundedRect(rect_, 6, 6);
    QColor header = has_worst_
                        ? subtaskFillColor(worst_.busy_ms_per_second(), worst_.idle_ms_per_second(),
                                           worst_.backpressured_ms_per_second())
                        : QColor(0xdd, 0xdd, 0xdd);
    QRectF head = header_.adjusted(1, 1, -1, -4);
    painter->setPen(Qt::NoPen);
    painter->setBrush(header);
    painter->drawRoundedRect(head, 5, 5);
    painter->setPen(textColorOn(header));
    paintHeaderText(painter, head);
}

void VertexItem::paintHeaderText(QPainter* painter, const QRectF& head) const {
    QFont font = painter->font();
    font.setPointSizeF(9);
    font.setBold(true);
    painter->setFont(font);
    QRectF line(head.left() + 6, head.top() + 2, head.width() - 12, 15);
    painter->drawText(line, Qt::AlignLeft | Qt::AlignVCenter,
                      painter->fontMetrics().elidedText(QString::fromStdString(vertex_.name()),
                                                        Qt::ElideRight, int(line.width())));
    font.setBold(false);
    font.setPointSizeF(8);
    painter->setFont(font);
    if (listedOperatorCount(vertex_) > 0) {
        for (const std::string& op : vertex_.operators()) {
            line.translate(0, 15);
            painter->drawText(line, Qt::AlignLeft | Qt::AlignVCenter,
                              QStringLiteral("▸ ") + QString::fromStdString(op));
        }
    }
    line.translate(0, 15);
    painter->drawText(line, Qt::AlignLeft | Qt::AlignVCenter,
                      QStringLiteral("parallelism %1%2")
                          .arg(vertex_.parallelism())
                          .arg(vertex_.keyed() ? QStringLiteral(", keyed") : QString()));
    if (has_worst_) {
        line.translate(0, 15);
        painter->drawText(line, Qt::AlignLeft | Qt::AlignVCenter,
                          QStringLiteral("worst #%1: busy %2%, backpressure %3")
                              .arg(worst_.subtask())
                              .arg(worst_.busy_ms_per_second() / 10, 0, 'f', 0)
                              .arg(backpressureStatus(worst_.backpressured_ms_per_second())));
    }
}

TaskManagerItem::TaskManagerItem(int id, QRectF rect) : id_(id), rect_(rect) {
    setToolTip(QStringLiteral("TaskManager %1 (right-click for faults)").arg(id));
}

void TaskManagerItem::setFrame(const protocol::TaskManagerFrame& frame, int running_subtasks) {
    alive_ = frame.alive();
    slots_ = frame.slots();
    running_subtasks_ = running_subtasks;
    update();
}

QRectF TaskManagerItem::boundingRect() const {
    return rect_.adjusted(-2, -2, 2, 2);
}

void TaskManagerItem::paint(QPainter* painter, const QStyleOptionGraphicsItem*, QWidget*) {
    QColor fill = alive_ ? QColor(0xe8, 0xf0, 0xe0) : QColor(0x40, 0x40, 0x40);
    painter->setPen(QPen(alive_ ? QColor(0x60, 0x80, 0x50) : QColor(0xe0, 0x00, 0x00), 1.5));
    painter->setBrush(fill);
    painter->drawRoundedRect(rect_, 4, 4);
    painter->setPen(textColorOn(fill));
    QFont font = painter->font();
    font.setPointSizeF(8);
    painter->setFont(font);
    QString text = QStringLiteral("TaskManager %1  LOST").arg(id_);
    if (alive_) {
        text = QStringLiteral("TaskManager %1  %2 running").arg(id_).arg(running_subtasks_);
        if (slots_ > 0) {
            text +=
                slots_ == 1 ? QStringLiteral(", 1 slot") : QStringLiteral(", %1 slots").arg(slots_);
        }
    }
    painter->drawText(rect_, Qt::AlignCenter, text);
}

}  // namespace sluice::ui
