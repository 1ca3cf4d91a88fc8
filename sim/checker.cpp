#include "sim/checker.h"

#include "sim/random.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace sluice::sim {

const char* violationKindName(ViolationKind kind) {
    switch (kind) {
        case ViolationKind::kLoss:
            return "loss";
        case ViolationKind::kDuplicate:
            return "duplicate";
        case ViolationKind::kUnexpected:
            return "unexpected record";
        case ViolationKind::kOrder:
            return "order";
        case ViolationKind::kValueMismatch:
            return "value mismatch";
        case ViolationKind::kNoProgress:
            return "no progress after the last fault";
        case ViolationKind::kRecoveryTooSlow:
            return "recovery too slow";
        case ViolationKind::kJobFailed:
            return "job failed";
        case ViolationKind::kStateMismatch:
            return "state mismatch";
    }
    return "unknown";
}

CheckOptions checkOptionsFor(const scenario::Scenario& scenario) {
    CheckOptions options;
    options.guarantee = scenario.expect().guarantee();
    options.max_recovery_ns = Nanos(scenario.expect().max_recovery_ms()) * kNanosPerMilli;
    for (const scenario::Operator& op : scenario.job().operators()) {
        bool source = op.has_generator() || op.has_csv();
        options.source_names.push_back(source ? op.id() : std::string());
        if (op.has_sink()) {
            options.sink_names.push_back(op.id());
        }
    }
    return options;
}

namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();
constexpr uint32_t kNoGroup = std::numeric_limits<uint32_t>::max();
// Source record ids: operator index in the top 8 bits, partition in the next
// 16, offset in the low 40 (recordId in scenario_job.cpp).
constexpr int kOffsetBits = 40;
constexpr uint64_t kOffsetMask = (uint64_t(1) << kOffsetBits) - 1;

uint64_t sourcePartitionOf(uint64_t id) {
    return id >> kOffsetBits;
}
uint64_t offsetOf(uint64_t id) {
    return id & kOffsetMask;
}
int operatorOf(uint64_t id) {
    return int(id >> 56);
}
int partitionOf(uint64_t id) {
    return int((id >> kOffsetBits) & 0xffff);
}

// ---------------------------------------------------------------------------
// Hash-map keys. Keys are string_views into the stores' records, which
// outlive the check.

struct RecordKey {
    int sink = 0;
    uint64_t id = 0;
    bool operator==(const RecordKey&) const = default;
};

struct RecordKeyHash {
    size_t operator()(const RecordKey& k) const {
        return size_t(mix64(k.id) ^ (uint64_t(uint32_t(k.sink)) * 0x9e3779b97f4a7c15ull));
    }
};

// Records of one key and source partition, at one sink, and at one subtask
// of it (subtask -1 in the reference groups).
struct GroupKey {
    int sink = 0;
    int subtask = -1;
    uint64_t source_partition = 0;
    std::string_view key;
    bool operator==(const GroupKey&) const = default;
};

struct GroupKeyHash {
    size_t operator()(const GroupKey& k) const {
        uint64_t h = mix64(k.source_partition ^ (uint64_t(uint32_t(k.sink)) << 32) ^
                           uint64_t(uint32_t(k.subtask)));
        return size_t(h ^ std::hash<std::string_view>()(k.key));
    }
};

struct ViolationKey {
    ViolationKind kind = ViolationKind::kLoss;
    int sink = 0;
    std::string_view key;
    bool operator==(const ViolationKey&) const = default;
};

struct ViolationKeyHash {
    size_t operator()(const ViolationKey& k) const {
        uint64_t h = mix64((uint64_t(k.kind) << 32) ^ uint64_t(uint32_t(k.sink)));
        return size_t(h ^ std::hash<std::string_view>()(k.key));
    }
};

// ---------------------------------------------------------------------------
// Comparison state

