// RespServer is the Redis-protocol transport under the RESP front end: it
// accepts connections, parses commands (resp_protocol.h) with limits, hands
// each to one handler, and writes the replies back in command order. It
// knows nothing of predictions.
//
// Contract, in short:
// - One event loop per io thread, each an io_context run by that thread
//   alone; a connection lives on one loop for its life, so its state needs
//   no lock. One acceptor (on loop 0) deals connections out round robin.
//   Why: a Redis client keeps its connections, so accepting is rare; the
//   hot path is read, parse, answer, write on one thread with no handoff.
//   SO_REUSEPORT is not used, so that a second server on the port fails.
// - Pipelining: every complete command in what was read is parsed and
//   handed on at once; replies may complete in any order (a lookup scored
//   by a model finishes on another thread) and go out in command order.
// - Limits: a protocol error or a command over RespLimits gets one error
//   reply, then the connection closes. Reading pauses while
//   `max_pipeline` commands await their replies or `max_output_bytes` of
//   replies are unsent, so a client that never reads holds a bounded amount
//   of memory; one whose unsent replies do not move for `write_timeout` is
//   disconnected.
// - A command with no arguments (an empty inline line) gets no reply, as
//   in Redis.
//
// Thread-safety: Start() and Shutdown() are for the owning thread; port()
// for any. The handler runs on the connection's loop thread; RespReply::Send
// may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "server/resp_protocol.h"

namespace predstore {

namespace internal {
class RespConnection;
class RespServerState;
}  // namespace internal

// What a connection remembers between commands. Read and written only on
// its loop thread (by the handler).
struct RespSession {
  uint64_t id = 0;            // unique per server, from 1
  int protocol = 2;           // 2 or 3, as HELLO set it
  bool authenticated = false;  // the handler's own flag (AUTH, HELLO AUTH)
  std::string name;           // CLIENT SETNAME
  bool close_after_reply = false;  // set by QUIT: close once this reply is sent
};

// The one way to answer a command. Move-only; Send exactly once, from any
// thread. Destroyed unsent, it answers "-ERR internal error: no reply".
class RespReply {
 public:
  RespReply(RespReply&& other) noexcept = default;
  RespReply& operator=(RespReply&& other) noexcept;
  RespReply(const RespReply&) = delete;
  RespReply& operator=(const RespReply&) = delete;
  ~RespReply();

  // Sends `bytes`, one or more complete RESP values (resp_protocol.h's
  // writers). REQUIRES: not sent yet.
  void Send(std::string bytes);

 private:
  friend class internal::RespConnection;
  RespReply(std::shared_ptr<internal::RespConnection> connection, uint64_t sequence)
      : connection_(std::move(connection)), sequence_(sequence) {}

  std::shared_ptr<internal::RespConnection> connection_;  // null once sent
  uint64_t sequence_ = 0;
};

// Answers one command: args[0] is the command name as sent. The views are
// valid only during the call; copy what an asynchronous reply needs.
using RespHandler = std::function<void(RespSession& session, std::span<const std::string_view> args, RespReply reply)>;

struct RespServerOptions {
  // "host:port", as tcp_listener.h reads it. Default "127.0.0.1:6379".
  std::string listen_address = "127.0.0.1:6379";
  // Event loops, one thread each. Default 2.
  int io_threads = 2;
  RespLimits limits;
  // Commands of one connection awaiting replies before reading pauses.
  size_t max_pipeline = 1024;
  // Unsent reply bytes of one connection before reading pauses.
  size_t max_output_bytes = 4 << 20;
  // How long unsent replies may wait for the client to take any byte.
  std::chrono::milliseconds write_timeout{30000};
  // If set, called on the connection's loop as each reply is complete,
  // with the command's name as sent (empty for a protocol error), the
  // reply, and the time since the command was parsed. For metrics: it must
  // not block.
  std::function<void(std::string_view command, std::string_view reply, std::chrono::nanoseconds elapsed)> on_reply;
};

class RespServer {
 public:
  explicit RespServer(RespServerOptions options);
  // Shuts down with no grace.
  ~RespServer();
  RespServer(const RespServer&) = delete;
  RespServer& operator=(const RespServer&) = delete;

  // Binds, listens and starts the loops, which hand every command to
  // `handler`; errors as ListenOn. REQUIRES: called once.
  absl::Status Start(RespHandler handler);
  // The bound port; 0 before a successful Start().
  int port() const { return port_; }
  // Connections open now.
  size_t connections() const;

  // Stops accepting and closes idle connections at once; connections with
  // commands awaiting replies get until `deadline` to send them, then close.
  // Blocks until done; idempotent. REQUIRES: not on a loop thread.
  void Shutdown(std::chrono::steady_clock::time_point deadline);

 private:
  std::unique_ptr<internal::RespServerState> state_;
  int port_ = 0;
};

}  // namespace predstore
