// Named crash points, for tests that kill a program at an exact step
// instead of by timing luck. CrashPoint("publish:parts-moved") ends the
// process at once, as kill -9 would (no destructors, no buffered output),
// when the environment variable PREDSTORE_CRASH_AT equals that name, or
// the N-th time the point is reached with "name#N" (a server's second
// refresh, say); it does nothing otherwise. The variable is read once.
// Thread-safe.
// The points are listed in docs/operations.md.
#pragma once

#include <string_view>

namespace predstore {

void CrashPoint(std::string_view name);

}  // namespace predstore