// One record id of one sink, over both runs.
struct IdState {
    uint64_t id = 0;
    int sink = 0;
    size_t reference_index = kNone;  // first visible copy in the reference
    uint32_t reference_copies = 0;
    uint32_t actual_copies = 0;
    size_t first_actual = kNone;
    uint32_t group = kNoGroup;  // reference group of key and source partition
    uint32_t position = 0;      // position in the group's reference order
};

// The IdState of each (sink, id): an open-addressing hash table over a dense
// vector of states in insertion order. A node-based std::unordered_map spent
// most of the check's time in cache misses at a million ids.
class IdTable {
public:
    explicit IdTable(size_t expected) {
        size_t slots = 16;
        while (slots < expected * 2) {
            slots *= 2;
        }
        slots_.assign(slots, Slot{});
        states_.reserve(expected);
    }

    // Returns the state of (sink, id), inserted if missing. The reference is
    // valid until the next insertion.
    IdState& findOrInsert(int sink, uint64_t id) {
        if ((states_.size() + 1) * 2 > slots_.size()) {
            grow();
        }
        Slot& slot = slots_[probe(sink, id)];
        if (slot.state == kEmpty) {
            slot = Slot{id, sink, uint32_t(states_.size())};
            states_.push_back(IdState{});
            states_.back().id = id;
            states_.back().sink = sink;
        }
        return states_[slot.state];
    }

    const IdState* find(int sink, uint64_t id) const {
        const Slot& slot = slots_[probe(sink, id)];
        return slot.state == kEmpty ? nullptr : &states_[slot.state];
    }

    const std::vector<IdState>& states() const { return states_; }

private:
    static constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();
    struct Slot {
        uint64_t id = 0;
        int sink = 0;
        uint32_t state = kEmpty;
    };

    // The slot of (sink, id), or the empty slot where it belongs.
    size_t probe(int sink, uint64_t id) const {
        size_t mask = slots_.size() - 1;
        size_t at = size_t(mix64(id ^ (uint64_t(uint32_t(sink)) * 0x9e3779b97f4a7c15ull))) & mask;
        while (slots_[at].state != kEmpty && (slots_[at].id != id || slots_[at].sink != sink)) {
            at = (at + 1) & mask;
        }
        return at;
    }

    void grow() {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(old.size() * 2, Slot{});
        for (const Slot& slot : old) {
            if (slot.state != kEmpty) {
                slots_[probe(slot.sink, slot.id)] = slot;
            }
        }
    }

    std::vector<Slot> slots_;  // size is a power of two, at most half full
    std::vector<IdState> states_;
};

// One key and source partition at one sink, in the reference output.
struct ReferenceGroup {
    uint32_t size = 0;
    uint64_t last_offset = 0;
    bool offsets_increasing = true;
    // Furthest reference position that the checked run output, and that copy.
    int64_t furthest_present = -1;
    size_t furthest_index = kNone;
};

// Furthest offset of a group at one subtask of the checked run.
struct SubtaskOrder {
    uint64_t max_offset = 0;
    size_t max_index = kNone;
};

// The records a violation's explanation talks about: indexes into the
// checked store (`actual`, `other`) and the reference store (`reference`).
struct Detail {
    uint64_t id = 0;
    int sink = -1;
    size_t actual = kNone;
    size_t other = kNone;
    size_t reference = kNone;
    size_t shown_at = kNone;  // the checked record whose visibility shows it
};

struct Pending {
    Violation violation;
    Detail detail;
};

// ---------------------------------------------------------------------------
// Text

std::string formatSeconds(Nanos ns) {
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%.3f s", double(ns) / double(kNanosPerSecond));
    return buffer;
}

std::string hexId(uint64_t id) {
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "0x%016" PRIx64, id);
    return buffer;
}

std::string timesWord(uint64_t n) {
    if (n == 1) {
        return "once";
    }
    if (n == 2) {
        return "twice";
    }
    return std::to_string(n) + " times";
}

class Explainer {
public:
    Explainer(const ExternalStore& reference, const ExternalStore& actual,
              const CheckOptions& options, const IdTable& ids)
        : reference_(reference), actual_(actual), options_(options), ids_(ids) {}

