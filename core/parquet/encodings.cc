#include "core/parquet/encodings.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore::parquet {
namespace {

// Values are copied to and from the page with memcpy, so the host must share
// Parquet's byte order.
static_assert(std::endian::native == std::endian::little, "the Parquet decoders assume a little-endian host");

// ValueBuffer::ends are 32-bit offsets.
constexpr uint64_t kMaxValueBytes = std::numeric_limits<uint32_t>::max();

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(ToAbsl(message)); }

// ---------------------------------------------------------------------------
// Variable-length integers.

// ULEB128 of at most `max_bits` bits at data[*pos]; advances *pos.
bool ReadUleb(std::span<const uint8_t> data, size_t* pos, int max_bits, uint64_t* value) {
  uint64_t result = 0;
  for (int shift = 0; shift < max_bits; shift += 7) {
    if (*pos >= data.size()) return false;
    const uint8_t byte = data[(*pos)++];
    const uint64_t bits = byte & 0x7f;
    if (shift > 0 && max_bits - shift < 7 && (bits >> (max_bits - shift)) != 0) return false;  // overflow
    result |= bits << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;  // too many bytes
}

uint64_t ZigZagDecode(uint64_t value) { return (value >> 1) ^ (~(value & 1) + 1); }

// ---------------------------------------------------------------------------
// LSB-first bit unpacking (the RLE / bit-packed hybrid's and
// DELTA_BINARY_PACKED's order), 8 values at a time: a group of 8 values of
// width W takes exactly W bytes. The width is a template parameter so that
// every shift and mask is a constant.

template <typename T, int W, int I>
inline T ExtractLsb(const uint8_t* in) {
  if constexpr (W == 0) {
    return T{0};
  } else {
    constexpr int kBit = I * W;
    constexpr int kByte = kBit / 8;
    constexpr int kShift = kBit % 8;
    constexpr int kSpan = (kShift + W + 7) / 8;  // bytes holding the value: 1..9, all inside the group
    uint64_t word = 0;
    std::memcpy(&word, in + kByte, kSpan < 8 ? kSpan : 8);
    word >>= kShift;
    if constexpr (kSpan > 8) word |= uint64_t{in[kByte + 8]} << (64 - kShift);
    if constexpr (W < 64) word &= (uint64_t{1} << W) - 1;
    return static_cast<T>(word);
  }
}

template <typename T, int W, size_t... I>
inline void UnpackGroup(const uint8_t* in, T* out, std::index_sequence<I...>) {
  ((out[I] = ExtractLsb<T, W, static_cast<int>(I)>(in)), ...);
}

template <typename T, int W>
void UnpackGroups(const uint8_t* in, size_t groups, T* out) {
  for (size_t g = 0; g < groups; ++g, in += W, out += 8) UnpackGroup<T, W>(in, out, std::make_index_sequence<8>());
}

template <typename T>
using UnpackFn = void (*)(const uint8_t*, size_t, T*);

template <typename T, size_t... W>
constexpr std::array<UnpackFn<T>, sizeof...(W)> MakeUnpackTable(std::index_sequence<W...>) {
  return {&UnpackGroups<T, static_cast<int>(W)>...};
}

template <typename T, int kMaxWidth>
constexpr std::array<UnpackFn<T>, kMaxWidth + 1> kUnpackTable =
    MakeUnpackTable<T>(std::make_index_sequence<kMaxWidth + 1>());

// Unpacks `count` values of `width` bits (≤ kMaxWidth) from `in`, which
// holds at least ceil(count * width / 8) bytes; never reads past them.
template <typename T, int kMaxWidth>
void UnpackLsb(const uint8_t* in, int width, size_t count, T* out) {
  const UnpackFn<T> unpack = kUnpackTable<T, kMaxWidth>[width];
  const size_t groups = count / 8;
  unpack(in, groups, out);
  const size_t rest = count % 8;
  if (rest == 0) return;
  uint8_t tail[64] = {};
  std::memcpy(tail, in + groups * width, (rest * width + 7) / 8);
  T values[8];
  unpack(tail, 1, values);
  std::copy(values, values + rest, out + groups * 8);
}

// ---------------------------------------------------------------------------
// RLE / bit-packed hybrid, without a length prefix. Appends `count` values of
// `width` bits (≤ kMaxWidth) to `out` (a std::vector or std::string), growing
// it run by run so that a short page cannot make it allocate for a large
// `count`. `consumed` (optional) gets the bytes read.
template <int kMaxWidth, typename Container>
absl::Status DecodeHybrid(std::string_view what, std::span<const uint8_t> data, int width, size_t count, Container* out,
                          size_t* consumed) {
  using T = typename Container::value_type;
  const size_t value_bytes = (width + 7) / 8;
  const uint64_t max_value = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
  const size_t base = out->size();
  size_t pos = 0;
  size_t done = 0;
  while (done < count) {
    uint64_t header = 0;
    if (!ReadUleb(data, &pos, 32, &header)) {
      return Invalid(StrCat(what, ": run header missing or malformed after ", done, " of ", count, " values"));
    }
    const uint64_t run = (header & 1) ? (header >> 1) * 8 : header >> 1;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(run, count - done));
    if (header & 1) {
      const size_t available = data.size() - pos;
      const uint64_t needed = (static_cast<uint64_t>(n) * width + 7) / 8;
      if (needed > available) {
        return Invalid(
            StrCat(what, ": bit-packed run of ", n, " values needs ", needed, " bytes, ", available, " left"));
      }
      out->resize(base + done + n);
      UnpackLsb<T, kMaxWidth>(data.data() + pos, width, n, out->data() + base + done);
      // A final run may be cut after its last needed byte.
      pos += static_cast<size_t>(std::min<uint64_t>((header >> 1) * width, available));
    } else {
      if (data.size() - pos < value_bytes) {
        return Invalid(StrCat(what, ": RLE run value needs ", value_bytes, " bytes, ", data.size() - pos, " left"));
      }
      uint64_t value = 0;
      std::memcpy(&value, data.data() + pos, value_bytes);
      pos += value_bytes;
      if (value > max_value) return Invalid(StrCat(what, ": RLE run value ", value, " exceeds bit width ", width));
      out->resize(base + done + n, static_cast<T>(value));
    }
    done += n;
  }
  if (consumed != nullptr) *consumed = pos;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// DELTA_BINARY_PACKED.

// The largest block size accepted (the specification sets none; writers use
// 128 to 2048). It bounds how many values a few bytes can claim.
constexpr uint64_t kMaxDeltaBlockSize = 1 << 16;

struct DeltaHeader {
  uint64_t block_size = 0;
  uint64_t miniblocks = 0;
  uint64_t per_miniblock = 0;
  uint64_t total = 0;
  uint64_t first = 0;  // zigzag-decoded, two's complement
  size_t size = 0;     // bytes of the header
};

absl::Status ReadDeltaHeader(std::string_view what, std::span<const uint8_t> data, DeltaHeader* header) {
  size_t pos = 0;
  uint64_t first = 0;
  if (!ReadUleb(data, &pos, 64, &header->block_size) || !ReadUleb(data, &pos, 64, &header->miniblocks) ||
      !ReadUleb(data, &pos, 64, &header->total) || !ReadUleb(data, &pos, 64, &first)) {
    return Invalid(StrCat(what, ": header truncated or malformed"));
  }
  header->first = ZigZagDecode(first);
  header->size = pos;
  const uint64_t block = header->block_size;
  const uint64_t mini = header->miniblocks;
  // The specification wants blocks of a multiple of 128 values and miniblocks
  // of a multiple of 32; any multiple of 8 (the packing unit) decodes.
  if (block == 0 || block > kMaxDeltaBlockSize || mini == 0 || block % mini != 0 || (block / mini) % 8 != 0) {
    return Invalid(StrCat(what, ": invalid block of ", block, " values in ", mini, " miniblocks"));
  }
  header->per_miniblock = block / mini;
  // Every block after the first value needs a min delta and the bit widths.
  const uint64_t blocks_possible = (data.size() - pos) / (1 + mini);
  const uint64_t capacity = 1 + blocks_possible * block;
  if (header->total > capacity) {
    return Invalid(StrCat(what, ": header claims ", header->total, " values, the data can hold at most ", capacity));
  }
  return absl::OkStatus();
}

// Decodes the first `count` (≤ header.total) values as U (uint32_t for INT32,
// uint64_t for INT64, with wrapping arithmetic) into `out` (count *
// sizeof(U) bytes, little-endian). With `skip_rest`, walks the remaining
// values too so that `consumed` is the end of the whole encoding.
template <typename U>
absl::Status DecodeDeltaBody(std::string_view what, std::span<const uint8_t> data, const DeltaHeader& header,
                             size_t count, bool skip_rest, char* out, size_t* consumed) {
  constexpr int kBits = sizeof(U) * 8;
  const uint64_t end = skip_rest ? header.total : count;
  size_t pos = header.size;
  uint64_t produced = 0;
  U last = static_cast<U>(header.first);
  if (end > 0) {
    if (count > 0) std::memcpy(out, &last, sizeof(U));
    produced = 1;
  }
  constexpr size_t kChunk = 256;
  U chunk[kChunk];
  while (produced < end) {
    uint64_t min_delta_raw = 0;
    if (!ReadUleb(data, &pos, 64, &min_delta_raw)) {
      return Invalid(StrCat(what, ": block header truncated or malformed after ", produced, " values"));
    }
    const U min_delta = static_cast<U>(ZigZagDecode(min_delta_raw));
    if (data.size() - pos < header.miniblocks) {
      return Invalid(StrCat(what, ": miniblock bit widths truncated after ", produced, " values"));
    }
    const uint8_t* widths = data.data() + pos;
    pos += header.miniblocks;
    for (uint64_t m = 0; m < header.miniblocks && produced < end; ++m) {
      const int width = widths[m];
      if (width > kBits) return Invalid(StrCat(what, ": miniblock bit width ", width, " > ", kBits));
      const uint64_t n = std::min<uint64_t>(header.per_miniblock, end - produced);
      const uint64_t body = header.per_miniblock * width / 8;
      const size_t available = data.size() - pos;
      // Values needed from this miniblock; its padding may be cut off at the
      // end of the data.
      const uint64_t needed = (n * width + 7) / 8;
      if (needed > available) {
        return Invalid(StrCat(what, ": miniblock of ", n, " values of ", width, " bits needs ", needed, " bytes, ",
                              available, " left"));
      }
      // Values past `count` are only walked over.
      const uint64_t to_decode = produced < count ? std::min<uint64_t>(n, count - produced) : 0;
      const uint8_t* in = data.data() + pos;
      for (uint64_t done = 0; done < to_decode;) {
        const size_t step = static_cast<size_t>(std::min<uint64_t>(kChunk, to_decode - done));
        UnpackLsb<U, kBits>(in + done * width / 8, width, step, chunk);
        for (size_t i = 0; i < step; ++i) {
          last = static_cast<U>(last + min_delta + chunk[i]);
          chunk[i] = last;
        }
        std::memcpy(out + (produced + done) * sizeof(U), chunk, step * sizeof(U));
        done += step;
      }
      produced += n;
      pos += static_cast<size_t>(std::min<uint64_t>(body, available));
    }
  }
  if (consumed != nullptr) *consumed = pos;
  return absl::OkStatus();
}

// Reads a DELTA_BINARY_PACKED stream of 32-bit lengths (DELTA_LENGTH_BYTE_
// ARRAY, DELTA_BYTE_ARRAY) holding at least `count` values; sets `lengths` to
// the first `count` and `consumed` to the end of the whole stream. Negative
// lengths are refused.
absl::Status DecodeLengths(std::string_view what, std::span<const uint8_t> data, size_t count,
                           std::vector<uint32_t>* lengths, size_t* consumed) {
  DeltaHeader header;
  PREDSTORE_RETURN_IF_ERROR(ReadDeltaHeader(what, data, &header));
  if (header.total < count) return Invalid(StrCat(what, ": ", header.total, " lengths for ", count, " values"));
  lengths->resize(count);
  PREDSTORE_RETURN_IF_ERROR(DecodeDeltaBody<uint32_t>(what, data, header, count, /*skip_rest=*/true,
                                                      reinterpret_cast<char*>(lengths->data()), consumed));
  for (uint32_t length : *lengths) {
    if (length > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
      return Invalid(StrCat(what, ": negative length ", static_cast<int32_t>(length)));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Value decoders.

absl::Status DecodePlain(std::span<const uint8_t> data, size_t count, ValueBuffer* out, size_t* consumed) {
  if (out->type == PhysicalType::kBoolean) {
    const size_t needed = count / 8 + (count % 8 != 0);
    if (needed > data.size()) {
      return Invalid(StrCat("PLAIN: ", count, " booleans need ", needed, " bytes, the page has ", data.size()));
    }
    const size_t base = out->fixed.size();
    out->fixed.resize(base + count);
    UnpackLsb<char, 1>(data.data(), 1, count, out->fixed.data() + base);
    *consumed = needed;
    return absl::OkStatus();
  }
  if (out->type == PhysicalType::kByteArray) {
    if (count > data.size() / 4) {
      return Invalid(StrCat("PLAIN: ", count, " byte arrays need at least ", static_cast<uint64_t>(count) * 4,
                            " bytes, the page has ", data.size()));
    }
    out->ends.reserve(out->ends.size() + count);
    out->bytes.reserve(out->bytes.size() + (data.size() - count * 4));
    size_t pos = 0;
    for (size_t i = 0; i < count; ++i) {
      if (data.size() - pos < 4) {
        return Invalid(StrCat("PLAIN: byte array ", i, " of ", count, ": length past the end of the page"));
      }
      uint32_t length = 0;
      std::memcpy(&length, data.data() + pos, 4);
      pos += 4;
      if (length > data.size() - pos) {
        return Invalid(StrCat("PLAIN: byte array ", i, " of ", count, " has length ", length, ", the page has ",
                              data.size() - pos, " bytes left"));
      }
      if (out->bytes.size() + length > kMaxValueBytes) return Invalid("PLAIN: byte arrays over 4 GiB");
      out->bytes.append(reinterpret_cast<const char*>(data.data() + pos), length);
      out->ends.push_back(static_cast<uint32_t>(out->bytes.size()));
      pos += length;
    }
    *consumed = pos;
    return absl::OkStatus();
  }
  const size_t width = out->width;
  if (count > data.size() / width) {
    return Invalid(StrCat("PLAIN: ", count, " values need ", static_cast<uint64_t>(count) * width,
                          " bytes, the page has ", data.size()));
  }
  out->fixed.append(reinterpret_cast<const char*>(data.data()), count * width);
  *consumed = count * width;
  return absl::OkStatus();
}

absl::Status DecodeRleBooleans(std::span<const uint8_t> data, size_t count, ValueBuffer* out, size_t* consumed) {
  if (data.size() < 4) return Invalid(StrCat("RLE: no 4-byte length (the page has ", data.size(), " bytes)"));
  uint32_t length = 0;
  std::memcpy(&length, data.data(), 4);
  if (length > data.size() - 4) {
    return Invalid(StrCat("RLE: length ", length, " exceeds the page's ", data.size() - 4, " bytes"));
  }
  PREDSTORE_RETURN_IF_ERROR(DecodeHybrid<1>("RLE", data.subspan(4, length), 1, count, &out->fixed, nullptr));
  *consumed = 4 + static_cast<size_t>(length);
  return absl::OkStatus();
}

absl::Status DecodeDeltaBinaryPacked(std::span<const uint8_t> data, size_t count, ValueBuffer* out, size_t* consumed) {
  constexpr std::string_view kWhat = "DELTA_BINARY_PACKED";
  DeltaHeader header;
  PREDSTORE_RETURN_IF_ERROR(ReadDeltaHeader(kWhat, data, &header));
  if (header.total < count) {
    return Invalid(StrCat(kWhat, ": header has ", header.total, " values, ", count, " expected"));
  }
  const size_t base = out->fixed.size();
  out->fixed.resize(base + count * out->width);
  char* dst = out->fixed.data() + base;
  if (out->type == PhysicalType::kInt32) {
    return DecodeDeltaBody<uint32_t>(kWhat, data, header, count, /*skip_rest=*/false, dst, consumed);
  }
  return DecodeDeltaBody<uint64_t>(kWhat, data, header, count, /*skip_rest=*/false, dst, consumed);
}

absl::Status DecodeDeltaLengthByteArray(std::span<const uint8_t> data, size_t count, ValueBuffer* out,
                                        size_t* consumed) {
  std::vector<uint32_t> lengths;
  size_t pos = 0;
  PREDSTORE_RETURN_IF_ERROR(DecodeLengths("DELTA_LENGTH_BYTE_ARRAY lengths", data, count, &lengths, &pos));
  uint64_t total = 0;
  for (uint32_t length : lengths) total += length;
  if (total > data.size() - pos) {
    return Invalid(StrCat("DELTA_LENGTH_BYTE_ARRAY: lengths add up to ", total, " bytes, the page has ",
                          data.size() - pos, " left"));
  }
  if (out->bytes.size() + total > kMaxValueBytes) return Invalid("DELTA_LENGTH_BYTE_ARRAY: byte arrays over 4 GiB");
  out->bytes.append(reinterpret_cast<const char*>(data.data() + pos), total);
  uint64_t end = out->bytes.size() - total;
  out->ends.reserve(out->ends.size() + count);
  for (uint32_t length : lengths) {
    end += length;
    out->ends.push_back(static_cast<uint32_t>(end));
  }
  *consumed = pos + total;
  return absl::OkStatus();
}

absl::Status DecodeDeltaByteArray(std::span<const uint8_t> data, size_t count, ValueBuffer* out, size_t* consumed) {
  constexpr std::string_view kWhat = "DELTA_BYTE_ARRAY";
  const bool fixed = out->type == PhysicalType::kFixedLenByteArray;
  std::vector<uint32_t> prefixes;
  size_t prefix_end = 0;
  PREDSTORE_RETURN_IF_ERROR(DecodeLengths("DELTA_BYTE_ARRAY prefix lengths", data, count, &prefixes, &prefix_end));
  const std::span<const uint8_t> rest = data.subspan(prefix_end);
  std::vector<uint32_t> suffixes;
  size_t suffix_start = 0;
  PREDSTORE_RETURN_IF_ERROR(DecodeLengths("DELTA_BYTE_ARRAY suffix lengths", rest, count, &suffixes, &suffix_start));

  // Check every value before writing any.
  uint64_t suffix_total = 0;
  uint64_t value_total = 0;
  uint64_t previous = 0;
  for (size_t i = 0; i < count; ++i) {
    if (prefixes[i] > previous) {
      return Invalid(
          StrCat(kWhat, ": value ", i, " has prefix length ", prefixes[i], " > previous value's length ", previous));
    }
    previous = uint64_t{prefixes[i]} + suffixes[i];
    if (fixed && previous != out->width) {
      return Invalid(
          StrCat(kWhat, ": value ", i, " has ", previous, " bytes, FIXED_LEN_BYTE_ARRAY needs ", out->width));
    }
    suffix_total += suffixes[i];
    value_total += previous;
  }
  if (suffix_total > rest.size() - suffix_start) {
    return Invalid(StrCat(kWhat, ": suffixes add up to ", suffix_total, " bytes, the page has ",
                          rest.size() - suffix_start, " left"));
  }
  std::string& target = fixed ? out->fixed : out->bytes;
  if (target.size() + value_total > kMaxValueBytes) return Invalid(StrCat(kWhat, ": values over 4 GiB"));

  const size_t base = target.size();
  target.resize(base + value_total);
  char* const buffer = target.data();
  const char* suffix = reinterpret_cast<const char*>(rest.data() + suffix_start);
  size_t previous_start = base;
  size_t at = base;
  if (!fixed) out->ends.reserve(out->ends.size() + count);
  for (size_t i = 0; i < count; ++i) {
    // The prefix comes from the previous value, just before `at`: no overlap.
    std::memcpy(buffer + at, buffer + previous_start, prefixes[i]);
    std::memcpy(buffer + at + prefixes[i], suffix, suffixes[i]);
    suffix += suffixes[i];
    previous_start = at;
    at += prefixes[i] + suffixes[i];
    if (!fixed) out->ends.push_back(static_cast<uint32_t>(at));
  }
  *consumed = prefix_end + suffix_start + suffix_total;
  return absl::OkStatus();
}

template <size_t K>
void UnsplitFixed(const uint8_t* in, size_t stride, size_t count, char* out) {
  for (size_t i = 0; i < count; ++i) {
    for (size_t k = 0; k < K; ++k) out[i * K + k] = static_cast<char>(in[k * stride + i]);
  }
}

absl::Status DecodeByteStreamSplit(std::span<const uint8_t> data, size_t count, ValueBuffer* out, size_t* consumed) {
  const size_t width = out->width;
  if (data.size() % width != 0) {
    return Invalid(StrCat("BYTE_STREAM_SPLIT: ", data.size(), " bytes is not a multiple of the value width ", width));
  }
  // The streams run to the end of the page.
  const size_t stride = data.size() / width;
  if (count > stride) {
    return Invalid(StrCat("BYTE_STREAM_SPLIT: ", count, " values need ", static_cast<uint64_t>(count) * width,
                          " bytes, the page has ", data.size()));
  }
  const size_t base = out->fixed.size();
  out->fixed.resize(base + count * width);
  char* dst = out->fixed.data() + base;
  if (width == 4) {
    UnsplitFixed<4>(data.data(), stride, count, dst);
  } else if (width == 8) {
    UnsplitFixed<8>(data.data(), stride, count, dst);
  } else {
    for (size_t k = 0; k < width; ++k) {
      const uint8_t* stream = data.data() + k * stride;
      for (size_t i = 0; i < count; ++i) dst[i * width + k] = static_cast<char>(stream[i]);
    }
  }
  *consumed = data.size();
  return absl::OkStatus();
}

bool Applies(Encoding encoding, PhysicalType type) {
  switch (encoding) {
    case Encoding::kPlain:
      return true;
    case Encoding::kRle:
      return type == PhysicalType::kBoolean;
    case Encoding::kDeltaBinaryPacked:
      return type == PhysicalType::kInt32 || type == PhysicalType::kInt64;
    case Encoding::kDeltaLengthByteArray:
      return type == PhysicalType::kByteArray;
    case Encoding::kDeltaByteArray:
      return type == PhysicalType::kByteArray || type == PhysicalType::kFixedLenByteArray;
    case Encoding::kByteStreamSplit:
      return type == PhysicalType::kFloat || type == PhysicalType::kDouble || type == PhysicalType::kInt32 ||
             type == PhysicalType::kInt64 || type == PhysicalType::kFixedLenByteArray;
    default:
      return false;
  }
}

}  // namespace

void ValueBuffer::Reset(PhysicalType physical_type, int32_t type_length) {
  type = physical_type;
  switch (physical_type) {
    case PhysicalType::kBoolean:
      width = 1;
      break;
    case PhysicalType::kInt32:
    case PhysicalType::kFloat:
      width = 4;
      break;
    case PhysicalType::kInt64:
    case PhysicalType::kDouble:
      width = 8;
      break;
    case PhysicalType::kInt96:
      width = 12;
      break;
    case PhysicalType::kFixedLenByteArray:
      width = type_length > 0 ? static_cast<size_t>(type_length) : 0;
      break;
    default:
      width = 0;
      break;
  }
  fixed.clear();
  bytes.clear();
  ends.clear();
}

std::string_view ValueBuffer::bytes_at(size_t i) const {
  const uint32_t start = i == 0 ? 0 : ends[i - 1];
  return std::string_view(bytes.data() + start, ends[i] - start);
}

absl::Status DecodeValues(Encoding encoding, std::span<const uint8_t> data, size_t count, ValueBuffer* out,
                          size_t* consumed) {
  size_t used = 0;
  if (consumed != nullptr) *consumed = 0;
  switch (encoding) {
    case Encoding::kPlain:
    case Encoding::kRle:
    case Encoding::kDeltaBinaryPacked:
    case Encoding::kDeltaLengthByteArray:
    case Encoding::kDeltaByteArray:
    case Encoding::kByteStreamSplit:
      break;
    case Encoding::kPlainDictionary:
    case Encoding::kRleDictionary:
      return Invalid(StrCat(EncodingName(encoding), " data are dictionary indices, not values"));
    default:
      return Invalid(StrCat("unsupported value encoding ", EncodingName(encoding)));
  }
  if (!Applies(encoding, out->type)) {
    return Invalid(StrCat(EncodingName(encoding), " cannot encode ", PhysicalTypeName(out->type)));
  }
  const bool fixed_width = out->type != PhysicalType::kByteArray;
  if (fixed_width && out->width == 0) {
    return Invalid(StrCat("no value width for ", PhysicalTypeName(out->type), " (FIXED_LEN_BYTE_ARRAY type_length?)"));
  }
  if (count == 0) return absl::OkStatus();
  absl::Status status;
  switch (encoding) {
    case Encoding::kPlain:
      status = DecodePlain(data, count, out, &used);
      break;
    case Encoding::kRle:
      status = DecodeRleBooleans(data, count, out, &used);
      break;
    case Encoding::kDeltaBinaryPacked:
      status = DecodeDeltaBinaryPacked(data, count, out, &used);
      break;
    case Encoding::kDeltaLengthByteArray:
      status = DecodeDeltaLengthByteArray(data, count, out, &used);
      break;
    case Encoding::kDeltaByteArray:
      status = DecodeDeltaByteArray(data, count, out, &used);
      break;
    default:  // kByteStreamSplit
      status = DecodeByteStreamSplit(data, count, out, &used);
      break;
  }
  if (status.ok() && consumed != nullptr) *consumed = used;
  return status;
}

absl::Status DecodeDictionaryIndices(std::span<const uint8_t> data, size_t count, std::vector<uint32_t>* out) {
  if (count == 0) return absl::OkStatus();
  if (data.empty()) return Invalid("dictionary indices: no bit width byte");
  const int width = data[0];
  if (width > 32) return Invalid(StrCat("dictionary indices: bit width ", width, " > 32"));
  if (width == 0) {  // every run can only hold index 0
    out->resize(out->size() + count, 0);
    return absl::OkStatus();
  }
  return DecodeHybrid<32>("dictionary indices", data.subspan(1), width, count, out, nullptr);
}

absl::Status DecodeRleLevels(std::span<const uint8_t> data, int bit_width, size_t count, std::vector<uint16_t>* out) {
  if (bit_width < 0 || bit_width > 16) return Invalid(StrCat("levels: bit width ", bit_width, " not in 0..16"));
  if (bit_width == 0) {
    out->resize(out->size() + count, 0);
    return absl::OkStatus();
  }
  return DecodeHybrid<16>("RLE levels", data, bit_width, count, out, nullptr);
}

absl::Status DecodeBitPackedLevels(std::span<const uint8_t> data, int bit_width, size_t count,
                                   std::vector<uint16_t>* out, size_t* consumed) {
  *consumed = 0;
  if (bit_width < 0 || bit_width > 16) return Invalid(StrCat("levels: bit width ", bit_width, " not in 0..16"));
  if (bit_width != 0 && count > data.size() * 8 / bit_width) {
    return Invalid(StrCat("BIT_PACKED levels: ", count, " levels of ", bit_width, " bits need ",
                          (static_cast<uint64_t>(count) * bit_width + 7) / 8, " bytes, the page has ", data.size()));
  }
  const size_t bytes = (count * bit_width + 7) / 8;
  const size_t base = out->size();
  out->resize(base + count, 0);
  if (bit_width != 0) {
    uint16_t* dst = out->data() + base;
    const uint32_t mask = (uint32_t{1} << bit_width) - 1;
    // Most significant bit first: a value of ≤ 16 bits starting at any bit
    // lies within 3 bytes.
    for (size_t i = 0; i < count; ++i) {
      const size_t bit = i * bit_width;
      const size_t byte = bit / 8;
      uint32_t window = 0;
      for (size_t b = 0; b < 3; ++b) window = (window << 8) | (byte + b < bytes ? data[byte + b] : 0);
      const int shift = 24 - static_cast<int>(bit % 8) - bit_width;
      dst[i] = static_cast<uint16_t>((window >> shift) & mask);
    }
  }
  *consumed = bytes;
  return absl::OkStatus();
}

}  // namespace predstore::parquet
