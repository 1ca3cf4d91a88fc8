#pragma once

// Reading, defaulting and validating scenario files (schema:
// sim/proto/scenario.proto). Every problem is reported as one ScenarioError
// that points at the offending field, so that a command-line runner can print
// it and exit.

#include <filesystem>
#include <string>
#include <variant>

#include "proto/scenario.pb.h"

namespace sluice::sim {

struct ScenarioError {
    std::string file;     // path as given by the caller
    int line = 0;         // 1-based; 0 when unknown
    int column = 0;       // 1-based; 0 when unknown
    std::string field;    // such as "job.operators[2].parallelism"; empty for the whole file
    std::string message;  // what is wrong and what to do, full sentence(s)
    // "FILE:LINE:COLUMN: error: FIELD: MESSAGE". LINE and COLUMN are left out
    // when unknown, and "FIELD: " when the field is empty.
    std::string format() const;
};

struct LoadedScenario {
    scenario::Scenario proto;        // with all defaults applied
    std::filesystem::path path;      // as given
    std::filesystem::path base_dir;  // folder of the file, for relative data paths
    std::string text;                // the file's text, verbatim
};

// Reads, parses (.json: protobuf JSON mapping, anything else: text format),
// applies defaults and validates, including that the CSV files of csv sources
// exist and parse.
std::variant<LoadedScenario, ScenarioError> loadScenarioFile(const std::filesystem::path& path);

// Same from text. display_name is the file name used in messages; json selects
// the format; relative data paths are resolved against base_dir.
std::variant<LoadedScenario, ScenarioError> parseScenario(const std::string& text,
                                                          const std::string& display_name,
                                                          const std::filesystem::path& base_dir,
                                                          bool json);

// Replaces the zero values of `scenario` by the defaults documented in
// scenario.proto, and is idempotent. A PARTITIONING_DEFAULT edge becomes
// FORWARD when both ends have equal parallelism and REBALANCE otherwise. An
// edge naming an unknown operator keeps PARTITIONING_DEFAULT.
void applyScenarioDefaults(scenario::Scenario& scenario);

}  // namespace sluice::sim
