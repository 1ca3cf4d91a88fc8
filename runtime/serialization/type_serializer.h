#pragma once

#include "runtime/serialization/bytes.h"

#include <google/protobuf/message_lite.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>

namespace sluice {

// Converts values of T to bytes and back, for network buffers and state
// snapshots. Implementations are stateless and may be shared by tasks.
template <class T>
class TypeSerializer {
public:
    virtual ~TypeSerializer() = default;
    virtual void serialize(const T& value, ByteWriter& out) const = 0;
    // Reads one value; on malformed input `in.failed()` is set afterwards.
    virtual void deserialize(T& value, ByteReader& in) const = 0;
    // Human-readable form for the state inspector and logs.
    virtual std::string toDisplayString(const T& value) const = 0;
};

// Default for trivially copyable types: the object representation, copied.
template <class T>
class TrivialSerializer final : public TypeSerializer<T> {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    void serialize(const T& value, ByteWriter& out) const override { out.writeRaw(value); }
    void deserialize(T& value, ByteReader& in) const override { value = in.readRaw<T>(); }
    std::string toDisplayString(const T& value) const override {
        if constexpr (std::is_arithmetic_v<T>) {
            return std::to_string(value);
        } else {
            return "<" + std::to_string(sizeof(T)) + " bytes>";
        }
    }
};

// Strings: varint length followed by the bytes.
class StringSerializer final : public TypeSerializer<std::string> {
public:
    void serialize(const std::string& value, ByteWriter& out) const override {
        out.writeString(value);
    }
    void deserialize(std::string& value, ByteReader& in) const override { in.readString(value); }
    std::string toDisplayString(const std::string& value) const override { return value; }
};

// Protobuf messages: varint length followed by the wire format. Meant for
// control-rate data; keep protobuf out of per-record hot paths.
template <class M>
class ProtobufSerializer final : public TypeSerializer<M> {
    static_assert(std::is_base_of_v<google::protobuf::MessageLite, M>);

public:
    void serialize(const M& value, ByteWriter& out) const override {
        out.writeString(value.SerializeAsString());
    }
    void deserialize(M& value, ByteReader& in) const override {
        std::string_view bytes = in.readStringView();
        if (!in.failed() && !value.ParseFromArray(bytes.data(), int(bytes.size()))) {
            in.markFailed();
        }
    }
    std::string toDisplayString(const M& value) const override { return value.ShortDebugString(); }
};

// std::pair<A, B>: the two components one after the other.
template <class A, class B>
class PairSerializer final : public TypeSerializer<std::pair<A, B>> {
public:
    PairSerializer(std::shared_ptr<const TypeSerializer<A>> first,
                   std::shared_ptr<const TypeSerializer<B>> second)
        : first_(std::move(first)), second_(std::move(second)) {}

    void serialize(const std::pair<A, B>& value, ByteWriter& out) const override {
        first_->serialize(value.first, out);
        second_->serialize(value.second, out);
    }
    void deserialize(std::pair<A, B>& value, ByteReader& in) const override {
        first_->deserialize(value.first, in);
        second_->deserialize(value.second, in);
    }
    std::string toDisplayString(const std::pair<A, B>& value) const override {
        return "(" + first_->toDisplayString(value.first) + ", " +
               second_->toDisplayString(value.second) + ")";
    }

private:
    std::shared_ptr<const TypeSerializer<A>> first_;
    std::shared_ptr<const TypeSerializer<B>> second_;
};

template <class T>
struct IsPair : std::false_type {};
template <class A, class B>
struct IsPair<std::pair<A, B>> : std::true_type {};

// Maps C++ types to serializers. Types without a registered serializer fall
// back to the defaults above: pairs of supported types, protobuf messages, std::string and
// trivially copyable types. Anything else must be registered before a job uses it, otherwise
// serializerFor throws std::logic_error naming the type.
//
// Thread safety: registration and lookup are guarded by a mutex.
class SerializerRegistry {
public:
    static SerializerRegistry& instance();

    template <class T>
    void registerSerializer(std::shared_ptr<const TypeSerializer<T>> serializer) {
        std::lock_guard lock(mutex_);
        custom_[std::type_index(typeid(T))] = std::move(serializer);
    }

    template <class T>
    std::shared_ptr<const TypeSerializer<T>> serializerFor() {
        {
            std::lock_guard lock(mutex_);
            auto it = custom_.find(std::type_index(typeid(T)));
            if (it != custom_.end()) {
                return std::static_pointer_cast<const TypeSerializer<T>>(it->second);
            }
        }
        if constexpr (IsPair<T>::value) {
            return std::make_shared<
                PairSerializer<typename T::first_type, typename T::second_type>>(
                serializerFor<typename T::first_type>(), serializerFor<typename T::second_type>());
        } else if constexpr (std::is_base_of_v<google::protobuf::MessageLite, T>) {
            return std::make_shared<ProtobufSerializer<T>>();
        } else if constexpr (std::is_same_v<T, std::string>) {
            return std::make_shared<StringSerializer>();
        } else if constexpr (std::is_trivially_copyable_v<T>) {
            return std::make_shared<TrivialSerializer<T>>();
        } else {
            throw std::logic_error(std::string("no serializer registered for type ") +
                                   typeid(T).name() +
                                   "; call SerializerRegistry::registerSerializer first");
        }
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::type_index, std::shared_ptr<const void>> custom_;
};

template <class T>
std::shared_ptr<const TypeSerializer<T>> serializerFor() {
    return SerializerRegistry::instance().serializerFor<T>();
}

}  // namespace sluice
