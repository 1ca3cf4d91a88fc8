// The sluice-run command line: help text, the digest line and its
// reproducibility, the metrics CSV, recording and replay, seed sweeps with
// their JUnit report, the messages and exit status for broken scenarios
// (tests/bad_scenarios) and for usage errors. Runs the built binary.

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtTest>

#include "test_support.h"

namespace {

constexpr int kTimeoutMs = 60000;
const char* const kBadDir = "tests/bad_scenarios";
// Swarm faults drawn from the seed, with enough restarts that every seed
// passes; seed 3 draws four faults.
const char* const kSwarm = "tests/scenarios/swarm-failover.textproto";

struct Result {
    int exit_code = -1;
    QString out;
    QString err;
};

// Runs sluice-run with `arguments` in the source tree, so relative paths
// such as "scenarios/wordcount.textproto" resolve as in the documentation.
Result runSluice(const QStringList& arguments) {
    QProcess process;
    process.setWorkingDirectory(QString::fromStdString(sluice::test::sourcePath("")));
    process.start(QString::fromStdString(sluice::test::binaryPath("sluice-run")), arguments);
    Result result;
    if (!process.waitForStarted(kTimeoutMs)) {
        result.err = "sluice-run did not start: " + process.errorString();
        return result;
    }
    if (!process.waitForFinished(kTimeoutMs)) {
        process.kill();
        process.waitForFinished();
        result.err = "sluice-run did not finish in time";
        return result;
    }
    result.exit_code =
        process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2;  // -2: crashed
    result.out = QString::fromUtf8(process.readAllStandardOutput());
    result.err = QString::fromUtf8(process.readAllStandardError());
    return result;
}

QString lastLine(const QString& text) {
    QStringList lines = text.split('\n', Qt::SkipEmptyParts);
    return lines.isEmpty() ? QString() : lines.last();
}

QString digestOf(const Result& result) {
    static const QRegularExpression digest("^digest: ([0-9a-f]{16})$");
    auto match = digest.match(lastLine(result.out));
    return match.hasMatch() ? match.captured(1) : QString();
}

// The digest line anywhere in the output; a replay prints its verdict last.
QString digestLineOf(const Result& result) {
    static const QRegularExpression digest("^digest: ([0-9a-f]{16})$",
                                           QRegularExpression::MultilineOption);
    auto match = digest.match(result.out);
    return match.hasMatch() ? match.captured(1) : QString();
}

QString readText(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

bool writeText(const QString& path, const QString& text) {
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) &&
           file.write(text.toUtf8()) == text.toUtf8().size();
}

// The swarm scenario with a deliberate bug: restored sources do not rewind,
// so every seed with a fault duplicates output and fails its verdict.
QString writeBuggySwarm(const QTemporaryDir& dir) {
    QString text = readText(QString::fromStdString(sluice::test::sourcePath(kSwarm)));
    text += "bugs { dont_rewind_sources: true }\n";
    QString path = dir.filePath("buggy-swarm.textproto");
    return writeText(path, text) ? path : QString();
}

struct JunitCase {
    QString name;
    QString failure;  // message of its <failure>, empty when it passed
};

// The testcases of a JUnit report; sets `error` when it is not XML.
QList<JunitCase> junitCases(const QString& path, QString* error) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = "cannot open " + path;
        return {};
    }
    QXmlStreamReader xml(&file);
    QList<JunitCase> cases;
    while (!xml.atEnd()) {
        xml.readNext();
        if (!xml.isStartElement()) {
            continue;
        }
        if (xml.name() == QLatin1String("testcase")) {
            cases.append({xml.attributes().value("name").toString(), QString()});
        } else if (xml.name() == QLatin1String("failure") && !cases.isEmpty()) {
            cases.last().failure = xml.attributes().value("message").toString();
        }
    }
    if (xml.hasError()) {
        *error = xml.errorString() + " at line " + QString::number(xml.lineNumber());
    }
    return cases;
}

// Metric names of Flink's task metrics that sluice reports.
const QSet<QString> kFlinkMetrics = {
    "busyTimeMsPerSecond",
    "idleTimeMsPerSecond",
    "backPressuredTimeMsPerSecond",
    "numRecordsInPerSecond",
    "numRecordsOutPerSecond",
    "inPoolUsage",
    "outPoolUsage",
    "inputQueueLength",
    "outputQueueLength",
    "inputExclusiveBuffersUsage",
    "inputFloatingBuffersUsage",
    "currentInputWatermark",
};

}  // namespace

