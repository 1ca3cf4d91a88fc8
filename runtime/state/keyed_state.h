#pragma once

#include "runtime/core/types.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

// The state handles user functions see. Every call reads or writes the value
// of the backend's current key, which the task sets before each record.

template <class V>
class ValueState {
public:
    virtual ~ValueState() = default;
    // The value of the current key, or nullopt if it has none.
    virtual std::optional<V> value() = 0;
    virtual void update(const V& value) = 0;
    virtual void clear() = 0;
};

template <class V>
class ListState {
public:
    virtual ~ListState() = default;
    virtual std::vector<V> get() = 0;
    virtual void add(const V& value) = 0;
    virtual void update(std::vector<V> values) = 0;
    virtual void clear() = 0;
};

template <class UK, class UV>
class MapState {
public:
    virtual ~MapState() = default;
    virtual std::optional<UV> get(const UK& key) = 0;
    virtual void put(const UK& key, const UV& value) = 0;
    virtual void remove(const UK& key) = 0;
    virtual bool contains(const UK& key) = 0;
    // Entries in ascending key order.
    virtual std::vector<std::pair<UK, UV>> entries() = 0;
    virtual bool isEmpty() = 0;
    virtual void clear() = 0;
};

// Folds every added value into one with a reduce function.
template <class V>
class ReducingState {
public:
    virtual ~ReducingState() = default;
    virtual std::optional<V> get() = 0;
    virtual void add(const V& value) = 0;
    virtual void clear() = 0;
};

// One entry of keyed state as the state inspector shows it.
struct StateEntryView {
    std::string state_name;
    int key_group = 0;
    std::string key;    // display form
    std::string value;  // display form
    Nanos last_update_ns = 0;
};

}  // namespace sluice
