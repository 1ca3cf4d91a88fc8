#include "sim/record.h"

namespace sluice::sim {

void registerRecordSerializer() {
    SerializerRegistry::instance().registerSerializer<Record>(std::make_shared<RecordSerializer>());
}

}  // namespace sluice::sim
