#include "ui/logging_categories.h"

Q_LOGGING_CATEGORY(lcUiApp, "sluice.ui.app")
