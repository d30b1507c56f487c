#include "server/http_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cassert>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "core/base/json_text.h"
#include "core/base/logging.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "server/connection_registry.h"
#include "server/http_request_parser.h"
#include "server/tcp_listener.h"

namespace predstore {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

using Strand = asio::strand<asio::io_context::executor_type>;
using TcpStream = beast::basic_stream<tcp, Strand>;
using TlsStream = beast::ssl_stream<TcpStream>;
using Socket = tcp::socket::rebind_executor<Strand>::other;
using Acceptor = asio::basic_socket_acceptor<tcp, Strand>;
using Timer =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Strand>;

constexpr std::size_t kReadChunk = 8192;
// How long a connection closed after an error response keeps reading (and
// discarding) what the client still sends, so that the client sees the
// response rather than a reset.
constexpr std::chrono::seconds kLinger{1};
constexpr std::chrono::milliseconds kAcceptRetry{50};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string_view ToStd(beast::string_view text) { return std::string_view(text.data(), text.size()); }
beast::string_view ToBeast(std::string_view text) { return beast::string_view(text.data(), text.size()); }

// Why a TLS file did not load. Asio calls an OpenSSL system error (a file
// that cannot be opened) just "asio.ssl error"; this names its errno.
std::string TlsErrorText(const beast::error_code& ec) {
  const auto code = static_cast<unsigned int>(ec.value());
  if (ec.category() == asio::error::get_ssl_category() && ERR_SYSTEM_ERROR(code)) {
    return std::error_code(static_cast<int>(ERR_GET_REASON(code)), std::generic_category()).message();
  }
  return ec.message();
}

// A new TLS 1.2+ server context from `files`; kInvalidArgument naming the
// file that cannot be loaded, or the key that does not match.
absl::StatusOr<std::shared_ptr<ssl::context>> LoadTlsContext(const HttpTlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  beast::error_code ec;
  context->use_certificate_chain_file(files.cert, ec);
  if (ec) return absl::InvalidArgumentError(StrCat("TLS certificate '", files.cert, "': ", TlsErrorText(ec)));
  context->use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError(StrCat("TLS key '", files.key, "': ", TlsErrorText(ec)));
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return absl::InvalidArgumentError(
        StrCat("TLS key '", files.key, "' does not match the certificate '", files.cert, "'"));
  }
  // Without a session id context, OpenSSL refuses to resume sessions once
  // client certificates are verified.
  static constexpr unsigned char kSessionContext[] = "predstore-http";
  SSL_CTX_set_session_id_context(context->native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  if (!files.client_ca.empty()) {
    context->load_verify_file(files.client_ca, ec);
    if (ec) return absl::InvalidArgumentError(StrCat("TLS client CA '", files.client_ca, "': ", TlsErrorText(ec)));
    // Named in the certificate request, so a client with several
    // certificates knows which to send.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
    if (names == nullptr) {
      return absl::InvalidArgumentError(StrCat("TLS client CA '", files.client_ca, "': no certificate in it"));
    }
    SSL_CTX_set_client_CA_list(context->native_handle(), names);  // takes ownership
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

// What tells a file changed; all zero when it cannot be read.
struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t modified_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const std::string& path) {
  struct stat info;
  if (path.empty() || stat(path.c_str(), &info) != 0) return {};
  return {info.st_dev, info.st_ino, info.st_size,
          std::int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec};
}

}  // namespace

namespace internal {

struct HttpParsedRequest {
  const http::fields* fields = nullptr;
};

// Lets HttpResponder reach a connection only while the server's io_context
// exists: Respond enters, Shutdown closes the gate (waiting for those
// inside) before it destroys the io_context.
class HttpGate {
 public:
  bool Enter() {
    users_.fetch_add(1);
    if (closed_.load()) {
      Exit();
      return false;
    }
    return true;
  }
  void Exit() {
    if (users_.fetch_sub(1) == 1 && closed_.load()) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_all();
    }
  }
  void Close() {
    closed_.store(true);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return users_.load() == 0; });
  }

 private:
  std::atomic<int64_t> users_{0};
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

struct HttpRoute {
  std::vector<std::pair<std::string, HttpHandler>> methods;
  std::string allow;  // the Allow header of a 405
};

