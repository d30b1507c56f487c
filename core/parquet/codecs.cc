#include "core/parquet/codecs.h"

#include <brotli/decode.h>
#include <lz4.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <cstring>
#include <memory>
#include <string_view>

#include "core/base/strings.h"

namespace predstore::parquet {
namespace {

absl::Status Corrupt(Codec codec, std::string_view detail = {}) {
  if (detail.empty()) return absl::InvalidArgumentError(StrCat(CodecName(codec), ": corrupt data"));
  return absl::InvalidArgumentError(StrCat(CodecName(codec), ": corrupt data (", detail, ")"));
}

absl::Status Truncated(Codec codec) { return absl::InvalidArgumentError(StrCat(CodecName(codec), ": truncated data")); }

absl::Status SizeMismatch(Codec codec, size_t produced, size_t expected) {
  return absl::InvalidArgumentError(
      StrCat(CodecName(codec), ": decompressed ", produced, " bytes, the page header says ", expected));
}

absl::Status TooLarge(Codec codec, size_t expected) {
  return absl::InvalidArgumentError(
      StrCat(CodecName(codec), ": decompresses to more than the page header's ", expected, " bytes"));
}

const char* AsChars(std::span<const uint8_t> bytes) { return reinterpret_cast<const char*>(bytes.data()); }

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

absl::Status CopyUncompressed(std::span<const uint8_t> input, std::span<char> output) {
  if (input.size() != output.size()) {
    return absl::InvalidArgumentError(
        StrCat("UNCOMPRESSED: the page holds ", input.size(), " bytes, the page header says ", output.size()));
  }
  std::memcpy(output.data(), input.data(), input.size());
  return absl::OkStatus();
}

absl::Status DecompressSnappy(std::span<const uint8_t> input, std::span<char> output) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(AsChars(input), input.size(), &length)) return Corrupt(Codec::kSnappy);
  if (length != output.size()) {
    return absl::InvalidArgumentError(
        StrCat("SNAPPY: the data holds ", length, " bytes, the page header says ", output.size()));
  }
  if (!snappy::IsValidCompressedBuffer(AsChars(input), input.size()) ||
      !snappy::RawUncompress(AsChars(input), input.size(), output.data())) {
    return Corrupt(Codec::kSnappy);
  }
  return absl::OkStatus();
}

// zlib counts in uInt (32 bits): larger spans are fed in pieces of this size.
constexpr size_t kMaxZlibChunk = UINT_MAX;

// Inflates one or more gzip (or zlib) members, back to back, into exactly
// `output`; never writes past it. A one-byte probe buffer detects data that
// would decompress to more.
absl::Status DecompressGzip(std::span<const uint8_t> input, std::span<char> output) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 32) != Z_OK) return absl::ResourceExhaustedError("GZIP: cannot set up zlib");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> cleanup(&stream, &inflateEnd);

  size_t handed_in = 0;  // input bytes given to zlib so far
  size_t produced = 0;   // output bytes written
  Bytef probe = 0;
  for (;;) {
    if (stream.avail_in == 0 && handed_in < input.size()) {
      const size_t chunk = std::min(input.size() - handed_in, kMaxZlibChunk);
      stream.next_in = const_cast<Bytef*>(input.data() + handed_in);
      stream.avail_in = static_cast<uInt>(chunk);
      handed_in += chunk;
    }
    const bool probing = produced == output.size();
    if (probing) {
      stream.next_out = &probe;
      stream.avail_out = 1;
    } else {
      stream.next_out = reinterpret_cast<Bytef*>(output.data() + produced);
      stream.avail_out = static_cast<uInt>(std::min(output.size() - produced, kMaxZlibChunk));
    }
    const uInt room = stream.avail_out;
    const int rc = inflate(&stream, Z_NO_FLUSH);
    const size_t written = room - stream.avail_out;
    if (probing && written > 0) return TooLarge(Codec::kGzip, output.size());
    produced += written;

    if (rc == Z_STREAM_END) {
      if (stream.avail_in == 0 && handed_in == input.size()) break;
      // Another member follows (gzip allows concatenation).
      if (inflateReset(&stream) != Z_OK) return Corrupt(Codec::kGzip);
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) return Truncated(Codec::kGzip);  // output room was given, so the input ran out
    if (rc == Z_MEM_ERROR) return absl::ResourceExhaustedError("GZIP: out of memory");
    if (rc == Z_NEED_DICT) return Corrupt(Codec::kGzip, "needs a preset dictionary");
    return Corrupt(Codec::kGzip, stream.msg != nullptr ? stream.msg : "");
  }
  if (produced != output.size()) return SizeMismatch(Codec::kGzip, produced, output.size());
  return absl::OkStatus();
}

