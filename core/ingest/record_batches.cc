#include "core/ingest/record_batches.h"

#include <algorithm>
#include <deque>
#include <future>
#include <memory>
#include <thread>

#include "core/base/status_macros.h"

namespace predstore {
namespace {

// Room reserved per field for its text: a typed number's 8 bytes, or a
// short CSV field's; longer texts grow the buffer as needed.
constexpr size_t kExpectedFieldBytes = 8;

}  // namespace

RecordBatch::RecordBatch(const std::string* path, size_t columns, size_t expected_rows)
    : path_(path), columns_(columns) {
  fields_.reserve(expected_rows * columns);
  text_ends_.reserve(expected_rows * columns);
  text_.reserve(expected_rows * columns * kExpectedFieldBytes);
  lines_.reserve(expected_rows);
}

void RecordBatch::Append(const RecordReader& reader) {
  for (const FieldText& field : reader.fields()) {
    text_.append(field.text);
    text_ends_.push_back(static_cast<uint32_t>(text_.size()));
    FieldText copy = field;
    copy.text = {};
    fields_.push_back(copy);
  }
  lines_.push_back(reader.line());
}

void RecordBatch::Fields(size_t row, std::vector<FieldText>* fields) const {
  fields->resize(columns_);
  const size_t first = row * columns_;
  uint32_t begin = first == 0 ? 0 : text_ends_[first - 1];
  for (size_t i = 0; i < columns_; ++i) {
    (*fields)[i] = fields_[first + i];
    (*fields)[i].text = std::string_view(text_).substr(begin, text_ends_[first + i] - begin);
    begin = text_ends_[first + i];
  }
}

void RecordBatch::AddRow(std::string_view key, std::string_view value) {
  keys_.append(key);
  values_.append(value);
  key_ends_.push_back(static_cast<uint32_t>(keys_.size()));
  value_ends_.push_back(static_cast<uint32_t>(values_.size()));
}

void RecordBatch::AddError(std::string message) {
  errors_.emplace_back(key_ends_.size(), std::move(message));
  AddRow({}, {});
}

const std::string* RecordBatch::error(size_t row) const {
  auto it = std::lower_bound(errors_.begin(), errors_.end(), row,
                             [](const std::pair<size_t, std::string>& e, size_t r) { return e.first < r; });
  return it != errors_.end() && it->first == row ? &it->second : nullptr;
}

std::string_view RecordBatch::key(size_t row) const {
  const uint32_t begin = row == 0 ? 0 : key_ends_[row - 1];
  return std::string_view(keys_).substr(begin, key_ends_[row] - begin);
}

std::string_view RecordBatch::value(size_t row) const {
  const uint32_t begin = row == 0 ? 0 : value_ends_[row - 1];
  return std::string_view(values_).substr(begin, value_ends_[row] - begin);
}

absl::Status ProcessRecordBatches(RecordReader& reader, const RecordBatchOptions& options,
                                  const std::function<void(RecordBatch&)>& process,
                                  absl::FunctionRef<absl::Status(const RecordBatch&)> deliver) {
  const size_t workers = options.workers > 0 ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  // Batches in input order: at most `workers` processing at once. A
  // future's destructor waits, so an early return finishes what is in flight.
  std::deque<std::future<std::unique_ptr<RecordBatch>>> in_flight;
  auto deliver_front = [&]() -> absl::Status {
    std::unique_ptr<RecordBatch> batch = in_flight.front().get();
    in_flight.pop_front();
    PREDSTORE_RETURN_IF_ERROR(batch->status());
    return deliver(*batch);
  };
  auto submit = [&](std::unique_ptr<RecordBatch> batch) -> absl::Status {
    if (in_flight.size() >= workers) PREDSTORE_RETURN_IF_ERROR(deliver_front());
    in_flight.push_back(std::async(std::launch::async, [&process, batch = std::move(batch)]() mutable {
      process(*batch);
      return std::move(batch);
    }));
    return absl::OkStatus();
  };
  std::unique_ptr<RecordBatch> batch;
  for (;;) {
    PREDSTORE_ASSIGN_OR_RETURN(bool has_record, reader.Next());
    if (!has_record) break;
    if (!batch) {
      batch = std::make_unique<RecordBatch>(&reader.path(), reader.fields().size(), options.batch_rows);
    }
    batch->Append(reader);
    if (batch->rows() == options.batch_rows) PREDSTORE_RETURN_IF_ERROR(submit(std::move(batch)));
  }
  if (batch) PREDSTORE_RETURN_IF_ERROR(submit(std::move(batch)));
  while (!in_flight.empty()) PREDSTORE_RETURN_IF_ERROR(deliver_front());
  return absl::OkStatus();
}

}  // namespace predstore
