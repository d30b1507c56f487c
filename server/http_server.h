// HttpServer is the HTTP/1.1 transport the HTTP/JSON front end sits on: it
// accepts connections, parses requests with explicit limits, routes them to
// handlers by method and path, and writes their responses. It knows nothing
// of predictions or JSON beyond its own error bodies.
//
// Contract, in short:
// - Routes are registered with Handle() before Start() and never change.
//   A pattern is an exact path ("/v1/health") or a prefix ending in '*'
//   ("/v1/tables/*" matches every path that starts with "/v1/tables/");
//   exact beats prefix, a longer prefix beats a shorter one. A GET route
//   also answers HEAD (same headers, no body).
// - Handlers run on an io thread and may run concurrently with each other;
//   they must not block. A handler answers through its HttpResponder, now or
//   later from any thread, exactly once; a responder destroyed unanswered
//   answers 500.
// - Each connection carries one request at a time, in order (pipelined
//   requests wait in the connection's buffer), keep-alive without a request
//   count limit, TCP_NODELAY on. Errors the server produces itself are JSON:
//   {"error":{"code":404,"message":"no route for GET /x"}}. Unknown path:
//   404; known path, other method: 405 with Allow; malformed request: 400;
//   header section over the limit: 431; body over the limit: 413 (the last
//   three close the connection).
// - With HttpServerOptions::tls set, every connection is TLS (1.2 or
//   newer) and is served exactly as above once its handshake is done; a
//   plaintext request on that port gets no HTTP answer.
//
// Why Boost.Beast: latency under many connections needs asynchronous I/O on
// a few threads, not a thread per connection; Beast is packaged by Debian
// and maintained with Boost. cpp-httplib is thread-per-connection (measured
// here: 31 us p50 for one client, but p99 6 ms to 1 s at 64 connections,
// and it needs TCP_NODELAY and a keep-alive limit set by hand);
// libmicrohttpd is C with its own threading model.
//
// Thread-safety: Handle() and Start() are for the owning thread before
// serving; port() and Shutdown() may be called from any thread except an io
// thread (that is, not from inside a handler). HttpResponder::Respond may be
// called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace predstore {

namespace internal {
class HttpConnection;
template <typename Stream>
class HttpStreamConnection;
class HttpServerState;
class HttpGate;
struct HttpParsedRequest;
}  // namespace internal

class HttpRequest;
struct HttpResponse;

// The PEM files of a TLS server. They are re-read when one of them changes
// (modification time, size or inode), checked at most every `refresh` as
// connections arrive: new connections get the new certificate, open ones
// keep theirs. Files that fail to load then (say, half written) leave the
// previous certificate in service, with a warning in the log.
struct HttpTlsFiles {
  // The server's certificate, then any intermediates. Required.
  std::string cert;
  // The private key of `cert`. Required.
  std::string key;
  // If set, clients must present a certificate this CA (or these CAs)
  // signed (mutual TLS); otherwise no client certificate is asked for.
  std::string client_ca;
  // How old the last look at the files may be when a connection arrives;
  // zero looks on every connection. Default 10 s.
  std::chrono::seconds refresh{10};
};

// Every field is read once, at Start.
struct HttpServerOptions {
  // "host:port" to listen on; host is an IP literal ("[::1]" for IPv6) or a
  // name resolved once at Start. Port 0 picks a free port (see port()).
  // Default "127.0.0.1:8080".
  std::string listen_address = "127.0.0.1:8080";
  // Threads running the event loop (accepting, parsing, writing, and the
  // handlers themselves). Default 2.
  int io_threads = 2;
  // Largest request body; larger ones (by Content-Length, or as chunks
  // arrive) are answered 413 and the connection closed. Default 4 MiB.
  std::uint64_t max_body_bytes = 4u << 20;
  // Added to the 413 message after the limit, e.g. the flag that sets it
  // ("--http_max_body_mb"); empty: nothing.
  std::string body_limit_name;
  // Largest request line plus header fields; larger is 431 and close.
  // Default 8 KiB.
  std::uint32_t max_header_bytes = 8u << 10;
  // How long a keep-alive connection may wait for the first byte of its
  // next request before it is closed. Default 60 s.
  std::chrono::milliseconds idle_timeout{60000};
  // How long reading one request (from its first byte to its last) and
  // writing its response may each take before the connection is closed.
  // Default 10 s.
  std::chrono::milliseconds request_timeout{10000};
  // If set, connections are TLS from these files, and the TLS handshake
  // must also finish within request_timeout. Unset (default): plaintext.
  std::optional<HttpTlsFiles> tls;
  // If set, called on the io thread as each handler's (or routing error's)
  // response is handed to the transport, with the request (valid during
  // the call), the response, which it may amend (a header, a field of an
  // error body), and the time since the request was read. For metrics and
  // logs: it must not block. Errors the transport answers before a request
  // is whole (400, 408, 413, 431) do not pass through it.
  std::function<void(const HttpRequest&, HttpResponse* response, std::chrono::nanoseconds elapsed)> on_response;
};

