#include "core/serve/mlflow_protocol.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/base/json_text.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "simdjson.h"

namespace predstore {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr std::string_view kFormats =
    "The input must be a JSON dictionary with exactly one of the input fields {dataframe_split, dataframe_records, "
    "instances, inputs}";

// The list or object `value` holds (REQUIRES: value is one): a local copy,
// since iterating a temporary simdjson_result's value would dangle.
array ArrayOf(element value) {
  array out;
  [[maybe_unused]] const simdjson::error_code error = value.get_array().get(out);
  return out;
}
object ObjectOf(element value) {
  object out;
  [[maybe_unused]] const simdjson::error_code error = value.get_object().get(out);
  return out;
}

absl::Status Invalid(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(where, ": ", what));
}

// Gathers rows of named (or positional) values into an MlflowInput: columns
// appear in first-seen order, and a row lacking a column has a missing value.
class RowsBuilder {
 public:
  explicit RowsBuilder(MlflowInput* input) : input_(input) {}

  // The column named `name`, added on first sight; `added` says whether it
  // was new.
  size_t Column(std::string_view name, bool* added = nullptr) {
    auto it = columns_.find(ToAbsl(name));
    if (added != nullptr) *added = it == columns_.end();
    if (it != columns_.end()) return it->second;
    const std::string_view kept = Keep(name);
    names_.push_back(kept);
    columns_.emplace(ToAbsl(kept), names_.size() - 1);
    return names_.size() - 1;
  }
  // Positional columns "0", "1", ...: the model binds them by position.
  void EnsurePositional(size_t width) {
    while (names_.size() < width) Column(std::to_string(names_.size()));
  }
  size_t AddRow() {
    cells_.emplace_back();
    return cells_.size() - 1;
  }
  void Set(size_t row, size_t column, std::optional<CellView> value) {
    std::vector<std::optional<CellView>>& cells = cells_[row];
    if (cells.size() <= column) cells.resize(column + 1);
    cells[column] = value;
  }
  // Keeps `text` for the input's lifetime and returns a view of the copy.
  std::string_view Keep(std::string_view text) { return input_->text->emplace_back(text); }

  void Finish() {
    FeatureRows& rows = input_->rows;
    rows.names = names_;
    rows.rows = cells_.size();
    rows.values.assign(rows.rows * names_.size(), std::nullopt);
    for (size_t r = 0; r < cells_.size(); ++r) {
      std::copy(cells_[r].begin(), cells_[r].end(), rows.values.begin() + static_cast<ptrdiff_t>(r * names_.size()));
    }
  }

 private:
  MlflowInput* input_;
  std::vector<std::string_view> names_;
  absl::flat_hash_map<absl::string_view, size_t> columns_;
  std::vector<std::vector<std::optional<CellView>>> cells_;
};

// One JSON scalar as a feature value: numbers as they are, booleans as 1/0,
// null as missing, text kept for scoring to refuse.
absl::StatusOr<std::optional<CellView>> ValueOf(element value, std::string_view where, RowsBuilder& builder) {
  switch (value.type()) {
    case element_type::INT64: return std::optional<CellView>(CellView(int64_t{value.get_int64().value_unsafe()}));
    case element_type::UINT64: return std::optional<CellView>(CellView(uint64_t{value.get_uint64().value_unsafe()}));
    case element_type::DOUBLE: return std::optional<CellView>(CellView(double{value.get_double().value_unsafe()}));
    case element_type::BOOL:
      return std::optional<CellView>(CellView(int64_t{value.get_bool().value_unsafe() ? 1 : 0}));
    case element_type::NULL_VALUE: return std::optional<CellView>();
    case element_type::STRING:
      return std::optional<CellView>(CellView(builder.Keep(value.get_string().value_unsafe())));
    default: return Invalid(where, "is a nested list or object; features are single values");
  }
}

absl::Status SetValue(element value, std::string_view where, size_t row, size_t column, RowsBuilder& builder) {
  PREDSTORE_ASSIGN_OR_RETURN(std::optional<CellView> cell, ValueOf(value, where, builder));
  builder.Set(row, column, cell);
  return absl::OkStatus();
}

