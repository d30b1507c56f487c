#include "core/snapshot/external_sorter.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <queue>

#include "core/base/status_macros.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

constexpr size_t kHeaderBytes = 4 + 4 + 4 + 8;
constexpr size_t kRunBufferBytes = 1 << 20;
// Most runs merged at once (open files, and 1 MiB of buffer each); more
// runs are first merged in groups into longer runs.
constexpr size_t kMaxMergeWidth = 128;

// The 8 key bytes from `offset` on (zero-padded), big-endian.
uint64_t KeyPrefix(std::string_view key, size_t offset) {
  uint64_t prefix = 0;
  for (size_t i = offset; i < offset + 8; ++i) {
    prefix = (prefix << 8) | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0);
  }
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

namespace internal {

// Yields the rows of the sorted in-memory buffer when nothing was spilled.
class MemoryStream final : public SortedRowStream {
 public:
  MemoryStream(std::string arena, std::vector<ExternalSorter::Entry> entries)
      : arena_(std::move(arena)), entries_(std::move(entries)) {}
  absl::StatusOr<bool> Next() override {
    if (next_ == entries_.size()) return false;
    row_ = RowAt(arena_.data() + entries_[next_++].offset);
    return true;
  }
  const SortedRow& current() const override { return row_; }

 private:
  std::string arena_;
  std::vector<ExternalSorter::Entry> entries_;
  size_t next_ = 0;
  SortedRow row_;
};

}  // namespace internal

ExternalSorter::ExternalSorter(Options options) : options_(std::move(options)) {}

ExternalSorter::~ExternalSorter() {
  std::error_code ignored;
  for (const auto& run : runs_) std::filesystem::remove(run, ignored);
}

absl::Status ExternalSorter::Add(std::string_view key, std::string_view value, RowOrigin origin) {
  if (entries_.capacity() == 0) {
    // Claim the budget once, 4/5 for rows and 1/5 for the index, so that the
    // buffers never grow by doubling past it.
    arena_.reserve(options_.memory_budget_bytes / 5 * 4);
    entries_.reserve(std::max<uint64_t>(options_.memory_budget_bytes / 5 / sizeof(Entry), 1));
  }
  size_t row_bytes = kHeaderBytes + key.size() + value.size();
  if (!entries_.empty() && (arena_.size() + row_bytes > arena_.capacity() || entries_.size() == entries_.capacity())) {
    PREDSTORE_RETURN_IF_ERROR(SpillBuffer());
  }
  entries_.push_back(Entry{0, arena_.size()});
  AppendRow(key, value, origin, &arena_);
  ++rows_;
  return absl::OkStatus();
}

void ExternalSorter::SortBuffer() {
  const char* arena = arena_.data();
  // Keys often share leading bytes (a partition, the high bits of small
  // z-ordered numbers); compare the 8 bytes after the common prefix first.
  size_t common = SIZE_MAX;
  std::string_view first;
  for (const Entry& entry : entries_) {
    std::string_view key = RowAt(arena + entry.offset).key;
    if (common == SIZE_MAX) {
      first = key;
      common = key.size();
      continue;
    }
    size_t limit = std::min(common, key.size());
    size_t i = 0;
    while (i < limit && key[i] == first[i]) ++i;
    common = i;
  }
  if (common == SIZE_MAX) common = 0;
  for (Entry& entry : entries_) entry.prefix = KeyPrefix(RowAt(arena + entry.offset).key, common);
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
  std::filesystem::path path = options_.spill_dir / StrCat("run-", spilled_runs_, ".bin");
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return absl::InternalError(StrCat(path.string(), ": cannot write sort run: ", std::strerror(errno)));
  runs_.push_back(path);
  ++spilled_runs_;
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

absl::Status ExternalSorter::MergeOldestRuns(size_t count) {
  std::vector<std::filesystem::path> group(runs_.begin(), runs_.begin() + count);
  std::filesystem::path path = options_.spill_dir / StrCat("merged-", merged_runs_++, ".bin");
  {
    PREDSTORE_ASSIGN_OR_RETURN(auto stream, MergeStream::Open(group));
    FILE* file = std::fopen(path.c_str(), "wb");
    if (!file) return absl::InternalError(StrCat(path.string(), ": cannot write sort run: ", std::strerror(errno)));
    std::setvbuf(file, nullptr, _IOFBF, kRunBufferBytes);
    std::string row_bytes;
    bool ok = true;
    for (;;) {
      PREDSTORE_ASSIGN_OR_RETURN(bool has_row, stream->Next());
      if (!has_row) break;
      row_bytes.clear();
      AppendRow(stream->current().key, stream->current().value, stream->current().origin, &row_bytes);
      ok = ok && std::fwrite(row_bytes.data(), 1, row_bytes.size(), file) == row_bytes.size();
    }
    ok = (std::fclose(file) == 0) && ok;
    if (!ok) return absl::ResourceExhaustedError(StrCat(path.string(), ": cannot write sort run (disk full?)"));
  }
  std::error_code ignored;
  for (const auto& run : group) std::filesystem::remove(run, ignored);
  // The merged run holds the oldest rows, so it goes first: ties keep input order.
  runs_.erase(runs_.begin(), runs_.begin() + count);
  runs_.insert(runs_.begin(), path);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SortedRowStream>> ExternalSorter::Finish() {
  if (runs_.empty()) {
    SortBuffer();
    return std::make_unique<internal::MemoryStream>(std::move(arena_), std::move(entries_));
  }
  if (!entries_.empty()) PREDSTORE_RETURN_IF_ERROR(SpillBuffer());
  while (runs_.size() > kMaxMergeWidth) PREDSTORE_RETURN_IF_ERROR(MergeOldestRuns(kMaxMergeWidth));
  PREDSTORE_ASSIGN_OR_RETURN(auto stream, MergeStream::Open(runs_));
  return stream;
}

}  // namespace predstore
