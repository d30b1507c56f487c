#include "core/external_sorter.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <queue>

#include "core/strings.h"
#include "core/status_macros.h"

namespace predstore {
namespace {

constexpr size_t kHeaderBytes = 4 + 4 + 4 + 8;
constexpr size_t kRunBufferBytes = 1 << 20;

uint64_t KeyPrefix(std::string_view key) {
  uint64_t prefix = 0;
  size_t n = std::min<size_t>(8, key.size());
  for (size_t i = 0; i < 8; ++i) prefix = (prefix << 8) | (i < n ? static_cast<unsigned char>(key[i]) : 0);
  return prefix;
}

void AppendRow(std::string_view key, std::string_view value, RowOrigin origin, std::string* out) {
  uint32_t key_length = static_cast<uint32_t>(key.size());
  uint32_t value_length = static_cast<uint32_t>(value.size());
  char header[kHeaderBytes];
  std::memcpy(header, &key_length, 4);
  std::memcpy(header + 4, &value_length, 4);
  std::memcpy(header + 8, &origin.file, 4);
  std::memcpy(header + 12, &origin.line, 8);
  out->append(header, kHeaderBytes);
  out->append(key);
  out->append(value);
}

SortedRow RowAt(const char* p) {
  uint32_t key_length, value_length;
  SortedRow row;
  std::memcpy(&key_length, p, 4);
  std::memcpy(&value_length, p + 4, 4);
  std::memcpy(&row.origin.file, p + 8, 4);
  std::memcpy(&row.origin.line, p + 12, 8);
  row.key = std::string_view(p + kHeaderBytes, key_length);
  row.value = std::string_view(p + kHeaderBytes + key_length, value_length);
  return row;
}

class MemoryStream final : public SortedRowStream {
 public:
  MemoryStream(std::string arena, std::vector<uint64_t> order) : arena_(std::move(arena)), order_(std::move(order)) {}
  absl::StatusOr<bool> Next() override {
    if (next_ == order_.size()) return false;
    row_ = RowAt(arena_.data() + order_[next_++]);
    return true;
  }
  const SortedRow& current() const override { return row_; }

 private:
  std::string arena_;
  std::vector<uint64_t> order_;
  size_t next_ = 0;
  SortedRow row_;
};

// Reads one spilled run sequentially.
class RunReader {
 public:
  static absl::StatusOr<std::unique_ptr<RunReader>> Open(const std::filesystem::path& path) {
    FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) return absl::InternalError(StrCat(path.string(), ": cannot reopen sort run: ", std::strerror(errno)));
    auto reader = std::unique_ptr<RunReader>(new RunReader(file));
    std::setvbuf(file, nullptr, _IOFBF, kRunBufferBytes);
    return reader;
  }
  ~RunReader() { std::fclose(file_); }

  absl::StatusOr<bool> Next() {
    char header[kHeaderBytes];
    size_t got = std::fread(header, 1, kHeaderBytes, file_);
    if (got == 0 && std::feof(file_)) return false;
    if (got != kHeaderBytes) return absl::DataLossError("sort run: truncated row header");
    uint32_t key_length, value_length;
    std::memcpy(&key_length, header, 4);
    std::memcpy(&value_length, header + 4, 4);
    buffer_.assign(header, kHeaderBytes);
    buffer_.resize(kHeaderBytes + key_length + value_length);
    if (std::fread(buffer_.data() + kHeaderBytes, 1, key_length + value_length, file_) != key_length + value_length) {
      return absl::DataLossError("sort run: truncated row");
    }
    row_ = RowAt(buffer_.data());
    return true;
  }
  const SortedRow& row() const { return row_; }

 private:
  explicit RunReader(FILE* file) : file_(file) {}
  FILE* file_;
  std::string buffer_;
  SortedRow row_;
};

// K-way merge of runs; ties go to the earlier run (earlier input).
class MergeStream final : public SortedRowStream {
 public:
  static absl::StatusOr<std::unique_ptr<MergeStream>> Open(const std::vector<std::filesystem::path>& runs) {
    auto stream = std::unique_ptr<MergeStream>(new MergeStream());
    for (const auto& path : runs) {
      PREDSTORE_ASSIGN_OR_RETURN(auto reader, RunReader::Open(path));
      stream->readers_.push_back(std::move(reader));
    }
    for (size_t i = 0; i < stream->readers_.size(); ++i) {
      PREDSTORE_ASSIGN_OR_RETURN(bool has_row, stream->readers_[i]->Next());
      if (has_row) stream->heap_.push(i);
    }
    return stream;
  }

