// Log lines carry the simulated time of the engine that is running, also
// after another engine, such as a reference run, came and went.

#include "engine_support.h"
#include "runtime/core/log.h"

#include <QtTest>

#include <string>
#include <vector>

using sluice::sim::Engine;

class TstLogClock : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void cleanup() {
        sluice::log::setSink(nullptr);
        sluice::log::setLevel(sluice::log::Level::kWarning);
    }

    // Stepping takes the clock back, so the job's last lines have a time.
    void stepReclaimsClockAfterOtherEngine() {
        std::vector<std::string> lines;
        sluice::log::setLevel(sluice::log::Level::kInfo);
        sluice::log::setSink(
            [&](sluice::log::Level, const std::string& line) { lines.push_back(line); });
        auto run =
            sluice::test::makeEngine(sluice::test::loadScenario("scenarios/wordcount.textproto"));
        QVERIFY(run);
        QVERIFY(run->step());
        {
            auto other = sluice::test::makeEngine(
                sluice::test::loadScenario("scenarios/wordcount.textproto"));
            QVERIFY(other);
        }
        lines.clear();
        while (run->step()) {
        }
        QVERIFY(!lines.empty());
        const std::string& last = lines.back();
        QVERIFY2(last.find("ms ") != std::string::npos && last[0] >= '0' && last[0] <= '9',
                 last.c_str());
    }
};

QTEST_GUILESS_MAIN(TstLogClock)
#include "tst_log_clock.moc"