// One-shot decompression straight into `output`; also takes frames without
// a content size and several frames back to back.
absl::Status DecompressZstd(std::span<const uint8_t> input, std::span<char> output) {
  const size_t rc = ZSTD_decompress(output.data(), output.size(), input.data(), input.size());
  if (ZSTD_isError(rc)) {
    if (ZSTD_getErrorCode(rc) == ZSTD_error_dstSize_tooSmall) return TooLarge(Codec::kZstd, output.size());
    return Corrupt(Codec::kZstd, ZSTD_getErrorName(rc));
  }
  if (rc != output.size()) return SizeMismatch(Codec::kZstd, rc, output.size());
  return absl::OkStatus();
}

absl::Status DecompressBrotli(std::span<const uint8_t> input, std::span<char> output) {
  std::unique_ptr<BrotliDecoderState, decltype(&BrotliDecoderDestroyInstance)> decoder(
      BrotliDecoderCreateInstance(nullptr, nullptr, nullptr), &BrotliDecoderDestroyInstance);
  if (decoder == nullptr) return absl::ResourceExhaustedError("BROTLI: cannot set up the decoder");
  size_t available_in = input.size();
  const uint8_t* next_in = input.data();
  size_t available_out = output.size();
  uint8_t* next_out = reinterpret_cast<uint8_t*>(output.data());
  const BrotliDecoderResult result =
      BrotliDecoderDecompressStream(decoder.get(), &available_in, &next_in, &available_out, &next_out, nullptr);
  switch (result) {
    case BROTLI_DECODER_RESULT_SUCCESS:
      if (available_in != 0) return Corrupt(Codec::kBrotli, "bytes after the end of the stream");
      if (available_out != 0) return SizeMismatch(Codec::kBrotli, output.size() - available_out, output.size());
      return absl::OkStatus();
    case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
      return TooLarge(Codec::kBrotli, output.size());
    case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
      return Truncated(Codec::kBrotli);
    case BROTLI_DECODER_RESULT_ERROR:
      break;
  }
  return Corrupt(Codec::kBrotli, BrotliDecoderErrorString(BrotliDecoderGetErrorCode(decoder.get())));
}

// The result of LZ4_decompress_safe on `input` into `output` (negative on
// corrupt data or output too small), or -1 when a size exceeds liblz4's int.
int Lz4Block(std::span<const uint8_t> input, std::span<char> output) {
  if (input.size() > INT_MAX || output.size() > INT_MAX) return -1;
  return LZ4_decompress_safe(AsChars(input), output.data(), static_cast<int>(input.size()),
                             static_cast<int>(output.size()));
}

absl::Status DecompressLz4Raw(std::span<const uint8_t> input, std::span<char> output) {
  if (input.size() > INT_MAX || output.size() > INT_MAX) {
    return absl::InvalidArgumentError("LZ4_RAW: pages of 2 GiB or more are not supported");
  }
  const int rc = Lz4Block(input, output);
  if (rc < 0) return Corrupt(Codec::kLz4Raw, StrCat("or more than the page header's ", output.size(), " bytes"));
  if (static_cast<size_t>(rc) != output.size()) return SizeMismatch(Codec::kLz4Raw, rc, output.size());
  return absl::OkStatus();
}