// The TLS context new connections get: loaded from the files at Start, and
// loaded again when their stamps change, looked at no more often than every
// `refresh`, or at the next connection whatever their stamps after
// LoadAtNextConnection. Connections hold a reference to theirs, so a
// replaced context lives on until its last connection closes. Not
// thread-safe, but for LoadAtNextConnection: Start uses it before the io
// threads run, then only the accept strand does.
class ReloadingTlsContext {
 public:
  explicit ReloadingTlsContext(const HttpTlsFiles& files) : files_(files) {}

  // The first load; kInvalidArgument as LoadTlsContext.
  absl::Status Load(std::chrono::steady_clock::time_point now);

  // The newest context that loaded, after a look at the files if the last
  // one is older than `refresh`. Loading blocks on file reads.
  std::shared_ptr<ssl::context> Current(std::chrono::steady_clock::time_point now);

  // Makes the next Current() load the files. Any thread.
  void LoadAtNextConnection() { load_now_.store(true, std::memory_order_relaxed); }

 private:
  std::array<FileStamp, 3> Stamps() const {
    return {StampOf(files_.cert), StampOf(files_.key), StampOf(files_.client_ca)};
  }

  const HttpTlsFiles files_;
  std::shared_ptr<ssl::context> context_;
  std::array<FileStamp, 3> stamps_;  // as of the last load, whether it worked or not
  std::chrono::steady_clock::time_point next_look_;
  std::atomic<bool> load_now_{false};
};

absl::Status ReloadingTlsContext::Load(std::chrono::steady_clock::time_point now) {
  stamps_ = Stamps();
  next_look_ = now + files_.refresh;
  PREDSTORE_ASSIGN_OR_RETURN(context_, LoadTlsContext(files_));
  return absl::OkStatus();
}

std::shared_ptr<ssl::context> ReloadingTlsContext::Current(std::chrono::steady_clock::time_point now) {
  const bool forced = load_now_.exchange(false, std::memory_order_relaxed);
  if (now < next_look_ && !forced) return context_;
  next_look_ = now + files_.refresh;
  // Stamped before reading, so a write that lands during the load is seen
  // at the next look.
  const std::array<FileStamp, 3> stamps = Stamps();
  if (stamps == stamps_ && !forced) return context_;
  stamps_ = stamps;
  absl::StatusOr<std::shared_ptr<ssl::context>> loaded = LoadTlsContext(files_);
  if (loaded.ok()) {
    context_ = *std::move(loaded);
    LogInfo("http server: loaded the renewed TLS certificate '", files_.cert, "'");
  } else {
    LogWarning("http server: keeping the previous TLS certificate: ", loaded.status().message());
  }
  return context_;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

class HttpServerState {
 public:
  explicit HttpServerState(const HttpServerOptions& options) : options_(options), gate_(std::make_shared<HttpGate>()) {}

  void AddRoute(std::string_view method, std::string_view pattern, HttpHandler handler);
  absl::Status Start(const std::string& listen_address, int* port);
  void Shutdown(std::chrono::steady_clock::time_point deadline);
  void ReloadTlsFiles() {
    if (tls_) tls_->LoadAtNextConnection();
  }

  // The route for `path`, and its handler for `method` (null if the route
  // has none); {null, null} when no route matches.
  std::pair<const HttpRoute*, const HttpHandler*> Find(std::string_view path, std::string_view method) const;

  const HttpServerOptions& options() const { return options_; }
  const std::shared_ptr<HttpGate>& gate() const { return gate_; }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  void Remove(HttpConnection* connection);

 private:
  void Accept();
  void OnAccept(beast::error_code ec, Socket socket);
  // Registers `connection` and starts it on its strand.
  template <typename Connection>
  void Serve(std::shared_ptr<Connection> connection);

  const HttpServerOptions options_;
  const std::shared_ptr<HttpGate> gate_;
  std::unordered_map<std::string, HttpRoute, StringHash, std::equal_to<>> exact_;
  std::vector<std::pair<std::string, HttpRoute>> prefixes_;  // longest first after Start

  std::optional<asio::io_context> io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::optional<Acceptor> acceptor_;
  std::optional<Timer> accept_retry_;
  std::optional<ReloadingTlsContext> tls_;  // set when options_.tls is; used on the accept strand
  std::vector<std::thread> threads_;
  std::atomic<bool> draining_{false};

  std::mutex shutdown_mu_;  // serializes Shutdown
  bool started_ = false;
  bool stopped_ = false;

  ConnectionRegistry<HttpConnection> connections_;
};

// What HttpResponder and Shutdown need of a connection, whatever its
// stream.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  explicit HttpConnection(const Strand& strand) : strand_(strand) {}
  virtual ~HttpConnection() = default;

  const Strand& strand() const { return strand_; }
  // Closes the connection unless a request is in a handler or being
  // written. On strand().
  virtual void Drain() = 0;
  // Writes the answer to the current request. On strand().
  virtual void Deliver(HttpResponse response) = 0;

 private:
  const Strand strand_;
};

