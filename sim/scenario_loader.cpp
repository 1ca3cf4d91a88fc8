#include "sim/scenario_loader.h"

#include "sim/fault_validation.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "sim/csv_table.h"

namespace sluice::sim {
namespace {

namespace pb = google::protobuf;
using scenario::Edge;
using scenario::Operator;
using scenario::Scenario;

constexpr uint32_t kDefaultMaxParallelism = 128;
// Flink's inclusive upper bound for max parallelism, the number of key groups
// (Transformation.UPPER_BOUND_MAX_PARALLELISM = 1 << 15).
constexpr uint32_t kMaxMaxParallelism = 32768;
constexpr const char* kSchemaFile = "sim/proto/scenario.proto";

struct Location {
    int line = 0;  // 1-based; 0 when unknown
    int column = 0;
};

// Source positions of the fields of a parsed scenario, by path such as
// "job.operators[2].parallelism". Repeated fields also have one entry per
// element ("job.operators[2]").
using LocationMap = std::map<std::string, Location>;

// One problem found in a scenario. It becomes a ScenarioError once the file
// name is known.
struct Problem {
    std::string field;
    Location location;
    std::string message;
};

std::string joinPath(const std::string& parent, const std::string& child) {
    return parent.empty() ? child : parent + "." + child;
}

std::string indexed(const std::string& name, int index) {
    return name + "[" + std::to_string(index) + "]";
}

std::string joinList(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) {
        out += out.empty() ? "" : ", ";
        out += item;
    }
    return out;
}

std::string inQuotes(const std::string& s) {
    return "\"" + s + "\"";
}

// Shortest text that reads back as `value`.
std::string formatDouble(double value) {
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return ec == std::errc() ? std::string(buffer, end) : std::string("?");
}

size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string unknownFieldMessage(const pb::Descriptor* type, const std::string& name) {
    // The suggestion is a field within a third of the name's length in edits,
    // or a field whose name starts with the unknown name.
    std::string best;
    size_t best_distance = std::max<size_t>(1, name.size() / 3) + 1;
    std::vector<std::string> names;
    for (int i = 0; i < type->field_count(); ++i) {
        const pb::FieldDescriptor* field = type->field(i);
        names.push_back(field->name());
        size_t distance =
            std::min(editDistance(name, field->name()), editDistance(name, field->json_name()));
        if (name.size() >= 3 && field->name().starts_with(name)) {
            distance = std::min<size_t>(distance, 1);
        }
        if (distance < best_distance) {
            best_distance = distance;
            best = field->name();
        }
    }
    std::string message = type->name() + " has no field " + inQuotes(name) + "; ";
    if (!best.empty()) {
        return message + "did you mean " + inQuotes(best) + "? See message " + type->name() +
               " in " + kSchemaFile + ".";
    }
    return message + "its fields are " + joinList(names) + ". Check the name against message " +
           type->name() + " in " + kSchemaFile + ".";
}

std::string negativeMessage(const pb::FieldDescriptor* field) {
    return field->name() +
           " cannot be negative; write a positive number, or remove the field to use its "
           "default.";
}

std::string oneofMessage(const pb::OneofDescriptor* oneof, const std::string& first,
                         const std::string& second) {
    if (oneof != nullptr && oneof->containing_type() == Operator::descriptor()) {
        return "an operator has exactly one kind, but this one sets both " + first + " and " +
               second + "; keep one of them.";
    }
    return first + " and " + second + " both set oneof " +
           inQuotes(oneof != nullptr ? oneof->name() : "") +
           ", which takes one field; keep one of them.";
}

std::string enumValueList(const pb::EnumDescriptor* type) {
    std::vector<std::string> names;
    for (int i = 0; i < type->value_count(); ++i) {
        names.push_back(type->value(i)->name());
    }
    return joinList(names);
}

// ---------------------------------------------------------------------------
// Text format

// Keeps the first error of the text format parser.
class FirstErrorCollector : public pb::io::ErrorCollector {
public:
    void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
        if (!has_error) {
            has_error = true;
            this->line = line;
            this->column = column;
            this->message = message;
        }
    }

    bool has_error = false;
    int line = 0;  // 0-based
    int column = 0;
    std::string message;
};

class SilentErrorCollector : public pb::io::ErrorCollector {
public:
    void AddError(int, pb::io::ColumnNumber, const std::string&) override {}
};

void collectTextLocations(const pb::Descriptor* type, const pb::TextFormat::ParseInfoTree& tree,
                          const std::string& path, LocationMap& locations) {
    for (int i = 0; i < type->field_count(); ++i) {
        const pb::FieldDescriptor* field = type->field(i);
        const bool message = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
        const int count = field->is_repeated() ? std::numeric_limits<int>::max() : 1;
        for (int n = 0; n < count; ++n) {
            const int index = field->is_repeated() ? n : -1;
            const pb::TextFormat::ParseLocation where = tree.GetLocation(field, index);
            if (where.line < 0) {
                break;
            }
            const std::string field_path =
                joinPath(path, field->is_repeated() ? indexed(field->name(), n) : field->name());
            locations[field_path] = Location{where.line + 1, where.column + 1};
            if (message) {
                if (const auto* nested = tree.GetTreeForNested(field, index)) {
                    collectTextLocations(field->message_type(), *nested, field_path, locations);
                }
            }
        }
    }
}

// Context of an error position in text format: the innermost open message and
// the field being parsed. textContextAt finds it by tokenizing the text again.
struct TextContext {
    std::string frame_path;  // innermost message open at the error, "" at top level
    std::string field_path;  // field being parsed there, or frame_path
    const pb::Descriptor* frame_type = nullptr;
    const pb::FieldDescriptor* field = nullptr;
    // Set when the token before the error is a field name followed by ':',
    // '{' or '<', because the parser reports field name problems at that token.
    bool at_name = false;
    std::string name;
    Location name_location;
    bool at_end = false;  // the error is at the end of the text
    size_t depth = 0;     // open messages at the error
};

