// Scenario loading: the messages for broken scenarios (tests/bad_scenarios),
// defaults, text and JSON equivalence, robustness on truncated input, and the
// CSV reader of the csv source.

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <google/protobuf/util/message_differencer.h>

#include <fstream>
#include <map>
#include <string>

#include "sim/csv_table.h"
#include "sim/scenario_loader.h"
#include "test_support.h"

using sluice::sim::CsvRow;
using sluice::sim::LoadedScenario;
using sluice::sim::ScenarioError;
using sluice::sim::TimeFormat;

namespace {

const char* const kBadDir = "tests/bad_scenarios";

// A valid scenario that sets a bit of everything, and the same in JSON.
const char* const kValidText = R"(# Word count with skewed keys.
name: "skewed word count"
seed: 42
cluster {
  task_managers: 3
  remote_link { latency_us: 500 }
}
job {
  name: "count words"
  max_parallelism: 64
  default_parallelism: 2
  operators {
    id: "words"
    generator {
      key_count: 100
      key_prefix: "word-"
      distribution: ZIPF
      rate_per_second: 1000
      record_count: 5000
      watermarks { bounded_out_of_orderness_ms: 50 }
    }
  }
  operators { id: "split" flat_map {} }
  operators {
    id: "count"
    parallelism: 4
    aggregate { function: SUM }
    cost {
      ns_per_record: 500
      jitter: 0.1
      key_skew { key: "word-0" factor: 3 }
    }
  }
  operators {
    id: "sink"
    parallelism: 4
    chaining: DISABLE_CHAINING
    sink { kind: DISCARD }
  }
  edges { from: "words" to: "split" }
  edges { from: "split" to: "count" partitioning: HASH }
  edges { from: "count" to: "sink" partitioning: FORWARD }
}
network { buffer_timeout_ms: 10 }
run { until_ms: 10000 }
)";

const char* const kValidJson = R"({
  "name": "skewed word count",
  "seed": "42",
  "cluster": {"taskManagers": 3, "remote_link": {"latencyUs": 500}},
  "job": {
    "name": "count words",
    "maxParallelism": 64,
    "default_parallelism": 2,
    "operators": [
      {
        "id": "words",
        "generator": {
          "keyCount": 100,
          "keyPrefix": "word-",
          "distribution": "ZIPF",
          "ratePerSecond": 1000,
          "record_count": 5000,
          "watermarks": {"boundedOutOfOrdernessMs": 50}
        }
      },
      {"id": "split", "flatMap": {}},
      {
        "id": "count",
        "parallelism": 4,
        "aggregate": {"function": "SUM"},
        "cost": {"nsPerRecord": 500, "jitter": 0.1, "keySkew": [{"key": "word-0", "factor": 3}]}
      },
      {"id": "sink", "parallelism": 4, "chaining": "DISABLE_CHAINING", "sink": {"kind": "DISCARD"}}
    ],
    "edges": [
      {"from": "words", "to": "split"},
      {"from": "split", "to": "count", "partitioning": "HASH"},
      {"from": "count", "to": "sink", "partitioning": "FORWARD"}
    ]
  },
  "network": {"bufferTimeoutMs": 10},
  "run": {"untilMs": 10000}
}
)";

std::string describe(const std::variant<LoadedScenario, ScenarioError>& result) {
    if (const auto* error = std::get_if<ScenarioError>(&result)) {
        return error->format();
    }
    return "loaded";
}

// Reads the expected messages, one "FILE MESSAGE" per line, where FILE is a
// name in tests/bad_scenarios. A '#' starts a comment line.
std::map<std::string, std::string> readExpectations() {
    std::map<std::string, std::string> expected;
    std::ifstream in(std::string(kBadDir) + "/expected.txt");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.starts_with('#')) {
            continue;
        }
        const size_t space = line.find(' ');
        expected[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
    }
    return expected;
}

void writeFile(const QString& path, const std::string& contents) {
    std::ofstream out(path.toStdString(), std::ios::binary);
    out << contents;
}

