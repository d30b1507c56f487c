#include "core/parquet/codecs.h"

#include <brotli/encode.h>
#include <lz4.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace predstore::parquet {
namespace {

using ::predstore::test_support::StatusIs;
using ::testing::HasSubstr;

std::span<const uint8_t> Bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Compressible text with some noise: repeated words and random letters.
std::string SampleText(size_t size, uint32_t seed = 7) {
  static constexpr std::string_view kWords[] = {"parquet ", "page ", "codec ", "snapshot ", "row group ", "\n"};
  std::mt19937 rng(seed);
  std::string text;
  while (text.size() < size) {
    if (rng() % 4 == 0) {
      text.push_back(static_cast<char>('a' + rng() % 26));
    } else {
      text.append(kWords[rng() % std::size(kWords)]);
    }
  }
  text.resize(size);
  return text;
}

std::string RandomBytes(size_t size, uint32_t seed = 11) {
  std::mt19937 rng(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

// --- Compressors, from the libraries themselves ---------------------------

std::string SnappyCompress(std::string_view data) {
  std::string out;
  snappy::Compress(data.data(), data.size(), &out);
  return out;
}

// window_bits 31: a gzip member; 15: a zlib stream.
std::string Deflate(std::string_view data, int window_bits) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}
std::string GzipCompress(std::string_view data) { return Deflate(data, 31); }
std::string ZlibCompress(std::string_view data) { return Deflate(data, 15); }

std::string ZstdCompress(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t size = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(size));
  out.resize(size);
  return out;
}

// A frame whose header leaves the content size out (as streaming writers do).
std::string ZstdCompressWithoutContentSize(std::string_view data, bool checksum = false) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t size = ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size());
  EXPECT_FALSE(ZSTD_isError(size));
  ZSTD_freeCCtx(cctx);
  out.resize(size);
  return out;
}

std::string BrotliCompress(std::string_view data, int lgwin = BROTLI_DEFAULT_WINDOW) {
  size_t size = BrotliEncoderMaxCompressedSize(data.size());
  if (size == 0) size = data.size() + 1024;
  std::string out(size, '\0');
  EXPECT_EQ(BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, lgwin, BROTLI_MODE_GENERIC, data.size(),
                                  reinterpret_cast<const uint8_t*>(data.data()), &size,
                                  reinterpret_cast<uint8_t*>(out.data())),
            BROTLI_TRUE);
  out.resize(size);
  return out;
}

std::string Lz4Compress(std::string_view data) {
  std::string out(LZ4_compressBound(static_cast<int>(data.size())), '\0');
  const int size =
      LZ4_compress_default(data.data(), out.data(), static_cast<int>(data.size()), static_cast<int>(out.size()));
  EXPECT_GT(size, 0);
  out.resize(size);
  return out;
}

void AppendBigEndian32(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((value >> shift) & 0xff));
}

// Hadoop's framing, built by hand: blocks of `block_size` decompressed bytes,
// each [decompressed size] then chunks of at most `chunk_size` bytes as
// [compressed size][LZ4 block].
std::string HadoopLz4(std::string_view data, size_t block_size, size_t chunk_size) {
  std::string out;
  for (size_t block = 0; block < data.size(); block += block_size) {
    const std::string_view block_data = data.substr(block, block_size);
    AppendBigEndian32(&out, static_cast<uint32_t>(block_data.size()));
    for (size_t chunk = 0; chunk < block_data.size(); chunk += chunk_size) {
      const std::string compressed = Lz4Compress(block_data.substr(chunk, chunk_size));
      AppendBigEndian32(&out, static_cast<uint32_t>(compressed.size()));
      out += compressed;
    }
  }
  return out;
}
// One block per 64 KiB, one chunk per block (what parquet-mr usually writes).
std::string HadoopLz4Compress(std::string_view data) { return HadoopLz4(data, 64 * 1024, 64 * 1024); }

std::string Copy(std::string_view data) { return std::string(data); }

// --- Per-codec cases -------------------------------------------------------

struct CodecCase {
  std::string name;
  Codec codec;
  std::function<std::string(std::string_view)> compress;
};

