// Renders load progress as one terminal line, rewritten in place:
// "reading  3.2M rows  1.1M rows/s  45%  ETA 6s". Used only when stderr is
// a terminal. Not thread-safe.
#pragma once

#include <string>

#include "core/ingest/batch_load.h"

namespace predstore {

// The text of one progress line (no carriage return or newline).
std::string ProgressLine(const LoadProgress& progress);

}  // namespace predstore
