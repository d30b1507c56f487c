#include "core/ingest/input_files.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <vector>
#include <set>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "simdjson.h"

namespace predstore {
namespace {

namespace fs = std::filesystem;

using PartitionValues = std::vector<std::pair<std::string, std::optional<std::string>>>;

// A filesystem failure on `path`, keeping errno's canonical code.
absl::Status FileSystemError(const fs::path& path, const std::error_code& error) {
  absl::StatusCode code = error.category() == std::generic_category() || error.category() == std::system_category()
                              ? absl::ErrnoToStatusCode(error.value())
                              : absl::StatusCode::kInternal;
  if (code == absl::StatusCode::kUnknown) code = absl::StatusCode::kInternal;
  return absl::Status(code, StrCat(path.string(), ": ", error.message()));
}

std::string LowerExtension(const fs::path& path) { return absl::AsciiStrToLower(path.extension().string()); }

bool IsCompressionExtension(const std::string& extension) {
  static const char* const kExtensions[] = {".gz",     ".gzip",    ".bz2", ".xz",  ".zst", ".zstd", ".lz4",
                                            ".snappy", ".deflate", ".br",  ".lzo", ".zip", ".z"};
  return std::find(std::begin(kExtensions), std::end(kExtensions), extension) != std::end(kExtensions);
}

std::optional<InputFormat> FormatOfExtension(const std::string& extension) {
  if (extension == ".csv") return InputFormat::kCsv;
  if (extension == ".json" || extension == ".jsonl" || extension == ".ndjson") return InputFormat::kJsonLines;
  if (extension == ".parquet") return InputFormat::kParquet;
  return std::nullopt;
}

std::string_view FormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kCsv:
      return "csv";
    case InputFormat::kJsonLines:
      return "jsonl";
    case InputFormat::kParquet:
      return "parquet";
  }
  return "?";
}

absl::Status CompressedError(const fs::path& file) {
  return absl::UnimplementedError(
      StrCat(file.string(),
             ": this compression is not supported for CSV and JSON Lines (gzip and zstd are); "
             "decompress it first, or write it from Spark with compression \"gzip\" or \"none\""));
}

std::optional<InputCompression> CompressionOfExtension(const std::string& extension) {
  if (extension == ".gz" || extension == ".gzip") return InputCompression::kGzip;
  if (extension == ".zst" || extension == ".zstd") return InputCompression::kZstd;
  return std::nullopt;
}

// A compressed file's format and compression (from `part-0.csv.gz`: csv,
// gzip), or why it is refused.
absl::Status CompressedFormat(const fs::path& file, std::optional<InputFormat> format, InputFile* out) {
  std::optional<InputCompression> compression = CompressionOfExtension(LowerExtension(file));
  if (!compression) return CompressedError(file);
  std::optional<InputFormat> inner = FormatOfExtension(LowerExtension(file.stem()));
  if (!inner) inner = format;
  if (!inner || *inner == InputFormat::kParquet || (format && *format != *inner)) {
    return absl::InvalidArgumentError(StrCat(file.string(), ": a compressed file must be CSV or JSON Lines, named "
                                             "like part-0.csv.gz or part-0.json.zst"));
  }
  out->format = *inner;
  out->compression = *compression;
  return absl::OkStatus();
}

// The format of `file`, found inside a folder argument.
absl::Status FormatInFolder(const fs::path& file, std::optional<InputFormat> format, InputFile* out) {
  const std::string extension = LowerExtension(file);
  if (IsCompressionExtension(extension)) return CompressedFormat(file, format, out);
  if (extension.empty()) {
    if (!format) {
      return absl::InvalidArgumentError(
          StrCat(file.string(), ": cannot tell the format of a file without an extension; pass --format"));
    }
    out->format = *format;
    return absl::OkStatus();
  }
  std::optional<InputFormat> by_extension = FormatOfExtension(extension);
  if (!by_extension) {
    return absl::InvalidArgumentError(StrCat(file.string(),
                                             ": not a data file the loader reads (.csv, .json, "
                                             ".jsonl, .ndjson, .parquet); move it out of the folder"));
  }
  if (format && *format != *by_extension) {
    return absl::InvalidArgumentError(StrCat(file.string(), ": a ", FormatName(*by_extension),
                                             " file, but the format given is ", FormatName(*format)));
  }
  out->format = *by_extension;
  return absl::OkStatus();
}

