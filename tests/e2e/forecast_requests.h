// Test support shared by the end-to-end suites: the sample forecasts table
// (`predstore-load sample`, keyed store_id, item_id, horizon_days), read
// back independently of the code under test, and the client options and
// requests that read it. Header-only; stateless.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client/predstore_client.h"
#include "gtest/gtest.h"
#include "tests/e2e/subprocess.h"

namespace predstore::testing {

inline constexpr char kKeys[] = "--keys=store_id:int64,item_id:int64,horizon_days:int64";
inline constexpr char kValues[] = "--values=forecast:double,p90:double";

struct Row {
  int64_t store, item, horizon;
  double forecast, p90;
};

// Reads a sample CSV independently of the code under test.
inline std::vector<Row> ReadSampleCsv(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    Row row;
    char* p = line.data();
    row.store = std::strtoll(p, &p, 10);
    row.item = std::strtoll(p + 1, &p, 10);
    row.horizon = std::strtoll(p + 1, &p, 10);
    row.forecast = std::strtod(p + 1, &p);
    row.p90 = std::strtod(p + 1, &p);
    rows.push_back(row);
  }
  return rows;
}

// Writes a `rows`-row sample (predstore-load sample) to `csv`, loads it into
// `data_dir` as table "forecasts", and returns its rows (none, with a test
// failure, if a program failed).
inline std::vector<Row> LoadSampleForecasts(const std::filesystem::path& csv, const std::filesystem::path& data_dir,
                                            int rows) {
  ProgramResult sample = RunProgram({LoaderBinary(), "sample", "--rows=" + std::to_string(rows), "--out=" + csv.string()});
  if (sample.exit_code != 0) {
    ADD_FAILURE() << "predstore-load sample: " << sample.err;
    return {};
  }
  ProgramResult load =
      RunProgram({LoaderBinary(), "load", "--data_dir=" + data_dir.string(), "--table=forecasts", kKeys, kValues,
                  csv.string()});
  if (load.exit_code != 0) {
    ADD_FAILURE() << "predstore-load load: " << load.err;
    return {};
  }
  return ReadSampleCsv(csv);
}

inline ClientOptions ClientFor(const std::string& target, const std::string& token = "") {
  ClientOptions options;
  options.target = target;
  options.admin_token = token;
  return options;
}

inline v1::Value Int(int64_t v) {
  v1::Value value;
  value.set_int64_value(v);
  return value;
}

inline v1::Value Double(double v) {
  v1::Value value;
  value.set_double_value(v);
  return value;
}

// A BatchLookup of rows[begin, end), key columns in a different order than
// the table's.
inline v1::BatchLookupRequest BatchOf(const std::string& table, const std::vector<Row>& rows, size_t begin,
                                      size_t end) {
  v1::BatchLookupRequest request;
  request.set_table(table);
  request.add_key_columns("item_id");  // any order
  request.add_key_columns("store_id");
  request.add_key_columns("horizon_days");
  for (size_t i = begin; i < end; ++i) {
    v1::KeyRow* key = request.add_keys();
    *key->add_values() = Int(rows[i].item);
    *key->add_values() = Int(rows[i].store);
    *key->add_values() = Int(rows[i].horizon);
  }
  return request;
}

// The same keys as BatchOf in columnar form (key_values), key columns in
// yet another order.
inline v1::BatchLookupRequest ColumnarOf(const std::string& table, const std::vector<Row>& rows, size_t begin,
                                         size_t end) {
  v1::BatchLookupRequest request;
  request.set_table(table);
  for (const char* name : {"horizon_days", "store_id", "item_id"}) {
    request.add_key_columns(name);
    request.add_key_values();
  }
  for (size_t i = begin; i < end; ++i) {
    request.mutable_key_values(0)->add_int64_values(rows[i].horizon);
    request.mutable_key_values(1)->add_int64_values(rows[i].store);
    request.mutable_key_values(2)->add_int64_values(rows[i].item);
  }
  return request;
}

inline v1::LookupRequest LookupOf(const std::string& table, int64_t store, int64_t item, int64_t horizon) {
  v1::LookupRequest request;
  request.set_table(table);
  auto add = [&](const char* name, int64_t v) {
    v1::KeyField* field = request.add_key();
    field->set_column(name);
    *field->mutable_value() = Int(v);
  };
  add("store_id", store);
  add("item_id", item);
  add("horizon_days", horizon);
  return request;
}

}  // namespace predstore::testing