// One accepted connection over TcpStream or TlsStream. Every member
// function runs on strand(); the registry in HttpServerState owns it until
// it closes.
template <typename Stream>
class HttpStreamConnection final : public HttpConnection {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // For TcpStream.
  HttpStreamConnection(HttpServerState* server, Socket socket) requires(!kTls)
      : HttpConnection(socket.get_executor()), server_(server), stream_(std::move(socket)) {}
  // For TlsStream: the connection keeps `tls_context` while it lives.
  HttpStreamConnection(HttpServerState* server, Socket socket, std::shared_ptr<ssl::context> tls_context) requires(kTls)
      : HttpConnection(socket.get_executor()),
        server_(server),
        tls_context_(std::move(tls_context)),
        stream_(std::move(socket), *tls_context_) {}

  void Start();
  void Drain() override;
  void Deliver(HttpResponse response) override;

 private:
  enum class Phase { kHandshaking, kIdle, kReading, kHandling, kWriting, kLingering, kClosed };

  std::shared_ptr<HttpStreamConnection> Self() {
    return std::static_pointer_cast<HttpStreamConnection>(shared_from_this());
  }
  TcpStream& tcp_stream() { return beast::get_lowest_layer(stream_); }

  void ReadRequest();
  void OnFirstBytes(beast::error_code ec, std::size_t bytes);
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnReadError(beast::error_code ec);
  void OnRequest();
  void SendErrorAndClose(int status, std::string_view message);
  void Write(bool keep_alive);
  void OnWrite(beast::error_code ec, bool keep_alive);
  // A response with next_piece: the header, then each piece as it comes.
  void WriteStreamed(bool keep_alive);
  void OnPieceWritten(beast::error_code ec, bool keep_alive);
  // After a response that closes the connection: ends TLS (if any), then
  // half-closes and discards what the client still sends (see kLinger).
  void Linger();
  // The TCP part of Linger, beneath TLS if any.
  void DiscardUntilClosed();
  void Close();

  HttpServerState* const server_;
  const std::shared_ptr<ssl::context> tls_context_;  // null for TcpStream
  Stream stream_;
  beast::flat_buffer buffer_;  // reused across requests; holds pipelined bytes
  std::optional<HttpRequestParser> parser_;
  HttpParsedRequest parsed_;
  HttpRequest request_;
  http::response<http::string_body> response_;
  // While a streamed response is written: its producer (null once it gave
  // the last piece), the piece being written, the header's serializer.
  std::function<bool(std::string*)> next_piece_;
  std::string piece_;
  std::optional<http::response_serializer<http::string_body>> header_writer_;
  bool last_piece_written_ = false;
  Phase phase_ = Phase::kHandshaking;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  std::chrono::steady_clock::time_point started_;  // when the current request was read
};

template <typename Stream>
void HttpStreamConnection<Stream>::Start() {
  beast::error_code ignored;
  tcp_stream().socket().set_option(tcp::no_delay(true), ignored);
  if constexpr (kTls) {
    tcp_stream().expires_after(server_->options().request_timeout);
    stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
      if (ec || self->phase_ != Phase::kHandshaking) return self->Close();
      self->ReadRequest();
    });
  } else {
    ReadRequest();
  }
}

template <typename Stream>
void HttpStreamConnection<Stream>::Drain() {
  // A request already arriving (being read, or bytes waiting in the socket
  // of an idle connection) is read and answered, with Connection: close,
  // within the shutdown's deadline; idle connections close now.
  if (phase_ == Phase::kHandling || phase_ == Phase::kWriting || phase_ == Phase::kReading) return;
  beast::error_code ec;
  if (phase_ == Phase::kIdle && tcp_stream().socket().available(ec) > 0 && !ec) return;
  Close();
}

