// libFuzzer target: any bytes as the protobuf of a LookupRequest, a
// BatchLookupRequest (keys in rows and in columns), a ScanRequest and a
// PredictRequest, each validated against two tables (one partitioned, with
// a key column of every type) as the gRPC and HTTP front ends do before
// calling core (server/wire.h). Validation must end in a query or an error
// naming the field, never a crash (AddressSanitizer, UBSan); beyond that,
// every key it accepts has one cell per lookup column, each of its
// column's type, strings within the key length limit, and encodes to a
// stored key that decodes back to it; a columnar batch never has more keys
// than ColumnarKeyCount says (which the batch limit is checked on); feature
// rows have one value per name; a scan has one range per lookup column,
// bounds of the column's type, and the request's limit and page token. Run
// by tests/fuzz/run_fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/table/key_codec.h"
#include "predstore/v1/predstore.pb.h"
#include "server/wire.h"

namespace {

using predstore::Cell;
using predstore::ColumnType;
using predstore::Schema;

struct Table {
  Schema schema;
  predstore::KeyCodec codec;
  explicit Table(Schema s) : schema(std::move(s)), codec(schema) {}
};

const std::vector<std::unique_ptr<Table>>& Tables() {
  static const std::vector<std::unique_ptr<Table>> tables = [] {
    std::vector<std::unique_ptr<Table>> tables;
    tables.push_back(
        std::make_unique<Table>(*Schema::Create({{"store_id", ColumnType::kInt64}, {"item_id", ColumnType::kInt64}},
                                                {{"score", ColumnType::kDouble}}, std::nullopt)));
    tables.push_back(std::make_unique<Table>(*Schema::Create({{"store_id", ColumnType::kUint64},
                                                              {"day", ColumnType::kDate},
                                                              {"at", ColumnType::kTimestamp},
                                                              {"sku", ColumnType::kString}},
                                                             {{"score", ColumnType::kFloat}},
                                                             predstore::Column{"region", ColumnType::kString},
                                                             predstore::KeyLayout::kHilbert)));
    return tables;
  }();
  return tables;
}

// Aborts unless `cells` are keys of `table` (lookup_columns().size() cells
// each) that round-trip through the key codec.
void CheckKeys(const Table& table, std::span<const Cell> cells) {
  const auto& columns = table.schema.lookup_columns();
  if (cells.size() % columns.size() != 0) std::abort();
  std::string key;
  for (size_t k = 0; k < cells.size(); k += columns.size()) {
    const std::span<const Cell> row = cells.subspan(k, columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      if (!predstore::CellHasType(row[i], columns[i].type)) std::abort();
      if (const auto* text = std::get_if<std::string>(&row[i]); text && text->size() > predstore::kMaxKeyStringBytes) {
        std::abort();
      }
    }
    key.clear();
    table.codec.Encode(row, &key);
    absl::StatusOr<std::vector<Cell>> decoded = table.codec.Decode(key);
    if (!decoded.ok() || !std::equal(decoded->begin(), decoded->end(), row.begin(), row.end())) std::abort();
  }
}

void CheckFeatures(const absl::StatusOr<predstore::FeatureRows>& features) {
  if (features.ok() && features->values.size() != features->rows * features->names.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  predstore::v1::LookupRequest lookup;
  predstore::v1::BatchLookupRequest batch;
  predstore::v1::ScanRequest scan;
  predstore::v1::PredictRequest predict;
  const bool is_lookup = lookup.ParseFromArray(data, static_cast<int>(size));
  const bool is_batch = batch.ParseFromArray(data, static_cast<int>(size));
  const bool is_scan = scan.ParseFromArray(data, static_cast<int>(size));
  const bool is_predict = predict.ParseFromArray(data, static_cast<int>(size));
  for (const auto& table : Tables()) {
    const Schema& schema = table->schema;
    const size_t columns = schema.lookup_columns().size();
    if (is_lookup) {
      absl::StatusOr<std::vector<Cell>> key = predstore::LookupCellsFromWire(lookup.key(), schema);
      if (key.ok()) {
        if (key->size() != columns || static_cast<size_t>(lookup.key_size()) != columns) std::abort();
        CheckKeys(*table, *key);
      }
    }
    if (is_batch) {
      absl::StatusOr<std::vector<Cell>> keys = predstore::BatchKeysFromWire(batch, schema);
      if (keys.ok()) {
        if (keys->size() != static_cast<size_t>(batch.keys_size()) * columns) std::abort();
        CheckKeys(*table, *keys);
      }
      absl::StatusOr<std::vector<Cell>> columnar = predstore::ColumnarKeysFromWire(batch, schema);
      if (columnar.ok()) {
        if (columnar->size() / columns > predstore::ColumnarKeyCount(batch)) std::abort();
        CheckKeys(*table, *columnar);
      }
    }
    if (is_scan) {
      absl::StatusOr<predstore::ScanQuery> query = predstore::ScanQueryFromWire(scan, schema);
      if (query.ok()) {
        if (query->ranges.size() != columns || query->limit != scan.limit() ||
            query->resume_after != scan.page_token()) {
          std::abort();
        }
        for (size_t i = 0; i < columns; ++i) {
          for (const std::optional<Cell>* bound : {&query->ranges[i].low, &query->ranges[i].high}) {
            if (!*bound) continue;
            if (!predstore::CellHasType(**bound, schema.lookup_columns()[i].type)) std::abort();
            const auto* text = std::get_if<std::string>(&**bound);
            if (text && text->size() > predstore::kMaxKeyStringBytes) std::abort();
          }
        }
      }
    }
  }
  if (is_batch) CheckFeatures(predstore::FeatureRowsFromWire(batch.feature_names(), batch.features(), "features"));
  if (is_predict) {
    CheckFeatures(predstore::FeatureRowsFromWire(predict.feature_names(), predict.rows(), "rows"));
    // Any number is a kind or kInvalidArgument; either will do here.
    predstore::OutputKindFromWire(predict.output()).status().IgnoreError();
  }
  return 0;
}
