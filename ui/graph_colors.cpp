#include "ui/graph_colors.h"

#include <algorithm>

namespace sluice::ui {

namespace {

const QColor kIdleColor(0x5b, 0x9b, 0xd5);
const QColor kBusyColor(0xd9, 0x3a, 0x2b);
const QColor kBackpressuredColor(0x20, 0x20, 0x20);

}  // namespace

QColor subtaskFillColor(double busy_ms_per_second, double idle_ms_per_second,
                        double backpressured_ms_per_second) {
    double busy = std::max(0.0, busy_ms_per_second);
    double idle = std::max(0.0, idle_ms_per_second);
    double backpressured = std::max(0.0, backpressured_ms_per_second);
    double total = busy + idle + backpressured;
    if (total <= 0) {
        // No sample yet: neutral grey rather than a colour that claims a state.
        return QColor(0xd0, 0xd0, 0xd0);
    }
    auto mix = [&](auto channel) {
        double value = (channel(kBusyColor) * busy + channel(kIdleColor) * idle +
                        channel(kBackpressuredColor) * backpressured) /
                       total;
        return std::clamp(int(value + 0.5), 0, 255);
    };
    return QColor(mix([](const QColor& c) { return c.red(); }),
                  mix([](const QColor& c) { return c.green(); }),
                  mix([](const QColor& c) { return c.blue(); }));
}

QString backpressureStatus(double backpressured_ms_per_second) {
    if (backpressured_ms_per_second < 100) {
        return QStringLiteral("OK");
    }
    if (backpressured_ms_per_second <= 500) {
        return QStringLiteral("LOW");
    }
    return QStringLiteral("HIGH");
}

QColor checkpointColor(int64_t checkpoint_id) {
    // Steps of the golden angle spread consecutive ids around the hue circle.
    int hue = int((checkpoint_id * 137) % 360);
    if (hue < 0) {
        hue += 360;
    }
    return QColor::fromHsv(hue, 200, 230);
}

QColor textColorOn(const QColor& background) {
    return background.lightnessF() < 0.55 ? QColor(Qt::white) : QColor(Qt::black);
}

}  // namespace sluice::ui
