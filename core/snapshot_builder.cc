#include "core/snapshot_builder.h"

#include <memory>

#include "core/strings.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "core/storage_options.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_writer.h"

namespace predstore {
namespace fs = std::filesystem;
namespace {

using internal::FromRocksStatus;

// Writes one part: rows go to an SST file, then Finish() ingests it into a
// new RocksDB directory.
class PartWriter {
 public:
  PartWriter(const fs::path& staging_dir, int index, std::optional<std::string> partition)
      : options_(internal::PredictionTableOptions(nullptr)),
        writer_(rocksdb::EnvOptions(), options_),
        sst_path_(staging_dir / StrCat("part-", index, ".sst")),
        db_dir_(StrCat("part-", index)),
        db_path_(staging_dir / db_dir_),
        partition_(std::move(partition)) {}

  absl::Status Open() { return FromRocksStatus(writer_.Open(sst_path_.string()), sst_path_.string()); }

  absl::Status Put(std::string_view key, std::string_view value) {
    ++rows_;
    return FromRocksStatus(writer_.Put(rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size())),
                     sst_path_.string());
  }

  absl::StatusOr<PartInfo> Finish() {
    PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(writer_.Finish(), sst_path_.string()));
    rocksdb::Options db_options = options_;
    db_options.create_if_missing = true;
    db_options.error_if_exists = true;
    rocksdb::DB* raw = nullptr;
    PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(rocksdb::DB::Open(db_options, db_path_.string(), &raw), db_path_.string()));
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(db->IngestExternalFile({sst_path_.string()}, ingest), db_path_.string()));
    PREDSTORE_RETURN_IF_ERROR(FromRocksStatus(db->Close(), db_path_.string()));
    return PartInfo{partition_, db_dir_, rows_};
  }

 private:
  rocksdb::Options options_;
  rocksdb::SstFileWriter writer_;
  fs::path sst_path_;
  std::string db_dir_;
  fs::path db_path_;
  std::optional<std::string> partition_;
  uint64_t rows_ = 0;
};

}  // namespace

absl::StatusOr<BuildResult> BuildSnapshotParts(SortedRowStream& rows, const Schema& schema,
                                               const std::vector<std::string>& input_paths,
                                               const fs::path& staging_dir, const BuildOptions& options) {
  KeyCodec codec(schema);
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
      part = std::make_unique<PartWriter>(staging_dir, static_cast<int>(result.parts.size()), std::move(partition));
      PREDSTORE_RETURN_IF_ERROR(part->Open());
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