template <typename Stream>
void HttpStreamConnection<Stream>::ReadRequest() {
  if (server_->draining()) return Close();
  const HttpServerOptions& options = server_->options();
  parser_.emplace();
  LimitRequestParser(options, &*parser_);
  if (buffer_.size() > 0) return ReadHeader();  // a pipelined request
  phase_ = Phase::kIdle;
  tcp_stream().expires_after(options.idle_timeout);
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          [self = Self()](beast::error_code ec, std::size_t bytes) { self->OnFirstBytes(ec, bytes); });
}

template <typename Stream>
void HttpStreamConnection<Stream>::OnFirstBytes(beast::error_code ec, std::size_t bytes) {
  if (ec || phase_ != Phase::kIdle) return Close();
  buffer_.commit(bytes);
  ReadHeader();
}

template <typename Stream>
void HttpStreamConnection<Stream>::ReadHeader() {
  phase_ = Phase::kReading;
  tcp_stream().expires_after(server_->options().request_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = Self()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
}

template <typename Stream>
void HttpStreamConnection<Stream>::OnHeader(beast::error_code ec) {
  if (phase_ != Phase::kReading) return Close();
  if (ec) return OnReadError(ec);
  if (parser_->is_done()) return OnRequest();
  if (WantsContinue(*parser_)) {
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = Self()](beast::error_code ec, std::size_t) {
                        if (ec || self->phase_ != Phase::kReading) return self->Close();
                        self->ReadBody();
                      });
    return;
  }
  ReadBody();
}

template <typename Stream>
void HttpStreamConnection<Stream>::ReadBody() {
  http::async_read(stream_, buffer_, *parser_, [self = Self()](beast::error_code ec, std::size_t) {
    if (self->phase_ != Phase::kReading) return self->Close();
    if (ec) return self->OnReadError(ec);
    self->OnRequest();
  });
}

template <typename Stream>
void HttpStreamConnection<Stream>::OnReadError(beast::error_code ec) {
  if (std::optional<HttpReadFailure> failure = ReadFailureOf(ec, server_->options())) {
    return SendErrorAndClose(failure->status, failure->message);
  }
  Close();
}

template <typename Stream>
void HttpStreamConnection<Stream>::OnRequest() {
  phase_ = Phase::kHandling;
  const http::request<http::string_body>& message = parser_->get();
  version_ = message.version();
  keep_alive_ = message.keep_alive();
  head_ = message.method() == http::verb::head;
  parsed_.fields = &message;
  request_.parsed_ = &parsed_;
  request_.method_ = ToStd(message.method_string());
  request_.target_ = ToStd(message.target());
  const HttpTargetParts parts = SplitTarget(request_.target_);
  request_.path_ = parts.path;
  request_.query_ = parts.query;
  request_.body_ = message.body();

  started_ = std::chrono::steady_clock::now();
  const auto [route, handler] = server_->Find(request_.path_, request_.method_);
  if (route == nullptr) {
    return Deliver(HttpResponse::JsonError(404, StrCat("no route for ", request_.method_, " ", request_.path_)));
  }
  if (handler == nullptr) {
    HttpResponse response =
        HttpResponse::JsonError(405, StrCat("method ", request_.method_, " is not allowed for ", request_.path_));
    response.headers.emplace_back("Allow", route->allow);
    return Deliver(std::move(response));
  }
  // Last: the handler may answer inline, which starts the write.
  (*handler)(request_, HttpResponder(server_->gate(), weak_from_this()));
}

template <typename Stream>
void HttpStreamConnection<Stream>::Deliver(HttpResponse response) {
  if (phase_ != Phase::kHandling) return;  // closed meanwhile (shutdown)
  if (server_->options().on_response) {
    server_->options().on_response(request_, &response, std::chrono::steady_clock::now() - started_);
  }
  response_ = {};
  response_.version(version_);
  assert(response.status >= 100 && response.status <= 999);
  const bool status_ok = response.status >= 100 && response.status <= 999;
  response_.result(static_cast<unsigned>(status_ok ? response.status : 500));
  if (!response.content_type.empty()) response_.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) response_.insert(ToBeast(name), value);
  const bool streamed = response.next_piece != nullptr && !head_;
  // An HTTP/1.0 client has no chunked encoding: the end of a streamed body
  // is the end of the connection.
  const bool keep_alive = keep_alive_ && !server_->draining() && !(streamed && version_ < 11);
  response_.keep_alive(keep_alive);
  if (streamed) {
    response_.chunked(version_ >= 11);
    next_piece_ = std::move(response.next_piece);
    return WriteStreamed(keep_alive);
  }
  if (head_) {
    response_.content_length(response.body.size());
  } else {
    response_.body() = std::move(response.body);
    response_.prepare_payload();
  }
  Write(keep_alive);
}

