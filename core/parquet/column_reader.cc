#include "core/parquet/column_reader.h"

#include <algorithm>
#include <cstring>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/parquet/codecs.h"

namespace predstore::parquet {
namespace {

bool IsDictionaryEncoding(Encoding encoding) {
  return encoding == Encoding::kPlainDictionary || encoding == Encoding::kRleDictionary;
}

// The largest page (uncompressed) the reader holds: writers make pages of
// about 1 MiB; a header claiming more is refused rather than allocated.
constexpr int32_t kMaxPageBytes = 512 << 20;
// Likewise the rows of one page (its levels take 2 bytes a row): writers
// cut pages at 20,000 rows (parquet-mr) or at the row group (~1M rows).
constexpr int32_t kMaxPageRows = 64 << 20;

// Bits needed for levels up to `max_level` (the levels' bit width).
int LevelBitWidth(int max_level) {
  int width = 0;
  while (max_level > 0) {
    ++width;
    max_level >>= 1;
  }
  return width;
}

uint32_t ReadLittleEndian32(const uint8_t* data) {
  uint32_t value;
  std::memcpy(&value, data, 4);
  return value;
}

}  // namespace

ColumnChunkReader::ColumnChunkReader(const ParquetFile& file, int row_group, int column)
    : file_(file),
      column_(file.columns()[column]),
      row_group_(row_group),
      expected_values_(file.metadata().row_groups[row_group].columns[column].num_values),
      codec_(file.metadata().row_groups[row_group].columns[column].codec),
      chunk_(file.ChunkBytes(row_group, column)) {
  values_.Reset(column_.type, column_.type_length);
  dictionary_.Reset(column_.type, column_.type_length);
}

std::string ColumnChunkReader::Where() const {
  return StrCat(file_.path(), ": column \"", column_.name, "\", row group ", row_group_, ", page ", page_, ": ");
}

absl::Status ColumnChunkReader::PageError(std::string_view reason) const {
  return absl::InvalidArgumentError(StrCat(Where(), reason));
}

absl::StatusOr<bool> ColumnChunkReader::NextPage() {
  while (true) {
    if (values_read_ == expected_values_) {
      // Trailing index pages (never written by current writers) are allowed.
      while (position_ < chunk_.size()) {
        ++page_;
        size_t header_size = 0;
        auto header = DecodePageHeader(chunk_.subspan(position_), &header_size);
        if (!header.ok()) return PageError(StrCat("corrupt page header: ", header.status().message()));
        if (header->type != PageType::kIndexPage) {
          return PageError(StrCat("a page after the chunk's ", expected_values_, " values"));
        }
        position_ += header_size + static_cast<size_t>(header->compressed_page_size);
      }
      return false;
    }
    if (position_ >= chunk_.size()) {
      return PageError(StrCat("the chunk ends after ", values_read_, " of its ", expected_values_, " values"));
    }
    ++page_;
    size_t header_size = 0;
    auto header = DecodePageHeader(chunk_.subspan(position_), &header_size);
    if (!header.ok()) return PageError(StrCat("corrupt page header: ", header.status().message()));
    position_ += header_size;
    const size_t body_size = static_cast<size_t>(header->compressed_page_size);
    if (body_size > chunk_.size() - position_) {
      return PageError(StrCat("page of ", body_size, " bytes runs past the column chunk's end"));
    }
    if (header->uncompressed_page_size > kMaxPageBytes) {
      return PageError(StrCat("page of ", header->uncompressed_page_size, " bytes uncompressed; the reader takes pages "
                              "of at most ", kMaxPageBytes, " bytes"));
    }
    std::span<const uint8_t> body = chunk_.subspan(position_, body_size);
    position_ += body_size;
    if (header->crc) {
      uint32_t computed = PageCrc32(body);
      if (computed != *header->crc) {
        return PageError(StrCat("page checksum mismatch: the header says ", *header->crc, ", the page's CRC-32 is ",
                                computed, " (corrupt page)"));
      }
    }
    switch (header->type) {
      case PageType::kDictionaryPage:
        PREDSTORE_RETURN_IF_ERROR(ReadDictionaryPage(*header, body));
        continue;
      case PageType::kDataPage:
      case PageType::kDataPageV2:
        PREDSTORE_RETURN_IF_ERROR(ReadDataPage(*header, body));
        return true;
      case PageType::kIndexPage:
        continue;
    }
    return PageError(StrCat("unknown page type ", static_cast<int>(header->type)));
  }
}

absl::Status ColumnChunkReader::ReadDictionaryPage(const PageHeader& header, std::span<const uint8_t> body) {
  if (has_dictionary_ || values_read_ > 0) return PageError("a second dictionary page, or one after data pages");
  const DictionaryPageHeader& dictionary = *header.dictionary_page;
  if (dictionary.encoding != Encoding::kPlain && dictionary.encoding != Encoding::kPlainDictionary) {
    return PageError(StrCat("dictionary page in ", EncodingName(dictionary.encoding), "; only PLAIN is defined"));
  }
  if (dictionary.num_values < 0) return PageError("corrupt dictionary page: negative value count");
  auto status = Decompress(codec_, body, static_cast<size_t>(header.uncompressed_page_size), &decompressed_);
  if (!status.ok()) return PageError(StrCat("dictionary page: ", status.message()));
  dictionary_.Reset(column_.type, column_.type_length);
  status = DecodeValues(Encoding::kPlain, std::span<const uint8_t>(
                                              reinterpret_cast<const uint8_t*>(decompressed_.data()),
                                              decompressed_.size()),
                        static_cast<size_t>(dictionary.num_values), &dictionary_);
  if (!status.ok()) return PageError(StrCat("corrupt dictionary page: ", status.message()));
  has_dictionary_ = true;
  return absl::OkStatus();
}

absl::Status ColumnChunkReader::ReadDataPage(const PageHeader& header, std::span<const uint8_t> body) {
  Encoding encoding;
  int32_t num_values;
  std::span<const uint8_t> levels;  // definition levels, without a length prefix
  std::span<const uint8_t> values;
  Encoding level_encoding = Encoding::kRle;
  // Repetition levels (nested leaves under a repeated node only).
  const int max_repetition = column_.max_repetition_level;
  std::span<const uint8_t> repetition_levels;
  Encoding repetition_encoding = Encoding::kRle;
  if (header.type == PageType::kDataPage) {
    const DataPageHeader& page = *header.data_page;
    encoding = page.encoding;
    num_values = page.num_values;
    level_encoding = page.definition_level_encoding;
    auto status = Decompress(codec_, body, static_cast<size_t>(header.uncompressed_page_size), &decompressed_);
    if (!status.ok()) return PageError(FromAbsl(status.message()));
    std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(decompressed_.data()), decompressed_.size());
    if (max_repetition > 0) {
      // The repetition levels come first: RLE with a 4-byte length, or
      // (deprecated) BIT_PACKED whose size follows from the count.
      repetition_encoding = page.repetition_level_encoding;
      size_t size = 0;
      if (repetition_encoding == Encoding::kRle) {
        if (data.size() < 4) return PageError("corrupt page: too short for its repetition levels");
        const uint32_t length = ReadLittleEndian32(data.data());
        if (length > data.size() - 4) {
          return PageError(StrCat("corrupt page: repetition levels of ", length, " bytes in a page of ", data.size()));
        }
        repetition_levels = data.subspan(4, length);
        size = 4 + size_t{length};
      } else if (repetition_encoding == Encoding::kBitPacked) {
        if (num_values < 0) return PageError("corrupt page: negative value count");
        size = (static_cast<size_t>(num_values) * static_cast<size_t>(LevelBitWidth(max_repetition)) + 7) / 8;
        if (size > data.size()) return PageError("corrupt page: too short for its repetition levels");
        repetition_levels = data.subspan(0, size);
      } else {
        return PageError(StrCat("repetition levels in ", EncodingName(repetition_encoding)));
      }
      data = data.subspan(size);
    }
    if (column_.optional && level_encoding == Encoding::kRle) {
      if (data.size() < 4) return PageError("corrupt page: too short for its definition levels");
      uint32_t length = ReadLittleEndian32(data.data());
      if (length > data.size() - 4) {
        return PageError(StrCat("corrupt page: definition levels of ", length, " bytes in a page of ", data.size()));
      }
      levels = data.subspan(4, length);
      values = data.subspan(4 + length);
    } else {
      levels = data;  // BIT_PACKED levels: their size follows from the count
      values = data;
    }
  } else {
    const DataPageHeaderV2& page = *header.data_page_v2;
    encoding = page.encoding;
    num_values = page.num_values;
    // A flat column has no repetition levels; some writers still store an
    // (all-zero) run of them, which is skipped.
    const int64_t repetition_size = page.repetition_levels_byte_length;
    const int64_t levels_end = repetition_size + int64_t{page.definition_levels_byte_length};
    if (repetition_size < 0 || page.definition_levels_byte_length < 0 ||
        levels_end > static_cast<int64_t>(body.size()) || levels_end > header.uncompressed_page_size) {
      return PageError("corrupt page: levels larger than the page");
    }
    if (max_repetition == 0 && page.num_values != page.num_rows) {
      return PageError("a flat column's page has num_values != num_rows");
    }
    if (max_repetition > 0) repetition_levels = body.subspan(0, static_cast<size_t>(repetition_size));
    const auto levels_size = static_cast<size_t>(levels_end);
    levels = body.subspan(static_cast<size_t>(repetition_size), static_cast<size_t>(page.definition_levels_byte_length));
    std::span<const uint8_t> stored = body.subspan(levels_size);
    const size_t values_size = static_cast<size_t>(header.uncompressed_page_size) - levels_size;
    if (page.is_compressed && codec_ != Codec::kUncompressed) {
      auto status = Decompress(codec_, stored, values_size, &decompressed_);
      if (!status.ok()) return PageError(FromAbsl(status.message()));
      values = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(decompressed_.data()), decompressed_.size());
    } else {
      if (stored.size() != values_size) return PageError("corrupt page: stored and uncompressed sizes differ");
      values = stored;
    }
  }
  if (num_values > kMaxPageRows) {
    return PageError(StrCat("page of ", num_values, " rows; the reader takes pages of at most ", kMaxPageRows));
  }
  if (num_values < 0 || num_values > expected_values_ - values_read_) {
    return PageError(StrCat("page of ", num_values, " values, but the chunk has ", expected_values_ - values_read_,
                            " left"));
  }
  rows_ = static_cast<size_t>(num_values);
  size_t present = rows_;
  def_levels_.clear();
  if (max_repetition > 0) {
    rep_levels_.clear();
    absl::Status status;
    const int width = LevelBitWidth(max_repetition);
    if (header.type == PageType::kDataPage && repetition_encoding == Encoding::kBitPacked) {
      size_t consumed = 0;
      status = DecodeBitPackedLevels(repetition_levels, width, rows_, &rep_levels_, &consumed);
    } else {
      status = DecodeRleLevels(repetition_levels, width, rows_, &rep_levels_);
    }
    if (!status.ok()) return PageError(StrCat("corrupt repetition levels: ", status.message()));
    for (uint16_t level : rep_levels_) {
      if (level > max_repetition) {
        return PageError(StrCat("repetition level ", level, " above the column's maximum ", max_repetition));
      }
    }
  }
  if (column_.optional) {
    absl::Status status;
    const int max_definition = column_.max_definition_level;
    const int width = LevelBitWidth(max_definition);
    if (header.type == PageType::kDataPage && level_encoding == Encoding::kBitPacked) {
      size_t consumed = 0;
      status = DecodeBitPackedLevels(levels, width, rows_, &def_levels_, &consumed);
      values = values.subspan(std::min(consumed, values.size()));
    } else if (level_encoding == Encoding::kRle || header.type == PageType::kDataPageV2) {
      status = DecodeRleLevels(levels, width, rows_, &def_levels_);
    } else {
      return PageError(StrCat("definition levels in ", EncodingName(level_encoding)));
    }
    if (!status.ok()) return PageError(StrCat("corrupt definition levels: ", status.message()));
    present = 0;
    if (max_definition == 1) {
      for (uint16_t level : def_levels_) {
        if (level > 1) return PageError(StrCat("definition level ", level, " in a flat column (max 1)"));
        present += level;
      }
    } else {
      // A nested leaf: only entries at the maximum level hold a value.
      for (uint16_t level : def_levels_) {
        if (level > max_definition) {
          return PageError(StrCat("definition level ", level, " above the column's maximum ", max_definition));
        }
        present += level == max_definition;
      }
    }
    if (header.type == PageType::kDataPageV2 &&
        static_cast<size_t>(header.data_page_v2->num_nulls) != rows_ - present) {
      return PageError(StrCat("the header says ", header.data_page_v2->num_nulls, " nulls; the levels say ",
                              rows_ - present));
    }
  }
  PREDSTORE_RETURN_IF_ERROR(DecodePageValues(encoding, values, present));
  values_read_ += num_values;
  return absl::OkStatus();
}