TextContext textContextAt(const std::string& text, int line, int column) {
    using Token = pb::io::Tokenizer::Token;
    struct Frame {
        const pb::Descriptor* type = nullptr;
        std::string path;
        std::map<std::string, int> counts;  // values seen per field name
        std::string last_name;
        std::string last_path;
        const pb::FieldDescriptor* last_field = nullptr;
        bool in_list = false;  // inside "name: [ ... ]"
        std::string list_name;
        const pb::FieldDescriptor* list_field = nullptr;
    };
    std::vector<Frame> frames(1);
    frames[0].type = Scenario::descriptor();

    pb::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
    SilentErrorCollector silent;
    pb::io::Tokenizer tokenizer(&input, &silent);
    tokenizer.set_comment_style(pb::io::Tokenizer::SH_COMMENT_STYLE);

    auto isSymbol = [](const Token& t, const char* s) {
        return t.type == pb::io::Tokenizer::TYPE_SYMBOL && t.text == s;
    };
    auto opensMessage = [&](const Token& t) { return isSymbol(t, "{") || isSymbol(t, "<"); };
    auto namesField = [&](const Token& prev, const Token& t) {
        return prev.type == pb::io::Tokenizer::TYPE_IDENTIFIER &&
               (isSymbol(t, ":") || opensMessage(t));
    };
    auto fieldOf = [](const Frame& frame, const std::string& name) {
        return frame.type != nullptr ? frame.type->FindFieldByName(name) : nullptr;
    };
    auto elementPath = [](const Frame& frame, const pb::FieldDescriptor* field,
                          const std::string& name, int index) {
        return joinPath(frame.path,
                        field != nullptr && field->is_repeated() ? indexed(name, index) : name);
    };

    Token prev;
    prev.type = pb::io::Tokenizer::TYPE_START;
    TextContext context;
    bool reached = false;
    while (tokenizer.Next()) {
        const Token t = tokenizer.current();
        if (t.line > line || (t.line == line && t.column >= column)) {
            reached = true;
            if (namesField(prev, t)) {
                const Frame& frame = frames.back();
                context.at_name = true;
                context.name = prev.text;
                context.name_location = Location{prev.line + 1, prev.column + 1};
                context.field = fieldOf(frame, prev.text);
                auto count = frame.counts.find(prev.text);
                context.field_path = elementPath(frame, context.field, prev.text,
                                                 count == frame.counts.end() ? 0 : count->second);
            }
            break;
        }
        Frame& frame = frames.back();
        if (namesField(prev, t)) {
            frame.last_name = prev.text;
            frame.last_field = fieldOf(frame, prev.text);
            frame.last_path =
                elementPath(frame, frame.last_field, prev.text, frame.counts[prev.text]++);
        }
        if (opensMessage(t)) {
            Frame nested;
            if (frame.in_list) {
                nested.type =
                    frame.list_field != nullptr ? frame.list_field->message_type() : nullptr;
                nested.path =
                    joinPath(frame.path, indexed(frame.list_name, frame.counts[frame.list_name]++));
            } else {
                nested.type =
                    frame.last_field != nullptr ? frame.last_field->message_type() : nullptr;
                nested.path = frame.last_path;
            }
            frames.push_back(std::move(nested));
        } else if (isSymbol(t, "}") || isSymbol(t, ">")) {
            if (frames.size() > 1) {
                frames.pop_back();
            }
        } else if (isSymbol(t, "[") && isSymbol(prev, ":")) {
            // List syntax: the elements are counted one by one instead.
            frame.in_list = true;
            frame.list_name = frame.last_name;
            frame.list_field = frame.last_field;
            --frame.counts[frame.last_name];
        } else if (isSymbol(t, "]")) {
            frame.in_list = false;
        }
        prev = t;
    }
    const Frame& frame = frames.back();
    context.at_end = !reached;
    context.depth = frames.size();
    context.frame_path = frame.path;
    context.frame_type = frame.type;
    if (!context.at_name) {
        context.field_path = frame.last_path.empty() ? frame.path : frame.last_path;
        context.field = frame.last_path.empty() ? nullptr : frame.last_field;
    }
    return context;
}

// Text between the first and the second '"' after `after` in `message`.
std::string quotedAfter(const std::string& message, const std::string& after) {
    size_t start = message.find(after);
    if (start == std::string::npos) {
        return {};
    }
    start = message.find('"', start + after.size());
    if (start == std::string::npos) {
        return {};
    }
    const size_t end = message.find('"', start + 1);
    return end == std::string::npos ? std::string() : message.substr(start + 1, end - start - 1);
}

// Turns the parser's first error into a Problem that names the field.
Problem textSyntaxProblem(const std::string& text, const FirstErrorCollector& error) {
    const TextContext context = textContextAt(text, error.line, error.column);
    Problem problem{context.field_path, Location{error.line + 1, error.column + 1}, ""};
    const std::string& raw = error.message;
    if (raw.starts_with("Message type \"") && raw.find("has no field named") != std::string::npos) {
        const std::string name = quotedAfter(raw, "has no field named");
        const pb::Descriptor* type =
            pb::DescriptorPool::generated_pool()->FindMessageTypeByName(quotedAfter(raw, "type"));
        problem.field = joinPath(context.frame_path, name);
        if (context.at_name) {
            problem.location = context.name_location;
        }
        problem.message = type != nullptr ? unknownFieldMessage(type, name)
                                          : "unknown field " + inQuotes(name) +
                                                "; check the field names in " + kSchemaFile + ".";
        return problem;
    }
    if (raw.starts_with("Unknown enumeration value")) {
        const std::string value = quotedAfter(raw, "value of");
        problem.message = inQuotes(value) + " is not a value of this field";
        if (context.field != nullptr && context.field->enum_type() != nullptr) {
            problem.message = inQuotes(value) + " is not a value of " + context.field->name() +
                              "; use one of " + enumValueList(context.field->enum_type()) + ".";
        } else {
            problem.message += "; check the enum's values in " + std::string(kSchemaFile) + ".";
        }
        return problem;
    }
    if (raw.find("another member of oneof") != std::string::npos) {
        const std::string first = quotedAfter(raw, "along with field");
        if (context.at_name) {
            problem.location = context.name_location;
        }
        problem.message = oneofMessage(
            context.field != nullptr ? context.field->real_containing_oneof() : nullptr, first,
            context.name);
        return problem;
    }
    if (raw.find("is specified multiple times") != std::string::npos) {
        if (context.at_name) {
            problem.location = context.name_location;
        }
        problem.message = context.name + " is set more than once; keep one value.";
        return problem;
    }
    if (raw.starts_with("Expected integer, got: -") && context.field != nullptr &&
        (context.field->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT32 ||
         context.field->cpp_type() == pb::FieldDescriptor::CPPTYPE_UINT64)) {
        problem.message = negativeMessage(context.field);
        return problem;
    }
    if (context.at_end && context.depth > 1) {
        problem.field = context.frame_path;
        problem.message = "the file ends inside " + context.frame_path +
                          ", which is not closed; check that the file is complete and every '{' "
                          "has its '}'.";
        return problem;
    }
    problem.message = "syntax error: " + raw + (raw.ends_with(".") ? "" : ".") +
                      " Fix the text format here; see " + kSchemaFile +
                      " for the fields and their types.";
    return problem;
}

