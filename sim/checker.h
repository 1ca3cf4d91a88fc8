#pragma once

#include "proto/scenario.pb.h"
#include "runtime/core/types.h"
#include "sim/external_store.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::sim {

// The exactly-once checker compares the visible output of the external store
// after a run with faults against the failure-free reference run of the same
// scenario and seed. Operators keep or derive record ids deterministically,
// so the same logical output record has the same id in both runs.

enum class ViolationKind : uint8_t {
    kLoss,             // a record of the reference output is missing
    kDuplicate,        // more copies of a record than in the reference output
    kUnexpected,       // a record that the finished reference run never wrote
    kOrder,            // one key's records of one source partition out of offset order
    kValueMismatch,    // a record with the reference's id but another key or value
    kNoProgress,       // no output after the last fault, and the job did not finish
    kRecoveryTooSlow,  // a recovery took longer than the scenario allows
    kJobFailed,        // the job failed for good
    kStateMismatch,    // the final keyed state differs from the reference's
};
constexpr size_t kViolationKindCount = 9;
// Lower-case name, such as "loss" or "value mismatch".
const char* violationKindName(ViolationKind kind);

// One failure of the checked run and its recovery.
struct Recovery {
    Nanos failed_at_ns = 0;
    // When the job was running again; -1 if it was still recovering when the
    // run stopped.
    Nanos running_at_ns = -1;
};

struct CheckOptions {
    scenario::Guarantee guarantee = scenario::EXACTLY_ONCE_OUTPUT;
    // Time of the last injected fault; -1 if no fault fired.
    Nanos last_fault_ns = -1;
    // Longest allowed recovery; 0 means no limit.
    Nanos max_recovery_ns = 0;
    std::vector<Recovery> recoveries;
    // Simulated time at which the checked run stopped; -1 if unknown. A
    // recovery still running at that time counts as lasting until then.
    Nanos end_ns = -1;
    // How the two runs ended. When both jobs finished, every reference record
    // must be in the output. When either run stopped at its time limit, the
    // check compares only the prefix of each key and source partition that
    // the checked run reached, as checkExactlyOnce describes.
    bool job_finished = false;
    bool reference_finished = false;
    // The checked job failed for good, such as after its restart strategy
    // gave up, with the cause the JobManager reported.
    bool job_failed = false;
    std::string failure_cause;

    // Names for explanations, all optional. source_names is indexed by
    // scenario operator index and contains the id of each source operator and
    // an empty string for the other operators. When it is set, only ids of
    // listed sources are read as (source, partition, offset), and the order
    // and prefix checks skip records with derived ids.
    std::vector<std::string> source_names;
    std::vector<std::string> sink_names;  // by sink index

    // Size limits of the verdict; the counts cover every affected record.
    size_t max_violations = 1000;
    size_t max_record_ids = 8;  // per violation
};

// Options for a scenario: its expected guarantee, maximum recovery time and
// operator names. The caller sets the fields that describe the runs.
CheckOptions checkOptionsFor(const scenario::Scenario& scenario);

// One violated property, for one sink and key where that applies. Records of
// the same kind, sink and key are grouped into one violation.
struct Violation {
    ViolationKind kind = ViolationKind::kLoss;
    int sink = -1;  // -1: not about one sink
    std::string key;
    std::vector<uint64_t> record_ids;  // the first CheckOptions::max_record_ids
    uint64_t count = 0;                // affected records, or slow recoveries
    // Where the violation shows in the checked run, for the first affected
    // record. Both are unknown (kNoEventIndex and -1) when the run has no such
    // point, as for a record lost at the end.
    uint64_t event_index = kNoEventIndex;
    Nanos time_ns = -1;
    std::string explanation;  // the first affected record, in plain words
};

struct Verdict {
    bool pass = true;
    // Ordered by time_ns, those without a time last; at most
    // CheckOptions::max_violations.
    std::vector<Violation> violations;
    uint64_t omitted_violations = 0;
    // Affected records per ViolationKind (slow recoveries for kRecoveryTooSlow).
    std::array<uint64_t, kViolationKindCount> counts{};
    uint64_t reference_records = 0;  // visible in the reference store
    uint64_t actual_records = 0;     // visible in the checked store
    // Copies beyond the reference's that AT_LEAST_ONCE_OUTPUT allowed.
    uint64_t tolerated_duplicates = 0;
    // True when a run stopped at its time limit, so only prefixes were
    // compared and losses after the checked run's last output are not known.
    bool compared_prefix = false;

    uint64_t count(ViolationKind kind) const { return counts[size_t(kind)]; }
    // "PASS: ..." or "FAIL: ..." with the counts and the first violation's
    // explanation.
    std::string summary() const;
};

// Compares the visible output of `actual` with `reference`, per sink and key,
// as multisets of (record id, key, value):
//  - loss: fewer copies of a reference record than the reference holds. When
//    a run stopped at its time limit, a reference record counts as lost only
//    if the checked run output a later record of its sink, key and source
//    partition, because the run may simply not have reached it.
//    NOTE: so records with derived ids (windows, timers, flatMap) are in
//    practice never counted as lost then: their ids carry no source partition.
//  - duplicate: more copies than the reference holds; allowed, and counted
//    in tolerated_duplicates, under AT_LEAST_ONCE_OUTPUT.
//  - unexpected: an id that the finished reference run never wrote.
//  - value mismatch: a copy with the reference's id but another key or value,
//    under AT_LEAST_ONCE_OUTPUT too.
//  - order (exactly-once output only): per sink subtask, key and source
//    partition, the first copies of records must become visible in
//    increasing offset order whenever the reference output has them in
//    that order.
// NO_GUARANTEE skips all of these. Every guarantee checks that the job did
// not fail, that output became visible after the last fault unless the job
// finished, and that no recovery exceeded max_recovery_ns. Output includes
// discards only when the store has an event clock (ExternalStore::lastVisibility).
// Both stores must outlive the call. Apart from sorting each store's visible
// records, the work is a few hash-table operations per record.
Verdict checkExactlyOnce(const ExternalStore& reference, const ExternalStore& actual,
                         const CheckOptions& options);

}  // namespace sluice::sim
