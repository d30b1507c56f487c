#include "client/cli_commands.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/strip.h"

#include "client/stream_events.h"
#include "core/base/strings.h"
#include "nlohmann/json.hpp"
#include "proto/wire_values.h"

namespace predstore {
namespace {




absl::StatusOr<v1::Value> ValueFromText(const Column& column, std::string_view text) {
  auto cell = ParseCell(column.type, text);
  if (!cell.ok()) return absl::InvalidArgumentError(StrCat("column \"", column.name, "\": ", cell.status().message()));
  v1::Value value;
  CellToWire(ViewOf(*cell), &value);
  return value;
}

nlohmann::json ValueToJson(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kInt64Value: return value.int64_value();
    case v1::Value::kUint64Value: return value.uint64_value();
    case v1::Value::kDoubleValue: return value.double_value();
    case v1::Value::kFloatValue: return value.float_value();
    case v1::Value::kBoolValue: return value.bool_value();
    case v1::Value::KIND_NOT_SET: return nullptr;
    default: return WireValueToText(value);
  }
}

// Collects rows and prints them as JSON Lines or, at Flush, as a table.
class ResultPrinter {
 public:
  ResultPrinter(OutputFormat format, std::ostream& out) : format_(format), out_(out) {}

  // `found` unset (scans): no "found" column.
  // `source`: where a lookup answer came from ("" for a miss); unset for
  // scans, which have no source column.
  void Row(const std::vector<std::pair<std::string, v1::Value>>& key, std::optional<bool> found,
           const google::protobuf::RepeatedPtrField<std::string>& names,
           const google::protobuf::RepeatedPtrField<v1::Value>& values, uint64_t version,
           const std::optional<std::string>& source = std::nullopt) {
    if (format_ == OutputFormat::kJsonLines) {
      nlohmann::ordered_json json;
      for (const auto& [name, value] : key) json[name] = ValueToJson(value);
      if (found) json["found"] = *found;
      for (int i = 0; i < values.size() && i < names.size(); ++i) json[names[i]] = ValueToJson(values[i]);
      json["snapshot_version"] = version;
      if (source.has_value() && !source->empty()) json["source"] = *source;
      out_ << json.dump() << "\n";
      return;
    }
    if (header_.empty()) {
      for (const auto& [name, value] : key) header_.push_back(name);
      if (found) header_.push_back("found");
      for (const std::string& name : names) header_.push_back(name);
      header_.push_back("version");
      if (source.has_value()) header_.push_back("source");
    }
    std::vector<std::string> row;
    for (const auto& [name, value] : key) row.push_back(WireValueToText(value));
    if (found) row.push_back(*found ? "yes" : "no");
    for (int i = 0; i < names.size(); ++i) row.push_back(i < values.size() ? WireValueToText(values[i]) : "");
    row.push_back(StrCat(version));
    if (source.has_value()) row.push_back(*source);
    rows_.push_back(std::move(row));
  }

  void Flush() {
    if (format_ != OutputFormat::kTable || header_.empty()) return;
    PrintTable(header_, rows_, out_);
    rows_.clear();
  }

  static void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                         std::ostream& out) {
    std::vector<size_t> widths(header.size());
    for (size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
      for (size_t i = 0; i < cells.size(); ++i) {
        out << cells[i];
        if (i + 1 < cells.size()) out << std::string(widths[i] - cells[i].size() + 2, ' ');
      }
      out << "\n";
    };
    line(header);
    for (const auto& row : rows) line(row);
  }

 private:
  OutputFormat format_;
  std::ostream& out_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

std::string TimestampText(const google::protobuf::Timestamp& t) {
  return FormatCell(CellView(Timestamp{t.seconds() * 1000000 + t.nanos() / 1000}));
}

std::string SchemaText(const v1::TableSchema& schema) {
  auto list = [](const auto& columns) {
    std::string text;
    for (const v1::Column& c : columns) {
      auto type = ColumnTypeFromWire(c.type());
      StrAppend(&text, text.empty() ? "" : ", ", c.name(), ":", type.ok() ? ColumnTypeName(*type) : "?",
                c.nullable() ? "?" : "");
    }
    return text;
  };
  std::string text = StrCat(list(schema.key_columns()), " -> ", list(schema.value_columns()));
  if (schema.has_partition_column()) StrAppend(&text, " (partition ", schema.partition_column().name(), ")");
  return text;
}

// Splits a CSV line of plain (unquoted) fields.
std::vector<std::string> SplitPlainCsv(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!fields.empty() && !fields.back().empty() && fields.back().back() == '\r') fields.back().pop_back();
  return fields;
}

