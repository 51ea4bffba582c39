// Runs a capture through the real pipeline (capture -> decoder -> flows ->
// analyzers) into a MemorySink.
#pragma once

#include <string>
#include <vector>

#include "common/ip.h"
#include "support/engine.h"

namespace tapir::testing {

inline std::string ip_text(const std::string& raw) { return ip_bytes_to_string(raw); }

}  // namespace tapir::testing
