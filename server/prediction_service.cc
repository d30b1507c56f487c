#include "server/prediction_service.h"

#include <chrono>
#include <deque>
#include <mutex>

#include "core/strings.h"
#include "server/wire.h"

namespace predstore {
namespace {

absl::StatusOr<std::shared_ptr<const TableSnapshot>> FindTable(const PredictionStore& store, const std::string& table) {
  if (table.empty()) return absl::InvalidArgumentError("table: required");
  std::shared_ptr<const TableSnapshot> snapshot = store.Find(table);
  if (!snapshot) return absl::NotFoundError(StrCat("table \"", table, "\" is not served (see ListTables)"));
  return snapshot;
}

absl::Status CheckDeadline(grpc::CallbackServerContext* context) {
  if (context->IsCancelled()) return absl::CancelledError("the client cancelled the call");
  if (context->deadline() < std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("the deadline passed before the lookup ran");
  }
  return absl::OkStatus();
}

// Answers one lookup into `response`: the request's key converted to cells,
// encoded, read from the table's current snapshot, values decoded.
absl::Status AnswerLookup(const PredictionStore& store, const v1::LookupRequest& request,
                          v1::LookupResponse* response) {
  auto snapshot = FindTable(store, request.table());
  if (!snapshot.ok()) return snapshot.status();
  const TableSnapshot& table = **snapshot;
  auto cells = LookupCellsFromWire(request.key(), table.schema());
  if (!cells.ok()) return cells.status();
  std::string key;
  table.key_codec().Encode(*cells, &key);
  absl::Status decode_status;
  auto found = table.Get(key, [&](std::string_view value) {
    decode_status = table.value_codec().ForEach(
        value, [response](size_t, const CellView& cell) { CellToWire(cell, response->add_values()); });
  });
  if (!found.ok()) return found.status();
  if (!decode_status.ok()) return decode_status;
  response->set_found(*found);
  response->set_snapshot_version(table.version());
  response->set_source(v1::SOURCE_PRECOMPUTED);
  for (const Column& c : table.schema().value_columns()) response->add_value_columns(c.name);
  return absl::OkStatus();
}

// A LookupStream: each request read is answered inline and its answer
// queued; one read and one write are in flight at a time, so reading the
// next request overlaps writing the previous answer. Ends when the client
// has finished writing and every answer is sent.
class LookupStreamReactor final : public grpc::ServerBidiReactor<v1::StreamLookupRequest, v1::StreamLookupResponse> {
 public:
  explicit LookupStreamReactor(const PredictionStore* store) : store_(store) { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    if (!ok) {
      reads_done_ = true;
      MaybeFinish();
      return;
    }
    v1::StreamLookupResponse& answer = pending_.emplace_back();
    answer.set_id(request_.id());
    absl::Status status = AnswerLookup(*store_, request_.lookup(), answer.mutable_result());
    if (!status.ok()) {
      answer.clear_result();
      answer.set_error_code(static_cast<int32_t>(status.code()));
      answer.set_error_message(std::string(status.message()));
    }
    if (!writing_) {
      writing_ = true;
      StartWrite(&pending_.front());
    }
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.pop_front();
    writing_ = false;
    if (!ok) {
      // The client went away; drop what is left.
      pending_.clear();
      write_failed_ = true;
    } else if (!pending_.empty()) {
      writing_ = true;
      StartWrite(&pending_.front());
      return;
    }
    MaybeFinish();
  }

  void OnDone() override { delete this; }

 private:
  // REQUIRES: mu_ held.
  void MaybeFinish() {
    if (finished_ || writing_ || !(reads_done_ || write_failed_)) return;
    finished_ = true;
    Finish(write_failed_ ? grpc::Status(grpc::StatusCode::CANCELLED, "the client stopped reading") : grpc::Status::OK);
  }

  const PredictionStore* store_;
  std::mutex mu_;
  v1::StreamLookupRequest request_;  // the one read in flight
  std::deque<v1::StreamLookupResponse> pending_;  // front: the write in flight
  bool writing_ = false;
  bool reads_done_ = false;
  bool write_failed_ = false;
  bool finished_ = false;
};

// Streams a scan in chunks: each chunk is a Scan resumed after the last
// row sent, run when the previous message has been written.
class ScanReactor final : public grpc::ServerWriteReactor<v1::ScanResponse> {
 public:
  static constexpr uint64_t kRowsPerMessage = 1000;

