// End-to-end tests of LoadSnapshot and PredictionStore over a temporary
// data directory: every lookup goes through the public key and value codecs.
#include "core/ingest/batch_load.h"

#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_replace.h"
#include "core/base/strings.h"
#include "core/snapshot/prediction_store.h"
#include "core/snapshot/table_directory.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/cell_printers.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

namespace fs = std::filesystem;
using test_support::StatusHasCode;
using test_support::StatusIs;
using test_support::ValueOrDie;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kTable[] = "preds";

// One input row: lookup cells (partition first, then keys) and value cells.
struct Row {
  std::vector<Cell> lookup;
  std::vector<Cell> values;
};
using Expected = std::map<std::vector<Cell>, std::vector<Cell>>;

std::string CsvField(const Cell& cell) {
  std::string text = FormatCell(ViewOf(cell));
  if (!std::holds_alternative<std::string>(cell)) return text;
  return StrCat("\"", FromAbsl(absl::StrReplaceAll(ToAbsl(text), {{"\"", "\"\""}})), "\"");
}

std::string Csv(const Schema& schema, const std::vector<Row>& rows) {
  std::string out;
  for (size_t i = 0; i < schema.input_columns().size(); ++i)
    StrAppend(&out, i ? "," : "", schema.input_columns()[i].name);
  out += "\n";
  for (const Row& row : rows) {
    std::string line;
    for (const Cell& cell : row.lookup) StrAppend(&line, line.empty() ? "" : ",", CsvField(cell));
    for (const Cell& cell : row.values) StrAppend(&line, ",", CsvField(cell));
    StrAppend(&out, line, "\n");
  }
  return out;
}

// What the rows load to when later rows replace earlier ones.
Expected LastWins(const std::vector<Row>& rows) {
  Expected expected;
  for (const Row& row : rows) expected[row.lookup] = row.values;
  return expected;
}

// The decoded values of the row with lookup cells `lookup`, or nullopt.
std::optional<std::vector<Cell>> Lookup(const TableSnapshot& snapshot, const std::vector<Cell>& lookup) {
  std::string key;
  snapshot.key_codec().Encode(lookup, &key);
  std::optional<std::vector<Cell>> values;
  auto found =
      snapshot.Get(key, [&](std::string_view value) { values = ValueOrDie(snapshot.value_codec().Decode(value)); });
  EXPECT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found.value_or(false), values.has_value());
  return values;
}

// Expects `snapshot` to hold exactly the rows of `expected` (checked by
// lookup, and by the row count of its manifest entry).
void ExpectServes(const TableSnapshot& snapshot, const Expected& expected) {
  EXPECT_EQ(snapshot.info().row_count, expected.size());
  for (const auto& [lookup, values] : expected) {
    auto found = Lookup(snapshot, lookup);
    ASSERT_TRUE(found.has_value()) << ::testing::PrintToString(lookup);
    ASSERT_EQ(*found, values) << ::testing::PrintToString(lookup);
  }
}

class BatchLoadTest : public ::testing::Test {
 protected:
  BatchLoadTest()
      : schema_(ValueOrDie(Schema::Create({{"user", ColumnType::kInt64}, {"item", ColumnType::kString}},
                                          {{"score", ColumnType::kDouble}, {"label", ColumnType::kString}},
                                          std::nullopt))) {}

  fs::path data_dir() const { return dir_.path() / "data"; }
  fs::path table_dir() const { return data_dir() / kTable; }

  // `count` rows with distinct keys; `version` shifts every score.
  std::vector<Row> RandomRows(size_t count, uint64_t seed, double version = 1) {
    std::mt19937_64 rng(seed);
    std::set<std::pair<int64_t, std::string>> keys;
    std::vector<Row> rows;
    while (rows.size() < count) {
      int64_t user = static_cast<int64_t>(rng() % 2001) - 1000;
      std::string item = StrCat("item-", rng() % 100);
      if (rng() % 10 == 0) item += ", \"quoted\"";
      if (!keys.insert({user, item}).second) continue;
      double score = static_cast<double>(rng() % 1000000) / 997.0 + version * 1000;
      rows.push_back(Row{{user, item}, {score, StrCat("label ", rows.size(), " v", version)}});
    }
    return rows;
  }

