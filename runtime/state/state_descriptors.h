#pragma once

#include "runtime/state/heap_keyed_state_backend.h"
#include "runtime/state/rocksdb_keyed_state_backend.h"

#include <stdexcept>

namespace sluice {

template <class V>
class ValueStateDescriptor final : public StateDescriptorBase {
public:
    explicit ValueStateDescriptor(
        std::string name, std::shared_ptr<const TypeSerializer<V>> serializer = serializerFor<V>())
        : StateDescriptorBase(std::move(name)), serializer_(std::move(serializer)) {}

    std::unique_ptr<InternalKvState> createHeap(HeapKeyedStateBackend& backend) const override {
        return std::make_unique<HeapValueState<V>>(backend, name(), serializer_);
    }
    std::unique_ptr<InternalKvState> createRocksDb(
        RocksDbKeyedStateBackend& backend) const override {
        return std::make_unique<RocksDbValueState<V>>(backend, name(), serializer_);
    }

private:
    std::shared_ptr<const TypeSerializer<V>> serializer_;
};

template <class V>
class ListStateDescriptor final : public StateDescriptorBase {
public:
    explicit ListStateDescriptor(
        std::string name, std::shared_ptr<const TypeSerializer<V>> serializer = serializerFor<V>())
        : StateDescriptorBase(std::move(name)), serializer_(std::move(serializer)) {}

    std::unique_ptr<InternalKvState> createHeap(HeapKeyedStateBackend& backend) const override {
        return std::make_unique<HeapListState<V>>(backend, name(), serializer_);
    }
    std::unique_ptr<InternalKvState> createRocksDb(
        RocksDbKeyedStateBackend& backend) const override {
        return std::make_unique<RocksDbListState<V>>(backend, name(), serializer_);
    }

private:
    std::shared_ptr<const TypeSerializer<V>> serializer_;
};

template <class UK, class UV>
class MapStateDescriptor final : public StateDescriptorBase {
public:
    explicit MapStateDescriptor(
        std::string name, std::shared_ptr<const TypeSerializer<UK>> keys = serializerFor<UK>(),
        std::shared_ptr<const TypeSerializer<UV>> values = serializerFor<UV>())
        : StateDescriptorBase(std::move(name)),
          keys_(std::move(keys)),
          values_(std::move(values)) {}

    std::unique_ptr<InternalKvState> createHeap(HeapKeyedStateBackend& backend) const override {
        return std::make_unique<HeapMapState<UK, UV>>(backend, name(), keys_, values_);
    }
    std::unique_ptr<InternalKvState> createRocksDb(
        RocksDbKeyedStateBackend& backend) const override {
        return std::make_unique<RocksDbMapState<UK, UV>>(backend, name(), keys_, values_);
    }

private:
    std::shared_ptr<const TypeSerializer<UK>> keys_;
    std::shared_ptr<const TypeSerializer<UV>> values_;
};

template <class V>
class ReducingStateDescriptor final : public StateDescriptorBase {
public:
    using ReduceFunction = std::function<V(const V&, const V&)>;

    ReducingStateDescriptor(
        std::string name, ReduceFunction reduce,
        std::shared_ptr<const TypeSerializer<V>> serializer = serializerFor<V>())
        : StateDescriptorBase(std::move(name)),
          reduce_(std::move(reduce)),
          serializer_(std::move(serializer)) {}

    std::unique_ptr<InternalKvState> createHeap(HeapKeyedStateBackend& backend) const override {
        return std::make_unique<HeapReducingState<V>>(backend, name(), serializer_, reduce_);
    }
    std::unique_ptr<InternalKvState> createRocksDb(
        RocksDbKeyedStateBackend& backend) const override {
        return std::make_unique<RocksDbReducingState<V>>(backend, name(), serializer_, reduce_);
    }

private:
    ReduceFunction reduce_;
    std::shared_ptr<const TypeSerializer<V>> serializer_;
};

// Typed access to a state of `backend`, created on first use.
template <class State, class Descriptor>
State& getKeyedState(KeyedStateBackend& backend, const Descriptor& descriptor) {
    auto* state = dynamic_cast<State*>(&backend.getOrCreate(descriptor));
    if (!state) {
        throw std::logic_error("state '" + descriptor.name() +
                               "' was registered before with a different type");
    }
    return *state;
}

template <class V>
ValueState<V>& getValueState(KeyedStateBackend& backend, const ValueStateDescriptor<V>& d) {
    return getKeyedState<ValueState<V>>(backend, d);
}
template <class V>
ListState<V>& getListState(KeyedStateBackend& backend, const ListStateDescriptor<V>& d) {
    return getKeyedState<ListState<V>>(backend, d);
}
template <class UK, class UV>
MapState<UK, UV>& getMapState(KeyedStateBackend& backend, const MapStateDescriptor<UK, UV>& d) {
    return getKeyedState<MapState<UK, UV>>(backend, d);
}
template <class V>
ReducingState<V>& getReducingState(KeyedStateBackend& backend,
                                   const ReducingStateDescriptor<V>& d) {
    return getKeyedState<ReducingState<V>>(backend, d);
}

}  // namespace sluice