// One parsed request, as a view. The object and every view it returns stay
// valid until the request's HttpResponder has answered (or is destroyed);
// an asynchronous handler that needs them later keeps the reference, not
// copies. Read-only, so any thread may read it meanwhile.
class HttpRequest {
 public:
  // The method as sent, e.g. "GET". For a HEAD request served by a GET
  // route this is "HEAD".
  std::string_view method() const { return method_; }
  // The request target as sent: path plus "?query" if any, not decoded.
  std::string_view target() const { return target_; }
  // The target up to the first '?'.
  std::string_view path() const { return path_; }
  // The target after the first '?' (without it); empty when there is none.
  std::string_view query() const { return query_; }
  // The value of the first header field named `name` (compared without
  // regard to case); empty when there is none.
  std::string_view header(std::string_view name) const;
  std::string_view body() const { return body_; }

 private:
  template <typename Stream>
  friend class internal::HttpStreamConnection;
  std::string_view method_;
  std::string_view target_;
  std::string_view path_;
  std::string_view query_;
  std::string_view body_;
  const internal::HttpParsedRequest* parsed_ = nullptr;
};

// What a handler answers.
struct HttpResponse {
  int status = 200;
  // Sent as Content-Type unless empty.
  std::string content_type;
  std::string body;
  // Further header fields, e.g. {"Retry-After", "1"}. Content-Length and
  // Connection are the server's; do not set them here.
  std::vector<std::pair<std::string, std::string>> headers;
  // A body produced piece by piece (a long scan): when set, `body` is
  // ignored and the response goes out with chunked transfer encoding (to
  // an HTTP/1.0 client unframed, then the connection closes). It is called
  // on the connection's io thread, at once and then each time the previous
  // piece has been written, so one piece is held at a time and a client
  // that stops reading stops the producer; it fills `piece` and returns
  // false when that piece is the last. It must not block for long. Not
  // called for HEAD, nor after the connection closed.
  std::function<bool(std::string* piece)> next_piece;

  // {"error":{"code":<status>,"message":"<message>"}} as application/json,
  // the shape of every error the server produces itself.
  static HttpResponse JsonError(int status, std::string_view message);
};

// The one way to answer a request. Move-only; move it into a callback to
// answer later. Respond may be called from any thread; the response is
// written on the connection's own strand, so Respond never blocks on I/O.
// If the connection or the server is gone by then, the response is dropped.
class HttpResponder {
 public:
  HttpResponder(HttpResponder&& other) noexcept = default;
  HttpResponder& operator=(HttpResponder&& other) noexcept;
  HttpResponder(const HttpResponder&) = delete;
  HttpResponder& operator=(const HttpResponder&) = delete;
  // Answers 500 if Respond was never called.
  ~HttpResponder();

  // Sends `response`. REQUIRES: valid() (not yet answered, not moved from).
  // Afterwards valid() is false and the HttpRequest may be gone.
  void Respond(HttpResponse response);

  bool valid() const { return gate_ != nullptr; }

 private:
  template <typename Stream>
  friend class internal::HttpStreamConnection;
  HttpResponder(std::shared_ptr<internal::HttpGate> gate, std::weak_ptr<internal::HttpConnection> connection)
      : gate_(std::move(gate)), connection_(std::move(connection)) {}

  std::shared_ptr<internal::HttpGate> gate_;  // null once answered
  std::weak_ptr<internal::HttpConnection> connection_;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponder)>;

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  // Shuts down with no grace: requests still in a handler are dropped.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes `method` (e.g. "GET", case-sensitive as HTTP says) on `pattern`
  // (see the top of this file) to `handler`. REQUIRES: before Start();
  // the pattern starts with '/'; the (method, pattern) pair is new.
  void Handle(std::string_view method, std::string_view pattern, HttpHandler handler);

  // Binds, listens and starts the io threads. kInvalidArgument for an
  // address that does not parse or resolve, and for TLS files that cannot
  // be loaded or a key that does not match its certificate (the message
  // names the file); kUnavailable when the address cannot be bound.
  // REQUIRES: called once.
  absl::Status Start();

  // The bound port; 0 before a successful Start().
  int port() const { return port_; }

  // Stops accepting and closes idle connections at once; requests already
  // arriving (being read, or waiting unread in the socket), in a handler
  // or being written get until `deadline` to finish, and go out with
  // "Connection: close". Then
  // every connection is closed, the io threads are joined and later
  // responses are dropped. Blocks until done; idempotent; concurrent calls
  // wait for the first. REQUIRES: not on an io thread.
  void Shutdown(std::chrono::steady_clock::time_point deadline);

  // With TLS: the next connection re-reads the TLS files, changed or not
  // (as on a file change, a load that fails keeps the old certificate).
  // Without TLS: nothing. REQUIRES: after a successful Start(). Any thread.
  void ReloadTlsFiles();

 private:
  HttpServerOptions options_;
  std::unique_ptr<internal::HttpServerState> state_;
  int port_ = 0;
};

}  // namespace predstore
