// JSON text helpers shared by the front ends' hand-written JSON (error
// bodies, MLflow's scoring answers). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace predstore {

// Appends `text` as the inside of a JSON string: quotes, backslashes and
// control characters escaped, bytes that are not UTF-8 replaced by U+FFFD.
void AppendJsonEscaped(std::string* out, std::string_view text);

}  // namespace predstore