// "precomputed", "computed by <model> version <N>" or "stream event of <time>".
std::string SourceText(v1::Source source, const std::string& model_name, int64_t model_version,
                       int64_t event_time_micros) {
  if (source == v1::SOURCE_COMPUTED) return StrCat("computed by ", model_name, " version ", model_version);
  if (source == v1::SOURCE_STREAM) return StrCat("stream event of ", FormatCell(CellView(Timestamp{event_time_micros})));
  return "precomputed";
}

}  // namespace

absl::StatusOr<std::pair<std::string, v1::Value>> ParseFeatureAssignment(std::string_view assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(StrCat("feature \"", assignment, "\" must be written name=value"));
  }
  std::pair<std::string, v1::Value> feature{std::string(assignment.substr(0, eq)), v1::Value()};
  const std::string_view text = assignment.substr(eq + 1);
  if (text == "true" || text == "false") {
    feature.second.set_bool_value(text == "true");
  } else if (auto integer = ParseCell(ColumnType::kInt64, text); integer.ok()) {
    feature.second.set_int64_value(std::get<int64_t>(*integer));
  } else if (auto real = ParseCell(ColumnType::kDouble, text); real.ok()) {
    feature.second.set_double_value(std::get<double>(*real));
  } else {
    feature.second.set_string_value(std::string(text));  // the server names the type it expects
  }
  return feature;
}

absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view name) {
  if (name == "jsonl") return OutputFormat::kJsonLines;
  if (name == "table") return OutputFormat::kTable;
  return absl::InvalidArgumentError(StrCat("unknown output format \"", name, "\" (expected jsonl or table)"));
}

absl::Status ListTablesCommand(const PredstoreClient& client, OutputFormat format, std::ostream& out) {
  auto tables = client.ListTables();
  if (!tables.ok()) return tables.status();
  std::vector<std::vector<std::string>> rows;
  for (const v1::TableInfo& t : tables->tables()) {
    std::string kept;
    for (const v1::SnapshotInfo& v : t.versions()) StrAppend(&kept, kept.empty() ? "" : ",", v.version());
    // A sharded table: the shard this server holds, of how many.
    const std::string shard =
        t.shards().count() > 0 ? StrCat(t.shards().served_shard(), "/", t.shards().count()) : std::string("-");
    if (format == OutputFormat::kJsonLines) {
      nlohmann::ordered_json json = {{"table", t.name()},
                                     {"active_version", t.active_version()},
                                     {"rows", t.row_count()},
                                     {"loaded_at", TimestampText(t.loaded_at())},
                                     {"kept_versions", kept},
                                     {"schema", SchemaText(t.schema())}};
      if (t.shards().count() > 0) json["shard"] = shard;
      out << json.dump() << "\n";
    } else {
      rows.push_back({t.name(), StrCat(t.active_version()), StrCat(t.row_count()), TimestampText(t.loaded_at()), kept,
                      shard, SchemaText(t.schema())});
    }
  }
  if (format == OutputFormat::kTable) {
    ResultPrinter::PrintTable({"table", "version", "rows", "loaded_at", "kept", "shard", "schema"}, rows, out);
  }
  return absl::OkStatus();
}

absl::Status PartitionsCommand(const PredstoreClient& client, const std::string& table, OutputFormat format,
                               std::ostream& out) {
  auto info = client.GetTable(table);
  if (!info.ok()) return info.status();
  if (!info->schema().has_partition_column()) {
    return absl::FailedPreconditionError(StrCat("table \"", table, "\" is not partitioned"));
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::PartitionInfo& p : info->partitions()) {
    if (format == OutputFormat::kJsonLines) {
      nlohmann::ordered_json json = {{info->schema().partition_column().name(), p.value()},
                                     {"rows", p.row_count()},
                                     {"written_by_version", p.version()},
                                     {"active_version", info->active_version()}};
      out << json.dump() << "\n";
    } else {
      rows.push_back({p.value(), StrCat(p.row_count()), StrCat(p.version())});
    }
  }
  if (format == OutputFormat::kTable) {
    ResultPrinter::PrintTable({info->schema().partition_column().name(), "rows", "written_by_version"}, rows, out);
  }
  return absl::OkStatus();
}

