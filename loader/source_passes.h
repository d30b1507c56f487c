// How a stream source repeats its passes (one pass: send everything new,
// commit, return): once, or forever every poll interval; a pass that fails
// because the server went away (UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED)
// is retried every 200 ms, resuming from the server's committed position,
// for up to retry_for; any other failure ends the source. Shared by the
// folder and Delta sources.
#pragma once

#include <chrono>
#include <functional>
#include <string_view>

#include "absl/status/status.h"

namespace predstore {

struct PassSchedule {
  bool once = false;
  std::chrono::milliseconds poll_interval{500};
  std::chrono::milliseconds retry_for{std::chrono::minutes(5)};
};

// Runs `pass` on `schedule`; `name` (e.g. "folder source S") prefixes the
// retry warnings.
absl::Status RunPasses(std::string_view name, const PassSchedule& schedule, const std::function<absl::Status()>& pass);

}  // namespace predstore
