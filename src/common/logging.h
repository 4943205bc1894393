// Logging: spdlog, one process-wide logger configured once at startup by main().
//
// Use the spdlog free functions (spdlog::info, spdlog::warn, ...) with fmt
// format strings. Log lines carry the role name so that the logs of a local
// cluster, which share a directory, stay readable.
//
// Thread-safety: spdlog's default logger is thread-safe; InitLogging must be
// called before any other thread starts.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "common/status.h"

namespace strata {

// `level`: trace, debug, info, warn, error. `file`: empty for stderr.
Status InitLogging(const std::string& role, const std::string& level, const std::string& file = "");

}  // namespace strata
