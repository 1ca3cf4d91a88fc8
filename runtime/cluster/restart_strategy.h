#pragma once

#include "runtime/core/types.h"

#include <cstdint>
#include <deque>
#include <string>

namespace sluice {

// Settings of a restart strategy, with the meanings of Flink's
// restart-strategy options.
struct RestartStrategyConfig {
    enum class Kind : uint8_t { kFixedDelay, kExponentialDelay, kFailureRate, kNone };
    Kind kind = Kind::kFixedDelay;
    // Fixed delay: restarts allowed; exponential delay: 0 means unlimited.
    int attempts = 3;
    Nanos delay_ns = kNanosPerSecond;  // fixed delay and failure rate
    Nanos initial_backoff_ns = kNanosPerSecond;
    Nanos max_backoff_ns = 60 * kNanosPerSecond;
    double backoff_multiplier = 2.0;
    int max_failures_per_interval = 1;
    Nanos failure_rate_interval_ns = 60 * kNanosPerSecond;
};

// Decides whether the job restarts after a failure and how long it waits,
// like Flink's RestartBackoffTimeStrategy implementations.
class RestartStrategy {
public:
    explicit RestartStrategy(RestartStrategyConfig config) : config_(config) {}

    // Records a failure at `now`; call before canRestart().
    void notifyFailure(Nanos now);
    bool canRestart() const;
    // Wait before the restart that follows the latest failure.
    Nanos backoffNs() const;
    // The strategy with its settings, in Flink's words, for failure causes.
    std::string describe() const;

private:
    RestartStrategyConfig config_;
    int failures_ = 0;
    std::deque<Nanos> failure_times_;  // failure rate: failures in the interval
};

}  // namespace sluice