  LoadRequest Request(std::vector<fs::path> inputs) const {
    LoadRequest request;
    request.data_dir = data_dir();
    request.table = kTable;
    request.schema = schema_;
    request.inputs = std::move(inputs);
    return request;
  }

  absl::StatusOr<LoadResult> Load(const std::string& file_name, const std::vector<Row>& rows) {
    return LoadSnapshot(Request({dir_.WriteFile(file_name, Csv(schema_, rows))}));
  }

  std::unique_ptr<PredictionStore> OpenStore() const {
    StoreOptions options;
    options.data_dir = data_dir();
    options.block_cache_bytes = 8 << 20;
    return ValueOrDie(PredictionStore::Open(options));
  }

  TableManifest ReadManifest() const { return ValueOrDie(TableDirectory(data_dir(), kTable).ReadManifest()); }

  // The part folders on disk, sorted.
  std::vector<std::string> PartDirs() const {
    std::vector<std::string> dirs;
    if (!fs::exists(table_dir() / "parts")) return dirs;
    for (const auto& entry : fs::directory_iterator(table_dir() / "parts")) {
      dirs.push_back(entry.path().filename().string());
    }
    std::sort(dirs.begin(), dirs.end());
    return dirs;
  }

  // True when no load left a staging folder behind.
  bool NoStagingLeft() const {
    fs::path staging = table_dir() / "staging";
    return !fs::exists(staging) || fs::is_empty(staging);
  }

  Schema schema_;
  test_support::ScratchDir dir_;
};

TEST_F(BatchLoadTest, LoadsACsvAndServesEveryRow) {
  std::vector<Row> rows = RandomRows(300, 1);
  std::vector<LoadProgress::Phase> phases;
  uint64_t total_rows = 0;
  LoadRequest request = Request({dir_.WriteFile("v1.csv", Csv(schema_, rows))});
  request.on_progress = [&](const LoadProgress& progress) {
    phases.push_back(progress.phase);
    total_rows = progress.total_rows;
  };
  ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(request));
  EXPECT_EQ(result.version, 1u);
  EXPECT_EQ(result.rows, 300u);
  EXPECT_EQ(result.parts, 1u);
  EXPECT_EQ(result.duplicates_dropped, 0u);
  EXPECT_EQ(result.spilled_runs, 0);
  EXPECT_THAT(phases, ::testing::IsSupersetOf({LoadProgress::Phase::kWriting, LoadProgress::Phase::kPublishing}));
  EXPECT_EQ(total_rows, 300u);
  EXPECT_TRUE(NoStagingLeft());

  auto store = OpenStore();
  EXPECT_EQ(store->Find("other"), nullptr);
  ASSERT_EQ(store->Tables().size(), 1u);
  auto snapshot = store->Find(kTable);
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->table(), kTable);
  EXPECT_EQ(snapshot->version(), 1u);
  EXPECT_TRUE(snapshot->schema() == schema_);
  ExpectServes(*snapshot, LastWins(rows));
  EXPECT_EQ(Lookup(*snapshot, {int64_t{5000}, std::string("item-1")}), std::nullopt);
  EXPECT_EQ(Lookup(*snapshot, {std::get<int64_t>(rows[0].lookup[0]), std::string("no such item")}), std::nullopt);
}

TEST_F(BatchLoadTest, LoadsJsonLines) {
  auto path = dir_.WriteFile("v1.jsonl",
                             "{\"user\":1,\"item\":\"a\",\"score\":0.5,\"label\":\"x\"}\n"
                             "{\"label\":\"y\",\"score\":-2,\"item\":\"b\",\"user\":-1}\n");
  ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(Request({path})));
  EXPECT_EQ(result.rows, 2u);
  auto snapshot = OpenStore()->Find(kTable);
  ASSERT_NE(snapshot, nullptr);
  ExpectServes(*snapshot, {{{int64_t{1}, std::string("a")}, {0.5, std::string("x")}},
                           {{int64_t{-1}, std::string("b")}, {-2.0, std::string("y")}}});
}