template <typename Stream>
void HttpStreamConnection<Stream>::SendErrorAndClose(int status, std::string_view message) {
  phase_ = Phase::kHandling;
  HttpResponse response = HttpResponse::JsonError(status, message);
  response_ = {};
  response_.version(11);
  response_.result(static_cast<unsigned>(status));
  response_.set(http::field::content_type, response.content_type);
  response_.keep_alive(false);
  response_.body() = std::move(response.body);
  response_.prepare_payload();
  Write(/*keep_alive=*/false);
}

template <typename Stream>
void HttpStreamConnection<Stream>::Write(bool keep_alive) {
  phase_ = Phase::kWriting;
  tcp_stream().expires_after(server_->options().request_timeout);
  http::async_write(stream_, response_,
                    [self = Self(), keep_alive](beast::error_code ec, std::size_t) { self->OnWrite(ec, keep_alive); });
}

template <typename Stream>
void HttpStreamConnection<Stream>::WriteStreamed(bool keep_alive) {
  phase_ = Phase::kWriting;
  last_piece_written_ = false;
  header_writer_.emplace(response_);
  tcp_stream().expires_after(server_->options().request_timeout);
  http::async_write_header(stream_, *header_writer_, [self = Self(), keep_alive](beast::error_code ec, std::size_t) {
    self->OnPieceWritten(ec, keep_alive);
  });
}

template <typename Stream>
void HttpStreamConnection<Stream>::OnPieceWritten(beast::error_code ec, bool keep_alive) {
  if (ec || phase_ != Phase::kWriting || last_piece_written_) {
    next_piece_ = nullptr;
    piece_ = {};
    header_writer_.reset();
    return OnWrite(ec, keep_alive);
  }
  auto written = [self = Self(), keep_alive](beast::error_code write_ec, std::size_t) {
    self->OnPieceWritten(write_ec, keep_alive);
  };
  tcp_stream().expires_after(server_->options().request_timeout);
  const bool chunked = version_ >= 11;
  while (next_piece_) {
    piece_.clear();
    if (!next_piece_(&piece_)) next_piece_ = nullptr;
    if (piece_.empty()) continue;  // an empty chunk would end the body
    if (chunked) return asio::async_write(stream_, http::make_chunk(asio::buffer(piece_)), std::move(written));
    return asio::async_write(stream_, asio::buffer(piece_), std::move(written));
  }
  last_piece_written_ = true;
  if (chunked) return asio::async_write(stream_, http::make_chunk_last(), std::move(written));
  OnPieceWritten({}, keep_alive);
}

template <typename Stream>
void HttpStreamConnection<Stream>::OnWrite(beast::error_code ec, bool keep_alive) {
  response_ = {};
  if (ec || phase_ != Phase::kWriting) return Close();
  if (!keep_alive) return Linger();
  ReadRequest();
}

template <typename Stream>
void HttpStreamConnection<Stream>::Linger() {
  phase_ = Phase::kLingering;
  if constexpr (kTls) {
    if (server_->draining()) return Close();
    // Sends close_notify without waiting for the client's: a client still
    // sending would fail a two-way TLS shutdown, and the close would reset
    // the connection before it read the response. Marking the client's as
    // received makes the shutdown one-way.
    SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
    tcp_stream().expires_after(kLinger);
    stream_.async_shutdown([self = Self()](beast::error_code ec) {
      if (ec || self->phase_ != Phase::kLingering) return self->Close();
      self->DiscardUntilClosed();
    });
  } else {
    DiscardUntilClosed();
  }
}

template <typename Stream>
void HttpStreamConnection<Stream>::DiscardUntilClosed() {
  if (server_->draining()) return Close();
  beast::error_code ignored;
  tcp_stream().socket().shutdown(tcp::socket::shutdown_send, ignored);
  tcp_stream().expires_after(kLinger);
  buffer_.clear();
  tcp_stream().async_read_some(buffer_.prepare(kReadChunk), [self = Self()](beast::error_code ec, std::size_t) {
    if (ec || self->phase_ != Phase::kLingering) return self->Close();
    self->DiscardUntilClosed();
  });
}

