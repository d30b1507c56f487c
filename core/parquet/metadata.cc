#include "core/parquet/metadata.h"

#include <algorithm>
#include <utility>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/parquet/thrift_compact.h"

// Field ids and enum values follow apache/parquet-format's
// src/main/thrift/parquet.thrift.
namespace predstore::parquet {
namespace {

// Vectors grow with the bytes actually decoded; a list header's size alone
// (bounded by the bytes left, but each element costs much more in memory
// than on the wire) reserves at most this many elements.
constexpr size_t kMaxReserve = 1024;

// `want` kBoolTrue accepts either bool code.
absl::Status CheckType(CompactReader& reader, const FieldHeader& field, CompactType want, std::string_view where) {
  const bool ok = want == CompactType::kBoolTrue ? field.is_bool() : field.type == want;
  if (ok) return absl::OkStatus();
  return reader.Error(
      StrCat(where, " field ", field.id, " is ", CompactTypeName(field.type), ", expected ", CompactTypeName(want)));
}

absl::StatusOr<int32_t> ReadI32Field(CompactReader& reader, const FieldHeader& field, std::string_view where) {
  PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kI32, where));
  return reader.ReadI32();
}

absl::StatusOr<int64_t> ReadI64Field(CompactReader& reader, const FieldHeader& field, std::string_view where) {
  PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kI64, where));
  return reader.ReadI64();
}

absl::StatusOr<std::string> ReadStringField(CompactReader& reader, const FieldHeader& field, std::string_view where) {
  PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kBinary, where));
  PREDSTORE_ASSIGN_OR_RETURN(std::string_view value, reader.ReadBinary());
  return std::string(value);
}

absl::StatusOr<bool> ReadBoolField(CompactReader& reader, const FieldHeader& field, std::string_view where) {
  PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kBoolTrue, where));
  return field.bool_value();
}

absl::Status CheckNonNegative(CompactReader& reader, int64_t value, std::string_view what) {
  if (value >= 0) return absl::OkStatus();
  return reader.Error(StrCat("negative ", what, " ", value));
}

absl::Status Missing(CompactReader& reader, std::string_view what) {
  return reader.Error(StrCat("missing required ", what));
}

// ---- LogicalType ----------------------------------------------------------

// TimeUnit union: 1 MILLIS, 2 MICROS, 3 NANOS (each an empty struct).
absl::StatusOr<TimeUnit> ReadTimeUnit(CompactReader& reader) {
  std::optional<TimeUnit> unit;
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    if (field.id >= 1 && field.id <= 3 && field.type == CompactType::kStruct) {
      unit = field.id == 1 ? TimeUnit::kMillis : field.id == 2 ? TimeUnit::kMicros : TimeUnit::kNanos;
    }
    return reader.Skip(field.type);
  }));
  if (!unit.has_value()) return reader.Error("unknown TimeUnit");
  return *unit;
}

// TimestampType / TimeType: 1 isAdjustedToUTC, 2 unit.
absl::Status ReadTimeLike(CompactReader& reader, LogicalType* logical, std::string_view where) {
  bool has_utc = false, has_unit = false;
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1: {
        PREDSTORE_ASSIGN_OR_RETURN(logical->utc_adjusted, ReadBoolField(reader, field, where));
        has_utc = true;
        return absl::OkStatus();
      }
      case 2: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kStruct, where));
        PREDSTORE_ASSIGN_OR_RETURN(logical->unit, ReadTimeUnit(reader));
        has_unit = true;
        return absl::OkStatus();
      }
      default:
        return reader.Skip(field.type);
    }
  }));
  if (!has_utc || !has_unit) return Missing(reader, StrCat(where, ".", has_utc ? "unit" : "isAdjustedToUTC"));
  return absl::OkStatus();
}

