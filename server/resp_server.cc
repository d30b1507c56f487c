#include "server/resp_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/base/logging.h"
#include "core/base/strings.h"
#include "server/connection_registry.h"
#include "server/tcp_listener.h"

namespace predstore {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

namespace internal {
namespace {

constexpr size_t kReadChunk = 64 << 10;
constexpr std::chrono::milliseconds kAcceptRetry{100};
constexpr std::string_view kNoReply = "-ERR internal error: no reply\r\n";

}  // namespace

// Whether replies may still be posted to the loops: closed (under its
// mutex) before the loops stop, so a reply that completes later, on another
// thread, is dropped instead of touching a destroyed loop.
struct RespGate {
  std::mutex mu;
  bool open = true;
};

class RespServerState {
 public:
  explicit RespServerState(RespServerOptions options)
      : options_(std::move(options)), gate_(std::make_shared<RespGate>()) {}
  ~RespServerState() { Shutdown(std::chrono::steady_clock::now()); }

  absl::Status Start(RespHandler handler, int* port);
  void Shutdown(std::chrono::steady_clock::time_point deadline);
  size_t connections() const { return connections_.size(); }

  const RespServerOptions& options() const { return options_; }
  const RespHandler& handler() const { return handler_; }
  const std::shared_ptr<RespGate>& gate() const { return gate_; }
  void Remove(RespConnection* connection) { connections_.Remove(connection); }

 private:
  void Accept();
  void OnAccept(const ErrorCode& ec, tcp::socket socket, asio::io_context* loop);

  const RespServerOptions options_;
  RespHandler handler_;  // set by Start, before the loops run
  const std::shared_ptr<RespGate> gate_;
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::optional<tcp::acceptor> acceptor_;  // on loops_[0]
  std::optional<asio::steady_timer> accept_retry_;
  size_t next_loop_ = 0;  // on loops_[0]
  uint64_t next_id_ = 1;  // on loops_[0]
  std::atomic<bool> draining_{false};

  ConnectionRegistry<RespConnection> connections_;

  std::mutex shutdown_mu_;
  bool started_ = false;
  bool stopped_ = false;
};

// One client connection, on one loop: every member but the gate is touched
// only by that loop's thread.
class RespConnection : public std::enable_shared_from_this<RespConnection> {
 public:
  RespConnection(RespServerState* server, asio::io_context* loop, tcp::socket socket, uint64_t id)
      : server_(server), loop_(loop), gate_(server->gate()), socket_(std::move(socket)), write_timer_(*loop) {
    session_.id = id;
  }

  asio::io_context* loop() const { return loop_; }

  void Start() {
    ErrorCode ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    Read();
  }

  // Shutdown: close now if nothing is owed, else once it is sent.
  void Drain() {
    draining_ = true;
    if (pending_.empty() && out_.empty() && !writing_) return Close();
    close_after_flush_ = true;
  }

  // Any thread: the reply to command `sequence`.
  void Complete(uint64_t sequence, std::string bytes) {
    if (loop_->get_executor().running_in_this_thread()) return Deliver(sequence, std::move(bytes));
    std::lock_guard<std::mutex> lock(gate_->mu);
    if (!gate_->open) return;
    asio::post(*loop_, [self = shared_from_this(), sequence, bytes = std::move(bytes)]() mutable {
      self->Deliver(sequence, std::move(bytes));
    });
  }

 private:
  struct Pending {
    std::string bytes;
    bool ready = false;
    std::string command;  // for on_reply
    std::chrono::steady_clock::time_point started;
  };

  bool Paused() const {
    return pending_.size() >= server_->options().max_pipeline ||
           out_.size() + written_.size() + pending_bytes_ >= server_->options().max_output_bytes;
  }

  void Read() {
    if (closed_ || reading_ || close_after_flush_ || draining_ || Paused()) return;
    // Room for a chunk: compact, then grow (a command is bounded by the
    // limits, which the parser enforces on what is buffered).
    if (buffer_.size() - end_ < kReadChunk) {
      // (Not with an empty buffer: memmove of a null pointer is undefined
      // even for 0 bytes; UBSan caught it.)
      if (begin_ > 0 && end_ > begin_) std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      if (buffer_.size() - end_ < kReadChunk) buffer_.resize(end_ + kReadChunk);
    }
    reading_ = true;
    socket_.async_read_some(asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
                            [self = shared_from_this()](const ErrorCode& ec, size_t bytes) {
                              self->OnRead(ec, bytes);
                            });
  }

