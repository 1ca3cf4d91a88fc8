#include "runtime/graph/partitioner.h"

namespace sluice {

const char* partitionerName(PartitionerKind kind) {
    switch (kind) {
        case PartitionerKind::kForward:
            return "FORWARD";
        case PartitionerKind::kRebalance:
            return "REBALANCE";
        case PartitionerKind::kBroadcast:
            return "BROADCAST";
        case PartitionerKind::kHash:
            return "HASH";
    }
    return "UNKNOWN";
}

}  // namespace sluice
