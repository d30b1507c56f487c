#include "core/ingest/record_reader.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "core/base/mapped_file.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/ingest/parquet_reader.h"
#include "simdjson.h"

namespace predstore {
namespace {

// kInvalidArgument "path:line:column: message".
absl::Status PositionError(std::string_view path, uint64_t line, uint64_t column, std::string_view message) {
  return absl::InvalidArgumentError(StrCat(path, ":", line, ":", column, ": ", message));
}

// Position of the first invalid UTF-8 sequence in [begin, end), or end.
const char* FindInvalidUtf8(const char* begin, const char* end) {
  const auto* p = reinterpret_cast<const unsigned char*>(begin);
  const auto* e = reinterpret_cast<const unsigned char*>(end);
  while (p < e) {
    unsigned char c = *p;
    int length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || e - p < length) return reinterpret_cast<const char*>(p);
    for (int i = 1; i < length; ++i) {
      if ((p[i] & 0xC0) != 0x80) return reinterpret_cast<const char*>(p);
    }
    if (length > 1 && !simdjson::validate_utf8(reinterpret_cast<const char*>(p), length)) {
      return reinterpret_cast<const char*>(p);  // overlong, surrogate or > U+10FFFF
    }
    p += length;
  }
  return end;
}

// Checks the whole-file rules shared by both formats.
absl::Status CheckFileShape(const std::string& path, const MappedFile& file) {
  if (file.size() == 0) return absl::InvalidArgumentError(StrCat(path, ":1:1: empty file"));
  if (!simdjson::validate_utf8(file.data(), file.size())) {
    const char* bad = FindInvalidUtf8(file.data(), file.end());
    uint64_t line = 1;
    const char* line_start = file.data();
    for (const char* p = file.data(); p < bad; ++p) {
      if (*p == '\n') {
        ++line;
        line_start = p + 1;
      }
    }
    return absl::InvalidArgumentError(
        StrCat(path, ":", line, ":", bad - line_start + 1, ": invalid UTF-8 byte sequence"));
  }
  if (file.end()[-1] != '\n') {
    uint64_t line = 1 + std::count(file.data(), file.end(), '\n');
    const char* last = file.end();
    while (last > file.data() && last[-1] != '\n') --last;
    return absl::InvalidArgumentError(StrCat(path, ":", line, ":", file.end() - last + 1,
                                                   ": truncated last line (the file does not end with a newline)"));
  }
  return absl::OkStatus();
}

// What both readers share: the mapped file, the position, the current
// record's fields and start line, and errors that name path:line:column.
class MappedRecordReader : public RecordReader {
 public:
  std::span<const FieldText> fields() const override { return fields_; }
  uint64_t line() const override { return record_line_; }
  uint64_t bytes_read() const override { return pos_ - file_->data(); }
  uint64_t total_bytes() const override { return file_->size(); }
  std::vector<std::string> ignored_columns() const override { return ignored_; }

 protected:
  MappedRecordReader(std::string path, std::unique_ptr<MappedFile> file, const Schema& schema,
                     const ReadOptions& options)
      : RecordReader(std::move(path)),
        file_(std::move(file)),
        schema_(schema),
        pos_(file_->data()),
        ignore_extra_columns_(options.ignore_extra_columns),
        given_(schema.input_columns().size()),
        given_null_(schema.input_columns().size(), false) {
    // Copied: the fields' text points here for the reader's whole life,
    // while `options` may be a temporary. Names the schema lacks are
    // ignored, as the Parquet reader does.
    for (size_t slot = 0; slot < given_.size(); ++slot) {
      const std::string& name = schema.input_columns()[slot].name;
      auto entry = std::find_if(options.column_values.begin(), options.column_values.end(),
                                [&](const auto& e) { return e.first == name; });
      if (entry != options.column_values.end()) given_[slot] = entry->second.value_or("");
      if (entry != options.column_values.end() && !entry->second) given_null_[slot] = true;
    }
  }

  absl::Status Error(uint64_t line, uint64_t column, std::string_view message) const {
    return PositionError(path(), line, column, message);
  }

  // The field of a column the path gives, for the record at `line`.
  FieldText GivenField(size_t slot, uint64_t line) const {
    return FieldText{*given_[slot], !given_null_[slot], FieldText::Kind::kText, line, 0};
  }