class TstSluiceRun : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void help_data();
    void help();
    void digestRepeats();
    void seedOption();
    void metricsCsv();
    void metricsCsvUnwritable();
    void recordAndReplay();
    void replayUnreadable();
    void replayDivergesOnChangedData();
    void sweepPasses();
    void sweepFailingSeeds();
    void badCorpusListed();
    void badScenario_data();
    void badScenario();
    void usageError_data();
    void usageError();
};

void TstSluiceRun::initTestCase() {
    QVERIFY2(QFile::exists(QString::fromStdString(sluice::test::binaryPath("sluice-run"))),
             "sluice-run is not built");
}

void TstSluiceRun::help_data() {
    QTest::addColumn<QString>("text");
    for (const char* option :
         {"--seed", "--until-ms", "--metrics-csv", "--log-level", "--help", "--record", "--replay",
          "--seeds", "--jobs", "--junit", "--failing-dir"}) {
        QTest::newRow(option) << QString(option);
    }
    // The unit of --until-ms, and the CSV header --metrics-csv writes.
    QTest::newRow("milliseconds") << "milliseconds";
    QTest::newRow("csv header") << "time_ms,task,subtask,metric,value";
    QTest::newRow("log levels") << "debug, info, warning";
    QTest::newRow("exit status") << "Exit status";
}

void TstSluiceRun::help() {
    QFETCH(QString, text);
    Result result = runSluice({"--help"});
    QCOMPARE(result.exit_code, 0);
    QVERIFY2(result.out.contains(text), qPrintable("--help does not mention " + text));
}

void TstSluiceRun::digestRepeats() {
    Result first = runSluice({"scenarios/wordcount.textproto"});
    Result second = runSluice({"scenarios/wordcount.textproto"});
    QCOMPARE(first.exit_code, 0);
    QCOMPARE(second.exit_code, 0);
    QVERIFY2(!digestOf(first).isEmpty(),
             qPrintable("last line is not 'digest: <16 hex digits>': " + lastLine(first.out)));
    QCOMPARE(digestOf(second), digestOf(first));
}

// wordcount.textproto sets seed 42, so --seed 42 is the same run and another
// seed is a different one.
void TstSluiceRun::seedOption() {
    Result plain = runSluice({"scenarios/wordcount.textproto"});
    Result same = runSluice({"scenarios/wordcount.textproto", "--seed", "42"});
    Result other = runSluice({"--seed", "43", "scenarios/wordcount.textproto"});
    QCOMPARE(plain.exit_code, 0);
    QCOMPARE(same.exit_code, 0);
    QCOMPARE(other.exit_code, 0);
    QVERIFY(!digestOf(plain).isEmpty());
    QCOMPARE(digestOf(same), digestOf(plain));
    QVERIFY(!digestOf(other).isEmpty());
    QVERIFY(digestOf(other) != digestOf(plain));
}

void TstSluiceRun::metricsCsv() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("metrics.csv");
    const int until_ms = 2500;
    Result result =
        runSluice({"scenarios/wordcount.textproto", "--until-ms", QString::number(until_ms),
                   "--metrics-csv", path, "--log-level", "error"});
    QCOMPARE(result.exit_code, 0);
    QFile file(path);
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(path));
    const QStringList lines = QString::fromUtf8(file.readAll()).split('\n', Qt::SkipEmptyParts);
    QVERIFY(lines.size() > 1);
    QCOMPARE(lines.first(), QString("time_ms,task,subtask,metric,value"));

    QSet<QString> metrics;
    QSet<QString> tasks;
    for (int i = 1; i < lines.size(); ++i) {
        const QStringList fields = lines[i].split(',');
        QVERIFY2(fields.size() == 5,
                 qPrintable("line " + QString::number(i + 1) + ": " + lines[i]));
        bool ok = false;
        const qlonglong time_ms = fields[0].toLongLong(&ok);
        QVERIFY2(ok && time_ms > 0 && time_ms <= until_ms, qPrintable(lines[i]));
        fields[2].toInt(&ok);
        QVERIFY2(ok, qPrintable(lines[i]));
        fields[4].toDouble(&ok);
        QVERIFY2(ok, qPrintable(lines[i]));
        QVERIFY2(kFlinkMetrics.contains(fields[3]),
                 qPrintable("not a Flink metric name: " + fields[3]));
        metrics.insert(fields[3]);
        tasks.insert(fields[1]);
    }
    // wordcount has sources, a task with inputs and outputs, and a sink, so
    // every metric applies to some task.
    QCOMPARE(metrics, kFlinkMetrics);
    QVERIFY2(tasks.contains("words"), qPrintable(QStringList(tasks.values()).join(" | ")));
}