absl::Status LookupCommand(const PredstoreClient& client, const std::string& table,
                           const std::vector<std::string>& assignments, const std::vector<std::string>& features,
                           bool no_fallback, const std::string& as_of, OutputFormat format, std::ostream& out) {
  auto info = client.GetTable(table);
  if (!info.ok()) return info.status();
  auto columns = LookupColumns(*info);
  if (!columns.ok()) return columns.status();
  v1::LookupRequest request;
  request.set_table(table);
  std::vector<std::pair<std::string, v1::Value>> key;
  for (const std::string& assignment : assignments) {
    size_t eq = assignment.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(StrCat("key \"", assignment, "\" must be written column=value"));
    }
    std::string name = assignment.substr(0, eq);
    auto column = std::find_if(columns->begin(), columns->end(), [&](const Column& c) { return c.name == name; });
    if (column == columns->end()) {
      return absl::InvalidArgumentError(StrCat("table \"", table, "\" has no key column \"", name, "\""));
    }
    auto value = ValueFromText(*column, std::string_view(assignment).substr(eq + 1));
    if (!value.ok()) return value.status();
    v1::KeyField* field = request.add_key();
    field->set_column(name);
    *field->mutable_value() = *value;
    key.emplace_back(name, *value);
  }
  for (const std::string& assignment : features) {
    auto feature = ParseFeatureAssignment(assignment);
    if (!feature.ok()) return feature.status();
    v1::KeyField* field = request.add_features();
    field->set_column(feature->first);
    *field->mutable_value() = feature->second;
  }
  request.set_no_fallback(no_fallback);
  if (!as_of.empty()) {
    auto time = ParseCell(ColumnType::kTimestamp, as_of);
    if (!time.ok()) return absl::InvalidArgumentError(StrCat("--as_of: ", FromAbsl(time.status().message())));
    request.set_as_of_micros(std::get<Timestamp>(*time).micros);
  }
  auto response = client.Lookup(request);
  if (!response.ok()) return response.status();
  ResultPrinter printer(format, out);
  printer.Row(key, response->found(), response->value_columns(), response->values(), response->snapshot_version(),
              response->found() ? SourceText(response->source(), response->model_name(), response->model_version(),
                                             response->event_time_micros())
                                : "");
  printer.Flush();
  return absl::OkStatus();
}

absl::Status BatchLookupCommand(const PredstoreClient& client, const std::string& table, std::istream& keys,
                                uint32_t batch_size, OutputFormat format, std::ostream& out) {
  if (batch_size == 0) return absl::InvalidArgumentError("batch size must be at least 1");
  auto info = client.GetTable(table);
  if (!info.ok()) return info.status();
  auto columns_or = LookupColumns(*info);
  if (!columns_or.ok()) return columns_or.status();
  const std::vector<Column>& columns = *columns_or;

  ResultPrinter printer(format, out);
  v1::BatchLookupRequest request;
  request.set_table(table);
  for (const Column& c : columns) request.add_key_columns(c.name);
  std::vector<std::vector<std::pair<std::string, v1::Value>>> pending_keys;
  auto send = [&]() -> absl::Status {
    if (request.keys_size() == 0) return absl::OkStatus();
    auto response = client.BatchLookup(request);
    if (!response.ok()) return response.status();
    for (int i = 0; i < response->results_size(); ++i) {
      const v1::LookupResult& result = response->results(i);
      printer.Row(pending_keys[i], result.found(), response->value_columns(), result.values(),
                  response->snapshot_version(),
                  result.found() ? SourceText(result.source(), response->model_name(), response->model_version(),
                                              result.event_time_micros())
                                 : "");
    }
    request.clear_keys();
    pending_keys.clear();
    return absl::OkStatus();
  };

  std::string line;
  uint64_t line_number = 0;
  std::vector<int> csv_positions;  // column -> CSV field, once the header is read
  bool csv = false;
  while (std::getline(keys, line)) {
    ++line_number;
    if (line.empty() || line == "\r") continue;
    auto bad = [&](std::string_view reason) {
      return absl::InvalidArgumentError(StrCat("keys line ", line_number, ": ", reason));
    };
    std::vector<std::pair<std::string, v1::Value>> key;
    v1::KeyRow* row = nullptr;
    if (line_number == 1 && line[0] != '{') {
      csv = true;
      std::vector<std::string> header = SplitPlainCsv(line);
      for (const Column& c : columns) {
        auto it = std::find(header.begin(), header.end(), c.name);
        if (it == header.end()) return bad(StrCat("the CSV header lacks key column \"", c.name, "\""));
        csv_positions.push_back(static_cast<int>(it - header.begin()));
      }
      continue;
    }
    std::vector<std::string> texts(columns.size());
    std::vector<bool> is_string(columns.size(), false);
    if (csv) {
      std::vector<std::string> fields = SplitPlainCsv(line);
      for (size_t i = 0; i < columns.size(); ++i) {
        if (static_cast<size_t>(csv_positions[i]) >= fields.size()) return bad("too few fields");
        texts[i] = fields[csv_positions[i]];
      }
    } else {
      nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (json.is_discarded() || !json.is_object()) return bad("not a JSON object");
      for (size_t i = 0; i < columns.size(); ++i) {
        auto it = json.find(columns[i].name);
        if (it == json.end()) return bad(StrCat("missing key column \"", columns[i].name, "\""));
        texts[i] = it->is_string() ? it->get<std::string>() : it->dump();
      }
      for (auto it = json.begin(); it != json.end(); ++it) {
        if (std::none_of(columns.begin(), columns.end(), [&](const Column& c) { return c.name == it.key(); })) {
          return bad(StrCat("unknown key column \"", it.key(), "\""));
        }
      }
    }
    row = request.add_keys();
    for (size_t i = 0; i < columns.size(); ++i) {
      auto value = ValueFromText(columns[i], texts[i]);
      if (!value.ok()) return bad(FromAbsl(value.status().message()));
      *row->add_values() = *value;
      key.emplace_back(columns[i].name, *value);
    }
    pending_keys.push_back(std::move(key));
    if (static_cast<uint32_t>(request.keys_size()) >= batch_size) {
      absl::Status s = send();
      if (!s.ok()) return s;
    }
  }
  absl::Status s = send();
  if (!s.ok()) return s;
  printer.Flush();
  return absl::OkStatus();
}

