// Decoders of Parquet's value and level encodings, one page's worth at a
// time, to the published specification (parquet-format Encodings.md):
// PLAIN, RLE / bit-packed hybrid (levels, booleans, dictionary indices), the
// deprecated BIT_PACKED levels, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
// DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT. Every decoder reads only inside
// its input span and bounds what it allocates by `count`; malformed or short
// input is kInvalidArgument with a short reason (the caller adds the file,
// column, row group and page). Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/parquet/metadata.h"

namespace predstore::parquet {

// The decoded values of one page (or one dictionary), in one of two shapes:
// - fixed width: `fixed` holds the values back to back, `width` bytes each,
//   little-endian as in PLAIN: BOOLEAN 1 byte (0 or 1), INT32 4, INT64 8,
//   INT96 12, FLOAT 4, DOUBLE 8, FIXED_LEN_BYTE_ARRAY its type_length;
// - BYTE_ARRAY: value i is bytes[ends[i-1], ends[i]) (ends[-1] being 0).
struct ValueBuffer {
  PhysicalType type = PhysicalType::kInt32;
  size_t width = 0;  // fixed-width types only
  std::string fixed;
  std::string bytes;
  std::vector<uint32_t> ends;

  // Empties the buffer and sets its type (and width from `type_length` for
  // FIXED_LEN_BYTE_ARRAY).
  void Reset(PhysicalType physical_type, int32_t type_length);
  size_t size() const { return type == PhysicalType::kByteArray ? ends.size() : (width ? fixed.size() / width : 0); }
  std::string_view bytes_at(size_t i) const;  // BYTE_ARRAY
  const char* fixed_at(size_t i) const { return fixed.data() + i * width; }
};

// Decodes `count` values encoded with `encoding` from `data` and appends
// them to `out` (already Reset to the column's type). Supported: PLAIN (all
// types), RLE (BOOLEAN; data starts with the 4-byte length), DELTA_BINARY_
// PACKED (INT32, INT64), DELTA_LENGTH_BYTE_ARRAY (BYTE_ARRAY),
// DELTA_BYTE_ARRAY (BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY), BYTE_STREAM_SPLIT
// (FLOAT, DOUBLE, INT32, INT64, FIXED_LEN_BYTE_ARRAY). Dictionary encodings
// are not values (see DecodeDictionaryIndices). An encoding that does not
// apply to the type is kInvalidArgument ("DELTA_BINARY_PACKED cannot encode
// DOUBLE"); data too short for `count` values is kInvalidArgument.
// `consumed` (optional) gets the bytes read.
absl::Status DecodeValues(Encoding encoding, std::span<const uint8_t> data, size_t count, ValueBuffer* out,
                          size_t* consumed = nullptr);

// RLE_DICTIONARY / PLAIN_DICTIONARY data: one byte of bit width (≤ 32), then
// the RLE / bit-packed hybrid run of `count` indices, appended to `out`.
// Indices are not checked against the dictionary's size (the caller does).
absl::Status DecodeDictionaryIndices(std::span<const uint8_t> data, size_t count, std::vector<uint32_t>* out);

// Definition or repetition levels: `count` values of `bit_width` bits
// (0..16; 0 means all zero and reads nothing) in the RLE / bit-packed
// hybrid without a length prefix (the caller strips the v1 page's 4-byte
// length, or takes v2's byte length from the header), appended to `out`.
absl::Status DecodeRleLevels(std::span<const uint8_t> data, int bit_width, size_t count, std::vector<uint16_t>* out);
// The deprecated BIT_PACKED level encoding (MSB first); `consumed` gets
// the bytes it took.
absl::Status DecodeBitPackedLevels(std::span<const uint8_t> data, int bit_width, size_t count,
                                   std::vector<uint16_t>* out, size_t* consumed);

}  // namespace predstore::parquet