sluice::scenario::CsvSource csvSource(const QString& path, const std::string& time_format,
                                      const std::string& value_column) {
    sluice::scenario::CsvSource source;
    source.set_path(path.toStdString());
    source.set_key_column("key");
    source.set_event_time_column("time");
    source.set_value_column(value_column);
    source.set_time_format(time_format);
    return source;
}

}  // namespace

class TstScenarioLoader : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() {
        // Messages contain the path as given, so relative paths keep them the
        // same on every machine.
        QVERIFY(QDir::setCurrent(QString::fromStdString(sluice::test::sourcePath(""))));
    }

    void badScenarios_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("expected");
        const auto expected = readExpectations();
        QVERIFY2(expected.size() >= 15, "tests/bad_scenarios/expected.txt is missing or short");
        for (const auto& [file, message] : expected) {
            QTest::newRow(file.c_str()) << QString::fromStdString(std::string(kBadDir) + "/" + file)
                                        << QString::fromStdString(message);
        }
    }

    void badScenarios() {
        QFETCH(QString, file);
        QFETCH(QString, expected);
        const auto result = sluice::sim::loadScenarioFile(file.toStdString());
        const auto* error = std::get_if<ScenarioError>(&result);
        QVERIFY2(error != nullptr, qPrintable(file + " loaded without an error"));
        QCOMPARE(QString::fromStdString(error->format()), expected);
    }

    void everyBadScenarioHasAnExpectation() {
        const auto expected = readExpectations();
        const QStringList files = QDir(kBadDir).entryList({"*.textproto", "*.json"}, QDir::Files);
        QVERIFY(!files.isEmpty());
        for (const QString& file : files) {
            QVERIFY2(expected.contains(file.toStdString()),
                     qPrintable(file + " has no line in expected.txt"));
        }
        QCOMPARE(static_cast<size_t>(files.size()), expected.size());
    }

    void textAndJsonLoadEqual() {
        const auto text = sluice::sim::parseScenario(kValidText, "valid.textproto", {}, false);
        const auto json = sluice::sim::parseScenario(kValidJson, "valid.json", {}, true);
        QVERIFY2(std::holds_alternative<LoadedScenario>(text), describe(text).c_str());
        QVERIFY2(std::holds_alternative<LoadedScenario>(json), describe(json).c_str());
        const auto& a = std::get<LoadedScenario>(text).proto;
        const auto& b = std::get<LoadedScenario>(json).proto;
        std::string differences;
        google::protobuf::util::MessageDifferencer differencer;
        differencer.ReportDifferencesToString(&differences);
        QVERIFY2(differencer.Compare(a, b), differences.c_str());
    }

    void defaultsAreApplied() {
        const auto result = sluice::sim::parseScenario(kValidText, "valid.textproto", {}, false);
        QVERIFY2(std::holds_alternative<LoadedScenario>(result), describe(result).c_str());
        const auto& s = std::get<LoadedScenario>(result).proto;

        QCOMPARE(s.seed(), 42u);
        QCOMPARE(s.cluster().task_managers(), 3u);
        QCOMPARE(s.cluster().slots_per_task_manager(), 2u);  // ceil(4 / 3)
        QCOMPARE(s.cluster().local_link().latency_us(), 10u);
        QCOMPARE(s.cluster().local_link().bandwidth_mbps(), 10000u);
        QCOMPARE(s.cluster().remote_link().latency_us(), 500u);
        QCOMPARE(s.cluster().remote_link().bandwidth_mbps(), 1000u);
        QCOMPARE(s.network().buffer_size_bytes(), 32768u);
        QCOMPARE(s.network().buffers_per_channel(), 2u);
        QCOMPARE(s.network().floating_buffers_per_gate(), 8u);
        QCOMPARE(s.network().buffer_timeout_ms(), 10u);
        QCOMPARE(s.run().until_ms(), 10000u);
        QCOMPARE(s.run().metrics_interval_ms(), 1000u);
        QCOMPARE(s.job().max_parallelism(), 64u);
        QCOMPARE(s.job().default_parallelism(), 2u);

        const auto& words = s.job().operators(0);
        QCOMPARE(words.parallelism(), 2u);
        QCOMPARE(words.cost().ns_per_record(), 0u);
        QCOMPARE(words.generator().key_count(), 100u);
        QCOMPARE(words.generator().zipf_exponent(), 1.0);
        QCOMPARE(words.generator().value_min(), 1);
        QCOMPARE(words.generator().value_max(), 1);
        QCOMPARE(words.generator().partitions(), 2u);
        QCOMPARE(words.generator().event_time_step_ms(), 2.0);  // 1000 ms / 500 per partition
        QCOMPARE(words.generator().watermarks().interval_ms(), 200u);
        QCOMPARE(words.generator().watermarks().bounded_out_of_orderness_ms(), 50u);

        const auto& split = s.job().operators(1);
        QCOMPARE(split.parallelism(), 2u);
        QCOMPARE(split.flat_map().copies(), 2u);
        QCOMPARE(split.cost().ns_per_record(), 100u);
        QCOMPARE(s.job().operators(2).cost().ns_per_record(), 500u);
        QCOMPARE(s.job().operators(3).cost().ns_per_record(), 0u);

        QCOMPARE(s.job().edges(0).partitioning(), sluice::scenario::FORWARD);
        QCOMPARE(s.job().edges(1).partitioning(), sluice::scenario::HASH);
        QCOMPARE(s.job().edges(2).partitioning(), sluice::scenario::FORWARD);
    }

    void minimalScenarioGetsEveryDefault() {
        const std::string text = R"(
job {
  operators { id: "source" parallelism: 5 generator { rate_per_second: 100 } }
  operators { id: "sink" sink {} }
  edges { from: "source" to: "sink" }
})";
        const auto result = sluice::sim::parseScenario(text, "minimal.textproto", {}, false);
        QVERIFY2(std::holds_alternative<LoadedScenario>(result), describe(result).c_str());
        const auto& s = std::get<LoadedScenario>(result).proto;
        QCOMPARE(s.cluster().task_managers(), 2u);
        QCOMPARE(s.cluster().slots_per_task_manager(), 3u);  // ceil(5 / 2)
        QCOMPARE(s.cluster().remote_link().latency_us(), 200u);
        QCOMPARE(s.network().buffer_timeout_ms(), 100u);
        QCOMPARE(s.run().until_ms(), 0u);
        QCOMPARE(s.job().max_parallelism(), 128u);
        QCOMPARE(s.job().default_parallelism(), 1u);
        QCOMPARE(s.job().operators(0).generator().key_count(), 1000u);
        QCOMPARE(s.job().operators(0).generator().partitions(), 5u);
        QCOMPARE(s.job().operators(0).generator().event_time_step_ms(), 50.0);
        QCOMPARE(s.job().operators(1).parallelism(), 1u);
        QCOMPARE(s.job().edges(0).partitioning(), sluice::scenario::REBALANCE);

        // Defaults are idempotent.
        sluice::scenario::Scenario again = s;
        sluice::sim::applyScenarioDefaults(again);
        QVERIFY(google::protobuf::util::MessageDifferencer::Equals(again, s));
    }

    void jsonNullMeansUnset() {
        const auto result = sluice::sim::parseScenario(
            R"({"job": {"defaultParallelism": 3, "operators": [)"
            R"({"id": "source", "parallelism": null, "generator": {}, "cost": null}]}})",
            "null.json", {}, true);
        QVERIFY2(std::holds_alternative<LoadedScenario>(result), describe(result).c_str());
        QCOMPARE(std::get<LoadedScenario>(result).proto.job().operators(0).parallelism(), 3u);
    }

    void loadFileKeepsTextAndFolder() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath("valid.textproto");
        writeFile(path, kValidText);
        const auto result = sluice::sim::loadScenarioFile(path.toStdString());
        QVERIFY2(std::holds_alternative<LoadedScenario>(result), describe(result).c_str());
        const auto& loaded = std::get<LoadedScenario>(result);
        QCOMPARE(loaded.text, std::string(kValidText));
        QCOMPARE(loaded.path.string(), path.toStdString());
        QCOMPARE(loaded.base_dir.string(), dir.path().toStdString());
        QCOMPARE(loaded.proto.name(), std::string("skewed word count"));

        const QString json_path = dir.filePath("valid.JSON");
        writeFile(json_path, kValidJson);
        const auto json = sluice::sim::loadScenarioFile(json_path.toStdString());
        QVERIFY2(std::holds_alternative<LoadedScenario>(json), describe(json).c_str());
    }

    void missingScenarioFile() {
        const auto result = sluice::sim::loadScenarioFile("tests/bad_scenarios/absent.textproto");
        const auto* error = std::get_if<ScenarioError>(&result);
        QVERIFY(error != nullptr);
        QCOMPARE(QString::fromStdString(error->format()),
                 QString("tests/bad_scenarios/absent.textproto: error: cannot read the scenario "
                         "file: No such file or directory; check the path."));

        const auto folder = sluice::sim::loadScenarioFile("tests/bad_scenarios");
        QVERIFY(std::holds_alternative<ScenarioError>(folder));
        QCOMPARE(std::get<ScenarioError>(folder).message,
                 std::string("cannot read the scenario file: Is a directory; check the path."));
    }

    void formatLeavesOutUnknownParts() {
        ScenarioError error{
            .file = "a.textproto", .line = 3, .column = 0, .field = "", .message = "m."};
        QCOMPARE(error.format(), std::string("a.textproto:3: error: m."));
        error.column = 7;
        error.field = "job";
        QCOMPARE(error.format(), std::string("a.textproto:3:7: error: job: m."));
        error.line = 0;
        QCOMPARE(error.format(), std::string("a.textproto: error: job: m."));
    }

    void truncatedInputNeverCrashes_data() {
        QTest::addColumn<bool>("json");
        QTest::newRow("text") << false;
        QTest::newRow("json") << true;
    }

    // Every prefix of a valid file either loads or gives one error with a
    // message. No prefix makes the loader throw or crash.
    void truncatedInputNeverCrashes() {
        QFETCH(bool, json);
        const std::string full = json ? kValidJson : kValidText;
        int loaded = 0;
        for (size_t length = 0; length <= full.size(); ++length) {
            const std::string prefix = full.substr(0, length);
            std::variant<LoadedScenario, ScenarioError> result;
            try {
                result = sluice::sim::parseScenario(prefix, "prefix", {}, json);
            } catch (...) {
                QFAIL(qPrintable(QString("threw on a prefix of %1 bytes").arg(length)));
            }
            if (const auto* error = std::get_if<ScenarioError>(&result)) {
                QVERIFY2(!error->message.empty(), qPrintable(QString::number(length)));
                QVERIFY(error->line >= 0 && error->column >= 0);
                QVERIFY(error->format().find('\n') == std::string::npos);
            } else {
                ++loaded;
            }
        }
        QVERIFY(loaded >= 1);  // at least the whole file
    }

    void timeFormats_data() {
        QTest::addColumn<QString>("format");
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("expected");
        QTest::newRow("flights") << "%Y/%m/%d %H:%M"
                                 << "2001/01/01 00:47" << qint64(978310020000);
        QTest::newRow("iso") << "%FT%T"
                             << "2024-02-29T23:59:59" << qint64(1709251199000);
        QTest::newRow("zone") << "%FT%T%z"
                              << "2024-02-29T23:59:59+01:30" << qint64(1709245799000);
        QTest::newRow("zulu") << "%F %T%z"
                              << "1970-01-01 00:00:01Z" << qint64(1000);
        QTest::newRow("short digits") << "%d.%m.%Y %H:%M"
                                      << "1.3.2001 7:05" << qint64(983430300000);
        QTest::newRow("before 1970") << "%Y-%m-%d"
                                     << "1969-12-31" << qint64(-86400000);
        QTest::newRow("epoch_ms") << "epoch_ms"
                                  << "1700000000123" << qint64(1700000000123);
        QTest::newRow("epoch_s") << "epoch_s"
                                 << " 1700000000 " << qint64(1700000000000);
        QTest::newRow("percent") << "%H%%%M"
                                 << "10%30" << qint64(37800000);
    }

    void timeFormats() {
        QFETCH(QString, format);
        QFETCH(QString, text);
        QFETCH(qint64, expected);
        std::string problem;
        const auto parsed = TimeFormat::parse(format.toStdString(), &problem);
        QVERIFY2(parsed.has_value(), problem.c_str());
        const auto ms = parsed->toEpochMs(text.toStdString());
        QVERIFY(ms.has_value());
        QCOMPARE(qint64(*ms), expected);
    }

    void timeFormatRejectsText_data() {
        QTest::addColumn<QString>("format");
        QTest::addColumn<QString>("text");
        QTest::newRow("no leap day") << "%Y-%m-%d"
                                     << "2023-02-29";
        QTest::newRow("month 13") << "%Y-%m-%d"
                                  << "2023-13-01";
        QTest::newRow("hour 24") << "%H:%M"
                                 << "24:00";
        QTest::newRow("wrong separator") << "%Y/%m/%d"
                                         << "2001-01-01";
        QTest::newRow("trailing text") << "%Y"
                                       << "2001x";
        QTest::newRow("empty") << "%Y"
                               << "";
        QTest::newRow("epoch_ms text") << "epoch_ms"
                                       << "12a";
    }

    void timeFormatRejectsText() {
        QFETCH(QString, format);
        QFETCH(QString, text);
        std::string problem;
        const auto parsed = TimeFormat::parse(format.toStdString(), &problem);
        QVERIFY2(parsed.has_value(), problem.c_str());
        QVERIFY(!parsed->toEpochMs(text.toStdString()).has_value());
    }

    void badTimeFormats_data() {
        QTest::addColumn<QString>("format");
        QTest::addColumn<QString>("problem");
        QTest::newRow("empty") << ""
                               << "time_format is empty; set it to a strftime-style format such "
                                  "as \"%Y/%m/%d %H:%M\", or to \"epoch_ms\" or \"epoch_s\".";
        QTest::newRow("unknown conversion")
            << "%Y %b"
            << "time_format \"%Y %b\" uses %b, which is not supported; use %Y, %m, "
               "%d, %H, %M, %S, %F, %T, %z and %%, or \"epoch_ms\" or \"epoch_s\".";
        QTest::newRow("lone percent")
            << "%Y%"
            << "time_format \"%Y%\" ends with a lone '%'; write %% for a literal '%'.";
        QTest::newRow("twice") << "%F %Y"
                               << "time_format \"%F %Y\" sets %Y twice; use each conversion once.";
        QTest::newRow("no conversion")
            << "date"
            << "time_format \"date\" has no conversion such as %Y or %H; use a "
               "strftime-style format such as \"%Y/%m/%d %H:%M\", or \"epoch_ms\" or "
               "\"epoch_s\".";
    }

    void badTimeFormats() {
        QFETCH(QString, format);
        QFETCH(QString, problem);
        std::string reason;
        QVERIFY(!TimeFormat::parse(format.toStdString(), &reason).has_value());
        QCOMPARE(QString::fromStdString(reason), problem);
    }

    void csvRows() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        writeFile(dir.filePath("in.csv"),
                  "\xEF\xBB\xBFtime,key,amount\r\n"
                  "2001/01/01 00:00,a,5\r\n"
                  "\r\n"
                  "2001/01/01 00:01,\"b,\"\"quoted\"\"\",-7\r\n"
                  "2001/01/01 00:02,\"multi\nline\",+3");
        const auto result = sluice::sim::loadCsvRows(
            csvSource("in.csv", "%Y/%m/%d %H:%M", "amount"), dir.path().toStdString());
        const auto* error = std::get_if<ScenarioError>(&result);
        QVERIFY2(error == nullptr, error != nullptr ? error->format().c_str() : "");
        const auto& rows = std::get<std::vector<CsvRow>>(result);
        QCOMPARE(rows.size(), size_t(3));
        QCOMPARE(rows[0].key, std::string("a"));
        QCOMPARE(rows[0].timestamp_ms, int64_t(978307200000));
        QCOMPARE(rows[0].value, int64_t(5));
        QCOMPARE(rows[1].key, std::string("b,\"quoted\""));
        QCOMPARE(rows[1].timestamp_ms, int64_t(978307260000));
        QCOMPARE(rows[1].value, int64_t(-7));
        QCOMPARE(rows[2].key, std::string("multi\nline"));
        QCOMPARE(rows[2].value, int64_t(3));

        // Without a value column every value is 1.
        const auto ones = sluice::sim::loadCsvRows(csvSource("in.csv", "%Y/%m/%d %H:%M", ""),
                                                   dir.path().toStdString());
        QVERIFY(std::holds_alternative<std::vector<CsvRow>>(ones));
        for (const CsvRow& row : std::get<std::vector<CsvRow>>(ones)) {
            QCOMPARE(row.value, int64_t(1));
        }
    }

    void csvErrors_data() {
        QTest::addColumn<QString>("contents");
        QTest::addColumn<QString>("value_column");
        QTest::addColumn<QString>("expected");  // format() without the folder
        QTest::newRow("missing column")
            << "time,key,value\n1,a,2\n"
            << "amount"
            << "in.csv:1:1: error: value_column: column \"amount\" is not in the header; the "
               "columns are time, key, value.";
        QTest::newRow("bad time")
            << "time,key,value\n1,a,2\n1x,b,3\n"
            << "value"
            << "in.csv:3:1: error: time: \"1x\" does not match time_format \"epoch_ms\" or is not "
               "a valid date and time; fix the row or the scenario's time_format.";
        QTest::newRow("bad value")
            << "time,key,value\n1,a,2\n2,b,2.5\n"
            << "value"
            << "in.csv:3:5: error: value: \"2.5\" is not a 64-bit integer; value_column must name "
               "a column of whole numbers, or be left empty to give every record the value 1.";
        QTest::newRow("short row")
            << "time,key,value\n1,a\n"
            << "value"
            << "in.csv:2:1: error: the row has 2 fields but the header has 3 columns; every row "
               "needs one field per column.";
        QTest::newRow("open quote")
            << "time,key,value\n1,\"a,2\n"
            << "value"
            << "in.csv:2:3: error: a quoted field is not closed; add the closing '\"'.";
        QTest::newRow("empty file") << ""
                                    << ""
                                    << "in.csv:1:1: error: the file is empty; it needs a header "
                                       "row naming the columns.";
    }

    void csvErrors() {
        QFETCH(QString, contents);
        QFETCH(QString, value_column);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        writeFile(dir.filePath("in.csv"), contents.toStdString());
        const auto result = sluice::sim::loadCsvRows(
            csvSource("in.csv", "epoch_ms", value_column.toStdString()), dir.path().toStdString());
        const auto* error = std::get_if<ScenarioError>(&result);
        QVERIFY(error != nullptr);
        QString message = QString::fromStdString(error->format());
        message.remove(dir.path() + "/");
        QCOMPARE(message, expected);
    }

    void flightsData() {
        const auto result = sluice::sim::parseScenario(R"(
job {
  operators {
    id: "flights"
    parallelism: 3
    csv {
      path: "data/flights-20k.csv"
      key_column: "origin"
      event_time_column: "date"
      value_column: "delay"
      time_format: "%Y/%m/%d %H:%M"
    }
  }
  operators { id: "sink" sink {} }
  edges { from: "flights" to: "sink" }
})",
                                                       "flights.textproto", "scenarios", false);
        QVERIFY2(std::holds_alternative<LoadedScenario>(result), describe(result).c_str());
        const auto& loaded = std::get<LoadedScenario>(result);
        const auto& csv = loaded.proto.job().operators(0).csv();
        QCOMPARE(csv.partitions(), 3u);
        QCOMPARE(csv.watermarks().interval_ms(), 200u);

        const auto rows = sluice::sim::loadCsvRows(csv, loaded.base_dir);
        QVERIFY(std::holds_alternative<std::vector<CsvRow>>(rows));
        const auto& all = std::get<std::vector<CsvRow>>(rows);
        QCOMPARE(all.size(), size_t(20000));
        QCOMPARE(all.front().key, std::string("DTW"));
        QCOMPARE(all.front().timestamp_ms, int64_t(978310020000));  // 2001-01-01 00:47 UTC
        QCOMPARE(all.front().value, int64_t(66));
        QCOMPARE(all.back().key, std::string("CLT"));
        QCOMPARE(all.back().value, int64_t(-9));
    }
};

QTEST_GUILESS_MAIN(TstScenarioLoader)
#include "tst_scenario_loader.moc"