// IntType: 1 bitWidth (i8), 2 isSigned.
absl::Status ReadIntType(CompactReader& reader, LogicalType* logical) {
  bool has_width = false, has_signed = false;
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kByte, "IntType"));
        PREDSTORE_ASSIGN_OR_RETURN(int8_t width, reader.ReadByte());
        if (width != 8 && width != 16 && width != 32 && width != 64) {
          return reader.Error(StrCat("IntType bit width ", static_cast<int>(width)));
        }
        logical->bit_width = width;
        has_width = true;
        return absl::OkStatus();
      }
      case 2: {
        PREDSTORE_ASSIGN_OR_RETURN(logical->is_signed, ReadBoolField(reader, field, "IntType"));
        has_signed = true;
        return absl::OkStatus();
      }
      default:
        return reader.Skip(field.type);
    }
  }));
  if (!has_width || !has_signed) return Missing(reader, has_width ? "IntType.isSigned" : "IntType.bitWidth");
  return absl::OkStatus();
}

// DecimalType: 1 scale, 2 precision.
absl::Status ReadDecimalType(CompactReader& reader, LogicalType* logical) {
  bool has_scale = false, has_precision = false;
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1: {
        PREDSTORE_ASSIGN_OR_RETURN(logical->scale, ReadI32Field(reader, field, "DecimalType"));
        has_scale = true;
        return absl::OkStatus();
      }
      case 2: {
        PREDSTORE_ASSIGN_OR_RETURN(logical->precision, ReadI32Field(reader, field, "DecimalType"));
        has_precision = true;
        return absl::OkStatus();
      }
      default:
        return reader.Skip(field.type);
    }
  }));
  if (!has_scale || !has_precision) {
    return Missing(reader, has_scale ? "DecimalType.precision" : "DecimalType.scale");
  }
  return absl::OkStatus();
}

// The LogicalType union. Kind stays kNone for an empty union.
absl::StatusOr<LogicalType> ReadLogicalType(CompactReader& reader) {
  LogicalType logical;
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kStruct, "LogicalType"));
    logical = LogicalType();
    auto other = [&](std::string_view name) {
      logical.kind = LogicalType::Kind::kOther;
      logical.name = std::string(name);
      return reader.Skip(field.type);
    };
    switch (field.id) {
      case 1:   // STRING
      case 4:   // ENUM
      case 12:  // JSON
        logical.kind = LogicalType::Kind::kString;
        return reader.Skip(field.type);
      case 2:
        return other("MAP");
      case 3:
        return other("LIST");
      case 5:
        logical.kind = LogicalType::Kind::kDecimal;
        return ReadDecimalType(reader, &logical);
      case 6:
        logical.kind = LogicalType::Kind::kDate;
        return reader.Skip(field.type);
      case 7:
        logical.kind = LogicalType::Kind::kOther;
        logical.name = "TIME";
        return ReadTimeLike(reader, &logical, "TimeType");
      case 8:
        logical.kind = LogicalType::Kind::kTimestamp;
        return ReadTimeLike(reader, &logical, "TimestampType");
      case 10:
        logical.kind = LogicalType::Kind::kInteger;
        return ReadIntType(reader, &logical);
      case 11:
        return other("UNKNOWN");  // NullType: always null
      case 13:
        return other("BSON");
      case 14:
        return other("UUID");
      case 15:
        return other("FLOAT16");
      case 16:
        return other("VARIANT");
      case 17:
        return other("GEOMETRY");
      case 18:
        return other("GEOGRAPHY");
      case 19:
        return other("FILE");
      default:
        return other(StrCat("LogicalType ", field.id));
    }
  }));
  return logical;
}