void TstSluiceRun::metricsCsvUnwritable() {
    Result result = runSluice({"scenarios/wordcount.textproto", "--until-ms", "100",
                               "--metrics-csv", "/nonexistent-dir/metrics.csv"});
    QCOMPARE(result.exit_code, 2);
    // The folder is checked before the run, so no run is wasted on it.
    QVERIFY2(result.err.contains("/nonexistent-dir"), qPrintable(result.err));
    QVERIFY2(result.out.isEmpty(), qPrintable(result.out));
}

void TstSluiceRun::recordAndReplay() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString recording = dir.filePath("seed-3.recording");
    Result run = runSluice({kSwarm, "--seed", "3", "--record", recording});
    QCOMPARE(run.exit_code, 0);
    QVERIFY2(run.out.contains("recording written to " + recording), qPrintable(run.out));
    QVERIFY(!digestOf(run).isEmpty());

    Result replay = runSluice({"--replay", recording});
    QCOMPARE(replay.exit_code, 0);
    static const QRegularExpression ok(
        "^replay: OK, ([0-9]+) checkpoint digests and the final digest match$");
    auto match = ok.match(lastLine(replay.out));
    QVERIFY2(match.hasMatch(), qPrintable(replay.out));
    QVERIFY(match.captured(1).toInt() > 0);
    QCOMPARE(digestLineOf(replay), digestOf(run));
    QVERIFY2(replay.out.contains("recorded verdict: PASS"), qPrintable(replay.out));
}

void TstSluiceRun::replayUnreadable() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString foreign = dir.filePath("foreign.recording");
    QVERIFY(writeText(foreign, "name: \"not a recording\"\n"));
    Result bad = runSluice({"--replay", foreign});
    QCOMPARE(bad.exit_code, 2);
    QVERIFY2(bad.err.contains("bad magic"), qPrintable(bad.err));

    Result missing = runSluice({"--replay", dir.filePath("missing.recording")});
    QCOMPARE(missing.exit_code, 2);
    QVERIFY2(missing.err.contains("missing.recording"), qPrintable(missing.err));

    const QString recording = dir.filePath("cut.recording");
    QCOMPARE(runSluice({kSwarm, "--seed", "2", "--record", recording}).exit_code, 0);
    QFile file(recording);
    QVERIFY(file.open(QIODevice::ReadWrite));
    QVERIFY(file.resize(file.size() / 2));
    file.close();
    Result cut = runSluice({"--replay", recording});
    QCOMPARE(cut.exit_code, 2);
    QVERIFY2(cut.err.contains("truncated") && cut.err.contains("byte offset"), qPrintable(cut.err));
}

// The recording contains the scenario text but not its CSV data, so a changed
// CSV file shows as a divergence at the first checkpoint after the change.
void TstSluiceRun::replayDivergesOnChangedData() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto rows = [](int changed_from) {
        QString csv = "key,time,value\n";
        for (int i = 0; i < 1000; ++i) {
            int value = i < changed_from ? i % 13 : i % 13 + 1;
            csv += QString("k%1,%2,%3\n").arg(i % 7).arg(1000 + i * 10).arg(value);
        }
        return csv;
    };
    QVERIFY(writeText(dir.filePath("rows.csv"), rows(1000)));
    QVERIFY(writeText(dir.filePath("csv.textproto"), R"(name: "csv"
checkpointing { mode: EXACTLY_ONCE interval_ms: 100 }
job {
  name: "csv"
  operators {
    id: "rows"
    parallelism: 1
    csv { path: "rows.csv" key_column: "key" event_time_column: "time"
          value_column: "value" time_format: "epoch_ms" rate_per_second: 1000 }
  }
  operators { id: "sum" parallelism: 1 aggregate { function: SUM } }
  operators { id: "sink" parallelism: 1 sink { kind: TWO_PHASE_COMMIT } }
  edges { from: "rows" to: "sum" partitioning: HASH }
  edges { from: "sum" to: "sink" }
}
)"));
    const QString recording = dir.filePath("csv.recording");
    QCOMPARE(runSluice({dir.filePath("csv.textproto"), "--record", recording}).exit_code, 0);
    QVERIFY(writeText(dir.filePath("rows.csv"), rows(500)));

    Result replay = runSluice({"--replay", recording});
    QCOMPARE(replay.exit_code, 1);
    static const QRegularExpression diverged(
        "^replay: DIVERGED at checkpoint ([0-9]+): expected digest [0-9a-f]{16} at event "
        "[0-9]+, got [0-9a-f]{16} at event [0-9]+ \\(([0-9]+) earlier checkpoint digests "
        "matched\\)$",
        QRegularExpression::MultilineOption);
    auto match = diverged.match(replay.out);
    QVERIFY2(match.hasMatch(), qPrintable(replay.out));
    // Row 500 is read at about 0.5 s, so the checkpoints before it match.
    QVERIFY2(match.captured(2).toInt() >= 2, qPrintable(match.captured(0)));
}

