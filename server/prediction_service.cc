#include "server/prediction_service.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "absl/time/clock.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "server/answering_reactor.h"
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

std::optional<int64_t> AsOf(bool has_as_of, int64_t as_of_micros) {
  return has_as_of ? std::optional<int64_t>(as_of_micros) : std::nullopt;
}

// What the table's stream and `as_of` make of a snapshot answer for `key`:
// the active snapshot counts as written at its publish time; the newest of
// it and the stream's versions at or before `as_of` (latest without) wins.
struct Overlay {
  enum class Winner { kSnapshot, kStream, kNothing };
  Winner winner = Winner::kSnapshot;
  StreamHit hit;  // set when the stream wins
};

absl::StatusOr<Overlay> ResolveOverlay(const StreamCatalog* streams, const TableSnapshot& table, std::string_view key,
                                       std::optional<int64_t> as_of, bool snapshot_found) {
  const int64_t snapshot_time = table.info().created_at_micros;
  const bool snapshot_counts = snapshot_found && (!as_of.has_value() || snapshot_time <= *as_of);
  const StreamStore* stream = streams == nullptr ? nullptr : streams->Find(table.table());
  std::optional<StreamHit> hit;
  if (stream != nullptr) {
    // The stream keys rows without the snapshot's key mapping.
    std::string unmapped;
    if (table.key_codec().normalized()) {
      PREDSTORE_RETURN_IF_ERROR(table.key_codec().AppendUnmapped(key, &unmapped));
      key = unmapped;
    }
    PREDSTORE_ASSIGN_OR_RETURN(hit, stream->Get(key, as_of));
  }
  Overlay overlay;
  if (hit.has_value() && (!snapshot_counts || hit->event_time_micros > snapshot_time)) {
    overlay.winner = Overlay::Winner::kStream;
    overlay.hit = *std::move(hit);
  } else if (!snapshot_counts) {
    overlay.winner = Overlay::Winner::kNothing;  // absent, or published after as_of
  }
  return overlay;
}

// Puts the stream and `as_of` over a snapshot answer (a LookupResponse or
// LookupResult); see ResolveOverlay.
template <typename Answer>
absl::Status OverlayStream(const StreamCatalog* streams, const TableSnapshot& table, std::string_view key,
                           std::optional<int64_t> as_of, Answer* answer) {
  PREDSTORE_ASSIGN_OR_RETURN(Overlay overlay, ResolveOverlay(streams, table, key, as_of, answer->found()));
  if (overlay.winner == Overlay::Winner::kStream) {
    answer->clear_values();
    PREDSTORE_RETURN_IF_ERROR(table.value_codec().ForEach(
        overlay.hit.value, [answer](size_t, const CellView& cell) { CellToWire(cell, answer->add_values()); }));
    answer->set_found(true);
    answer->set_source(v1::SOURCE_STREAM);
    answer->set_event_time_micros(overlay.hit.event_time_micros);
  } else if (overlay.winner == Overlay::Winner::kNothing && answer->found()) {
    answer->clear_values();
    answer->set_found(false);
  }
  return absl::OkStatus();
}

// When a found answer was written: its event time if it came from the
// stream, else the snapshot's publish time.
template <typename Answer>
int64_t WrittenAt(const TableSnapshot& table, const Answer& answer) {
  return answer.source() == v1::SOURCE_STREAM ? answer.event_time_micros() : table.info().created_at_micros;
}