// A list of rows: all objects (by name), all lists (by position) or all
// single values (a one-input model).
absl::Status AddRowList(array rows, std::string_view where, MlflowInput& input, RowsBuilder& builder) {
  if (rows.size() == 0) return Invalid(where, "has no rows");
  element first;
  const bool records = rows.at(0).get(first) == simdjson::SUCCESS && first.type() == element_type::OBJECT;
  input.binding = records ? FeatureBinding::kByNameIgnoringUnknown : FeatureBinding::kByPosition;
  for (element row : rows) {
    const size_t r = builder.AddRow();
    const std::string place = StrCat(where, "[", r, "]");
    if ((row.type() == element_type::OBJECT) != records) {
      return Invalid(place, "mixes rows given by column name with rows given by position");
    }
    if (records) {
      for (auto [key, value] : ObjectOf(row)) {
        PREDSTORE_RETURN_IF_ERROR(SetValue(value, StrCat(place, ".", key), r, builder.Column(key), builder));
      }
    } else if (row.type() == element_type::ARRAY) {
      const array values = ArrayOf(row);
      builder.EnsurePositional(values.size());
      size_t i = 0;
      for (element value : values) {
        PREDSTORE_RETURN_IF_ERROR(SetValue(value, StrCat(place, "[", i, "]"), r, i, builder));
        ++i;
      }
    } else {
      builder.EnsurePositional(1);
      PREDSTORE_RETURN_IF_ERROR(SetValue(row, place, r, 0, builder));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseSplit(element split, MlflowInput& input, RowsBuilder& builder) {
  object fields;
  if (split.get_object().get(fields) != simdjson::SUCCESS) return Invalid("dataframe_split", "is not an object");
  std::optional<array> columns;
  std::optional<array> data;
  for (auto [key, value] : fields) {
    if (key != "columns" && key != "data" && key != "index") {
      return Invalid("dataframe_split", StrCat("has the unexpected key \"", key, "\" (it takes columns, data, index)"));
    }
    array list;
    if (value.get_array().get(list) != simdjson::SUCCESS) {
      return Invalid(StrCat("dataframe_split.", key), "is not a list");
    }
    if (key == "columns") columns = list;
    if (key == "data") data = list;
  }
  if (!data) return Invalid("dataframe_split", "has no \"data\"");
  if (!columns) return AddRowList(*data, "dataframe_split.data", input, builder);
  std::vector<size_t> slots;
  for (element name : *columns) {
    const std::string place = StrCat("dataframe_split.columns[", slots.size(), "]");
    std::string_view text;
    if (name.get_string().get(text) != simdjson::SUCCESS) return Invalid(place, "is not a column name");
    bool added = false;
    slots.push_back(builder.Column(text, &added));
    if (!added) return Invalid(place, StrCat("names \"", text, "\" a second time"));
  }
  if (data->size() == 0) return Invalid("dataframe_split.data", "has no rows");
  for (element row : *data) {
    const size_t r = builder.AddRow();
    const std::string place = StrCat("dataframe_split.data[", r, "]");
    array values;
    if (row.get_array().get(values) != simdjson::SUCCESS) return Invalid(place, "is not a list");
    if (values.size() != slots.size()) {
      return Invalid(place, StrCat("has ", values.size(), " values but columns names ", slots.size()));
    }
    size_t i = 0;
    for (element value : values) {
      PREDSTORE_RETURN_IF_ERROR(SetValue(value, StrCat(place, "[", i, "]"), r, slots[i], builder));
      ++i;
    }
  }
  return absl::OkStatus();
}

// "inputs" as {"column": [values...], ...} (every list the same length) or
// {"column": value, ...} (one row).
absl::Status ParseColumns(object columns, RowsBuilder& builder) {
  std::optional<size_t> length;
  std::optional<bool> lists;
  for (auto [key, value] : columns) {
    const bool is_list = value.type() == element_type::ARRAY;
    if (lists && *lists != is_list) return Invalid(StrCat("inputs.", key), "mixes lists of values with single values");
    lists = is_list;
    const size_t size = is_list ? ArrayOf(value).size() : 1;
    if (length && *length != size) {
      return Invalid(StrCat("inputs.", key), StrCat("has ", size, " values but the column before it ", *length));
    }
    length = size;
  }
  if (!length || *length == 0) return Invalid("inputs", "has no rows");
  for (size_t r = 0; r < *length; ++r) builder.AddRow();
  for (auto [key, value] : columns) {
    const size_t column = builder.Column(key);
    if (!*lists) {
      PREDSTORE_RETURN_IF_ERROR(SetValue(value, StrCat("inputs.", key), 0, column, builder));
      continue;
    }
    size_t r = 0;
    for (element item : ArrayOf(value)) {
      PREDSTORE_RETURN_IF_ERROR(SetValue(item, StrCat("inputs.", key, "[", r, "]"), r, column, builder));
      ++r;
    }
  }
  return absl::OkStatus();
}

// `body` with the literal NaN, which Python's json module writes for a float
// NaN (and so MLflow's clients send), as null: the same missing value.
// Infinity and -Infinity are refused. Views `body` when it has neither.
absl::StatusOr<std::string_view> WithoutNonFiniteLiterals(std::string_view body, std::string* rewritten) {
  if (body.find("NaN") == std::string_view::npos && body.find("Infinity") == std::string_view::npos) return body;
  rewritten->reserve(body.size() + body.size() / 8);
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\' && i + 1 < body.size()) {
        rewritten->push_back(c);
        rewritten->push_back(body[++i]);
        continue;
      }
      in_string = c != '"';
    } else if (c == '"') {
      in_string = true;
    } else if (body.substr(i).starts_with("NaN")) {
      rewritten->append("null");
      i += 2;
      continue;
    } else if (body.substr(i).starts_with("Infinity") || body.substr(i).starts_with("-Infinity")) {
      return absl::InvalidArgumentError(StrCat("byte ", i + 1, ": Infinity is not a feature value predstore takes"));
    }
    rewritten->push_back(c);
  }
  return std::string_view(*rewritten);
}

