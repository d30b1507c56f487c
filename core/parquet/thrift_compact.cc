#include "core/parquet/thrift_compact.h"

#include <cstring>
#include <limits>

#include "core/base/strings.h"

namespace predstore::parquet {
namespace {

bool IsValueType(uint8_t code) { return code >= 1 && code <= 13; }

int64_t ZigzagDecode(uint64_t value) { return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1); }

}  // namespace

std::string CompactTypeName(CompactType type) {
  switch (type) {
    case CompactType::kStop:
      return "stop";
    case CompactType::kBoolTrue:
    case CompactType::kBoolFalse:
      return "bool";
    case CompactType::kByte:
      return "byte";
    case CompactType::kI16:
      return "i16";
    case CompactType::kI32:
      return "i32";
    case CompactType::kI64:
      return "i64";
    case CompactType::kDouble:
      return "double";
    case CompactType::kBinary:
      return "binary";
    case CompactType::kList:
      return "list";
    case CompactType::kSet:
      return "set";
    case CompactType::kMap:
      return "map";
    case CompactType::kStruct:
      return "struct";
    case CompactType::kUuid:
      return "uuid";
  }
  return StrCat("type ", static_cast<int>(type));
}

absl::Status CompactReader::Error(std::string_view reason) const {
  return absl::InvalidArgumentError(StrCat(reason, " at byte ", pos_));
}

absl::Status CompactReader::Need(size_t n, std::string_view what) const {
  if (n > remaining()) return Error(StrCat("truncated ", what));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> CompactReader::ReadVarint() {
  const size_t start = pos_;
  uint64_t result = 0;
  for (int i = 0; i < 10; ++i) {
    if (pos_ >= bytes_.size()) {
      return absl::InvalidArgumentError(StrCat("truncated varint at byte ", start));
    }
    const uint8_t byte = bytes_[pos_++];
    if (i == 9 && byte > 1) {
      return absl::InvalidArgumentError(StrCat("varint overflows 64 bits at byte ", start));
    }
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) return result;
  }
  return absl::InvalidArgumentError(StrCat("varint longer than 10 bytes at byte ", start));
}

absl::StatusOr<int64_t> CompactReader::ReadI64() {
  PREDSTORE_ASSIGN_OR_RETURN(uint64_t raw, ReadVarint());
  return ZigzagDecode(raw);
}

absl::StatusOr<int32_t> CompactReader::ReadI32() {
  const size_t start = pos_;
  PREDSTORE_ASSIGN_OR_RETURN(int64_t value, ReadI64());
  if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(StrCat("i32 out of range at byte ", start));
  }
  return static_cast<int32_t>(value);
}

absl::StatusOr<int16_t> CompactReader::ReadI16() {
  const size_t start = pos_;
  PREDSTORE_ASSIGN_OR_RETURN(int64_t value, ReadI64());
  if (value < std::numeric_limits<int16_t>::min() || value > std::numeric_limits<int16_t>::max()) {
    return absl::InvalidArgumentError(StrCat("i16 out of range at byte ", start));
  }
  return static_cast<int16_t>(value);
}

absl::StatusOr<int8_t> CompactReader::ReadByte() {
  PREDSTORE_RETURN_IF_ERROR(Need(1, "byte"));
  return static_cast<int8_t>(bytes_[pos_++]);
}

