#include "core/base/crash_points.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

namespace predstore {

namespace {

// The armed point from PREDSTORE_CRASH_AT: its name, and the how-many-th
// time it fires ("name#N"; plain "name" is "name#1").
struct ArmedPoint {
  std::string name;
  long occurrence = 1;
};

ArmedPoint ReadArmedPoint() {
  const char* value = std::getenv("PREDSTORE_CRASH_AT");
  ArmedPoint armed{value == nullptr ? "" : value};
  if (const size_t hash = armed.name.rfind('#'); hash != std::string::npos) {
    armed.occurrence = std::max(1L, std::strtol(armed.name.c_str() + hash + 1, nullptr, 10));
    armed.name.resize(hash);
  }
  return armed;
}

}  // namespace

void CrashPoint(std::string_view name) {
  static const ArmedPoint armed = ReadArmedPoint();
  static std::atomic<long> reached{0};
  if (!armed.name.empty() && armed.name == name && ++reached == armed.occurrence) ::raise(SIGKILL);
}

}  // namespace predstore
