// Request and response messages of callback RPCs allocated on a protobuf
// arena: a call's many small messages (a BatchLookup answer holds a Value
// per cell) come from one block that is freed at once when the call ends,
// instead of one heap allocation each. Thread-safe (stateless).
#pragma once

#include <google/protobuf/arena.h>

#include "grpcpp/support/message_allocator.h"

namespace predstore {

template <typename Request, typename Response>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  // The first 16 KiB live in the holder itself: a typical call's messages
  // need no further allocation.
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(Options()) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    google::protobuf::ArenaOptions Options() {
      google::protobuf::ArenaOptions options;
      options.initial_block = initial_block_;
      options.initial_block_size = sizeof(initial_block_);
      return options;
    }
    alignas(8) char initial_block_[16384];
    google::protobuf::Arena arena_;
  };
};

}  // namespace predstore
