// Fallback from lookups to on-demand scoring. A table bound to a model
// answers a key with no stored prediction (or one older than max_age) by
// scoring the model on features gathered for that key:
//   1. the key's own columns, where the model has a feature of that name;
//   2. the bound features table: a table keyed like the predictions whose
//      value columns are features (read from its current snapshot);
//   3. just-in-time features sent with the request (these win; an unset
//      value leaves the feature to 1 and 2, and is a missing value if they
//      lack it).
// The model's single output fills the binding's output column; the other
// value columns are left empty. Computed predictions can be kept in an
// in-memory cache for cache_ttl, tagged with the model version that made
// them (a promoted model does not answer from its predecessor's cache).
// Only answers scored on the key's own features (key columns and features
// table) are cached and served from the cache: a lookup that sends its own
// features is always scored, and its answer is not kept for other callers.
//
// Thread-safe: bindings are fixed at construction; the cache is sharded
// behind mutexes; tables and models are read through their atomic catalogs.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/model/model_catalog.h"
#include "core/snapshot/prediction_store.h"
#include "core/table/schema.h"

namespace predstore {

struct FallbackBinding {
  std::string table;
  std::string model_uri;  // as given, e.g. models:/demand/Production
  ModelReference model;
  std::string features_table;  // empty: key columns and request features only
  std::string output_column;   // empty: the first value column
  OutputKind output_kind = OutputKind::kProbability;  // what the model's output is
  std::optional<std::chrono::seconds> max_age;  // stored answers older than this are rescored
  std::chrono::seconds cache_ttl{0};            // 0: computed answers are not kept
};

// Parses bindings separated by ';', each "key=value" pairs separated by ',':
// table=T,model=models:/m/Production[,features=FT][,output=COL]
// [,output_kind=probability|label|margin][,max_age=24h][,cache_ttl=10m]
// (durations as absl::ParseDuration reads them: 90s, 10m, 24h).
// kInvalidArgument naming the binding and the key.
absl::StatusOr<std::vector<FallbackBinding>> ParseFallbackBindings(std::string_view spec);

// A feature named by a request; nullopt: named with no value, left to the
// key and features table, and a missing value if they lack it too.
struct NamedFeature {
  std::string_view name;
  std::optional<CellView> value;
};

// What a fallback needs to score one key: the model and its scoring row,
// or, on a cache hit, the outputs already computed.
struct FallbackPlan {
  std::shared_ptr<const ServedModel> model;
  std::vector<float> row;
  std::optional<float> cached_output;
  // Whether the answer may be cached: scored without request features.
  bool cacheable = false;
};

class LookupFallback {
 public:
  // The store, catalog must outlive this object. Bindings are checked when
  // used (tables and models come and go while the server runs).
  LookupFallback(const PredictionStore* store, const ModelCatalog* models, std::vector<FallbackBinding> bindings);

  // The binding of `table`, or null.
  const FallbackBinding* BindingFor(std::string_view table) const;

  // Whether a stored answer written at `written_at_micros` (the snapshot's
  // publish time, or a stream answer's event time) is too old for `binding`.
  bool IsStale(const FallbackBinding& binding, int64_t written_at_micros) const;

  // Resolves the bound model and gathers the features for one key
  // (`key_cells` in schema.lookup_columns() order, `key` encoded). kNotFound
  // when no source has any feature for the key; kInvalidArgument naming the
  // feature for an unknown, mistyped or missing required feature;
  // kFailedPrecondition when the bound model cannot answer (absent, failed to
  // load, several outputs, or an output column that cannot hold a number).
  absl::StatusOr<FallbackPlan> Plan(const FallbackBinding& binding, const TableSnapshot& snapshot,
                                    std::span<const Cell> key_cells, std::string_view key,
                                    std::span<const NamedFeature> request_features) const;

  // Keeps `output`, scored by `model` for `key`, for binding.cache_ttl;
  // a no-op when the TTL is 0 or the plan was not `cacheable`.
  void Remember(const FallbackBinding& binding, std::string_view key, const ServedModel& model, bool cacheable,
                float output);

  // The index of the value column the output fills.
  absl::StatusOr<size_t> OutputColumn(const FallbackBinding& binding, const Schema& schema) const;

 private:
  struct CachedAnswer {
    int64_t model_version;  // the binding names one model: its version identifies it
    float output;
    std::chrono::steady_clock::time_point expires;
  };
  struct CacheShard {
    std::mutex mutex;
    absl::flat_hash_map<std::string, CachedAnswer> answers;  // table + '\0' + key
  };
  static constexpr size_t kCacheShards = 16;
  static constexpr size_t kMaxCachedPerShard = 1 << 16;

  CacheShard& ShardFor(const std::string& cache_key) const;
  std::optional<float> Recall(const std::string& cache_key, const ServedModel& model) const;

  const PredictionStore* store_;
  const ModelCatalog* models_;
  std::vector<FallbackBinding> bindings_;
  mutable std::array<CacheShard, kCacheShards> cache_;
};

}  // namespace predstore