std::optional<Problem> parseText(const std::string& text, Scenario& out, LocationMap& locations) {
    pb::TextFormat::Parser parser;
    FirstErrorCollector errors;
    parser.RecordErrorsTo(&errors);
    pb::TextFormat::ParseInfoTree tree;
    parser.WriteLocationsTo(&tree);
    if (!parser.ParseFromString(text, &out)) {
        if (!errors.has_error) {
            return Problem{"", {}, "the text format parser rejected the file; check its syntax."};
        }
        return textSyntaxProblem(text, errors);
    }
    collectTextLocations(Scenario::descriptor(), tree, "", locations);
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// JSON
//
// JsonStringToMessage reports neither line nor column, so the text is first
// parsed here into a tree that keeps the position of every key and value, and
// checked against the schema. Columns count bytes, with tabs advancing to the
// next multiple of 8 like the text format tokenizer.

struct JsonNode {
    enum class Kind { Null, Bool, Number, String, Object, Array };
    struct Member;
    Kind kind = Kind::Null;
    Location location;
    std::string text;  // decoded string, number as written, or "true"/"false"
    std::vector<Member> members;
    std::vector<JsonNode> items;
};

struct JsonNode::Member {
    std::string key;
    Location location;
    JsonNode value;
};

struct JsonSyntaxError {
    Location location;
    std::string message;
};

class JsonParser {
public:
    explicit JsonParser(const std::string& text) : text_(text) {}

    // Throws JsonSyntaxError.
    JsonNode parseDocument() {
        skipSpace();
        JsonNode root = parseValue(0);
        skipSpace();
        if (pos_ < text_.size()) {
            fail("unexpected text after the end of the JSON document");
        }
        return root;
    }

private:
    static constexpr int kMaxDepth = 64;

    [[noreturn]] void fail(const std::string& what) const {
        throw JsonSyntaxError{here(), "JSON syntax error: " + what + ". Fix the JSON syntax here."};
    }

    [[noreturn]] void failAtEnd() const {
        throw JsonSyntaxError{here(),
                              "the file ends before the JSON document is complete; check that "
                              "the file is whole and every '{', '[' and '\"' is closed."};
    }

    Location here() const { return Location{line_, column_}; }

    std::string found() const {
        if (pos_ >= text_.size()) {
            return "the end of the file";
        }
        const unsigned char c = static_cast<unsigned char>(text_[pos_]);
        if (c < 0x20 || c >= 0x7f) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "0x%02X", c);
            return std::string("byte ") + buffer;
        }
        return "'" + std::string(1, static_cast<char>(c)) + "'";
    }

    void advance() {
        if (text_[pos_] == '\n') {
            ++line_;
            column_ = 1;
        } else if (text_[pos_] == '\t') {
            column_ = ((column_ - 1) / 8 + 1) * 8 + 1;
        } else {
            ++column_;
        }
        ++pos_;
    }

    void skipSpace() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\n' || text_[pos_] == '\r')) {
            advance();
        }
    }

    bool consume(char c) {
        if (pos_ < text_.size() && text_[pos_] == c) {
            advance();
            return true;
        }
        return false;
    }

    JsonNode parseValue(int depth) {
        if (depth > kMaxDepth) {
            fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
        }
        if (pos_ >= text_.size()) {
            failAtEnd();
        }
        JsonNode node;
        node.location = here();
        const char c = text_[pos_];
        if (c == '{') {
            node.kind = JsonNode::Kind::Object;
            advance();
            skipSpace();
            if (consume('}')) {
                return node;
            }
            for (;;) {
                skipSpace();
                if (pos_ >= text_.size()) {
                    failAtEnd();
                }
                if (text_[pos_] != '"') {
                    fail("expected a quoted key, found " + found());
                }
                JsonNode::Member member;
                member.location = here();
                member.key = parseString();
                skipSpace();
                if (pos_ >= text_.size()) {
                    failAtEnd();
                }
                if (!consume(':')) {
                    fail("expected ':' after key \"" + member.key + "\", found " + found());
                }
                skipSpace();
                member.value = parseValue(depth + 1);
                node.members.push_back(std::move(member));
                skipSpace();
                if (consume(',')) {
                    continue;
                }
                if (consume('}')) {
                    return node;
                }
                if (pos_ >= text_.size()) {
                    failAtEnd();
                }
                fail("expected ',' or '}' after a member of an object, found " + found());
            }
        }
        if (c == '[') {
            node.kind = JsonNode::Kind::Array;
            advance();
            skipSpace();
            if (consume(']')) {
                return node;
            }
            for (;;) {
                skipSpace();
                node.items.push_back(parseValue(depth + 1));
                skipSpace();
                if (consume(',')) {
                    continue;
                }
                if (consume(']')) {
                    return node;
                }
                if (pos_ >= text_.size()) {
                    failAtEnd();
                }
                fail("expected ',' or ']' after an element of an array, found " + found());
            }
        }
        if (c == '"') {
            node.kind = JsonNode::Kind::String;
            node.text = parseString();
            return node;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            node.kind = JsonNode::Kind::Number;
            node.text = parseNumber();
            return node;
        }
        for (const char* word : {"true", "false", "null"}) {
            const size_t length = std::strlen(word);
            if (text_.compare(pos_, length, word) == 0) {
                node.kind = word[0] == 'n' ? JsonNode::Kind::Null : JsonNode::Kind::Bool;
                node.text = word;
                for (size_t i = 0; i < length; ++i) {
                    advance();
                }
                return node;
            }
        }
        fail("expected a value, found " + found());
    }

    std::string parseNumber() {
        const size_t start = pos_;
        auto digits = [&] {
            size_t n = 0;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
                advance();
                ++n;
            }
            return n;
        };
        consume('-');
        if (pos_ < text_.size() && text_[pos_] == '0') {
            advance();
        } else if (digits() == 0) {
            fail("expected a digit, found " + found());
        }
        if (consume('.') && digits() == 0) {
            fail("expected a digit after '.', found " + found());
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            advance();
            if (!consume('+')) {
                consume('-');
            }
            if (digits() == 0) {
                fail("expected a digit in the exponent, found " + found());
            }
        }
        return text_.substr(start, pos_ - start);
    }

    unsigned readHex4() {
        unsigned value = 0;
        for (int i = 0; i < 4; ++i) {
            if (pos_ >= text_.size()) {
                failAtEnd();
            }
            const char c = text_[pos_];
            unsigned digit = 0;
            if (c >= '0' && c <= '9') {
                digit = static_cast<unsigned>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                digit = static_cast<unsigned>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                digit = static_cast<unsigned>(c - 'A' + 10);
            } else {
                fail("expected a hexadecimal digit in a \\u escape, found " + found());
            }
            value = value * 16 + digit;
            advance();
        }
        return value;
    }

    static void appendUtf8(std::string& out, unsigned code) {
        if (code < 0x80) {
            out.push_back(static_cast<char>(code));
        } else if (code < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (code >> 6)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        } else if (code < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (code >> 12)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (code >> 18)));
            out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        }
    }

    std::string parseString() {
        advance();  // the opening quote
        std::string out;
        for (;;) {
            if (pos_ >= text_.size()) {
                failAtEnd();
            }
            const char c = text_[pos_];
            if (c == '"') {
                advance();
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                fail(
                    "a string cannot contain a line break or control character; write it "
                    "as an escape such as \\n");
            }
            if (c != '\\') {
                out.push_back(c);
                advance();
                continue;
            }
            advance();
            if (pos_ >= text_.size()) {
                failAtEnd();
            }
            const char e = text_[pos_];
            advance();
            switch (e) {
                case '"':
                case '\\':
                case '/':
                    out.push_back(e);
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'u': {
                    unsigned code = readHex4();
                    if (code >= 0xD800 && code <= 0xDBFF && text_.compare(pos_, 2, "\\u") == 0) {
                        advance();
                        advance();
                        const unsigned low = readHex4();
                        if (low >= 0xDC00 && low <= 0xDFFF) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                        } else {
                            appendUtf8(out, 0xFFFD);
                            code = low;
                        }
                    }
                    appendUtf8(out, code >= 0xD800 && code <= 0xDFFF ? 0xFFFD : code);
                    break;
                }
                default:
                    fail("unknown escape \\" + std::string(1, e) + " in a string");
            }
        }
    }

    const std::string& text_;
    size_t pos_ = 0;
    int line_ = 1;
    int column_ = 1;
};

bool isPlainInteger(const std::string& s) {
    size_t i = s.starts_with('-') ? 1 : 0;
    return i < s.size() && std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(),
                                       [](char c) { return c >= '0' && c <= '9'; });
}

// Checks a JSON number or numeric string against a numeric field.
std::optional<std::string> checkJsonNumber(const pb::FieldDescriptor* field,
                                           const std::string& text) {
    using Cpp = pb::FieldDescriptor::CppType;
    const Cpp type = field->cpp_type();
    if (type == Cpp::CPPTYPE_DOUBLE || type == Cpp::CPPTYPE_FLOAT) {
        if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
            return std::nullopt;
        }
    }
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || end != text.data() + text.size() ||
        (ec != std::errc() && ec != std::errc::result_out_of_range)) {
        return inQuotes(text) + " is not a number; " + field->name() + " needs a number.";
    }
    if (ec == std::errc::result_out_of_range) {
        return text + " is out of range for " + field->name() + ".";
    }
    if (type == Cpp::CPPTYPE_DOUBLE || type == Cpp::CPPTYPE_FLOAT) {
        return std::nullopt;
    }
    const bool is_unsigned = type == Cpp::CPPTYPE_UINT32 || type == Cpp::CPPTYPE_UINT64;
    if (is_unsigned && text.starts_with('-') && value != 0) {
        return negativeMessage(field);
    }
    if (std::floor(value) != value) {
        return text + " is not a whole number; " + field->name() + " needs an integer.";
    }
    bool in_range = true;
    if (isPlainInteger(text)) {
        if (is_unsigned) {
            uint64_t v = 0;
            auto r = std::from_chars(text.data(), text.data() + text.size(), v);
            in_range = r.ec == std::errc() &&
                       (type == Cpp::CPPTYPE_UINT64 || v <= std::numeric_limits<uint32_t>::max());
        } else {
            int64_t v = 0;
            auto r = std::from_chars(text.data(), text.data() + text.size(), v);
            in_range = r.ec == std::errc() &&
                       (type == Cpp::CPPTYPE_INT64 || (v >= std::numeric_limits<int32_t>::min() &&
                                                       v <= std::numeric_limits<int32_t>::max()));
        }
    } else {
        const double limit = type == Cpp::CPPTYPE_UINT64   ? 18446744073709551615.0
                             : type == Cpp::CPPTYPE_INT64  ? 9223372036854775807.0
                             : type == Cpp::CPPTYPE_UINT32 ? 4294967295.0
                                                           : 2147483647.0;
        in_range = std::fabs(value) <= limit;
    }
    if (!in_range) {
        return text + " is out of range for " + field->name() + ".";
    }
    return std::nullopt;
}

