#include "ui/logging_categories.h"

Q_LOGGING_CATEGORY(lcUiApp, "sluice.ui.app")
Q_LOGGING_CATEGORY(lcUiSession, "sluice.ui.session")
Q_LOGGING_CATEGORY(lcUiMain, "sluice.ui.main")
Q_LOGGING_CATEGORY(lcUiGraph, "sluice.ui.graph")
Q_LOGGING_CATEGORY(lcUiTransport, "sluice.ui.transport")
Q_LOGGING_CATEGORY(lcUiTimeline, "sluice.ui.timeline")
Q_LOGGING_CATEGORY(lcUiFaults, "sluice.ui.faults")
Q_LOGGING_CATEGORY(lcUiVerdict, "sluice.ui.verdict")
Q_LOGGING_CATEGORY(lcUiEvents, "sluice.ui.events")
Q_LOGGING_CATEGORY(lcUiMetrics, "sluice.ui.metrics")
Q_LOGGING_CATEGORY(lcUiCheckpoints, "sluice.ui.checkpoints")
