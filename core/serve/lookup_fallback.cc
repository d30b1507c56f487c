#include "core/serve/lookup_fallback.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

absl::StatusOr<std::chrono::seconds> ParseSeconds(std::string_view text, std::string_view where) {
  absl::Duration duration;
  if (!absl::ParseDuration(ToAbsl(text), &duration) || duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(StrCat(where, ": '", text, "' is not a duration such as 90s, 10m or 24h"));
  }
  return std::chrono::seconds(absl::ToInt64Seconds(duration));
}

absl::StatusOr<FallbackBinding> ParseBinding(std::string_view text, size_t number) {
  FallbackBinding binding;
  const std::string where = StrCat("fallback binding ", number + 1);
  for (absl::string_view piece : absl::StrSplit(ToAbsl(text), ',', absl::SkipWhitespace())) {
    const std::string_view pair = FromAbsl(piece);
    const size_t equals = pair.find('=');
    if (equals == std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat(where, ": '", pair, "' is not key=value"));
    }
    const std::string_view key = FromAbsl(absl::StripAsciiWhitespace(ToAbsl(pair.substr(0, equals))));
    const std::string_view value = FromAbsl(absl::StripAsciiWhitespace(ToAbsl(pair.substr(equals + 1))));
    if (key == "table") {
      binding.table = value;
    } else if (key == "model") {
      binding.model_uri = value;
      absl::StatusOr<ModelReference> reference = ParseModelReference(value);
      if (!reference.ok()) return absl::InvalidArgumentError(StrCat(where, ": model: ", FromAbsl(reference.status().message())));
      binding.model = *std::move(reference);
    } else if (key == "features") {
      binding.features_table = value;
    } else if (key == "output") {
      binding.output_column = value;
    } else if (key == "output_kind") {
      absl::StatusOr<OutputKind> kind = ParseOutputKind(value);
      if (!kind.ok()) return absl::InvalidArgumentError(StrCat(where, ": output_kind: ", FromAbsl(kind.status().message())));
      binding.output_kind = *kind;
    } else if (key == "max_age") {
      PREDSTORE_ASSIGN_OR_RETURN(binding.max_age, ParseSeconds(value, StrCat(where, ": max_age")));
    } else if (key == "cache_ttl") {
      PREDSTORE_ASSIGN_OR_RETURN(binding.cache_ttl, ParseSeconds(value, StrCat(where, ": cache_ttl")));
    } else {
      return absl::InvalidArgumentError(StrCat(where, ": unknown key '", key,
                                               "' (table, model, features, output, output_kind, max_age, cache_ttl)"));
    }
  }
  if (binding.table.empty() || binding.model_uri.empty()) {
    return absl::InvalidArgumentError(StrCat(where, ": table= and model= are required"));
  }
  return binding;
}

// Sets `value` as feature `name` in `row` if the model has that feature.
// `strict`: an unknown name is an error (request features) rather than
// skipped (key and features-table columns the model does not use).
absl::Status SetFeature(const ServedModel& model, std::string_view name, const std::optional<CellView>& value,
                        bool strict, ScoringRow& row) {
  const int index = model.FeatureIndex(name);
  if (index < 0) {
    if (!strict) return absl::OkStatus();
    return absl::InvalidArgumentError(
        StrCat("feature '", name, "' is not an input of model ", model.name, " version ", model.version));
  }
  return row.Set(index, value);
}

}  // namespace

absl::StatusOr<std::vector<FallbackBinding>> ParseFallbackBindings(std::string_view spec) {
  std::vector<FallbackBinding> bindings;
  for (absl::string_view text : absl::StrSplit(ToAbsl(spec), ';', absl::SkipWhitespace())) {
    PREDSTORE_ASSIGN_OR_RETURN(FallbackBinding binding, ParseBinding(FromAbsl(text), bindings.size()));
    for (const FallbackBinding& earlier : bindings) {
      if (earlier.table == binding.table) {
        return absl::InvalidArgumentError(StrCat("table '", binding.table, "' is bound twice"));
      }
    }
    bindings.push_back(std::move(binding));
  }
  return bindings;
}