// pandas.read_csv's default NA texts.
bool IsPandasNa(std::string_view text) {
  static constexpr std::string_view kNa[] = {"",     "#N/A", "#N/A N/A", "#NA",    "-1.#IND", "-1.#QNAN", "-NaN",
                                             "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",     "NA",       "NULL",
                                             "NaN",  "None", "n/a",     "nan",    "null"};
  return std::find(std::begin(kNa), std::end(kNa), text) != std::end(kNa);
}

// A CSV field as pandas.read_csv types it: NA texts (quoted or not)
// missing, True/False 1/0, integers and decimals as numbers, anything else
// text.
std::optional<CellView> CsvValue(std::string_view text, RowsBuilder& builder) {
  if (IsPandasNa(text)) return std::nullopt;
  if (text == "True" || text == "TRUE" || text == "true") return CellView(int64_t{1});
  if (text == "False" || text == "FALSE" || text == "false") return CellView(int64_t{0});
  const char* end = text.data() + text.size();
  int64_t integer = 0;
  if (auto [at, error] = std::from_chars(text.data(), end, integer); error == std::errc() && at == end) {
    return CellView(integer);
  }
  double real = 0;
  const bool plus = !text.empty() && text.front() == '+';  // from_chars takes no '+'
  if (auto [at, error] = std::from_chars(text.data() + plus, end, real); error == std::errc() && at == end) {
    return CellView(real);
  }
  return CellView(builder.Keep(text));
}