  ScanReactor(grpc::CallbackServerContext* context, std::shared_ptr<const TableSnapshot> snapshot, ScanQuery query)
      : context_(context), snapshot_(std::move(snapshot)), query_(std::move(query)), resume_(query_.resume_after) {
    SendNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    SendNext();
  }
  void OnDone() override { delete this; }

 private:
  void SendNext() {
    if (context_->IsCancelled()) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the scan"));
      return;
    }
    const TableSnapshot& table = *snapshot_;
    response_.Clear();
    response_.set_snapshot_version(table.version());
    if (first_) {
      for (const Column& c : table.schema().lookup_columns()) response_.add_key_columns(c.name);
      for (const Column& c : table.schema().value_columns()) response_.add_value_columns(c.name);
      first_ = false;
    }
    ScanQuery chunk = query_;
    chunk.resume_after = resume_;
    chunk.limit = query_.limit ? std::min(kRowsPerMessage, query_.limit - returned_) : kRowsPerMessage;
    absl::Status row_status;
    auto result = table.Scan(chunk, [&](std::string_view key, std::string_view value) {
      v1::ScanRow* row = response_.add_rows();
      auto cells = table.key_codec().Decode(key);
      if (!cells.ok()) {
        row_status = cells.status();
        return;
      }
      for (const Cell& cell : *cells) CellToWire(ViewOf(cell), row->add_key());
      absl::Status s = table.value_codec().ForEach(value, [row](size_t, const CellView& v) { CellToWire(v, row->add_values()); });
      if (!s.ok()) row_status = s;
    });
    if (!result.ok()) row_status = result.status();
    if (!row_status.ok()) {
      Finish(ToGrpcStatus(row_status));
      return;
    }
    const ScanStats& s = result->stats;
    stats_.set_keys_examined(stats_.keys_examined() + s.keys_examined);
    stats_.set_rows_returned(stats_.rows_returned() + s.rows_returned);
    stats_.set_seeks(stats_.seeks() + s.seeks);
    stats_.set_data_blocks_read(stats_.data_blocks_read() + s.data_blocks_read);
    stats_.set_data_blocks_cached(stats_.data_blocks_cached() + s.data_blocks_cached);
    stats_.set_partitions_visited(std::max<uint64_t>(stats_.partitions_visited(), s.parts_visited));
    stats_.set_elapsed_micros(stats_.elapsed_micros() + static_cast<uint64_t>(s.seconds * 1e6));
    returned_ += s.rows_returned;
    const bool exhausted = result->resume_after.empty();
    const bool limit_reached = query_.limit && returned_ >= query_.limit;
    if (exhausted || limit_reached) {
      if (!exhausted) response_.set_next_page_token(result->resume_after);
      *response_.mutable_stats() = stats_;
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    resume_ = std::move(result->resume_after);
    StartWrite(&response_);
  }