const pb::FieldDescriptor* findByJsonName(const pb::Descriptor* type, const std::string& name) {
    for (int i = 0; i < type->field_count(); ++i) {
        if (type->field(i)->json_name() == name) {
            return type->field(i);
        }
    }
    return nullptr;
}

class JsonChecker {
public:
    explicit JsonChecker(LocationMap& locations) : locations_(locations) {}

    std::optional<Problem> checkMessage(const JsonNode& node, const pb::Descriptor* type,
                                        const std::string& path) {
        std::set<const pb::FieldDescriptor*> seen;
        std::map<const pb::OneofDescriptor*, const pb::FieldDescriptor*> oneofs;
        for (const JsonNode::Member& member : node.members) {
            const pb::FieldDescriptor* field = type->FindFieldByName(member.key);
            if (field == nullptr) {
                field = findByJsonName(type, member.key);
            }
            if (field == nullptr) {
                return Problem{joinPath(path, member.key), member.location,
                               unknownFieldMessage(type, member.key)};
            }
            const std::string field_path = joinPath(path, field->name());
            if (!seen.insert(field).second) {
                return Problem{field_path, member.location,
                               field->name() + " is set more than once (\"" + field->name() +
                                   "\" and \"" + field->json_name() +
                                   "\" name the same field); keep one value."};
            }
            if (member.value.kind == JsonNode::Kind::Null) {
                continue;  // null leaves the field unset, as if it were not written
            }
            locations_[field_path] = member.location;
            if (const pb::OneofDescriptor* oneof = field->real_containing_oneof()) {
                auto [it, inserted] = oneofs.emplace(oneof, field);
                if (!inserted) {
                    return Problem{field_path, member.location,
                                   oneofMessage(oneof, it->second->name(), field->name())};
                }
            }
            if (field->is_repeated()) {
                if (member.value.kind != JsonNode::Kind::Array) {
                    return Problem{field_path, member.value.location,
                                   field->name() + " is a list; write it as a JSON array [...]."};
                }
                for (size_t i = 0; i < member.value.items.size(); ++i) {
                    const JsonNode& item = member.value.items[i];
                    const std::string item_path =
                        joinPath(path, indexed(field->name(), static_cast<int>(i)));
                    locations_[item_path] = item.location;
                    if (auto problem = checkValue(item, field, item_path)) {
                        return problem;
                    }
                }
            } else if (auto problem = checkValue(member.value, field, field_path)) {
                return problem;
            }
        }
        return std::nullopt;
    }

private:
    std::optional<Problem> checkValue(const JsonNode& node, const pb::FieldDescriptor* field,
                                      const std::string& path) {
        using Cpp = pb::FieldDescriptor::CppType;
        using Kind = JsonNode::Kind;
        auto problem = [&](std::string message) {
            return Problem{path, node.location, std::move(message)};
        };
        switch (field->cpp_type()) {
            case Cpp::CPPTYPE_MESSAGE:
                if (node.kind != Kind::Object) {
                    return problem(field->name() + " is a message (" +
                                   field->message_type()->name() +
                                   "); write it as a JSON object {...}.");
                }
                return checkMessage(node, field->message_type(), path);
            case Cpp::CPPTYPE_STRING:
                if (node.kind != Kind::String) {
                    return problem(field->name() + " is a string; write it in double quotes.");
                }
                return std::nullopt;
            case Cpp::CPPTYPE_BOOL:
                if (node.kind != Kind::Bool) {
                    return problem(field->name() + " is a boolean; write true or false.");
                }
                return std::nullopt;
            case Cpp::CPPTYPE_ENUM:
                if (node.kind == Kind::String) {
                    if (field->enum_type()->FindValueByName(node.text) == nullptr) {
                        return problem(inQuotes(node.text) + " is not a value of " + field->name() +
                                       "; use one of " + enumValueList(field->enum_type()) + ".");
                    }
                    return std::nullopt;
                }
                if (node.kind == Kind::Number && isPlainInteger(node.text)) {
                    return std::nullopt;
                }
                return problem(field->name() + " takes one of " +
                               enumValueList(field->enum_type()) + ", as a quoted name.");
            default:
                if (node.kind != Kind::Number && node.kind != Kind::String) {
                    return problem(field->name() + " is a number; write it without quotes.");
                }
                if (auto message = checkJsonNumber(field, node.text)) {
                    return problem(*message);
                }
                return std::nullopt;
        }
    }

    LocationMap& locations_;
};

Location locate(const LocationMap& locations, std::string path);

