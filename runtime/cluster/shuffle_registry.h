#pragma once

#include "runtime/task/stream_task.h"

#include <map>
#include <utility>

namespace sluice {

// Finds the running task of a subtask so a consumer can connect its input
// channels to the producer's result partitions, the role of Flink's
// ResultPartitionManager and partition requests.
class ShuffleRegistry {
public:
    void add(StreamTask* task) { tasks_[{task->id().vertex, task->id().subtask}] = task; }
    void remove(const TaskId& id) { tasks_.erase({id.vertex, id.subtask}); }
    StreamTask* find(int vertex, int subtask) const {
        auto it = tasks_.find({vertex, subtask});
        return it == tasks_.end() ? nullptr : it->second;
    }

    // Connects every input gate of `consumer` with its producers. Returns
    // false if a producer is not registered.
    bool connectInputs(StreamTask& consumer, const JobGraph& job) const;

private:
    std::map<std::pair<int, int>, StreamTask*> tasks_;
};

}  // namespace sluice
