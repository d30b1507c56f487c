// StreamSlots bounds how many streams are open at once across both front
// ends: gRPC LookupStream, Scan and Ingest calls, and HTTP scans. A stream
// takes a Slot when it starts and gives it back when its object is
// destroyed; past the limit a new stream is refused at once with
// RESOURCE_EXHAUSTED (HTTP 429) naming the limit, instead of holding
// buffers and a thread's attention it cannot be given. Thread-safe; a
// lock-free counter.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/status/statusor.h"

namespace predstore {

class StreamSlots {
 public:
  // A held slot; releases it on destruction. Move-only.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    friend class StreamSlots;
    explicit Slot(StreamSlots* owner) : owner_(owner) {}
    StreamSlots* owner_;
  };

  // At most `limit` streams at once (at least 1).
  explicit StreamSlots(uint32_t limit) : limit_(limit < 1 ? 1 : limit) {}

  // A slot, or RESOURCE_EXHAUSTED when `limit` streams are open. This
  // object must outlive the slot.
  absl::StatusOr<Slot> Acquire();

  uint32_t open() const { return open_.load(std::memory_order_relaxed); }
  uint32_t limit() const { return limit_; }

 private:
  const uint32_t limit_;
  std::atomic<uint32_t> open_{0};
};

}  // namespace predstore
