#include "server/stream_slots.h"

#include <utility>

#include "core/base/strings.h"

namespace predstore {

StreamSlots::Slot& StreamSlots::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (owner_ != nullptr) owner_->open_.fetch_sub(1, std::memory_order_relaxed);
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

StreamSlots::Slot::~Slot() {
  if (owner_ != nullptr) owner_->open_.fetch_sub(1, std::memory_order_relaxed);
}

absl::StatusOr<StreamSlots::Slot> StreamSlots::Acquire() {
  uint32_t open = open_.load(std::memory_order_relaxed);
  do {
    if (open >= limit_) {
      return absl::ResourceExhaustedError(StrCat("too many streams open: the server allows ", limit_,
                                                 " at once (--max_concurrent_streams); retry later"));
    }
  } while (!open_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  return Slot(this);
}

}  // namespace predstore
