#include "core/table/key_codec.h"

#include <array>

#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

constexpr uint64_t kSignBit64 = uint64_t{1} << 63;
constexpr uint32_t kSignBit32 = uint32_t{1} << 31;

int OrdinalWidth(ColumnType type) { return type == ColumnType::kDate ? 32 : 64; }

uint64_t Ordinal(const Cell& cell) {
  if (const auto* v = std::get_if<int64_t>(&cell)) return static_cast<uint64_t>(*v) ^ kSignBit64;
  if (const auto* v = std::get_if<uint64_t>(&cell)) return *v;
  if (const auto* v = std::get_if<Timestamp>(&cell)) return static_cast<uint64_t>(v->micros) ^ kSignBit64;
  if (const auto* v = std::get_if<Date>(&cell)) return static_cast<uint32_t>(v->days) ^ kSignBit32;
  return 0;  // strings are not interleaved; callers never ask
}

Cell FromOrdinal(ColumnType type, uint64_t ordinal) {
  switch (type) {
    case ColumnType::kInt64: return static_cast<int64_t>(ordinal ^ kSignBit64);
    case ColumnType::kUint64: return ordinal;
    case ColumnType::kTimestamp: return Timestamp{static_cast<int64_t>(ordinal ^ kSignBit64)};
    case ColumnType::kDate: return Date{static_cast<int32_t>(static_cast<uint32_t>(ordinal) ^ kSignBit32)};
    default: return int64_t{0};
  }
}

// kSpread[m][x]: the 8 bits of x moved to bit positions 0, m, 2m, ... 7m.
constexpr std::array<std::array<uint64_t, 256>, 9> MakeSpreadTables() {
  std::array<std::array<uint64_t, 256>, 9> tables{};
  for (int m = 1; m <= 8; ++m) {
    for (int x = 0; x < 256; ++x) {
      uint64_t spread = 0;
      for (int bit = 0; bit < 8; ++bit) {
        if (x & (1 << bit)) spread |= uint64_t{1} << (bit * m);
      }
      tables[m][x] = spread;
    }
  }
  return tables;
}
constexpr auto kSpread = MakeSpreadTables();

// The bits of `byte` at positions 0, m, 2m, ... 7m, for 8 < m <= 16 columns.
unsigned __int128 Spread(uint8_t byte, int m) {
  unsigned __int128 spread = 0;
  for (int bit = 0; bit < 8; ++bit) {
    if (byte & (1 << bit)) spread |= static_cast<unsigned __int128>(1) << (bit * m);
  }
  return spread;
}

void AppendBigEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t ReadBigEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (unsigned char c : bytes) value = (value << 8) | c;
  return value;
}

void AppendEscapedString(std::string_view text, std::string* out) {
  for (char c : text) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xFF');
  }
  out->push_back('\0');
  out->push_back('\x01');
}

// Reads an escaped string from the front of `*key`, advancing it.
absl::StatusOr<std::string> ReadEscapedString(std::string_view* key) {
  std::string text;
  for (size_t i = 0; i < key->size(); ++i) {
    char c = (*key)[i];
    if (c != '\0') {
      text.push_back(c);
      continue;
    }
    if (i + 1 >= key->size()) break;
    char next = (*key)[i + 1];
    if (next == '\xFF') {
      text.push_back('\0');
      ++i;
    } else if (next == '\x01') {
      key->remove_prefix(i + 2);
      return text;
    } else {
      break;
    }
  }
  return absl::DataLossError("key: malformed string column encoding");
}

}  // namespace

KeyCodec::KeyCodec(const Schema& schema, KeyMapping mapping)
    : schema_(schema),
      mapping_(std::move(mapping)),
      normalized_(schema.normalization() != KeyNormalization::kNone) {
  const auto& columns = schema.lookup_columns();
  size_t first_key = schema.partition_column() ? 1 : 0;
  if (schema.layout() == KeyLayout::kLinear) {
    for (size_t i = first_key; i < columns.size(); ++i) linear_columns_.push_back(static_cast<int>(i));
    return;
  }
  for (size_t i = first_key; i < columns.size(); ++i) {
    if (IsIntegerLike(columns[i].type)) {
      curve_columns_.push_back(static_cast<int>(i));
      ordinal_widths_.push_back(OrdinalWidth(columns[i].type));
      curve_widths_.push_back(normalized_ ? KeyMapping::kCodeBits : OrdinalWidth(columns[i].type));
      ordinal_bytes_ += OrdinalWidth(columns[i].type) / 8;
    } else {
      string_columns_.push_back(static_cast<int>(i));
    }
  }
  if (!normalized_) ordinal_bytes_ = 0;
  int max_width = 0;
  for (int w : curve_widths_) max_width = std::max(max_width, w);
  if (schema.layout() == KeyLayout::kHilbert && !curve_columns_.empty()) {
    hilbert_.emplace(static_cast<int>(curve_columns_.size()), max_width);
    curve_bytes_ = hilbert_->index_bytes();
    return;
  }
  for (int w : curve_widths_) curve_bytes_ += w / 8;
  for (int byte = max_width / 8 - 1; byte >= 0; --byte) {
    ByteRound round;
    round.byte = byte;
    for (size_t j = 0; j < curve_widths_.size(); ++j) {
      if (curve_widths_[j] / 8 > byte) round.index[round.columns++] = static_cast<uint8_t>(j);
    }
    byte_rounds_.push_back(round);
  }
}