// Answers one lookup from `table` (and its stream) into `response`; leaves
// the key's cells and encoded key in `cells` and `key` for a fallback.
absl::Status AnswerLookupFrom(const TableSnapshot& table, const StreamCatalog* streams,
                              const v1::LookupRequest& request, std::vector<Cell>* cells, std::string* key,
                              v1::LookupResponse* response) {
  PREDSTORE_ASSIGN_OR_RETURN(*cells, LookupCellsFromWire(request.key(), table.schema()));
  table.key_codec().Encode(*cells, key);
  absl::Status decode_status;
  auto found = table.Get(*key, [&](std::string_view value) {
    decode_status = table.value_codec().ForEach(
        value, [response](size_t, const CellView& cell) { CellToWire(cell, response->add_values()); });
  });
  if (!found.ok()) return found.status();
  if (!decode_status.ok()) return decode_status;
  response->set_found(*found);
  response->set_snapshot_version(table.version());
  response->set_source(v1::SOURCE_PRECOMPUTED);
  for (const Column& c : table.schema().value_columns()) response->add_value_columns(c.name);
  return OverlayStream(streams, table, *key, AsOf(request.has_as_of_micros(), request.as_of_micros()), response);
}

// Answers one lookup from the store only (LookupStream answers: no fallback).
absl::Status AnswerLookup(const PredictionStore& store, const StreamCatalog* streams,
                          const v1::LookupRequest& request, v1::LookupResponse* response) {
  PREDSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const TableSnapshot> table, FindTable(store, request.table()));
  std::vector<Cell> cells;
  std::string key;
  return AnswerLookupFrom(*table, streams, request, &cells, &key, response);
}

// The values of a computed answer: the output in its column, the other
// value columns unset.
void ComputedValuesToWire(const Schema& schema, size_t output_column, float output,
                          google::protobuf::RepeatedPtrField<v1::Value>* values) {
  values->Clear();
  for (size_t i = 0; i < schema.value_columns().size(); ++i) {
    v1::Value* value = values->Add();
    if (i != output_column) continue;
    if (schema.value_columns()[i].type == ColumnType::kFloat) {
      value->set_float_value(output);
    } else {
      value->set_double_value(output);
    }
  }
}

std::vector<NamedFeature> RequestFeatures(const google::protobuf::RepeatedPtrField<v1::KeyField>& fields) {
  std::vector<NamedFeature> features;
  features.reserve(fields.size());
  for (const v1::KeyField& field : fields) {
    if (std::optional<CellView> view = FeatureViewFromWire(field.value())) features.push_back({field.column(), *view});
  }
  return features;
}

// A LookupStream: each request is answered from the store (no fallback);
// a failed lookup's status travels on its answer.
// Answers a columnar BatchLookup (request.key_values): from the table's
// snapshot, with the stream and as_of over it; never from a model.
absl::Status AnswerColumnarBatch(const PredictionStore& store, const StreamCatalog* streams, uint64_t max_keys,
                                 const v1::BatchLookupRequest& request, v1::BatchLookupResponse* response);

class LookupStreamReactor final : public AnsweringBidiReactor<v1::StreamLookupRequest, v1::StreamLookupResponse> {
 public:
  LookupStreamReactor(const PredictionStore* store, const StreamCatalog* streams, uint64_t max_batch_keys)
      : store_(store), streams_(streams), max_batch_keys_(max_batch_keys) {
    StartReading();
  }

 private:
  void Answer(const v1::StreamLookupRequest& request, v1::StreamLookupResponse* answer) override {
    answer->set_id(request.id());
    absl::Status status;
    if (request.has_batch()) {
      status = request.batch().key_values_size() > 0
                   ? AnswerColumnarBatch(*store_, streams_, max_batch_keys_, request.batch(), answer->mutable_batch())
                   : absl::InvalidArgumentError("batch: on LookupStream a batch takes key_values (the columnar form)");
    } else {
      status = AnswerLookup(*store_, streams_, request.lookup(), answer->mutable_result());
    }
    if (!status.ok()) {
      answer->clear_result();
      answer->clear_batch();
      answer->set_error_code(static_cast<int32_t>(status.code()));
      answer->set_error_message(std::string(status.message()));
    }
  }

