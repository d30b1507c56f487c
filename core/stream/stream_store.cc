#include "core/stream/stream_store.h"

#include <chrono>

#include "absl/status/status.h"
#include "core/base/crash_points.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/snapshot/storage_options.h"
#include "nlohmann/json.hpp"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace predstore {
namespace {

constexpr char kDataTag = 'd';
constexpr char kSourceTag = 's';
constexpr size_t kTimeBytes = 8;

// Event times sort newest first: the complement of the order-preserving
// (sign-flipped) value, big-endian.
void AppendTime(int64_t micros, std::string* out) {
  const uint64_t descending = ~(static_cast<uint64_t>(micros) ^ (uint64_t{1} << 63));
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(descending >> shift));
}

int64_t ReadTime(std::string_view bytes) {
  uint64_t descending = 0;
  for (size_t i = 0; i < kTimeBytes; ++i) descending = (descending << 8) | static_cast<uint8_t>(bytes[i]);
  return static_cast<int64_t>(~descending ^ (uint64_t{1} << 63));
}

std::string DataKey(std::string_view key, int64_t micros) {
  std::string out;
  out.reserve(1 + key.size() + kTimeBytes);
  out.push_back(kDataTag);
  out.append(key);
  AppendTime(micros, &out);
  return out;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string StateToJson(const SourceState& state) {
  return nlohmann::json{{"sequence", state.sequence},
                        {"position", state.position},
                        {"max_event_time_micros", state.max_event_time_micros},
                        {"watermark_micros", state.watermark_micros},
                        {"applied", state.applied},
                        {"duplicates", state.duplicates},
                        {"late", state.late},
                        {"superseded", state.superseded},
                        {"last_commit_wall_micros", state.last_commit_wall_micros}}
      .dump();
}

absl::StatusOr<SourceState> StateFromJson(std::string_view text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return absl::DataLossError("a stream source record is not JSON");
  SourceState state;
  state.sequence = json.value("sequence", uint64_t{0});
  state.position = json.value("position", "");
  state.max_event_time_micros = json.value("max_event_time_micros", INT64_MIN);
  state.watermark_micros = json.value("watermark_micros", INT64_MIN);
  state.applied = json.value("applied", uint64_t{0});
  state.duplicates = json.value("duplicates", uint64_t{0});
  state.late = json.value("late", uint64_t{0});
  state.superseded = json.value("superseded", uint64_t{0});
  state.last_commit_wall_micros = json.value("last_commit_wall_micros", int64_t{0});
  return state;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StreamStore>> StreamStore::Open(std::filesystem::path dir, StreamOptions options) {
  if (options.allowed_lateness.count() < 0 ||
      options.allowed_lateness > std::chrono::seconds(kMaxAllowedLatenessSeconds)) {
    return absl::InvalidArgumentError("allowed lateness: must be 0 to 100 years");
  }
  if (options.memtable_bytes < kMinStreamMemtableBytes || options.memtable_bytes > kMaxStreamMemtableBytes) {
    return absl::InvalidArgumentError(
        StrCat("stream memtable: ", options.memtable_bytes, " bytes; must be 1 MiB to 1 GiB"));
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(StrCat("cannot create ", dir.string(), ": ", error.message()));
  if (options.dead_letter_file.empty()) options.dead_letter_file = dir / "dead_letter.jsonl";
  std::unique_ptr<StreamStore> store(new StreamStore(dir, std::move(options)));
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.max_open_files = 256;
  db_options.write_buffer_size = store->options_.memtable_bytes;
  db_options.max_write_buffer_number = 2;
  rocksdb::DB* raw = nullptr;
  PREDSTORE_RETURN_IF_ERROR(internal::FromRocksStatus(rocksdb::DB::Open(db_options, (dir / "db").string(), &raw),
                                                      (dir / "db").string()));
  store->db_.reset(raw);
  PREDSTORE_RETURN_IF_ERROR(store->LoadSources());
  store->dead_letter_.open(store->options_.dead_letter_file, std::ios::app);
  if (!store->dead_letter_) {
    return absl::InternalError(StrCat("cannot open the dead-letter file ", store->options_.dead_letter_file.string()));
  }
  return store;
}

uint64_t StreamStore::memtable_bytes_in_use() const {
  uint64_t bytes = 0;
  return db_->GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &bytes) ? bytes : 0;
}

StreamStore::StreamStore(std::filesystem::path dir, StreamOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

StreamStore::~StreamStore() = default;

absl::Status StreamStore::LoadSources() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, kSourceTag);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    PREDSTORE_ASSIGN_OR_RETURN(SourceState state,
                               StateFromJson(std::string_view(it->value().data(), it->value().size())));
    sources_.emplace(it->key().ToString().substr(1), std::move(state));
  }
  return internal::FromRocksStatus(it->status(), dir_.string());
}

