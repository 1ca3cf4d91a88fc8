#include "ui/metrics_csv.h"

#include <climits>
#include <cmath>
#include <cstdio>
#include <string>

namespace sluice::ui {

namespace {

// Must stay byte-identical to MetricsRecorder::writeCsv in sim/metrics.cpp,
// so files from the GUI and from sluice-run compare with diff.
std::string formatValue(double value) {
    char text[64];
    if (value >= 9.2e18 || value <= -9.2e18) {
        std::snprintf(text, sizeof(text), "%lld", value > 0 ? LLONG_MAX : LLONG_MIN);
    } else if (std::floor(value) == value) {
        std::snprintf(text, sizeof(text), "%lld", static_cast<long long>(value));
    } else {
        std::snprintf(text, sizeof(text), "%.6g", value);
    }
    return text;
}

void writeName(std::ostream& out, const std::string& name) {
    bool quote = name.find(',') != std::string::npos || name.find('"') != std::string::npos;
    if (!quote) {
        out << name;
        return;
    }
    out << '"';
    for (char c : name) {
        out << (c == '"' ? "\"\"" : std::string(1, c));
    }
    out << '"';
}

}  // namespace

void writeMetricsCsv(std::ostream& out, const protocol::MetricsPage& page) {
    out << "time_ms,task,subtask,metric,value\n";
    for (const protocol::MetricSample& sample : page.samples()) {
        out << sample.time_ms() << ',';
        writeName(out, sample.task());
        out << ',' << sample.subtask() << ',' << sample.metric() << ','
            << formatValue(sample.value()) << '\n';
    }
}

}  // namespace sluice::ui
