#include "runtime/core/log.h"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <mutex>

namespace sluice::log {

namespace {

struct LoggerState {
    std::mutex mutex;
    Level level = Level::kWarning;
    Sink sink;
    std::function<Nanos()> clock;
    // Written under the mutex; read without it by clockOwnedBy.
    std::atomic<const void*> clock_owner{nullptr};
};

LoggerState& state() {
    static LoggerState logger;
    return logger;
}

}  // namespace

void setLevel(Level level) {
    std::lock_guard lock(state().mutex);
    state().level = level;
}

Level level() {
    std::lock_guard lock(state().mutex);
    return state().level;
}

void setSink(Sink sink) {
    std::lock_guard lock(state().mutex);
    state().sink = std::move(sink);
}

void setClock(std::function<Nanos()> clock, const void* owner) {
    std::lock_guard lock(state().mutex);
    state().clock = std::move(clock);
    state().clock_owner = owner;
}

bool clockOwnedBy(const void* owner) {
    return state().clock_owner.load(std::memory_order_relaxed) == owner;
}

void clearClock(const void* owner) {
    std::lock_guard lock(state().mutex);
    if (state().clock_owner == owner) {
        state().clock = nullptr;
        state().clock_owner = nullptr;
    }
}

const char* levelName(Level level) {
    switch (level) {
        case Level::kDebug:
            return "DEBUG";
        case Level::kInfo:
            return "INFO";
        case Level::kWarning:
            return "WARNING";
        case Level::kError:
            return "ERROR";
    }
    return "?";
}

bool parseLevel(std::string_view text, Level* level) {
    if (text == "debug") {
        *level = Level::kDebug;
    } else if (text == "info") {
        *level = Level::kInfo;
    } else if (text == "warning") {
        *level = Level::kWarning;
    } else if (text == "error") {
        *level = Level::kError;
    } else {
        return false;
    }
    return true;
}

void write(Level level, std::string_view component, std::string_view event,
           std::initializer_list<Field> fields) {
    LoggerState& logger = state();
    std::lock_guard lock(logger.mutex);
    if (level < logger.level) {
        return;
    }
    std::string line;
    if (logger.clock) {
        char time[32];
        std::snprintf(time, sizeof(time), "%.3fms ", double(logger.clock()) / 1e6);
        line += time;
    }
    line += levelName(level);
    line += ' ';
    line += component;
    line += ' ';
    line += event;
    for (const Field& field : fields) {
        line += ' ';
        line += field.key;
        line += '=';
        bool quote = field.value.find(' ') != std::string::npos || field.value.empty();
        if (quote) {
            line += '"';
        }
        line += field.value;
        if (quote) {
            line += '"';
        }
    }
    if (logger.sink) {
        logger.sink(level, line);
    } else {
        std::fprintf(stderr, "%s\n", line.c_str());
    }
}

}  // namespace sluice::log
