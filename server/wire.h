// Server-side conversions between predstore.v1 messages and the core's
// queries and answers (cell conversions are shared with the client in
// proto/wire_values.h), and the single absl::Status -> grpc::Status mapping
// of the server. Conversions check the wire shape (counts, names, types)
// and name the field; what an answer means is decided in core. Stateless.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/model_catalog.h"
#include "core/serve/ingest_service.h"
#include "core/serve/lookup_service.h"
#include "core/snapshot/prediction_store.h"
#include "core/stream/stream_store.h"
#include "core/table/schema.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "predstore/v1/predstore.pb.h"
#include "proto/wire_values.h"

namespace predstore {

// Keeps the canonical code; bounds the message to 1 KiB.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Finishes a unary callback call with `status` on its default reactor.
grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context, const absl::Status& status);

// Orders named key fields as schema.lookup_columns(). kInvalidArgument for
// an unknown, repeated or missing column, naming it.
absl::StatusOr<std::vector<Cell>> LookupCellsFromWire(const google::protobuf::RepeatedPtrField<v1::KeyField>& key,
                                                      const Schema& schema);

// For each lookup column, its position in `key_columns`. kInvalidArgument
// as above.
absl::StatusOr<std::vector<int>> KeyColumnPositions(const google::protobuf::RepeatedPtrField<std::string>& key_columns,
                                                    const Schema& schema);

// The core query of a Scan request: one range per lookup column, the limit
// and the page token. kInvalidArgument naming where[i] for an unknown or
// repeated column or a bound that does not fit the column's type.
absl::StatusOr<ScanQuery> ScanQueryFromWire(const v1::ScanRequest& request, const Schema& schema);

void TableInfoToWire(const TableSnapshot& snapshot, v1::TableInfo* out);

// A stream source's committed state, with its lags measured at `now_micros`.
void SourceStatusToWire(const std::string& source, const SourceState& state, int64_t now_micros,
                        v1::SourceStatus* out);

// The events of an IngestRequest, converted against `table`'s schema.
// kInvalidArgument naming events[i] and the column.
absl::StatusOr<std::vector<IngestEvent>> IngestEventsFromWire(const v1::IngestRequest& request,
                                                             const TableSnapshot& table);

// Every version `catalog` serves, with its features and objective.
void ServedModelsToWire(const ModelCatalog& catalog, google::protobuf::RepeatedPtrField<v1::ServedModelInfo>* out);

// Feature rows named by `feature_names`, viewing the request's values.
// kInvalidArgument "<field>[r]: has N values for M feature_names".
absl::StatusOr<FeatureRows> FeatureRowsFromWire(const google::protobuf::RepeatedPtrField<std::string>& feature_names,
                                                const google::protobuf::RepeatedPtrField<v1::FeatureRow>& rows,
                                                std::string_view field);

// The query of a Lookup request on `table` (LookupService::Table); views
// into `request`. kInvalidArgument naming a bad key column.
absl::StatusOr<LookupQuery> LookupQueryFromWire(const v1::LookupRequest& request,
                                                std::shared_ptr<const TableSnapshot> table);

// The keys of a BatchLookup request with keys in rows (`keys`), row-major:
// one cell per schema.lookup_columns() per key. kInvalidArgument naming a
// bad key column or keys[k].
absl::StatusOr<std::vector<Cell>> BatchKeysFromWire(const v1::BatchLookupRequest& request, const Schema& schema);

// The query of a BatchLookup request with keys in rows (`keys`): its keys
// as BatchKeysFromWire gives them. kInvalidArgument naming keys[k] or
// features[r].
absl::StatusOr<BatchLookupQuery> BatchLookupQueryFromWire(const v1::BatchLookupRequest& request,
                                                          std::shared_ptr<const TableSnapshot> table);

// The number of keys of a columnar BatchLookup request (`key_values`), as
// its first key column holds them; 0 when it has none.
size_t ColumnarKeyCount(const v1::BatchLookupRequest& request);

// The keys of a columnar BatchLookup request (`key_values`), row-major as
// BatchKeysFromWire's. kInvalidArgument when it has `keys` too, or naming
// a bad key column, or key_values[i] and its column.
absl::StatusOr<std::vector<Cell>> ColumnarKeysFromWire(const v1::BatchLookupRequest& request, const Schema& schema);

// The query of a columnar BatchLookup request, its keys as
// ColumnarKeysFromWire gives them; never falls back. kInvalidArgument as
// there.
absl::StatusOr<BatchLookupQuery> ColumnarQueryFromWire(const v1::BatchLookupRequest& request,
                                                       std::shared_ptr<const TableSnapshot> table);

// The answer of one lookup. kDataLoss for stored values that do not decode.
absl::Status LookupResponseToWire(const LookupAnswers& answers, v1::LookupResponse* out);
// The answers of a BatchLookup, as rows or as columns.
absl::Status BatchLookupResponseToWire(const LookupAnswers& answers, v1::BatchLookupResponse* out);
absl::Status ColumnarResponseToWire(const LookupAnswers& answers, v1::BatchLookupResponse* out);

void PredictResponseToWire(const PredictAnswer& answer, v1::PredictResponse* out);

v1::OutputKind OutputKindToWire(OutputKind kind);
// UNSPECIFIED is probability; kInvalidArgument for an unknown number.
absl::StatusOr<OutputKind> OutputKindFromWire(v1::OutputKind kind);

}  // namespace predstore
