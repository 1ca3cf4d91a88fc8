#pragma once

#include <QString>

#include <string>

namespace sluice::test {

// Absolute path of a file in the source tree, such as "scenarios/wordcount.textproto".
inline std::string sourcePath(const std::string& relative) {
    return std::string(SLUICE_SOURCE_DIR) + "/" + relative;
}

// Absolute path of a built executable, such as "sluice-run".
inline std::string binaryPath(const std::string& name) {
    return std::string(SLUICE_BIN_DIR) + "/" + name;
}

}  // namespace sluice::test
