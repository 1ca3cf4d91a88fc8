#pragma once

#include <QColor>
#include <QString>

#include <cstdint>

namespace sluice::ui {

// Colours of the job graph, after the scheme of Flink's web UI: an idle
// subtask is blue, a busy one red, a backpressured one black, and a subtask
// that splits its time gets the mix of the three weighted by its shares.
// All inputs are milliseconds per second, as the metrics report them.
QColor subtaskFillColor(double busy_ms_per_second, double idle_ms_per_second,
                        double backpressured_ms_per_second);

// Flink's backpressure status: "OK" below 10 % backpressured time, "LOW" up
// to 50 %, "HIGH" above.
QString backpressureStatus(double backpressured_ms_per_second);

// A distinct colour per checkpoint id, so barriers of concurrent checkpoints
// can be told apart. Ids that differ by one get hues far apart.
QColor checkpointColor(int64_t checkpoint_id);

// Text colour that stays readable on `background`.
QColor textColorOn(const QColor& background);

}  // namespace sluice::ui