  grpc::CallbackServerContext* context_;
  std::shared_ptr<const TableSnapshot> snapshot_;
  ScanQuery query_;
  std::string resume_;
  uint64_t returned_ = 0;
  bool first_ = true;
  v1::ScanStats stats_;
  v1::ScanResponse response_;
};

// A stream that fails at once.
class FailedScan final : public grpc::ServerWriteReactor<v1::ScanResponse> {
 public:
  explicit FailedScan(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::ScanResponse>* PredictionService::Scan(grpc::CallbackServerContext* context,
                                                                   const v1::ScanRequest* request) {
  absl::Status status = CheckDeadline(context);
  if (!status.ok()) return new FailedScan(status);
  auto snapshot = FindTable(*store_, request->table());
  if (!snapshot.ok()) return new FailedScan(snapshot.status());
  auto query = ScanQueryFromWire(*request, (*snapshot)->schema());
  if (!query.ok()) return new FailedScan(query.status());
  return new ScanReactor(context, std::move(*snapshot), std::move(*query));
}

grpc::ServerUnaryReactor* PredictionService::Lookup(grpc::CallbackServerContext* context,
                                                    const v1::LookupRequest* request, v1::LookupResponse* response) {
  absl::Status status = CheckDeadline(context);
  if (status.ok()) status = AnswerLookup(*store_, *request, response);
  return FinishUnary(context, status);
}

grpc::ServerBidiReactor<v1::StreamLookupRequest, v1::StreamLookupResponse>* PredictionService::LookupStream(
    grpc::CallbackServerContext*) {
  return new LookupStreamReactor(store_);
}

grpc::ServerUnaryReactor* PredictionService::BatchLookup(grpc::CallbackServerContext* context,
                                                         const v1::BatchLookupRequest* request,
                                                         v1::BatchLookupResponse* response) {
  absl::Status status = CheckDeadline(context);
  if (!status.ok()) return FinishUnary(context, status);
  if (static_cast<uint64_t>(request->keys_size()) > max_batch_keys_) {
    return FinishUnary(context, absl::ResourceExhaustedError(StrCat("keys: ", request->keys_size(),
                                                               " keys exceed the server's limit of ", max_batch_keys_,
                                                               " per BatchLookup; split the batch")));
  }
  auto snapshot = FindTable(*store_, request->table());
  if (!snapshot.ok()) return FinishUnary(context, snapshot.status());
  const TableSnapshot& table = **snapshot;
  const Schema& schema = table.schema();
  auto positions = KeyColumnPositions(request->key_columns(), schema);
  if (!positions.ok()) return FinishUnary(context, positions.status());

  // Encode every key into one buffer, then view them.
  const auto& columns = schema.lookup_columns();
  std::vector<Cell> cells(columns.size());
  std::string buffer;
  std::vector<size_t> ends;
  ends.reserve(request->keys_size());
  for (int k = 0; k < request->keys_size(); ++k) {
    const v1::KeyRow& row = request->keys(k);
    if (row.values_size() != request->key_columns_size()) {
      return FinishUnary(context, absl::InvalidArgumentError(StrCat("keys[", k, "]: has ", row.values_size(),
                                                               " values for ", request->key_columns_size(),
                                                               " key_columns")));
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      auto cell = CellFromWire(row.values((*positions)[i]), columns[i]);
      if (!cell.ok()) return FinishUnary(context, absl::InvalidArgumentError(StrCat("keys[", k, "]: ", cell.status().message())));
      cells[i] = std::move(*cell);
    }
    table.key_codec().Encode(cells, &buffer);
    ends.push_back(buffer.size());
  }
  std::vector<std::string_view> keys(ends.size());
  for (size_t i = 0, begin = 0; i < ends.size(); begin = ends[i], ++i) {
    keys[i] = std::string_view(buffer.data() + begin, ends[i] - begin);
  }
  absl::Status decode_status;
  response->mutable_results()->Reserve(static_cast<int>(keys.size()));
  status = table.MultiGet(keys, [&](size_t, const std::string_view* value) {
    v1::LookupResult* result = response->add_results();
    result->set_source(v1::SOURCE_PRECOMPUTED);
    if (!value) return;
    result->set_found(true);
    absl::Status s = table.value_codec().ForEach(
        *value, [result](size_t, const CellView& cell) { CellToWire(cell, result->add_values()); });
    if (!s.ok()) decode_status = s;
  });
  if (!status.ok()) return FinishUnary(context, status);
  if (!decode_status.ok()) return FinishUnary(context, decode_status);
  response->set_snapshot_version(table.version());
  for (const Column& c : schema.value_columns()) response->add_value_columns(c.name);
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PredictionService::ListTables(grpc::CallbackServerContext* context,
                                                        const v1::ListTablesRequest*,
                                                        v1::ListTablesResponse* response) {
  for (const auto& snapshot : store_->Tables()) TableInfoToWire(*snapshot, response->add_tables());
  return FinishUnary(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PredictionService::GetTable(grpc::CallbackServerContext* context,
                                                      const v1::GetTableRequest* request, v1::TableInfo* response) {
  auto snapshot = FindTable(*store_, request->table());
  if (!snapshot.ok()) return FinishUnary(context, snapshot.status());
  TableInfoToWire(**snapshot, response);
  return FinishUnary(context, absl::OkStatus());
}

}  // namespace predstore
