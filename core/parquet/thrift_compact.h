// A small, bounded decoder of Thrift's compact protocol, enough for Parquet's
// footer and page headers (see metadata.h). It reads from a caller-owned span
// and never reads outside it: every read is bounds-checked, varints are at
// most 10 bytes, collection sizes are checked against the bytes left before
// anything is reserved, and struct/collection nesting is limited to
// kMaxDepth. Every malformed input yields kInvalidArgument with a short reason
// naming the byte offset ("truncated varint at byte 123"); after an error
// the reader's position and depth are unspecified and it should be dropped.
// Allocates only for error messages (binary values are views into the
// input). Not thread-safe; one reader per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore::parquet {

// The compact protocol's type codes (field headers and collection headers).
// A bool field carries its value in the type (kBoolTrue / kBoolFalse); a bool
// collection element is one byte (1 true, anything else false).
enum class CompactType : uint8_t {
  kStop = 0,
  kBoolTrue = 1,
  kBoolFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
  kUuid = 13,  // 16 raw bytes (newer Thrift versions)
};

// "i32", "struct", ... ("type N" for invalid codes).
std::string CompactTypeName(CompactType type);

struct FieldHeader {
  CompactType type = CompactType::kStop;  // kStop ends the struct
  int16_t id = 0;
  // The value of a bool field (type kBoolTrue or kBoolFalse).
  bool bool_value() const { return type == CompactType::kBoolTrue; }
  bool is_bool() const { return type == CompactType::kBoolTrue || type == CompactType::kBoolFalse; }
};

struct ListHeader {
  CompactType element_type = CompactType::kStop;
  // At most the bytes left after the header (each element takes >= 1 byte).
  size_t size = 0;
};

struct MapHeader {
  CompactType key_type = CompactType::kStop;    // kStop when size == 0
  CompactType value_type = CompactType::kStop;  // kStop when size == 0
  // At most half the bytes left after the header.
  size_t size = 0;
};

class CompactReader {
 public:
  // Nesting limit for structs and collections (BeginStruct, Skip).
  static constexpr int kMaxDepth = 64;

  // `bytes` must outlive the reader and every view it returns.
  explicit CompactReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  int depth() const { return depth_; }

  // Unsigned LEB128 varint, at most 10 bytes, must fit 64 bits.
  absl::StatusOr<uint64_t> ReadVarint();
  // Zigzag varints; out-of-range values are errors.
  absl::StatusOr<int16_t> ReadI16();
  absl::StatusOr<int32_t> ReadI32();
  absl::StatusOr<int64_t> ReadI64();
  // One raw byte (Thrift "byte" / i8).
  absl::StatusOr<int8_t> ReadByte();
  // 8 bytes, little-endian IEEE 754.
  absl::StatusOr<double> ReadDouble();
  // Varint length + bytes. The view points into the input span.
  absl::StatusOr<std::string_view> ReadBinary();
  // A bool collection element (one byte).
  absl::StatusOr<bool> ReadBoolElement();

  // Struct framing: BeginStruct enters a struct (fails past kMaxDepth),
  // ReadFieldHeader reads the next field header (type kStop at the end;
  // field-id deltas are relative to the previous field of the same struct),
  // EndStruct leaves it. The caller must consume or Skip each field's value.
  absl::Status BeginStruct();
  absl::StatusOr<FieldHeader> ReadFieldHeader();
  // REQUIRES: inside a struct begun with BeginStruct.
  void EndStruct();

  // Collection headers. A set header has the list's layout.
  absl::StatusOr<ListHeader> ReadListHeader();
  absl::StatusOr<MapHeader> ReadMapHeader();

  // Skips a field value of type `type` (for a bool field, nothing: the value
  // was in the header). Nested values count towards kMaxDepth.
  absl::Status Skip(CompactType type);

  // Reads a whole struct: BeginStruct, then `on_field(const FieldHeader&)`
  // (returning absl::Status, consuming or skipping the value) for each field,
  // then EndStruct.
  template <typename OnField>
  absl::Status ReadStruct(OnField&& on_field);

  // Reads a list (or set) header and checks the element type, then calls
  // `on_element()` (returning absl::Status) `size` times. For bool elements
  // either bool code is accepted.
  template <typename OnElement>
  absl::Status ReadList(CompactType element_type, OnElement&& on_element);

  // An InvalidArgument error "<reason> at byte <position()>".
  absl::Status Error(std::string_view reason) const;

 private:
  absl::Status SkipValue(CompactType type, bool in_collection);
  absl::Status Need(size_t n, std::string_view what) const;

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  int depth_ = 0;
  // last_field_id_[d] is the previous field id of the struct at depth d.
  int16_t last_field_id_[kMaxDepth + 1] = {};
};

template <typename OnField>
absl::Status CompactReader::ReadStruct(OnField&& on_field) {
  PREDSTORE_RETURN_IF_ERROR(BeginStruct());
  while (true) {
    PREDSTORE_ASSIGN_OR_RETURN(FieldHeader field, ReadFieldHeader());
    if (field.type == CompactType::kStop) break;
    PREDSTORE_RETURN_IF_ERROR(on_field(field));
  }
  EndStruct();
  return absl::OkStatus();
}

template <typename OnElement>
absl::Status CompactReader::ReadList(CompactType element_type, OnElement&& on_element) {
  PREDSTORE_ASSIGN_OR_RETURN(ListHeader header, ReadListHeader());
  CompactType got = header.element_type;
  if (got == CompactType::kBoolFalse) got = CompactType::kBoolTrue;
  CompactType want = element_type == CompactType::kBoolFalse ? CompactType::kBoolTrue : element_type;
  // An empty list's element type is not checked (some writers leave it 0).
  if (header.size > 0 && got != want) {
    return Error(
        StrCat("list of ", CompactTypeName(header.element_type), ", expected ", CompactTypeName(element_type)));
  }
  for (size_t i = 0; i < header.size; ++i) {
    PREDSTORE_RETURN_IF_ERROR(on_element());
  }
  return absl::OkStatus();
}

}  // namespace predstore::parquet