std::optional<Problem> parseJson(const std::string& text, Scenario& out, LocationMap& locations) {
    JsonNode root;
    try {
        root = JsonParser(text).parseDocument();
    } catch (const JsonSyntaxError& error) {
        return Problem{"", error.location, error.message};
    }
    if (root.kind != JsonNode::Kind::Object) {
        return Problem{"", root.location,
                       "a JSON scenario must be one object, such as {\"job\": {...}}; see "
                       "message Scenario in " +
                           std::string(kSchemaFile) + "."};
    }
    JsonChecker checker(locations);
    if (auto problem = checker.checkMessage(root, Scenario::descriptor(), "")) {
        return problem;
    }
    pb::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    const auto status = pb::util::JsonStringToMessage(text, &out, options);
    if (!status.ok()) {
        // The checks above should leave nothing for the converter to reject.
        // Its messages start with "(path)" when the error has a field path.
        std::string message(status.message());
        message.resize(std::min(message.size(), message.find('\n')));  // drop the text excerpt
        std::string path;
        if (message.starts_with("(")) {
            const size_t close = message.find(')');
            if (close != std::string::npos) {
                path = message.substr(1, close - 1);
                message = message.substr(close + 1);
            }
        }
        while (!message.empty() && (message.front() == ':' || message.front() == ' ')) {
            message.erase(0, 1);
        }
        return Problem{path, locate(locations, path),
                       "the value does not fit the schema: " + message + ". See " +
                           std::string(kSchemaFile) + "."};
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Defaults and validation

// Returns where `path` was written, or else where its closest written
// ancestor was.
Location locate(const LocationMap& locations, std::string path) {
    while (!path.empty()) {
        if (auto it = locations.find(path); it != locations.end()) {
            return it->second;
        }
        const size_t cut = path.back() == ']' ? path.rfind('[') : path.rfind('.');
        path.resize(cut == std::string::npos ? 0 : cut);
    }
    return {};
}

bool isSource(const Operator& op) {
    return op.kind_case() == Operator::kGenerator || op.kind_case() == Operator::kCsv;
}

bool isSink(const Operator& op) {
    return op.kind_case() == Operator::kSink;
}

bool isKeyed(const Operator& op) {
    return op.kind_case() == Operator::kAggregate || op.kind_case() == Operator::kProcess ||
           op.kind_case() == Operator::kWindow;
}

std::string kindName(const Operator& op) {
    const pb::FieldDescriptor* field = Operator::descriptor()->FindFieldByNumber(op.kind_case());
    return field != nullptr ? field->name() : "none";
}

class Validator {
public:
    Validator(const Scenario& raw, const Scenario& scenario, const LocationMap& locations,
              const std::string& display_name, const std::filesystem::path& base_dir)
        : raw_(raw),
          s_(scenario),
          locations_(locations),
          display_name_(display_name),
          base_dir_(base_dir) {}

    std::optional<Problem> run() {
        for (auto step :
             {&Validator::checkJobSettings, &Validator::checkOperators, &Validator::checkEdges,
              &Validator::checkTopology, &Validator::checkCluster, &Validator::checkCsvFiles,
              &Validator::checkFaults, &Validator::checkFailover}) {
            if (auto problem = (this->*step)()) {
                return problem;
            }
        }
        return std::nullopt;
    }

private:
    Problem fail(const std::string& path, std::string message) const {
        return Problem{path, locate(locations_, path), std::move(message)};
    }

    bool written(const std::string& path) const { return locations_.contains(path); }

    static std::string opPath(int i) { return "job.operators[" + std::to_string(i) + "]"; }
    static std::string edgePath(int i) { return "job.edges[" + std::to_string(i) + "]"; }

    int indexOf(const std::string& id) const {
        auto it = index_.find(id);
        return it == index_.end() ? -1 : it->second;
    }

    std::optional<Problem> checkJobSettings() {
        const auto& job = s_.job();
        if (written("job.max_parallelism") && raw_.job().max_parallelism() == 0) {
            return fail("job.max_parallelism",
                        "max_parallelism 0 is not allowed; set it between 1 and " +
                            std::to_string(kMaxMaxParallelism) + ", or remove it to use " +
                            std::to_string(kDefaultMaxParallelism) + ".");
        }
        if (job.max_parallelism() > kMaxMaxParallelism) {
            return fail("job.max_parallelism",
                        "max_parallelism " + std::to_string(job.max_parallelism()) +
                            " is above the limit of " + std::to_string(kMaxMaxParallelism) +
                            " key groups; lower it.");
        }
        if (job.default_parallelism() > job.max_parallelism()) {
            return fail("job.default_parallelism",
                        "default_parallelism " + std::to_string(job.default_parallelism()) +
                            " is above max_parallelism " + std::to_string(job.max_parallelism()) +
                            "; lower it or raise job.max_parallelism.");
        }
        if (job.operators_size() == 0) {
            return fail("job.operators",
                        "the job has no operators; add a source (generator or csv), the "
                        "operators that process its records and a sink, and connect them in "
                        "job.edges.");
        }
        return std::nullopt;
    }

    std::optional<Problem> checkOperators() {
        const auto& job = s_.job();
        bool has_source = false;
        for (int i = 0; i < job.operators_size(); ++i) {
            const Operator& op = job.operators(i);
            const std::string path = opPath(i);
            if (op.id().empty()) {
                return fail(path,
                            "the operator has no id; set id to a unique name, which edges use "
                            "to connect operators.");
            }
            if (auto [it, inserted] = index_.emplace(op.id(), i); !inserted) {
                return fail(path + ".id", "id " + inQuotes(op.id()) + " is already used by " +
                                              opPath(it->second) +
                                              "; give every operator a unique id.");
            }
            if (op.kind_case() == Operator::KIND_NOT_SET) {
                return fail(path, "operator " + inQuotes(op.id()) +
                                      " has no kind; set exactly one of generator, csv, map, "
                                      "filter, flat_map, aggregate, process, window or sink.");
            }
            has_source = has_source || isSource(op);
            if (written(path + ".parallelism") && raw_.job().operators(i).parallelism() == 0) {
                return fail(path + ".parallelism",
                            "parallelism 0 is not allowed; set it to 1 or more, or remove it to "
                            "use job.default_parallelism (" +
                                std::to_string(job.default_parallelism()) + ").");
            }
            if (op.parallelism() > job.max_parallelism()) {
                return fail(path + ".parallelism", "parallelism " +
                                                       std::to_string(op.parallelism()) +
                                                       " is above max_parallelism " +
                                                       std::to_string(job.max_parallelism()) +
                                                       "; lower it or raise job.max_parallelism.");
            }
            if (auto problem = checkCost(op, path + ".cost")) {
                return problem;
            }
            if (auto problem = checkKind(op, path)) {
                return problem;
            }
        }
        if (!has_source) {
            return fail("job.operators",
                        "the job has no source; add an operator with a generator or csv kind.");
        }
        return std::nullopt;
    }

    std::optional<Problem> checkCost(const Operator& op, const std::string& path) {
        const double jitter = op.cost().jitter();
        if (!(jitter >= 0.0 && jitter <= 1.0)) {
            return fail(path + ".jitter", "jitter " + formatDouble(jitter) +
                                              " is outside [0, 1]; use a fraction such as 0.1 "
                                              "for costs within 10% of ns_per_record.");
        }
        for (int k = 0; k < op.cost().key_skew_size(); ++k) {
            const double factor = op.cost().key_skew(k).factor();
            if (!(factor >= 0.0) || std::isinf(factor)) {
                return fail(path + ".key_skew[" + std::to_string(k) + "].factor",
                            "factor " + formatDouble(factor) +
                                " is not a cost factor; use a finite factor of 0 or more, where "
                                "1 is the normal cost.");
            }
        }
        return std::nullopt;
    }

    std::optional<Problem> checkRate(double rate, const std::string& path) {
        if (!(rate >= 0.0) || std::isinf(rate)) {
            return fail(path, "rate_per_second " + formatDouble(rate) +
                                  " is not a rate; use a finite number of records per second, "
                                  "or 0 to emit as fast as possible.");
        }
        return std::nullopt;
    }

    std::optional<Problem> checkKind(const Operator& op, const std::string& path) {
        switch (op.kind_case()) {
            case Operator::kGenerator: {
                const auto& g = op.generator();
                const std::string p = path + ".generator";
                if (g.value_min() > g.value_max()) {
                    return fail(p + ".value_min", "value_min " + std::to_string(g.value_min()) +
                                                      " is above value_max " +
                                                      std::to_string(g.value_max()) +
                                                      "; swap them or widen the range.");
                }
                // The generator keeps every key string in memory (about 40
                // bytes each), so the key space is bounded.
                constexpr uint64_t kMaxKeyCount = 10'000'000;
                if (g.key_count() > kMaxKeyCount) {
                    return fail(p + ".key_count", "key_count " + std::to_string(g.key_count()) +
                                                      " is above the limit of " +
                                                      std::to_string(kMaxKeyCount) +
                                                      " keys; lower it.");
                }
                if (g.distribution() == scenario::ZIPF && !(g.zipf_exponent() > 0.0)) {
                    return fail(p + ".zipf_exponent",
                                "zipf_exponent " + formatDouble(g.zipf_exponent()) +
                                    " is not positive; a ZIPF distribution needs an exponent "
                                    "above 0, such as 1.0.");
                }
                if (auto problem = checkRate(g.rate_per_second(), p + ".rate_per_second")) {
                    return problem;
                }
                if (!(g.event_time_step_ms() >= 0.0) || std::isinf(g.event_time_step_ms())) {
                    return fail(p + ".event_time_step_ms",
                                "event_time_step_ms " + formatDouble(g.event_time_step_ms()) +
                                    " is negative; event time must advance, so use a positive "
                                    "step or remove it for the default.");
                }
                return std::nullopt;
            }
            case Operator::kCsv: {
                const auto& c = op.csv();
                const std::string p = path + ".csv";
                if (c.path().empty()) {
                    return fail(p + ".path",
                                "path is empty; set it to a CSV file, relative to the scenario "
                                "file's folder.");
                }
                if (c.key_column().empty()) {
                    return fail(p + ".key_column",
                                "key_column is empty; name the CSV column that holds the keys.");
                }
                if (c.event_time_column().empty()) {
                    return fail(p + ".event_time_column",
                                "event_time_column is empty; name the CSV column that holds the "
                                "event times.");
                }
                std::string problem;
                if (!TimeFormat::parse(c.time_format(), &problem)) {
                    return fail(p + ".time_format", problem);
                }
                return checkRate(c.rate_per_second(), p + ".rate_per_second");
            }
            case Operator::kFilter: {
                const auto& f = op.filter();
                if (f.has_min_value() && f.has_max_value() && f.min_value() > f.max_value()) {
                    return fail(path + ".filter.min_value",
                                "min_value " + std::to_string(f.min_value()) +
                                    " is above max_value " + std::to_string(f.max_value()) +
                                    ", so the filter would drop every record; swap them.");
                }
                return std::nullopt;
            }
            case Operator::kProcess:
                if (op.process().timeout_ms() == 0) {
                    return fail(path + ".process.timeout_ms",
                                "timeout_ms is 0; set how long a key must receive no record "
                                "before its count is emitted, in milliseconds.");
                }
                return std::nullopt;
            case Operator::kWindow: {
                const auto& w = op.window();
                const std::string p = path + ".window";
                if (w.size_ms() == 0) {
                    return fail(p + ".size_ms",
                                "size_ms is 0; set the window length in milliseconds.");
                }
                if (w.type() == scenario::SLIDING && w.slide_ms() == 0) {
                    return fail(p + ".slide_ms",
                                "a SLIDING window needs slide_ms; set how far each window "
                                "starts after the previous one, at most size_ms (" +
                                    std::to_string(w.size_ms()) + ").");
                }
                if (w.type() == scenario::SLIDING && w.slide_ms() > w.size_ms()) {
                    return fail(p + ".slide_ms",
                                "slide_ms " + std::to_string(w.slide_ms()) + " is above size_ms " +
                                    std::to_string(w.size_ms()) +
                                    ", which would skip records between windows; lower it to at "
                                    "most size_ms.");
                }
                if (w.type() == scenario::TUMBLING && w.slide_ms() != 0) {
                    return fail(p + ".slide_ms",
                                "slide_ms applies to SLIDING windows only; remove it or set "
                                "type: SLIDING.");
                }
                return std::nullopt;
            }
            default:
                return std::nullopt;
        }
    }

    std::string validIds() const {
        std::vector<std::string> ids;
        for (const Operator& op : s_.job().operators()) {
            ids.push_back(op.id());
        }
        return joinList(ids);
    }

    std::optional<Problem> checkEdges() {
        const auto& job = s_.job();
        for (int j = 0; j < job.edges_size(); ++j) {
            const Edge& edge = job.edges(j);
            for (const auto& [end, id] :
                 {std::pair<const char*, const std::string&>{"from", edge.from()},
                  std::pair<const char*, const std::string&>{"to", edge.to()}}) {
                const std::string path = edgePath(j) + "." + end;
                if (id.empty()) {
                    return fail(path, std::string(end) +
                                          " is empty; set it to one of the operator ids " +
                                          validIds() + ".");
                }
                if (indexOf(id) < 0) {
                    return fail(path, "operator " + inQuotes(id) +
                                          " not found; use one of the operator ids " + validIds() +
                                          ".");
                }
            }
        }
        return std::nullopt;
    }

    std::optional<Problem> checkTopology() {
        const auto& job = s_.job();
        const int n = job.operators_size();
        std::vector<int> inputs(static_cast<size_t>(n), 0);
        for (int j = 0; j < job.edges_size(); ++j) {
            const Edge& edge = job.edges(j);
            const Operator& from = job.operators(indexOf(edge.from()));
            const Operator& to = job.operators(indexOf(edge.to()));
            if (isSource(to)) {
                return fail(edgePath(j) + ".to",
                            "operator " + inQuotes(to.id()) + " is a source (" + kindName(to) +
                                ") and cannot have an input; remove this edge or point it at "
                                "another operator.");
            }
            if (isSink(from)) {
                return fail(edgePath(j) + ".from",
                            "operator " + inQuotes(from.id()) +
                                " is a sink and cannot have outputs; remove this edge or start "
                                "it at another operator.");
            }
            ++inputs[static_cast<size_t>(indexOf(edge.to()))];
        }
        for (int i = 0; i < n; ++i) {
            const Operator& op = job.operators(i);
            if (!isSource(op) && inputs[static_cast<size_t>(i)] == 0) {
                return fail(opPath(i), "operator " + inQuotes(op.id()) +
                                           " has no input; add an edge to it in job.edges, "
                                           "from a source or another operator.");
            }
        }
        if (auto problem = checkCycles()) {
            return problem;
        }
        for (int j = 0; j < job.edges_size(); ++j) {
            const Edge& raw_edge = raw_.job().edges(j);
            const Operator& from = job.operators(indexOf(raw_edge.from()));
            const Operator& to = job.operators(indexOf(raw_edge.to()));
            if (isKeyed(to) && raw_edge.partitioning() != scenario::HASH) {
                return fail(edgePath(j) + ".partitioning",
                            "the input of keyed operator " + inQuotes(to.id()) + " (" +
                                kindName(to) +
                                ") must be HASH partitioned, as keyBy does; set partitioning: "
                                "HASH.");
            }
            if (raw_edge.partitioning() == scenario::FORWARD &&
                from.parallelism() != to.parallelism()) {
                return fail(edgePath(j) + ".partitioning",
                            "FORWARD needs equal parallelism at both ends, but " +
                                inQuotes(from.id()) + " has " + std::to_string(from.parallelism()) +
                                " and " + inQuotes(to.id()) + " has " +
                                std::to_string(to.parallelism()) +
                                "; make them equal or use REBALANCE.");
            }
        }
        return std::nullopt;
    }

    // Finds a cycle with Kahn's algorithm. The operators left over lie on a
    // cycle or downstream of one.
    std::optional<Problem> checkCycles() {
        const auto& job = s_.job();
        const size_t n = static_cast<size_t>(job.operators_size());
        std::vector<int> indegree(n, 0);
        for (const Edge& edge : job.edges()) {
            ++indegree[static_cast<size_t>(indexOf(edge.to()))];
        }

        std::vector<size_t> ready;
        for (size_t i = 0; i < n; ++i) {
            if (indegree[i] == 0) {
                ready.push_back(i);
            }
        }
        std::vector<bool> done(n, false);
        while (!ready.empty()) {
            const size_t i = ready.back();
            ready.pop_back();
            done[i] = true;
            for (const Edge& edge : job.edges()) {
                if (static_cast<size_t>(indexOf(edge.from())) == i &&
                    --indegree[static_cast<size_t>(indexOf(edge.to()))] == 0) {
                    ready.push_back(static_cast<size_t>(indexOf(edge.to())));
                }
            }
        }

        size_t start = 0;
        while (start < n && done[start]) {
            ++start;
        }
        if (start == n) {
            return std::nullopt;
        }

        // Walk backwards along inputs that are not done until an operator
        // repeats. That operator lies on a cycle.
        std::vector<int> step_of(n, -1);
        std::vector<size_t> walk;
        std::vector<int> via;  // edge into walk[k] from walk[k + 1]
        size_t current = start;
        while (step_of[current] < 0) {
            step_of[current] = static_cast<int>(walk.size());
            walk.push_back(current);
            bool found = false;
            for (int j = 0; j < job.edges_size() && !found; ++j) {
                const size_t from = static_cast<size_t>(indexOf(job.edges(j).from()));
                if (static_cast<size_t>(indexOf(job.edges(j).to())) == current && !done[from]) {
                    via.push_back(j);
                    current = from;
                    found = true;
                }
            }
            if (!found) {
                // Unreachable: Kahn's algorithm leaves an operator over only
                // while one of its inputs is left over too.
                return std::nullopt;
            }
        }

        // The cycle is walk[step_of[current]] .. walk.back(), in reverse edge
        // order, closed by the edge via.back().
        std::vector<std::string> names;
        int first_edge = job.edges_size();
        for (size_t k = walk.size(); k-- > static_cast<size_t>(step_of[current]);) {
            names.push_back(job.operators(static_cast<int>(walk[k])).id());
            first_edge = std::min(first_edge, via[k]);
        }
        names.push_back(names.front());
        std::string cycle;
        for (const std::string& name : names) {
            cycle += (cycle.empty() ? "" : " -> ") + name;
        }
        return fail(edgePath(first_edge),
                    "the edges form the cycle " + cycle +
                        "; a job must be a directed acyclic graph, so remove one of these edges.");
    }

    std::optional<Problem> checkCluster() {
        // Every TaskManager is a node with a link to every other one.
        constexpr uint32_t kMaxTaskManagers = 1024;
        if (s_.cluster().task_managers() > kMaxTaskManagers) {
            return fail("cluster.task_managers",
                        "task_managers " + std::to_string(s_.cluster().task_managers()) +
                            " is above the limit of " + std::to_string(kMaxTaskManagers) +
                            "; lower it.");
        }
        uint32_t needed = 0;
        for (const Operator& op : s_.job().operators()) {
            needed = std::max(needed, op.parallelism());
        }
        const auto& cluster = s_.cluster();
        const uint64_t available =
            uint64_t{cluster.task_managers()} * uint64_t{cluster.slots_per_task_manager()};
        if (raw_.cluster().slots_per_task_manager() != 0 && available < needed) {
            const uint32_t per_tm =
                (needed + cluster.task_managers() - 1) / cluster.task_managers();
            const uint32_t tms =
                (needed + cluster.slots_per_task_manager() - 1) / cluster.slots_per_task_manager();
            return fail("cluster.slots_per_task_manager",
                        "the job needs " + std::to_string(needed) +
                            " slots (its widest operator has parallelism " +
                            std::to_string(needed) + "), but " +
                            std::to_string(cluster.task_managers()) + " task managers with " +
                            std::to_string(cluster.slots_per_task_manager()) + " slots each have " +
                            std::to_string(available) +
                            "; set slots_per_task_manager to at least " + std::to_string(per_tm) +
                            " or task_managers to at least " + std::to_string(tms) + ".");
        }
        return std::nullopt;
    }

    std::optional<Problem> checkCsvFiles() {
        const auto& job = s_.job();
        for (int i = 0; i < job.operators_size(); ++i) {
            if (job.operators(i).kind_case() != Operator::kCsv) {
                continue;
            }
            const auto& csv = job.operators(i).csv();
            const std::string p = opPath(i) + ".csv";
            const std::filesystem::path file = resolveCsvPath(csv.path(), base_dir_);
            std::error_code ec;
            if (!std::filesystem::is_regular_file(file, ec)) {
                return fail(p + ".path", "data file " + inQuotes(file.string()) +
                                             " does not exist; paths are relative to the "
                                             "scenario file's folder.");
            }
            auto header = readCsvHeader(file);
            if (auto* error = std::get_if<ScenarioError>(&header)) {
                return fail(p + ".path", "cannot use data file " + inQuotes(file.string()) + ": " +
                                             error->message);
            }
            const auto& columns = std::get<std::vector<std::string>>(header);
            for (const auto& [field, name] :
                 {std::pair<const char*, const std::string&>{"key_column", csv.key_column()},
                  std::pair<const char*, const std::string&>{"event_time_column",
                                                             csv.event_time_column()},
                  std::pair<const char*, const std::string&>{"value_column", csv.value_column()}}) {
                if (!name.empty() &&
                    std::find(columns.begin(), columns.end(), name) == columns.end()) {
                    return fail(p + "." + field,
                                "column " + inQuotes(name) + " is not in the header of " +
                                    inQuotes(file.string()) + ", which has the columns " +
                                    joinList(columns) + "; use one of them.");
                }
            }
            auto rows = loadCsvRows(csv, base_dir_);
            if (auto* error = std::get_if<ScenarioError>(&rows)) {
                csv_error_ = *error;
                csv_error_->message += " The file is the data of operator " +
                                       inQuotes(job.operators(i).id()) + " in " + display_name_ +
                                       ".";
                return Problem{};
            }
        }
        return std::nullopt;
    }

    std::optional<Problem> checkFaults() {
        const auto& faults = s_.faults();
        for (int i = 0; i < faults.fault_size(); ++i) {
            std::string path = "faults.fault[" + std::to_string(i) + "]";
            if (auto problem = checkFault(s_, faults.fault(i), true)) {
                return fail(problem->field.empty() ? path : path + "." + problem->field,
                            problem->message);
            }
        }
        const auto& swarm = faults.swarm();
        if (swarm.kinds_size() > 0 && swarm.end_ms() <= swarm.start_ms()) {
            return fail("faults.swarm.end_ms",
                        "end_ms " + std::to_string(swarm.end_ms()) + " is not after start_ms " +
                            std::to_string(swarm.start_ms()) + "; widen the window.");
        }
        for (int i = 0; i < swarm.kinds_size(); ++i) {
            if (swarm.kinds(i) == scenario::FAULT_KIND_UNSPECIFIED) {
                return fail("faults.swarm.kinds[" + std::to_string(i) + "]",
                            "the fault kind is missing; use one of " +
                                enumValueList(scenario::FaultKind_descriptor()) + ".");
            }
        }
        return std::nullopt;
    }

    std::optional<Problem> checkFailover() {
        const auto& failover = s_.failover();
        if (failover.heartbeat_timeout_ms() <= failover.heartbeat_interval_ms()) {
            return fail("failover.heartbeat_timeout_ms",
                        "heartbeat_timeout_ms " + std::to_string(failover.heartbeat_timeout_ms()) +
                            " must be above heartbeat_interval_ms " +
                            std::to_string(failover.heartbeat_interval_ms()) +
                            ", or every TaskManager is lost between two heartbeats.");
        }
        const auto& restart = failover.restart_strategy();
        if (restart.has_exponential_delay() &&
            raw_.failover().restart_strategy().exponential_delay().backoff_multiplier() != 0 &&
            restart.exponential_delay().backoff_multiplier() < 1.0) {
            return fail("failover.restart_strategy.exponential_delay.backoff_multiplier",
                        "backoff_multiplier " +
                            formatDouble(restart.exponential_delay().backoff_multiplier()) +
                            " is below 1; use 1 or more so the delay does not shrink.");
        }
        return std::nullopt;
    }

public:
    // Set when the problem lies in a CSV file rather than in the scenario.
    std::optional<ScenarioError> csv_error_;

private:
    const Scenario& raw_;
    const Scenario& s_;
    const LocationMap& locations_;
    std::string display_name_;
    std::filesystem::path base_dir_;
    std::map<std::string, int> index_;  // operator id -> index
};

ScenarioError toError(const std::string& file, Problem problem) {
    return ScenarioError{.file = file,
                         .line = problem.location.line,
                         .column = problem.location.column,
                         .field = std::move(problem.field),
                         .message = std::move(problem.message)};
}

// Offset of the first byte that is not part of well-formed UTF-8, if any.
std::optional<size_t> firstInvalidUtf8(const std::string& text) {
    size_t i = 0;
    while (i < text.size()) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        size_t length = 0;
        uint32_t code = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            length = 2;
            code = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            length = 3;
            code = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            length = 4;
            code = c & 0x07;
        } else {
            return i;
        }
        if (i + length > text.size()) {
            return i;
        }
        for (size_t k = 1; k < length; ++k) {
            const unsigned char next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) {
                return i;
            }
            code = (code << 6) | (next & 0x3F);
        }
        // Overlong forms, surrogates and code points above U+10FFFF.
        if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) ||
            (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
            return i;
        }
        i += length;
    }
    return std::nullopt;
}

