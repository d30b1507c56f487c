#include "loader/folder_source.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "client/cli_commands.h"
#include "client/stream_events.h"
#include "core/base/logging.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/ingest/record_reader.h"
#include "loader/prediction_events.h"
#include "proto/wire_values.h"

namespace predstore {
namespace {

// Event files present now, in name order.
std::vector<std::string> EventFiles(const std::filesystem::path& folder) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.starts_with('.') || name.ends_with(".tmp")) continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Sends the rows of a prediction file after line `skip_through`; the event
// time is the file's modification time.
absl::Status SendPredictionFileOf(const FolderSourceOptions& options, const Schema& schema, const std::string& name,
                                  uint64_t skip_through, EventIngester* ingester, IgnoredFields* ignored_fields) {
  PredictionFile file;
  file.path = options.folder / name;
  PREDSTORE_ASSIGN_OR_RETURN(file.format, InputFormatOfPath(file.path));
  std::error_code error;
  const auto modified = std::filesystem::last_write_time(file.path, error);
  if (error) return absl::UnavailableError(StrCat("cannot stat ", file.path.string(), ": ", error.message()));
  file.event_time_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::file_clock::to_sys(modified).time_since_epoch())
                               .count();
  file.options.ignore_extra_columns = options.ignore_extra_fields;
  file.position_prefix = name + "\t";
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
  for (const std::string& name : EventFiles(options.folder)) {
    if (name < committed_file) continue;
    if (options.format == FolderFormat::kPredictions) {
      PREDSTORE_RETURN_IF_ERROR(SendPredictionFileOf(options, schema, name,
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
  auto failing_since = std::chrono::steady_clock::time_point::max();
  for (;;) {
    absl::Status pass;
    absl::StatusOr<v1::TableInfo> table = client.GetTable(options.table);
    if (table.ok()) {
      absl::StatusOr<EventParser> parser = EventParser::ForTable(*table);
      absl::StatusOr<Schema> schema = SchemaFromWire(table->schema());
      if (!parser.ok()) {
        pass = parser.status();
      } else if (!schema.ok()) {
        pass = schema.status();
      } else {
        pass = SendNewEvents(client, options, *parser, *schema);
      }
    } else {
      pass = table.status();
    }
    if (pass.ok()) {
      failing_since = std::chrono::steady_clock::time_point::max();
      if (options.once) return absl::OkStatus();
    } else if (absl::IsUnavailable(pass) || absl::IsCancelled(pass) || absl::IsDeadlineExceeded(pass)) {
      // The server went away: retry from its committed position once it is back.
      const auto now = std::chrono::steady_clock::now();
      if (failing_since == std::chrono::steady_clock::time_point::max()) failing_since = now;
      if (now - failing_since > options.retry_for) return pass;
      LogWarning("folder source ", options.source, ": ", FromAbsl(pass.message()), "; retrying");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    } else {
      return pass;
    }
    std::this_thread::sleep_for(options.poll_interval);
  }
}

}  // namespace predstore