    std::string explain(ViolationKind kind, const Detail& detail) const;

private:
    bool isSourceId(uint64_t id) const;
    std::string describeRecord(uint64_t id, const std::string& key) const;
    std::string sinkName(int sink) const;
    std::string describeVisibility(size_t actual_index) const;
    std::string lossText(const Detail& detail, const IdState& state) const;
    std::string duplicateText(const Detail& detail, const IdState& state) const;
    std::string unexpectedText(const Detail& detail) const;
    std::string mismatchText(const Detail& detail) const;
    std::string orderText(const Detail& detail) const;

    const ExternalStore& reference_;
    const ExternalStore& actual_;
    const CheckOptions& options_;
    // (sink, key) -> the first source partition seen for it in the reference,
    // and the keys whose records came from more than one.
    std::map<std::pair<int, std::string_view>, uint64_t> partition_of_key_;
    std::set<std::pair<int, std::string_view>> interleaved_keys_;
    const IdTable& ids_;
};

bool Explainer::isSourceId(uint64_t id) const {
    if (options_.source_names.empty()) {
        return true;  // nothing known: read every id as a source id
    }
    size_t op = size_t(operatorOf(id));
    return op < options_.source_names.size() && !options_.source_names[op].empty();
}

std::string Explainer::describeRecord(uint64_t id, const std::string& key) const {
    std::string text = "record " + hexId(id) + " (key '" + key + "', ";
    if (!isSourceId(id)) {
        return text + "derived by an operator)";
    }
    size_t op = size_t(operatorOf(id));
    std::string source = options_.source_names.empty()
                             ? "source " + std::to_string(op)
                             : "source '" + options_.source_names[op] + "'";
    return text + source + " partition " + std::to_string(partitionOf(id)) + " offset " +
           std::to_string(offsetOf(id)) + ")";
}

std::string Explainer::sinkName(int sink) const {
    if (sink >= 0 && size_t(sink) < options_.sink_names.size()) {
        return "sink '" + options_.sink_names[size_t(sink)] + "'";
    }
    return "sink " + std::to_string(sink);
}

std::string Explainer::describeVisibility(size_t actual_index) const {
    std::optional<VisibilityEvent> event = actual_.visibleAt(actual_index);
    std::string text = "at ";
    if (event && event->event_index != kNoEventIndex) {
        text += "event " + std::to_string(event->event_index) +
                " (t=" + formatSeconds(event->time_ns) + ")";
    } else if (event && event->time_ns >= 0) {
        text += "t=" + formatSeconds(event->time_ns);
    } else {
        text += "an unknown time";
    }
    int64_t transaction = actual_.records()[actual_index].transaction;
    if (transaction >= 0) {
        text += " in transaction " + std::to_string(transaction);
    }
    return text;
}

std::string Explainer::lossText(const Detail& detail, const IdState& state) const {
    const StoredRecord& lost = reference_.records()[detail.reference];
    std::string text = describeRecord(detail.id, lost.record.key) + " at " + sinkName(detail.sink) +
                       " is missing: ";
    if (state.actual_copies == 0) {
        text += "the reference run output it and the checked run did not";
    } else {
        text += "the checked run output it " + timesWord(state.actual_copies) +
                ", the reference run " + timesWord(state.reference_copies);
    }
    if (detail.actual != kNone) {
        const StoredRecord& later = actual_.records()[detail.actual];
        text += ", although record " + hexId(later.record.id) + " (offset " +
                std::to_string(offsetOf(later.record.id)) +
                "), which follows it in the reference output of this key and source "
                "partition, became visible " +
                describeVisibility(detail.actual);
    }
    return text;
}