// Splits CSV `body` into records of fields (RFC 4180 quoting; CRLF or LF;
// the last line may lack its newline; blank lines skipped). Calls
// on_record(line, fields) per record.
template <typename OnRecord>
absl::Status SplitCsv(std::string_view body, OnRecord&& on_record) {
  std::vector<std::string> fields;
  size_t at = 0;
  uint64_t line = 1;
  while (at < body.size()) {
    const uint64_t record_line = line;
    fields.clear();
    if (body[at] == '\n' || (body[at] == '\r' && at + 1 < body.size() && body[at + 1] == '\n')) {
      at += body[at] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    for (bool more = true; more;) {
      std::string& field = fields.emplace_back();
      if (at < body.size() && body[at] == '"') {
        for (++at;; ++at) {
          if (at >= body.size()) return Invalid(StrCat("CSV line ", record_line), "has an unterminated quoted field");
          if (body[at] == '"') {
            if (at + 1 < body.size() && body[at + 1] == '"') {
              field.push_back('"');
              ++at;
              continue;
            }
            ++at;
            break;
          }
          if (body[at] == '\n') ++line;
          field.push_back(body[at]);
        }
      }
      while (at < body.size() && body[at] != ',' && body[at] != '\n' && body[at] != '\r') field.push_back(body[at++]);
      if (at < body.size() && body[at] == '\r') ++at;
      more = at < body.size() && body[at] == ',';
      if (at < body.size()) ++at;
    }
    ++line;
    PREDSTORE_RETURN_IF_ERROR(on_record(record_line, fields));
  }
  return absl::OkStatus();
}

// The MLflow error code of a status's kind (mlflow/protos/databricks.proto).
std::string_view ErrorCodeOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return "BAD_REQUEST";
    case absl::StatusCode::kNotFound: return "RESOURCE_DOES_NOT_EXIST";
    case absl::StatusCode::kFailedPrecondition: return "INVALID_STATE";
    case absl::StatusCode::kResourceExhausted: return "REQUEST_LIMIT_EXCEEDED";
    case absl::StatusCode::kUnavailable: return "TEMPORARILY_UNAVAILABLE";
    case absl::StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
    case absl::StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case absl::StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case absl::StatusCode::kCancelled: return "CANCELLED";
    default: return "INTERNAL_ERROR";
  }
}

}  // namespace

absl::StatusOr<MlflowInput> ParseMlflowJson(std::string_view body) {
  MlflowInput input;
  RowsBuilder builder(&input);
  std::string rewritten;
  PREDSTORE_ASSIGN_OR_RETURN(const std::string_view json, WithoutNonFiniteLiterals(body, &rewritten));
  simdjson::dom::parser parser;
  element document;
  if (auto error = parser.parse(json.data(), json.size()).get(document); error != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(StrCat("Ensure that input is a valid JSON formatted string: ",
                                             simdjson::error_message(error)));
  }
  object top;
  if (document.get_object().get(top) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        StrCat(kFormats, ". Received ", document.is_array() ? "a list" : "a single value"));
  }
  std::optional<std::pair<std::string_view, element>> format;
  for (auto [key, value] : top) {
    if (key == "dataframe_split" || key == "dataframe_records" || key == "instances" || key == "inputs") {
      if (format) return absl::InvalidArgumentError(StrCat(kFormats, ". Received both ", format->first, " and ", key));
      format.emplace(key, value);
    } else if (key == "params") {
      object params;
      if (value.get_object().get(params) != simdjson::SUCCESS) return Invalid("params", "is not a JSON object");
      for (auto [name, param] : params) input.params.emplace_back(name, simdjson::minify(param));
    }
  }
  if (!format) return absl::InvalidArgumentError(StrCat(kFormats, ". Received none of them"));
  const auto [name, value] = *format;
  if (name == "dataframe_split") {
    PREDSTORE_RETURN_IF_ERROR(ParseSplit(value, input, builder));
  } else if (value.type() == element_type::ARRAY) {
    const array rows = ArrayOf(value);
    element first;
    if (name == "dataframe_records" && rows.at(0).get(first) == simdjson::SUCCESS &&
        first.type() != element_type::OBJECT) {
      return Invalid("dataframe_records[0]", "is not an object of column values");
    }
    PREDSTORE_RETURN_IF_ERROR(AddRowList(rows, name, input, builder));
  } else if (name == "inputs" && value.type() == element_type::OBJECT) {
    PREDSTORE_RETURN_IF_ERROR(ParseColumns(ObjectOf(value), builder));
  } else {
    return Invalid(name, name == "inputs" ? "is neither a list of rows nor an object of columns" : "is not a list");
  }
  builder.Finish();
  return input;
}

