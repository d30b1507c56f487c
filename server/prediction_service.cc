#include "server/prediction_service.h"

#include <chrono>

#include "core/strings.h"
#include "server/wire.h"

namespace predstore {
namespace {

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

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

}  // namespace

grpc::ServerUnaryReactor* PredictionService::Lookup(grpc::CallbackServerContext* context,
                                                    const v1::LookupRequest* request, v1::LookupResponse* response) {
  absl::Status status = CheckDeadline(context);
  if (!status.ok()) return Finish(context, status);
  auto snapshot = FindTable(*store_, request->table());
  if (!snapshot.ok()) return Finish(context, snapshot.status());
  const TableSnapshot& table = **snapshot;
  auto cells = LookupCellsFromWire(request->key(), table.schema());
  if (!cells.ok()) return Finish(context, cells.status());
  std::string key;
  table.key_codec().Encode(*cells, &key);
  absl::Status decode_status;
  auto found = table.Get(key, [&](std::string_view value) {
    decode_status = table.value_codec().ForEach(
        value, [response](size_t, const CellView& cell) { CellToWire(cell, response->add_values()); });
  });
  if (!found.ok()) return Finish(context, found.status());
  if (!decode_status.ok()) return Finish(context, decode_status);
  response->set_found(*found);
  response->set_snapshot_version(table.version());
  response->set_source(v1::SOURCE_PRECOMPUTED);
  for (const Column& c : table.schema().value_columns()) response->add_value_columns(c.name);
  return Finish(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PredictionService::BatchLookup(grpc::CallbackServerContext* context,
                                                         const v1::BatchLookupRequest* request,
                                                         v1::BatchLookupResponse* response) {
  absl::Status status = CheckDeadline(context);
  if (!status.ok()) return Finish(context, status);
  if (static_cast<uint64_t>(request->keys_size()) > max_batch_keys_) {
    return Finish(context, absl::ResourceExhaustedError(StrCat("keys: ", request->keys_size(),
                                                               " keys exceed the server's limit of ", max_batch_keys_,
                                                               " per BatchLookup; split the batch")));
  }
  auto snapshot = FindTable(*store_, request->table());
  if (!snapshot.ok()) return Finish(context, snapshot.status());
  const TableSnapshot& table = **snapshot;
  const Schema& schema = table.schema();
  auto positions = KeyColumnPositions(request->key_columns(), schema);
  if (!positions.ok()) return Finish(context, positions.status());

  // Encode every key into one buffer, then view them.
  const auto& columns = schema.lookup_columns();
  std::vector<Cell> cells(columns.size());
  std::string buffer;
  std::vector<size_t> ends;
  ends.reserve(request->keys_size());
  for (int k = 0; k < request->keys_size(); ++k) {
    const v1::KeyRow& row = request->keys(k);
    if (row.values_size() != request->key_columns_size()) {
      return Finish(context, absl::InvalidArgumentError(StrCat("keys[", k, "]: has ", row.values_size(),
                                                               " values for ", request->key_columns_size(),
                                                               " key_columns")));
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      auto cell = CellFromWire(row.values((*positions)[i]), columns[i]);
      if (!cell.ok()) return Finish(context, absl::InvalidArgumentError(StrCat("keys[", k, "]: ", cell.status().message())));
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
  if (!status.ok()) return Finish(context, status);
  if (!decode_status.ok()) return Finish(context, decode_status);
  response->set_snapshot_version(table.version());
  for (const Column& c : schema.value_columns()) response->add_value_columns(c.name);
  return Finish(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PredictionService::ListTables(grpc::CallbackServerContext* context,
                                                        const v1::ListTablesRequest*,
                                                        v1::ListTablesResponse* response) {
  for (const auto& snapshot : store_->Tables()) TableInfoToWire(*snapshot, response->add_tables());
  return Finish(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* PredictionService::GetTable(grpc::CallbackServerContext* context,
                                                      const v1::GetTableRequest* request, v1::TableInfo* response) {
  auto snapshot = FindTable(*store_, request->table());
  if (!snapshot.ok()) return Finish(context, snapshot.status());
  TableInfoToWire(**snapshot, response);
  return Finish(context, absl::OkStatus());
}

}  // namespace predstore
