#include "sim/state_export.h"

#include "sim/checkpoint_export.h"
#include "sim/state_checkpoint_reader.h"

#include <cstdio>
#include <vector>

namespace sluice::sim {

namespace {

std::string retainedList(const Engine& engine) {
    std::string list;
    for (int64_t id : engine.retainedCheckpoints()) {
        list += (list.empty() ? "" : ", ") + std::to_string(id);
    }
    return list.empty() ? "none" : list;
}

}  // namespace

std::string writeKeyedStateCsv(std::ostream& out, const Engine& engine, int64_t checkpoint_id) {
    const auto& retained = engine.retainedCheckpoints();
    if (checkpoint_id == 0) {
        if (retained.empty()) {
            return "the run has no retained checkpoint yet; export after a checkpoint completed";
        }
        checkpoint_id = retained.back();
    }
    std::vector<std::string> names = engine.vertexNames();
    std::vector<std::vector<protocol::StateRow>> vertices;
    for (size_t vertex = 0; vertex < names.size(); ++vertex) {
        auto read = readCheckpointState(engine, checkpoint_id, int(vertex));
        if (auto* error = std::get_if<std::string>(&read)) {
            return *error + " (retained: " + retainedList(engine) + ")";
        }
        vertices.push_back(std::move(std::get<std::vector<protocol::StateRow>>(read)));
    }
    out << "checkpoint_id,task,subtask,key_group,state_name,key,value,last_update_ms,"
           "changed_since_previous_checkpoint,outside_owner\n";
    for (size_t vertex = 0; vertex < vertices.size(); ++vertex) {
        std::string task = csvField(names[vertex]);
        for (const protocol::StateRow& row : vertices[vertex]) {
            std::string updated;
            std::string changed;
            if (row.last_update_ns() > 0) {
                char text[32];
                std::snprintf(text, sizeof(text), "%.3f", double(row.last_update_ns()) / 1e6);
                updated = text;
            }
            if (row.last_update_ns() > 0 || row.changed_since_checkpoint()) {
                changed = row.changed_since_checkpoint() ? "true" : "false";
            }
            out << checkpoint_id << ',' << task << ',' << row.subtask() << ',' << row.key_group()
                << ',' << csvField(row.state_name()) << ',' << csvField(row.key()) << ','
                << csvField(row.value()) << ',' << updated << ',' << changed << ','
                << (row.outside_owner() ? "true" : "false") << '\n';
        }
    }
    return {};
}

}  // namespace sluice::sim
