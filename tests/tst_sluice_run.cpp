// The sluice-run command line: help text, the digest line and its
// reproducibility, the metrics CSV, the messages and exit status for broken
// scenarios (tests/bad_scenarios) and for usage errors. Runs the built binary.

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

#include "test_support.h"

namespace {

constexpr int kTimeoutMs = 60000;
const char* const kBadDir = "tests/bad_scenarios";

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
    for (const char* option : {"--seed", "--until-ms", "--metrics-csv", "--log-level", "--help"}) {
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
