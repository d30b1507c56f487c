// Prediction files as stream events: the rows of one file (CSV, JSON Lines
// or Parquet), validated exactly as a batch load validates them, sent to a
// server's Admin.Ingest as events at one event time. Shared by the folder
// and Delta stream sources.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "client/stream_events.h"
#include "core/ingest/record_reader.h"
#include "core/table/schema.h"

namespace predstore {

struct PredictionFile {
  std::filesystem::path path;
  InputFormat format = InputFormat::kCsv;
  // Partition values, ignore_extra_columns, ... (record_reader.h).
  ReadOptions options;
  int64_t event_time_micros = 0;
  // Each event's position is this prefix followed by its row (or line).
  std::string position_prefix;
  // Rows (lines) up to this one were sent before: skipped.
  uint64_t skip_through = 0;
};

// Sends the file's rows after `skip_through`. A row that fails validation
// commits the rows before it and stops with its error (file:line:column);
// ignored columns are reported once through `ignored`.
absl::Status SendPredictionFile(const PredictionFile& file, const Schema& schema, EventIngester* ingester,
                                IgnoredFields* ignored);

}  // namespace predstore