// gzip (two concatenated members, as parallel writers make) and zstd.
std::string Gzip(std::string_view first, std::string_view second) {
  std::string out;
  for (std::string_view part : {first, second}) {
    z_stream stream{};
    deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string buffer(deflateBound(&stream, part.size()) + 32, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
    stream.avail_in = static_cast<uInt>(part.size());
    stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
    stream.avail_out = static_cast<uInt>(buffer.size());
    deflate(&stream, Z_FINISH);
    out.append(buffer.data(), buffer.size() - stream.avail_out);
    deflateEnd(&stream);
  }
  return out;
}
std::string Zstd(std::string_view text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3));
  return out;
}

TEST_F(BatchLoadTest, LoadsGzipAndZstdTextFromAFolder) {
  const std::string csv = Csv(schema_, RandomRows(200, 7));
  const size_t split = csv.find('\n', csv.size() / 2) + 1;
  for (const char* folder : {"out", "bad", "cut"}) fs::create_directories(dir_.path() / folder);
  dir_.WriteFile("out/part-00000.csv.gz", Gzip(csv.substr(0, split), csv.substr(split)));
  dir_.WriteFile("out/part-00001.jsonl.zst", Zstd("{\"user\":1,\"item\":\"z\",\"score\":0.5,\"label\":\"x\"}\n"));
  ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(Request({dir_.path() / "out"})));
  EXPECT_EQ(result.rows, 201u);
  EXPECT_EQ(result.files, 2u);
  auto snapshot = OpenStore()->Find(kTable);
  ASSERT_NE(snapshot, nullptr);
  std::vector<Row> rows = RandomRows(200, 7);
  rows.push_back(Row{{int64_t{1}, std::string("z")}, {0.5, std::string("x")}});
  ExpectServes(*snapshot, LastWins(rows));
  EXPECT_TRUE(NoStagingLeft());  // the decompressed copies went with the staging folder

  // Errors name the compressed file; corrupt data is refused whole.
  auto bad = dir_.WriteFile("bad/part-0.csv.gz", Gzip("user,item,score,label\n1,a,x,b\n", ""));
  EXPECT_THAT(LoadSnapshot(Request({bad})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad.string() + ":2:")));
  std::string truncated = Gzip(csv, "");
  truncated.resize(truncated.size() / 2);
  auto cut = dir_.WriteFile("cut/part-0.csv.gz", truncated);
  EXPECT_THAT(LoadSnapshot(Request({cut})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(cut.string() + ": truncated gzip data")));
  EXPECT_EQ(ReadManifest().active_version, 1u);
  EXPECT_TRUE(NoStagingLeft());
}

TEST_F(BatchLoadTest, MultiGetVisitsHitsAndMissesInRequestOrder) {
  std::vector<Row> rows = RandomRows(50, 2);
  ASSERT_OK(Load("v1.csv", rows));
  auto snapshot = OpenStore()->Find(kTable);
  ASSERT_NE(snapshot, nullptr);

  std::vector<std::vector<Cell>> requests = {rows[5].lookup, {int64_t{99999}, std::string("miss")},
                                             rows[0].lookup, {int64_t{-99999}, std::string("")},
                                             rows[5].lookup, rows[17].lookup};
  std::vector<std::string> keys(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) snapshot->key_codec().Encode(requests[i], &keys[i]);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::pair<size_t, std::optional<std::vector<Cell>>>> visits;
  ASSERT_OK(snapshot->MultiGet(views, [&](size_t i, const std::string_view* value) {
    visits.emplace_back(i, value ? std::optional(ValueOrDie(snapshot->value_codec().Decode(*value))) : std::nullopt);
  }));
  using Visit = std::pair<size_t, std::optional<std::vector<Cell>>>;
  EXPECT_THAT(visits, ElementsAre(Visit{0, rows[5].values}, Visit{1, std::nullopt}, Visit{2, rows[0].values},
                                  Visit{3, std::nullopt}, Visit{4, rows[5].values}, Visit{5, rows[17].values}));

  int empty_visits = 0;
  ASSERT_OK(snapshot->MultiGet({}, [&](size_t, const std::string_view*) { ++empty_visits; }));
  EXPECT_EQ(empty_visits, 0);
}