void AppendUtf8(uint32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else {  // < 0x100: two bytes
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}


// Spark's ExternalCatalogUtils.unescapePathName: "%XX" is the character
// U+00XX; a '%' not followed by two hex digits stays itself.
std::string UnescapePathName(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int high = HexDigitValue(text[i + 1]);
      int low = HexDigitValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        AppendUtf8(static_cast<uint32_t>(high * 16 + low), &out);
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// Walks one folder argument.
class FolderWalk {
 public:
  FolderWalk(const fs::path& root, std::optional<InputFormat> format, ExpandedInputs* out)
      : root_(root), format_(format), out_(out) {}

  absl::Status Run() {
    PREDSTORE_RETURN_IF_ERROR(Walk(root_, {}));
    if (files_.empty()) {
      return absl::InvalidArgumentError(
          StrCat(root_.string(), ": the folder holds no data file (.csv, .json, .jsonl, .ndjson, .parquet; ",
                 out_->empty_files_skipped - empty_before_, " empty and ", out_->other_files_skipped - other_before_,
                 " hidden or bookkeeping files skipped)"));
    }
    std::sort(files_.begin(), files_.end(),
              [](const InputFile& a, const InputFile& b) { return a.path.native() < b.path.native(); });
    const InputFile& first = files_.front();
    for (const InputFile& file : files_) {
      if (!SameColumns(file.partition_values, first.partition_values)) {
        return absl::InvalidArgumentError(
            StrCat(file.path.string(), ": its partition folders give (", ColumnNames(file.partition_values),
                   ") but those of ", first.path.string(), " give (", ColumnNames(first.partition_values),
                   "); the files of one folder must sit under the same partition columns"));
      }
    }
    for (InputFile& file : files_) out_->files.push_back(std::move(file));
    return absl::OkStatus();
  }

 private:
  static bool SameColumns(const PartitionValues& a, const PartitionValues& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const auto& x, const auto& y) { return x.first == y.first; });
  }
  static std::string ColumnNames(const PartitionValues& values) {
    return absl::StrJoin(values, ", ", [](std::string* out, const auto& v) { StrAppend(out, v.first); });
  }

  absl::Status Walk(const fs::path& folder, const PartitionValues& partitions) {
    std::error_code error;
    fs::path canonical = fs::canonical(folder, error);
    if (error) return FileSystemError(folder, error);
    if (std::find(chain_.begin(), chain_.end(), canonical) != chain_.end()) {
      return absl::InvalidArgumentError(StrCat(folder.string(), ": a symbolic link loop (the folder is ",
                                               canonical.string(), ", which contains it)"));
    }
    chain_.push_back(canonical);

    std::vector<fs::directory_entry> entries;
    for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
      entries.push_back(*it);
    }
    if (error) return FileSystemError(folder, error);
    std::sort(entries.begin(), entries.end());
    // Refuse tables whose folder holds more than their data, before anything
    // else in the folder can fail.
    for (const fs::directory_entry& entry : entries) {
      const std::string name = entry.path().filename().string();
      std::error_code ignored;  // unreadable: skipped below as hidden
      if ((name == "_delta_log" || name == "_spark_metadata") && entry.is_directory(ignored)) {
        if (name == "_delta_log") {
          return absl::InvalidArgumentError(
              StrCat(folder.string(),
                     " is a Delta table; load it as one (its folder also holds files of "
                     "older versions, which reading its files as plain files would mix in)"));
        }
        return absl::InvalidArgumentError(
            StrCat(folder.string(),
                   " is the output of a Spark streaming file sink (_spark_metadata/); its "
                   "committed files are listed there, and reading every file could mix in "
                   "those of failed batches; not supported"));
      }
    }

    for (const fs::directory_entry& entry : entries) {
      const fs::path& path = entry.path();
      const std::string name = path.filename().string();
      if (IsSparkBookkeeping(name)) {
        ++out_->other_files_skipped;  // _SUCCESS, _committed_*, _temporary/, .part-0.crc, …
        continue;
      }
      fs::file_status status = entry.status(error);  // follows symbolic links
      if (error) return FileSystemError(path, error);
      if (fs::is_directory(status)) {
        PREDSTORE_ASSIGN_OR_RETURN(PartitionValues inner, WithPartitionFolder(path, partitions));
        PREDSTORE_RETURN_IF_ERROR(Walk(path, inner));
        continue;
      }
      if (!fs::is_regular_file(status)) {
        return absl::InvalidArgumentError(StrCat(path.string(), ": neither a file nor a folder"));
      }
      uint64_t size = entry.file_size(error);
      if (error) return FileSystemError(path, error);
      if (size == 0) {
        ++out_->empty_files_skipped;  // Spark writes one per empty task
        continue;
      }
      InputFile file{path, InputFormat::kCsv, InputCompression::kNone, partitions, size};
      PREDSTORE_RETURN_IF_ERROR(FormatInFolder(path, format_, &file));
      files_.push_back(std::move(file));
    }
    chain_.pop_back();
    return absl::OkStatus();
  }

  // `partitions` plus the value `folder` gives, if its name is column=value.
  static absl::StatusOr<PartitionValues> WithPartitionFolder(const fs::path& folder,
                                                             const PartitionValues& partitions) {
    const std::string name = folder.filename().string();
    const size_t equals = name.find('=');
    if (equals == std::string::npos) return partitions;  // a plain folder: no value
    if (!simdjson::validate_utf8(name.data(), name.size())) {
      return absl::InvalidArgumentError(StrCat(folder.string(), ": the partition folder's name is not valid UTF-8"));
    }
    std::string column = UnescapePathName(std::string_view(name).substr(0, equals));
    std::string value = UnescapePathName(std::string_view(name).substr(equals + 1));
    if (column.empty() || value.empty()) {
      return absl::InvalidArgumentError(
          StrCat(folder.string(), ": a partition folder needs a column name and a value (column=value)"));
    }
    for (const auto& [outer, unused] : partitions) {
      if (outer == column) {
        return absl::InvalidArgumentError(
            StrCat(folder.string(), ": partition column \"", column, "\" is given by an outer folder too"));
      }
    }
    PartitionValues inner = partitions;
    if (value == kHiveNullPartition) {
      inner.emplace_back(std::move(column), std::nullopt);  // Spark's null
    } else {
      inner.emplace_back(std::move(column), std::move(value));
    }
    return inner;
  }

  const fs::path root_;
  const std::optional<InputFormat> format_;
  ExpandedInputs* const out_;
  const uint64_t empty_before_ = out_->empty_files_skipped;
  const uint64_t other_before_ = out_->other_files_skipped;
  std::vector<fs::path> chain_;  // canonical folders being walked, outermost first
  std::vector<InputFile> files_;
};

}  // namespace

