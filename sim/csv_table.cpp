#include "sim/csv_table.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>

namespace sluice::sim {
namespace {

struct CsvField {
    std::string text;
    int line = 0;    // 1-based
    int column = 0;  // 1-based, in bytes
};

// Splits CSV text into rows of fields, keeping the position of every field
// for error messages.
class CsvReader {
public:
    explicit CsvReader(std::string data) : data_(std::move(data)) {
        if (data_.starts_with("\xEF\xBB\xBF")) {  // UTF-8 byte order mark
            pos_ = 3;
        }
    }

    // Reads the next non-blank row into `row`. Returns false at the end of
    // the text, or on malformed quoting with `problem` set.
    bool nextRow(std::vector<CsvField>& row, std::string* problem, int* line, int* column) {
        row.clear();
        while (pos_ < data_.size() && (data_[pos_] == '\n' || data_[pos_] == '\r')) {
            advance();
        }
        if (pos_ >= data_.size()) {
            return false;
        }
        row_line_ = line_;
        for (;;) {
            CsvField field{.text = {}, .line = line_, .column = column_};
            if (pos_ < data_.size() && data_[pos_] == '"') {
                advance();
                for (;;) {
                    if (pos_ >= data_.size()) {
                        *problem = "a quoted field is not closed; add the closing '\"'.";
                        *line = field.line;
                        *column = field.column;
                        return false;
                    }
                    if (data_[pos_] == '"') {
                        if (pos_ + 1 < data_.size() && data_[pos_ + 1] == '"') {
                            field.text.push_back('"');
                            advance();
                            advance();
                            continue;
                        }
                        advance();
                        break;
                    }
                    field.text.push_back(data_[pos_]);
                    advance();
                }
                if (pos_ < data_.size() && data_[pos_] != ',' && data_[pos_] != '\n' &&
                    data_[pos_] != '\r') {
                    *problem =
                        "unexpected text after a closing quote; a quoted field must be "
                        "followed by ',' or the end of the row.";
                    *line = line_;
                    *column = column_;
                    return false;
                }
            } else {
                while (pos_ < data_.size() && data_[pos_] != ',' && data_[pos_] != '\n' &&
                       data_[pos_] != '\r') {
                    field.text.push_back(data_[pos_]);
                    advance();
                }
            }
            row.push_back(std::move(field));
            if (pos_ < data_.size() && data_[pos_] == ',') {
                advance();
                continue;
            }
            if (pos_ < data_.size() && data_[pos_] == '\r') {
                advance();
            }
            if (pos_ < data_.size() && data_[pos_] == '\n') {
                advance();
            }
            return true;
        }
    }

    int rowLine() const { return row_line_; }

private:
    void advance() {
        if (data_[pos_] == '\n') {
            ++line_;
            column_ = 1;
        } else if (data_[pos_] == '\r' && (pos_ + 1 >= data_.size() || data_[pos_ + 1] != '\n')) {
            ++line_;  // a lone CR ends a row too
            column_ = 1;
        } else {
            ++column_;
        }
        ++pos_;
    }

    std::string data_;
    size_t pos_ = 0;
    int line_ = 1;
    int column_ = 1;
    int row_line_ = 1;
};

std::string_view trim(std::string_view s) {
    const char* space = " \t";
    size_t begin = s.find_first_not_of(space);
    if (begin == std::string_view::npos) {
        return {};
    }
    size_t end = s.find_last_not_of(space);
    return s.substr(begin, end - begin + 1);
}

std::optional<int64_t> parseInt64(std::string_view text) {
    text = trim(text);
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t daysFromCivil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int daysInMonth(int64_t year, int64_t month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
}

std::string joinNames(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        out += out.empty() ? "" : ", ";
        out += name;
    }
    return out;
}

ScenarioError csvError(const std::filesystem::path& file, int line, int column, std::string field,
                       std::string message) {
    return ScenarioError{.file = file.string(),
                         .line = line,
                         .column = column,
                         .field = std::move(field),
                         .message = std::move(message)};
}

}  // namespace

std::optional<std::string> readTextFile(const std::filesystem::path& file, std::string* out) {
    out->clear();
    // stdio reports a folder as a read error (EISDIR) where an ifstream
    // iterator would throw.
    std::FILE* stream = std::fopen(file.c_str(), "rb");
    if (stream == nullptr) {
        return std::string(std::strerror(errno));
    }
    char buffer[1 << 16];
    size_t count = 0;
    while ((count = std::fread(buffer, 1, sizeof buffer, stream)) > 0) {
        out->append(buffer, count);
    }
    std::optional<std::string> problem;
    if (std::ferror(stream)) {
        problem = std::strerror(errno);
    }
    std::fclose(stream);
    return problem;
}

std::optional<TimeFormat> TimeFormat::parse(const std::string& format, std::string* problem) {
    TimeFormat result;
    if (format == "epoch_ms") {
        result.kind_ = Kind::EpochMs;
        return result;
    }
    if (format == "epoch_s") {
        result.kind_ = Kind::EpochS;
        return result;
    }
    if (format.empty()) {
        *problem =
            "time_format is empty; set it to a strftime-style format such as \"%Y/%m/%d %H:%M\", "
            "or to \"epoch_ms\" or \"epoch_s\".";
        return std::nullopt;
    }
    std::string expanded;
    std::string seen;
    for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%') {
            expanded.push_back(format[i]);
            continue;
        }
        if (i + 1 >= format.size()) {
            *problem =
                "time_format \"" + format + "\" ends with a lone '%'; write %% for a literal '%'.";
            return std::nullopt;
        }
        const char c = format[++i];
        std::string parts;
        switch (c) {
            case 'F':
                parts = "%Y-%m-%d";
                break;
            case 'T':
                parts = "%H:%M:%S";
                break;
            case 'Y':
            case 'm':
            case 'd':
            case 'H':
            case 'M':
            case 'S':
            case 'z':
                parts = std::string("%") + c;
                break;
            case '%':
                expanded += "%%";
                continue;
            default:
                *problem = "time_format \"" + format + "\" uses %" + std::string(1, c) +
                           ", which is not supported; use %Y, %m, %d, %H, %M, %S, %F, %T, %z "
                           "and %%, or \"epoch_ms\" or \"epoch_s\".";
                return std::nullopt;
        }
        for (size_t p = 1; p < parts.size(); p += 3) {
            if (seen.find(parts[p]) != std::string::npos) {
                *problem = "time_format \"" + format + "\" sets %" + std::string(1, parts[p]) +
                           " twice; use each conversion once.";
                return std::nullopt;
            }
            seen.push_back(parts[p]);
        }
        expanded += parts;
    }
    if (seen.empty()) {
        *problem = "time_format \"" + format +
                   "\" has no conversion such as %Y or %H; use a strftime-style format such as "
                   "\"%Y/%m/%d %H:%M\", or \"epoch_ms\" or \"epoch_s\".";
        return std::nullopt;
    }
    result.pattern_ = std::move(expanded);
    return result;
}

