#include "loader/source_passes.h"

#include <thread>

#include "core/base/logging.h"
#include "core/base/strings.h"

namespace predstore {

absl::Status RunPasses(std::string_view name, const PassSchedule& schedule, const std::function<absl::Status()>& pass) {
  auto failing_since = std::chrono::steady_clock::time_point::max();
  for (;;) {
    const absl::Status status = pass();
    if (status.ok()) {
      failing_since = std::chrono::steady_clock::time_point::max();
      if (schedule.once) return absl::OkStatus();
    } else if (absl::IsUnavailable(status) || absl::IsCancelled(status) || absl::IsDeadlineExceeded(status)) {
      // The server went away: retry from its committed position once it is back.
      const auto now = std::chrono::steady_clock::now();
      if (failing_since == std::chrono::steady_clock::time_point::max()) failing_since = now;
      if (now - failing_since > schedule.retry_for) return status;
      LogWarning(name, ": ", FromAbsl(status.message()), "; retrying");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    } else {
      return status;
    }
    std::this_thread::sleep_for(schedule.poll_interval);
  }
}

}  // namespace predstore
