// The time-based prediction store of one table: every streamed prediction is
// kept under (key, event_time) in a read-write RocksDB folder, newest first
// per key, so that a read answers "latest" or "as of T" with one seek.
//
// Exactly once: Apply() writes a batch of events together with its source's
// new position (a per-source sequence number and an opaque resume string)
// in one WriteBatch. A batch whose sequence is not above the committed one
// is a replay and changes nothing, so a producer that resends after a crash
// neither loses nor duplicates events.
//
// Event time: per key the newest event_time wins, whatever the arrival
// order. At an equal event_time the event with the greater encoded value
// wins (the outcome does not depend on arrival order); an identical event is
// a duplicate. Each source's watermark is the greatest event_time it has
// applied minus allowed_lateness; an event older than the watermark is not
// applied: it is counted and written to the dead-letter file with the
// reason (a crash between the dead-letter write and the commit can write it
// twice there, never zero times).
//
// Retention is counted in event time, not wall-clock time, so a backfill of
// old events keeps its history: Sweep() keeps, per key, every version
// inside the window (W - retention .. W), W being the greatest watermark of
// the store's sources, and the newest version before it (the one in force
// when the window starts); older versions are deleted. So a key's newest
// version always stays, and as-of reads inside the window are exact.
//
// Thread-safe: Apply and Sweep are serialised; Get runs concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace rocksdb {
class DB;
}

namespace predstore {

// The event times a stream takes: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999Z (what RFC 3339 can write), so that watermark
// arithmetic cannot overflow.
inline constexpr int64_t kMinEventTimeMicros = -62135596800000000;
inline constexpr int64_t kMaxEventTimeMicros = 253402300799999999;

// The longest allowed lateness (100 years), so that the watermark cannot
// overflow.
inline constexpr int64_t kMaxAllowedLatenessSeconds = int64_t{100} * 366 * 24 * 3600;

struct StreamEvent {
  std::string key;    // encoded with the table's KeyCodec
  int64_t event_time_micros = 0;
  std::string value;  // encoded with the table's ValueCodec
  std::string text;   // the event in readable form, for the dead-letter file
};

// A source's committed state, stored with its position.
struct SourceState {
  uint64_t sequence = 0;  // last applied batch; 0: none yet
  std::string position;   // the producer's resume point after that batch
  int64_t max_event_time_micros = INT64_MIN;
  int64_t watermark_micros = INT64_MIN;
  uint64_t applied = 0;     // events written (an event it later lost to still counts)
  uint64_t duplicates = 0;  // identical to a stored event, or replayed batches' events
  uint64_t late = 0;        // older than the watermark: dead-lettered
  uint64_t superseded = 0;  // same key and event_time as a stored event: one of the two was dropped
  int64_t last_commit_wall_micros = 0;
};

struct StreamOptions {
  std::chrono::microseconds allowed_lateness = std::chrono::minutes(10);
  std::chrono::microseconds retention = std::chrono::hours(24 * 7);
  // Late events go here, one JSON object per line. Empty: <dir>/dead_letter.jsonl.
  std::filesystem::path dead_letter_file;
  // Bytes of applied events a store keeps in memory (RocksDB's memtable)
  // before writing them to a file; a store holds at most twice this (one
  // memtable filling, one being written). 1 MiB to 1 GiB; default 64 MiB.
  uint64_t memtable_bytes = uint64_t{64} << 20;
};
inline constexpr uint64_t kMinStreamMemtableBytes = uint64_t{1} << 20;
inline constexpr uint64_t kMaxStreamMemtableBytes = uint64_t{1} << 30;

struct StreamHit {
  int64_t event_time_micros = 0;
  std::string value;
};

class StreamStore {
 public:
  // Opens (creating if needed) the store in `dir`. kInvalidArgument for an
  // allowed lateness outside 0 .. 100 years or a memtable size outside
  // kMinStreamMemtableBytes .. kMaxStreamMemtableBytes.
  static absl::StatusOr<std::unique_ptr<StreamStore>> Open(std::filesystem::path dir, StreamOptions options);
  ~StreamStore();

  // Applies `events` as batch `sequence` of `source` and commits `position`
  // with them. sequence <= the committed one: a replay, nothing changes
  // (counted as duplicates). Batches are numbered 1, 2, 3, ... with no gap:
  // a sequence beyond the committed one + 1 is kFailedPrecondition naming
  // the expected one (so a source can never jump to the end of the numbers
  // and stop committing). An event time outside kMinEventTimeMicros ..
  // kMaxEventTimeMicros is kInvalidArgument naming events[i]. On error
  // nothing changes. Returns the source's state after the batch.
  absl::StatusOr<SourceState> Apply(std::string_view source, uint64_t sequence, std::string_view position,
                                    std::span<const StreamEvent> events);

  // The committed state of `source` (sequence 0 if it never wrote).
  SourceState State(std::string_view source) const;
  std::map<std::string, SourceState> Sources() const;

  // The newest version of `key` (with event_time <= as_of when given).
  absl::StatusOr<std::optional<StreamHit>> Get(std::string_view key, std::optional<int64_t> as_of) const;

  // Deletes the versions retention no longer needs (above); returns how many.
  absl::StatusOr<uint64_t> Sweep();

  // Bytes of events held in memory now (RocksDB's memtables), at most
  // twice StreamOptions::memtable_bytes.
  uint64_t memtable_bytes_in_use() const;

  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& dead_letter_file() const { return options_.dead_letter_file; }

 private:
  StreamStore(std::filesystem::path dir, StreamOptions options);
  absl::Status LoadSources();

  std::filesystem::path dir_;
  StreamOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  mutable std::mutex mutex_;  // guards sources_ and dead_letter_; serialises writers
  std::map<std::string, SourceState, std::less<>> sources_;
  std::ofstream dead_letter_;
};

}  // namespace predstore