absl::StatusOr<MlflowInput> ParseMlflowCsv(std::string_view body) {
  MlflowInput input;
  RowsBuilder builder(&input);
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);  // byte order mark
  std::vector<size_t> slots;
  size_t rows = 0;
  PREDSTORE_RETURN_IF_ERROR(SplitCsv(body, [&](uint64_t line, const std::vector<std::string>& fields) -> absl::Status {
    if (slots.empty()) {
      for (const std::string& name : fields) {
        bool added = false;
        slots.push_back(builder.Column(name, &added));
        if (!added) return Invalid(StrCat("CSV line ", line), StrCat("names the column \"", name, "\" twice"));
      }
      return absl::OkStatus();
    }
    if (fields.size() > slots.size()) {
      return Invalid(StrCat("CSV line ", line), StrCat("has ", fields.size(), " fields but the header ", slots.size()));
    }
    const size_t r = builder.AddRow();
    ++rows;
    for (size_t i = 0; i < fields.size(); ++i) builder.Set(r, slots[i], CsvValue(fields[i], builder));
    return absl::OkStatus();
  }));
  if (slots.empty()) return absl::InvalidArgumentError("the CSV body is empty: it needs a header row and rows");
  if (rows == 0) return absl::InvalidArgumentError("the CSV body has a header but no rows");
  builder.Finish();
  return input;
}

void AppendPythonFloat(std::string* out, double value) {
  if (std::isnan(value)) return out->append("NaN"), void();
  if (std::isinf(value)) return out->append(value > 0 ? "Infinity" : "-Infinity"), void();
  char buffer[32];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string_view text(buffer, end - buffer);  // [-]d[.ddd]e(+|-)dd
  if (text.front() == '-') {
    out->push_back('-');
    text.remove_prefix(1);
  }
  const size_t e = text.find('e');
  std::string digits(text.substr(0, e));
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  int exponent = 0;
  std::from_chars(text.data() + e + 1 + (text[e + 1] == '+'), text.data() + text.size(), exponent);
  const int point = exponent + 1;  // digits are 0.ddd x 10^point
  const int count = static_cast<int>(digits.size());
  if (point > -4 && point <= 16) {
    if (point <= 0) {
      out->append("0.").append(static_cast<size_t>(-point), '0').append(digits);
    } else if (point >= count) {
      out->append(digits).append(static_cast<size_t>(point - count), '0').append(".0");
    } else {
      out->append(digits, 0, static_cast<size_t>(point)).append(".").append(digits, static_cast<size_t>(point));
    }
    return;
  }
  out->push_back(digits[0]);
  if (count > 1) out->append(".").append(digits, 1);
  const int magnitude = exponent < 0 ? -exponent : exponent;
  StrAppend(out, exponent < 0 ? "e-" : "e+", magnitude < 10 ? "0" : "", magnitude);
}

std::string MlflowPredictionsJson(const PredictAnswer& answer) {
  std::string out = "{\"predictions\": [";
  const size_t per_row = answer.outputs_per_row;
  for (size_t at = 0; at < answer.outputs.size(); at += per_row) {
    if (at > 0) out.append(", ");
    if (per_row > 1) out.push_back('[');
    for (size_t j = 0; j < per_row; ++j) {
      if (j > 0) out.append(", ");
      const float value = answer.outputs[at + j];
      if (answer.output == OutputKind::kLabel) {
        StrAppend(&out, static_cast<int64_t>(value));
      } else {
        AppendPythonFloat(&out, value);
      }
    }
    if (per_row > 1) out.push_back(']');
  }
  out.append("]}");
  return out;
}

std::string MlflowErrorJson(const absl::Status& status) {
  std::string out = StrCat("{\"error_code\": \"", ErrorCodeOf(status.code()), "\", \"message\": \"");
  AppendJsonEscaped(&out, FromAbsl(status.message()));
  out.append("\"}");
  return out;
}

}  // namespace predstore