TEST_F(BatchLoadTest, SecondLoadMakesVersion2AndRefreshAndRollbackSwap) {
  std::vector<Row> v1 = RandomRows(100, 3, 1);
  std::vector<Row> v2 = RandomRows(100, 3, 2);  // same keys, new scores and labels
  v2.push_back(Row{{int64_t{123456}, std::string("only in v2")}, {7.0, std::string("new")}});
  ASSERT_OK(Load("v1.csv", v1));
  auto store = OpenStore();
  auto first = store->Find(kTable);
  ASSERT_NE(first, nullptr);

  ASSERT_OK_AND_ASSIGN(LoadResult second, Load("v2.csv", v2));
  EXPECT_EQ(second.version, 2u);
  // Until Refresh, the store keeps serving version 1.
  EXPECT_EQ(store->Find(kTable), first);
  ASSERT_OK_AND_ASSIGN(auto served, store->Refresh(kTable));
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0]->version(), 2u);
  auto current = store->Find(kTable);
  ASSERT_NE(current, nullptr);
  EXPECT_EQ(current->version(), 2u);
  ExpectServes(*current, LastWins(v2));
  // A snapshot taken before the swap still reads version 1 only.
  ExpectServes(*first, LastWins(v1));
  EXPECT_EQ(Lookup(*first, {int64_t{123456}, std::string("only in v2")}), std::nullopt);
  // Refreshing again with nothing new keeps the same snapshot.
  ASSERT_OK(store->Refresh(""));
  EXPECT_EQ(store->Find(kTable), current);

  ASSERT_OK_AND_ASSIGN(auto rolled_back, store->Rollback(kTable, 1));
  EXPECT_EQ(rolled_back->version(), 1u);
  EXPECT_EQ(store->Find(kTable)->version(), 1u);
  ExpectServes(*store->Find(kTable), LastWins(v1));
  EXPECT_EQ(ReadManifest().active_version, 1u);
  EXPECT_THAT(store->Rollback(kTable, 0), StatusHasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store->Rollback(kTable, 7), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(store->Refresh("nope"), StatusHasCode(absl::StatusCode::kNotFound));
  // Rolling forward again.
  ASSERT_OK_AND_ASSIGN(auto forward, store->Rollback(kTable, 2));
  ExpectServes(*forward, LastWins(v2));

  // A version that cannot be opened is never made active: the rollback
  // fails and the manifest and the served snapshot stay on version 2. (A
  // fresh store, which has not opened version 1's part yet.)
  auto fresh = OpenStore();
  const auto served_before = fresh->Find(kTable);
  ASSERT_EQ(ReadManifest().versions.back().version, 1u);
  const fs::path v1_part = table_dir() / ReadManifest().versions.back().parts.at(0).dir;
  ASSERT_TRUE(fs::remove(v1_part / "CURRENT")) << v1_part;
  EXPECT_FALSE(fresh->Rollback(kTable, 1).ok());
  EXPECT_EQ(ReadManifest().active_version, 2u);
  EXPECT_EQ(fresh->Find(kTable), served_before);
}