bool IsSparkBookkeeping(std::string_view name) {
  return name.starts_with('.') || name.starts_with('_') ||
         (name.size() >= 4 && absl::EqualsIgnoreCase(ToAbsl(name.substr(name.size() - 4)), ".crc"));
}

absl::Status DecompressInput(const InputFile& file, const fs::path& to) {
  constexpr size_t kChunk = 1 << 20;
  std::ifstream in(file.path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat(file.path.string(), ": cannot open"));
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(StrCat(to.string(), ": cannot create"));
  std::vector<char> input(kChunk), output(kChunk);
  auto corrupt = [&](std::string_view reason) {
    return absl::InvalidArgumentError(StrCat(file.path.string(), ": ", reason));
  };
  if (file.compression == InputCompression::kGzip) {
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 32) != Z_OK) return absl::InternalError("zlib: inflateInit2 failed");
    int result = Z_OK;
    bool more = true;
    while (more) {
      in.read(input.data(), static_cast<std::streamsize>(input.size()));
      stream.next_in = reinterpret_cast<Bytef*>(input.data());
      stream.avail_in = static_cast<uInt>(in.gcount());
      more = in.gcount() > 0;
      while (stream.avail_in > 0) {
        if (result == Z_STREAM_END) inflateReset(&stream);  // the next gzip member
        stream.next_out = reinterpret_cast<Bytef*>(output.data());
        stream.avail_out = static_cast<uInt>(output.size());
        result = inflate(&stream, Z_NO_FLUSH);
        if (result != Z_OK && result != Z_STREAM_END && result != Z_BUF_ERROR) {
          inflateEnd(&stream);
          return corrupt(StrCat("corrupt gzip data (", stream.msg ? stream.msg : "zlib error", ")"));
        }
        out.write(output.data(), static_cast<std::streamsize>(output.size() - stream.avail_out));
        if (result == Z_BUF_ERROR && stream.avail_out != 0) break;
      }
    }
    inflateEnd(&stream);
    if (result != Z_STREAM_END) return corrupt("truncated gzip data");
  } else if (file.compression == InputCompression::kZstd) {
    std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> stream(ZSTD_createDStream(), ZSTD_freeDStream);
    size_t last = 0;
    while (in.read(input.data(), static_cast<std::streamsize>(input.size())) || in.gcount() > 0) {
      ZSTD_inBuffer chunk{input.data(), static_cast<size_t>(in.gcount()), 0};
      while (chunk.pos < chunk.size) {
        ZSTD_outBuffer buffer{output.data(), output.size(), 0};
        last = ZSTD_decompressStream(stream.get(), &buffer, &chunk);
        if (ZSTD_isError(last)) return corrupt(StrCat("corrupt zstd data (", ZSTD_getErrorName(last), ")"));
        out.write(output.data(), static_cast<std::streamsize>(buffer.pos));
      }
    }
    if (last != 0) return corrupt("truncated zstd data");
  }
  out.close();
  if (!out) return absl::InternalError(StrCat(to.string(), ": write failed (disk full?)"));
  return absl::OkStatus();
}

