// The read stage of every load, on both cores: the calling thread only
// splits the input into records (RecordReader::Next) and copies their fields
// into batches; worker threads validate, parse, encode (and for batch
// scoring, score) whole batches; the caller then receives the processed
// batches in input order, so whatever it does with the rows (sort, reject,
// fail on the first bad one) sees them exactly as a one-thread read would.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "core/ingest/record_reader.h"

namespace predstore {

// A batch of records copied out of a reader, and what processing made of
// them: one encoded key and value per good row, an error per bad row.
class RecordBatch {
 public:
  // Room is reserved for `expected_rows` rows of `columns` fields.
  RecordBatch(const std::string* path, size_t columns, size_t expected_rows);

  // Copies the reader's current record in as the next row.
  void Append(const RecordReader& reader);

  size_t rows() const { return lines_.size(); }
  // 1-based line where row `row` starts.
  uint64_t line(size_t row) const { return lines_[row]; }
  const std::string& path() const { return *path_; }
  // Row `row`'s fields (one per schema input column), valid while the batch
  // lives and `fields` is not reused.
  void Fields(size_t row, std::vector<FieldText>* fields) const;

  // Processing output, one call per row in order: the row's key and value,
  // or why it is bad ("file:line:column: reason").
  void AddRow(std::string_view key, std::string_view value);
  void AddError(std::string message);
  // Processing may also fail the whole batch (e.g. the model failed).
  void Fail(absl::Status status) { status_ = std::move(status); }
  // Processing may attach each output row's shard (a sharded load's;
  // shard_hash.h), one per row; unset, every row's is 0.
  void SetShards(std::vector<uint32_t> shards) { shards_ = std::move(shards); }

  // Output access, for the caller. Row `row` is good when error(row) is null.
  const absl::Status& status() const { return status_; }
  const std::string* error(size_t row) const;
  std::string_view key(size_t row) const;
  std::string_view value(size_t row) const;
  uint32_t shard(size_t row) const { return row < shards_.size() ? shards_[row] : 0; }

 private:
  // Input: every field's text back to back; per field its end offset in
  // `text_` and its FieldText without the view.
  const std::string* path_;
  size_t columns_;
  std::string text_;
  std::vector<FieldText> fields_;  // text views unset
  std::vector<uint32_t> text_ends_;
  std::vector<uint64_t> lines_;
  // Output.
  std::string keys_, values_;
  std::vector<uint32_t> key_ends_, value_ends_;  // per output row (good or bad)
  std::vector<std::pair<size_t, std::string>> errors_;  // (row, message), rows ascending
  std::vector<uint32_t> shards_;                         // empty, or one per output row
  absl::Status status_;
};

struct RecordBatchOptions {
  // Processing threads; 0: one per core.
  int workers = 0;
  // Records per batch.
  size_t batch_rows = 4096;
};

// Reads every record of `reader`; `process` (run on worker threads, several
// batches at once, so it must be thread-safe) fills each batch's output;
// `deliver` (on the calling thread) receives the batches in input order.
// Stops at the first error of Next, of a batch's status or of deliver, and
// returns it; batches still in flight are finished and dropped.
absl::Status ProcessRecordBatches(RecordReader& reader, const RecordBatchOptions& options,
                                  const std::function<void(RecordBatch&)>& process,
                                  absl::FunctionRef<absl::Status(const RecordBatch&)> deliver);

}  // namespace predstore
