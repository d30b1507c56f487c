#include "core/ingest/record_reader.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/status_matchers.h"

namespace predstore {
namespace {

using test_support::IsOkAndHolds;
using test_support::StatusHasCode;
using test_support::StatusIs;
using test_support::ValueOrDie;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A copy of one field, with where it was found.
struct Field {
  std::optional<std::string> text;  // nullopt when absent
  FieldText::Kind kind = FieldText::Kind::kText;
  uint64_t line = 0;
  uint32_t column = 0;
  bool operator==(const Field&) const = default;
};

void PrintTo(const Field& field, std::ostream* os) {
  *os << (field.text ? ::testing::PrintToString(*field.text) : std::string("<absent>")) << " kind "
      << static_cast<int>(field.kind) << " at " << field.line << ":" << field.column;
}

struct Record {
  uint64_t line = 0;
  std::vector<Field> fields;  // one per schema input column
};

Field Text(std::string text, uint64_t line, uint32_t column, FieldText::Kind kind = FieldText::Kind::kText) {
  return Field{std::move(text), kind, line, column};
}
Field Absent(uint64_t line, uint32_t column, FieldText::Kind kind = FieldText::Kind::kText) {
  return Field{std::nullopt, kind, line, column};
}

class RecordReaderTest : public ::testing::Test {
 protected:
  // Input columns: id, name, score, note.
  RecordReaderTest()
      : schema_(ValueOrDie(Schema::Create({{"id", ColumnType::kInt64}, {"name", ColumnType::kString}},
                                          {{"score", ColumnType::kDouble}, {"note", ColumnType::kString}},
                                          std::nullopt))) {}

  // Every record of the file, or the first error.
  absl::StatusOr<std::vector<Record>> ReadAll(const std::filesystem::path& path, InputFormat format) {
    auto reader = OpenRecordReader(path, format, schema_, options_);
    if (!reader.ok()) return reader.status();
    EXPECT_EQ((*reader)->path(), path.string());
    std::vector<Record> records;
    for (;;) {
      auto has_record = (*reader)->Next();
      if (!has_record.ok()) return has_record.status();
      if (!*has_record) break;
      Record record;
      record.line = (*reader)->line();
      EXPECT_EQ((*reader)->fields().size(), schema_.input_columns().size());
      for (const FieldText& f : (*reader)->fields()) {
        record.fields.push_back(Field{f.present ? std::optional<std::string>(std::string(f.text)) : std::nullopt,
                                      f.kind, f.line, f.column});
      }
      records.push_back(std::move(record));
    }
    EXPECT_EQ((*reader)->bytes_read(), (*reader)->total_bytes());
    EXPECT_EQ((*reader)->total_bytes(), std::filesystem::file_size(path));
    // The end is sticky.
    EXPECT_THAT((*reader)->Next(), IsOkAndHolds(false));
    return records;
  }

  // Expects reading `contents` to fail with kInvalidArgument naming
  // "<path>:<line>:<column>:" (any column when `column` is 0) and containing
  // `message_part`.
  void ExpectError(const std::string& label, std::string_view contents, InputFormat format, uint64_t line,
                   uint32_t column, std::string_view message_part) {
    SCOPED_TRACE(label);
    std::filesystem::path path =
        dir_.WriteFile(StrCat("case", case_counter_++, format == InputFormat::kCsv ? ".csv" : ".jsonl"), contents);
    EXPECT_THAT(ReadAll(path, format),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(column == 0 ? StrCat(path.string(), ":", line, ":")
                                                     : StrCat(path.string(), ":", line, ":", column, ": ")),
                               HasSubstr(std::string(message_part)))));
  }

  Schema schema_;
  ReadOptions options_;  // for ReadAll
  test_support::ScratchDir dir_;
  int case_counter_ = 0;
};

// --- Formats ----------------------------------------------------------------

