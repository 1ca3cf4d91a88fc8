#pragma once

#include "proto/engine_protocol.pb.h"

#include <QWidget>

class QLabel;
class QListWidget;
class QListWidgetItem;
class QPushButton;

namespace sluice::ui {

// The exactly-once verdict of the run: PASS or FAIL in large letters, the
// first violation in plain words, and every violation and warning. A button
// and a click on the first violation request a seek to the event where that
// violation became observable.
class VerdictPanel : public QWidget {
    Q_OBJECT

public:
    explicit VerdictPanel(QWidget* parent = nullptr);

    void setVerdict(const protocol::Verdict& verdict);
    // Sets whether the run is over, so the panel can explain why no verdict
    // shows yet.
    void setRunOver(bool over);
    void clear();
    // "PASS", "FAIL" or "" while the run has no verdict.
    QString verdictText() const;
    QString explanation() const;
    QPushButton* seekButton() const { return seek_button_; }
    QListWidget* violationList() const { return violations_; }

Q_SIGNALS:
    void seekRequested(uint64_t event_index);

private:
    void onItemActivated(QListWidgetItem* item);

    QLabel* headline_;
    QLabel* explanation_;
    QPushButton* seek_button_;
    QListWidget* violations_;
    protocol::Verdict verdict_;
};

}  // namespace sluice::ui
