#include "runtime/cluster/restart_strategy.h"

#include <algorithm>
#include <cmath>

namespace sluice {

void RestartStrategy::notifyFailure(Nanos now) {
    ++failures_;
    failure_times_.push_back(now);
    while (!failure_times_.empty() &&
           failure_times_.front() <= now - config_.failure_rate_interval_ns) {
        failure_times_.pop_front();
    }
}

bool RestartStrategy::canRestart() const {
    using Kind = RestartStrategyConfig::Kind;
    switch (config_.kind) {
        case Kind::kFixedDelay:
            return failures_ <= config_.attempts;
        case Kind::kExponentialDelay:
            return config_.attempts <= 0 || failures_ <= config_.attempts;
        case Kind::kFailureRate:
            return int(failure_times_.size()) <= config_.max_failures_per_interval;
        case Kind::kNone:
            return false;
    }
    return false;
}

Nanos RestartStrategy::backoffNs() const {
    using Kind = RestartStrategyConfig::Kind;
    switch (config_.kind) {
        case Kind::kFixedDelay:
        case Kind::kFailureRate:
            return config_.delay_ns;
        case Kind::kExponentialDelay: {
            double backoff = double(config_.initial_backoff_ns) *
                             std::pow(config_.backoff_multiplier, std::max(0, failures_ - 1));
            return Nanos(std::min(backoff, double(config_.max_backoff_ns)));
        }
        case Kind::kNone:
            return 0;
    }
    return 0;
}

std::string RestartStrategy::describe() const {
    using Kind = RestartStrategyConfig::Kind;
    auto ms = [](Nanos ns) { return std::to_string(ns / kNanosPerMilli); };
    switch (config_.kind) {
        case Kind::kFixedDelay:
            return "FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=" +
                   std::to_string(config_.attempts) + ", backoffTimeMS=" + ms(config_.delay_ns) +
                   ")";
        case Kind::kExponentialDelay:
            return "ExponentialDelayRestartBackoffTimeStrategy(initialBackoffMS=" +
                   ms(config_.initial_backoff_ns) + ", maxBackoffMS=" + ms(config_.max_backoff_ns) +
                   ", attemptsBeforeResetBackoff=" + std::to_string(config_.attempts) + ")";
        case Kind::kFailureRate:
            return "FailureRateRestartBackoffTimeStrategy(failuresIntervalMS=" +
                   ms(config_.failure_rate_interval_ns) +
                   ", backoffTimeMS=" + ms(config_.delay_ns) +
                   ", maxFailuresPerInterval=" + std::to_string(config_.max_failures_per_interval) +
                   ")";
        case Kind::kNone:
            return "NoRestartBackoffTimeStrategy";
    }
    return "unknown restart strategy";
}

}  // namespace sluice