// The legacy ConvertedType (with SchemaElement.scale/precision for DECIMAL).
LogicalType FromConvertedType(int32_t converted, int32_t scale, int32_t precision) {
  LogicalType logical;
  auto integer = [&](int bit_width, bool is_signed) {
    logical.kind = LogicalType::Kind::kInteger;
    logical.bit_width = bit_width;
    logical.is_signed = is_signed;
  };
  auto other = [&](std::string_view name) {
    logical.kind = LogicalType::Kind::kOther;
    logical.name = std::string(name);
  };
  switch (converted) {
    case 0:   // UTF8
    case 4:   // ENUM
    case 19:  // JSON
      logical.kind = LogicalType::Kind::kString;
      break;
    case 1:
      other("MAP");
      break;
    case 2:
      other("MAP_KEY_VALUE");
      break;
    case 3:
      other("LIST");
      break;
    case 5:
      logical.kind = LogicalType::Kind::kDecimal;
      logical.scale = scale;
      logical.precision = precision;
      break;
    case 6:
      logical.kind = LogicalType::Kind::kDate;
      break;
    case 7:
      other("TIME_MILLIS");
      break;
    case 8:
      other("TIME_MICROS");
      break;
    case 9:
    case 10:
      logical.kind = LogicalType::Kind::kTimestamp;
      logical.unit = converted == 9 ? TimeUnit::kMillis : TimeUnit::kMicros;
      logical.utc_adjusted = true;
      break;
    case 11:
      integer(8, false);
      break;
    case 12:
      integer(16, false);
      break;
    case 13:
      integer(32, false);
      break;
    case 14:
      integer(64, false);
      break;
    case 15:
      integer(8, true);
      break;
    case 16:
      integer(16, true);
      break;
    case 17:
      integer(32, true);
      break;
    case 18:
      integer(64, true);
      break;
    case 20:
      other("BSON");
      break;
    case 21:
      other("INTERVAL");
      break;
    default:
      other(StrCat("ConvertedType ", converted));
      break;
  }
  return logical;
}

// ---- Schema, column chunks, row groups -----------------------------------

absl::StatusOr<SchemaElement> ReadSchemaElement(CompactReader& reader) {
  SchemaElement element;
  bool has_name = false;
  std::optional<int32_t> converted_type;
  int32_t scale = 0, precision = 0;
  std::optional<LogicalType> logical;
  constexpr std::string_view kWhere = "SchemaElement";
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1: {
        PREDSTORE_ASSIGN_OR_RETURN(int32_t type, ReadI32Field(reader, field, kWhere));
        element.type = static_cast<PhysicalType>(type);
        return absl::OkStatus();
      }
      case 2: {
        PREDSTORE_ASSIGN_OR_RETURN(element.type_length, ReadI32Field(reader, field, kWhere));
        return CheckNonNegative(reader, element.type_length, "type_length");
      }
      case 3: {
        PREDSTORE_ASSIGN_OR_RETURN(int32_t repetition, ReadI32Field(reader, field, kWhere));
        element.repetition = static_cast<Repetition>(repetition);
        return absl::OkStatus();
      }
      case 4: {
        PREDSTORE_ASSIGN_OR_RETURN(element.name, ReadStringField(reader, field, kWhere));
        has_name = true;
        return absl::OkStatus();
      }
      case 5: {
        PREDSTORE_ASSIGN_OR_RETURN(element.num_children, ReadI32Field(reader, field, kWhere));
        return CheckNonNegative(reader, element.num_children, "num_children");
      }
      case 6: {
        PREDSTORE_ASSIGN_OR_RETURN(converted_type, ReadI32Field(reader, field, kWhere));
        return absl::OkStatus();
      }
      case 7: {
        PREDSTORE_ASSIGN_OR_RETURN(scale, ReadI32Field(reader, field, kWhere));
        return absl::OkStatus();
      }
      case 8: {
        PREDSTORE_ASSIGN_OR_RETURN(precision, ReadI32Field(reader, field, kWhere));
        return absl::OkStatus();
      }
      case 10: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kStruct, kWhere));
        PREDSTORE_ASSIGN_OR_RETURN(logical, ReadLogicalType(reader));
        return absl::OkStatus();
      }
      default:
        return reader.Skip(field.type);
    }
  }));
  if (!has_name) return Missing(reader, "SchemaElement.name");
  if (logical.has_value() && logical->kind != LogicalType::Kind::kNone) {
    element.logical = *std::move(logical);
  } else if (converted_type.has_value()) {
    element.logical = FromConvertedType(*converted_type, scale, precision);
  }
  return element;
}