std::optional<int64_t> TimeFormat::toEpochMs(std::string_view text) const {
    text = trim(text);
    if (kind_ == Kind::EpochMs) {
        return parseInt64(text);
    }
    if (kind_ == Kind::EpochS) {
        std::optional<int64_t> seconds = parseInt64(text);
        constexpr int64_t kLimit = std::numeric_limits<int64_t>::max() / 1000;
        if (!seconds || *seconds > kLimit || *seconds < -kLimit) {
            return std::nullopt;
        }
        return *seconds * 1000;
    }

    int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
    int64_t offset_minutes = 0;
    size_t t = 0;
    auto readNumber = [&](int max_digits, int64_t* out) {
        size_t start = t;
        int64_t value = 0;
        while (t < text.size() && t - start < static_cast<size_t>(max_digits) && text[t] >= '0' &&
               text[t] <= '9') {
            value = value * 10 + (text[t] - '0');
            ++t;
        }
        *out = value;
        return t > start;
    };

    for (size_t p = 0; p < pattern_.size(); ++p) {
        const char c = pattern_[p];
        if (c == ' ') {
            // Like strptime, a space matches any run of blanks.
            if (t >= text.size() || (text[t] != ' ' && text[t] != '\t')) {
                return std::nullopt;
            }
            while (t < text.size() && (text[t] == ' ' || text[t] == '\t')) {
                ++t;
            }
            continue;
        }
        if (c != '%') {
            if (t >= text.size() || text[t] != c) {
                return std::nullopt;
            }
            ++t;
            continue;
        }
        const char conversion = pattern_[++p];
        bool ok = true;
        switch (conversion) {
            case '%':
                ok = t < text.size() && text[t++] == '%';
                break;
            case 'Y':
                ok = readNumber(4, &year);
                break;
            case 'm':
                ok = readNumber(2, &month);
                break;
            case 'd':
                ok = readNumber(2, &day);
                break;
            case 'H':
                ok = readNumber(2, &hour);
                break;
            case 'M':
                ok = readNumber(2, &minute);
                break;
            case 'S':
                ok = readNumber(2, &second);
                break;
            case 'z': {
                if (t < text.size() && text[t] == 'Z') {
                    ++t;
                    break;
                }
                if (t >= text.size() || (text[t] != '+' && text[t] != '-')) {
                    return std::nullopt;
                }
                const int sign = text[t++] == '-' ? -1 : 1;
                int64_t hours = 0, minutes = 0;
                size_t start = t;
                ok = readNumber(2, &hours) && t - start == 2;
                if (ok && t < text.size() && text[t] == ':') {
                    ++t;
                }
                start = t;
                ok =
                    ok && readNumber(2, &minutes) && t - start == 2 && hours <= 23 && minutes <= 59;
                offset_minutes = sign * (hours * 60 + minutes);
                break;
            }
            default:
                return std::nullopt;
        }
        if (!ok) {
            return std::nullopt;
        }
    }
    if (t != text.size()) {
        return std::nullopt;
    }

    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 ||
        minute > 59 || second > 59) {
        return std::nullopt;
    }
    const int64_t days = daysFromCivil(year, month, day);
    const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    return seconds * 1000;
}