TEST_F(BatchLoadTest, KeepVersionsPrunesOldPartsFromDisk) {
  for (int version = 1; version <= 3; ++version) {
    LoadRequest request =
        Request({dir_.WriteFile(StrCat("v", version, ".csv"), Csv(schema_, RandomRows(20, version, version)))});
    request.keep_versions = 2;
    ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(request));
    EXPECT_EQ(result.version, static_cast<uint64_t>(version));
  }
  EXPECT_THAT(PartDirs(), ElementsAre("v2-0", "v3-0"));
  TableManifest manifest = ReadManifest();
  EXPECT_EQ(manifest.active_version, 3u);
  EXPECT_EQ(manifest.next_version, 4u);
  ASSERT_EQ(manifest.versions.size(), 2u);
  EXPECT_EQ(manifest.versions[0].version, 3u);
  EXPECT_EQ(manifest.versions[1].version, 2u);
  EXPECT_EQ(manifest.Find(1), nullptr);

  auto store = OpenStore();
  EXPECT_EQ(store->Find(kTable)->version(), 3u);
  EXPECT_THAT(store->Rollback(kTable, 1), StatusHasCode(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(auto previous, store->Rollback(kTable, 0));
  EXPECT_EQ(previous->version(), 2u);
  ExpectServes(*previous, LastWins(RandomRows(20, 2, 2)));
}

TEST_F(BatchLoadTest, BadRowFailsWithItsLineAndChangesNothing) {
  std::vector<Row> v1 = RandomRows(10, 4);
  ASSERT_OK(Load("v1.csv", v1));
  auto store = OpenStore();
  auto before = store->Find(kTable);
  ASSERT_NE(before, nullptr);

  auto bad = dir_.WriteFile("bad.csv",
                            "user,item,score,label\n"
                            "1,a,0.5,x\n"
                            "2,b,not-a-number,y\n"
                            "3,c,1.5,z\n");
  EXPECT_THAT(LoadSnapshot(Request({bad})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(StrCat(bad.string(), ":3:")), HasSubstr("column \"score\""))));
  TableManifest manifest = ReadManifest();
  EXPECT_EQ(manifest.active_version, 1u);
  EXPECT_EQ(manifest.next_version, 2u);
  EXPECT_EQ(manifest.versions.size(), 1u);
  EXPECT_THAT(PartDirs(), ElementsAre("v1-0"));
  EXPECT_TRUE(NoStagingLeft());
  ASSERT_OK(store->Refresh(kTable));
  EXPECT_EQ(store->Find(kTable), before);
  ExpectServes(*before, LastWins(v1));

  // A reader error (an unterminated quote) in a second input file.
  auto good = dir_.WriteFile("good.csv", "user,item,score,label\n1,a,0.5,x\n");
  auto broken = dir_.WriteFile("broken.csv", "user,item,score,label\n1,b,0.5,x\n2,\"c,1,y\n");
  EXPECT_THAT(LoadSnapshot(Request({good, broken})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(StrCat(broken.string(), ":3:"))));
  EXPECT_EQ(ReadManifest().active_version, 1u);
  EXPECT_TRUE(NoStagingLeft());
}

TEST_F(BatchLoadTest, FailedFirstLoadCreatesNoTable) {
  auto bad = dir_.WriteFile("bad.csv", "user,item,score,label\n1,a,0.5,x\n1,b,0.5\n");
  EXPECT_THAT(LoadSnapshot(Request({bad})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(StrCat(bad.string(), ":3:"))));
  EXPECT_THAT(TableDirectory(data_dir(), kTable).ReadManifest(), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_TRUE(NoStagingLeft());
  EXPECT_TRUE(PartDirs().empty());
  auto store = OpenStore();
  EXPECT_EQ(store->Find(kTable), nullptr);
  EXPECT_TRUE(store->Tables().empty());
}

TEST_F(BatchLoadTest, DuplicateKeysAreRejectedNamingBothLines) {
  auto path = dir_.WriteFile("dups.csv",
                             "user,item,score,label\n"
                             "1,a,0.5,first\n"  // line 2
                             "2,b,1.5,other\n"
                             "3,c,2.5,other\n"
                             "1,a,9.5,last\n");  // line 5
  EXPECT_THAT(LoadSnapshot(Request({path})),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr(StrCat(path.string(), ":5: duplicate key")),
                                                                 HasSubstr(StrCat("first at ", path.string(), ":2")))));
  EXPECT_THAT(TableDirectory(data_dir(), kTable).ReadManifest(), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_TRUE(NoStagingLeft());

  LoadRequest request = Request({path});
  request.last_wins = true;
  ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(request));
  EXPECT_EQ(result.rows, 3u);
  EXPECT_EQ(result.duplicates_dropped, 1u);
  auto snapshot = OpenStore()->Find(kTable);
  ASSERT_NE(snapshot, nullptr);
  ExpectServes(*snapshot, {{{int64_t{1}, std::string("a")}, {9.5, std::string("last")}},
                           {{int64_t{2}, std::string("b")}, {1.5, std::string("other")}},
                           {{int64_t{3}, std::string("c")}, {2.5, std::string("other")}}});
}