absl::StatusOr<v1::ColumnRange> ParseWhereClause(const v1::TableInfo& table, std::string_view clause) {
  auto columns = LookupColumns(table);
  if (!columns.ok()) return columns.status();
  auto bad = [&](std::string_view reason) {
    return absl::InvalidArgumentError(StrCat("where \"", clause, "\": ", reason));
  };
  std::vector<std::string> words;
  for (size_t i = 0; i < clause.size();) {
    while (i < clause.size() && clause[i] == ' ') ++i;
    size_t j = i;
    while (j < clause.size() && clause[j] != ' ') ++j;
    if (j > i) words.emplace_back(clause.substr(i, j - i));
    i = j;
  }
  if (words.size() < 3) return bad("expected \"col between A and B\", \"col = V\", \"col >= V\" or \"col <= V\"");
  auto column = std::find_if(columns->begin(), columns->end(), [&](const Column& c) { return c.name == words[0]; });
  if (column == columns->end()) return bad(StrCat("table \"", table.name(), "\" has no key column \"", words[0], "\""));
  v1::ColumnRange range;
  range.set_column(words[0]);
  auto value = [&](const std::string& text) { return ValueFromText(*column, text); };
  std::string op = absl::AsciiStrToLower(words[1]);
  if (op == "between" && words.size() == 5 && absl::AsciiStrToLower(words[3]) == "and") {
    auto low = value(words[2]);
    if (!low.ok()) return bad(FromAbsl(low.status().message()));
    auto high = value(words[4]);
    if (!high.ok()) return bad(FromAbsl(high.status().message()));
    *range.mutable_low() = *low;
    *range.mutable_high() = *high;
    return range;
  }
  if ((op == "=" || op == ">=" || op == "<=") && words.size() == 3) {
    auto v = value(words[2]);
    if (!v.ok()) return bad(FromAbsl(v.status().message()));
    if (op != "<=") *range.mutable_low() = *v;
    if (op != ">=") *range.mutable_high() = *v;
    return range;
  }
  return bad("expected \"col between A and B\", \"col = V\", \"col >= V\" or \"col <= V\"");
}

