#include "loader/folder_source.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <vector>

#include "client/cli_commands.h"
#include "client/stream_events.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/ingest/input_files.h"
#include "core/ingest/record_reader.h"
#include "loader/prediction_events.h"
#include "loader/source_passes.h"
#include "proto/wire_values.h"

namespace predstore {
namespace {

// A file the folder holds, named by its path relative to the folder.
struct LandedFile {
  std::string name;
  InputFile input;
};

// The files present now, in name order. Events: the top-level files.
// Predictions: the top-level data files (empty ones skipped, as Spark
// writes them) and the data files of every Spark output folder landed in
// it whose job has committed (it holds _SUCCESS), with their Hive
// partition values; a folder without _SUCCESS is still being written and
// waits for a later pass.
absl::StatusOr<std::vector<LandedFile>> LandedFiles(const std::filesystem::path& folder, FolderFormat format) {
  namespace fs = std::filesystem;
  std::vector<LandedFile> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (format == FolderFormat::kEvents) {
      if (!entry.is_regular_file() || name.starts_with('.') || name.ends_with(".tmp")) continue;
      LandedFile file{name, {}};
      file.input.path = entry.path();
      files.push_back(std::move(file));
      continue;
    }
    if (IsSparkBookkeeping(name) || name.ends_with(".tmp")) continue;  // or still being written
    const bool is_folder = entry.is_directory();
    if (is_folder && !fs::exists(entry.path() / "_SUCCESS")) continue;
    if (!is_folder && (!entry.is_regular_file() || entry.file_size() == 0)) continue;
    PREDSTORE_ASSIGN_OR_RETURN(ExpandedInputs expanded, ExpandInputs({entry.path()}, std::nullopt));
    for (InputFile& input : expanded.files) {
      if (input.compression != InputCompression::kNone) {
        return absl::UnimplementedError(StrCat(input.path.string(), ": the folder source reads files in place; "
                                               "compressed text is taken by batch loads only"));
      }
      std::string relative = is_folder ? StrCat(name, "/", fs::relative(input.path, entry.path()).string()) : name;
      files.push_back(LandedFile{std::move(relative), std::move(input)});
    }
  }
  if (error) return absl::UnavailableError(StrCat("cannot list ", folder.string(), ": ", error.message()));
  std::sort(files.begin(), files.end(), [](const LandedFile& a, const LandedFile& b) { return a.name < b.name; });
  return files;
}

// Sends the rows of a prediction file after line `skip_through`; the event
// time is the file's modification time.
absl::Status SendPredictionFileOf(const FolderSourceOptions& options, const Schema& schema, const LandedFile& landed,
                                  uint64_t skip_through, EventIngester* ingester, IgnoredFields* ignored_fields) {
  PredictionFile file;
  file.path = landed.input.path;
  file.format = landed.input.format;
  file.options.column_values = landed.input.partition_values;
  std::error_code error;
  const auto modified = std::filesystem::last_write_time(file.path, error);
  if (error) return absl::UnavailableError(StrCat("cannot stat ", file.path.string(), ": ", error.message()));
  file.event_time_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::file_clock::to_sys(modified).time_since_epoch())
                               .count();
  file.options.ignore_extra_columns = options.ignore_extra_fields;
  file.position_prefix = landed.name + "\t";
  file.skip_through = skip_through;
  return SendPredictionFile(file, schema, ingester, ignored_fields);
}

// One pass: sends every event after the committed position. Returns when
// all present files are sent (and committed).
absl::Status SendNewEvents(const PredstoreClient& client, const FolderSourceOptions& options,
                           const EventParser& parser, const Schema& schema) {
  EventIngester ingester(client, options.table, options.source, options.batch_size);
  if (absl::Status started = ingester.Start(); !started.ok()) return started;
  // The committed position: the file and line after which to resume.
  const std::string& position = ingester.committed().position();
  const size_t tab = position.find('\t');
  const std::string committed_file = tab == std::string::npos ? "" : position.substr(0, tab);
  const uint64_t committed_line = tab == std::string::npos ? 0 : std::strtoull(position.c_str() + tab + 1, nullptr, 10);
  uint64_t last_sequence = ingester.committed().sequence();
  IgnoredFields ignored_fields(options.on_ignored ? options.on_ignored : [](const std::string&) {});
  std::vector<std::string> ignored;
  PREDSTORE_ASSIGN_OR_RETURN(const std::vector<LandedFile> landed, LandedFiles(options.folder, options.format));
  for (const LandedFile& entry : landed) {
    const std::string& name = entry.name;
    if (name < committed_file) continue;
    if (options.format == FolderFormat::kPredictions) {
      PREDSTORE_RETURN_IF_ERROR(SendPredictionFileOf(options, schema, entry,
                                                     name == committed_file ? committed_line : 0, &ingester,
                                                     &ignored_fields));
      if (options.on_commit && ingester.committed().sequence() != last_sequence) {
        last_sequence = ingester.committed().sequence();
        options.on_commit(SourceStatusText(ingester.committed()));
      }
      continue;
    }
    std::ifstream file(options.folder / name);
    if (!file) return absl::UnavailableError(StrCat("cannot open ", (options.folder / name).string()));
    std::string line;
    uint64_t line_number = 0;
    while (std::getline(file, line)) {
      ++line_number;
      if (name == committed_file && line_number <= committed_line) continue;
      if (line.empty() || line == "\r") continue;
      absl::StatusOr<v1::StreamEvent> event = parser.Parse(line, options.ignore_extra_fields ? &ignored : nullptr);
      ignored_fields.Note(&ignored);
      if (!event.ok()) {
        // Commit the good events before it, then stop: nothing after it is sent.
        if (absl::Status flushed = ingester.Finish(); !flushed.ok()) return flushed;
        return absl::InvalidArgumentError(
            StrCat((options.folder / name).string(), ":", line_number, ": ", FromAbsl(event.status().message())));
      }
      if (absl::Status added = ingester.Add(*std::move(event), StrCat(name, "\t", line_number)); !added.ok()) {
        return added;
      }
      if (options.on_commit && ingester.committed().sequence() != last_sequence) {
        last_sequence = ingester.committed().sequence();
        options.on_commit(SourceStatusText(ingester.committed()));
      }
    }
  }
  if (absl::Status finished = ingester.Finish(); !finished.ok()) return finished;
  if (options.on_commit && ingester.committed().sequence() != last_sequence) {
    options.on_commit(SourceStatusText(ingester.committed()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunFolderSource(const PredstoreClient& client, const FolderSourceOptions& options) {
  if (!std::filesystem::is_directory(options.folder)) {
    return absl::NotFoundError(StrCat("source folder ", options.folder.string(), " does not exist"));
  }
  if (options.source.empty()) return absl::InvalidArgumentError("the source needs a name");
  const PassSchedule schedule{options.once, options.poll_interval, options.retry_for};
  return RunPasses(StrCat("folder source ", options.source), schedule, [&]() -> absl::Status {
    absl::StatusOr<v1::TableInfo> table = client.GetTable(options.table);
    if (!table.ok()) return table.status();
    absl::StatusOr<EventParser> parser = EventParser::ForTable(*table);
    if (!parser.ok()) return parser.status();
    absl::StatusOr<Schema> schema = SchemaFromWire(table->schema());
    if (!schema.ok()) return schema.status();
    return SendNewEvents(client, options, *parser, *schema);
  });
}

}  // namespace predstore