  void OnRead(const ErrorCode& ec, size_t bytes) {
    reading_ = false;
    if (ec || closed_) return Close();
    end_ += bytes;
    Process();
    Read();
  }

  // Parses and hands on the buffered commands, while not paused.
  void Process() {
    const RespServerOptions& options = server_->options();
    while (!closed_ && !close_after_flush_ && !draining_ && !Paused()) {
      size_t consumed = 0;
      std::string error;
      const RespParse parsed = ParseRespCommand(std::string_view(buffer_.data() + begin_, end_ - begin_),
                                                options.limits, &args_, &consumed, &error);
      if (parsed == RespParse::kIncomplete) break;
      if (parsed == RespParse::kError) {
        std::string reply;
        AppendRespError(&reply, StrCat("ERR ", error));
        const uint64_t sequence = next_sequence_++;
        pending_.emplace_back();
        close_after_flush_ = true;
        Deliver(sequence, std::move(reply));
        break;
      }
      begin_ += consumed;
      if (args_.empty()) continue;
      const uint64_t sequence = next_sequence_++;
      Pending& slot = pending_.emplace_back();
      if (options.on_reply) {
        slot.command = args_[0];
        slot.started = std::chrono::steady_clock::now();
      }
      server_->handler()(session_, args_, RespReply(shared_from_this(), sequence));
      if (session_.close_after_reply) close_after_flush_ = true;
    }
    if (begin_ == end_) begin_ = end_ = 0;
  }

  // On the loop: stores a reply and sends every reply now in order.
  void Deliver(uint64_t sequence, std::string bytes) {
    if (closed_) return;
    Pending& slot = pending_[sequence - first_pending_];
    if (const auto& on_reply = server_->options().on_reply) {
      on_reply(slot.command, bytes, std::chrono::steady_clock::now() - slot.started);
    }
    slot.ready = true;
    pending_bytes_ += bytes.size();
    slot.bytes = std::move(bytes);
    while (!pending_.empty() && pending_.front().ready) {
      pending_bytes_ -= pending_.front().bytes.size();
      out_.append(pending_.front().bytes);
      pending_.pop_front();
      ++first_pending_;
    }
    Flush();
  }