// Hadoop's framing (BlockCompressorStream), as parquet-mr writes codec LZ4:
// a sequence of blocks, each a 4-byte big-endian decompressed size followed
// by chunks of [4-byte big-endian compressed size][raw LZ4 block] until that
// size is produced (usually one chunk). Arrow's writer frames an empty page
// as [0][1][0x00]; that trailing empty chunk is accepted too. True when
// `input` is exactly such a sequence and fills `output` exactly.
bool DecompressHadoopLz4(std::span<const uint8_t> input, std::span<char> output) {
  static constexpr uint8_t kEmptyChunk[] = {0, 0, 0, 1, 0};
  size_t produced = 0;
  while (!input.empty()) {
    if (input.size() < 4) return false;
    const uint32_t block_size = ReadBigEndian32(input.data());
    input = input.subspan(4);
    if (block_size > output.size() - produced) return false;
    const size_t block_end = produced + block_size;
    if (block_size == 0 && input.size() == sizeof(kEmptyChunk) &&
        std::equal(input.begin(), input.end(), std::begin(kEmptyChunk))) {
      return produced == output.size();
    }
    while (produced < block_end) {
      if (input.size() < 4) return false;
      const uint32_t chunk_size = ReadBigEndian32(input.data());
      input = input.subspan(4);
      if (chunk_size > input.size()) return false;
      const int rc = Lz4Block(input.first(chunk_size), output.subspan(produced, block_end - produced));
      if (rc < 0) return false;
      produced += static_cast<size_t>(rc);
      input = input.subspan(chunk_size);
    }
  }
  return produced == output.size();
}

absl::Status DecompressLz4(std::span<const uint8_t> input, std::span<char> output) {
  if (DecompressHadoopLz4(input, output)) return absl::OkStatus();
  // Older parquet-cpp wrote a bare LZ4 block under this codec.
  const int rc = Lz4Block(input, output);
  if (rc >= 0 && static_cast<size_t>(rc) == output.size()) return absl::OkStatus();
  return Corrupt(Codec::kLz4, StrCat("neither Hadoop-framed LZ4 nor a bare LZ4 block of ", output.size(), " bytes"));
}

absl::Status Unsupported(Codec codec) {
  return absl::UnimplementedError(StrCat(CodecName(codec), " compression is not supported"));
}

absl::Status DecompressInto(Codec codec, std::span<const uint8_t> input, std::span<char> output) {
  switch (codec) {
    case Codec::kUncompressed:
      return CopyUncompressed(input, output);
    case Codec::kSnappy:
      return DecompressSnappy(input, output);
    case Codec::kGzip:
      return DecompressGzip(input, output);
    case Codec::kZstd:
      return DecompressZstd(input, output);
    case Codec::kBrotli:
      return DecompressBrotli(input, output);
    case Codec::kLz4Raw:
      return DecompressLz4Raw(input, output);
    case Codec::kLz4:
      return DecompressLz4(input, output);
    case Codec::kLzo:
      break;
  }
  return Unsupported(codec);
}

bool IsSupported(Codec codec) {
  switch (codec) {
    case Codec::kUncompressed:
    case Codec::kSnappy:
    case Codec::kGzip:
    case Codec::kZstd:
    case Codec::kBrotli:
    case Codec::kLz4Raw:
    case Codec::kLz4:
      return true;
    case Codec::kLzo:
      break;
  }
  return false;
}

}  // namespace

absl::Status Decompress(Codec codec, std::span<const uint8_t> input, size_t uncompressed_size, std::string* output) {
  assert(output != nullptr);
  if (!IsSupported(codec)) return Unsupported(codec);
  output->resize(uncompressed_size);
  // An empty page may be stored as zero bytes whatever the codec (parquet-java
  // does so for all-null V2 pages), though that is no valid compressed input.
  if (uncompressed_size == 0 && input.empty()) return absl::OkStatus();
  absl::Status status = DecompressInto(codec, input, std::span<char>(output->data(), output->size()));
  if (!status.ok()) output->clear();
  return status;
}

uint32_t PageCrc32(std::span<const uint8_t> data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!data.empty()) {
    const size_t chunk = std::min(data.size(), kMaxZlibChunk);
    crc = crc32(crc, data.data(), static_cast<uInt>(chunk));
    data = data.subspan(chunk);
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace predstore::parquet