absl::StatusOr<double> CompactReader::ReadDouble() {
  PREDSTORE_RETURN_IF_ERROR(Need(8, "double"));
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(bytes_[pos_ + i]) << (8 * i);
  pos_ += 8;
  double value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

absl::StatusOr<std::string_view> CompactReader::ReadBinary() {
  const size_t start = pos_;
  PREDSTORE_ASSIGN_OR_RETURN(uint64_t length, ReadVarint());
  if (length > remaining()) {
    return absl::InvalidArgumentError(
        StrCat("binary of ", length, " bytes past the end (", remaining(), " left) at byte ", start));
  }
  std::string_view view(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(length));
  pos_ += static_cast<size_t>(length);
  return view;
}

absl::StatusOr<bool> CompactReader::ReadBoolElement() {
  PREDSTORE_RETURN_IF_ERROR(Need(1, "bool"));
  return bytes_[pos_++] == static_cast<uint8_t>(CompactType::kBoolTrue);
}

absl::Status CompactReader::BeginStruct() {
  if (depth_ >= kMaxDepth) return Error(StrCat("nesting deeper than ", kMaxDepth));
  ++depth_;
  last_field_id_[depth_] = 0;
  return absl::OkStatus();
}

void CompactReader::EndStruct() {
  if (depth_ > 0) --depth_;
}

absl::StatusOr<FieldHeader> CompactReader::ReadFieldHeader() {
  PREDSTORE_RETURN_IF_ERROR(Need(1, "field header"));
  const size_t start = pos_;
  const uint8_t byte = bytes_[pos_++];
  FieldHeader header;
  if (byte == 0) return header;  // stop
  const uint8_t code = byte & 0x0f;
  const uint8_t delta = byte >> 4;
  if (!IsValueType(code)) {
    return absl::InvalidArgumentError(StrCat("invalid field type ", code, " at byte ", start));
  }
  header.type = static_cast<CompactType>(code);
  if (delta != 0) {
    const int id = last_field_id_[depth_] + delta;
    if (id > std::numeric_limits<int16_t>::max()) {
      return absl::InvalidArgumentError(StrCat("field id overflows i16 at byte ", start));
    }
    header.id = static_cast<int16_t>(id);
  } else {
    PREDSTORE_ASSIGN_OR_RETURN(header.id, ReadI16());
  }
  last_field_id_[depth_] = header.id;
  return header;
}

absl::StatusOr<ListHeader> CompactReader::ReadListHeader() {
  PREDSTORE_RETURN_IF_ERROR(Need(1, "list header"));
  const size_t start = pos_;
  const uint8_t byte = bytes_[pos_++];
  ListHeader header;
  header.element_type = static_cast<CompactType>(byte & 0x0f);
  uint64_t size = byte >> 4;
  if (size == 15) {
    PREDSTORE_ASSIGN_OR_RETURN(size, ReadVarint());
  }
  if (size > remaining()) {
    return absl::InvalidArgumentError(
        StrCat("list of ", size, " elements past the end (", remaining(), " bytes left) at byte ", start));
  }
  if (size > 0 && !IsValueType(byte & 0x0f)) {
    return absl::InvalidArgumentError(StrCat("invalid list element type ", byte & 0x0f, " at byte ", start));
  }
  header.size = static_cast<size_t>(size);
  return header;
}

absl::StatusOr<MapHeader> CompactReader::ReadMapHeader() {
  const size_t start = pos_;
  PREDSTORE_ASSIGN_OR_RETURN(uint64_t size, ReadVarint());
  MapHeader header;
  if (size == 0) return header;
  PREDSTORE_RETURN_IF_ERROR(Need(1, "map header"));
  const uint8_t types = bytes_[pos_++];
  if (size > remaining() / 2) {
    return absl::InvalidArgumentError(
        StrCat("map of ", size, " entries past the end (", remaining(), " bytes left) at byte ", start));
  }
  if (!IsValueType(types >> 4) || !IsValueType(types & 0x0f)) {
    return absl::InvalidArgumentError(StrCat("invalid map key/value types at byte ", start));
  }
  header.key_type = static_cast<CompactType>(types >> 4);
  header.value_type = static_cast<CompactType>(types & 0x0f);
  header.size = static_cast<size_t>(size);
  return header;
}

absl::Status CompactReader::Skip(CompactType type) { return SkipValue(type, /*in_collection=*/false); }

absl::Status CompactReader::SkipValue(CompactType type, bool in_collection) {
  switch (type) {
    case CompactType::kBoolTrue:
    case CompactType::kBoolFalse:
      if (in_collection) return ReadBoolElement().status();
      return absl::OkStatus();
    case CompactType::kByte:
      return ReadByte().status();
    case CompactType::kI16:
    case CompactType::kI32:
    case CompactType::kI64:
      return ReadVarint().status();
    case CompactType::kDouble:
      PREDSTORE_RETURN_IF_ERROR(Need(8, "double"));
      pos_ += 8;
      return absl::OkStatus();
    case CompactType::kUuid:
      PREDSTORE_RETURN_IF_ERROR(Need(16, "uuid"));
      pos_ += 16;
      return absl::OkStatus();
    case CompactType::kBinary:
      return ReadBinary().status();
    case CompactType::kStruct:
      return ReadStruct([this](const FieldHeader& field) { return SkipValue(field.type, false); });
    case CompactType::kList:
    case CompactType::kSet: {
      if (depth_ >= kMaxDepth) return Error(StrCat("nesting deeper than ", kMaxDepth));
      PREDSTORE_ASSIGN_OR_RETURN(ListHeader header, ReadListHeader());
      ++depth_;
      for (size_t i = 0; i < header.size; ++i) {
        absl::Status status = SkipValue(header.element_type, true);
        if (!status.ok()) {
          --depth_;
          return status;
        }
      }
      --depth_;
      return absl::OkStatus();
    }
    case CompactType::kMap: {
      if (depth_ >= kMaxDepth) return Error(StrCat("nesting deeper than ", kMaxDepth));
      PREDSTORE_ASSIGN_OR_RETURN(MapHeader header, ReadMapHeader());
      ++depth_;
      for (size_t i = 0; i < header.size; ++i) {
        absl::Status status = SkipValue(header.key_type, true);
        if (status.ok()) status = SkipValue(header.value_type, true);
        if (!status.ok()) {
          --depth_;
          return status;
        }
      }
      --depth_;
      return absl::OkStatus();
    }
    case CompactType::kStop:
      break;
  }
  return Error(StrCat("cannot skip ", CompactTypeName(type)));
}

}  // namespace predstore::parquet
