#include "runtime/operators/aggregates.h"

namespace sluice {

const char* aggregateName(AggregateKind kind) {
    switch (kind) {
        case AggregateKind::kCount:
            return "count";
        case AggregateKind::kSum:
            return "sum";
        case AggregateKind::kMin:
            return "min";
        case AggregateKind::kMax:
            return "max";
        case AggregateKind::kAverage:
            return "average";
    }
    return "aggregate";
}

std::string AccumulatorSerializer::toDisplayString(const Accumulator& a) const {
    return "count=" + std::to_string(a.count) + " sum=" + std::to_string(a.sum) +
           " min=" + std::to_string(a.min) + " max=" + std::to_string(a.max);
}

}  // namespace sluice