TEST_F(BatchLoadTest, DuplicateKeysAcrossFiles) {
  auto first = dir_.WriteFile("first.csv", "user,item,score,label\n5,k,1,old\n6,k,1,keep\n7,k,1,x\n");
  auto second = dir_.WriteFile("second.csv", "user,item,score,label\n5,k,2,new\n");
  EXPECT_THAT(
      LoadSnapshot(Request({first, second})),
      StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr(StrCat(second.string(), ":2: duplicate key")),
                                                         HasSubstr(StrCat("first at ", first.string(), ":2")))));
  LoadRequest request = Request({first, second});
  request.last_wins = true;
  ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(request));
  EXPECT_EQ(result.duplicates_dropped, 1u);
  auto snapshot = OpenStore()->Find(kTable);
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(Lookup(*snapshot, {int64_t{5}, std::string("k")}), (std::vector<Cell>{2.0, std::string("new")}));
  EXPECT_EQ(Lookup(*snapshot, {int64_t{6}, std::string("k")}), (std::vector<Cell>{1.0, std::string("keep")}));
}

TEST_F(BatchLoadTest, SchemaMismatchOnASecondLoadIsFailedPrecondition) {
  std::vector<Row> v1 = RandomRows(10, 5);
  ASSERT_OK(Load("v1.csv", v1));
  Schema wider = ValueOrDie(Schema::Create(
      {{"user", ColumnType::kInt64}, {"item", ColumnType::kString}},
      {{"score", ColumnType::kDouble}, {"label", ColumnType::kString}, {"extra", ColumnType::kInt64}}, std::nullopt));
  LoadRequest request = Request({dir_.WriteFile("wider.csv", "user,item,score,label,extra\n1,a,0.5,x,3\n")});
  request.schema = wider;
  EXPECT_THAT(LoadSnapshot(request), StatusHasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ReadManifest().active_version, 1u);
  EXPECT_EQ(ReadManifest().versions.size(), 1u);
  EXPECT_THAT(PartDirs(), ElementsAre("v1-0"));
  EXPECT_TRUE(NoStagingLeft());

  // Without a schema the stored one is used.
  std::vector<Row> v2 = RandomRows(10, 5, 2);
  LoadRequest stored = Request({dir_.WriteFile("v2.csv", Csv(schema_, v2))});
  stored.schema.reset();
  ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(stored));
  EXPECT_EQ(result.version, 2u);
  ExpectServes(*OpenStore()->Find(kTable), LastWins(v2));

  // A new table needs a schema.
  LoadRequest unknown = stored;
  unknown.table = "unknown";
  EXPECT_THAT(LoadSnapshot(unknown), StatusHasCode(absl::StatusCode::kNotFound));
}