void KeyCodec::EncodePartition(const Cell& partition, std::string* out) const {
  AppendColumn(partition, schema_.partition_column()->type, out);
}

void KeyCodec::AppendColumn(const Cell& cell, ColumnType type, std::string* out) {
  if (type == ColumnType::kString) {
    AppendEscapedString(std::get<std::string>(cell), out);
  } else {
    AppendBigEndian(Ordinal(cell), OrdinalWidth(type) / 8, out);
  }
}

absl::StatusOr<Cell> KeyCodec::ReadColumn(ColumnType type, std::string_view* key) {
  if (type == ColumnType::kString) {
    auto text = ReadEscapedString(key);
    if (!text.ok()) return text.status();
    return Cell(std::move(*text));
  }
  size_t width = OrdinalWidth(type) / 8;
  if (key->size() < width) return absl::DataLossError("key: too short for its columns");
  Cell cell = FromOrdinal(type, ReadBigEndian(key->substr(0, width)));
  key->remove_prefix(width);
  return cell;
}

void KeyCodec::Encode(std::span<const Cell> cells, std::string* out) const {
  if (schema_.partition_column()) EncodePartition(cells[0], out);
  const auto& columns = schema_.lookup_columns();
  for (int column : linear_columns_) AppendColumn(cells[column], columns[column].type, out);
  if (!curve_columns_.empty()) {
    ZPoint ordinals{};
    for (size_t j = 0; j < curve_columns_.size(); ++j) ordinals[j] = Ordinal(cells[curve_columns_[j]]);
    AppendCurveColumns(ordinals, out);
  }
  for (int column : string_columns_) AppendEscapedString(std::get<std::string>(cells[column]), out);
}

void KeyCodec::AppendCurveColumns(const ZPoint& ordinals, std::string* out) const {
  if (!normalized_) {
    AppendCurve(ordinals, out);
    return;
  }
  ZPoint codes{};
  for (size_t j = 0; j < curve_columns_.size(); ++j) codes[j] = mapping_.Code(j, ordinals[j]);
  AppendCurve(codes, out);
  for (size_t j = 0; j < curve_columns_.size(); ++j) AppendBigEndian(ordinals[j], ordinal_widths_[j] / 8, out);
}

uint64_t KeyCodec::OrdinalOf(const Cell& cell) { return Ordinal(cell); }

uint64_t KeyCodec::CurveCoordinate(size_t j, const Cell& cell) const {
  return normalized_ ? mapping_.Code(j, Ordinal(cell)) : Ordinal(cell);
}

void KeyCodec::AppendCurve(const ZPoint& coordinates, std::string* out) const {
  if (hilbert_) {
    hilbert_->Append(coordinates, out);
  } else {
    AppendInterleaved(coordinates, out);
  }
}

ZPoint KeyCodec::ReadCurve(std::string_view curve) const {
  return hilbert_ ? hilbert_->Read(curve) : ReadInterleaved(curve);
}

std::optional<ZPoint> KeyCodec::FirstInBox(const ZBox& box) const {
  if (!hilbert_) return box.low();  // the z-order minimum of a box is its low corner
  const ZPoint origin{};
  if (box.Contains(origin)) return origin;
  return hilbert_->NextInBox(box.low(), box.high(), origin);
}

std::optional<ZPoint> KeyCodec::NextInBox(const ZBox& box, const ZPoint& point) const {
  return hilbert_ ? hilbert_->NextInBox(box.low(), box.high(), point) : box.NextInBox(point);
}

absl::StatusOr<ZPoint> KeyCodec::ReadOrdinals(std::string_view key) const {
  PREDSTORE_ASSIGN_OR_RETURN(size_t prefix, PartitionPrefixLength(key));
  if (key.size() < prefix + curve_bytes_ + ordinal_bytes_) return absl::DataLossError("key: too short for its columns");
  return ReadOrdinalPart(key.substr(prefix + curve_bytes_, ordinal_bytes_));
}

absl::Status KeyCodec::AppendUnmapped(std::string_view key, std::string* out) const {
  PREDSTORE_ASSIGN_OR_RETURN(size_t prefix, PartitionPrefixLength(key));
  if (key.size() < prefix + curve_bytes_) return absl::DataLossError("key: too short for its columns");
  out->append(key.substr(0, prefix));
  out->append(curve_bytes_, '\0');
  out->append(key.substr(prefix + curve_bytes_));
  return absl::OkStatus();
}

ZPoint KeyCodec::ReadOrdinalPart(std::string_view ordinals) const {
  ZPoint point{};
  for (size_t j = 0; j < curve_columns_.size(); ++j) {
    const size_t width = ordinal_widths_[j] / 8;
    point[j] = ReadBigEndian(ordinals.substr(0, width));
    ordinals.remove_prefix(width);
  }
  return point;
}

