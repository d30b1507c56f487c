#include "loader/delta_source.h"

#include <algorithm>
#include <set>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/cli_commands.h"
#include "client/stream_events.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/ingest/delta_table.h"
#include "loader/prediction_events.h"
#include "loader/source_passes.h"
#include "proto/wire_values.h"

namespace predstore {
namespace {

// Where the source stands: the last row sent, or nothing yet.
struct DeltaPosition {
  int64_t version = -1;
  std::string file;
  uint64_t row = 0;
};

absl::StatusOr<DeltaPosition> ParsePosition(const std::string& text) {
  DeltaPosition position;
  if (text.empty()) return position;
  std::vector<std::string> parts = absl::StrSplit(text, '\t');
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &position.version) ||
      !absl::SimpleAtoi(parts[2], &position.row)) {
    return absl::FailedPreconditionError(StrCat("the committed position \"", text, "\" is not a Delta source's "
                                                "(version, file, row); was the source name used by another source?"));
  }
  position.file = parts[1];
  return position;
}

// The files of `snapshot` that `before` lacks, in path order.
std::vector<const DeltaFile*> AddedFiles(const DeltaSnapshot& snapshot, const std::set<std::string>& before) {
  std::vector<const DeltaFile*> added;
  for (const DeltaFile& file : snapshot.files) {
    if (!before.contains(file.path.string())) added.push_back(&file);
  }
  return added;  // snapshot.files is sorted by path
}

// One pass: every commit after the committed position, sent and committed.
absl::Status SendNewCommits(const PredstoreClient& client, const DeltaSourceOptions& options, const Schema& schema,
                            IgnoredFields* ignored) {
  EventIngester ingester(client, options.table, options.source, options.batch_size);
  PREDSTORE_RETURN_IF_ERROR(ingester.Start());
  PREDSTORE_ASSIGN_OR_RETURN(const DeltaPosition committed, ParsePosition(ingester.committed().position()));
  PREDSTORE_ASSIGN_OR_RETURN(const DeltaSnapshot latest, ReadDeltaSnapshot(options.delta_table));
  uint64_t last_sequence = ingester.committed().sequence();
  // The snapshot before the first version to send, as a set of paths.
  std::set<std::string> before;
  int64_t first = committed.version;
  if (first < 0) {
    first = 0;
    while (first < latest.version && absl::IsNotFound(ReadDeltaSnapshot(options.delta_table, first).status())) {
      ++first;  // commits cleaned up before the oldest checkpoint
    }
  } else if (first > 0) {
    auto previous = ReadDeltaSnapshot(options.delta_table, first - 1);
    if (previous.ok()) {
      for (const DeltaFile& file : previous->files) before.insert(file.path.string());
    } else if (!absl::IsNotFound(previous.status())) {
      return previous.status();
    }
  }
  for (int64_t version = first; version <= latest.version; ++version) {
    PREDSTORE_ASSIGN_OR_RETURN(const DeltaSnapshot snapshot, ReadDeltaSnapshot(options.delta_table, version));
    for (const DeltaFile* file : AddedFiles(snapshot, before)) {
      const std::string path = file->path.string();
      if (version == committed.version && path < committed.file) continue;  // sent before
      PredictionFile prediction;
      prediction.path = file->path;
      prediction.format = InputFormat::kParquet;
      prediction.options.column_values = file->partition_values;
      prediction.options.ignore_extra_columns = options.ignore_extra_fields;
      prediction.event_time_micros = snapshot.timestamp_ms * 1000;
      prediction.position_prefix = StrCat(version, "\t", path, "\t");
      prediction.skip_through = version == committed.version && path == committed.file ? committed.row : 0;
      PREDSTORE_RETURN_IF_ERROR(SendPredictionFile(prediction, schema, &ingester, ignored));
      if (options.on_commit && ingester.committed().sequence() != last_sequence) {
        last_sequence = ingester.committed().sequence();
        options.on_commit(SourceStatusText(ingester.committed()));
      }
    }
    before.clear();
    for (const DeltaFile& file : snapshot.files) before.insert(file.path.string());
  }
  PREDSTORE_RETURN_IF_ERROR(ingester.Finish());
  if (options.on_commit && ingester.committed().sequence() != last_sequence) {
    options.on_commit(SourceStatusText(ingester.committed()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunDeltaSource(const PredstoreClient& client, const DeltaSourceOptions& options) {
  if (!IsDeltaTable(options.delta_table)) {
    return absl::NotFoundError(StrCat(options.delta_table.string(), " is not a Delta table (no _delta_log)"));
  }
  if (options.source.empty()) return absl::InvalidArgumentError("the source needs a name");
  IgnoredFields ignored(options.on_ignored ? options.on_ignored : [](const std::string&) {});
  const PassSchedule schedule{options.once, options.poll_interval, options.retry_for};
  return RunPasses(StrCat("delta source ", options.source), schedule, [&]() -> absl::Status {
    absl::StatusOr<v1::TableInfo> table = client.GetTable(options.table);
    if (!table.ok()) return table.status();
    absl::StatusOr<Schema> schema = SchemaFromWire(table->schema());
    if (!schema.ok()) return schema.status();
    return SendNewCommits(client, options, *schema, &ignored);
  });
}

}  // namespace predstore
