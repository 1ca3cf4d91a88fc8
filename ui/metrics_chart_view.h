#pragma once

#include "ui/metrics_history.h"
#include "ui/timeline_widget.h"

#include <QChartView>
#include <QLineSeries>
#include <QValueAxis>

#include <map>
#include <vector>

namespace sluice::ui {

// A QtCharts line chart of metric series over simulated time (seconds),
// with one value axis per unit, and the checkpoint and fault marks of the
// timeline as vertical lines. Dragging a rectangle or turning the wheel
// zooms. Dragging with the middle button or the arrow keys pan, and
// resetZoom() fits all points again. The legend shows up to
// ten series; hovering a line names it either way. While not zoomed, every
// setSeries() fits the axes to the points.
//
// Threading: GUI thread only.
class MetricsChartView : public QChartView {
    Q_OBJECT

public:
    explicit MetricsChartView(QWidget* parent = nullptr);

    // Shows exactly `keys` from `history`, replacing the points of series
    // shown before. Points of the watermark extremes (Long.MIN_VALUE and
    // MAX_VALUE) are left out because they would flatten the axis.
    void setSeries(const MetricsHistory& history, const std::vector<MetricSeriesKey>& keys);
    void setMarks(const std::vector<TimelineWidget::Mark>& marks);
    void resetZoom();

    bool isZoomed() const { return zoomed_; }
    const std::vector<TimelineWidget::Mark>& marks() const { return marks_; }
    // The shown series and their chart series, in legend order.
    const std::map<MetricSeriesKey, QLineSeries*>& lineSeries() const { return lines_; }
    QValueAxis* timeAxis() const { return time_axis_; }
    // The value axis of a unit, or null.
    QValueAxis* valueAxis(const QString& unit) const;

Q_SIGNALS:
    void zoomChanged(bool zoomed);

protected:
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void drawForeground(QPainter* painter, const QRectF& rect) override;

private:
    QLineSeries* lineFor(const MetricSeriesKey& key);
    QPen penFor(const MetricSeriesKey& key);
    QValueAxis* axisFor(const QString& unit);
    void removeUnusedAxes();
    void fitAxes();
    void setZoomed(bool zoomed);

    QValueAxis* time_axis_;
    std::map<MetricSeriesKey, QLineSeries*> lines_;
    std::map<QString, QValueAxis*> value_axes_;
    std::map<std::string, size_t> subtask_ordinals_;
    std::map<std::string, size_t> metric_ordinals_;
    std::vector<TimelineWidget::Mark> marks_;
    bool zoomed_ = false;
    bool panning_ = false;
    QPointF pan_origin_;
};

// The legend name of a series, such as "Window #1 busyTimeMsPerSecond" or
// "job numRestarts".
QString seriesLabel(const MetricSeriesKey& key);

}  // namespace sluice::ui
