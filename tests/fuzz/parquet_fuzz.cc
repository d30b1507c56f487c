// libFuzzer target: any bytes as a Parquet file. Opening it and reading
// every page of every column chunk, flat (as loads read data files) and
// nested (as Delta checkpoints are read), must end in a value or an error,
// never a crash, an out-of-bounds access (AddressSanitizer) or undefined behaviour
// (UBSan). Run by tests/fuzz/run_fuzz.sh.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/parquet/column_reader.h"
#include "core/parquet/nested_reader.h"

namespace {

// Reads what `file` holds, page by page, touching every value.
void ReadEverything(const predstore::parquet::ParquetFile& file) {
  using predstore::parquet::ColumnChunkReader;
  using predstore::parquet::PhysicalType;
  const auto& groups = file.metadata().row_groups;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t c = 0; c < file.columns().size(); ++c) {
      ColumnChunkReader reader(file, static_cast<int>(g), static_cast<int>(c));
      while (true) {
        auto page = reader.NextPage();
        if (!page.ok() || !*page) break;
        size_t present = 0;
        for (size_t r = 0; r < reader.rows(); ++r) present += reader.present(r);
        volatile size_t sink = 0;
        for (size_t v = 0; v < present; ++v) {
          if (file.columns()[c].type == PhysicalType::kByteArray) {
            std::string_view bytes = reader.bytes_at(v);
            sink = sink + bytes.size() + (bytes.empty() ? 0 : static_cast<unsigned char>(bytes.back()));
          } else {
            sink = sink + static_cast<unsigned char>(*reader.fixed_at(v));
          }
        }
      }
    }
  }
}

// Reads every leaf of a nested file with its levels, row by row.
void ReadNested(const predstore::parquet::ParquetFile& file) {
  const auto& groups = file.metadata().row_groups;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (size_t c = 0; c < file.columns().size(); ++c) {
      auto chunk = predstore::parquet::NestedLeafChunk::Read(file, static_cast<int>(g), static_cast<int>(c));
      if (!chunk.ok()) continue;
      volatile size_t sink = 0;
      for (int64_t row = 0; row < chunk->rows(); ++row) {
        for (size_t e = chunk->row_begin(row); e < chunk->row_end(row); ++e) sink = sink + chunk->definition_level(e);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The reader maps files; an in-memory file stands in for one.
  static const int fd = memfd_create("parquet_fuzz", 0);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto file = predstore::parquet::ParquetFile::Open(path);
  if (file.ok()) ReadEverything(**file);
  predstore::parquet::ParquetOpenOptions nested;
  nested.nested = true;
  auto nested_file = predstore::parquet::ParquetFile::Open(path, nested);
  if (nested_file.ok()) ReadNested(**nested_file);
  return 0;
}