LookupFallback::LookupFallback(const PredictionStore* store, const ModelCatalog* models,
                               std::vector<FallbackBinding> bindings)
    : store_(store), models_(models), bindings_(std::move(bindings)) {}

const FallbackBinding* LookupFallback::BindingFor(std::string_view table) const {
  for (const FallbackBinding& binding : bindings_) {
    if (binding.table == table) return &binding;
  }
  return nullptr;
}

bool LookupFallback::IsStale(const FallbackBinding& binding, int64_t written_at_micros) const {
  if (!binding.max_age.has_value()) return false;
  const int64_t now_micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return now_micros - written_at_micros > std::chrono::duration_cast<std::chrono::microseconds>(*binding.max_age).count();
}

absl::StatusOr<size_t> LookupFallback::OutputColumn(const FallbackBinding& binding, const Schema& schema) const {
  const std::vector<Column>& values = schema.value_columns();
  for (size_t i = 0; i < values.size(); ++i) {
    if (binding.output_column.empty() || values[i].name == binding.output_column) {
      if (values[i].type != ColumnType::kDouble && values[i].type != ColumnType::kFloat) {
        return absl::FailedPreconditionError(StrCat("fallback output column '", values[i].name, "' of table '",
                                                    binding.table, "' is ", ColumnTypeName(values[i].type),
                                                    "; a model output needs double or float"));
      }
      return i;
    }
  }
  return absl::FailedPreconditionError(
      StrCat("table '", binding.table, "' has no value column '", binding.output_column, "' for the fallback output"));
}

LookupFallback::CacheShard& LookupFallback::ShardFor(const std::string& cache_key) const {
  return cache_[std::hash<std::string>{}(cache_key) % kCacheShards];
}

std::optional<float> LookupFallback::Recall(const std::string& cache_key, const ServedModel& model) const {
  CacheShard& shard = ShardFor(cache_key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.answers.find(cache_key);
  if (it == shard.answers.end()) return std::nullopt;
  if (it->second.model_version != model.version || it->second.expires < std::chrono::steady_clock::now()) {
    shard.answers.erase(it);
    return std::nullopt;
  }
  return it->second.output;
}

void LookupFallback::Remember(const FallbackBinding& binding, std::string_view key, const ServedModel& model,
                              bool cacheable, float output) {
  if (binding.cache_ttl.count() == 0 || !cacheable) return;
  std::string cache_key = StrCat(binding.table, std::string_view("\0", 1), key);
  CacheShard& shard = ShardFor(cache_key);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.answers.size() >= kMaxCachedPerShard) {
    absl::erase_if(shard.answers, [now](const auto& entry) { return entry.second.expires < now; });
    if (shard.answers.size() >= kMaxCachedPerShard) return;  // full of live answers: skip, never grow unbounded
  }
  shard.answers.insert_or_assign(std::move(cache_key), CachedAnswer{model.version, output, now + binding.cache_ttl});
}