  std::unique_ptr<MappedFile> file_;
  const Schema& schema_;
  const char* pos_;
  uint64_t record_line_ = 0;
  std::vector<FieldText> fields_;
  const bool ignore_extra_columns_;
  // Per schema input column: the text the file's path gives, if any, and
  // whether that is a null.
  std::vector<std::optional<std::string>> given_;
  std::vector<bool> given_null_;
  // File columns skipped (ignore_extra_columns).
  std::vector<std::string> ignored_;
};

class CsvReader final : public MappedRecordReader {
 public:
  CsvReader(std::string path, std::unique_ptr<MappedFile> file, const Schema& schema, const ReadOptions& options)
      : MappedRecordReader(std::move(path), std::move(file), schema, options) {
    line_start_ = pos_;
    if (file_->size() >= 3 && std::memcmp(pos_, "\xEF\xBB\xBF", 3) == 0) pos_ += 3;  // byte order mark
  }

  absl::Status ReadHeader() {
    std::vector<std::string> names;
    PREDSTORE_RETURN_IF_ERROR(ParseRecord([&](size_t, std::string_view text, uint64_t, uint32_t) {
      names.emplace_back(text);
      return absl::OkStatus();
    }));
    slot_of_field_.assign(names.size(), -1);
    std::vector<bool> seen(schema_.input_columns().size(), false);
    for (size_t i = 0; i < names.size(); ++i) {
      int slot = schema_.InputColumnIndex(names[i]);
      if (slot < 0) {
        if (ignore_extra_columns_) {  // slot_of_field_[i] stays -1: skipped
          ignored_.push_back(names[i]);
          continue;
        }
        return Error(1, FieldColumn(i), StrCat("unknown column \"", names[i], "\" in header (expected ",
                                                     ExpectedColumns(), ")"));
      }
      if (given_[slot]) {
        return Error(1, FieldColumn(i), StrCat("column \"", names[i], "\" is in the file and its path gives it too"));
      }
      if (seen[slot]) return Error(1, FieldColumn(i), StrCat("column \"", names[i], "\" appears twice in header"));
      seen[slot] = true;
      slot_of_field_[i] = slot;
    }
    fields_.assign(seen.size(), FieldText{});
    for (size_t slot = 0; slot < seen.size(); ++slot) {
      if (seen[slot]) continue;
      if (given_[slot]) {
        fields_[slot] = GivenField(slot, 0);  // the same text in every record
        continue;
      }
      if (!schema_.input_columns()[slot].nullable) {
        return Error(1, 1, StrCat("header lacks column \"", schema_.input_columns()[slot].name, "\" (expected ",
                                        ExpectedColumns(), ")"));
      }
      fields_[slot].column_absent = true;  // a nullable column: null in every record
    }
    scratch_.resize(names.size());
    if (pos_ == file_->end()) return Error(line_, 1, "no data rows after the header");
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Next() override {
    if (pos_ == file_->end()) return false;
    file_->ReleaseBefore(pos_);
    record_line_ = line_;
    size_t count = 0;
    PREDSTORE_RETURN_IF_ERROR(ParseRecord([&](size_t index, std::string_view text, uint64_t line, uint32_t column) {
      if (index >= slot_of_field_.size()) {
        return Error(line, column, StrCat("too many fields: the header has ", slot_of_field_.size()));
      }
      ++count;
      if (slot_of_field_[index] < 0) return absl::OkStatus();  // a column the table lacks
      FieldText& field = fields_[slot_of_field_[index]];
      field.text = text;
      field.present = !text.empty() || last_field_quoted_;
      field.line = line;
      field.column = column;
      return absl::OkStatus();
    }));
    if (count != slot_of_field_.size()) {
      return Error(record_line_, 1, StrCat("expected ", slot_of_field_.size(), " fields, found ", count));
    }
    for (size_t slot = 0; slot < given_.size(); ++slot) {
      if (given_[slot]) fields_[slot].line = record_line_;
    }
    return true;
  }

 private:
  uint32_t FieldColumn(size_t index) const {
    return index < header_field_columns_.size() ? header_field_columns_[index] : 1;
  }
  std::string ExpectedColumns() const {
    return absl::StrJoin(schema_.input_columns(), ", ",
                         [](std::string* out, const Column& c) { StrAppend(out, c.name); });
  }

  // Parses one record at pos_, calling emit(index, text, line, column) per
  // field. The file is known to end with '\n', so every scan terminates.
  template <typename Emit>
  absl::Status ParseRecord(Emit&& emit) {
    const char* p = pos_;
    const char* end = file_->end();
    bool header = slot_of_field_.empty();
    for (size_t index = 0;; ++index) {
      uint64_t field_line = line_;
      uint32_t column = static_cast<uint32_t>(p - line_start_ + 1);
      if (header) header_field_columns_.push_back(column);
      std::string_view text;
      last_field_quoted_ = (*p == '"');
      if (last_field_quoted_) {
        std::string* scratch = index < scratch_.size() ? &scratch_[index] : &header_scratch_;
        scratch->clear();
        bool escaped = false;
        const char* segment = ++p;
        for (;;) {
          const char* quote = static_cast<const char*>(std::memchr(p, '"', end - p));
          for (const char* q = p; q < (quote ? quote : end); ++q) {
            if (*q == '\n') {
              ++line_;
              line_start_ = q + 1;
            }
          }
          if (!quote) return Error(field_line, column, "unterminated quoted field");
          if (quote + 1 < end && quote[1] == '"') {
            scratch->append(segment, quote + 1);
            escaped = true;
            p = segment = quote + 2;
            continue;
          }
          if (escaped) {
            scratch->append(segment, quote);
            text = *scratch;
          } else {
            text = std::string_view(segment, quote - segment);
          }
          p = quote + 1;
          break;
        }
        if (*p != ',' && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
          return Error(line_, p - line_start_ + 1, "unexpected character after a closing quote");
        }
      } else {
        const char* start = p;
        while (*p != ',' && *p != '\n' && !(*p == '\r' && p[1] == '\n')) {
          if (*p == '"') return Error(line_, p - line_start_ + 1, "quote inside an unquoted field");
          ++p;
        }
        text = std::string_view(start, p - start);
      }
      PREDSTORE_RETURN_IF_ERROR(emit(index, text, field_line, column));
      if (*p == ',') {
        ++p;
        continue;
      }
      p += (*p == '\r') ? 2 : 1;
      ++line_;
      line_start_ = p;
      pos_ = p;
      return absl::OkStatus();
    }
  }

  const char* line_start_;
  uint64_t line_ = 1;
  bool last_field_quoted_ = false;
  std::vector<int> slot_of_field_;  // header position -> input column
  std::vector<uint32_t> header_field_columns_;
  std::vector<std::string> scratch_;  // unescaped quoted fields, per position
  std::string header_scratch_;
};

class JsonLinesReader final : public MappedRecordReader {
 public:
  JsonLinesReader(std::string path, std::unique_ptr<MappedFile> file, const Schema& schema,
                  const ReadOptions& options)
      : MappedRecordReader(std::move(path), std::move(file), schema, options) {
    fields_.resize(schema_.input_columns().size());
  }

