#include "core/parquet/thrift_compact_writer.h"

#include <cassert>
#include <cstring>

namespace predstore::parquet {

void CompactWriter::WriteVarint(uint64_t value) {
  while (value >= 0x80) {
    out_->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out_->push_back(static_cast<char>(value));
}

void CompactWriter::BeginStruct() {
  assert(depth_ < kMaxDepth);
  ++depth_;
  last_field_id_[depth_] = 0;
}

void CompactWriter::EndStruct() {
  assert(depth_ > 0);
  out_->push_back(static_cast<char>(CompactType::kStop));
  --depth_;
}

void CompactWriter::FieldHeader(int16_t id, CompactType type) {
  assert(depth_ > 0);
  const int delta = int{id} - int{last_field_id_[depth_]};
  if (delta > 0 && delta <= 15) {
    out_->push_back(static_cast<char>((delta << 4) | static_cast<int>(type)));
  } else {
    out_->push_back(static_cast<char>(type));
    WriteVarint(Zigzag(id));
  }
  last_field_id_[depth_] = id;
}

void CompactWriter::ListHeader(CompactType element_type, size_t size) {
  if (size < 15) {
    out_->push_back(static_cast<char>((size << 4) | static_cast<size_t>(element_type)));
  } else {
    out_->push_back(static_cast<char>(0xF0 | static_cast<int>(element_type)));
    WriteVarint(size);
  }
}

void CompactWriter::FieldI16(int16_t id, int16_t value) {
  FieldHeader(id, CompactType::kI16);
  WriteVarint(Zigzag(value));
}

void CompactWriter::FieldI32(int16_t id, int32_t value) {
  FieldHeader(id, CompactType::kI32);
  WriteVarint(Zigzag(value));
}

void CompactWriter::FieldI64(int16_t id, int64_t value) {
  FieldHeader(id, CompactType::kI64);
  WriteVarint(Zigzag(value));
}

void CompactWriter::FieldByte(int16_t id, int8_t value) {
  FieldHeader(id, CompactType::kByte);
  out_->push_back(static_cast<char>(value));
}

void CompactWriter::FieldBool(int16_t id, bool value) {
  FieldHeader(id, value ? CompactType::kBoolTrue : CompactType::kBoolFalse);
}

void CompactWriter::FieldBinary(int16_t id, std::string_view value) {
  FieldHeader(id, CompactType::kBinary);
  ElementBinary(value);
}

void CompactWriter::BeginStructField(int16_t id) {
  FieldHeader(id, CompactType::kStruct);
  BeginStruct();
}

void CompactWriter::BeginListField(int16_t id, CompactType element_type, size_t size) {
  FieldHeader(id, CompactType::kList);
  ListHeader(element_type, size);
}

void CompactWriter::ElementI32(int32_t value) { WriteVarint(Zigzag(value)); }

void CompactWriter::ElementBinary(std::string_view value) {
  WriteVarint(value.size());
  out_->append(value.data(), value.size());
}

}  // namespace predstore::parquet