std::vector<CodecCase> AllCodecCases() {
  return {
      {"Uncompressed", Codec::kUncompressed, Copy},
      {"Snappy", Codec::kSnappy, SnappyCompress},
      {"Gzip", Codec::kGzip, GzipCompress},
      {"GzipZlibHeader", Codec::kGzip, ZlibCompress},
      {"Zstd", Codec::kZstd, ZstdCompress},
      {"ZstdNoContentSize", Codec::kZstd, [](std::string_view d) { return ZstdCompressWithoutContentSize(d); }},
      {"Brotli", Codec::kBrotli, [](std::string_view d) { return BrotliCompress(d); }},
      {"Lz4Raw", Codec::kLz4Raw, Lz4Compress},
      {"Lz4Hadoop", Codec::kLz4, HadoopLz4Compress},
      {"Lz4Bare", Codec::kLz4, Lz4Compress},
  };
}

class CodecTest : public ::testing::TestWithParam<CodecCase> {
 protected:
  absl::Status Run(std::string_view compressed, size_t size, std::string* out) const {
    return Decompress(GetParam().codec, Bytes(compressed), size, out);
  }
};

TEST_P(CodecTest, RoundTrips) {
  for (const std::string& data :
       {std::string(), std::string("x"), SampleText(1000), SampleText(300 * 1024), RandomBytes(70 * 1024)}) {
    SCOPED_TRACE(data.size());
    const std::string compressed = GetParam().compress(data);
    std::string out = "left over from an earlier page";
    ASSERT_OK(Run(compressed, data.size(), &out));
    EXPECT_EQ(out.size(), data.size());
    EXPECT_TRUE(out == data);
  }
}

TEST_P(CodecTest, EmptyInputForAnEmptyPage) {
  std::string out = "stale";
  ASSERT_OK(Run("", 0, &out));
  EXPECT_EQ(out, "");
}

TEST_P(CodecTest, EmptyInputForANonEmptyPageIsInvalid) {
  std::string out;
  EXPECT_THAT(Run("", 10, &out), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(CodecName(GetParam().codec))));
}

TEST_P(CodecTest, WrongExpectedSizeIsInvalid) {
  const std::string data = SampleText(5000);
  const std::string compressed = GetParam().compress(data);
  for (size_t size : {size_t{0}, size_t{1}, data.size() - 1, data.size() + 1, data.size() * 2}) {
    SCOPED_TRACE(size);
    std::string out;
    EXPECT_THAT(Run(compressed, size, &out),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(CodecName(GetParam().codec))));
    EXPECT_EQ(out, "");
  }
}

TEST_P(CodecTest, GarbageIsInvalid) {
  const std::string garbage = RandomBytes(300, 99);
  std::string out;
  EXPECT_THAT(Run(garbage, 1000, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(CodecName(GetParam().codec))));
  const std::string ones(300, '\xff');
  EXPECT_THAT(Run(ones, 1000, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(CodecName(GetParam().codec))));
}

// Every single-byte corruption either still decodes to exactly the expected
// size (codecs without checksums cannot tell) or is kInvalidArgument; never a
// crash or an overrun (run under ASan/UBSan).
TEST_P(CodecTest, CorruptedBytesNeverCrash) {
  const std::string data = SampleText(3000);
  const std::string compressed = GetParam().compress(data);
  for (size_t i = 0; i < compressed.size(); ++i) {
    for (uint8_t flip : {uint8_t{0xff}, uint8_t{0x01}, uint8_t{0x80}}) {
      std::string corrupt = compressed;
      corrupt[i] = static_cast<char>(corrupt[i] ^ flip);
      std::string out;
      const absl::Status status = Run(corrupt, data.size(), &out);
      if (status.ok()) {
        EXPECT_EQ(out.size(), data.size());
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << i << ": " << status;
      }
    }
  }
}

TEST_P(CodecTest, EveryTruncationIsInvalid) {
  const std::string data = SampleText(2000);
  const std::string compressed = GetParam().compress(data);
  for (size_t length = 0; length < compressed.size(); ++length) {
    std::string out;
    EXPECT_THAT(Run(std::string_view(compressed).substr(0, length), data.size(), &out),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(CodecName(GetParam().codec))))
        << "length " << length;
  }
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecTest, ::testing::ValuesIn(AllCodecCases()),
                         [](const ::testing::TestParamInfo<CodecCase>& info) { return info.param.name; });

