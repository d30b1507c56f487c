// A bidirectional-stream reactor that answers every request it reads, in
// order: one read and one write in flight at a time, so reading the next
// request overlaps writing the previous answer; answers queue meanwhile,
// but at most kMaxUnsentAnswers of them: past that the reactor stops
// reading until the client has taken some, so a client that stops reading
// is held back by HTTP/2 flow control instead of growing the server.
// The stream ends (OK) once the client has finished writing and every
// answer is sent, or CANCELLED if the client goes away. The reactor holds
// its stream slot until it is done. Subclasses implement Answer() and call
// StartReading() at the end of their constructor. Deletes itself when done.
#pragma once

#include <deque>
#include <mutex>
#include <utility>

#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"
#include "server/stream_slots.h"

namespace predstore {

template <typename Request, typename Response>
class AnsweringBidiReactor : public grpc::ServerBidiReactor<Request, Response> {
 public:
  // Answers queued but not yet written before reading pauses.
  static constexpr size_t kMaxUnsentAnswers = 16;

  explicit AnsweringBidiReactor(StreamSlots::Slot slot) : slot_(std::move(slot)) {}

  void OnReadDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    if (!ok) {
      reads_done_ = true;
      MaybeFinish();
      return;
    }
    Answer(request_, &pending_.emplace_back());
    if (!writing_) {
      writing_ = true;
      this->StartWrite(&pending_.front());
    }
    if (pending_.size() < kMaxUnsentAnswers) {
      this->StartRead(&request_);
    } else {
      read_paused_ = true;
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.pop_front();
    writing_ = false;
    if (!ok) {
      // The client went away; drop what is left.
      pending_.clear();
      write_failed_ = true;
    } else {
      if (read_paused_) {
        read_paused_ = false;
        this->StartRead(&request_);
      }
      if (!pending_.empty()) {
        writing_ = true;
        this->StartWrite(&pending_.front());
        return;
      }
    }
    MaybeFinish();
  }

  void OnDone() override { delete this; }

 protected:
  // Fills `answer` for `request`; runs on a gRPC thread, one call at a time.
  virtual void Answer(const Request& request, Response* answer) = 0;
  void StartReading() { this->StartRead(&request_); }

 private:
  // REQUIRES: mu_ held.
  void MaybeFinish() {
    if (finished_ || writing_ || !(reads_done_ || write_failed_)) return;
    finished_ = true;
    this->Finish(write_failed_ ? grpc::Status(grpc::StatusCode::CANCELLED, "the client stopped reading")
                               : grpc::Status::OK);
  }

  StreamSlots::Slot slot_;
  std::mutex mu_;
  Request request_;               // the one read in flight
  std::deque<Response> pending_;  // front: the write in flight
  bool writing_ = false;
  bool read_paused_ = false;  // kMaxUnsentAnswers queued; no read in flight
  bool reads_done_ = false;
  bool write_failed_ = false;
  bool finished_ = false;
};

// A bidirectional stream that fails at once, before reading anything (a
// rejected token, a service that is not enabled). Deletes itself when done.
template <typename Request, typename Response>
class RejectedBidiReactor final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RejectedBidiReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace predstore