std::filesystem::path resolveCsvPath(const std::string& source_path,
                                     const std::filesystem::path& base_dir) {
    std::filesystem::path path(source_path);
    if (path.is_absolute() || base_dir.empty()) {
        return path.lexically_normal();
    }
    return (base_dir / path).lexically_normal();
}

std::variant<std::vector<std::string>, ScenarioError> readCsvHeader(
    const std::filesystem::path& file) {
    std::string problem;
    std::string data;
    if (std::optional<std::string> failure = readTextFile(file, &data)) {
        return csvError(file, 0, 0, "", "cannot read the CSV file: " + *failure + ".");
    }
    CsvReader reader(std::move(data));
    std::vector<CsvField> row;
    int line = 0, column = 0;
    if (!reader.nextRow(row, &problem, &line, &column)) {
        if (!problem.empty()) {
            return csvError(file, line, column, "", problem);
        }
        return csvError(file, 1, 1, "",
                        "the file is empty; it needs a header row naming the columns.");
    }
    std::vector<std::string> names;
    for (const CsvField& field : row) {
        names.emplace_back(trim(field.text));
    }
    return names;
}

std::variant<std::vector<CsvRow>, ScenarioError> loadCsvRows(
    const scenario::CsvSource& source, const std::filesystem::path& base_dir) {
    const std::filesystem::path file = resolveCsvPath(source.path(), base_dir);
    std::string problem;
    std::optional<TimeFormat> time_format = TimeFormat::parse(source.time_format(), &problem);
    if (!time_format) {
        return csvError(file, 0, 0, "time_format", problem);
    }
    std::string data;
    if (std::optional<std::string> failure = readTextFile(file, &data)) {
        return csvError(file, 0, 0, "",
                        "cannot read the CSV file: " + *failure +
                            ". Paths are relative to the scenario file's folder.");
    }
    CsvReader reader(std::move(data));
    std::vector<CsvField> row;
    int line = 0, column = 0;
    if (!reader.nextRow(row, &problem, &line, &column)) {
        if (!problem.empty()) {
            return csvError(file, line, column, "", problem);
        }
        return csvError(file, 1, 1, "",
                        "the file is empty; it needs a header row naming the columns.");
    }
    std::vector<std::string> header;
    for (const CsvField& field : row) {
        header.emplace_back(trim(field.text));
    }
    auto columnIndex = [&](const std::string& name) -> int {
        for (size_t i = 0; i < header.size(); ++i) {
            if (header[i] == name) {
                return static_cast<int>(i);
            }
        }
        return -1;
    };
    struct NamedColumn {
        const char* field;
        const std::string& name;
        bool optional;
        int index = -1;
    };
    NamedColumn columns[] = {{"key_column", source.key_column(), false},
                             {"event_time_column", source.event_time_column(), false},
                             {"value_column", source.value_column(), true}};
    for (NamedColumn& w : columns) {
        if (w.name.empty()) {
            if (w.optional) {
                continue;
            }
            return csvError(file, 1, 1, w.field,
                            std::string(w.field) + " is empty; set it to one of the columns " +
                                joinNames(header) + ".");
        }
        w.index = columnIndex(w.name);
        if (w.index < 0) {
            return csvError(file, 1, 1, w.field,
                            "column \"" + w.name + "\" is not in the header; the columns are " +
                                joinNames(header) + ".");
        }
    }
    const int key_index = columns[0].index;
    const int time_index = columns[1].index;
    const int value_index = columns[2].index;

    std::vector<CsvRow> rows;
    while (reader.nextRow(row, &problem, &line, &column)) {
        if (row.size() != header.size()) {
            return csvError(file, reader.rowLine(), 1, "",
                            "the row has " + std::to_string(row.size()) +
                                " fields but the header has " + std::to_string(header.size()) +
                                " columns; every row needs one field per column.");
        }
        const CsvField& time_field = row[static_cast<size_t>(time_index)];
        std::optional<int64_t> timestamp = time_format->toEpochMs(time_field.text);
        if (!timestamp) {
            return csvError(file, time_field.line, time_field.column, source.event_time_column(),
                            "\"" + time_field.text + "\" does not match time_format \"" +
                                source.time_format() +
                                "\" or is not a valid date and time; fix the row or the "
                                "scenario's time_format.");
        }
        int64_t value = 1;
        if (value_index >= 0) {
            const CsvField& value_field = row[static_cast<size_t>(value_index)];
            std::optional<int64_t> parsed = parseInt64(value_field.text);
            if (!parsed) {
                return csvError(
                    file, value_field.line, value_field.column, source.value_column(),
                    "\"" + value_field.text +
                        "\" is not a 64-bit integer; value_column must name a column of whole "
                        "numbers, or be left empty to give every record the value 1.");
            }
            value = *parsed;
        }
        rows.push_back(CsvRow{.key = std::move(row[static_cast<size_t>(key_index)].text),
                              .timestamp_ms = *timestamp,
                              .value = value});
    }
    if (!problem.empty()) {
        return csvError(file, line, column, "", problem);
    }
    return rows;
}

}  // namespace sluice::sim