TEST(InputFormatTest, ByNameAndExtension) {
  EXPECT_THAT(ParseInputFormat("csv"), IsOkAndHolds(InputFormat::kCsv));
  EXPECT_THAT(ParseInputFormat("jsonl"), IsOkAndHolds(InputFormat::kJsonLines));
  EXPECT_THAT(ParseInputFormat("xml"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(InputFormatOfPath("/a/b.csv"), IsOkAndHolds(InputFormat::kCsv));
  EXPECT_THAT(InputFormatOfPath("b.CSV"), IsOkAndHolds(InputFormat::kCsv));
  EXPECT_THAT(InputFormatOfPath("b.jsonl"), IsOkAndHolds(InputFormat::kJsonLines));
  EXPECT_THAT(InputFormatOfPath("b.ndjson"), IsOkAndHolds(InputFormat::kJsonLines));
  EXPECT_THAT(InputFormatOfPath("b.json"), IsOkAndHolds(InputFormat::kJsonLines));
  EXPECT_THAT(InputFormatOfPath("b.txt"), StatusHasCode(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(InputFormatOfPath("noext"), StatusHasCode(absl::StatusCode::kInvalidArgument));
}

TEST_F(RecordReaderTest, MissingFileIsNotFound) {
  EXPECT_THAT(OpenRecordReader(dir_.path() / "absent.csv", InputFormat::kCsv, schema_),
              StatusHasCode(absl::StatusCode::kNotFound));
}

// --- CSV --------------------------------------------------------------------

TEST_F(RecordReaderTest, CsvQuotingAndHeaderOrder) {
  auto path = dir_.WriteFile("in.csv",
                             "note,score,id,name\n"                        // 1
                             "plain,1.5,1,alice\n"                         // 2
                             "\"with, comma\",2.5,2,\"bob\"\n"             // 3
                             "\"multi\nline \"\"quoted\"\"\",3,3,carol\n"  // 4-5
                             ",4,4,\"\"\n"                                 // 6
                             "\"\"\"\",5,5,\"a\"\"b\"\n");                 // 7
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kCsv));
  ASSERT_EQ(records.size(), 5u);
  // Fields come in schema order (id, name, score, note) whatever the header order.
  EXPECT_EQ(records[0].line, 2u);
  EXPECT_THAT(records[0].fields,
              ElementsAre(Text("1", 2, 11), Text("alice", 2, 13), Text("1.5", 2, 7), Text("plain", 2, 1)));
  EXPECT_EQ(records[1].line, 3u);
  EXPECT_THAT(records[1].fields,
              ElementsAre(Text("2", 3, 19), Text("bob", 3, 21), Text("2.5", 3, 15), Text("with, comma", 3, 1)));
  EXPECT_EQ(records[2].line, 4u);
  EXPECT_THAT(records[2].fields, ElementsAre(Text("3", 5, 20), Text("carol", 5, 22), Text("3", 5, 18),
                                             Text("multi\nline \"quoted\"", 4, 1)));
  // An empty unquoted field is absent; an empty quoted one is an empty string.
  EXPECT_EQ(records[3].line, 6u);
  EXPECT_THAT(records[3].fields, ElementsAre(Text("4", 6, 4), Text("", 6, 6), Text("4", 6, 2), Absent(6, 1)));
  EXPECT_EQ(records[4].line, 7u);
  EXPECT_THAT(records[4].fields, ElementsAre(Text("5", 7, 8), Text("a\"b", 7, 10), Text("5", 7, 6), Text("\"", 7, 1)));
}

TEST_F(RecordReaderTest, CsvCrLfAndByteOrderMark) {
  auto path = dir_.WriteFile("crlf.csv",
                             "\xEF\xBB\xBFid,name,score,note\r\n"
                             "1,a,1.5,x\r\n"
                             "2,\"b\r\nc\",2,\"y\"\r\n"
                             "3,c,3,\r\n");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kCsv));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].line, 2u);
  EXPECT_THAT(records[0].fields, ElementsAre(Text("1", 2, 1), Text("a", 2, 3), Text("1.5", 2, 5), Text("x", 2, 9)));
  EXPECT_EQ(records[1].line, 3u);
  EXPECT_THAT(records[1].fields, ElementsAre(Text("2", 3, 1), Text("b\r\nc", 3, 3), Text("2", 4, 4), Text("y", 4, 6)));
  EXPECT_EQ(records[2].line, 5u);
  EXPECT_THAT(records[2].fields, ElementsAre(Text("3", 5, 1), Text("c", 5, 3), Text("3", 5, 5), Absent(5, 7)));
}