// 1-based line and column of byte `offset`, with tabs advancing to the next
// multiple of 8 like the text format tokenizer.
Location locationOfOffset(const std::string& text, size_t offset) {
    Location location{1, 1};
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++location.line;
            location.column = 1;
        } else if (text[i] == '\t') {
            location.column = ((location.column - 1) / 8 + 1) * 8 + 1;
        } else {
            ++location.column;
        }
    }
    return location;
}

bool hasJsonExtension(const std::filesystem::path& path) {
    std::string extension = path.extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return extension == ".json";
}

}  // namespace

std::string ScenarioError::format() const {
    std::string out = file;
    if (line > 0) {
        out += ":" + std::to_string(line);
        if (column > 0) {
            out += ":" + std::to_string(column);
        }
    }
    out += ": error: ";
    if (!field.empty()) {
        out += field + ": ";
    }
    return out + message;
}

namespace {

void applyCheckpointingDefaults(scenario::Checkpointing& c) {
    if (c.timeout_ms() == 0) {
        c.set_timeout_ms(600000);
    }
    if (c.max_concurrent() == 0) {
        c.set_max_concurrent(1);
    }
    if (c.aligned_timeout_ms() == 0) {
        c.set_aligned_timeout_ms(2000);
    }
    if (c.retained() == 0) {
        c.set_retained(1);
    }
    if (c.sync_ns_per_entry() == 0) {
        c.set_sync_ns_per_entry(20);
    }
    if (c.upload_mbps() == 0) {
        c.set_upload_mbps(200);
    }
}

}  // namespace

