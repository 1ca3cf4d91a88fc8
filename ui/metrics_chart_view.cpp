#include "ui/metrics_chart_view.h"

#include <QCursor>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice::ui {

namespace {

constexpr double kWheelZoomFactor = 1.25;
constexpr int kKeyPanPixels = 40;
// More entries than this leave no room for the plot in a dock.
constexpr size_t kMaxLegendEntries = 10;

// Watermarks at Long.MIN_VALUE or MAX_VALUE mean "no watermark yet".
bool isWatermarkExtreme(double value) {
    return value >= 9.2e18 || value <= -9.2e18;
}

// Rounds a range outward to a few readable ticks.
void niceRange(QValueAxis* axis, double low, double high) {
    if (!(low < high)) {
        low -= 1;
        high += 1;
    }
    axis->setRange(low, high);
    axis->applyNiceNumbers();
}

}  // namespace

QString seriesLabel(const MetricSeriesKey& key) {
    if (key.subtask < 0) {
        return QStringLiteral("job %1").arg(QString::fromStdString(key.metric));
    }
    return QStringLiteral("%1 #%2 %3")
        .arg(QString::fromStdString(key.task))
        .arg(key.subtask)
        .arg(QString::fromStdString(key.metric));
}

MetricsChartView::MetricsChartView(QWidget* parent)
    : QChartView(new QChart(), parent), time_axis_(new QValueAxis(this)) {
    setRenderHint(QPainter::Antialiasing);
    setRubberBand(QChartView::RectangleRubberBand);
    setFocusPolicy(Qt::StrongFocus);
    // On the right, where long series names fit better than in a row.
    chart()->legend()->setAlignment(Qt::AlignRight);
    chart()->setMargins(QMargins(4, 4, 4, 4));
    time_axis_->setTitleText(tr("simulated time (s)"));
    time_axis_->setLabelFormat(QStringLiteral("%g"));
    chart()->addAxis(time_axis_, Qt::AlignBottom);
    connect(time_axis_, &QValueAxis::rangeChanged, viewport(), qOverload<>(&QWidget::update));
    niceRange(time_axis_, 0, 10);
}

QValueAxis* MetricsChartView::valueAxis(const QString& unit) const {
    auto it = value_axes_.find(unit);
    return it == value_axes_.end() ? nullptr : it->second;
}

QValueAxis* MetricsChartView::axisFor(const QString& unit) {
    if (QValueAxis* axis = valueAxis(unit)) {
        return axis;
    }
    auto* axis = new QValueAxis(this);
    axis->setTitleText(unit.isEmpty() ? tr("value") : unit);
    axis->setLabelFormat(QStringLiteral("%.4g"));
    // Units alternate between the left and the right side.
    chart()->addAxis(axis, value_axes_.size() % 2 == 0 ? Qt::AlignLeft : Qt::AlignRight);
    value_axes_[unit] = axis;
    return axis;
}

QPen MetricsChartView::penFor(const MetricSeriesKey& key) {
    // Colour by subtask and dash pattern by metric, so two metrics of one
    // subtask read as a pair. Ordinals are handed out as series appear.
    static const QColor palette[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xd6, 0x27, 0x28),
                                     QColor(0x2c, 0xa0, 0x2c), QColor(0xff, 0x7f, 0x0e),
                                     QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b),
                                     QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f),
                                     QColor(0xbc, 0xbd, 0x22), QColor(0x17, 0xbe, 0xcf)};
    static const Qt::PenStyle styles[] = {Qt::SolidLine, Qt::DashLine, Qt::DotLine,
                                          Qt::DashDotLine};
    std::string subtask = key.task + "#" + std::to_string(key.subtask);
    size_t color = subtask_ordinals_.try_emplace(subtask, subtask_ordinals_.size()).first->second;
    size_t style = metric_ordinals_.try_emplace(key.metric, metric_ordinals_.size()).first->second;
    QPen pen(palette[color % std::size(palette)], 2.0);
    pen.setStyle(styles[style % std::size(styles)]);
    return pen;
}

QLineSeries* MetricsChartView::lineFor(const MetricSeriesKey& key) {
    auto it = lines_.find(key);
    if (it != lines_.end()) {
        return it->second;
    }
    auto* line = new QLineSeries(this);
    line->setName(seriesLabel(key));
    line->setPen(penFor(key));
    chart()->addSeries(line);
    line->attachAxis(time_axis_);
    line->attachAxis(axisFor(metricUnit(key.metric)));
    // The legend hides when crowded, so the pointer names the line instead.
    connect(line, &QLineSeries::hovered, this, [this, line](const QPointF& point, bool state) {
        if (state) {
            QToolTip::showText(QCursor::pos(),
                               QStringLiteral("%1\n%2 s: %3")
                                   .arg(line->name())
                                   .arg(point.x(), 0, 'f', 3)
                                   .arg(point.y(), 0, 'g', 6),
                               this);
        }
    });
    lines_[key] = line;
    return line;
}