TEST_F(RecordReaderTest, CsvQuotedHeaderNames) {
  auto path = dir_.WriteFile("quoted_header.csv", "\"id\",\"name\",score,\"note\"\n7,n,0.5,z\n");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kCsv));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_THAT(records[0].fields, ElementsAre(Text("7", 2, 1), Text("n", 2, 3), Text("0.5", 2, 5), Text("z", 2, 9)));
}

TEST_F(RecordReaderTest, CsvDefectsNameFileLineAndColumn) {
  const std::string header = "id,name,score,note\n";
  const auto csv = InputFormat::kCsv;
  ExpectError("too few fields", header + "1,a,2.0,x\n2,b,3.0\n", csv, 3, 1, "expected 4 fields, found 3");
  ExpectError("too many fields", header + "1,a,2.0,x,extra\n", csv, 2, 11, "too many fields");
  ExpectError("too few fields after a multi-line field", header + "1,\"a\nb\",1,y\n1,2\n", csv, 4, 1,
              "expected 4 fields, found 2");
  ExpectError("blank line", header + "1,a,1,x\n\n2,b,2,y\n", csv, 3, 1, "expected 4 fields, found 1");
  ExpectError("unknown header column", "id,name,score,bogus,note\n1,a,1,x,y\n", csv, 1, 15, "unknown column \"bogus\"");
  ExpectError("missing header column", "id,name,score\n1,a,1\n", csv, 1, 1, "\"note\"");
  ExpectError("duplicate header column", "id,name,id,score,note\n1,a,1,2,x\n", csv, 1, 9,
              "column \"id\" appears twice");
  ExpectError("unterminated quote", header + "1,a,1,x\n2,\"b,2,y\n3,c,3,z\n", csv, 3, 3, "unterminated");
  ExpectError("stray quote", header + "1,a\"b,1,x\n", csv, 2, 4, "quote");
  ExpectError("text after a closing quote", header + "1,\"ab\"c,1,x\n", csv, 2, 7, "closing quote");
  ExpectError("invalid UTF-8 byte",
              header +
                  "1,a,1,x\n2,b\xFF"
                  "c,2,y\n",
              csv, 3, 4, "UTF-8");
  ExpectError("overlong UTF-8", header + "1,a,1,\xC0\xAF\n", csv, 2, 7, "UTF-8");
  ExpectError("UTF-16 surrogate", header + "1,ok\xED\xA0\x80,1,x\n", csv, 2, 5, "UTF-8");
  ExpectError("cut multi-byte sequence", header + "1,a,1,x\xE2\x82\n", csv, 2, 8, "UTF-8");
  ExpectError("invalid UTF-8 in the header",
              "id,n\xFF"
              "ame,score,note\n1,a,1,x\n",
              csv, 1, 5, "UTF-8");
  ExpectError("truncated last line", header + "1,a,1,x\n2,b,2,y", csv, 3, 8, "truncated");
  ExpectError("empty file", "", csv, 1, 1, "empty");
  ExpectError("header only", header, csv, 2, 1, "no data rows");
  ExpectError("header only, CRLF", "id,name,score,note\r\n", csv, 2, 1, "no data rows");
}

TEST_F(RecordReaderTest, CsvValidUtf8IsAccepted) {
  auto path =
      dir_.WriteFile("utf8.csv", "id,name,score,note\n1,caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80,1,\xE4\xB8\xAD\n");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kCsv));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].fields[1].text, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(records[0].fields[3].text, "\xE4\xB8\xAD");
}

// --- JSON Lines -------------------------------------------------------------

