#pragma once

#include "runtime/api/data_stream.h"
#include "sim/external_store.h"
#include "sim/record.h"
#include "sim/scenario_loader.h"

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace sluice::sim {

// A scenario's job, built with the DataStream API.
struct ScenarioJob {
    std::unique_ptr<StreamExecutionEnvironment> env;
    // Stream node id of each scenario operator, in scenario order.
    std::vector<int> node_of_operator;
    // Scenario operator index of each sink operator, in sink index order.
    std::vector<int> sinks;
};

// Builds the DataStream program of a loaded (validated, defaulted) scenario.
// Sinks write into `store`, which must outlive the job. CSV files are read
// here; a file that cannot be read is reported as a ScenarioError.
std::variant<ScenarioJob, ScenarioError> buildScenarioJob(const LoadedScenario& scenario,
                                                          uint64_t seed, ExternalStore* store);

}  // namespace sluice::sim
