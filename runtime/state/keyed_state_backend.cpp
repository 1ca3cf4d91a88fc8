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

namespace sluice {

void InternalKvState::snapshotEntries(const RawEntryVisitor&) const {
    throw std::logic_error("state '" + name() + "' is snapshotted by its backend, not per entry");
}

void InternalKvState::restoreEntry(int, std::string_view, std::string_view, std::string_view) {
    throw std::logic_error("state '" + name() + "' is restored by its backend, not per entry");
}

std::string InternalKvState::displayRaw(
    const std::vector<std::pair<std::string_view, std::string_view>>& parts) const {
    size_t bytes = 0;
    for (const auto& [user_key, value] : parts) {
        bytes += user_key.size() + value.size();
    }
    return std::to_string(parts.size()) + " serialized entries, " + std::to_string(bytes) +
           " bytes";
}

}  // namespace sluice