// --- Codec-specific cases --------------------------------------------------

TEST(GzipTest, ConcatenatedMembers) {
  const std::string first = SampleText(40000, 1), second = SampleText(25000, 2);
  const std::string compressed = GzipCompress(first) + GzipCompress(second);
  std::string out;
  ASSERT_OK(Decompress(Codec::kGzip, Bytes(compressed), first.size() + second.size(), &out));
  EXPECT_TRUE(out == first + second);
}

TEST(GzipTest, ConcatenatedMembersWithAnEmptyOne) {
  const std::string first = SampleText(1000, 1), third = SampleText(500, 3);
  const std::string compressed = GzipCompress(first) + GzipCompress("") + GzipCompress(third);
  std::string out;
  ASSERT_OK(Decompress(Codec::kGzip, Bytes(compressed), first.size() + third.size(), &out));
  EXPECT_TRUE(out == first + third);
}

TEST(GzipTest, ReportsBothSizes) {
  const std::string compressed = GzipCompress(std::string(100, 'a'));
  std::string out;
  EXPECT_THAT(Decompress(Codec::kGzip, Bytes(compressed), 120, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, "GZIP: decompressed 100 bytes, the page header says 120"));
  EXPECT_THAT(Decompress(Codec::kGzip, Bytes(compressed), 80, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than the page header's 80 bytes")));
}

TEST(GzipTest, TrailingGarbageIsInvalid) {
  const std::string data = SampleText(1000);
  const std::string compressed = GzipCompress(data) + "junk";
  std::string out;
  EXPECT_THAT(Decompress(Codec::kGzip, Bytes(compressed), data.size(), &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("GZIP")));
}

TEST(SnappyTest, CorruptDataMessage) {
  std::string compressed = SnappyCompress(SampleText(1000));
  compressed.resize(compressed.size() / 2);
  std::string out;
  EXPECT_THAT(Decompress(Codec::kSnappy, Bytes(compressed), 1000, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, "SNAPPY: corrupt data"));
}

TEST(ZstdTest, TwoFramesBackToBack) {
  const std::string first = SampleText(3000, 1), second = SampleText(2000, 2);
  const std::string compressed = ZstdCompress(first) + ZstdCompressWithoutContentSize(second);
  std::string out;
  ASSERT_OK(Decompress(Codec::kZstd, Bytes(compressed), first.size() + second.size(), &out));
  EXPECT_TRUE(out == first + second);
}

// With a checksum, a corruption is caught or is harmless (some bits of the
// header and of the entropy-coded streams do not change the output); it never
// yields other data.
TEST(ZstdTest, ChecksummedFrameNeverYieldsWrongData) {
  const std::string data = SampleText(3000);
  const std::string compressed = ZstdCompressWithoutContentSize(data, /*checksum=*/true);
  int caught = 0;
  for (size_t i = 0; i < compressed.size(); ++i) {
    std::string corrupt = compressed;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
    std::string out;
    const absl::Status status = Decompress(Codec::kZstd, Bytes(corrupt), data.size(), &out);
    if (status.ok()) {
      EXPECT_TRUE(out == data) << i;
    } else {
      EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ZSTD"))) << i;
      ++caught;
    }
  }
  EXPECT_GT(caught, static_cast<int>(compressed.size()) * 9 / 10);
}

TEST(ZstdTest, FrameWithoutContentSizeTooLarge) {
  const std::string compressed = ZstdCompressWithoutContentSize(SampleText(3000));
  std::string out;
  EXPECT_THAT(Decompress(Codec::kZstd, Bytes(compressed), 2999, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than")));
}

TEST(BrotliTest, SmallWindowLargeInput) {
  const std::string data = SampleText(1 << 20, 5);
  const std::string compressed = BrotliCompress(data, 16);
  std::string out;
  ASSERT_OK(Decompress(Codec::kBrotli, Bytes(compressed), data.size(), &out));
  EXPECT_TRUE(out == data);
}

TEST(BrotliTest, TrailingGarbageIsInvalid) {
  const std::string data = SampleText(1000);
  const std::string compressed = BrotliCompress(data) + "junk";
  std::string out;
  EXPECT_THAT(Decompress(Codec::kBrotli, Bytes(compressed), data.size(), &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("BROTLI")));
}

TEST(HadoopLz4Test, SeveralBlocks) {
  const std::string data = SampleText(10000);
  for (size_t block_size : {size_t{1}, size_t{7}, size_t{1000}, size_t{4096}, size_t{9999}, size_t{10000}}) {
    SCOPED_TRACE(block_size);
    std::string out;
    ASSERT_OK(Decompress(Codec::kLz4, Bytes(HadoopLz4(data, block_size, block_size)), data.size(), &out));
    EXPECT_TRUE(out == data);
  }
}

TEST(HadoopLz4Test, SeveralChunksPerBlock) {
  // Hadoop's BlockCompressorStream splits a large write into chunks under
  // one decompressed-size prefix.
  const std::string data = SampleText(10000);
  for (size_t chunk_size : {size_t{1}, size_t{333}, size_t{4096}}) {
    SCOPED_TRACE(chunk_size);
    std::string out;
    ASSERT_OK(Decompress(Codec::kLz4, Bytes(HadoopLz4(data, 6000, chunk_size)), data.size(), &out));
    EXPECT_TRUE(out == data);
  }
}

TEST(HadoopLz4Test, EmptyPageFramings) {
  std::string out;
  // Hadoop: a zero decompressed size and no chunk.
  EXPECT_OK(Decompress(Codec::kLz4, Bytes(std::string("\0\0\0\0", 4)), 0, &out));
  // Arrow's writer: [0][1] and LZ4's one-byte empty block.
  EXPECT_OK(Decompress(Codec::kLz4, Bytes(std::string("\0\0\0\0\0\0\0\1\0", 9)), 0, &out));
  // A bare empty LZ4 block.
  EXPECT_OK(Decompress(Codec::kLz4, Bytes(Lz4Compress("")), 0, &out));
}

TEST(HadoopLz4Test, BlockClaimingMoreThanThePageIsInvalid) {
  const std::string data = SampleText(1000);
  std::string framed = HadoopLz4(data, 1000, 1000);
  framed[0] = '\x7f';  // decompressed size far beyond the page header's
  std::string out;
  EXPECT_THAT(Decompress(Codec::kLz4, Bytes(framed), data.size(), &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("LZ4")));
}

TEST(HadoopLz4Test, LyingChunkSizeIsInvalid) {
  const std::string data = SampleText(1000);
  std::string framed = HadoopLz4(data, 1000, 1000);
  framed[4] = '\x7f';  // compressed size beyond the input
  std::string out;
  EXPECT_THAT(Decompress(Codec::kLz4, Bytes(framed), data.size(), &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("LZ4")));
}

TEST(UnsupportedCodecTest, LzoIsUnimplemented) {
  std::string out;
  EXPECT_THAT(Decompress(Codec::kLzo, Bytes("abc"), 3, &out),
              StatusIs(absl::StatusCode::kUnimplemented, "LZO compression is not supported"));
}

TEST(UnsupportedCodecTest, UnknownCodecIsUnimplemented) {
  std::string out;
  EXPECT_THAT(Decompress(static_cast<Codec>(42), Bytes("abc"), 3, &out),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("42")));
}

TEST(UncompressedTest, SizeMismatchIsInvalid) {
  std::string out;
  EXPECT_THAT(Decompress(Codec::kUncompressed, Bytes("abcd"), 3, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UNCOMPRESSED")));
}

TEST(PageCrc32Test, KnownValues) {
  EXPECT_EQ(PageCrc32(Bytes("123456789")), 0xCBF43926u);
  EXPECT_EQ(PageCrc32(Bytes("")), 0u);
  EXPECT_EQ(PageCrc32(Bytes("The quick brown fox jumps over the lazy dog")), 0x414FA339u);
}

}  // namespace
}  // namespace predstore::parquet