absl::StatusOr<SourceState> StreamStore::Apply(std::string_view source, uint64_t sequence, std::string_view position,
                                               std::span<const StreamEvent> events) {
  if (source.empty()) return absl::InvalidArgumentError("source: required");
  if (sequence == 0) return absl::InvalidArgumentError("sequence: batches are numbered from 1");
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = sources_.find(source);
  SourceState state = found == sources_.end() ? SourceState() : found->second;
  if (sequence <= state.sequence) {
    // A replay of a committed batch (the producer resent after a failure).
    SourceState replay = state;
    replay.duplicates += events.size();
    return replay;
  }
  if (sequence != state.sequence + 1) {
    return absl::FailedPreconditionError(StrCat("sequence ", sequence, " skips ahead: source '", source,
                                                "' has committed batch ", state.sequence, ", so its next batch is ",
                                                state.sequence + 1));
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].event_time_micros < kMinEventTimeMicros || events[i].event_time_micros > kMaxEventTimeMicros) {
      return absl::InvalidArgumentError(StrCat("events[", i, "]: event_time_micros ", events[i].event_time_micros,
                                               " is outside 0001-01-01 .. 9999-12-31"));
    }
  }
  const int64_t lateness = options_.allowed_lateness.count();
  rocksdb::WriteBatch batch;
  std::map<std::string, std::string, std::less<>> written;  // this batch's puts, by data key
  bool dead_lettered = false;
  for (const StreamEvent& event : events) {
    if (state.watermark_micros != INT64_MIN && event.event_time_micros < state.watermark_micros) {
      ++state.late;
      dead_letter_ << nlohmann::json{{"source", std::string(source)},
                                     {"sequence", sequence},
                                     {"event_time_micros", event.event_time_micros},
                                     {"watermark_micros", state.watermark_micros},
                                     {"reason", "event_time is older than the watermark (max event time seen minus "
                                                "the allowed lateness)"},
                                     {"event", event.text}}
                          .dump()
                   << "\n";
      dead_lettered = true;
      continue;
    }
    std::string data_key = DataKey(event.key, event.event_time_micros);
    std::optional<std::string> existing;
    if (auto pending = written.find(data_key); pending != written.end()) {
      existing = pending->second;
    } else {
      std::string stored;
      rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), data_key, &stored);
      if (status.ok()) {
        existing = std::move(stored);
      } else if (!status.IsNotFound()) {
        return internal::FromRocksStatus(status, dir_.string());
      }
    }
    if (existing.has_value() && *existing == event.value) {
      ++state.duplicates;
      continue;
    }
    state.max_event_time_micros = std::max(state.max_event_time_micros, event.event_time_micros);
    // Cannot overflow: event times are bounded and lateness is checked at Open.
    state.watermark_micros = state.max_event_time_micros - lateness;
    if (existing.has_value()) {
      ++state.superseded;  // same key and event time: the greater value wins, whichever came first
      if (*existing > event.value) continue;
    }
    ++state.applied;
    batch.Put(data_key, event.value);
    written[std::move(data_key)] = event.value;
  }
  if (dead_lettered && !dead_letter_.flush()) {
    return absl::InternalError(StrCat("cannot write the dead-letter file ", options_.dead_letter_file.string()));
  }
  state.sequence = sequence;
  state.position = std::string(position);
  state.last_commit_wall_micros = NowMicros();
  batch.Put(StrCat(std::string(1, kSourceTag), source), StateToJson(state));
  PREDSTORE_RETURN_IF_ERROR(internal::FromRocksStatus(db_->Write(rocksdb::WriteOptions(), &batch), dir_.string()));
  CrashPoint("ingest:written");
  sources_.insert_or_assign(std::string(source), state);
  return state;
}

SourceState StreamStore::State(std::string_view source) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = sources_.find(source);
  return found == sources_.end() ? SourceState() : found->second;
}

std::map<std::string, SourceState> StreamStore::Sources() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::map<std::string, SourceState>(sources_.begin(), sources_.end());
}

absl::StatusOr<std::optional<StreamHit>> StreamStore::Get(std::string_view key, std::optional<int64_t> as_of) const {
  const std::string target = DataKey(key, as_of.value_or(INT64_MAX));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->Seek(target);
  if (!it->Valid()) {
    PREDSTORE_RETURN_IF_ERROR(internal::FromRocksStatus(it->status(), dir_.string()));
    return std::nullopt;
  }
  const std::string_view found(it->key().data(), it->key().size());
  // Key codes are prefix-free, so a data key of this length with this
  // prefix is a version of `key`.
  if (found.size() != target.size() || found.substr(0, 1 + key.size()) != std::string_view(target).substr(0, 1 + key.size())) {
    return std::nullopt;
  }
  return StreamHit{ReadTime(found.substr(1 + key.size())), it->value().ToString()};
}

absl::StatusOr<uint64_t> StreamStore::Sweep() {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t watermark = INT64_MIN;
  for (const auto& [name, state] : sources_) watermark = std::max(watermark, state.watermark_micros);
  if (watermark == INT64_MIN) return 0;  // nothing applied yet
  // Both bounded (event times to year 9999, retention to int64 µs), but
  // the difference may still underflow: saturate.
  const int64_t horizon = watermark < INT64_MIN + options_.retention.count() ? INT64_MIN
                                                                           : watermark - options_.retention.count();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  rocksdb::WriteBatch batch;
  uint64_t deleted = 0;
  std::string current_key;
  bool kept_one_before_horizon = false;
  const std::string prefix(1, kDataTag);
  // Versions come newest first per key. Kept: every version inside the
  // window, and the newest one before it (the one in force when the window
  // starts, which as-of reads inside the window need).
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view data_key(it->key().data(), it->key().size());
    const std::string_view key = data_key.substr(1, data_key.size() - 1 - kTimeBytes);
    if (key != current_key) {
      current_key = std::string(key);
      kept_one_before_horizon = false;
    }
    if (ReadTime(data_key.substr(data_key.size() - kTimeBytes)) >= horizon) continue;
    if (!kept_one_before_horizon) {
      kept_one_before_horizon = true;
      continue;
    }
    batch.Delete(it->key());
    ++deleted;
  }
  PREDSTORE_RETURN_IF_ERROR(internal::FromRocksStatus(it->status(), dir_.string()));
  if (deleted > 0) {
    PREDSTORE_RETURN_IF_ERROR(internal::FromRocksStatus(db_->Write(rocksdb::WriteOptions(), &batch), dir_.string()));
  }
  return deleted;
}

}  // namespace predstore