std::string Explainer::duplicateText(const Detail& detail, const IdState& state) const {
    const StoredRecord& first = actual_.records()[detail.actual];
    const StoredRecord& again = actual_.records()[detail.other];
    std::string verb = "made visible";
    if (first.transaction >= 0 && again.transaction >= 0) {
        verb = "committed";
    } else if (first.transaction < 0 && again.transaction < 0) {
        verb = "written";
    }
    return describeRecord(detail.id, first.record.key) + " at " + sinkName(detail.sink) + " was " +
           verb + " " + timesWord(state.actual_copies) + ", " + timesWord(state.reference_copies) +
           " in the reference run: first " + describeVisibility(detail.actual) + ", again " +
           describeVisibility(detail.other);
}

std::string Explainer::unexpectedText(const Detail& detail) const {
    const StoredRecord& record = actual_.records()[detail.actual];
    return describeRecord(detail.id, record.record.key) + " with value " +
           std::to_string(record.record.value) + " at " + sinkName(detail.sink) +
           " became visible " + describeVisibility(detail.actual) +
           ", but the reference run never wrote it";
}

std::string Explainer::mismatchText(const Detail& detail) const {
    const Record& got = actual_.records()[detail.actual].record;
    const Record& expected = reference_.records()[detail.reference].record;
    std::string text = describeRecord(detail.id, got.key) + " at " + sinkName(detail.sink) +
                       " became visible " + describeVisibility(detail.actual) + " with ";
    if (got.key != expected.key) {
        return text + "key '" + got.key + "' and value " + std::to_string(got.value) +
               ", but the reference run output key '" + expected.key + "' and value " +
               std::to_string(expected.value);
    }
    return text + "value " + std::to_string(got.value) + ", but the reference run output value " +
           std::to_string(expected.value);
}

std::string Explainer::orderText(const Detail& detail) const {
    const StoredRecord& late = actual_.records()[detail.actual];
    const StoredRecord& early = actual_.records()[detail.other];
    return describeRecord(detail.id, late.record.key) + " at " + sinkName(detail.sink) +
           " subtask " + std::to_string(late.subtask) + " became visible " +
           describeVisibility(detail.actual) + ", after record " + hexId(early.record.id) +
           " with the higher offset " + std::to_string(offsetOf(early.record.id)) +
           ", which became visible " + describeVisibility(detail.other) +
           "; the reference run output this key's records of that source partition in "
           "offset order";
}

std::string Explainer::explain(ViolationKind kind, const Detail& detail) const {
    const IdState& state = *ids_.find(detail.sink, detail.id);
    switch (kind) {
        case ViolationKind::kLoss:
            return lossText(detail, state);
        case ViolationKind::kDuplicate:
            return duplicateText(detail, state);
        case ViolationKind::kUnexpected:
            return unexpectedText(detail);
        case ViolationKind::kValueMismatch:
            return mismatchText(detail);
        case ViolationKind::kOrder:
            return orderText(detail);
        default:
            return {};
    }
}

// ---------------------------------------------------------------------------
// The comparison of the two outputs

class OutputComparison {
public:
    OutputComparison(const ExternalStore& reference, const ExternalStore& actual,
                     const CheckOptions& options)
        : reference_(reference), actual_(actual), options_(options) {}

    // Compares the outputs, given as visibleIndexes() of each store, and
    // appends violations to `pending` and counts to `verdict`.
    void run(const std::vector<size_t>& reference_visible,
             const std::vector<size_t>& actual_visible, Verdict& verdict,
             std::vector<Pending>& pending);
    const IdTable& ids() const { return ids_; }

private:
    bool takesPartInGroups(uint64_t id) const;
    void indexReference(const std::vector<size_t>& visible);
    bool referenceWroteInvisible(int sink, uint64_t id);
    bool matchesReference(const IdState& state, const StoredRecord& stored) const;
    void scanActual(const std::vector<size_t>& visible);
    void checkOrder(IdState& state, size_t index);
    void checkCopies(IdState& state, size_t index);
    void findLosses();
    void report(ViolationKind kind, const std::string& key, uint64_t affected,
                const Detail& detail);

