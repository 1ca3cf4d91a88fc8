// Engine: the keyed state kept at each failure, for the state inspector's
// diff across a failover.

#include "sim/engine.h"
#include "sim/state_checkpoint_reader.h"

#include <set>

namespace sluice::sim {

void Engine::readRestoredState(FailureKeyedState& state) const {
    std::set<int> vertices;
    for (const auto& [target, entries] : state.entries) {
        vertices.insert(target.first);
    }
    for (int vertex : vertices) {
        auto read = readCheckpointState(*this, state.restore_checkpoint_id, vertex);
        if (auto* error = std::get_if<std::string>(&read)) {
            state.restore_error = *error;
            return;
        }
        for (const auto& row : std::get<std::vector<protocol::StateRow>>(read)) {
            StateEntryView view;
            view.state_name = row.state_name();
            view.key_group = row.key_group();
            view.key = row.key();
            view.value = row.value();
            state.restored_entries[{vertex, row.subtask()}].push_back(std::move(view));
        }
    }
}

bool Engine::captureFailureState(const scenario::Fault& fault) {
    switch (fault.kind_case()) {
        case scenario::Fault::kKillTaskManager:
        case scenario::Fault::kFailSubtask:
        case scenario::Fault::kPartitionLink:
            break;
        default:
            return false;
    }
    FailureKeyedState state;
    state.event_index = eventCount();
    state.time_ns = now();
    state.restore_checkpoint_id = retained_.empty() ? 0 : retained_.back();
    for (const JobVertex& vertex : job_graph_->vertices()) {
        for (int subtask = 0; subtask < vertex.parallelism; ++subtask) {
            // task() returns the current attempt, never a canceled one.
            const StreamTask* live = task(vertex.id, subtask);
            std::vector<StateEntryView> entries;
            for (int i = 0; live && i < live->operatorCount(); ++i) {
                if (const KeyedStateBackend* backend = live->keyedStateBackend(i)) {
                    backend->forEachState([&](const InternalKvState& kv) {
                        kv.forEachEntry(
                            [&](const StateEntryView& view) { entries.push_back(view); });
                    });
                }
            }
            if (!entries.empty()) {
                state.entries[{vertex.id, subtask}] = std::move(entries);
            }
        }
    }
    if (state.restore_checkpoint_id != 0) {
        readRestoredState(state);
    }
    failure_states_.push_back(std::move(state));
    while (failure_states_.size() > kFailureStatesKept) {
        failure_states_.pop_front();
    }
    return true;
}

}  // namespace sluice::sim
