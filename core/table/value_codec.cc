#include "core/table/value_codec.h"

namespace predstore {
namespace {

template <typename T>
void AppendFixed(T value, std::string* out) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out->append(bytes, sizeof(T));
}

}  // namespace

void ValueCodec::Encode(std::span<const Cell> values, std::string* out) const {
  const size_t nullable = schema_.nullable_value_columns();
  if (nullable > 0) {
    const size_t bitmap_at = out->size();
    out->append((nullable + 7) / 8, '\0');
    size_t j = 0;
    const auto& columns = schema_.value_columns();
    for (size_t i = 0; i < columns.size(); ++i) {
      if (!columns[i].nullable) continue;
      if (std::holds_alternative<Null>(values[i])) (*out)[bitmap_at + j / 8] |= static_cast<char>(1 << (j % 8));
      ++j;
    }
  }
  for (const Cell& cell : values) {
    if (const auto* v = std::get_if<double>(&cell)) {
      AppendFixed(*v, out);
    } else if (const auto* v = std::get_if<float>(&cell)) {
      AppendFixed(*v, out);
    } else if (const auto* v = std::get_if<int64_t>(&cell)) {
      AppendFixed(*v, out);
    } else if (const auto* v = std::get_if<std::string>(&cell)) {
      uint64_t length = v->size();
      do {
        uint8_t byte = length & 0x7F;
        length >>= 7;
        out->push_back(static_cast<char>(byte | (length ? 0x80 : 0)));
      } while (length);
      out->append(*v);
    }
  }
}

absl::StatusOr<std::vector<Cell>> ValueCodec::Decode(std::string_view bytes) const {
  std::vector<Cell> cells;
  cells.reserve(schema_.value_columns().size());
  absl::Status status = ForEach(bytes, [&](size_t, const CellView& view) {
    std::visit([&](const auto& v) {
      using T = std::decay_t<decltype(v)>;
      if constexpr (std::is_same_v<T, std::string_view>) {
        cells.emplace_back(std::string(v));
      } else {
        cells.emplace_back(v);
      }
    }, view);
  });
  if (!status.ok()) return status;
  return cells;
}

}  // namespace predstore