void applyFaultDefaults(scenario::Scenario& s) {
    auto* failover = s.mutable_failover();
    if (failover->heartbeat_interval_ms() == 0) {
        failover->set_heartbeat_interval_ms(1000);
    }
    if (failover->heartbeat_timeout_ms() == 0) {
        failover->set_heartbeat_timeout_ms(5000);
    }
    auto* swarm = s.mutable_faults()->mutable_swarm();
    if (swarm->kinds_size() == 0) {
        return;
    }
    if (swarm->faults_per_minute() <= 0) {
        swarm->set_faults_per_minute(2);
    }
    if (swarm->max_faults() == 0) {
        swarm->set_max_faults(5);
    }
    if (swarm->start_ms() == 0) {
        swarm->set_start_ms(1000);
    }
    if (swarm->end_ms() == 0) {
        uint64_t until = s.run().until_ms() > 0 ? s.run().until_ms() : 60000;
        swarm->set_end_ms(until * 8 / 10);
    }
}

void applyScenarioDefaults(scenario::Scenario& s) {
    applyFaultDefaults(s);
    auto* cluster = s.mutable_cluster();
    if (cluster->task_managers() == 0) {
        cluster->set_task_managers(2);
    }
    auto defaultLink = [](scenario::Link* link, uint64_t latency_us, uint64_t mbps) {
        if (link->latency_us() == 0) {
            link->set_latency_us(latency_us);
        }
        if (link->bandwidth_mbps() == 0) {
            link->set_bandwidth_mbps(mbps);
        }
    };
    defaultLink(cluster->mutable_local_link(), 10, 10000);
    defaultLink(cluster->mutable_remote_link(), 200, 1000);

    auto* network = s.mutable_network();
    if (network->buffer_size_bytes() == 0) {
        network->set_buffer_size_bytes(32768);
    }
    if (network->buffers_per_channel() == 0) {
        network->set_buffers_per_channel(2);
    }
    if (network->floating_buffers_per_gate() == 0) {
        network->set_floating_buffers_per_gate(8);
    }
    if (network->buffer_timeout_ms() == 0) {
        network->set_buffer_timeout_ms(100);
    }
    if (s.mutable_run()->metrics_interval_ms() == 0) {
        s.mutable_run()->set_metrics_interval_ms(1000);
    }

    auto* job = s.mutable_job();
    if (job->max_parallelism() == 0) {
        job->set_max_parallelism(kDefaultMaxParallelism);
    }
    if (job->default_parallelism() == 0) {
        job->set_default_parallelism(1);
    }
    auto defaultWatermarks = [](scenario::Watermarks* watermarks) {
        if (watermarks->interval_ms() == 0) {
            watermarks->set_interval_ms(200);
        }
    };
    uint32_t widest = 1;
    std::map<std::string, uint32_t> parallelism;
    for (Operator& op : *job->mutable_operators()) {
        if (op.parallelism() == 0) {
            op.set_parallelism(job->default_parallelism());
        }
        widest = std::max(widest, op.parallelism());
        parallelism.emplace(op.id(), op.parallelism());
        switch (op.kind_case()) {
            case Operator::kGenerator: {
                auto* g = op.mutable_generator();
                if (g->key_count() == 0) {
                    g->set_key_count(1000);
                }
                if (g->zipf_exponent() == 0) {
                    g->set_zipf_exponent(1.0);
                }
                if (g->value_min() == 0 && g->value_max() == 0) {
                    g->set_value_min(1);
                    g->set_value_max(1);
                }
                if (g->partitions() == 0) {
                    g->set_partitions(op.parallelism());
                }
                if (g->event_time_step_ms() == 0) {
                    const double per_partition = g->rate_per_second() / g->partitions();
                    g->set_event_time_step_ms(per_partition > 0 ? 1000.0 / per_partition : 1.0);
                }
                defaultWatermarks(g->mutable_watermarks());
                break;
            }
            case Operator::kCsv:
                if (op.csv().partitions() == 0) {
                    op.mutable_csv()->set_partitions(op.parallelism());
                }
                defaultWatermarks(op.mutable_csv()->mutable_watermarks());
                break;
            case Operator::kFlatMap:
                if (op.flat_map().copies() == 0) {
                    op.mutable_flat_map()->set_copies(2);
                }
                break;
            case Operator::kSink: {
                auto* sink = op.mutable_sink();
                if (sink->transaction_timeout_ms() == 0) {
                    sink->set_transaction_timeout_ms(900000);
                }
                if (sink->write_latency_ms() == 0) {
                    sink->set_write_latency_ms(5);
                }
                break;
            }
            default:
                break;
        }
        if (!isSource(op) && !isSink(op) && op.kind_case() != Operator::KIND_NOT_SET &&
            op.cost().ns_per_record() == 0) {
            op.mutable_cost()->set_ns_per_record(100);
        }
    }
    for (Edge& edge : *job->mutable_edges()) {
        auto from = parallelism.find(edge.from());
        auto to = parallelism.find(edge.to());
        if (edge.partitioning() == scenario::PARTITIONING_DEFAULT && from != parallelism.end() &&
            to != parallelism.end()) {
            edge.set_partitioning(from->second == to->second ? scenario::FORWARD
                                                             : scenario::REBALANCE);
        }
    }
    applyCheckpointingDefaults(*s.mutable_checkpointing());
    if (cluster->slots_per_task_manager() == 0) {
        cluster->set_slots_per_task_manager((widest + cluster->task_managers() - 1) /
                                            cluster->task_managers());
    }
}