  const PredictionStore* store_;
  const StreamCatalog* streams_;
  uint64_t max_batch_keys_;
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

// The number of values a columnar key column holds for its type.
int ColumnarLength(const v1::KeyColumnValues& values, ColumnType type) {
  switch (type) {
    case ColumnType::kUint64: return values.uint64_values_size();
    case ColumnType::kString: return values.string_values_size();
    default: return values.int64_values_size();  // int64, date, timestamp
  }
}

Cell ColumnarCell(const v1::KeyColumnValues& values, ColumnType type, int k) {
  switch (type) {
    case ColumnType::kUint64: return values.uint64_values(k);
    case ColumnType::kString: return values.string_values(k);
    case ColumnType::kDate: return Date{static_cast<int32_t>(values.int64_values(k))};
    case ColumnType::kTimestamp: return Timestamp{values.int64_values(k)};
    default: return values.int64_values(k);
  }
}

// Encodes a columnar request's keys back to back into `buffer`, each
// ending at its entry of `ends`. kInvalidArgument naming the bad column.
absl::Status EncodeColumnarKeys(const v1::BatchLookupRequest& request, const std::vector<int>& positions,
                                const TableSnapshot& table, uint64_t max_keys, std::string* buffer,
                                std::vector<size_t>* ends) {
  if (request.keys_size() > 0) return absl::InvalidArgumentError("keys and key_values: give one form of the keys");
  const auto& columns = table.schema().lookup_columns();
  if (request.key_values_size() != request.key_columns_size()) {
    return absl::InvalidArgumentError(StrCat("key_values: ", request.key_values_size(), " columns for ",
                                             request.key_columns_size(), " key_columns"));
  }
  const int keys = ColumnarLength(request.key_values(positions[0]), columns[0].type);
  if (static_cast<uint64_t>(keys) > max_keys) {
    return absl::ResourceExhaustedError(StrCat("key_values: ", keys, " keys exceed the server's limit of ", max_keys,
                                               " per BatchLookup; split the batch"));
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    const v1::KeyColumnValues& values = request.key_values(positions[i]);
    const int length = ColumnarLength(values, columns[i].type);
    if (length != keys) {
      return absl::InvalidArgumentError(StrCat("key_values[", positions[i], "] (column \"", columns[i].name, "\", ",
                                               ColumnTypeName(columns[i].type), "): ", length, " values for ", keys,
                                               " keys"));
    }
    if (columns[i].type == ColumnType::kDate) {
      for (int64_t days : values.int64_values()) {
        if (days < INT32_MIN || days > INT32_MAX) {
          return absl::InvalidArgumentError(StrCat("key_values[", positions[i], "] (column \"", columns[i].name,
                                                   "\"): ", days, " days is out of range"));
        }
      }
    }
  }
  std::vector<Cell> cells(columns.size());
  ends->reserve(keys);
  for (int k = 0; k < keys; ++k) {
    for (size_t i = 0; i < columns.size(); ++i) cells[i] = ColumnarCell(request.key_values(positions[i]), columns[i].type, k);
    table.key_codec().Encode(cells, buffer);
    ends->push_back(buffer->size());
  }
  return absl::OkStatus();
}

// Appends one key's values (an encoded value, or nothing for a miss) to the
// response's value columns.
absl::Status AppendColumnarValues(const TableSnapshot& table, const std::string_view* value,
                                  v1::BatchLookupResponse* response) {
  const auto& value_columns = table.schema().value_columns();
  if (value == nullptr) {
    for (size_t c = 0; c < value_columns.size(); ++c) {
      v1::ValueColumnValues* column = response->mutable_columns(static_cast<int>(c));
      switch (value_columns[c].type) {
        case ColumnType::kDouble: column->add_double_values(0); break;
        case ColumnType::kFloat: column->add_float_values(0); break;
        case ColumnType::kString: column->add_string_values(); break;
        default: column->add_int64_values(0); break;
      }
    }
    return absl::OkStatus();
  }
  return table.value_codec().ForEach(*value, [response](size_t c, const CellView& cell) {
    v1::ValueColumnValues* column = response->mutable_columns(static_cast<int>(c));
    if (const auto* d = std::get_if<double>(&cell)) {
      column->add_double_values(*d);
    } else if (const auto* f = std::get_if<float>(&cell)) {
      column->add_float_values(*f);
    } else if (const auto* text = std::get_if<std::string_view>(&cell)) {
      column->add_string_values(std::string(*text));
    } else if (const auto* i = std::get_if<int64_t>(&cell)) {
      column->add_int64_values(*i);
    }
  });
}

// AnswerColumnarBatch's work once the table and its key column positions
// are known.
absl::Status AnswerColumnar(const TableSnapshot& table, const StreamCatalog* streams, const std::vector<int>& positions,
                            uint64_t max_keys, const v1::BatchLookupRequest& request,
                            v1::BatchLookupResponse* response) {
  std::string buffer;
  std::vector<size_t> ends;
  PREDSTORE_RETURN_IF_ERROR(EncodeColumnarKeys(request, positions, table, max_keys, &buffer, &ends));
  std::vector<std::string_view> keys(ends.size());
  for (size_t i = 0, begin = 0; i < ends.size(); begin = ends[i], ++i) {
    keys[i] = std::string_view(buffer.data() + begin, ends[i] - begin);
  }
  for (const Column& c : table.schema().value_columns()) {
    response->add_value_columns(c.name);
    response->add_columns();
  }
  response->set_snapshot_version(table.version());
  response->mutable_found()->Reserve(static_cast<int>(keys.size()));
  response->mutable_sources()->Reserve(static_cast<int>(keys.size()));
  const std::optional<int64_t> as_of = AsOf(request.has_as_of_micros(), request.as_of_micros());
  const bool overlay = as_of.has_value() || (streams != nullptr && streams->Find(table.table()) != nullptr);
  absl::Status status;
  PREDSTORE_RETURN_IF_ERROR(table.MultiGet(keys, [&](size_t k, const std::string_view* value) {
    if (!status.ok()) return;
    v1::Source source = v1::SOURCE_PRECOMPUTED;
    Overlay resolved;
    if (overlay) {
      absl::StatusOr<Overlay> result = ResolveOverlay(streams, table, keys[k], as_of, value != nullptr);
      if (!result.ok()) {
        status = result.status();
        return;
      }
      resolved = *std::move(result);
      if (resolved.winner == Overlay::Winner::kNothing) value = nullptr;
    }
    std::string_view stream_value;
    if (resolved.winner == Overlay::Winner::kStream) {
      stream_value = resolved.hit.value;
      value = &stream_value;
      source = v1::SOURCE_STREAM;
    }
    response->add_found(value != nullptr);
    response->add_sources(source);
    status = AppendColumnarValues(table, value, response);
  }));
  return status;
}

absl::Status AnswerColumnarBatch(const PredictionStore& store, const StreamCatalog* streams, uint64_t max_keys,
                                 const v1::BatchLookupRequest& request, v1::BatchLookupResponse* response) {
  PREDSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const TableSnapshot> table, FindTable(store, request.table()));
  PREDSTORE_ASSIGN_OR_RETURN(std::vector<int> positions, KeyColumnPositions(request.key_columns(), table->schema()));
  return AnswerColumnar(*table, streams, positions, max_keys, request, response);
}

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
  if (!status.ok()) return FinishUnary(context, status);
  auto snapshot = FindTable(*store_, request->table());
  if (!snapshot.ok()) return FinishUnary(context, snapshot.status());
  const TableSnapshot& table = **snapshot;
  std::vector<Cell> cells;
  std::string key;
  status = AnswerLookupFrom(table, streams_, *request, &cells, &key, response);
  const FallbackBinding* binding = fallback_ == nullptr ? nullptr : fallback_->BindingFor(request->table());
  // An as-of lookup answers history: today's model did not score it then.
  if (!status.ok() || binding == nullptr || request->no_fallback() || request->has_as_of_micros() ||
      (response->found() && !fallback_->IsStale(*binding, WrittenAt(table, *response)))) {
    return FinishUnary(context, status);
  }
  const std::vector<NamedFeature> features = RequestFeatures(request->features());
  absl::StatusOr<FallbackPlan> plan = fallback_->Plan(*binding, table, cells, key, features);
  if (!plan.ok()) {
    // A stale stored answer is still an answer when there is nothing to score.
    if (response->found() && plan.status().code() == absl::StatusCode::kNotFound) return FinishUnary(context, status);
    return FinishUnary(context, plan.status());
  }
  const size_t output_column = *fallback_->OutputColumn(*binding, table.schema());
  auto answer = [response, output_column, table = *snapshot, model = plan->model](float output) {
    response->set_found(true);
    response->set_source(v1::SOURCE_COMPUTED);
    response->set_model_name(model->name);
    response->set_model_version(model->version);
    ComputedValuesToWire(table->schema(), output_column, output, response->mutable_values());
  };
  if (plan->cached_output.has_value()) {
    answer(*plan->cached_output);
    return FinishUnary(context, absl::OkStatus());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  batcher_->Submit(plan->model, std::move(plan->row),
                   [reactor, answer = std::move(answer), fallback = fallback_, binding, key = std::move(key),
                    model = plan->model, cacheable = plan->cacheable](absl::Status scored, std::vector<float> outputs) {
                     if (scored.ok()) {
                       answer(outputs[0]);
                       fallback->Remember(*binding, key, *model, cacheable, outputs[0]);
                     }
                     reactor->Finish(ToGrpcStatus(scored));
                   });
  return reactor;
}