void MetricsChartView::setSeries(const MetricsHistory& history,
                                 const std::vector<MetricSeriesKey>& keys) {
    for (auto it = lines_.begin(); it != lines_.end();) {
        if (std::find(keys.begin(), keys.end(), it->first) == keys.end()) {
            chart()->removeSeries(it->second);
            delete it->second;
            it = lines_.erase(it);
        } else {
            ++it;
        }
    }
    removeUnusedAxes();
    for (const MetricSeriesKey& key : keys) {
        QList<QPointF> points;
        if (const std::vector<MetricPoint>* history_points = history.points(key)) {
            points.reserve(qsizetype(history_points->size()));
            for (const MetricPoint& point : *history_points) {
                if (!isWatermarkExtreme(point.value)) {
                    points.append(QPointF(double(point.time_ms) / 1000.0, point.value));
                }
            }
        }
        lineFor(key)->replace(points);
    }
    chart()->legend()->setVisible(lines_.size() <= kMaxLegendEntries);
    if (!zoomed_) {
        fitAxes();
    }
}

void MetricsChartView::removeUnusedAxes() {
    for (auto it = value_axes_.begin(); it != value_axes_.end();) {
        bool used = std::any_of(lines_.begin(), lines_.end(), [&](const auto& entry) {
            return metricUnit(entry.first.metric) == it->first;
        });
        if (used) {
            ++it;
            continue;
        }
        chart()->removeAxis(it->second);
        delete it->second;
        it = value_axes_.erase(it);
    }
}

void MetricsChartView::fitAxes() {
    double time_max = 0;
    std::map<QString, std::pair<double, double>> ranges;
    for (const auto& [key, line] : lines_) {
        auto& range = ranges.try_emplace(metricUnit(key.metric), 0.0, 0.0).first->second;
        for (const QPointF& point : line->points()) {
            time_max = std::max(time_max, point.x());
            range.first = std::min(range.first, point.y());
            range.second = std::max(range.second, point.y());
        }
    }
    niceRange(time_axis_, 0, std::max(time_max, 1.0));
    for (const auto& [unit, range] : ranges) {
        niceRange(axisFor(unit), range.first, range.second);
    }
}

void MetricsChartView::setMarks(const std::vector<TimelineWidget::Mark>& marks) {
    marks_ = marks;
    viewport()->update();
}

void MetricsChartView::resetZoom() {
    chart()->zoomReset();
    setZoomed(false);
    fitAxes();
}

void MetricsChartView::setZoomed(bool zoomed) {
    if (zoomed_ != zoomed) {
        zoomed_ = zoomed;
        Q_EMIT zoomChanged(zoomed);
    }
}

void MetricsChartView::wheelEvent(QWheelEvent* event) {
    double factor = event->angleDelta().y() > 0 ? kWheelZoomFactor : 1.0 / kWheelZoomFactor;
    // Zoom around the pointer: shrink the plot area about that point.
    QRectF area = chart()->plotArea();
    QPointF centre = chart()->mapFromScene(mapToScene(event->position().toPoint()));
    QRectF zoomed(centre.x() - (centre.x() - area.left()) / factor,
                  centre.y() - (centre.y() - area.top()) / factor, area.width() / factor,
                  area.height() / factor);
    chart()->zoomIn(zoomed);
    setZoomed(true);
    event->accept();
}

void MetricsChartView::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::MiddleButton) {
        panning_ = true;
        pan_origin_ = event->position();
        setZoomed(true);
        event->accept();
        return;
    }
    if (event->button() == Qt::LeftButton) {
        setZoomed(true);
    }
    QChartView::mousePressEvent(event);
}

void MetricsChartView::mouseMoveEvent(QMouseEvent* event) {
    if (panning_) {
        QPointF delta = event->position() - pan_origin_;
        chart()->scroll(-delta.x(), delta.y());
        pan_origin_ = event->position();
        event->accept();
        return;
    }
    QChartView::mouseMoveEvent(event);
}

void MetricsChartView::mouseReleaseEvent(QMouseEvent* event) {
    if (panning_ && event->button() == Qt::MiddleButton) {
        panning_ = false;
        event->accept();
        return;
    }
    if (event->button() == Qt::RightButton) {
        // QChartView zooms out on a right click; a reset is clearer.
        resetZoom();
        event->accept();
        return;
    }
    QChartView::mouseReleaseEvent(event);
}

void MetricsChartView::keyPressEvent(QKeyEvent* event) {
    switch (event->key()) {
        case Qt::Key_Left:
            chart()->scroll(-kKeyPanPixels, 0);
            break;
        case Qt::Key_Right:
            chart()->scroll(kKeyPanPixels, 0);
            break;
        case Qt::Key_Up:
            chart()->scroll(0, kKeyPanPixels);
            break;
        case Qt::Key_Down:
            chart()->scroll(0, -kKeyPanPixels);
            break;
        default:
            QChartView::keyPressEvent(event);
            return;
    }
    setZoomed(true);
}

void MetricsChartView::drawForeground(QPainter* painter, const QRectF& rect) {
    QChartView::drawForeground(painter, rect);
    QRectF area = chart()->plotArea();
    double low = time_axis_->min();
    double high = time_axis_->max();
    if (!(low < high)) {
        return;
    }
    painter->save();
    for (const TimelineWidget::Mark& mark : marks_) {
        double seconds = double(mark.time_ns) / 1e9;
        if (seconds < low || seconds > high) {
            continue;
        }
        double x = area.left() + area.width() * (seconds - low) / (high - low);
        QPointF top = chart()->mapToScene(QPointF(x, area.top()));
        QPointF bottom = chart()->mapToScene(QPointF(x, area.bottom()));
        QColor color = mark.color;
        color.setAlpha(150);
        painter->setPen(QPen(color, 1.5, mark.fault ? Qt::DashLine : Qt::SolidLine));
        painter->drawLine(top, bottom);
    }
    painter->restore();
}

}  // namespace sluice::ui