std::variant<LoadedScenario, ScenarioError> parseScenario(const std::string& text,
                                                          const std::string& display_name,
                                                          const std::filesystem::path& base_dir,
                                                          bool json) {
    LoadedScenario loaded;
    loaded.path = display_name;
    loaded.base_dir = base_dir;
    loaded.text = text;
    if (const std::optional<size_t> bad = firstInvalidUtf8(text)) {
        return toError(display_name,
                       Problem{"", locationOfOffset(text, *bad),
                               "the file is not valid UTF-8 at this byte; save it as UTF-8."});
    }
    LocationMap locations;
    std::optional<Problem> problem =
        json ? parseJson(text, loaded.proto, locations) : parseText(text, loaded.proto, locations);
    if (problem) {
        return toError(display_name, std::move(*problem));
    }
    const Scenario raw = loaded.proto;
    applyScenarioDefaults(loaded.proto);
    Validator validator(raw, loaded.proto, locations, display_name, base_dir);
    if (auto invalid = validator.run()) {
        if (validator.csv_error_) {
            return *validator.csv_error_;
        }
        return toError(display_name, std::move(*invalid));
    }
    return loaded;
}

std::variant<LoadedScenario, ScenarioError> loadScenarioFile(const std::filesystem::path& path) {
    std::string text;
    if (std::optional<std::string> problem = readTextFile(path, &text)) {
        return ScenarioError{
            .file = path.string(),
            .line = 0,
            .column = 0,
            .field = "",
            .message = "cannot read the scenario file: " + *problem + "; check the path."};
    }
    auto result = parseScenario(text, path.string(), path.parent_path(), hasJsonExtension(path));
    if (auto* loaded = std::get_if<LoadedScenario>(&result)) {
        loaded->path = path;
    }
    return result;
}

}  // namespace sluice::sim