absl::Status KeyCodec::Remap(std::string_view key, std::string* out) const {
  PREDSTORE_ASSIGN_OR_RETURN(size_t prefix, PartitionPrefixLength(key));
  if (key.size() < prefix + curve_bytes_ + ordinal_bytes_) return absl::DataLossError("key: too short for its columns");
  out->append(key.substr(0, prefix));
  AppendCurveColumns(ReadOrdinalPart(key.substr(prefix + curve_bytes_, ordinal_bytes_)), out);
  out->append(key.substr(prefix + curve_bytes_ + ordinal_bytes_));
  return absl::OkStatus();
}

void KeyCodec::AppendInterleaved(const ZPoint& coordinates, std::string* out) const {
  // One byte-round (8 bit-rounds) at a time: in byte-round b (counted from
  // the most significant byte of the widest column) the m columns at least
  // b+1 bytes wide contribute their byte b, spread so that their bits
  // alternate; the result is m whole bytes, written big-endian.
  char bytes[16 * 8];
  char* p = bytes;
  for (const ByteRound& round : byte_rounds_) {
    const int m = round.columns;
    const int shift = 8 * round.byte;
    if (m <= 8) {
      uint64_t word = 0;
      for (int k = 0; k < m; ++k) word |= kSpread[m][(coordinates[round.index[k]] >> shift) & 0xFF] << (m - 1 - k);
      for (int i = m - 1; i >= 0; --i) *p++ = static_cast<char>(word >> (8 * i));
    } else {
      unsigned __int128 word = 0;
      for (int k = 0; k < m; ++k) word |= Spread((coordinates[round.index[k]] >> shift) & 0xFF, m) << (m - 1 - k);
      for (int i = m - 1; i >= 0; --i) *p++ = static_cast<char>(word >> (8 * i));
    }
  }
  out->append(bytes, p - bytes);
}

ZPoint KeyCodec::ReadInterleaved(std::string_view morton) const {
  // Walk the bits in the order AppendInterleaved wrote them.
  const size_t n = curve_columns_.size();
  ZPoint coordinates{};
  int max_width = 0;
  for (int w : curve_widths_) max_width = std::max(max_width, w);
  size_t bit_index = 0;
  for (int r = max_width - 1; r >= 0; --r) {
    for (size_t j = 0; j < n; ++j) {
      if (curve_widths_[j] <= r) continue;
      unsigned char byte = morton[bit_index / 8];
      coordinates[j] |= static_cast<uint64_t>((byte >> (7 - bit_index % 8)) & 1) << r;
      ++bit_index;
    }
  }
  return coordinates;
}

absl::StatusOr<size_t> KeyCodec::PartitionPrefixLength(std::string_view key) const {
  if (!schema_.partition_column()) return 0;
  ColumnType type = schema_.partition_column()->type;
  if (type != ColumnType::kString) {
    size_t width = OrdinalWidth(type) / 8;
    if (key.size() < width) return absl::DataLossError("key: shorter than its partition prefix");
    return width;
  }
  std::string_view rest = key;
  auto text = ReadEscapedString(&rest);
  if (!text.ok()) return text.status();
  return key.size() - rest.size();
}

absl::StatusOr<std::vector<Cell>> KeyCodec::Decode(std::string_view key) const {
  const auto& columns = schema_.lookup_columns();
  std::vector<Cell> cells(columns.size());
  if (schema_.partition_column()) {
    auto cell = ReadColumn(schema_.partition_column()->type, &key);
    if (!cell.ok()) return cell.status();
    cells[0] = std::move(*cell);
  }
  for (int column : linear_columns_) {
    auto cell = ReadColumn(columns[column].type, &key);
    if (!cell.ok()) return cell.status();
    cells[column] = std::move(*cell);
  }
  const size_t curve_part = curve_bytes_ + ordinal_bytes_;
  if (key.size() < curve_part) {
    return absl::DataLossError(StrCat("key: ", key.size(), " bytes left, the curve part needs ", curve_part));
  }
  const ZPoint ordinals = normalized_ ? ReadOrdinalPart(key.substr(curve_bytes_, ordinal_bytes_))
                                     : ReadCurve(key.substr(0, curve_bytes_));
  for (size_t j = 0; j < curve_columns_.size(); ++j) {
    // A Hilbert index gives each column the widest one's bits: a date's
    // coordinate past 32 bits is no key's.
    if (ordinal_widths_[j] < 64 && (ordinals[j] >> ordinal_widths_[j]) != 0) {
      return absl::DataLossError(
          StrCat("key: column \"", columns[curve_columns_[j]].name, "\" is out of its range on the curve"));
    }
    cells[curve_columns_[j]] = FromOrdinal(columns[curve_columns_[j]].type, ordinals[j]);
  }
  key.remove_prefix(curve_part);
  for (int column : string_columns_) {
    auto cell = ReadColumn(ColumnType::kString, &key);
    if (!cell.ok()) return cell.status();
    cells[column] = std::move(*cell);
  }
  if (!key.empty()) return absl::DataLossError("key: trailing bytes after the last column");
  return cells;
}

}  // namespace predstore