absl::Status ScanCommand(const PredstoreClient& client, const std::string& table,
                         const std::vector<std::string>& where, uint64_t limit, const std::string& page_token,
                         bool show_stats, OutputFormat format, std::ostream& out, std::ostream& info) {
  auto table_info = client.GetTable(table);
  if (!table_info.ok()) return table_info.status();
  v1::ScanRequest request;
  request.set_table(table);
  request.set_limit(limit);
  for (const std::string& clause : where) {
    auto range = ParseWhereClause(*table_info, clause);
    if (!range.ok()) return range.status();
    *request.add_where() = *range;
  }
  if (!page_token.empty()) {
    std::string bytes = absl::HexStringToBytes(ToAbsl(page_token));
    if (bytes.size() * 2 != page_token.size()) return absl::InvalidArgumentError("--page_token is not hex");
    request.set_page_token(bytes);
  }
  ResultPrinter printer(format, out);
  std::vector<std::string> key_columns;
  google::protobuf::RepeatedPtrField<std::string> value_columns;
  v1::ScanStats stats;
  std::string next_page;
  absl::Status status = client.Scan(request, [&](const v1::ScanResponse& response) {
    if (response.key_columns_size() > 0) {
      key_columns.assign(response.key_columns().begin(), response.key_columns().end());
      value_columns = response.value_columns();
    }
    for (const v1::ScanRow& row : response.rows()) {
      std::vector<std::pair<std::string, v1::Value>> key;
      for (int i = 0; i < row.key_size() && i < static_cast<int>(key_columns.size()); ++i) {
        key.emplace_back(key_columns[i], row.key(i));
      }
      printer.Row(key, std::nullopt, value_columns, row.values(), response.snapshot_version());
    }
    if (response.has_stats()) stats = response.stats();
    if (!response.next_page_token().empty()) next_page = response.next_page_token();
  });
  if (!status.ok()) return status;
  printer.Flush();
  if (show_stats) {
    info << "scan: " << stats.rows_returned() << " rows, " << stats.keys_examined() << " keys examined, "
         << stats.seeks() << " seeks, " << stats.data_blocks_read() << " data blocks read + "
         << stats.data_blocks_cached() << " cached, " << stats.partitions_visited() << " partition(s), "
         << stats.elapsed_micros() << " us\n";
  }
  if (!next_page.empty()) {
    info << "more rows: --page_token=" << FromAbsl(absl::BytesToHexString(ToAbsl(next_page))) << "\n";
  }
  return absl::OkStatus();
}

absl::Status RollbackCommand(const PredstoreClient& client, const std::string& table, uint64_t to_version,
                             std::ostream& out) {
  auto info = client.Rollback(table, to_version);
  if (!info.ok()) return info.status();
  out << "table " << info->name() << ": now serving version " << info->active_version() << " (" << info->row_count()
      << " rows)\n";
  return absl::OkStatus();
}

absl::Status RefreshCommand(const PredstoreClient& client, const std::string& table, std::ostream& out) {
  auto response = client.RefreshTables(table);
  if (!response.ok()) return response.status();
  for (const v1::TableInfo& t : response->tables()) {
    out << "table " << t.name() << ": serving version " << t.active_version() << " (" << t.row_count() << " rows)\n";
  }
  return absl::OkStatus();
}

absl::Status PredictCommand(const PredstoreClient& client, const std::string& model, const std::string& output_kind,
                            const std::vector<std::string>& assignments, std::ostream& out) {
  if (model.empty()) return absl::InvalidArgumentError("predict needs --model=models:/NAME/STAGE (or /VERSION, @ALIAS)");
  if (assignments.empty()) return absl::InvalidArgumentError("predict needs features as name=value arguments");
  v1::PredictRequest request;
  request.set_model(model);
  v1::OutputKind kind = v1::OUTPUT_KIND_UNSPECIFIED;
  if (!v1::OutputKind_Parse("OUTPUT_KIND_" + absl::AsciiStrToUpper(output_kind), &kind) ||
      kind == v1::OUTPUT_KIND_UNSPECIFIED) {
    return absl::InvalidArgumentError(StrCat("--output_kind: unknown output kind '", output_kind,
                                             "' (probability, label or margin)"));
  }
  request.set_output(kind);
  v1::FeatureRow* row = request.add_rows();
  for (const std::string& assignment : assignments) {
    auto feature = ParseFeatureAssignment(assignment);
    if (!feature.ok()) return feature.status();
    request.add_feature_names(feature->first);
    *row->add_values() = feature->second;
  }
  auto response = client.Predict(request);
  if (!response.ok()) return response.status();
  for (const v1::Prediction& prediction : response->predictions()) {
    const std::vector<float> values(prediction.values().begin(), prediction.values().end());
    nlohmann::ordered_json json = {{"prediction", values},
                                   {"output", absl::AsciiStrToLower(absl::StripPrefix(
                                                  v1::OutputKind_Name(response->output()), "OUTPUT_KIND_"))},
                                   {"model", response->model_name()},
                                   {"version", response->model_version()}};
    out << json.dump() << "\n";
  }
  return absl::OkStatus();
}