absl::Status ReadColumnMetaData(CompactReader& reader, ColumnChunk* chunk) {
  // Required fields we keep: type, path_in_schema, codec, num_values,
  // total_compressed_size, data_page_offset.
  bool has[10] = {};
  constexpr std::string_view kWhere = "ColumnMetaData";
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    if (field.id >= 1 && field.id <= 9) has[field.id] = true;
    switch (field.id) {
      case 1: {
        PREDSTORE_ASSIGN_OR_RETURN(int32_t type, ReadI32Field(reader, field, kWhere));
        chunk->type = static_cast<PhysicalType>(type);
        return absl::OkStatus();
      }
      case 3: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kList, kWhere));
        chunk->path_in_schema.clear();
        return reader.ReadList(CompactType::kBinary, [&]() -> absl::Status {
          PREDSTORE_ASSIGN_OR_RETURN(std::string_view part, reader.ReadBinary());
          chunk->path_in_schema.emplace_back(part);
          return absl::OkStatus();
        });
      }
      case 4: {
        PREDSTORE_ASSIGN_OR_RETURN(int32_t codec, ReadI32Field(reader, field, kWhere));
        chunk->codec = static_cast<Codec>(codec);
        return absl::OkStatus();
      }
      case 5: {
        PREDSTORE_ASSIGN_OR_RETURN(chunk->num_values, ReadI64Field(reader, field, kWhere));
        return CheckNonNegative(reader, chunk->num_values, "num_values");
      }
      case 7: {
        PREDSTORE_ASSIGN_OR_RETURN(chunk->total_compressed_size, ReadI64Field(reader, field, kWhere));
        return CheckNonNegative(reader, chunk->total_compressed_size, "total_compressed_size");
      }
      case 9: {
        PREDSTORE_ASSIGN_OR_RETURN(chunk->data_page_offset, ReadI64Field(reader, field, kWhere));
        return CheckNonNegative(reader, chunk->data_page_offset, "data_page_offset");
      }
      case 11: {
        PREDSTORE_ASSIGN_OR_RETURN(int64_t offset, ReadI64Field(reader, field, kWhere));
        chunk->dictionary_page_offset = offset;
        return CheckNonNegative(reader, offset, "dictionary_page_offset");
      }
      default:
        return reader.Skip(field.type);
    }
  }));
  static constexpr std::pair<int, std::string_view> kRequired[] = {
      {1, "type"},       {3, "path_in_schema"},        {4, "codec"},
      {5, "num_values"}, {7, "total_compressed_size"}, {9, "data_page_offset"},
  };
  for (const auto& [id, name] : kRequired) {
    if (!has[id]) return Missing(reader, StrCat("ColumnMetaData.", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<ColumnChunk> ReadColumnChunk(CompactReader& reader) {
  ColumnChunk chunk;
  bool has_meta_data = false;
  constexpr std::string_view kWhere = "ColumnChunk";
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1:
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kBinary, kWhere));
        chunk.external = true;
        return reader.Skip(field.type);
      case 3:
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kStruct, kWhere));
        has_meta_data = true;
        return ReadColumnMetaData(reader, &chunk);
      case 8:
      case 9:
        chunk.encrypted = true;
        return reader.Skip(field.type);
      default:
        return reader.Skip(field.type);
    }
  }));
  if (!has_meta_data && !chunk.encrypted) return Missing(reader, "ColumnChunk.meta_data");
  return chunk;
}

absl::StatusOr<RowGroup> ReadRowGroup(CompactReader& reader) {
  RowGroup row_group;
  bool has_columns = false, has_num_rows = false;
  constexpr std::string_view kWhere = "RowGroup";
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kList, kWhere));
        has_columns = true;
        row_group.columns.clear();
        return reader.ReadList(CompactType::kStruct, [&]() -> absl::Status {
          PREDSTORE_ASSIGN_OR_RETURN(ColumnChunk chunk, ReadColumnChunk(reader));
          row_group.columns.push_back(std::move(chunk));
          return absl::OkStatus();
        });
      }
      case 3: {
        PREDSTORE_ASSIGN_OR_RETURN(row_group.num_rows, ReadI64Field(reader, field, kWhere));
        has_num_rows = true;
        return CheckNonNegative(reader, row_group.num_rows, "RowGroup.num_rows");
      }
      default:
        return reader.Skip(field.type);
    }
  }));
  if (!has_columns) return Missing(reader, "RowGroup.columns");
  if (!has_num_rows) return Missing(reader, "RowGroup.num_rows");
  return row_group;
}