template <typename Stream>
void HttpStreamConnection<Stream>::Close() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  beast::error_code ignored;
  tcp_stream().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp_stream().close();
  server_->Remove(this);
}

void HttpServerState::AddRoute(std::string_view method, std::string_view pattern, HttpHandler handler) {
  assert(!started_);
  assert(!pattern.empty() && pattern.front() == '/');
  assert(!method.empty());
  HttpRoute* route = nullptr;
  if (pattern.back() == '*') {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    for (auto& [existing, r] : prefixes_) {
      if (existing == prefix) route = &r;
    }
    if (route == nullptr) route = &prefixes_.emplace_back(std::string(prefix), HttpRoute()).second;
  } else {
    route = &exact_[std::string(pattern)];
  }
  for ([[maybe_unused]] const auto& [existing, h] : route->methods) assert(existing != method);
  route->methods.emplace_back(std::string(method), std::move(handler));
}

std::pair<const HttpRoute*, const HttpHandler*> HttpServerState::Find(std::string_view path,
                                                                      std::string_view method) const {
  const HttpRoute* route = nullptr;
  if (auto it = exact_.find(path); it != exact_.end()) {
    route = &it->second;
  } else {
    for (const auto& [prefix, r] : prefixes_) {
      if (path.starts_with(prefix)) {
        route = &r;
        break;
      }
    }
  }
  if (route == nullptr) return {nullptr, nullptr};
  const HttpHandler* get = nullptr;
  for (const auto& [m, handler] : route->methods) {
    if (m == method) return {route, &handler};
    if (m == "GET") get = &handler;
  }
  if (method == "HEAD" && get != nullptr) return {route, get};
  return {route, nullptr};
}

absl::Status HttpServerState::Start(const std::string& listen_address, int* port) {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  assert(!started_ && !stopped_);
  assert(options_.io_threads > 0);

  // Freeze the routes: Allow headers, longest prefix first.
  auto finish = [](HttpRoute& route) {
    bool get = false, head = false;
    for (const auto& [method, handler] : route.methods) {
      if (!route.allow.empty()) route.allow += ", ";
      route.allow += method;
      get |= method == "GET";
      head |= method == "HEAD";
    }
    if (get && !head) route.allow += ", HEAD";
  };
  for (auto& [pattern, route] : exact_) finish(route);
  for (auto& [prefix, route] : prefixes_) finish(route);
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });

  if (options_.tls) {
    tls_.emplace(*options_.tls);
    if (absl::Status loaded = tls_->Load(std::chrono::steady_clock::now()); !loaded.ok()) {
      tls_.reset();
      return loaded;
    }
  }

  io_.emplace(options_.io_threads);
  const Strand accept_strand = asio::make_strand(*io_);
  acceptor_.emplace(accept_strand);
  accept_retry_.emplace(accept_strand);
  if (absl::Status listening = ListenOn(listen_address, *io_, &*acceptor_, port); !listening.ok()) {
    acceptor_.reset();
    accept_retry_.reset();
    return listening;
  }

  started_ = true;
  work_.emplace(io_->get_executor());
  asio::dispatch(accept_strand, [this] { Accept(); });
  threads_.reserve(static_cast<std::size_t>(options_.io_threads));
  for (int i = 0; i < options_.io_threads; ++i) threads_.emplace_back([this] { io_->run(); });
  return absl::OkStatus();
}

void HttpServerState::Accept() {
  acceptor_->async_accept(asio::make_strand(*io_),
                          [this](beast::error_code ec, Socket socket) { OnAccept(ec, std::move(socket)); });
}

void HttpServerState::OnAccept(beast::error_code ec, Socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_->is_open() || draining()) return;
  if (ec) {
    // Out of descriptors or memory: back off rather than spin. A client
    // that gave up before the accept: just go on.
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
      LogWarning("http server: accept failed: ", ec.message());
      accept_retry_->expires_after(kAcceptRetry);
      accept_retry_->async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && acceptor_->is_open() && !draining()) Accept();
      });
      return;
    }
    return Accept();
  }
  if (tls_) {
    Serve(std::make_shared<HttpStreamConnection<TlsStream>>(this, std::move(socket),
                                                            tls_->Current(std::chrono::steady_clock::now())));
  } else {
    Serve(std::make_shared<HttpStreamConnection<TcpStream>>(this, std::move(socket)));
  }
  Accept();
}

