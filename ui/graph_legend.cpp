#include "ui/graph_legend.h"

#include "ui/graph_colors.h"

#include <QPainter>

namespace sluice::ui {

namespace {

constexpr int kRowHeight = 16;
constexpr int kRows = 4;
constexpr int kColumnWidth = 190;

}  // namespace

GraphLegend::GraphLegend(QWidget* parent) : QWidget(parent) {
    setAttribute(Qt::WA_TransparentForMouseEvents);
    resize(sizeHint());
}

QSize GraphLegend::sizeHint() const {
    return {2 * kColumnWidth + 12, kRows * kRowHeight + 10};
}

QRect GraphLegend::cell(int column, int row) {
    return QRect(6 + column * kColumnWidth, 5 + row * kRowHeight, kColumnWidth, kRowHeight);
}

void GraphLegend::paintLabel(QPainter* painter, const QRect& cell, const QString& label) {
    painter->setPen(Qt::black);
    painter->drawText(cell.adjusted(26, 0, 0, 0), Qt::AlignVCenter | Qt::AlignLeft, label);
}

void GraphLegend::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QColor(0xc0, 0xc0, 0xc0));
    painter.setBrush(QColor(255, 255, 255, 225));
    painter.drawRoundedRect(rect().adjusted(0, 0, -1, -1), 4, 4);
    QFont font = painter.font();
    font.setPointSizeF(8);
    painter.setFont(font);
    paintNodeKeys(&painter);
    paintChannelKeys(&painter);
}

void GraphLegend::paintNodeKeys(QPainter* painter) const {
    const std::pair<QColor, QString> nodes[] = {
        {subtaskFillColor(0, 1000, 0), tr("idle")},
        {subtaskFillColor(1000, 0, 0), tr("busy")},
        {subtaskFillColor(0, 0, 1000), tr("backpressured")},
        {subtaskFillColor(500, 500, 0), tr("mixed: shares in the bar")}};
    for (int i = 0; i < kRows; ++i) {
        QRect key = cell(0, i);
        painter->setPen(QColor(0x55, 0x55, 0x55));
        painter->setBrush(nodes[i].first);
        painter->drawRoundedRect(QRect(key.left(), key.top() + 3, 20, 10), 2, 2);
        paintLabel(painter, key, nodes[i].second);
    }
}

void GraphLegend::paintChannelKeys(QPainter* painter) const {
    QRect barrier = cell(1, 0);
    painter->setPen(Qt::black);
    painter->setBrush(checkpointColor(6));
    painter->drawRect(QRect(barrier.left() + 8, barrier.top() + 1, 5, 13));
    paintLabel(painter, barrier, tr("barrier, colour by checkpoint"));

    QRect unaligned = cell(1, 1);
    painter->setPen(QPen(Qt::black, 1.5, Qt::DashLine));
    painter->setBrush(checkpointColor(7));
    painter->drawRect(QRect(unaligned.left() + 8, unaligned.top() + 1, 5, 13));
    painter->drawPolygon(QPolygon({QPoint(unaligned.left() + 15, unaligned.top() + 3),
                                   QPoint(unaligned.left() + 20, unaligned.top() + 8),
                                   QPoint(unaligned.left() + 15, unaligned.top() + 13)}));
    paintLabel(painter, unaligned, tr("unaligned, overtook data"));

    QRect queued = cell(1, 2);
    painter->setPen(QPen(QColor(0x2a, 0x9d, 0x8f), 5, Qt::SolidLine, Qt::FlatCap));
    painter->drawLine(queued.left(), queued.center().y(), queued.left() + 20, queued.center().y());
    paintLabel(painter, queued, tr("queued buffers"));

    QRect blocked = cell(1, 3);
    painter->setPen(QPen(QColor(0xe0, 0x00, 0x00), 1.2, Qt::DashLine));
    painter->drawLine(blocked.left(), blocked.center().y(), blocked.left() + 17,
                      blocked.center().y());
    painter->setPen(QPen(QColor(0xe0, 0x00, 0x00), 3));
    painter->drawLine(blocked.left() + 19, blocked.top() + 2, blocked.left() + 19,
                      blocked.bottom() - 2);
    paintLabel(painter, blocked, tr("blocked by alignment"));
}

}  // namespace sluice::ui
