#include "client/stream_events.h"

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "nlohmann/json.hpp"
#include "proto/wire_values.h"

namespace predstore {
namespace {

// A JSON field as the wire value of `column` (a null, an empty string or,
// for float and double, "NaN" in a nullable column: an unset value).
absl::StatusOr<v1::Value> ColumnValue(const nlohmann::json& field, const Column& column) {
  std::string text;
  if (field.is_null() && column.nullable) return v1::Value();  // unset: Null
  if (field.is_string()) {
    text = field.get<std::string>();
  } else if (field.is_number() || field.is_boolean()) {
    text = field.dump();
  } else {
    return absl::InvalidArgumentError(StrCat("field \"", column.name, "\" is not a string or number"));
  }
  absl::StatusOr<Cell> cell = ParseColumnCell(column, text);
  if (!cell.ok()) return absl::InvalidArgumentError(StrCat("field \"", column.name, "\": ", FromAbsl(cell.status().message())));
  v1::Value value;
  CellToWire(ViewOf(*cell), &value);
  return value;
}

}  // namespace

absl::StatusOr<EventParser> EventParser::ForTable(const v1::TableInfo& table) {
  EventParser parser;
  absl::StatusOr<std::vector<Column>> lookup = LookupColumns(table);
  if (!lookup.ok()) return lookup.status();
  absl::StatusOr<std::vector<Column>> values = ValueColumns(table);
  if (!values.ok()) return values.status();
  parser.lookup_columns_ = *std::move(lookup);
  parser.value_columns_ = *std::move(values);
  return parser;
}

absl::StatusOr<v1::StreamEvent> EventParser::Parse(std::string_view line, std::vector<std::string>* ignored) const {
  const nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return absl::InvalidArgumentError("not one JSON object");
  v1::StreamEvent event;
  size_t used = 0;
  for (const Column& column : lookup_columns_) {
    auto field = json.find(column.name);
    if (field == json.end() || field->is_null()) {
      return absl::InvalidArgumentError(StrCat("key field \"", column.name, "\" missing"));
    }
    absl::StatusOr<v1::Value> value = ColumnValue(*field, column);
    if (!value.ok()) return value.status();
    v1::KeyField* key = event.add_key();
    key->set_column(column.name);
    *key->mutable_value() = *std::move(value);
    ++used;
  }
  auto time = json.find("event_time");
  if (time == json.end()) return absl::InvalidArgumentError("field \"event_time\" missing");
  absl::StatusOr<v1::Value> event_time = ColumnValue(*time, Column{"event_time", ColumnType::kTimestamp});
  if (!event_time.ok()) return event_time.status();
  event.set_event_time_micros(event_time->timestamp_value());
  ++used;
  size_t values_found = 0;
  for (const Column& column : value_columns_) {
    auto field = json.find(column.name);
    if (field == json.end()) continue;
    absl::StatusOr<v1::Value> value = ColumnValue(*field, column);
    if (!value.ok()) return value.status();
    v1::KeyField* out = event.add_values();
    out->set_column(column.name);
    *out->mutable_value() = *std::move(value);
    ++values_found;
    ++used;
  }
  if (values_found > 0 && values_found < value_columns_.size()) {
    return absl::InvalidArgumentError("a prediction event needs every value column (or none, with features)");
  }
  if (values_found > 0) {
    if (used == json.size()) return event;
    if (ignored == nullptr) {
      return absl::InvalidArgumentError("a prediction event has fields beyond its columns (--extra_fields=ignore "
                                        "skips them)");
    }
    for (const auto& [name, field] : json.items()) {
      bool known = name == "event_time";
      for (const Column& column : lookup_columns_) known = known || column.name == name;
      for (const Column& column : value_columns_) known = known || column.name == name;
      if (!known) ignored->push_back(name);
    }
    return event;
  }
  // A features event: every other field is a feature.
  for (const auto& [name, field] : json.items()) {
    if (name == "event_time") continue;
    bool is_key = false;
    for (const Column& column : lookup_columns_) is_key = is_key || column.name == name;
    if (is_key) continue;
    v1::KeyField* feature = event.add_features();
    feature->set_column(name);
    if (field.is_boolean()) {
      feature->mutable_value()->set_bool_value(field.get<bool>());
    } else if (field.is_number_integer()) {
      feature->mutable_value()->set_int64_value(field.get<int64_t>());
    } else if (field.is_number()) {
      feature->mutable_value()->set_double_value(field.get<double>());
    } else if (field.is_string()) {
      feature->mutable_value()->set_string_value(field.get<std::string>());  // the server names the type it expects
    } else if (!field.is_null()) {
      return absl::InvalidArgumentError(StrCat("feature \"", name, "\" is not a number, boolean or string"));
    }
  }
  if (event.features_size() == 0) return absl::InvalidArgumentError("an event needs its value columns or features");
  return event;
}

void IgnoredFields::Note(std::vector<std::string>* names) {
  for (std::string& name : *names) {
    if (seen_.insert(name).second) report_(name);
  }
  names->clear();
}

EventIngester::EventIngester(const PredstoreClient& client, std::string table, std::string source, size_t batch_size)
    : client_(client), table_(std::move(table)), source_(std::move(source)), batch_size_(std::max<size_t>(1, batch_size)) {}

EventIngester::~EventIngester() {
  if (stream_ != nullptr) {
    stream_->WritesDone();
    v1::IngestAck ignored;
    while (stream_->Read(&ignored)) {
    }
    [[maybe_unused]] absl::Status finished = stream_->Finish();  // best effort: Finish() reports errors
  }
}

absl::Status EventIngester::Start() {
  absl::StatusOr<v1::IngestStatusResponse> status = client_.IngestStatus(table_);
  if (!status.ok()) return status.status();
  committed_ = v1::SourceStatus();
  committed_.set_source(source_);
  for (const v1::SourceStatus& source : status->sources()) {
    if (source.source() == source_) committed_ = source;
  }
  absl::StatusOr<v1::TableInfo> info = client_.GetTable(table_);
  if (!info.ok()) return info.status();
  sharded_.reset();
  if (info->shards().count() > 0) {
    PREDSTORE_ASSIGN_OR_RETURN(sharded_, internal::ShardedTable::FromInfo(*info));
    served_shard_ = info->shards().served_shard();
  }
  events_of_other_shards_ = 0;
  stream_ = client_.OpenIngestStream();
  batch_.Clear();
  return absl::OkStatus();
}

absl::Status EventIngester::Add(v1::StreamEvent event, std::string position) {
  if (sharded_ != nullptr) {
    // An event whose key does not convert goes on, for the server to name.
    absl::StatusOr<uint32_t> shard = sharded_->ShardOf(event.key());
    if (shard.ok() && *shard != served_shard_) {
      ++events_of_other_shards_;
      batch_.set_position(std::move(position));
      return absl::OkStatus();
    }
  }
  *batch_.add_events() = std::move(event);
  batch_.set_position(std::move(position));
  if (static_cast<size_t>(batch_.events_size()) >= batch_size_) return Flush();
  return absl::OkStatus();
}

absl::Status EventIngester::Flush() {
  if (batch_.events_size() == 0) return absl::OkStatus();
  if (stream_ == nullptr) return absl::FailedPreconditionError("EventIngester::Start() was not called");
  batch_.set_table(table_);
  batch_.set_source(source_);
  batch_.set_sequence(committed_.sequence() + 1);
  v1::IngestAck ack;
  if (!stream_->Write(batch_) || !stream_->Read(&ack)) {
    absl::Status broken = stream_->Finish();
    stream_.reset();
    return broken.ok() ? absl::UnavailableError("the ingest stream closed") : broken;
  }
  if (ack.error_code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(ack.error_code()),
                        StrCat("batch ", batch_.sequence(), ": ", ack.error_message()));
  }
  committed_ = ack.status();
  batch_.clear_events();
  return absl::OkStatus();
}

absl::Status EventIngester::Finish() {
  absl::Status flushed = Flush();
  if (stream_ == nullptr) return flushed;
  stream_->WritesDone();
  v1::IngestAck ignored;
  while (stream_->Read(&ignored)) {
  }
  absl::Status finished = stream_->Finish();
  stream_.reset();
  return flushed.ok() ? finished : flushed;
}

}  // namespace predstore