  void Flush() {
    if (closed_ || writing_) return;
    if (out_.empty()) {
      if (close_after_flush_ && pending_.empty()) {
        ErrorCode ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        Close();
      }
      return;
    }
    written_.swap(out_);
    out_.clear();
    writing_ = true;
    write_timer_.expires_after(server_->options().write_timeout);
    write_timer_.async_wait([weak = weak_from_this()](const ErrorCode& ec) {
      if (ec) return;  // cancelled: the write finished
      if (auto self = weak.lock(); self && self->writing_) {
        LogInfo("resp: closing connection ", self->session_.id, ": its client took no reply bytes for ",
                self->server_->options().write_timeout.count(), " ms");
        self->Close();
      }
    });
    asio::async_write(socket_, asio::buffer(written_),
                      [self = shared_from_this()](const ErrorCode& ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(const ErrorCode& ec) {
    writing_ = false;
    write_timer_.cancel();
    if (ec || closed_) return Close();
    written_.clear();
    Flush();
    if (!writing_ && !reading_) {
      // Room again: commands already buffered first, then the socket.
      Process();
      Read();
    }
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    ErrorCode ignored;
    write_timer_.cancel();
    socket_.close(ignored);
    pending_.clear();
    server_->Remove(this);
  }

  RespServerState* const server_;
  asio::io_context* const loop_;
  const std::shared_ptr<RespGate> gate_;
  tcp::socket socket_;
  asio::steady_timer write_timer_;
  RespSession session_;
  std::vector<char> buffer_;  // read bytes in [begin_, end_)
  size_t begin_ = 0;
  size_t end_ = 0;
  std::vector<std::string_view> args_;
  std::deque<Pending> pending_;  // commands awaiting replies, in order
  uint64_t first_pending_ = 0;   // the sequence of pending_.front()
  uint64_t next_sequence_ = 0;
  size_t pending_bytes_ = 0;  // replies ready but behind an unready one
  std::string out_;           // replies ready to write, in order
  std::string written_;       // the write in flight
  bool reading_ = false;
  bool writing_ = false;
  bool close_after_flush_ = false;  // QUIT or a protocol error: no more commands
  bool draining_ = false;
  bool closed_ = false;
};

absl::Status RespServerState::Start(RespHandler handler, int* port) {
  handler_ = std::move(handler);
  const int threads = std::max(1, options_.io_threads);
  for (int i = 0; i < threads; ++i) loops_.push_back(std::make_unique<asio::io_context>(1));
  acceptor_.emplace(*loops_[0]);
  accept_retry_.emplace(*loops_[0]);
  if (absl::Status listening = ListenOn(options_.listen_address, *loops_[0], &*acceptor_, port); !listening.ok()) {
    acceptor_.reset();
    accept_retry_.reset();
    loops_.clear();
    return listening;
  }
  started_ = true;
  for (auto& loop : loops_) work_.push_back(asio::make_work_guard(*loop));
  asio::dispatch(*loops_[0], [this] { Accept(); });
  for (auto& loop : loops_) threads_.emplace_back([context = loop.get()] { context->run(); });
  return absl::OkStatus();
}

void RespServerState::Accept() {
  asio::io_context* loop = loops_[next_loop_].get();
  next_loop_ = (next_loop_ + 1) % loops_.size();
  acceptor_->async_accept(*loop, [this, loop](const ErrorCode& ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket), loop);
  });
}

void RespServerState::OnAccept(const ErrorCode& ec, tcp::socket socket, asio::io_context* loop) {
  if (ec == asio::error::operation_aborted || !acceptor_->is_open() || draining_) return;
  if (ec) {
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
      LogWarning("resp server: accept failed: ", ec.message());
      accept_retry_->expires_after(kAcceptRetry);
      accept_retry_->async_wait([this](const ErrorCode& wait_ec) {
        if (!wait_ec && acceptor_->is_open() && !draining_) Accept();
      });
      return;
    }
    return Accept();
  }
  auto connection = std::make_shared<RespConnection>(this, loop, std::move(socket), next_id_++);
  connections_.Add(connection);
  asio::post(*loop, [connection = std::move(connection)] { connection->Start(); });
  Accept();
}


void RespServerState::Shutdown(std::chrono::steady_clock::time_point deadline) {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  if (stopped_) return;
  stopped_ = true;
  if (!started_) return;
  draining_ = true;
  asio::post(*loops_[0], [this] {
    ErrorCode ignored;
    acceptor_->close(ignored);
    accept_retry_->cancel();
  });
  for (auto& connection : connections_.Live()) {
    asio::post(*connection->loop(), [connection] { connection->Drain(); });
  }
  connections_.WaitUntilEmpty(deadline);
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->open = false;
  }
  work_.clear();
  for (auto& loop : loops_) loop->stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  connections_.Clear();
  accept_retry_.reset();
  acceptor_.reset();
  loops_.clear();
}

}  // namespace internal

RespReply& RespReply::operator=(RespReply&& other) noexcept {
  if (this != &other) {
    if (connection_) connection_->Complete(sequence_, std::string(internal::kNoReply));
    connection_ = std::move(other.connection_);
    sequence_ = other.sequence_;
  }
  return *this;
}

RespReply::~RespReply() {
  if (connection_) connection_->Complete(sequence_, std::string(internal::kNoReply));
}

void RespReply::Send(std::string bytes) {
  std::shared_ptr<internal::RespConnection> connection = std::move(connection_);
  connection->Complete(sequence_, std::move(bytes));
}

RespServer::RespServer(RespServerOptions options)
    : state_(std::make_unique<internal::RespServerState>(std::move(options))) {}

RespServer::~RespServer() = default;

absl::Status RespServer::Start(RespHandler handler) {
  int port = 0;
  absl::Status status = state_->Start(std::move(handler), &port);
  if (status.ok()) port_ = port;
  return status;
}

size_t RespServer::connections() const { return state_->connections(); }

void RespServer::Shutdown(std::chrono::steady_clock::time_point deadline) { state_->Shutdown(deadline); }

}  // namespace predstore