template <typename Connection>
void HttpServerState::Serve(std::shared_ptr<Connection> connection) {
  connections_.Add(connection);
  const Strand strand = connection->strand();
  asio::dispatch(strand, [connection = std::move(connection)] { connection->Start(); });
}

void HttpServerState::Remove(HttpConnection* connection) { connections_.Remove(connection); }

void HttpServerState::Shutdown(std::chrono::steady_clock::time_point deadline) {
  std::lock_guard<std::mutex> once(shutdown_mu_);
  if (stopped_) return;
  stopped_ = true;
  if (!started_) return;
  assert(!io_->get_executor().running_in_this_thread());

  // Stop accepting; close what is idle or still arriving.
  draining_.store(true);
  asio::post(acceptor_->get_executor(), [this] {
    beast::error_code ignored;
    acceptor_->close(ignored);
    accept_retry_->cancel();
  });
  std::vector<std::shared_ptr<HttpConnection>> live = connections_.Live();
  for (auto& connection : live) {
    const Strand strand = connection->strand();
    asio::post(strand, [connection = std::move(connection)] { connection->Drain(); });
  }
  live.clear();

  // Let requests in handlers finish, up to the deadline.
  connections_.WaitUntilEmpty(deadline);

  // Then stop everything. Responders answering from now on are dropped;
  // connections still open are closed as they are destroyed, the last
  // ones with the io_context's queued handlers.
  gate_->Close();
  work_.reset();
  io_->stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  accept_retry_.reset();
  acceptor_.reset();
  connections_.Clear();
  io_.reset();
}

}  // namespace internal

std::string_view HttpRequest::header(std::string_view name) const {
  if (parsed_ == nullptr || parsed_->fields == nullptr) return {};
  const auto it = parsed_->fields->find(ToBeast(name));
  if (it == parsed_->fields->end()) return {};
  return ToStd(it->value());
}

HttpResponse HttpResponse::JsonError(int status, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = StrCat("{\"error\":{\"code\":", status, ",\"message\":\"");
  AppendJsonEscaped(&response.body, message);
  response.body += "\"}}";
  return response;
}

HttpResponder& HttpResponder::operator=(HttpResponder&& other) noexcept {
  if (this != &other) {
    if (valid()) Respond(HttpResponse::JsonError(500, "the handler dropped the request"));
    gate_ = std::move(other.gate_);
    connection_ = std::move(other.connection_);
  }
  return *this;
}

HttpResponder::~HttpResponder() {
  if (valid()) Respond(HttpResponse::JsonError(500, "the handler dropped the request"));
}

void HttpResponder::Respond(HttpResponse response) {
  assert(valid());
  const std::shared_ptr<internal::HttpGate> gate = std::move(gate_);
  std::weak_ptr<internal::HttpConnection> weak = std::move(connection_);
  if (gate == nullptr || !gate->Enter()) return;
  if (std::shared_ptr<internal::HttpConnection> connection = weak.lock()) {
    // Inline when already on the connection's strand (a handler answering
    // at once), else queued to it.
    const Strand strand = connection->strand();
    asio::dispatch(strand, [connection = std::move(connection), response = std::move(response)]() mutable {
      connection->Deliver(std::move(response));
    });
  }
  gate->Exit();
}

HttpServer::HttpServer(HttpServerOptions options)
    : options_(std::move(options)), state_(std::make_unique<internal::HttpServerState>(options_)) {}

HttpServer::~HttpServer() { Shutdown(std::chrono::steady_clock::now()); }

void HttpServer::Handle(std::string_view method, std::string_view pattern, HttpHandler handler) {
  state_->AddRoute(method, pattern, std::move(handler));
}

absl::Status HttpServer::Start() {
  int port = 0;
  absl::Status status = state_->Start(options_.listen_address, &port);
  if (status.ok()) port_ = port;
  return status;
}

void HttpServer::Shutdown(std::chrono::steady_clock::time_point deadline) { state_->Shutdown(deadline); }

void HttpServer::ReloadTlsFiles() { state_->ReloadTlsFiles(); }

}  // namespace predstore