// ---- Page headers ----------------------------------------------------------

absl::StatusOr<DataPageHeader> ReadDataPageHeader(CompactReader& reader) {
  DataPageHeader header;
  bool has_num_values = false, has_encoding = false;
  constexpr std::string_view kWhere = "DataPageHeader";
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    if (field.id < 1 || field.id > 4) return reader.Skip(field.type);
    PREDSTORE_ASSIGN_OR_RETURN(int32_t value, ReadI32Field(reader, field, kWhere));
    switch (field.id) {
      case 1:
        header.num_values = value;
        has_num_values = true;
        return CheckNonNegative(reader, value, "num_values");
      case 2:
        header.encoding = static_cast<Encoding>(value);
        has_encoding = true;
        break;
      case 3:
        header.definition_level_encoding = static_cast<Encoding>(value);
        break;
      case 4:
        header.repetition_level_encoding = static_cast<Encoding>(value);
        break;
    }
    return absl::OkStatus();
  }));
  if (!has_num_values) return Missing(reader, "DataPageHeader.num_values");
  if (!has_encoding) return Missing(reader, "DataPageHeader.encoding");
  return header;
}

absl::StatusOr<DictionaryPageHeader> ReadDictionaryPageHeader(CompactReader& reader) {
  DictionaryPageHeader header;
  bool has_num_values = false, has_encoding = false;
  constexpr std::string_view kWhere = "DictionaryPageHeader";
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1: {
        PREDSTORE_ASSIGN_OR_RETURN(header.num_values, ReadI32Field(reader, field, kWhere));
        has_num_values = true;
        return CheckNonNegative(reader, header.num_values, "num_values");
      }
      case 2: {
        PREDSTORE_ASSIGN_OR_RETURN(int32_t encoding, ReadI32Field(reader, field, kWhere));
        header.encoding = static_cast<Encoding>(encoding);
        has_encoding = true;
        return absl::OkStatus();
      }
      default:
        return reader.Skip(field.type);
    }
  }));
  if (!has_num_values) return Missing(reader, "DictionaryPageHeader.num_values");
  if (!has_encoding) return Missing(reader, "DictionaryPageHeader.encoding");
  return header;
}

absl::StatusOr<DataPageHeaderV2> ReadDataPageHeaderV2(CompactReader& reader) {
  DataPageHeaderV2 header;
  bool has[7] = {};
  constexpr std::string_view kWhere = "DataPageHeaderV2";
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    if (field.id == 7) {
      PREDSTORE_ASSIGN_OR_RETURN(header.is_compressed, ReadBoolField(reader, field, kWhere));
      return absl::OkStatus();
    }
    if (field.id < 1 || field.id > 6) return reader.Skip(field.type);
    PREDSTORE_ASSIGN_OR_RETURN(int32_t value, ReadI32Field(reader, field, kWhere));
    has[field.id] = true;
    switch (field.id) {
      case 1:
        header.num_values = value;
        return CheckNonNegative(reader, value, "num_values");
      case 2:
        header.num_nulls = value;
        return CheckNonNegative(reader, value, "num_nulls");
      case 3:
        header.num_rows = value;
        return CheckNonNegative(reader, value, "num_rows");
      case 4:
        header.encoding = static_cast<Encoding>(value);
        return absl::OkStatus();
      case 5:
        header.definition_levels_byte_length = value;
        return CheckNonNegative(reader, value, "definition_levels_byte_length");
      case 6:
        header.repetition_levels_byte_length = value;
        return CheckNonNegative(reader, value, "repetition_levels_byte_length");
    }
    return absl::OkStatus();
  }));
  static constexpr std::string_view kNames[] = {
      "",
      "num_values",
      "num_nulls",
      "num_rows",
      "encoding",
      "definition_levels_byte_length",
      "repetition_levels_byte_length",
  };
  for (int id = 1; id <= 6; ++id) {
    if (!has[id]) return Missing(reader, StrCat(kWhere, ".", kNames[id]));
  }
  return header;
}

}  // namespace