absl::StatusOr<ExpandedInputs> ExpandInputs(const std::vector<fs::path>& arguments, std::optional<InputFormat> format) {
  if (arguments.empty()) return absl::InvalidArgumentError("no input files given");
  ExpandedInputs out;
  for (const fs::path& argument : arguments) {
    std::error_code error;
    fs::file_status status = fs::status(argument, error);
    if (status.type() == fs::file_type::not_found) {
      return absl::NotFoundError(StrCat(argument.string(), ": no such file or folder"));
    }
    if (error) return FileSystemError(argument, error);
    if (fs::is_directory(status)) {
      PREDSTORE_RETURN_IF_ERROR(FolderWalk(argument, format, &out).Run());
      continue;
    }
    if (!fs::is_regular_file(status)) {
      return absl::InvalidArgumentError(StrCat(argument.string(), ": neither a file nor a folder"));
    }
    InputFile file{argument, InputFormat::kCsv, InputCompression::kNone, {}, 0};
    if (IsCompressionExtension(LowerExtension(argument))) {
      PREDSTORE_RETURN_IF_ERROR(CompressedFormat(argument, format, &file));
    } else if (format) {
      file.format = *format;
    } else {
      PREDSTORE_ASSIGN_OR_RETURN(file.format, InputFormatOfPath(argument));
    }
    file.size = fs::file_size(argument, error);
    if (error) return FileSystemError(argument, error);
    out.files.push_back(std::move(file));  // even when empty: the reader says why it cannot be read
  }
  // The same file twice (named twice, or also inside a folder named) would
  // load its rows twice.
  std::set<fs::path> seen;
  for (const InputFile& file : out.files) {
    std::error_code error;
    fs::path canonical = fs::canonical(file.path, error);
    if (error) return FileSystemError(file.path, error);
    if (!seen.insert(canonical).second) {
      return absl::InvalidArgumentError(
          StrCat(file.path.string(), ": the file is given twice (it is ", canonical.string(), ")"));
    }
  }
  return out;
}

}  // namespace predstore