TEST_F(RecordReaderTest, JsonLinesFieldsInAnyOrder) {
  using Kind = FieldText::Kind;
  auto path = dir_.WriteFile("in.jsonl",
                             "{\"note\":\"n1\",\"score\":1.5,\"name\":\"alice\",\"id\":1}\n"
                             "{\"id\":2,\"name\":\"b\\\"ob\\n\\u00e9\",\"score\":-2e3,\"note\":null}\n"
                             "{\"id\":3, \"name\" : \"c\" , \"score\":true}\r\n"
                             "  {\"id\": 4 }  \n");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kJsonLines));
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].line, 1u);
  EXPECT_THAT(records[0].fields,
              ElementsAre(Text("1", 1, 46, Kind::kJsonNumber), Text("alice", 1, 33, Kind::kJsonString),
                          Text("1.5", 1, 22, Kind::kJsonNumber), Text("n1", 1, 9, Kind::kJsonString)));
  EXPECT_EQ(records[1].line, 2u);
  ASSERT_EQ(records[1].fields.size(), 4u);
  EXPECT_EQ(records[1].fields[1], Text("b\"ob\n\xC3\xA9", 2, 16, Kind::kJsonString));
  EXPECT_EQ(records[1].fields[2], Text("-2e3", 2, 40, Kind::kJsonNumber));
  EXPECT_FALSE(records[1].fields[3].text.has_value()) << "null is absent";
  EXPECT_EQ(records[2].line, 3u);
  EXPECT_THAT(records[2].fields, ElementsAre(Text("3", 3, 7, Kind::kJsonNumber), Text("c", 3, 19, Kind::kJsonString),
                                             Text("true", 3, 33, Kind::kJsonOther), Absent(3, 1)));
  EXPECT_EQ(records[3].line, 4u);
  EXPECT_EQ(records[3].fields[0], Text("4", 4, 10, Kind::kJsonNumber));
  EXPECT_FALSE(records[3].fields[1].text.has_value());
}

TEST_F(RecordReaderTest, JsonLinesDefectsNameFileLineAndColumn) {
  const std::string good = "{\"id\":1,\"name\":\"a\",\"score\":1,\"note\":\"x\"}\n";
  const auto jsonl = InputFormat::kJsonLines;
  ExpectError("an array", good + "[1,2]\n", jsonl, 2, 1, "object");
  ExpectError("a number", "42\n", jsonl, 1, 1, "object");
  ExpectError("a string", good + good + "\"text\"\n", jsonl, 3, 1, "object");
  ExpectError("unknown field", "{\"id\":1,\"bogus\":2}\n", jsonl, 1, 9, "unknown field \"bogus\"");
  ExpectError("duplicate field", good + "{\"id\":1,\"id\":2}\n", jsonl, 2, 14, "\"id\" appears twice");
  ExpectError("nested object", "{\"id\":{\"a\":1}}\n", jsonl, 1, 7, "nested");
  ExpectError("nested array", "{\"name\":[1]}\n", jsonl, 1, 9, "nested");
  // simdjson rejects a stray token after the object before the reader can
  // locate it, so only the line is certain.
  ExpectError("trailing token", good + "{\"id\":1} x\n", jsonl, 2, 0, "");
  ExpectError("two objects on a line", good + "{\"id\":1}{\"id\":2}\n", jsonl, 2, 9, "trailing");
  ExpectError("empty line", good + "\n" + good, jsonl, 2, 1, "empty line");
  ExpectError("invalid UTF-8", "{\"name\":\"a\xFF\"}\n", jsonl, 1, 11, "UTF-8");
  ExpectError("truncated last line", good + "{\"id\":2}", jsonl, 2, 9, "truncated");
  ExpectError("empty file", "", jsonl, 1, 1, "empty");
  ExpectError("unterminated object", good + "{\"id\":1,\n", jsonl, 2, 1, "JSON");
}

// --- Columns the path gives, and extra columns -------------------------------

TEST_F(RecordReaderTest, CsvColumnValuesFromThePath) {
  // The table lacks "day": its value is ignored, as the Parquet reader does.
  options_.column_values = {{"note", "2026-11-26"}, {"day", "26"}, {"score", "0.5"}};
  auto path = dir_.WriteFile("given.csv",
                             "name,id\n"
                             "a,1\n"
                             "\"b\nc\",2\n");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kCsv));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_THAT(records[0].fields,
              ElementsAre(Text("1", 2, 3), Text("a", 2, 1), Text("0.5", 2, 0), Text("2026-11-26", 2, 0)));
  EXPECT_EQ(records[1].line, 3u);
  EXPECT_THAT(records[1].fields,
              ElementsAre(Text("2", 4, 4), Text("b\nc", 3, 1), Text("0.5", 3, 0), Text("2026-11-26", 3, 0)));
}