absl::Status ColumnChunkReader::DecodePageValues(Encoding encoding, std::span<const uint8_t> data, size_t count) {
  if (IsDictionaryEncoding(encoding)) {
    if (!has_dictionary_) return PageError("dictionary-encoded page without a dictionary page");
    indices_.clear();
    auto status = DecodeDictionaryIndices(data, count, &indices_);
    if (!status.ok()) return PageError(StrCat("corrupt dictionary indices: ", status.message()));
    const size_t size = dictionary_.size();
    for (uint32_t index : indices_) {
      if (index >= size) {
        return PageError(StrCat("dictionary index ", index, " out of range (the dictionary has ", size,
                                " values): corrupt dictionary or page"));
      }
    }
    dictionary_indices_ = true;
    source_ = &dictionary_;
    return absl::OkStatus();
  }
  values_.Reset(column_.type, column_.type_length);
  auto status = DecodeValues(encoding, data, count, &values_);
  if (!status.ok()) return PageError(StrCat("corrupt ", EncodingName(encoding), " values: ", status.message()));
  if (values_.size() != count) {
    return PageError(StrCat("decoded ", values_.size(), " values; the levels say ", count));
  }
  dictionary_indices_ = false;
  source_ = &values_;
  return absl::OkStatus();
}

}  // namespace predstore::parquet
