#include "core/snapshot/snapshot_builder.h"

#include <algorithm>
#include <deque>
#include <future>
#include <memory>
#include <thread>

#include "absl/strings/str_join.h"
#include "core/base/crash_points.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/snapshot/storage_options.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_writer.h"

namespace predstore {
namespace fs = std::filesystem;
namespace {

using internal::FromRocksStatus;

// Rows of one SST file, gathered by the building thread and written by a
// worker.
struct SstChunk {
  std::string keys, values;
  std::vector<uint32_t> key_ends, value_ends;
  size_t bytes() const { return keys.size() + values.size(); }
};

// Writes one part: rows are cut into chunks of about `chunk_bytes`, each
// written to its own SST file by a worker thread (Snappy compression, block
// and filter building run on every core) while the next chunk is gathered;
// Finish() ingests the files, whose key ranges follow each other, into a new
// RocksDB directory in one call.
class PartWriter {
 public:
  PartWriter(const fs::path& staging_dir, int index, std::optional<std::string> partition, size_t workers,
             size_t chunk_bytes)
      : options_(internal::PredictionTableOptions(nullptr)),
        staging_dir_(staging_dir),
        index_(index),
        db_dir_(StrCat("part-", index)),
        db_path_(staging_dir / db_dir_),
        partition_(std::move(partition)),
        workers_(std::max<size_t>(1, workers)),
        chunk_bytes_(chunk_bytes) {}

  absl::Status Put(std::string_view key, std::string_view value) {
    ++rows_;
    chunk_.keys.append(key);
    chunk_.values.append(value);
    chunk_.key_ends.push_back(static_cast<uint32_t>(chunk_.keys.size()));
    chunk_.value_ends.push_back(static_cast<uint32_t>(chunk_.values.size()));
    if (chunk_.bytes() >= chunk_bytes_) return WriteChunk();
    return absl::OkStatus();
  }

  absl::StatusOr<PartInfo> Finish() {
    if (!chunk_.key_ends.empty()) PREDSTORE_RETURN_IF_ERROR(WriteChunk());
    while (!in_flight_.empty()) PREDSTORE_RETURN_IF_ERROR(WaitOldest());
    CrashPoint("load:sst-written");
    rocksdb::Options db_options = options_;
    db_options.create_if_missing = true;
    db_options.error_if_exists = true;
    rocksdb::DB* raw = nullptr;
    PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(rocksdb::DB::Open(db_options, db_path_.string(), &raw), db_path_.string()));
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(db->IngestExternalFile(sst_paths_, ingest), db_path_.string()));
    PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(db->Close(), db_path_.string()));
    return PartInfo{partition_, db_dir_, rows_};
  }

 private:
  // Hands the gathered chunk to a worker, first waiting for the oldest when
  // `workers_` are busy.
  absl::Status WriteChunk() {
    if (in_flight_.size() >= workers_) PREDSTORE_RETURN_IF_ERROR(WaitOldest());
    std::string path = (staging_dir_ / StrCat("part-", index_, "-", sst_paths_.size(), ".sst")).string();
    sst_paths_.push_back(path);
    in_flight_.push_back(std::async(std::launch::async, [this, path, chunk = std::move(chunk_)]() {
      return WriteSst(path, chunk);
    }));
    chunk_ = SstChunk();
    return absl::OkStatus();
  }

  absl::Status WaitOldest() {
    absl::Status written = in_flight_.front().get();
    in_flight_.pop_front();
    return written;
  }

  absl::Status WriteSst(const std::string& path, const SstChunk& chunk) const {
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options_);
    PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(writer.Open(path), path));
    for (size_t row = 0, key_begin = 0, value_begin = 0; row < chunk.key_ends.size(); ++row) {
      rocksdb::Slice key(chunk.keys.data() + key_begin, chunk.key_ends[row] - key_begin);
      rocksdb::Slice value(chunk.values.data() + value_begin, chunk.value_ends[row] - value_begin);
      PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(writer.Put(key, value), path));
      key_begin = chunk.key_ends[row];
      value_begin = chunk.value_ends[row];
    }
    return FromRocksStatus(writer.Finish(), path);
  }

  rocksdb::Options options_;
  fs::path staging_dir_;
  int index_;
  std::string db_dir_;
  fs::path db_path_;
  std::optional<std::string> partition_;
  size_t workers_;
  size_t chunk_bytes_;
  uint64_t rows_ = 0;
  SstChunk chunk_;
  std::vector<std::string> sst_paths_;
  // SST files being written, oldest first. A future's destructor waits, so
  // a failed build finishes its writes before the staging folder goes.
  std::deque<std::future<absl::Status>> in_flight_;
};

}  // namespace

