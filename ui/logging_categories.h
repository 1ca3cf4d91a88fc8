#pragma once

#include <QLoggingCategory>

// One logging category per UI component.
Q_DECLARE_LOGGING_CATEGORY(lcUiApp)