void TstSluiceRun::sweepPasses() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString junit = dir.filePath("junit.xml");
    const QString failing = dir.filePath("failures");
    Result sweep = runSluice(
        {kSwarm, "--seeds", "1..4", "--jobs", "2", "--junit", junit, "--failing-dir", failing});
    QCOMPARE(sweep.exit_code, 0);
    for (int seed = 1; seed <= 4; ++seed) {
        QVERIFY2(sweep.out.contains(QString("seed %1: PASS (").arg(seed)), qPrintable(sweep.out));
    }
    QVERIFY2(sweep.out.contains("4 passed, 0 failed"), qPrintable(sweep.out));
    QString error;
    auto cases = junitCases(junit, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(cases.size(), 4);
    for (int i = 0; i < cases.size(); ++i) {
        QCOMPARE(cases[i].name, QString("seed %1").arg(i + 1));
        QVERIFY2(cases[i].failure.isEmpty(), qPrintable(cases[i].failure));
    }
    // Passing seeds leave no files behind.
    QCOMPARE(QDir(failing).entryList(QDir::Files), QStringList());
}

void TstSluiceRun::sweepFailingSeeds() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString scenario = writeBuggySwarm(dir);
    QVERIFY(!scenario.isEmpty());
    const QString junit = dir.filePath("junit.xml");
    const QString failing = dir.filePath("failures");
    Result sweep = runSluice(
        {scenario, "--seeds", "1..4", "--jobs", "2", "--junit", junit, "--failing-dir", failing});
    QCOMPARE(sweep.exit_code, 1);

    QString error;
    auto cases = junitCases(junit, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(cases.size(), 4);
    int failed = 0;
    for (const auto& testcase : cases) {
        const QString seed = testcase.name.section(' ', 1);
        const QString recording = failing + "/seed-" + seed + ".recording";
        if (testcase.failure.isEmpty()) {
            QVERIFY2(sweep.out.contains("seed " + seed + ": PASS"), qPrintable(sweep.out));
            QVERIFY(!QFile::exists(recording));
            continue;
        }
        ++failed;
        QVERIFY2(testcase.failure.startsWith("FAIL ("), qPrintable(testcase.failure));
        QVERIFY2(sweep.out.contains("seed " + seed + ": FAIL"), qPrintable(sweep.out));
        QVERIFY2(sweep.out.contains("replay: sluice-run --replay " + recording),
                 qPrintable(sweep.out));
        QVERIFY2(QFile::exists(recording), qPrintable(recording));
    }
    // Seed 2 draws no swarm fault, so only it passes.
    QCOMPARE(failed, 3);
    QVERIFY2(sweep.out.contains("1 passed, 3 failed"), qPrintable(sweep.out));

    // The printed command replays the failure exactly.
    Result replay = runSluice({"--replay", failing + "/seed-3.recording"});
    QCOMPARE(replay.exit_code, 0);
    QVERIFY2(lastLine(replay.out).startsWith("replay: OK"), qPrintable(replay.out));
    QVERIFY2(replay.out.contains("recorded verdict: FAIL"), qPrintable(replay.out));
}

// Every file of the corpus has its line in expected.txt, and every line a file.
void TstSluiceRun::badCorpusListed() {
    QDir dir(QString::fromStdString(sluice::test::sourcePath(kBadDir)));
    QSet<QString> files;
    for (const QString& name : dir.entryList(QDir::Files)) {
        if (name != "expected.txt") {
            files.insert(name);
        }
    }
    QFile expected(dir.filePath("expected.txt"));
    QVERIFY(expected.open(QIODevice::ReadOnly));
    QSet<QString> listed;
    for (const QString& line : QString::fromUtf8(expected.readAll()).split('\n')) {
        if (!line.isEmpty() && !line.startsWith('#')) {
            listed.insert(line.section(' ', 0, 0));
        }
    }
    QVERIFY(!files.isEmpty());
    QCOMPARE(listed, files);
}