  absl::StatusOr<bool> Next() override {
    if (pos_ == file_->end()) {
      if (line_ == 1) return absl::InvalidArgumentError(StrCat(path(), ": no data rows"));
      return false;
    }
    file_->ReleaseBefore(pos_);
    const char* line_start = pos_;
    const char* newline = static_cast<const char*>(std::memchr(pos_, '\n', file_->end() - pos_));
    const char* line_end = newline;
    if (line_end > line_start && line_end[-1] == '\r') --line_end;
    record_line_ = line_;
    pos_ = newline + 1;
    ++line_;
    size_t length = line_end - line_start;
    if (length == 0) return Error(record_line_, 1, "empty line (expected one JSON object)");

    const char* json = line_start;
    if (static_cast<size_t>(file_->end() - line_start) < length + simdjson::SIMDJSON_PADDING) {
      padded_.assign(line_start, length);
      padded_.resize(length + simdjson::SIMDJSON_PADDING, ' ');
      json = padded_.data();
    }
    auto column_of = [&](const char* at) -> uint32_t {
      return static_cast<uint32_t>(at - json + 1);
    };
    for (size_t slot = 0; slot < fields_.size(); ++slot) {
      fields_[slot] = given_[slot] ? GivenField(slot, record_line_)
                                   : FieldText{{}, false, FieldText::Kind::kText, record_line_, 1};
    }

    simdjson::ondemand::document doc;
    if (auto error = parser_.iterate(json, length, length + simdjson::SIMDJSON_PADDING).get(doc)) {
      return Error(record_line_, 1, StrCat("not valid JSON: ", simdjson::error_message(error)));
    }
    simdjson::ondemand::object object;
    if (auto error = doc.get_object().get(object)) {
      return Error(record_line_, 1, StrCat("expected a JSON object: ", simdjson::error_message(error)));
    }
    auto located_error = [&](simdjson::error_code error) {
      const char* at = nullptr;
      uint32_t column = doc.current_location().get(at) == simdjson::SUCCESS ? column_of(at) : 1;
      return Error(record_line_, column, StrCat("not valid JSON: ", simdjson::error_message(error)));
    };
    std::vector<bool>& seen = seen_;
    seen.assign(fields_.size(), false);
    for (auto member : object) {
      simdjson::ondemand::field field;
      if (auto error = std::move(member).get(field)) return located_error(error);
      std::string_view name;
      const char* key_at = field.key().raw();
      if (auto error = field.unescaped_key().get(name)) return located_error(error);
      simdjson::ondemand::value value = field.value();
      std::string_view token = value.raw_json_token();
      uint32_t column = column_of(token.data());
      int slot = schema_.InputColumnIndex(name);
      if (slot < 0) {
        if (ignore_extra_columns_) {  // simdjson skips the unread value
          if (std::find(ignored_.begin(), ignored_.end(), name) == ignored_.end()) ignored_.emplace_back(name);
          continue;
        }
        return Error(record_line_, key_at ? column_of(key_at - 1) : column,
                     StrCat("unknown field \"", name, "\""));
      }
      if (given_[slot]) {
        return Error(record_line_, key_at ? column_of(key_at - 1) : column,
                     StrCat("field \"", name, "\" is in the file and its path gives it too"));
      }
      if (seen[slot]) return Error(record_line_, column, StrCat("field \"", name, "\" appears twice"));
      seen[slot] = true;
      FieldText& out = fields_[slot];
      out.column = column;
      simdjson::ondemand::json_type type;
      if (auto error = value.type().get(type)) return located_error(error);
      switch (type) {
        case simdjson::ondemand::json_type::string: {
          std::string_view text;
          if (auto error = value.get_string().get(text)) return located_error(error);
          out = FieldText{text, true, FieldText::Kind::kJsonString, record_line_, column};
          break;
        }
        case simdjson::ondemand::json_type::number:
          out = FieldText{FromAbsl(absl::StripTrailingAsciiWhitespace(ToAbsl(token))), true, FieldText::Kind::kJsonNumber, record_line_,
                          column};
          break;
        case simdjson::ondemand::json_type::null:
          out.present = false;
          break;
        default:
          out = FieldText{FromAbsl(absl::StripTrailingAsciiWhitespace(ToAbsl(token))), true, FieldText::Kind::kJsonOther, record_line_,
                          column};
          if (type == simdjson::ondemand::json_type::object || type == simdjson::ondemand::json_type::array) {
            return Error(record_line_, column, StrCat("field \"", name, "\": nested objects and arrays are not supported"));
          }
      }
    }
    const char* trailing = nullptr;
    if (doc.current_location().get(trailing) == simdjson::SUCCESS && trailing < json + length) {
      return Error(record_line_, column_of(trailing), "trailing content after the JSON object");
    }
    return true;
  }

