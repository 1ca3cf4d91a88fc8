#pragma once

// CSV input of the CsvSource operator: a header row naming the columns, then
// one record per row. Fields may be quoted with '"', and a doubled '"' inside
// quotes is one '"'. Rows end with LF, CRLF or CR. Blank rows are skipped.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/scenario.pb.h"
#include "sim/scenario_loader.h"

namespace sluice::sim {

struct CsvRow {
    std::string key;
    int64_t timestamp_ms;  // event time, milliseconds since 1970-01-01 UTC
    int64_t value;
};

// Loads all rows of a CsvSource, in file order. When value_column is empty,
// every value is 1. Errors name the CSV file (resolved path), the 1-based line and
// character column, the column name as field, and the problem.
std::variant<std::vector<CsvRow>, ScenarioError> loadCsvRows(const scenario::CsvSource& source,
                                                             const std::filesystem::path& base_dir);

// Reads a whole file into `out`. Returns the reason (strerror) on failure.
std::optional<std::string> readTextFile(const std::filesystem::path& file, std::string* out);

// Returns the file a CsvSource reads: source_path itself when absolute, else
// source_path below base_dir.
std::filesystem::path resolveCsvPath(const std::string& source_path,
                                     const std::filesystem::path& base_dir);

// Reads the column names in the header row of `file`.
std::variant<std::vector<std::string>, ScenarioError> readCsvHeader(
    const std::filesystem::path& file);

// A parsed CsvSource::time_format. Supported: "epoch_ms", "epoch_s", or a
// pattern of literal characters and the conversions %Y (year), %m (month
// 01-12), %d (day 01-31), %H (hour 00-23), %M (minute), %S (second), %F
// (%Y-%m-%d), %T (%H:%M:%S), %z (+hh:mm, +hhmm or Z) and %% (a '%'). Numbers
// may have fewer digits than their field width. Without %z times are UTC.
class TimeFormat {
public:
    // Parses `format`. Returns std::nullopt, with the reason in `problem`, when
    // the format is not usable.
    static std::optional<TimeFormat> parse(const std::string& format, std::string* problem);

    // Converts `text` to milliseconds since 1970-01-01 UTC. Returns
    // std::nullopt when `text` does not match the format or names an
    // impossible date or time.
    std::optional<int64_t> toEpochMs(std::string_view text) const;

private:
    enum class Kind { EpochMs, EpochS, Pattern };
    Kind kind_ = Kind::Pattern;
    std::string pattern_;  // expanded: %F and %T replaced by their parts
};

}  // namespace sluice::sim
