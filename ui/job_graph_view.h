#pragma once

#include <QGraphicsView>

namespace sluice::ui {

// A view of the job graph scene: ctrl+wheel and +/- zoom around the cursor,
// dragging pans, and fitAll shows the whole graph. A legend stays in the
// bottom-left corner.
class JobGraphView : public QGraphicsView {
    Q_OBJECT

public:
    explicit JobGraphView(QWidget* parent = nullptr);

    void zoomIn();
    void zoomOut();
    void fitAll();
    double zoom() const;

protected:
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void zoomBy(double factor);
    void placeLegend();

    QWidget* legend_;
    // True from fitAll until the user zooms: a resize, such as a dock
    // growing, then fits the graph again so the legend stays below it.
    bool fitted_ = false;
};

}  // namespace sluice::ui
