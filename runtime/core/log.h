#pragma once

#include "runtime/core/types.h"

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

// The engine's structured logger. Each entry has a component (such as
// "jobmanager"), a stable event name (such as "job.finished") and key=value
// fields with the ids involved. Starts, stops, restarts and caught errors are
// logged; records never are.
namespace sluice::log {

enum class Level { kDebug, kInfo, kWarning, kError };

struct Field {
    std::string_view key;
    std::string value;
};

using Sink = std::function<void(Level level, const std::string& line)>;

// Entries below `level` are dropped. Default: kWarning.
void setLevel(Level level);
Level level();
// Receives formatted lines. Default: standard error.
void setSink(Sink sink);
// Time printed in front of each entry; default none. Thread safety: set it
// before the engine runs.
// `owner` identifies who set the clock, so it can take it back with
// clearClock before it goes away.
void setClock(std::function<Nanos()> clock, const void* owner = nullptr);
// Removes the clock if `owner` set it.
void clearClock(const void* owner);
// Returns true if `owner` set the current clock. Cheap enough to call per
// simulation event.
bool clockOwnedBy(const void* owner);

// Formats "<time> LEVEL component event key=value ...". Values with spaces
// are quoted.
void write(Level level, std::string_view component, std::string_view event,
           std::initializer_list<Field> fields = {});

inline void info(std::string_view component, std::string_view event,
                 std::initializer_list<Field> fields = {}) {
    write(Level::kInfo, component, event, fields);
}
inline void warning(std::string_view component, std::string_view event,
                    std::initializer_list<Field> fields = {}) {
    write(Level::kWarning, component, event, fields);
}
inline void error(std::string_view component, std::string_view event,
                  std::initializer_list<Field> fields = {}) {
    write(Level::kError, component, event, fields);
}

const char* levelName(Level level);
// Parses "debug", "info", "warning" or "error"; returns false otherwise.
bool parseLevel(std::string_view text, Level* level);

}  // namespace sluice::log