grpc::ServerBidiReactor<v1::StreamLookupRequest, v1::StreamLookupResponse>* PredictionService::LookupStream(
    grpc::CallbackServerContext*) {
  return new LookupStreamReactor(store_, streams_, max_batch_keys_);
}

grpc::ServerUnaryReactor* PredictionService::BatchLookup(grpc::CallbackServerContext* context,
                                                         const v1::BatchLookupRequest* request,
                                                         v1::BatchLookupResponse* response) {
  absl::Status status = CheckDeadline(context);
  if (!status.ok()) return FinishUnary(context, status);
  if (request->key_values_size() > 0) {
    return FinishUnary(context, AnswerColumnarBatch(*store_, streams_, max_batch_keys_, *request, response));
  }
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
  const std::optional<int64_t> as_of = AsOf(request->has_as_of_micros(), request->as_of_micros());
  if (as_of.has_value() || (streams_ != nullptr && streams_->Find(request->table()) != nullptr)) {
    for (size_t k = 0; k < keys.size(); ++k) {
      status = OverlayStream(streams_, table, keys[k], as_of, response->mutable_results(static_cast<int>(k)));
      if (!status.ok()) return FinishUnary(context, status);
    }
  }

  const FallbackBinding* binding = fallback_ == nullptr ? nullptr : fallback_->BindingFor(request->table());
  if (binding == nullptr || request->no_fallback() || as_of.has_value()) return FinishUnary(context, absl::OkStatus());
  if (request->features_size() != 0 && request->features_size() != request->keys_size()) {
    return FinishUnary(context, absl::InvalidArgumentError(StrCat("features: ", request->features_size(),
                                                                  " rows for ", request->keys_size(), " keys")));
  }
  std::vector<size_t> misses;
  std::vector<std::vector<Cell>> miss_cells;
  std::vector<std::string> miss_keys;
  for (size_t k = 0; k < keys.size(); ++k) {
    const v1::LookupResult& result = response->results(static_cast<int>(k));
    if (result.found() && !fallback_->IsStale(*binding, WrittenAt(table, result))) continue;
    misses.push_back(k);
    miss_keys.emplace_back(keys[k]);
    std::vector<Cell>& key_cells = miss_cells.emplace_back(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      key_cells[i] = *CellFromWire(request->keys(static_cast<int>(k)).values((*positions)[i]), columns[i]);
    }
  }
  if (misses.empty()) return FinishUnary(context, absl::OkStatus());
  return FallBackBatch(context, *binding, *std::move(snapshot), *request, std::move(misses), std::move(miss_cells),
                       std::move(miss_keys), response);
}

