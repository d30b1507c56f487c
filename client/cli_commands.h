// The predstore-cli commands, as functions over a PredstoreClient, so that
// main.cc only parses flags. Each command writes its results to `out`
// (JSON Lines or an aligned table) and returns a status whose message is one
// line for the user. Not thread-safe; one command at a time.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/predstore_client.h"

namespace predstore {

enum class OutputFormat { kJsonLines, kTable };
// "jsonl" or "table".
absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name);

// Lists served tables: name, active version, rows, load time, schema.
absl::Status ListTablesCommand(const PredstoreClient& client, OutputFormat format, std::ostream& out);

// Lists the partitions of a table's active version: value, rows, and the
// version that wrote each.
absl::Status PartitionsCommand(const PredstoreClient& client, const std::string& table, OutputFormat format,
                               std::ostream& out);

// Looks up one key given as "column=value" assignments (text forms as in
// core/schema.h: 2026-11-26 for dates, RFC 3339 for timestamps), sending
// `features` ("name=value") for the table's fallback model; prints where the
// answer came from. kInvalidArgument naming the column for a bad or missing
// assignment.
// `as_of`: empty for the latest, else a timestamp's text form.
absl::Status LookupCommand(const PredstoreClient& client, const std::string& table,
                           const std::vector<std::string>& assignments, const std::vector<std::string>& features,
                           bool no_fallback, const std::string& as_of, OutputFormat format, std::ostream& out);

// A model feature "name=value": true/false a bool, an integer an int64, a
// decimal a double, anything else a string (the server rejects it, naming
// the type the model expects).
absl::StatusOr<std::pair<std::string, v1::Value>> ParseFeatureAssignment(std::string_view assignment);

// Scores one row of "name=value" features with `model` (a models:/ URI) for
// `output_kind` (probability, label or margin) and prints the prediction
// with what it is and the model version that made it, as JSON.
absl::Status PredictCommand(const PredstoreClient& client, const std::string& model, const std::string& output_kind,
                            const std::vector<std::string>& assignments, std::ostream& out);
// The served model versions and what each answers for; load errors to `info`.
absl::Status ModelsCommand(const PredstoreClient& client, OutputFormat format, std::ostream& out, std::ostream& info);
// Sends the JSON Lines events read from `events` (see stream_events.h) to
// the server as `source`, in batches; prints the source's committed state.
// kInvalidArgument naming the line of a bad event.
absl::Status IngestCommand(const PredstoreClient& client, const std::string& table, const std::string& source,
                           std::istream& events, uint32_t batch_size, std::ostream& out);
// Every source of a table's stream: position, counts, watermark and lag.
absl::Status IngestStatusCommand(const PredstoreClient& client, const std::string& table, std::ostream& out);
// One line describing a source's committed state.
std::string SourceStatusText(const v1::SourceStatus& status);

// Admin: re-read the model registry now.
absl::Status ReloadModelsCommand(const PredstoreClient& client, std::ostream& out);

// Looks up every key read from `keys` (JSON Lines objects, or CSV with a
// header naming the key columns; told apart by the first character), in
// batches of `batch_size`, printing one result per key in input order.
// kInvalidArgument naming the line for a bad key.
absl::Status BatchLookupCommand(const PredstoreClient& client, const std::string& table, std::istream& keys,
                                uint32_t batch_size, OutputFormat format, std::ostream& out);

// Parses a where clause against the table's lookup columns:
// "col between A and B", "col = V", "col >= V" or "col <= V" (values in
// their text form). kInvalidArgument naming the clause.
absl::StatusOr<v1::ColumnRange> ParseWhereClause(const v1::TableInfo& table, std::string_view clause);

// Streams the rows inside the box given by `where` clauses, printing each
// row (key columns then values); with `show_stats`, the scan's statistics
// and the next page token go to `info` after the rows. `page_token` is the
// hex form printed by an earlier scan.
absl::Status ScanCommand(const PredstoreClient& client, const std::string& table,
                         const std::vector<std::string>& where, uint64_t limit, const std::string& page_token,
                         bool show_stats, OutputFormat format, std::ostream& out, std::ostream& info);

// Admin: make an older kept version active (0: the previous one).
absl::Status RollbackCommand(const PredstoreClient& client, const std::string& table, uint64_t to_version,
                             std::ostream& out);
// Admin: re-read manifests (one table, or all when empty).
absl::Status RefreshCommand(const PredstoreClient& client, const std::string& table, std::ostream& out);

}  // namespace predstore