absl::Status ModelsCommand(const PredstoreClient& client, OutputFormat format, std::ostream& out, std::ostream& info) {
  auto models = client.ListModels();
  if (!models.ok()) return models.status();
  std::vector<std::vector<std::string>> rows;
  for (const v1::ServedModelInfo& model : models->models()) {
    std::string serves;
    for (const std::string& name : model.serves()) StrAppend(&serves, serves.empty() ? "" : ",", name);
    if (format == OutputFormat::kJsonLines) {
      nlohmann::ordered_json json = {{"model", model.name()},         {"version", model.version()},
                                     {"serves", serves},              {"objective", model.objective()},
                                     {"features", model.features_size()}, {"model_dir", model.model_dir()}};
      out << json.dump() << "\n";
    } else {
      rows.push_back({model.name(), StrCat(model.version()), serves, model.objective(), StrCat(model.features_size()),
                      model.model_dir()});
    }
  }
  if (format == OutputFormat::kTable) {
    ResultPrinter::PrintTable({"model", "version", "serves", "objective", "features", "model_dir"}, rows, out);
  }
  for (const std::string& line : models->stand_ins()) info << "stand-in: " << line << "\n";
  for (const std::string& error : models->load_errors()) info << "load error: " << error << "\n";
  return absl::OkStatus();
}

absl::Status ReloadModelsCommand(const PredstoreClient& client, std::ostream& out) {
  auto reloaded = client.ReloadModels();
  if (!reloaded.ok()) return reloaded.status();
  out << "loaded " << reloaded->loaded() << ", unloaded " << reloaded->unloaded() << ", serving "
      << reloaded->models_size() << " model versions\n";
  for (const std::string& error : reloaded->errors()) out << "load error: " << error << "\n";
  return absl::OkStatus();
}

std::string SourceStatusText(const v1::SourceStatus& status) {
  auto time_text = [](int64_t micros) {
    return micros == INT64_MIN ? std::string("-") : FormatCell(CellView(Timestamp{micros}));
  };
  return StrCat("source ", status.source(), ": batch ", status.sequence(), ", applied ", status.applied(),
                ", duplicates ", status.duplicates(), ", late ", status.late(), ", superseded ", status.superseded(),
                ", newest event ", time_text(status.max_event_time_micros()), ", watermark ",
                time_text(status.watermark_micros()), ", lag ", status.event_time_lag_micros() / 1000, " ms (event time) / ",
                status.wall_lag_micros() / 1000, " ms (since the last commit)");
}

absl::Status IngestCommand(const PredstoreClient& client, const std::string& table, const std::string& source,
                           std::istream& events, uint32_t batch_size, std::ostream& out) {
  if (source.empty()) return absl::InvalidArgumentError("ingest needs --source=NAME (the producer's name)");
  auto info = client.GetTable(table);
  if (!info.ok()) return info.status();
  auto parser = EventParser::ForTable(*info);
  if (!parser.ok()) return parser.status();
  EventIngester ingester(client, table, source, batch_size);
  if (absl::Status started = ingester.Start(); !started.ok()) return started;
  std::string line;
  uint64_t line_number = 0, sent = 0;
  while (std::getline(events, line)) {
    ++line_number;
    if (line.empty() || line == "\r") continue;
    auto event = parser->Parse(line);
    if (!event.ok()) {
      return absl::InvalidArgumentError(StrCat("events line ", line_number, ": ", FromAbsl(event.status().message())));
    }
    if (absl::Status added = ingester.Add(*std::move(event), StrCat("line ", line_number)); !added.ok()) return added;
    ++sent;
  }
  if (absl::Status finished = ingester.Finish(); !finished.ok()) return finished;
  out << "sent " << sent - ingester.events_of_other_shards() << " events";
  if (ingester.events_of_other_shards() > 0) {
    out << " (skipped " << ingester.events_of_other_shards() << " of other shards)";
  }
  out << "; " << SourceStatusText(ingester.committed()) << "\n";
  return absl::OkStatus();
}

absl::Status IngestStatusCommand(const PredstoreClient& client, const std::string& table, std::ostream& out) {
  auto status = client.IngestStatus(table);
  if (!status.ok()) return status.status();
  for (const v1::SourceStatus& source : status->sources()) out << SourceStatusText(source) << "\n";
  if (!status->dead_letter_file().empty()) out << "late events go to " << status->dead_letter_file() << "\n";
  return absl::OkStatus();
}

}  // namespace predstore
