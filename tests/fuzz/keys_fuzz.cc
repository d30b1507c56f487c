// libFuzzer target: any bytes as a stored key and as a Scan page token (the
// token is the last key returned: ScanPages sends it as next_page_token and
// PredictionStore::Scan decodes it with KeyCodec::Decode before seeking
// there), under tables of every key layout (zorder, hilbert, linear;
// normalised curves with and without a mapping; a partition column of each
// kind; 10 curve columns), the first byte choosing the table; then the same
// bytes as the cells of two rows. Decoding must end in cells or kDataLoss,
// never a crash (AddressSanitizer, UBSan); beyond that, a key that decodes is
// exactly the key its cells encode to (for a normalised layout: with this
// codec's codes), with the partition prefix where PartitionPrefixLength says;
// cells encode to a key that decodes back to them, whose curve part holds
// their curve coordinates; and keys sort as their partition values, and in
// the linear layout as their cells. Run by tests/fuzz/run_fuzz.sh.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/table/key_codec.h"

namespace {

using predstore::Cell;
using predstore::Column;
using predstore::ColumnType;
using predstore::KeyCodec;
using predstore::KeyLayout;
using predstore::KeyNormalization;
using predstore::Schema;

struct Table {
  Schema schema;
  KeyCodec codec;
  Table(Schema s, predstore::KeyMapping mapping) : schema(std::move(s)), codec(schema, std::move(mapping)) {}
};

Schema MakeSchema(std::vector<Column> keys, std::optional<Column> partition, KeyLayout layout,
                  KeyNormalization normalization = KeyNormalization::kNone) {
  return *Schema::Create(std::move(keys), {{"v", ColumnType::kDouble}}, std::move(partition), layout, normalization);
}

// A mapping fitted to a few spread-out keys, as a load fits one.
predstore::KeyMapping FittedMapping(size_t columns, KeyNormalization normalization) {
  predstore::KeyStatistics statistics(columns);
  for (uint64_t i = 0; i < 64; ++i) {
    predstore::ZPoint point{};
    for (size_t j = 0; j < columns; ++j) point[j] = (i * i * 0x9E3779B97F4A7C15ull) >> (j * 7);
    statistics.Add(point);
  }
  return statistics.Fit(normalization);
}

const std::vector<std::unique_ptr<Table>>& Tables() {
  static const std::vector<std::unique_ptr<Table>> tables = [] {
    const Column i64{"a", ColumnType::kInt64}, u64{"u", ColumnType::kUint64}, date{"d", ColumnType::kDate},
        ts{"t", ColumnType::kTimestamp}, str{"s", ColumnType::kString};
    std::vector<Column> wide;
    for (int j = 0; j < 10; ++j) {
      wide.push_back({"c" + std::to_string(j), j == 3 ? ColumnType::kDate : ColumnType::kInt64});
    }
    std::vector<std::unique_ptr<Table>> tables;
    auto add = [&](Schema schema, predstore::KeyMapping mapping = {}) {
      tables.push_back(std::make_unique<Table>(std::move(schema), std::move(mapping)));
    };
    add(MakeSchema({i64, date, str}, std::nullopt, KeyLayout::kZOrder));
    add(MakeSchema({u64, ts}, Column{"p", ColumnType::kString}, KeyLayout::kZOrder));
    add(MakeSchema({i64, date, u64}, Column{"p", ColumnType::kDate}, KeyLayout::kHilbert));
    add(MakeSchema({i64, str}, Column{"p", ColumnType::kInt64}, KeyLayout::kHilbert));
    add(MakeSchema({str, i64, date}, Column{"p", ColumnType::kString}, KeyLayout::kLinear));
    add(MakeSchema({i64, u64}, std::nullopt, KeyLayout::kZOrder, KeyNormalization::kMinMax));
    add(MakeSchema({u64, date, ts}, Column{"p", ColumnType::kTimestamp}, KeyLayout::kHilbert,
                   KeyNormalization::kQuantile),
        FittedMapping(3, KeyNormalization::kQuantile));
    add(MakeSchema({i64, date, str}, std::nullopt, KeyLayout::kZOrder, KeyNormalization::kMinMax),
        FittedMapping(2, KeyNormalization::kMinMax));
    add(MakeSchema(wide, std::nullopt, KeyLayout::kZOrder));
    return tables;
  }();
  return tables;
}

// The cells of one row of `schema`, from the fuzz input.
std::vector<Cell> ConsumeCells(const Schema& schema, FuzzedDataProvider* input) {
  std::vector<Cell> cells;
  for (const Column& column : schema.lookup_columns()) {
    switch (column.type) {
      case ColumnType::kInt64:
        cells.emplace_back(input->ConsumeIntegral<int64_t>());
        break;
      case ColumnType::kUint64:
        cells.emplace_back(input->ConsumeIntegral<uint64_t>());
        break;
      case ColumnType::kDate:
        cells.emplace_back(predstore::Date{input->ConsumeIntegral<int32_t>()});
        break;
      case ColumnType::kTimestamp:
        cells.emplace_back(predstore::Timestamp{input->ConsumeIntegral<int64_t>()});
        break;
      default:
        cells.emplace_back(input->ConsumeRandomLengthString(64));
        break;
    }
  }
  return cells;
}

// Aborts unless `key` is exactly what the codec makes of its cells.
void CheckDecodedKey(const Table& table, std::string_view key) {
  const KeyCodec& codec = table.codec;
  absl::StatusOr<std::vector<Cell>> cells = codec.Decode(key);
  if (!cells.ok()) return;
  const auto& columns = table.schema.lookup_columns();
  if (cells->size() != columns.size()) std::abort();
  for (size_t i = 0; i < columns.size(); ++i) {
    if (!predstore::CellHasType((*cells)[i], columns[i].type)) std::abort();
  }
  std::string encoded;
  codec.Encode(*cells, &encoded);
  std::string expected(key);
  if (codec.normalized()) {
    expected.clear();
    if (!codec.Remap(key, &expected).ok()) std::abort();
    absl::StatusOr<predstore::ZPoint> ordinals = codec.ReadOrdinals(key);
    if (!ordinals.ok()) std::abort();
    for (size_t j = 0; j < codec.curve_columns().size(); ++j) {
      if ((*ordinals)[j] != KeyCodec::OrdinalOf((*cells)[codec.curve_columns()[j]])) std::abort();
    }
  }
  if (encoded != expected) std::abort();
  absl::StatusOr<size_t> prefix = codec.PartitionPrefixLength(key);
  if (!prefix.ok() || *prefix > key.size()) std::abort();
  if (table.schema.partition_column()) {
    std::string partition;
    codec.EncodePartition((*cells)[0], &partition);
    if (key.substr(0, *prefix) != partition) std::abort();
  }
}

// Encodes `cells`; aborts unless the key decodes back to them and holds
// their curve coordinates. Returns the key.
std::string CheckEncodedCells(const Table& table, const std::vector<Cell>& cells) {
  const KeyCodec& codec = table.codec;
  std::string key;
  codec.Encode(cells, &key);
  absl::StatusOr<std::vector<Cell>> decoded = codec.Decode(key);
  if (!decoded.ok() || *decoded != cells) std::abort();
  absl::StatusOr<size_t> prefix = codec.PartitionPrefixLength(key);
  if (!prefix.ok()) std::abort();
  if (!codec.curve_columns().empty()) {
    if (key.size() < *prefix + codec.curve_bytes()) std::abort();
    const predstore::ZPoint curve = codec.ReadCurve(std::string_view(key).substr(*prefix));
    for (size_t j = 0; j < codec.curve_columns().size(); ++j) {
      if (curve[j] != codec.CurveCoordinate(j, cells[codec.curve_columns()[j]])) std::abort();
    }
  }
  return key;
}

int Sign(int value) { return (value > 0) - (value < 0); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Table& table = *Tables()[data[0] % Tables().size()];
  const std::string_view key(reinterpret_cast<const char*>(data) + 1, size - 1);
  CheckDecodedKey(table, key);

  FuzzedDataProvider input(data + 1, size - 1);
  const std::vector<Cell> a = ConsumeCells(table.schema, &input);
  const std::vector<Cell> b = ConsumeCells(table.schema, &input);
  const std::string key_a = CheckEncodedCells(table, a);
  const std::string key_b = CheckEncodedCells(table, b);
  const int key_order = Sign(key_a.compare(key_b));
  if (table.schema.partition_column() && a[0] != b[0] && key_order != (a[0] < b[0] ? -1 : 1)) std::abort();
  if (table.schema.layout() == KeyLayout::kLinear && key_order != (a < b ? -1 : a == b ? 0 : 1)) std::abort();
  return 0;
}