void TstSluiceRun::badScenario_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("message");
    QFile expected(QString::fromStdString(sluice::test::sourcePath(kBadDir)) + "/expected.txt");
    if (!expected.open(QIODevice::ReadOnly)) {
        QFAIL("cannot read expected.txt");
    }
    for (const QString& line : QString::fromUtf8(expected.readAll()).split('\n')) {
        if (line.isEmpty() || line.startsWith('#')) {
            continue;
        }
        const QString file = line.section(' ', 0, 0);
        QTest::newRow(qPrintable(file)) << file << line.section(' ', 1);
    }
}

// expected.txt gives paths relative to the source tree, so the file is passed
// as tests/bad_scenarios/FILE from there.
void TstSluiceRun::badScenario() {
    QFETCH(QString, file);
    QFETCH(QString, message);
    Result result = runSluice({QString(kBadDir) + "/" + file});
    QCOMPARE(result.exit_code, 2);
    QCOMPARE(result.err, message + "\n");
    QVERIFY2(result.out.isEmpty(), qPrintable(result.out));
}

void TstSluiceRun::usageError_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("mentions");
    const QString wc = "scenarios/wordcount.textproto";
    QTest::newRow("unknown option") << QStringList{wc, "--sede", "1"} << "--sede";
    QTest::newRow("no scenario") << QStringList{} << "missing scenario";
    QTest::newRow("no scenario, options only") << QStringList{"--seed", "1"} << "missing scenario";
    QTest::newRow("seed not a number") << QStringList{wc, "--seed", "abc"} << "--seed";
    QTest::newRow("seed negative") << QStringList{wc, "--seed", "-1"} << "--seed";
    QTest::newRow("seed trailing text") << QStringList{wc, "--seed", "12x"} << "--seed";
    QTest::newRow("seed without value") << QStringList{wc, "--seed"} << "--seed";
    QTest::newRow("until-ms not a number") << QStringList{wc, "--until-ms", "1s"} << "--until-ms";
    QTest::newRow("metrics-csv without file")
        << QStringList{wc, "--metrics-csv"} << "--metrics-csv";
    QTest::newRow("bad log level") << QStringList{wc, "--log-level", "loud"} << "--log-level";
    QTest::newRow("two scenarios")
        << QStringList{wc, "scenarios/flights.textproto"} << "scenarios/flights.textproto";
    QTest::newRow("missing file") << QStringList{"scenarios/no-such-scenario.textproto"}
                                  << "scenarios/no-such-scenario.textproto";
    QTest::newRow("seeds without range") << QStringList{wc, "--seeds", "7"} << "A..B";
    QTest::newRow("seeds not numbers") << QStringList{wc, "--seeds", "a..b"} << "A..B";
    QTest::newRow("seeds reversed") << QStringList{wc, "--seeds", "9..3"} << "9..3 is empty";
    QTest::newRow("seed with seeds")
        << QStringList{wc, "--seeds", "1..2", "--seed", "1"} << "--seed cannot be used";
    QTest::newRow("jobs without seeds") << QStringList{wc, "--jobs", "2"} << "--jobs needs --seeds";
    QTest::newRow("jobs zero") << QStringList{wc, "--seeds", "1..2", "--jobs", "0"} << "--jobs";
    QTest::newRow("replay with scenario")
        << QStringList{"--replay", "x.recording", wc} << "--replay takes no scenario";
    QTest::newRow("replay with seed")
        << QStringList{"--replay", "x.recording", "--seed", "1"} << "--seed cannot be used";
    QTest::newRow("replay without file") << QStringList{"--replay"} << "--replay needs a path";
}

void TstSluiceRun::usageError() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, mentions);
    Result result = runSluice(arguments);
    QCOMPARE(result.exit_code, 2);
    QVERIFY2(result.err.contains(mentions),
             qPrintable("stderr does not mention '" + mentions + "': " + result.err));
    QVERIFY2(result.out.isEmpty(), qPrintable("stdout: " + result.out));
}

QTEST_GUILESS_MAIN(TstSluiceRun)
#include "tst_sluice_run.moc"
