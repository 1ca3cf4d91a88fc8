#include "runtime/serialization/type_serializer.h"

namespace sluice {

SerializerRegistry& SerializerRegistry::instance() {
    static SerializerRegistry registry;
    return registry;
}

}  // namespace sluice
