// Server-side conversions between predstore.v1 requests and core types (cell
// conversions are shared with the client in client/wire_values.h), and the
// single absl::Status -> grpc::Status mapping of the server. Stateless.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model_catalog.h"
#include "core/prediction_store.h"
#include "core/stream_store.h"
#include "client/wire_values.h"
#include "core/schema.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "predstore/v1/predstore.pb.h"

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

// The core events of an IngestRequest for `table`: keys and values encoded
// with its codecs. Events carrying features (no values) are passed to
// `score` with their indexes and key cells, which fills their values.
// kInvalidArgument naming events[i] and the column.
using ScoreFeatureEvents = std::function<absl::Status(const std::vector<size_t>& indexes,
                                                      const std::vector<std::vector<Cell>>& key_cells,
                                                      std::vector<StreamEvent>* events)>;
absl::StatusOr<std::vector<StreamEvent>> StreamEventsFromWire(const v1::IngestRequest& request,
                                                             const TableSnapshot& table,
                                                             const ScoreFeatureEvents& score);

// Every version `catalog` serves, with its features and objective.
void ServedModelsToWire(const ModelCatalog& catalog, google::protobuf::RepeatedPtrField<v1::ServedModelInfo>* out);

// The scoring rows of a Predict request: rows x model.features, NaN for an
// absent feature. kInvalidArgument naming feature_names[i] (unknown to the
// model, repeated) or rows[r] and the feature (wrong count, mistyped value,
// required feature missing).
absl::StatusOr<std::vector<float>> ScoringRowsFromWire(const ServedModel& model,
                                                       const google::protobuf::RepeatedPtrField<std::string>& feature_names,
                                                       const google::protobuf::RepeatedPtrField<v1::FeatureRow>& rows);

}  // namespace predstore