std::string PhysicalTypeName(PhysicalType type) {
  switch (type) {
    case PhysicalType::kBoolean:
      return "BOOLEAN";
    case PhysicalType::kInt32:
      return "INT32";
    case PhysicalType::kInt64:
      return "INT64";
    case PhysicalType::kInt96:
      return "INT96";
    case PhysicalType::kFloat:
      return "FLOAT";
    case PhysicalType::kDouble:
      return "DOUBLE";
    case PhysicalType::kByteArray:
      return "BYTE_ARRAY";
    case PhysicalType::kFixedLenByteArray:
      return "FIXED_LEN_BYTE_ARRAY";
  }
  return StrCat("code ", static_cast<int32_t>(type));
}

std::string EncodingName(Encoding encoding) {
  switch (encoding) {
    case Encoding::kPlain:
      return "PLAIN";
    case Encoding::kPlainDictionary:
      return "PLAIN_DICTIONARY";
    case Encoding::kRle:
      return "RLE";
    case Encoding::kBitPacked:
      return "BIT_PACKED";
    case Encoding::kDeltaBinaryPacked:
      return "DELTA_BINARY_PACKED";
    case Encoding::kDeltaLengthByteArray:
      return "DELTA_LENGTH_BYTE_ARRAY";
    case Encoding::kDeltaByteArray:
      return "DELTA_BYTE_ARRAY";
    case Encoding::kRleDictionary:
      return "RLE_DICTIONARY";
    case Encoding::kByteStreamSplit:
      return "BYTE_STREAM_SPLIT";
  }
  // Not in our enum but named by parquet.thrift.
  if (static_cast<int32_t>(encoding) == 10) return "ALP";
  return StrCat("code ", static_cast<int32_t>(encoding));
}

std::string CodecName(Codec codec) {
  switch (codec) {
    case Codec::kUncompressed:
      return "UNCOMPRESSED";
    case Codec::kSnappy:
      return "SNAPPY";
    case Codec::kGzip:
      return "GZIP";
    case Codec::kLzo:
      return "LZO";
    case Codec::kBrotli:
      return "BROTLI";
    case Codec::kLz4:
      return "LZ4";
    case Codec::kZstd:
      return "ZSTD";
    case Codec::kLz4Raw:
      return "LZ4_RAW";
  }
  return StrCat("code ", static_cast<int32_t>(codec));
}

absl::StatusOr<FileMetaData> DecodeFileMetaData(std::span<const uint8_t> bytes) {
  CompactReader reader(bytes);
  FileMetaData metadata;
  bool has_version = false, has_schema = false, has_num_rows = false, has_row_groups = false;
  constexpr std::string_view kWhere = "FileMetaData";
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1: {
        PREDSTORE_ASSIGN_OR_RETURN(metadata.version, ReadI32Field(reader, field, kWhere));
        has_version = true;
        return absl::OkStatus();
      }
      case 2: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kList, kWhere));
        has_schema = true;
        metadata.schema.clear();
        return reader.ReadList(CompactType::kStruct, [&]() -> absl::Status {
          if (metadata.schema.empty()) metadata.schema.reserve(std::min(reader.remaining(), kMaxReserve));
          PREDSTORE_ASSIGN_OR_RETURN(SchemaElement element, ReadSchemaElement(reader));
          metadata.schema.push_back(std::move(element));
          return absl::OkStatus();
        });
      }
      case 3: {
        PREDSTORE_ASSIGN_OR_RETURN(metadata.num_rows, ReadI64Field(reader, field, kWhere));
        has_num_rows = true;
        return CheckNonNegative(reader, metadata.num_rows, "num_rows");
      }
      case 4: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kList, kWhere));
        has_row_groups = true;
        metadata.row_groups.clear();
        return reader.ReadList(CompactType::kStruct, [&]() -> absl::Status {
          PREDSTORE_ASSIGN_OR_RETURN(RowGroup row_group, ReadRowGroup(reader));
          metadata.row_groups.push_back(std::move(row_group));
          return absl::OkStatus();
        });
      }
      case 6: {
        PREDSTORE_ASSIGN_OR_RETURN(metadata.created_by, ReadStringField(reader, field, kWhere));
        return absl::OkStatus();
      }
      case 8:
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kStruct, kWhere));
        metadata.encrypted = true;
        return reader.Skip(field.type);
      default:
        return reader.Skip(field.type);
    }
  }));
  if (!has_version) return Missing(reader, "FileMetaData.version");
  if (!has_schema) return Missing(reader, "FileMetaData.schema");
  if (!has_num_rows) return Missing(reader, "FileMetaData.num_rows");
  if (!has_row_groups) return Missing(reader, "FileMetaData.row_groups");
  return metadata;
}

