// The Delta stream source: follows a Delta table's log and sends the rows
// of the data files each new commit adds to a server's Admin.Ingest, as
// prediction events at the commit's time, each row exactly once.
//
// The checkpoint is the server's, as for the folder source: each batch
// carries its position ("<version><TAB><file path><TAB><row>") and is
// committed with its events; on start the source reads it back and resumes
// after it. Without a committed position it starts at the log's first
// version that can be rebuilt (a checkpoint's, or 0), sending every file of
// that snapshot, then each later commit's added files. A commit's added
// files are those of its snapshot that the previous snapshot lacks; files a
// commit removes are not retracted (their rows stay, as a stream's history
// does). The table's features the reader refuses (deletion vectors, column
// mapping, ...) stop the source with that error.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "client/predstore_client.h"

namespace predstore {

struct DeltaSourceOptions {
  std::filesystem::path delta_table;  // the Delta table's folder
  std::string table;                  // the predstore table the rows update
  std::string source;                 // the producer's name on the server
  size_t batch_size = 500;
  // Stop once every commit present has been sent; otherwise poll the log.
  bool once = false;
  std::chrono::milliseconds poll_interval{1000};
  // How long to keep retrying an unreachable server before giving up.
  std::chrono::milliseconds retry_for{std::chrono::minutes(5)};
  // Data-file columns the table lacks: refused (false), or skipped, each
  // name reported once to on_ignored.
  bool ignore_extra_fields = false;
  std::function<void(const std::string&)> on_ignored;
  // Called after each committed batch with the source's state line.
  std::function<void(const std::string&)> on_commit;
};

absl::Status RunDeltaSource(const PredstoreClient& client, const DeltaSourceOptions& options);

}  // namespace predstore