TEST_F(BatchLoadTest, PartitionedTableHasOnePartPerDate) {
  Schema schema = ValueOrDie(Schema::Create({{"user", ColumnType::kInt64}}, {{"score", ColumnType::kDouble}},
                                            Column{"day", ColumnType::kDate}));
  const std::vector<std::string> days = {"2026-11-28", "2026-11-24", "2026-11-26"};
  std::vector<Row> rows;
  for (int user = 0; user < 40; ++user) {
    for (size_t d = 0; d < days.size(); ++d) {
      rows.push_back(Row{{ValueOrDie(ParseCell(ColumnType::kDate, days[d])), int64_t{user * 7 - 100}},
                         {user + 0.25 * static_cast<double>(d)}});
    }
  }
  LoadRequest request = Request({dir_.WriteFile("days.csv", Csv(schema, rows))});
  request.schema = schema;
  ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(request));
  EXPECT_EQ(result.parts, 3u);
  EXPECT_EQ(result.rows, 120u);

  TableManifest manifest = ReadManifest();
  const SnapshotVersion* version = manifest.Find(1);
  ASSERT_NE(version, nullptr);
  std::vector<std::optional<std::string>> partitions;
  for (const PartInfo& part : version->parts) {
    partitions.push_back(part.partition);
    EXPECT_EQ(part.rows, 40u);
  }
  EXPECT_THAT(partitions, ElementsAre("2026-11-24", "2026-11-26", "2026-11-28"));
  EXPECT_EQ(PartDirs().size(), 3u);

  auto snapshot = OpenStore()->Find(kTable);
  ASSERT_NE(snapshot, nullptr);
  ExpectServes(*snapshot, LastWins(rows));
  // Dates with no partition: before, between and after the loaded ones.
  for (const char* day : {"2026-11-23", "2026-11-25", "2026-11-27", "2026-11-29"}) {
    EXPECT_EQ(Lookup(*snapshot, {ValueOrDie(ParseCell(ColumnType::kDate, day)), int64_t{-100}}), std::nullopt) << day;
  }

  // MultiGet across partitions, including missing ones, in request order.
  std::vector<std::vector<Cell>> requests = {rows[0].lookup,
                                             {ValueOrDie(ParseCell(ColumnType::kDate, "2026-11-25")), int64_t{-100}},
                                             rows[4].lookup,
                                             rows[2].lookup,
                                             {rows[1].lookup[0], int64_t{1}}};
  std::vector<std::string> keys(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) snapshot->key_codec().Encode(requests[i], &keys[i]);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::optional<std::vector<Cell>>> answers;
  ASSERT_OK(snapshot->MultiGet(views, [&](size_t i, const std::string_view* value) {
    EXPECT_EQ(i, answers.size());
    answers.push_back(value ? std::optional(ValueOrDie(snapshot->value_codec().Decode(*value))) : std::nullopt);
  }));
  EXPECT_THAT(answers, ElementsAre(rows[0].values, std::nullopt, rows[4].values, rows[2].values, std::nullopt));
}

TEST_F(BatchLoadTest, SmallMemoryBudgetSpillsRunsAndServesTheSameRows) {
  std::vector<Row> rows = RandomRows(1500, 6);
  // Repeat a third of the keys later in the file with new values.
  for (size_t i = 0; i < 500; ++i) {
    Row repeat = rows[i * 3];
    repeat.values = {-static_cast<double>(i), StrCat("repeat ", i)};
    rows.push_back(std::move(repeat));
  }
  LoadRequest request = Request({dir_.WriteFile("big.csv", Csv(schema_, rows))});
  request.memory_budget_bytes = 4096;
  request.last_wins = true;
  ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(request));
  EXPECT_GT(result.spilled_runs, 1);
  EXPECT_EQ(result.rows, 1500u);
  EXPECT_EQ(result.duplicates_dropped, 500u);
  EXPECT_TRUE(NoStagingLeft());
  auto snapshot = OpenStore()->Find(kTable);
  ASSERT_NE(snapshot, nullptr);
  ExpectServes(*snapshot, LastWins(rows));

  // The same input without last_wins fails on a duplicate even when spilled.
  request.last_wins = false;
  EXPECT_THAT(LoadSnapshot(request), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate key")));
  EXPECT_EQ(ReadManifest().active_version, 1u);
  EXPECT_TRUE(NoStagingLeft());
}

