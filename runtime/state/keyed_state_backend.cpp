#include "runtime/state/keyed_state_backend.h"

namespace sluice {

InternalKvState& KeyedStateBackend::getOrCreate(const StateDescriptorBase& descriptor) {
    auto it = states_.find(descriptor.name());
    if (it == states_.end()) {
        it = states_.emplace(descriptor.name(), create(descriptor)).first;
    }
    return *it->second;
}

}  // namespace sluice
