#include "ui/job_graph_view.h"

#include "ui/graph_legend.h"
#include "ui/logging_categories.h"

#include <QKeyEvent>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace sluice::ui {

namespace {

constexpr double kZoomStep = 1.2;
constexpr double kZoomMin = 0.05;
constexpr double kZoomMax = 8;

}  // namespace

JobGraphView::JobGraphView(QWidget* parent)
    : QGraphicsView(parent), legend_(new GraphLegend(this)) {
    setRenderHint(QPainter::Antialiasing);
    setDragMode(QGraphicsView::ScrollHandDrag);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    // Items repaint on every frame; redrawing only what changed is cheaper
    // than a full viewport update at large parallelism.
    setViewportUpdateMode(QGraphicsView::SmartViewportUpdate);
    setBackgroundBrush(QColor(0xfc, 0xfc, 0xfc));
    // Space left over by a fit goes below the graph, where the legend sits.
    setAlignment(Qt::AlignHCenter | Qt::AlignTop);
}

double JobGraphView::zoom() const {
    return transform().m11();
}

void JobGraphView::zoomBy(double factor) {
    double target = std::clamp(zoom() * factor, kZoomMin, kZoomMax);
    double applied = target / zoom();
    scale(applied, applied);
    fitted_ = false;
}

void JobGraphView::zoomIn() {
    zoomBy(kZoomStep);
}

void JobGraphView::zoomOut() {
    zoomBy(1 / kZoomStep);
}

void JobGraphView::fitAll() {
    if (scene() == nullptr) {
        return;
    }
    resetTransform();
    QRectF graph = scene()->itemsBoundingRect().adjusted(-20, -20, 20, 20);
    fitInView(graph, Qt::KeepAspectRatio);
    // Again with room below the graph for the legend, at about this zoom.
    double fitted = std::max(kZoomMin, zoom());
    resetTransform();
    fitInView(graph.adjusted(0, 0, 0, (legend_->height() + 8) / fitted), Qt::KeepAspectRatio);
    // Small graphs are not blown up past their natural size.
    if (zoom() > 1.5) {
        zoomBy(1.5 / zoom());
    }
    fitted_ = true;
    qCDebug(lcUiGraph) << "fit, zoom" << zoom();
}

void JobGraphView::resizeEvent(QResizeEvent* event) {
    QGraphicsView::resizeEvent(event);
    if (fitted_) {
        fitAll();
    }
    placeLegend();
}

void JobGraphView::placeLegend() {
    int bottom = viewport()->geometry().bottom();
    legend_->move(viewport()->geometry().left() + 8, bottom - legend_->height() - 8);
    legend_->raise();
}

void JobGraphView::wheelEvent(QWheelEvent* event) {
    if (!(event->modifiers() & Qt::ControlModifier)) {
        QGraphicsView::wheelEvent(event);
        return;
    }
    double steps = event->angleDelta().y() / 120.0;
    zoomBy(std::pow(kZoomStep, steps));
    event->accept();
}

void JobGraphView::keyPressEvent(QKeyEvent* event) {
    switch (event->key()) {
        case Qt::Key_Plus:
        case Qt::Key_Equal:
            zoomIn();
            break;
        case Qt::Key_Minus:
            zoomOut();
            break;
        default:
            QGraphicsView::keyPressEvent(event);
    }
}

}  // namespace sluice::ui
