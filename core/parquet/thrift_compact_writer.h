// A small encoder of Thrift's compact protocol, the counterpart of
// thrift_compact.h, enough for the Parquet writer's page headers and footer
// (file_writer.h). It appends to a caller-owned std::string and cannot
// fail; misuse (a field outside a struct, EndStruct without BeginStruct,
// nesting past kMaxDepth) is a bug and asserts. Field ids may come in any
// order (ascending ones take the short, delta-encoded header). Not
// thread-safe; one writer per output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/parquet/thrift_compact.h"

namespace predstore::parquet {

class CompactWriter {
 public:
  // Nesting limit for structs (the reader's limit).
  static constexpr int kMaxDepth = CompactReader::kMaxDepth;

  // `out` must outlive the writer; bytes are appended to it.
  explicit CompactWriter(std::string* out) : out_(out) {}

  // Struct framing: BeginStruct opens a struct (the top-level one, or a list
  // element); EndStruct writes its stop byte and closes it.
  void BeginStruct();
  void EndStruct();

  // Fields of the open struct.
  void FieldI16(int16_t id, int16_t value);
  void FieldI32(int16_t id, int32_t value);
  void FieldI64(int16_t id, int64_t value);
  void FieldByte(int16_t id, int8_t value);
  void FieldBool(int16_t id, bool value);
  void FieldBinary(int16_t id, std::string_view value);
  // A struct-valued field: writes the header and opens the struct (close it
  // with EndStruct). An empty struct (a union arm such as StringType) is
  // BeginStructField then EndStruct.
  void BeginStructField(int16_t id);
  // A list-valued field: writes the field and list headers; the caller then
  // writes exactly `size` elements with the Element* calls (or, for structs,
  // BeginStruct ... EndStruct each).
  void BeginListField(int16_t id, CompactType element_type, size_t size);

  // List elements.
  void ElementI32(int32_t value);
  void ElementBinary(std::string_view value);

  // Raw building blocks (exposed for tests).
  void WriteVarint(uint64_t value);
  static uint64_t Zigzag(int64_t value) {
    return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  }

 private:
  void FieldHeader(int16_t id, CompactType type);
  void ListHeader(CompactType element_type, size_t size);

  std::string* out_;
  int depth_ = 0;
  // last_field_id_[d] is the previous field id of the struct at depth d (1-based).
  int16_t last_field_id_[kMaxDepth + 1] = {};
};

}  // namespace predstore::parquet
