#pragma once

#include <QWidget>

namespace sluice::ui {

// A key to the job graph's colours and marks, drawn over a corner of the
// graph view: what blue, red and black nodes mean, how barriers, queued
// buffers and channels blocked by alignment look.
class GraphLegend : public QWidget {
    Q_OBJECT

public:
    explicit GraphLegend(QWidget* parent = nullptr);

    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    static QRect cell(int column, int row);
    static void paintLabel(QPainter* painter, const QRect& cell, const QString& label);
    void paintNodeKeys(QPainter* painter) const;
    void paintChannelKeys(QPainter* painter) const;
};

}  // namespace sluice::ui