absl::StatusOr<BuildResult> BuildSnapshotParts(SortedRowStream& rows, const Schema& schema,
                                               const std::vector<std::string>& input_paths,
                                               const fs::path& staging_dir, const BuildOptions& options) {
  KeyCodec codec(schema);
  const size_t workers = options.workers > 0 ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  BuildResult result;
  std::unique_ptr<PartWriter> part;
  std::string part_prefix;
  // The row waiting to be written: held back one step to resolve duplicates.
  std::string pending_key, pending_value;
  RowOrigin pending_origin;
  bool has_pending = false;

  auto origin_text = [&](RowOrigin origin) {
    return StrCat(origin.file < input_paths.size() ? input_paths[origin.file] : "?", ":", origin.line);
  };
  auto write_pending = [&]() -> absl::Status {
    PREDSTORE_ASSIGN_OR_RETURN(size_t prefix_length, codec.PartitionPrefixLength(pending_key));
    std::string_view prefix(pending_key.data(), prefix_length);
    if (!part || prefix != part_prefix) {
      if (part) {
        PREDSTORE_ASSIGN_OR_RETURN(PartInfo info, part->Finish());
        result.parts.push_back(std::move(info));
      }
      std::optional<std::string> partition;
      if (schema.partition_column()) {
        PREDSTORE_ASSIGN_OR_RETURN(std::vector<Cell> cells, codec.Decode(pending_key));
        partition = FormatCell(ViewOf(cells[0]));
      }
      part = std::make_unique<PartWriter>(staging_dir, static_cast<int>(result.parts.size()), std::move(partition),
                                          workers, options.sst_file_bytes);
      part_prefix.assign(prefix);
    }
    PREDSTORE_RETURN_IF_ERROR(part->Put(pending_key, pending_value));
    if (++result.rows % 1000000 == 0 && options.on_rows) options.on_rows(result.rows);
    return absl::OkStatus();
  };

  for (;;) {
    PREDSTORE_ASSIGN_OR_RETURN(bool has_row, rows.Next());
    if (!has_row) break;
    const SortedRow& row = rows.current();
    if (has_pending && row.key == pending_key) {
      if (!options.last_wins) {
        std::string key_text = "?";
        if (auto cells = codec.Decode(row.key); cells.ok()) {
          key_text = absl::StrJoin(*cells, ", ", [&](std::string* out, const Cell& cell) {
            StrAppend(out, FormatCell(ViewOf(cell)));
          });
        }
        return absl::InvalidArgumentError(StrCat(origin_text(row.origin), ": duplicate key (", key_text,
                                                       "), first at ", origin_text(pending_origin),
                                                       "; pass --duplicates=last-wins to keep the last"));
      }
      pending_value.assign(row.value);
      pending_origin = row.origin;
      ++result.duplicates_dropped;
      continue;
    }
    if (has_pending) PREDSTORE_RETURN_IF_ERROR(write_pending());
    pending_key.assign(row.key);
    pending_value.assign(row.value);
    pending_origin = row.origin;
    has_pending = true;
  }
  if (!has_pending) return absl::InvalidArgumentError("no rows to load");
  PREDSTORE_RETURN_IF_ERROR(write_pending());
  PREDSTORE_ASSIGN_OR_RETURN(PartInfo info, part->Finish());
  result.parts.push_back(std::move(info));
  if (options.on_rows) options.on_rows(result.rows);
  return result;
}

}  // namespace predstore
