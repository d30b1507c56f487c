// ValueCodec turns a row's value cells into the RocksDB value of the row and
// reads them back without copying. Immutable; concurrent use is safe.
//
// Value format (persisted): when the schema has nullable value
// columns, a null bitmap of ceil(k/8) bytes for its k nullable columns in
// schema order (bit j % 8 of byte j / 8 set: the j-th is Null); then the
// value columns in schema order, a Null one taking no bytes, each other as:
// double 8 bytes, float 4 bytes, int64 8 bytes (all little-endian, IEEE 754
// for floats), string a LEB128 length then its bytes. No header: the
// manifest's format version says whether nullable columns may exist
// (table_directory.h); version 1 had none, so its rows read the same.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/table/schema.h"

namespace predstore {

class ValueCodec {
 public:
  // `schema` must outlive the codec.
  explicit ValueCodec(const Schema& schema) : schema_(schema) {}

  // Appends the encoding of `values` (one per value column) to `out`.
  // REQUIRES: each cell holds its column's type, or Null if it is nullable.
  void Encode(std::span<const Cell> values, std::string* out) const;

  // Calls visit(column_index, CellView) for each value column in order
  // (Null for a null one). String views point into `bytes`. kDataLoss when
  // `bytes` is malformed. Allocates nothing.
  template <typename Visit>
  absl::Status ForEach(std::string_view bytes, Visit&& visit) const;

  // Decodes into owned cells (tests and tools; the request path uses ForEach).
  absl::StatusOr<std::vector<Cell>> Decode(std::string_view bytes) const;

 private:
  const Schema& schema_;
};

template <typename Visit>
absl::Status ValueCodec::ForEach(std::string_view bytes, Visit&& visit) const {
  const auto& columns = schema_.value_columns();
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  const size_t bitmap_bytes = (schema_.nullable_value_columns() + 7) / 8;
  if (bytes.size() < bitmap_bytes) return absl::DataLossError("value: shorter than its null bitmap");
  const char* const bitmap = p;
  p += bitmap_bytes;
  size_t nullable_index = 0;
  auto fixed = [&](auto* value) {
    if (end - p < static_cast<ptrdiff_t>(sizeof(*value))) return false;
    std::memcpy(value, p, sizeof(*value));
    p += sizeof(*value);
    return true;
  };
  for (size_t i = 0; i < columns.size(); ++i) {
    if (bitmap_bytes != 0 && columns[i].nullable) {
      const size_t j = nullable_index++;
      if ((static_cast<uint8_t>(bitmap[j / 8]) >> (j % 8)) & 1) {
        visit(i, CellView(Null{}));
        continue;
      }
    }
    bool ok = true;
    switch (columns[i].type) {
      case ColumnType::kDouble: {
        double v;
        if ((ok = fixed(&v))) visit(i, CellView(v));
        break;
      }
      case ColumnType::kFloat: {
        float v;
        if ((ok = fixed(&v))) visit(i, CellView(v));
        break;
      }
      case ColumnType::kInt64: {
        int64_t v;
        if ((ok = fixed(&v))) visit(i, CellView(v));
        break;
      }
      case ColumnType::kString: {
        uint64_t length = 0;
        int shift = 0;
        while (ok) {
          if (p == end || shift > 63) {
            ok = false;
            break;
          }
          uint8_t byte = static_cast<uint8_t>(*p++);
          length |= static_cast<uint64_t>(byte & 0x7F) << shift;
          shift += 7;
          if (!(byte & 0x80)) break;
        }
        if (ok && static_cast<uint64_t>(end - p) < length) ok = false;
        if (ok) {
          visit(i, CellView(std::string_view(p, length)));
          p += length;
        }
        break;
      }
      default:
        ok = false;
    }
    if (!ok) return absl::DataLossError("value: malformed row value encoding");
  }
  if (p != end) return absl::DataLossError("value: trailing bytes after the last column");
  return absl::OkStatus();
}

}  // namespace predstore
