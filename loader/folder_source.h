// The folder stream source, like a lake-house auto-loader: JSON Lines event
// files that land in a folder (written elsewhere, then renamed in) are sent
// to a server's Admin.Ingest in file-name order, each event exactly once.
//
// The checkpoint is the server's: each batch carries its position
// ("<file name><TAB><line>") and is committed with its events, so on start
// (and after any failure: a server restart, a broken connection) the source
// reads the committed position back and resumes right after it. Files must
// therefore arrive in name order (e.g. time-stamped names); a file whose
// name sorts before the committed one is taken as already processed. Names
// starting with '.' or ending in .tmp are ignored (files being written).
//
// Two file formats:
//   kEvents       JSON Lines events (client/stream_events.h): key columns,
//                 event_time, and the values or features;
//   kPredictions  the prediction files a batch load takes (CSV, JSON Lines
//                 or Parquet with the table's columns), read and validated
//                 by the same code as `predstore-load load` (RecordReader,
//                 RowEncoder); also Spark output folders moved in whole,
//                 taken once their job committed (_SUCCESS), their part
//                 files in path order with their Hive partition values;
//                 Spark's bookkeeping (_*, .crc) and empty files skipped;
//                 each row's event time is its file's modification time. So
//                 the same job runs as a batch (load the file as a snapshot)
//                 or as a stream (drop the file into the folder).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "client/predstore_client.h"

namespace predstore {

enum class FolderFormat { kEvents, kPredictions };

struct FolderSourceOptions {
  std::filesystem::path folder;
  FolderFormat format = FolderFormat::kEvents;
  std::string table;
  std::string source;  // the producer's name on the server
  size_t batch_size = 500;
  // Stop once every file present has been sent; otherwise poll for new ones.
  bool once = false;
  std::chrono::milliseconds poll_interval{500};
  // How long to keep retrying an unreachable server before giving up.
  std::chrono::milliseconds retry_for{std::chrono::minutes(5)};
  // Fields (event files) or columns (prediction files) the table lacks:
  // refused (false), or skipped, each name reported once to on_ignored.
  bool ignore_extra_fields = false;
  std::function<void(const std::string&)> on_ignored;
  // Called after each committed batch with the source's state line.
  std::function<void(const std::string&)> on_commit;
};

// Runs until `once` is done, or forever. A malformed event line stops it
// with kInvalidArgument naming the file and line: the events before it are
// committed, nothing after it is sent (fix the file and run again).
absl::Status RunFolderSource(const PredstoreClient& client, const FolderSourceOptions& options);

}  // namespace predstore
