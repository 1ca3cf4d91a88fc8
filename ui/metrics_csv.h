#pragma once

#include "proto/engine_protocol.pb.h"

#include <ostream>

namespace sluice::ui {

// Writes metric samples in the tidy long format of `sluice-run
// --metrics-csv`: header `time_ms,task,subtask,metric,value`, task names
// quoted when they contain a comma or quote, integral values without a
// fraction and the watermark extremes as Long.MAX_VALUE / MIN_VALUE.
void writeMetricsCsv(std::ostream& out, const protocol::MetricsPage& page);

}  // namespace sluice::ui