 private:

  uint64_t line_ = 1;
  simdjson::ondemand::parser parser_;
  std::string padded_;
  std::vector<bool> seen_;
};

}  // namespace

absl::StatusOr<InputFormat> ParseInputFormat(std::string_view name) {
  if (name == "csv") return InputFormat::kCsv;
  if (name == "jsonl" || name == "ndjson" || name == "json") return InputFormat::kJsonLines;
  if (name == "parquet") return InputFormat::kParquet;
  return absl::InvalidArgumentError(StrCat("unknown input format \"", name, "\" (expected csv, jsonl or parquet)"));
}

absl::StatusOr<InputFormat> InputFormatOfPath(const std::filesystem::path& path) {
  std::string extension = absl::AsciiStrToLower(path.extension().string());
  if (extension == ".csv") return InputFormat::kCsv;
  if (extension == ".jsonl" || extension == ".ndjson" || extension == ".json") return InputFormat::kJsonLines;
  if (extension == ".parquet") return InputFormat::kParquet;
  return absl::InvalidArgumentError(StrCat(path.string(), ": cannot tell the format from the extension \"",
                                           extension, "\"; name it .csv, .jsonl or .parquet, or pass --format"));
}

std::string FieldPosition(std::string_view path, const FieldText& field) {
  if (field.typed() || field.column == 0) return StrCat(path, ": row ", field.line);
  return StrCat(path, ":", field.line, ":", field.column);
}

absl::StatusOr<std::unique_ptr<RecordReader>> OpenRecordReader(const std::filesystem::path& path, InputFormat format,
                                                               const Schema& schema, const ReadOptions& options) {
  if (format == InputFormat::kParquet) return OpenParquetRecordReader(path, schema, options);
  PREDSTORE_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file, MappedFile::Open(path.string()));
  const std::string name = options.source_name.empty() ? path.string() : options.source_name;
  PREDSTORE_RETURN_IF_ERROR(CheckFileShape(name, *file));
  if (format == InputFormat::kCsv) {
    auto reader = std::make_unique<CsvReader>(name, std::move(file), schema, options);
    PREDSTORE_RETURN_IF_ERROR(reader->ReadHeader());
    return reader;
  }
  return std::make_unique<JsonLinesReader>(name, std::move(file), schema, options);
}

}  // namespace predstore