TEST_F(RecordReaderTest, ColumnValuesOutliveTheOptions) {
  auto csv = dir_.WriteFile("given.csv", "id,name,score\n1,a,1\n");
  auto jsonl = dir_.WriteFile("given.jsonl", "{\"id\":1}\n");
  for (auto [path, format] : {std::pair{csv, InputFormat::kCsv}, std::pair{jsonl, InputFormat::kJsonLines}}) {
    SCOPED_TRACE(path.string());
    ReadOptions options;
    options.column_values = {{"note", std::string("a value longer than the small-string buffer")}};
    auto reader = OpenRecordReader(path, format, schema_, options);
    ASSERT_OK(reader.status());
    ASSERT_THAT((*reader)->Next(), IsOkAndHolds(true));
    const FieldText& note = (*reader)->fields()[3];
    EXPECT_EQ(note.text, "a value longer than the small-string buffer");
    EXPECT_TRUE(note.present);
    EXPECT_EQ(note.kind, FieldText::Kind::kText);
    EXPECT_EQ(note.column, 0u);
    EXPECT_EQ(FieldPosition(path.string(), note), StrCat(path.string(), ": row ", note.line));
  }
}

TEST_F(RecordReaderTest, CsvColumnValuesDefects) {
  options_.column_values = {{"note", "x"}};
  ExpectError("the header names it too", "id,name,score,note\n1,a,1,y\n", InputFormat::kCsv, 1, 15,
              "column \"note\" is in the file and its path gives it too");
  ExpectError("still a missing column", "id,score\n1,1\n", InputFormat::kCsv, 1, 1, "\"name\"");
  ExpectError("still an unknown column", "id,name,score,bogus\n1,a,1,2\n", InputFormat::kCsv, 1, 15,
              "unknown column \"bogus\"");
}

TEST_F(RecordReaderTest, CsvIgnoreExtraColumns) {
  options_.ignore_extra_columns = true;
  auto path = dir_.WriteFile("extra.csv",
                             "extra,id,\"x,y\",name,score,note,id2\n"
                             "e,1,\"q\"\"q\",a,1.5,n,\n"
                             ",2,,b,2.5,m,9\n");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kCsv));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_THAT(records[0].fields,
              ElementsAre(Text("1", 2, 3), Text("a", 2, 12), Text("1.5", 2, 14), Text("n", 2, 18)));
  EXPECT_THAT(records[1].fields, ElementsAre(Text("2", 3, 2), Text("b", 3, 5), Text("2.5", 3, 7), Text("m", 3, 11)));

  // The other rules stand: field counts count the skipped columns too, and a
  // known column may not repeat.
  const std::string header = "id,extra,name,score,note\n";
  ExpectError("too few fields", header + "1,e,a,1\n", InputFormat::kCsv, 2, 1, "expected 5 fields, found 4");
  ExpectError("too many fields", header + "1,e,a,1,n,z\n", InputFormat::kCsv, 2, 11, "too many fields");
  ExpectError("repeated column", "id,name,x,score,note,id\n1,a,b,1,n,1\n", InputFormat::kCsv, 1, 22,
              "column \"id\" appears twice");
  ExpectError("missing column", "id,name,score,bogus\n1,a,1,2\n", InputFormat::kCsv, 1, 1, "\"note\"");

  // With a column the path gives.
  options_.column_values = {{"note", "given"}};
  auto both = dir_.WriteFile("both.csv", "extra,id,name,score\nz,7,g,0\n");
  ASSERT_OK_AND_ASSIGN(records, ReadAll(both, InputFormat::kCsv));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_THAT(records[0].fields, ElementsAre(Text("7", 2, 3), Text("g", 2, 5), Text("0", 2, 7), Text("given", 2, 0)));
}