  absl::StatusOr<bool> Next() override {
    if (pending_ != kNone) {
      PREDSTORE_ASSIGN_OR_RETURN(bool has_row, readers_[pending_]->Next());
      if (has_row) heap_.push(pending_);
      pending_ = kNone;
    }
    if (heap_.empty()) return false;
    pending_ = heap_.top();
    heap_.pop();
    row_ = readers_[pending_]->row();
    return true;
  }
  const SortedRow& current() const override { return row_; }

 private:
  static constexpr size_t kNone = SIZE_MAX;
  struct Later {
    const MergeStream* self;
    bool operator()(size_t a, size_t b) const {
      int c = self->readers_[a]->row().key.compare(self->readers_[b]->row().key);
      return c > 0 || (c == 0 && a > b);
    }
  };
  MergeStream() : heap_(Later{this}) {}

  std::vector<std::unique_ptr<RunReader>> readers_;
  std::priority_queue<size_t, std::vector<size_t>, Later> heap_;
  size_t pending_ = kNone;
  SortedRow row_;
};

}  // namespace

ExternalSorter::ExternalSorter(Options options) : options_(std::move(options)) {}

ExternalSorter::~ExternalSorter() {
  std::error_code ignored;
  for (const auto& run : runs_) std::filesystem::remove(run, ignored);
}

absl::Status ExternalSorter::Add(std::string_view key, std::string_view value, RowOrigin origin) {
  entries_.push_back(Entry{KeyPrefix(key), arena_.size()});
  AppendRow(key, value, origin, &arena_);
  ++rows_;
  if (arena_.size() + entries_.size() * sizeof(Entry) > options_.memory_budget_bytes) return SpillBuffer();
  return absl::OkStatus();
}

void ExternalSorter::SortBuffer() {
  const char* arena = arena_.data();
  std::sort(entries_.begin(), entries_.end(), [arena](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    int c = RowAt(arena + a.offset).key.compare(RowAt(arena + b.offset).key);
    return c < 0 || (c == 0 && a.offset < b.offset);
  });
}

absl::Status ExternalSorter::SpillBuffer() {
  SortBuffer();
  std::error_code error;
  std::filesystem::create_directories(options_.spill_dir, error);
  std::filesystem::path path = options_.spill_dir / StrCat("run-", runs_.size(), ".bin");
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return absl::InternalError(StrCat(path.string(), ": cannot write sort run: ", std::strerror(errno)));
  runs_.push_back(path);
  std::setvbuf(file, nullptr, _IOFBF, kRunBufferBytes);
  bool ok = true;
  for (const Entry& entry : entries_) {
    SortedRow row = RowAt(arena_.data() + entry.offset);
    size_t length = kHeaderBytes + row.key.size() + row.value.size();
    ok = ok && std::fwrite(arena_.data() + entry.offset, 1, length, file) == length;
  }
  ok = (std::fclose(file) == 0) && ok;
  if (!ok) {
    return absl::ResourceExhaustedError(StrCat(path.string(), ": cannot write sort run (disk full?)"));
  }
  arena_.clear();
  entries_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SortedRowStream>> ExternalSorter::Finish() {
  if (runs_.empty()) {
    SortBuffer();
    std::vector<uint64_t> order;
    order.reserve(entries_.size());
    for (const Entry& entry : entries_) order.push_back(entry.offset);
    entries_ = {};
    return std::make_unique<MemoryStream>(std::move(arena_), std::move(order));
  }
  if (!entries_.empty()) PREDSTORE_RETURN_IF_ERROR(SpillBuffer());
  PREDSTORE_ASSIGN_OR_RETURN(auto stream, MergeStream::Open(runs_));
  return stream;
}

}  // namespace predstore
