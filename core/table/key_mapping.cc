#include "core/table/key_mapping.h"

#include <algorithm>

#include "core/base/strings.h"
#include "nlohmann/json.hpp"

namespace predstore {

uint64_t KeyMapping::Code(size_t column, uint64_t ordinal) const {
  if (columns_.empty()) return 0;
  const Column& c = columns_[column];
  if (c.kind == KeyNormalization::kQuantile) {
    return c.codes[std::upper_bound(c.bounds.begin(), c.bounds.end(), ordinal) - c.bounds.begin()];
  }
  if (ordinal <= c.min || c.max <= c.min) return 0;
  if (ordinal >= c.max) return kMaxCode;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(ordinal - c.min) * kMaxCode / (c.max - c.min));
}

std::string KeyMapping::ToJson() const {
  nlohmann::json json = nlohmann::json::array();
  for (const Column& c : columns_) {
    nlohmann::json column;
    column["kind"] = std::string(KeyNormalizationName(c.kind));
    if (c.kind == KeyNormalization::kQuantile) {
      column["bounds"] = c.bounds;
      column["codes"] = c.codes;
    } else {
      column["min"] = c.min;
      column["max"] = c.max;
    }
    json.push_back(std::move(column));
  }
  return json.dump();
}

absl::StatusOr<KeyMapping> KeyMapping::FromJson(std::string_view text, size_t columns) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto corrupt = [](std::string_view why) { return absl::DataLossError(StrCat("key mapping: ", why)); };
  if (json.is_discarded() || !json.is_array()) return corrupt("not a JSON array");
  if (json.size() != columns) return corrupt(StrCat(json.size(), " columns, the schema has ", columns));
  std::vector<Column> mapped;
  for (const nlohmann::json& column : json) {
    if (!column.is_object() || !column.contains("kind") || !column["kind"].is_string()) return corrupt("column without a kind");
    auto kind = ParseKeyNormalization(column["kind"].get<std::string>());
    if (!kind.ok() || *kind == KeyNormalization::kNone) return corrupt("bad column kind");
    Column c;
    c.kind = *kind;
    if (c.kind == KeyNormalization::kQuantile) {
      for (const char* field : {"bounds", "codes"}) {
        if (!column.contains(field) || !column[field].is_array()) return corrupt(StrCat("quantile column without ", field));
        std::vector<uint64_t>& numbers = field == std::string_view("bounds") ? c.bounds : c.codes;
        for (const nlohmann::json& number : column[field]) {
          if (!number.is_number_unsigned()) return corrupt(StrCat("one of the ", field, " is not an unsigned integer"));
          numbers.push_back(number.get<uint64_t>());
        }
      }
      if (std::adjacent_find(c.bounds.begin(), c.bounds.end(), std::greater_equal<>()) != c.bounds.end()) {
        return corrupt("bounds are not ascending");
      }
      if (c.codes.size() != c.bounds.size() + 1 || c.codes.front() != 0 ||
          std::adjacent_find(c.codes.begin(), c.codes.end(), std::greater<>()) != c.codes.end() ||
          c.codes.back() > kMaxCode) {
        return corrupt("codes are not one per bucket, ascending from 0");
      }
    } else {
      if (!column.contains("min") || !column["min"].is_number_unsigned() || !column.contains("max") ||
          !column["max"].is_number_unsigned()) {
        return corrupt("minmax column without min and max");
      }
      c.min = column["min"].get<uint64_t>();
      c.max = column["max"].get<uint64_t>();
    }
    mapped.push_back(std::move(c));
  }
  return KeyMapping(std::move(mapped));
}

KeyStatistics::KeyStatistics(size_t columns, size_t sample_size) : columns_(columns), sample_size_(sample_size) {
  min_.fill(UINT64_MAX);
}

void KeyStatistics::Add(const ZPoint& ordinals) {
  for (size_t j = 0; j < columns_; ++j) {
    min_[j] = std::min(min_[j], ordinals[j]);
    max_[j] = std::max(max_[j], ordinals[j]);
  }
  ++count_;
  if (sample_.size() < sample_size_) {
    sample_.push_back(ordinals);
    return;
  }
  // Algorithm R: the new key replaces a random slot with chance sample/count.
  const uint64_t slot = std::uniform_int_distribution<uint64_t>(0, count_ - 1)(random_);
  if (slot < sample_size_) sample_[slot] = ordinals;
}

KeyMapping KeyStatistics::Fit(KeyNormalization normalization) const {
  std::vector<KeyMapping::Column> columns(columns_);
  std::vector<uint64_t> values;
  for (size_t j = 0; j < columns_; ++j) {
    KeyMapping::Column& c = columns[j];
    c.kind = normalization;
    if (normalization != KeyNormalization::kQuantile) {
      c.min = min_[j];
      c.max = max_[j];
      continue;
    }
    values.clear();
    for (const ZPoint& point : sample_) values.push_back(point[j]);
    std::sort(values.begin(), values.end());
    // Equal-frequency cut points, each value in one bucket: a value that
    // fills several buckets' worth of the sample gets one bucket of its own.
    // Each bucket's code is the sample's share below it.
    const size_t buckets = std::min(KeyMapping::kMaxQuantileBuckets, values.size());
    c.codes.push_back(0);
    for (size_t i = 1; i < buckets; ++i) {
      const uint64_t bound = values[i * values.size() / buckets];
      if (bound == values.front() || (!c.bounds.empty() && bound <= c.bounds.back())) continue;
      const uint64_t below = std::lower_bound(values.begin(), values.end(), bound) - values.begin();
      c.bounds.push_back(bound);
      c.codes.push_back(below * KeyMapping::kMaxCode / values.size());
    }
  }
  return KeyMapping(std::move(columns));
}

}  // namespace predstore