    const ExternalStore& reference_;
    const ExternalStore& actual_;
    const CheckOptions& options_;
    // (sink, key) -> the first source partition seen for it in the reference,
    // and the keys whose records came from more than one.
    std::map<std::pair<int, std::string_view>, uint64_t> partition_of_key_;
    std::set<std::pair<int, std::string_view>> interleaved_keys_;
    bool full_comparison_ = false;
    IdTable ids_{0};
    // Further reference copies of ids that the reference output more than once.
    std::unordered_map<RecordKey, std::vector<size_t>, RecordKeyHash> extra_reference_;
    // Ids the reference wrote but never made visible, such as replaced
    // upserts; collected on first use.
    std::unordered_set<RecordKey, RecordKeyHash> invisible_reference_;
    bool invisible_reference_collected_ = false;
    std::vector<ReferenceGroup> groups_;
    std::unordered_map<GroupKey, uint32_t, GroupKeyHash> group_of_;
    std::unordered_map<GroupKey, SubtaskOrder, GroupKeyHash> subtask_order_;
    std::unordered_map<ViolationKey, size_t, ViolationKeyHash> violation_of_;
    Verdict* verdict_ = nullptr;
    std::vector<Pending>* pending_ = nullptr;
};

bool OutputComparison::takesPartInGroups(uint64_t id) const {
    if (options_.source_names.empty()) {
        return true;
    }
    size_t op = size_t(operatorOf(id));
    return op < options_.source_names.size() && !options_.source_names[op].empty();
}

void OutputComparison::run(const std::vector<size_t>& reference_visible,
                           const std::vector<size_t>& actual_visible, Verdict& verdict,
                           std::vector<Pending>& pending) {
    verdict_ = &verdict;
    pending_ = &pending;
    full_comparison_ = options_.reference_finished && options_.job_finished;
    verdict.compared_prefix = !full_comparison_;
    ids_ = IdTable(reference_visible.size() + reference_visible.size() / 8);
    indexReference(reference_visible);
    scanActual(actual_visible);
    findLosses();
}

void OutputComparison::indexReference(const std::vector<size_t>& visible) {
    for (size_t index : visible) {
        const StoredRecord& stored = reference_.records()[index];
        IdState& state = ids_.findOrInsert(stored.sink, stored.record.id);
        if (state.reference_copies++ > 0) {
            extra_reference_[RecordKey{stored.sink, stored.record.id}].push_back(index);
            continue;
        }
        state.reference_index = index;
        if (!takesPartInGroups(stored.record.id)) {
            continue;
        }
        GroupKey key{stored.sink, -1, sourcePartitionOf(stored.record.id), stored.record.key};
        auto [it, inserted] = group_of_.try_emplace(key, uint32_t(groups_.size()));
        if (inserted) {
            groups_.emplace_back();
        }
        auto [partition, merged] = partition_of_key_.try_emplace(
            std::make_pair(stored.sink, std::string_view(stored.record.key)),
            sourcePartitionOf(stored.record.id));
        if (!merged && partition->second != sourcePartitionOf(stored.record.id)) {
            interleaved_keys_.insert(partition->first);
        }
        ReferenceGroup& group = groups_[it->second];
        uint64_t offset = offsetOf(stored.record.id);
        if (group.size > 0 && offset <= group.last_offset) {
            group.offsets_increasing = false;
        }
        group.last_offset = offset;
        state.group = it->second;
        state.position = group.size++;
    }
}

bool OutputComparison::referenceWroteInvisible(int sink, uint64_t id) {
    if (!invisible_reference_collected_) {
        invisible_reference_collected_ = true;
        for (const StoredRecord& stored : reference_.records()) {
            const IdState* state = ids_.find(stored.sink, stored.record.id);
            if (!state || state->reference_copies == 0) {
                invisible_reference_.insert(RecordKey{stored.sink, stored.record.id});
            }
        }
    }
    return invisible_reference_.count(RecordKey{sink, id}) > 0;
}