TEST_F(BatchLoadTest, ManyWorkersSmallBatchesAndSmallSstFilesServeTheSameRows) {
  // Records in batches of 7 on 3 workers, SST files of about 1 KiB written
  // side by side: one part of many files, every row served, in key order.
  std::vector<Row> rows = RandomRows(1500, 8);
  LoadRequest request = Request({dir_.WriteFile("many.csv", Csv(schema_, rows))});
  request.batches = {3, 7};
  request.sst_file_bytes = 1024;
  ASSERT_OK_AND_ASSIGN(LoadResult result, LoadSnapshot(request));
  EXPECT_EQ(result.rows, 1500u);
  EXPECT_EQ(result.parts, 1u);
  size_t sst_files = 0;
  for (const auto& entry : fs::directory_iterator(table_dir() / "parts" / PartDirs().front())) {
    sst_files += entry.path().extension() == ".sst";
  }
  EXPECT_GT(sst_files, 20u);
  auto snapshot = OpenStore()->Find(kTable);
  ASSERT_NE(snapshot, nullptr);
  ExpectServes(*snapshot, LastWins(rows));
  std::vector<std::string> keys;
  ASSERT_TRUE(snapshot->Scan(ScanQuery{}, [&](std::string_view key, std::string_view) { keys.emplace_back(key); }).ok());
  EXPECT_EQ(keys.size(), 1500u);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

TEST_F(BatchLoadTest, RejectsBadRequests) {
  EXPECT_THAT(LoadSnapshot(Request({})), StatusHasCode(absl::StatusCode::kInvalidArgument));
  LoadRequest bad_name = Request({dir_.WriteFile("x.csv", "user,item,score,label\n1,a,1,x\n")});
  bad_name.table = "../escape";
  EXPECT_THAT(LoadSnapshot(bad_name), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LoadSnapshot(Request({dir_.path() / "missing.csv"})), StatusHasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(LoadSnapshot(Request({dir_.WriteFile("x.txt", "user,item,score,label\n1,a,1,x\n")})),
              StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(fs::exists(table_dir() / "manifest.json"));
}

// A table with nullable columns is written as manifest format 2, which
// builds before nullable columns refuse instead of misreading its rows;
// strict tables stay format 1. Unknown formats are refused naming them.
TEST_F(BatchLoadTest, TheManifestFormatFollowsTheSchema) {
  auto format_of = [&](const std::string& table) {
    std::ifstream in(data_dir() / table / "manifest.json");
    return nlohmann::json::parse(in).value("format_version", 0);
  };
  ASSERT_OK(Load("strict.csv", RandomRows(5, 1, 1)).status());
  EXPECT_EQ(format_of(kTable), 1);
  LoadRequest nullable = Request({dir_.WriteFile("nullable.csv", "user,item,score,label\n1,a,,x\n")});
  nullable.table = "nullable";
  nullable.schema = ValueOrDie(Schema::Create(schema_.key_columns(),
                                              {{"score", ColumnType::kDouble, true}, {"label", ColumnType::kString}},
                                              std::nullopt));
  ASSERT_OK(LoadSnapshot(nullable).status());
  EXPECT_EQ(format_of("nullable"), 2);
  EXPECT_TRUE(ValueOrDie(TableDirectory(data_dir(), "nullable").ReadManifest()).schema == nullable.schema);
  std::string text;
  {
    std::ifstream in(data_dir() / "nullable" / "manifest.json");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = text.find("\"format_version\": 2");
  ASSERT_NE(at, std::string::npos);
  const std::string newer = std::to_string(kManifestFormatVersion + 1);
  std::ofstream(data_dir() / "nullable" / "manifest.json") << text.replace(at, 19, "\"format_version\": " + newer);
  EXPECT_THAT(TableDirectory(data_dir(), "nullable").ReadManifest(),
              test_support::StatusIs(absl::StatusCode::kDataLoss,
                                     HasSubstr("unsupported manifest format version " + newer)));
  // A sharded table's manifest is format 3.
  LoadRequest sharded = Request({dir_.WriteFile("sharded.csv", Csv(schema_, RandomRows(20, 1, 1)))});
  sharded.table = "sharded";
  sharded.shards = 2;
  ASSERT_OK(LoadSnapshot(sharded).status());
  EXPECT_EQ(format_of("sharded"), 3);
}

}  // namespace
}  // namespace predstore
