// libFuzzer target: any bytes as the body of POST /invocations, as JSON and
// as CSV. Parsing must end in rows or an error naming the field or line,
// never a crash (AddressSanitizer, UBSan), and every row must have one
// value per column. Run by tests/fuzz/run_fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/serve/mlflow_protocol.h"

namespace {

void Check(const absl::StatusOr<predstore::MlflowInput>& input) {
  if (!input.ok()) return;
  const predstore::FeatureRows& rows = input->rows;
  if (rows.values.size() != rows.rows * rows.names.size() && !rows.names.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  Check(predstore::ParseMlflowJson(body));
  Check(predstore::ParseMlflowCsv(body));
  return 0;
}