bool OutputComparison::matchesReference(const IdState& state, const StoredRecord& stored) const {
    auto same = [&stored](const StoredRecord& expected) {
        return expected.record.key == stored.record.key &&
               expected.record.value == stored.record.value;
    };
    if (same(reference_.records()[state.reference_index])) {
        return true;
    }
    auto extra = extra_reference_.find(RecordKey{stored.sink, stored.record.id});
    if (extra == extra_reference_.end()) {
        return false;
    }
    return std::any_of(extra->second.begin(), extra->second.end(),
                       [&](size_t index) { return same(reference_.records()[index]); });
}

void OutputComparison::scanActual(const std::vector<size_t>& visible) {
    for (size_t index : visible) {
        const StoredRecord& stored = actual_.records()[index];
        IdState& state = ids_.findOrInsert(stored.sink, stored.record.id);
        if (state.actual_copies == 0) {
            state.first_actual = index;
            checkOrder(state, index);
        }
        ++state.actual_copies;
        checkCopies(state, index);
    }
}

void OutputComparison::checkOrder(IdState& state, size_t index) {
    if (state.reference_copies == 0 || state.group == kNoGroup) {
        return;
    }
    ReferenceGroup& group = groups_[state.group];
    if (int64_t(state.position) > group.furthest_present) {
        group.furthest_present = int64_t(state.position);
        group.furthest_index = index;
    }
    // At-least-once output replays records after a failure, so a record
    // whose first write was lost can follow later ones. Only exactly-once
    // output keeps the order.
    if (!group.offsets_increasing || options_.guarantee != scenario::EXACTLY_ONCE_OUTPUT) {
        return;
    }
    const StoredRecord& stored = actual_.records()[index];
    uint64_t offset = offsetOf(stored.record.id);
    GroupKey key{stored.sink, stored.subtask, sourcePartitionOf(stored.record.id),
                 stored.record.key};
    auto [it, inserted] = subtask_order_.try_emplace(key);
    SubtaskOrder& order = it->second;
    if (!inserted && offset < order.max_offset) {
        Detail detail{stored.record.id, stored.sink, index, order.max_index, kNone, index};
        report(ViolationKind::kOrder, stored.record.key, 1, detail);
        return;
    }
    order.max_offset = offset;
    order.max_index = index;
}

void OutputComparison::checkCopies(IdState& state, size_t index) {
    const StoredRecord& stored = actual_.records()[index];
    RecordKey key{stored.sink, stored.record.id};
    // A key fed by several source partitions merges them in an order that
    // depends on timing, which a failure changes. So a running aggregate's
    // value for one record may differ, and checkFinalState in run_check.cpp
    // compares the final keyed state instead.
    bool interleaved =
        interleaved_keys_.count(std::make_pair(stored.sink, std::string_view(stored.record.key)));
    if (state.reference_copies > 0 && !interleaved && !matchesReference(state, stored)) {
        Detail detail{key.id, key.sink, index, kNone, state.reference_index, index};
        report(ViolationKind::kValueMismatch, stored.record.key, 1, detail);
    }
    uint32_t allowed = state.reference_copies;
    if (allowed == 0 && referenceWroteInvisible(key.sink, key.id)) {
        allowed = 1;  // the reference wrote it, but it was replaced or is not committed yet
    }
    if (allowed == 0) {
        // An id the reference never wrote is unexpected only if the reference
        // finished; otherwise the checked run may have got further.
        if (options_.reference_finished) {
            Detail detail{key.id, key.sink, state.first_actual, kNone, kNone, index};
            report(ViolationKind::kUnexpected, stored.record.key, 1, detail);
        }
        return;
    }
    if (state.actual_copies <= allowed) {
        return;
    }
    if (options_.guarantee == scenario::AT_LEAST_ONCE_OUTPUT) {
        ++verdict_->tolerated_duplicates;
        return;
    }
    Detail detail{key.id, key.sink, state.first_actual, index, kNone, index};
    report(ViolationKind::kDuplicate, stored.record.key, 1, detail);
}

