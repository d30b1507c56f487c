// libFuzzer target: any bytes as a Delta table's JSON commit 1 (after a
// commit 0 as Spark writes it: protocol, metaData partitioned by a date and
// a timestamp column, an add), in two tables at different paths, and as a
// UUID-named JSON checkpoint at version 1; each table read at its latest
// version and, the first also by time (ReadDeltaSnapshot). Replaying must
// end in a snapshot or an error, never a crash (AddressSanitizer, UBSan);
// beyond that, a snapshot is version 1, its files sorted and unique, each
// an absolute, normal path with one value (or null) per partition column in
// order, its partition columns in its schema; a relative data path never
// leaves the table directory (the two tables list the same files relative
// to themselves, and the same files outside them, unless the commit names
// the scratch folder itself: an absolute path into the first table is
// inside it and outside the second); and the table read by a
// time after every commit is the latest snapshot. Run by
// tests/fuzz/run_fuzz.sh.
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "core/ingest/delta_table.h"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCommit0 =
    R"({"commitInfo":{"timestamp":1767348000000,"operation":"WRITE","operationParameters":{"mode":"Append","partitionBy":"[\"day\",\"at\"]"},"engineInfo":"Apache-Spark/3.5.0 Delta-Lake/3.1.0"}})"
    "\n"
    R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})"
    "\n"
    R"({"metaData":{"id":"5f3a1c9e-2b7d-4e8f-9a0b-1c2d3e4f5a6b","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},{\"name\":\"day\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}},{\"name\":\"at\",\"type\":\"timestamp\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":["day","at"],"configuration":{},"createdTime":1767348000000}})"
    "\n"
    R"({"add":{"path":"day=2026-01-02/at=2026-01-02%2010%253A00%253A00/part-00000.snappy.parquet","partitionValues":{"day":"2026-01-02","at":"2026-01-02 10:00:00"},"size":452,"modificationTime":1767348000000,"dataChange":true}})"
    "\n";

void Write(const fs::path& file, std::string_view text) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

// Three tables in a scratch folder, removed at exit.
class Scratch {
 public:
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "delta_fuzz.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    root_ = pattern;
    for (const fs::path& table : {first(), second(), checkpointed()}) {
      fs::create_directories(table / "_delta_log");
      Write(table / "_delta_log" / "00000000000000000000.json", kCommit0);
    }
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  const fs::path& root() const { return root_; }
  fs::path first() const { return root_ / "one" / "table"; }
  fs::path second() const { return root_ / "two" / "other_table"; }
  fs::path checkpointed() const { return root_ / "three"; }

 private:
  fs::path root_;
};

// The files of `snapshot` under `table`, relative to it, and those outside it.
std::pair<std::set<std::string>, std::set<std::string>> FilesByPlace(const predstore::DeltaSnapshot& snapshot,
                                                                     const fs::path& table) {
  std::set<std::string> inside, outside;
  const std::string prefix = table.string() + "/";
  for (const predstore::DeltaFile& file : snapshot.files) {
    const std::string path = file.path.string();
    if (path.starts_with(prefix)) {
      inside.insert(path.substr(prefix.size()));
    } else {
      outside.insert(path);
    }
  }
  return {inside, outside};
}

// Aborts unless `snapshot` is a well-formed version 1.
void CheckSnapshot(const predstore::DeltaSnapshot& snapshot) {
  if (snapshot.version != 1) std::abort();
  for (size_t i = 0; i < snapshot.files.size(); ++i) {
    const predstore::DeltaFile& file = snapshot.files[i];
    if (i > 0 && !(snapshot.files[i - 1].path < file.path)) std::abort();
    if (!file.path.is_absolute() || file.path.lexically_normal() != file.path) std::abort();
    if (file.partition_values.size() != snapshot.partition_columns.size()) std::abort();
    for (size_t c = 0; c < file.partition_values.size(); ++c) {
      const auto& [column, value] = file.partition_values[c];
      if (column != snapshot.partition_columns[c] || (value && value->empty())) std::abort();
    }
  }
  for (const std::string& partition : snapshot.partition_columns) {
    if (std::none_of(snapshot.columns.begin(), snapshot.columns.end(),
                     [&](const predstore::DeltaColumn& column) { return column.name == partition; })) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Scratch scratch;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Write(scratch.first() / "_delta_log" / "00000000000000000001.json", input);
  Write(scratch.second() / "_delta_log" / "00000000000000000001.json", input);
  Write(scratch.checkpointed() / "_delta_log" /
            "00000000000000000001.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json",
        input);

  absl::StatusOr<predstore::DeltaSnapshot> first = predstore::ReadDeltaSnapshot(scratch.first());
  absl::StatusOr<predstore::DeltaSnapshot> second = predstore::ReadDeltaSnapshot(scratch.second());
  absl::StatusOr<predstore::DeltaSnapshot> by_time =
      predstore::ReadDeltaSnapshot(scratch.first(), std::nullopt, std::numeric_limits<int64_t>::max());
  absl::StatusOr<predstore::DeltaSnapshot> checkpointed = predstore::ReadDeltaSnapshot(scratch.checkpointed());
  if (first.ok() != second.ok()) std::abort();
  if (first.ok()) {
    CheckSnapshot(*first);
    CheckSnapshot(*second);
    const bool names_scratch = input.find(scratch.root().string()) != std::string_view::npos;
    if (!names_scratch && FilesByPlace(*first, scratch.first()) != FilesByPlace(*second, scratch.second())) {
      std::abort();
    }
    if (!by_time.ok() || by_time->version != first->version || by_time->files.size() != first->files.size()) {
      std::abort();
    }
  }
  if (checkpointed.ok()) CheckSnapshot(*checkpointed);
  return 0;
}