absl::StatusOr<FallbackPlan> LookupFallback::Plan(const FallbackBinding& binding, const TableSnapshot& snapshot,
                                                  std::span<const Cell> key_cells, std::string_view key,
                                                  std::span<const NamedFeature> request_features) const {
  absl::StatusOr<std::shared_ptr<const ServedModel>> model = models_->Resolve(binding.model);
  if (!model.ok()) {
    return absl::FailedPreconditionError(
        StrCat("fallback model ", binding.model_uri, " of table '", binding.table, "': ", FromAbsl(model.status().message())));
  }
  FallbackPlan plan;
  plan.model = *std::move(model);
  const ServedModel& served = *plan.model;
  if (absl::Status kind = served.scorer->CheckOutput(binding.output_kind); !kind.ok()) {
    return absl::FailedPreconditionError(StrCat("fallback model ", binding.model_uri, ": ", FromAbsl(kind.message())));
  }
  if (served.scorer->outputs_per_row(binding.output_kind) != 1) {
    return absl::FailedPreconditionError(StrCat("fallback model ", binding.model_uri, " gives ",
                                                served.scorer->outputs_per_row(binding.output_kind), " ",
                                                OutputKindName(binding.output_kind),
                                                " outputs per row; one is needed (output_kind=label gives one)"));
  }
  PREDSTORE_RETURN_IF_ERROR(OutputColumn(binding, snapshot.schema()).status());
  // A request that sends feature values is scored on them, never answered
  // from the cache. An unset value leaves the feature to the key and the
  // features table; if neither has it, it is a missing value (the request
  // named it, so it is not absent).
  const bool sends_values = std::any_of(request_features.begin(), request_features.end(),
                                        [](const NamedFeature& feature) { return feature.value.has_value(); });
  plan.cacheable = !sends_values;
  if (binding.cache_ttl.count() > 0 && plan.cacheable) {
    plan.cached_output = Recall(StrCat(binding.table, std::string_view("\0", 1), key), served);
    if (plan.cached_output.has_value()) return plan;
  }

  ScoringRow row(served);
  const std::vector<Column>& lookup_columns = snapshot.schema().lookup_columns();
  for (size_t i = 0; i < lookup_columns.size(); ++i) {
    PREDSTORE_RETURN_IF_ERROR(SetFeature(served, lookup_columns[i].name, ViewOf(key_cells[i]), false, row));
  }
  bool any_source = sends_values;
  std::string features_note;
  if (!binding.features_table.empty()) {
    std::shared_ptr<const TableSnapshot> features = store_->Find(binding.features_table);
    if (features == nullptr) {
      return absl::FailedPreconditionError(
          StrCat("features table '", binding.features_table, "' of the fallback of '", binding.table, "' is not loaded"));
    }
    // The features table is keyed like the predictions: same column names and types, any order.
    std::vector<Cell> feature_key;
    for (const Column& column : features->schema().lookup_columns()) {
      size_t i = 0;
      while (i < lookup_columns.size() && lookup_columns[i].name != column.name) ++i;
      if (i == lookup_columns.size() || lookup_columns[i].type != column.type) {
        return absl::FailedPreconditionError(StrCat("features table '", binding.features_table, "' is keyed by ",
                                                    column.name, ":", ColumnTypeName(column.type), ", which table '",
                                                    binding.table, "' has not"));
      }
      feature_key.push_back(key_cells[i]);
    }
    std::string encoded;
    features->key_codec().Encode(feature_key, &encoded);
    absl::Status decode_status;
    PREDSTORE_ASSIGN_OR_RETURN(bool found, features->Get(encoded, [&](std::string_view value) {
      decode_status = features->value_codec().ForEach(value, [&](size_t column, const CellView& cell) {
        if (!decode_status.ok()) return;
        decode_status = SetFeature(served, features->schema().value_columns()[column].name, cell, false, row);
      });
    }));
    PREDSTORE_RETURN_IF_ERROR(decode_status);
    any_source = any_source || found;
    if (!found) features_note = StrCat(" (features table '", binding.features_table, "' has no row for this key)");
  }
  if (!any_source) {
    return absl::NotFoundError(StrCat("no prediction stored for this key and no features to score it", features_note,
                                      binding.features_table.empty() ? ": send features with the lookup" : ""));
  }
  for (const NamedFeature& feature : request_features) {
    if (feature.value.has_value()) {
      PREDSTORE_RETURN_IF_ERROR(SetFeature(served, feature.name, feature.value, true, row));
      continue;
    }
    const int index = served.FeatureIndex(feature.name);
    if (index >= 0 && row.present(index)) continue;
    PREDSTORE_RETURN_IF_ERROR(SetFeature(served, feature.name, std::nullopt, true, row));
    plan.cacheable = false;
  }
  absl::Status complete = row.Check();
  if (!complete.ok()) return absl::InvalidArgumentError(StrCat(FromAbsl(complete.message()), features_note));
  plan.row.assign(row.values().begin(), row.values().end());
  return plan;
}

}  // namespace predstore