void OutputComparison::findLosses() {
    // States are in insertion order, so the reference's ids come first, in
    // the reference's visible order.
    for (const IdState& state : ids_.states()) {
        if (state.reference_copies == 0) {
            break;
        }
        if (state.actual_copies >= state.reference_copies) {
            continue;
        }
        size_t index = state.reference_index;
        const StoredRecord& stored = reference_.records()[index];
        const ReferenceGroup* group = state.group == kNoGroup ? nullptr : &groups_[state.group];
        bool followed = group && group->furthest_present > int64_t(state.position);
        if (!full_comparison_ && !followed) {
            continue;  // the checked run may not have reached this record
        }
        size_t witness = followed ? group->furthest_index : kNone;
        Detail detail{stored.record.id, stored.sink, witness, kNone, index, witness};
        report(ViolationKind::kLoss, stored.record.key,
               state.reference_copies - state.actual_copies, detail);
    }
}

void OutputComparison::report(ViolationKind kind, const std::string& key, uint64_t affected,
                              const Detail& detail) {
    verdict_->counts[size_t(kind)] += affected;
    auto [it, inserted] =
        violation_of_.try_emplace(ViolationKey{kind, detail.sink, key}, pending_->size());
    if (inserted) {
        Pending added;
        added.violation.kind = kind;
        added.violation.sink = detail.sink;
        added.violation.key = key;
        added.detail = detail;
        if (detail.shown_at != kNone) {
            std::optional<VisibilityEvent> event = actual_.visibleAt(detail.shown_at);
            if (event) {
                added.violation.event_index = event->event_index;
                added.violation.time_ns = event->time_ns;
            }
        }
        pending_->push_back(std::move(added));
    }
    Violation& violation = (*pending_)[it->second].violation;
    violation.count += affected;
    if (violation.record_ids.size() < options_.max_record_ids) {
        violation.record_ids.push_back(detail.id);
    }
}

// ---------------------------------------------------------------------------
// Liveness and recovery

Pending runViolation(ViolationKind kind, Nanos time_ns, std::string explanation) {
    Pending pending;
    pending.violation.kind = kind;
    pending.violation.count = 1;
    pending.violation.time_ns = time_ns;
    pending.violation.explanation = std::move(explanation);
    return pending;
}

void checkLiveness(const ExternalStore& actual, const CheckOptions& options, Verdict& verdict,
                   std::vector<Pending>& pending) {
    if (options.job_failed) {
        std::string cause =
            options.failure_cause.empty() ? "no cause given" : options.failure_cause;
        pending.push_back(
            runViolation(ViolationKind::kJobFailed, options.end_ns, "the job failed: " + cause));
        verdict.counts[size_t(ViolationKind::kJobFailed)] += 1;
        return;
    }
    if (options.last_fault_ns < 0 || options.job_finished) {
        return;
    }
    VisibilityEvent last = actual.lastVisibility();
    if (last.time_ns > options.last_fault_ns) {
        return;
    }
    std::string text =
        "the job did not finish, and no output became visible after the last "
        "fault at t=" +
        formatSeconds(options.last_fault_ns);
    if (last.time_ns >= 0) {
        text += "; the last output became visible at ";
        if (last.event_index != kNoEventIndex) {
            text += "event " + std::to_string(last.event_index) +
                    " (t=" + formatSeconds(last.time_ns) + ")";
        } else {
            text += "t=" + formatSeconds(last.time_ns);
        }
    } else {
        text += "; no output became visible at all";
    }
    Nanos time = options.end_ns >= 0 ? options.end_ns : options.last_fault_ns;
    pending.push_back(runViolation(ViolationKind::kNoProgress, time, text));
    verdict.counts[size_t(ViolationKind::kNoProgress)] += 1;
}