grpc::ServerUnaryReactor* PredictionService::FallBackBatch(
    grpc::CallbackServerContext* context, const FallbackBinding& binding, std::shared_ptr<const TableSnapshot> table,
    const v1::BatchLookupRequest& request, std::vector<size_t> misses, std::vector<std::vector<Cell>> miss_cells,
    std::vector<std::string> miss_keys, v1::BatchLookupResponse* response) {
  const size_t output_column = *fallback_->OutputColumn(binding, table->schema());
  // Rows to score, grouped by model (one group unless a swap lands mid-call).
  struct Group {
    std::shared_ptr<const ServedModel> model;
    std::vector<float> rows;
    std::vector<size_t> results;  // response indexes, one per row
    std::vector<std::string> keys;
    std::vector<bool> cacheable;
  };
  auto groups = std::make_shared<std::vector<Group>>();
  auto answer = [response, output_column, table](size_t index, const ServedModel& model, float output) {
    v1::LookupResult* result = response->mutable_results(static_cast<int>(index));
    result->set_found(true);
    result->set_source(v1::SOURCE_COMPUTED);
    ComputedValuesToWire(table->schema(), output_column, output, result->mutable_values());
    response->set_model_name(model.name);
    response->set_model_version(model.version);
  };
  std::vector<NamedFeature> features;
  for (size_t m = 0; m < misses.size(); ++m) {
    const size_t index = misses[m];
    features.clear();
    if (request.features_size() > 0) {
      const v1::FeatureRow& row = request.features(static_cast<int>(index));
      if (row.values_size() != request.feature_names_size()) {
        return FinishUnary(context, absl::InvalidArgumentError(StrCat("features[", index, "]: has ", row.values_size(),
                                                                      " values for ", request.feature_names_size(),
                                                                      " feature_names")));
      }
      for (int f = 0; f < row.values_size(); ++f) {
        if (std::optional<CellView> view = FeatureViewFromWire(row.values(f))) {
          features.push_back({request.feature_names(f), *view});
        }
      }
    }
    absl::StatusOr<FallbackPlan> plan = fallback_->Plan(binding, *table, miss_cells[m], miss_keys[m], features);
    if (!plan.ok()) {
      if (plan.status().code() == absl::StatusCode::kNotFound) continue;  // nothing to score: stays as it was
      return FinishUnary(context, absl::Status(plan.status().code(),
                                               StrCat("keys[", index, "]: ", FromAbsl(plan.status().message()))));
    }
    if (plan->cached_output.has_value()) {
      answer(index, *plan->model, *plan->cached_output);
      continue;
    }
    auto group = std::find_if(groups->begin(), groups->end(), [&](const Group& g) { return g.model == plan->model; });
    if (group == groups->end()) group = groups->insert(groups->end(), Group{plan->model, {}, {}, {}, {}});
    group->rows.insert(group->rows.end(), plan->row.begin(), plan->row.end());
    group->results.push_back(index);
    group->keys.push_back(std::move(miss_keys[m]));
    group->cacheable.push_back(plan->cacheable);
  }
  if (groups->empty()) return FinishUnary(context, absl::OkStatus());

  struct Pending {
    std::mutex mutex;
    size_t remaining;
    absl::Status status;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = groups->size();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  for (Group& group : *groups) {
    std::vector<float> rows = std::move(group.rows);
    batcher_->Submit(group.model, std::move(rows),
                     [reactor, pending, groups, &group, answer, fallback = fallback_, &binding](
                         absl::Status scored, std::vector<float> outputs) {
                       std::lock_guard<std::mutex> lock(pending->mutex);
                       if (scored.ok()) {
                         for (size_t r = 0; r < group.results.size(); ++r) {
                           answer(group.results[r], *group.model, outputs[r]);
                           fallback->Remember(binding, group.keys[r], *group.model, group.cacheable[r], outputs[r]);
                         }
                       } else {
                         pending->status = scored;
                       }
                       if (--pending->remaining == 0) reactor->Finish(ToGrpcStatus(pending->status));
                     });
  }
  return reactor;
}

grpc::ServerUnaryReactor* PredictionService::Predict(grpc::CallbackServerContext* context,
                                                     const v1::PredictRequest* request,
                                                     v1::PredictResponse* response) {
  if (models_ == nullptr) {
    return FinishUnary(context, absl::FailedPreconditionError(
                                    "this server serves no models: start it with --model_registry"));
  }
  absl::Status status = CheckDeadline(context);
  if (!status.ok()) return FinishUnary(context, status);
  absl::StatusOr<ModelReference> reference = ParseModelReference(request->model());
  if (!reference.ok()) {
    return FinishUnary(context, absl::InvalidArgumentError(StrCat("model: ", FromAbsl(reference.status().message()))));
  }
  absl::StatusOr<std::shared_ptr<const ServedModel>> model = models_->Resolve(*reference);
  if (!model.ok()) return FinishUnary(context, model.status());
  if (request->rows_size() == 0) return FinishUnary(context, absl::InvalidArgumentError("rows: at least one row is needed"));
  if (static_cast<uint64_t>(request->rows_size()) > max_batch_keys_) {
    return FinishUnary(context, absl::ResourceExhaustedError(StrCat("rows: ", request->rows_size(),
                                                                    " rows exceed the server's limit of ",
                                                                    max_batch_keys_, " per call; split them")));
  }
  absl::StatusOr<std::vector<float>> rows =
      ScoringRowsFromWire(**model, request->feature_names(), request->rows());
  if (!rows.ok()) return FinishUnary(context, rows.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  batcher_->Submit(*model, *std::move(rows),
                   [reactor, response, model = *model](absl::Status scored, std::vector<float> outputs) {
                     if (scored.ok()) {
                       const size_t per_row = model->scorer->outputs_per_row();
                       response->mutable_predictions()->Reserve(static_cast<int>(outputs.size() / per_row));
                       for (size_t at = 0; at < outputs.size(); at += per_row) {
                         response->add_predictions()->mutable_values()->Add(outputs.begin() + at,
                                                                            outputs.begin() + at + per_row);
                       }
                       response->set_model_name(model->name);
                       response->set_model_version(model->version);
                     }
                     reactor->Finish(ToGrpcStatus(scored));
                   });
  return reactor;
}

grpc::ServerUnaryReactor* PredictionService::ListModels(grpc::CallbackServerContext* context,
                                                        const v1::ListModelsRequest*,
                                                        v1::ListModelsResponse* response) {
  if (models_ == nullptr) return FinishUnary(context, absl::OkStatus());
  ServedModelsToWire(*models_, response->mutable_models());
  for (const std::string& error : models_->LastErrors()) response->add_load_errors(error);
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

grpc::ServerUnaryReactor* PredictionService::IngestStatus(grpc::CallbackServerContext* context,
                                                          const v1::IngestStatusRequest* request,
                                                          v1::IngestStatusResponse* response) {
  if (streams_ == nullptr) {
    return FinishUnary(context, absl::FailedPreconditionError("this server takes no streams: start it with --ingest"));
  }
  if (request->table().empty()) return FinishUnary(context, absl::InvalidArgumentError("table: required"));
  const StreamStore* stream = streams_->Find(request->table());
  if (stream == nullptr) return FinishUnary(context, absl::OkStatus());  // no events yet
  const int64_t now = absl::ToUnixMicros(absl::Now());
  for (const auto& [source, state] : stream->Sources()) SourceStatusToWire(source, state, now, response->add_sources());
  response->set_dead_letter_file(stream->dead_letter_file().string());
  return FinishUnary(context, absl::OkStatus());
}

}  // namespace predstore