absl::StatusOr<PageHeader> DecodePageHeader(std::span<const uint8_t> bytes, size_t* header_size) {
  CompactReader reader(bytes);
  PageHeader header;
  bool has_type = false, has_uncompressed = false, has_compressed = false;
  constexpr std::string_view kWhere = "PageHeader";
  PREDSTORE_RETURN_IF_ERROR(reader.ReadStruct([&](const FieldHeader& field) -> absl::Status {
    switch (field.id) {
      case 1: {
        PREDSTORE_ASSIGN_OR_RETURN(int32_t type, ReadI32Field(reader, field, kWhere));
        header.type = static_cast<PageType>(type);
        has_type = true;
        return absl::OkStatus();
      }
      case 2: {
        PREDSTORE_ASSIGN_OR_RETURN(header.uncompressed_page_size, ReadI32Field(reader, field, kWhere));
        has_uncompressed = true;
        return CheckNonNegative(reader, header.uncompressed_page_size, "uncompressed_page_size");
      }
      case 3: {
        PREDSTORE_ASSIGN_OR_RETURN(header.compressed_page_size, ReadI32Field(reader, field, kWhere));
        has_compressed = true;
        return CheckNonNegative(reader, header.compressed_page_size, "compressed_page_size");
      }
      case 4: {
        PREDSTORE_ASSIGN_OR_RETURN(int32_t crc, ReadI32Field(reader, field, kWhere));
        header.crc = static_cast<uint32_t>(crc);
        return absl::OkStatus();
      }
      case 5: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kStruct, kWhere));
        PREDSTORE_ASSIGN_OR_RETURN(header.data_page, ReadDataPageHeader(reader));
        return absl::OkStatus();
      }
      case 7: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kStruct, kWhere));
        PREDSTORE_ASSIGN_OR_RETURN(header.dictionary_page, ReadDictionaryPageHeader(reader));
        return absl::OkStatus();
      }
      case 8: {
        PREDSTORE_RETURN_IF_ERROR(CheckType(reader, field, CompactType::kStruct, kWhere));
        PREDSTORE_ASSIGN_OR_RETURN(header.data_page_v2, ReadDataPageHeaderV2(reader));
        return absl::OkStatus();
      }
      default:
        return reader.Skip(field.type);
    }
  }));
  if (!has_type) return Missing(reader, "PageHeader.type");
  if (!has_uncompressed) return Missing(reader, "PageHeader.uncompressed_page_size");
  if (!has_compressed) return Missing(reader, "PageHeader.compressed_page_size");
  switch (header.type) {
    case PageType::kDataPage:
      if (!header.data_page.has_value()) return Missing(reader, "data_page_header");
      break;
    case PageType::kDictionaryPage:
      if (!header.dictionary_page.has_value()) return Missing(reader, "dictionary_page_header");
      break;
    case PageType::kDataPageV2:
      if (!header.data_page_v2.has_value()) return Missing(reader, "data_page_header_v2");
      break;
    default:
      break;
  }
  if (header_size != nullptr) *header_size = reader.position();
  return header;
}

}  // namespace predstore::parquet
