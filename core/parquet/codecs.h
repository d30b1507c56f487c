// Page decompression for Parquet's codecs, through Debian's libraries:
// SNAPPY (libsnappy), GZIP (zlib; concatenated members too), ZSTD (libzstd),
// BROTLI (libbrotlidec), LZ4_RAW (liblz4 block format) and the deprecated
// LZ4 codec (Hadoop's framing of LZ4 blocks; a bare LZ4 block as older
// parquet-cpp wrote it is accepted too). LZO is refused. Also the page CRC.
// Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "core/parquet/metadata.h"

namespace predstore::parquet {

// Decompresses `input` into `*output`, which ends up holding exactly
// `uncompressed_size` bytes. kInvalidArgument when the data is corrupt or
// decompresses to another size; kUnimplemented for LZO and unknown codecs
// (naming the codec). kUncompressed copies.
absl::Status Decompress(Codec codec, std::span<const uint8_t> input, size_t uncompressed_size, std::string* output);

// CRC-32 (ISO-HDLC, as zlib's crc32) of `data`: the page checksum of
// PageHeader.crc, computed over the page's bytes as stored (compressed).
uint32_t PageCrc32(std::span<const uint8_t> data);

}  // namespace predstore::parquet
