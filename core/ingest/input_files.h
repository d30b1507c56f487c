// Expands load arguments into the data files to read: a file stays itself; a
// folder, such as the output of a Spark job, is walked and yields its data
// files with the values of the Hive-style partition folders they sit in
// (`day=2026-11-26/hour=3/part-00000-….snappy.parquet`). Stateless; safe to
// call from any thread, but the folders must not change during the call.
//
// Inside a folder (never for a file argument):
// - Taken, sorted by path: *.parquet (also *.snappy.parquet etc.: Parquet
//   compresses inside the file), *.csv, *.json / *.jsonl / *.ndjson. With a
//   format given, files without an extension (`rdd.saveAsTextFile`'s
//   part-00000) are taken as that format too. Formats may mix.
// - Skipped and counted in other_files_skipped: names starting with '.' or
//   '_' (files and whole folders: _SUCCESS, _committed_*, _started_*,
//   _temporary/, .part-00000.crc, .spark-staging-*), and *.crc.
// - Skipped and counted in empty_files_skipped: zero-byte files (Spark
//   writes one per empty task).
// - Compressed CSV / JSON Lines: gzip (*.csv.gz, concatenated members
//   too) and zstd (*.json.zst), here and as file arguments; other codecs
//   (*.bz2, *.snappy, *.lz4, ...) are refused (kUnimplemented, naming the
//   file); any other extension, or one that contradicts the given
//   format (kInvalidArgument: no data is skipped silently); files whose
//   partition folders name other columns than the folder's other files
//   (kInvalidArgument, as Spark does).
// A null partition value (`day=__HIVE_DEFAULT_PARTITION__`) is a null.
// - Refused, naming the folder: a Delta table, at the argument or below it
//   (kInvalidArgument "<folder> is a Delta table; ...": its folder also holds
//   removed files, so a caller that loads Delta tables checks IsDeltaTable,
//   delta_table.h, and reads the log first); a Spark streaming sink
//   (_spark_metadata/, kInvalidArgument, likewise); no data file
//   (kInvalidArgument).
// A missing argument is kNotFound; the same file reached twice is
// kInvalidArgument.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ingest/record_reader.h"

namespace predstore {

// How a CSV or JSON Lines file is compressed (from its last extension:
// .gz/.gzip, .zst/.zstd); Parquet compresses inside the file.
enum class InputCompression { kNone, kGzip, kZstd };

struct InputFile {
  std::filesystem::path path;
  InputFormat format = InputFormat::kCsv;
  InputCompression compression = InputCompression::kNone;
  // The partition folders between the argument and the file, outermost
  // first: column name → text, both URL-unescaped as Spark escapes them
  // (%3A → ':'); nullopt for Spark's null. Empty for a file argument.
  // Ready for ReadOptions::column_values.
  std::vector<std::pair<std::string, std::optional<std::string>>> partition_values;
  uint64_t size = 0;  // bytes
};

struct ExpandedInputs {
  // Argument order; within a folder argument, sorted by path.
  std::vector<InputFile> files;
  uint64_t empty_files_skipped = 0;
  // Bookkeeping and hidden entries skipped; a skipped folder counts once.
  uint64_t other_files_skipped = 0;
};

// `format`: the --format option; unset, each file's extension decides.
absl::StatusOr<ExpandedInputs> ExpandInputs(const std::vector<std::filesystem::path>& arguments,
                                            std::optional<InputFormat> format);

// Decompresses `file` (gzip or zstd) into `to`, streaming: bounded memory
// however large the file. kInvalidArgument naming `file` when the data is
// corrupt or truncated; kInternal when `to` cannot be written.
absl::Status DecompressInput(const InputFile& file, const std::filesystem::path& to);

// Whether a file or folder name is Spark's bookkeeping or hidden, never
// data: it starts with '.' or '_' (_SUCCESS, _committed_*, _temporary/,
// .part-0.crc) or ends in .crc (any case).
bool IsSparkBookkeeping(std::string_view name);

// Spark's text for a null partition value.
inline constexpr std::string_view kHiveNullPartition = "__HIVE_DEFAULT_PARTITION__";

}  // namespace predstore
