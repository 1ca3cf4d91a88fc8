#include "ui/checkpoint_diagnosis.h"

#include <QCoreApplication>
#include <QLocale>
#include <QStringList>

#include <algorithm>
#include <array>

namespace sluice::ui {

namespace {

QString tr(const char* text) {
    return QCoreApplication::translate("CheckpointDiagnosis", text);
}

QString msText(double ms) {
    return QStringLiteral("%1 ms").arg(ms, 0, 'f', ms < 10 ? 3 : 1);
}

QString bytesText(int64_t bytes) {
    return QLocale().formattedDataSize(bytes, 1, QLocale::DataSizeTraditionalFormat);
}

// Up to three labels, then how many more.
QString someLabels(const std::vector<const CheckpointGanttRow*>& rows) {
    QStringList labels;
    for (size_t i = 0; i < rows.size() && i < 3; ++i) {
        labels << rows[i]->label.toHtmlEscaped();
    }
    QString text = labels.join(QStringLiteral(", "));
    if (rows.size() > 3) {
        text += tr(" and %1 more").arg(rows.size() - 3);
    }
    return text;
}

QString explainUnacknowledged(const protocol::CheckpointDetail& checkpoint,
                              const std::vector<CheckpointGanttRow>& rows) {
    std::vector<const CheckpointGanttRow*> no_barrier;
    std::vector<const CheckpointGanttRow*> aligning;
    std::vector<const CheckpointGanttRow*> writing;
    for (const CheckpointGanttRow& row : rows) {
        if (row.acknowledged) {
            continue;
        }
        if (row.first_barrier_ms < 0 && row.snapshot_ms < 0) {
            no_barrier.push_back(&row);
        } else if (row.snapshot_ms < 0) {
            aligning.push_back(&row);
        } else {
            writing.push_back(&row);
        }
    }
    size_t missing = no_barrier.size() + aligning.size() + writing.size();
    if (missing == 0) {
        return {};
    }
    bool failed = checkpoint.mark().status() == "FAILED";
    QString text = tr("%1 of %2 subtasks had not acknowledged %3:")
                       .arg(missing)
                       .arg(rows.size())
                       .arg(failed ? tr("when the checkpoint failed") : tr("yet"));
    QStringList parts;
    if (!no_barrier.empty()) {
        parts << tr("%1 never received the barrier (%2). The barrier was queued behind "
                    "in-flight records upstream, which points to backpressure; unaligned "
                    "checkpoints let barriers overtake buffered data.")
                     .arg(no_barrier.size())
                     .arg(someLabels(no_barrier));
    }
    if (!aligning.empty()) {
        parts << tr("%1 had a barrier on some input channels but still waited for the others "
                    "(%2): an upstream subtask was slow to forward it.")
                     .arg(aligning.size())
                     .arg(someLabels(aligning));
    }
    if (!writing.empty()) {
        parts << tr("%1 had taken the snapshot but not finished writing it (%2): the upload of "
                    "state or in-flight data was slow.")
                     .arg(writing.size())
                     .arg(someLabels(writing));
    }
    return text + QStringLiteral(" ") + parts.join(QStringLiteral(" "));
}

QString explainSlowest(const CheckpointGanttRow& row) {
    double aligned_ms = row.start_delay_ms + row.alignment_ms;
    double sync_from_ms = row.ack_ms - row.async_ms - row.sync_ms;
    // An unaligned checkpoint's alignment overlaps its snapshot; only the
    // part before the snapshot delays the acknowledgement.
    double alignment_ms = std::max(0.0, std::min(aligned_ms, sync_from_ms) - row.start_delay_ms);
    double wait_ms = std::max(0.0, sync_from_ms - aligned_ms);
    std::array<double, 5> shares = {row.start_delay_ms, alignment_ms, wait_ms, row.sync_ms,
                                    row.async_ms};
    size_t largest = size_t(std::max_element(shares.begin(), shares.end()) - shares.begin());
    QString head = tr("Slowest subtask: <b>%1</b>, acknowledged %2 after the trigger. ")
                       .arg(row.label.toHtmlEscaped(), msText(row.ack_ms));
    int percent = row.ack_ms > 0 ? int(100 * shares[largest] / row.ack_ms + 0.5) : 0;
    switch (largest) {
        case 0:
            if (row.unaligned) {
                return head + tr("The barrier reached it after %1 (%2% of that), although it "
                                 "overtakes buffered data: the upstream subtask sent it late, or "
                                 "no network credit was free to send it.")
                                  .arg(msText(row.start_delay_ms))
                                  .arg(percent);
            }
            return head + tr("The barrier reached it after %1 (%2% of that): it was queued behind "
                             "in-flight records upstream, which points to backpressure. Unaligned "
                             "checkpoints let barriers overtake buffered data.")
                              .arg(msText(row.start_delay_ms))
                              .arg(percent);
        case 1:
            return head + tr("It waited %1 (%2% of that) for the barriers of its other input "
                             "channels (alignment), processing %3 of in-flight data meanwhile: an "
                             "upstream subtask forwarded the barrier late.")
                              .arg(msText(alignment_ms))
                              .arg(percent)
                              .arg(bytesText(row.processed_bytes));
        case 2:
            return head + tr("It took its snapshot %1 after its last barrier (%2% of that), busy "
                             "with records it had already taken in.")
                              .arg(msText(wait_ms))
                              .arg(percent);
        case 3:
            return head + tr("Its synchronous snapshot took %1 (%2% of that) for %3 of state.")
                              .arg(msText(row.sync_ms))
                              .arg(percent)
                              .arg(bytesText(row.state_size_bytes));
        default: {
            QString text =
                tr("Writing its snapshot took %1 (%2% of that): %3 of state and %4 of "
                   "persisted in-flight data.")
                    .arg(msText(row.async_ms))
                    .arg(percent)
                    .arg(bytesText(row.state_size_bytes), bytesText(row.persisted_bytes));
            if (row.unaligned && aligned_ms > sync_from_ms) {
                text += tr(" An unaligned snapshot persists in-flight data until the barriers of "
                           "all input channels arrived, the last at +%1: an upstream subtask "
                           "forwarded its barrier late.")
                            .arg(msText(aligned_ms));
            }
            return head + text;
        }
    }
}

}  // namespace

QString diagnoseCheckpoint(const protocol::CheckpointDetail& checkpoint,
                           const std::vector<CheckpointGanttRow>& rows) {
    if (rows.empty()) {
        return {};
    }
    QString unacknowledged = explainUnacknowledged(checkpoint, rows);
    if (!unacknowledged.isEmpty()) {
        return unacknowledged;
    }
    // Rows come slowest first.
    return explainSlowest(rows.front());
}

}  // namespace sluice::ui