void checkRecoveries(const CheckOptions& options, Verdict& verdict, std::vector<Pending>& pending) {
    if (options.max_recovery_ns <= 0) {
        return;
    }
    for (const Recovery& recovery : options.recoveries) {
        bool finished = recovery.running_at_ns >= 0;
        Nanos end = finished ? recovery.running_at_ns : options.end_ns;
        if (end < 0 || end - recovery.failed_at_ns <= options.max_recovery_ns) {
            continue;
        }
        std::string text =
            "the recovery from the failure at t=" + formatSeconds(recovery.failed_at_ns);
        if (finished) {
            text += " took " + formatSeconds(end - recovery.failed_at_ns);
        } else {
            text += " had not finished when the run stopped at t=" + formatSeconds(end) + ", " +
                    formatSeconds(end - recovery.failed_at_ns) + " later";
        }
        text += ", more than the maximum of " + formatSeconds(options.max_recovery_ns);
        // The violation shows when the limit passed.
        Nanos time = recovery.failed_at_ns + options.max_recovery_ns;
        pending.push_back(runViolation(ViolationKind::kRecoveryTooSlow, time, text));
        verdict.counts[size_t(ViolationKind::kRecoveryTooSlow)] += 1;
    }
}

// Orders violations by the time they show, those without a time last, and
// keeps the first max_violations.
void finish(std::vector<Pending>& pending, const CheckOptions& options, const Explainer& explainer,
            Verdict& verdict) {
    std::stable_sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
        const Violation& x = a.violation;
        const Violation& y = b.violation;
        return std::make_tuple(x.time_ns < 0, x.time_ns, x.event_index) <
               std::make_tuple(y.time_ns < 0, y.time_ns, y.event_index);
    });
    size_t retained = std::min(pending.size(), options.max_violations);
    verdict.omitted_violations = pending.size() - retained;
    verdict.violations.reserve(retained);
    for (size_t i = 0; i < retained; ++i) {
        Violation& violation = pending[i].violation;
        if (violation.explanation.empty()) {
            violation.explanation = explainer.explain(violation.kind, pending[i].detail);
        }
        verdict.violations.push_back(std::move(violation));
    }
    verdict.pass = pending.empty();
}

}  // namespace

Verdict checkExactlyOnce(const ExternalStore& reference, const ExternalStore& actual,
                         const CheckOptions& options) {
    Verdict verdict;
    std::vector<Pending> pending;
    std::vector<size_t> reference_visible = reference.visibleIndexes();
    std::vector<size_t> actual_visible = actual.visibleIndexes();
    verdict.reference_records = reference_visible.size();
    verdict.actual_records = actual_visible.size();
    OutputComparison comparison(reference, actual, options);
    if (options.guarantee != scenario::NO_GUARANTEE) {
        comparison.run(reference_visible, actual_visible, verdict, pending);
    }
    checkLiveness(actual, options, verdict, pending);
    checkRecoveries(options, verdict, pending);
    Explainer explainer(reference, actual, options, comparison.ids());
    finish(pending, options, explainer, verdict);
    return verdict;
}

std::string Verdict::summary() const {
    if (pass) {
        std::string text = "PASS: " + std::to_string(actual_records) +
                           " visible records checked against " + std::to_string(reference_records) +
                           " of the reference";
        if (tolerated_duplicates > 0) {
            text += ", " + std::to_string(tolerated_duplicates) +
                    " duplicates allowed by at-least-once";
        }
        if (compared_prefix) {
            text +=
                "; a run stopped at its time limit, so only the prefix the run reached "
                "was compared";
        }
        return text;
    }
    std::string text = "FAIL (";
    bool first = true;
    for (size_t kind = 0; kind < kViolationKindCount; ++kind) {
        if (counts[kind] == 0) {
            continue;
        }
        text += (first ? "" : ", ") + std::string(violationKindName(ViolationKind(kind))) + ": " +
                std::to_string(counts[kind]);
        first = false;
    }
    if (violations.empty()) {
        return text + ")";
    }
    text += "): " + violations.front().explanation;
    size_t more = violations.size() - 1 + omitted_violations;
    if (more > 0) {
        // The counts above are of records; violations group them by kind,
        // sink and key.
        text += " (" + std::to_string(more) + " more violations, one per kind, sink and key)";
    }
    return text;
}

}  // namespace sluice::sim