TEST_F(RecordReaderTest, JsonLinesColumnValuesFromThePath) {
  using Kind = FieldText::Kind;
  options_.column_values = {{"note", "2026-11-26"}, {"day", "26"}};
  auto path = dir_.WriteFile("given.jsonl",
                             "{\"id\":1,\"name\":\"a\",\"score\":1.5}\n"
                             "{\"id\":2}\n");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kJsonLines));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_THAT(records[0].fields,
              ElementsAre(Text("1", 1, 7, Kind::kJsonNumber), Text("a", 1, 16, Kind::kJsonString),
                          Text("1.5", 1, 28, Kind::kJsonNumber), Text("2026-11-26", 1, 0)));
  EXPECT_THAT(records[1].fields, ElementsAre(Text("2", 2, 7, Kind::kJsonNumber), Absent(2, 1), Absent(2, 1),
                                             Text("2026-11-26", 2, 0)));

  const std::string good = "{\"id\":1}\n";
  ExpectError("a record has it too", good + "{\"id\":1,\"note\":\"x\"}\n", InputFormat::kJsonLines, 2, 9,
              "field \"note\" is in the file and its path gives it too");
  ExpectError("even as null", "{\"note\":null}\n", InputFormat::kJsonLines, 1, 2, "its path gives it too");
  ExpectError("still an unknown field", "{\"id\":1,\"bogus\":2}\n", InputFormat::kJsonLines, 1, 9,
              "unknown field \"bogus\"");
}

TEST_F(RecordReaderTest, JsonLinesIgnoreExtraFields) {
  using Kind = FieldText::Kind;
  options_.ignore_extra_columns = true;
  auto path = dir_.WriteFile("extra.jsonl",
                             "{\"x\":{\"a\":[1,{\"b\":2}]},\"id\":1,\"y\":[3],\"name\":\"a\",\"z\":null,\"x\":\"s\"}\n"
                             "{\"id\":2,\"w\":true}\n");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kJsonLines));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_THAT(records[0].fields, ElementsAre(Text("1", 1, 29, Kind::kJsonNumber), Text("a", 1, 46, Kind::kJsonString),
                                             Absent(1, 1), Absent(1, 1)));
  EXPECT_THAT(records[1].fields,
              ElementsAre(Text("2", 2, 7, Kind::kJsonNumber), Absent(2, 1), Absent(2, 1), Absent(2, 1)));

  const std::string good = "{\"id\":1}\n";
  ExpectError("duplicate known field", good + "{\"id\":1,\"q\":0,\"id\":2}\n", InputFormat::kJsonLines, 2, 20,
              "\"id\" appears twice");
  ExpectError("nested known field", "{\"extra\":[1],\"id\":{}}\n", InputFormat::kJsonLines, 1, 19, "nested");
  ExpectError("broken JSON in an extra field", "{\"extra\":[1,}\n", InputFormat::kJsonLines, 1, 0, "JSON");

  options_.column_values = {{"score", "0.25"}};
  auto both = dir_.WriteFile("both.jsonl", "{\"extra\":1,\"id\":3}\n");
  ASSERT_OK_AND_ASSIGN(records, ReadAll(both, InputFormat::kJsonLines));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_THAT(records[0].fields, ElementsAre(Text("3", 1, 17, Kind::kJsonNumber), Absent(1, 1), Text("0.25", 1, 0),
                                             Absent(1, 1)));
}

TEST_F(RecordReaderTest, IgnoredColumnsAreNamed) {
  ReadOptions options;
  options.ignore_extra_columns = true;
  auto csv = dir_.WriteFile("named.csv", "extra,id,\"x,y\",name,score,note\ne,1,q,a,1.5,n\n");
  ASSERT_OK_AND_ASSIGN(auto reader, OpenRecordReader(csv, InputFormat::kCsv, schema_, options));
  EXPECT_THAT(reader->ignored_columns(), ElementsAre("extra", "x,y"));  // from the header
  auto jsonl = dir_.WriteFile("named.jsonl", "{\"id\":1,\"event_id\":7}\n{\"id\":2,\"_metadata\":{},\"event_id\":8}\n");
  ASSERT_OK_AND_ASSIGN(reader, OpenRecordReader(jsonl, InputFormat::kJsonLines, schema_, options));
  while (ValueOrDie(reader->Next())) {
  }
  EXPECT_THAT(reader->ignored_columns(), ElementsAre("event_id", "_metadata"));  // each once, as seen
}

TEST_F(RecordReaderTest, ANullColumnValueFromThePathIsAbsent) {
  options_.column_values = {{"note", std::nullopt}};  // day=__HIVE_DEFAULT_PARTITION__
  auto path = dir_.WriteFile("null.csv", "id,name,score\n1,a,1.5\n");
  ASSERT_OK_AND_ASSIGN(std::vector<Record> records, ReadAll(path, InputFormat::kCsv));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].fields[3], Absent(2, 0));
}

}  // namespace
}  // namespace predstore
