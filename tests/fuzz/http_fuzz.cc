// libFuzzer target: any bytes as what a client sent on one HTTP connection,
// read request after request as HttpServer's connections read them
// (server/http_request_parser.h): a parser with the server's limits per
// request, the first bytes, the header, then the body, pipelined bytes kept
// for the next request, a failed read answered or closed as the server
// does, and each target split into path and query. The bytes are read as
// they might arrive: all at once, 7 at a time and one at a time. Reading
// must end in requests, an error answer or a close, never a crash
// (AddressSanitizer, UBSan); beyond that, every request's method and target
// are in the bytes it took, its path and query make up its target, its body
// is within the limit and as long as its Content-Length says, an error
// answer is 400, 413 or 431, the requests read are the same however the
// bytes arrive (up to where one way stops), and the JSON of the server's
// own error answers (a 404 names the method and path) stays valid whatever
// the bytes. Run by tests/fuzz/run_fuzz.sh.

// Boost's own asserts off, as in the server's Release build (NDEBUG): when
// a last chunk ("0\r\n") arrives split, Beast 1.74 asserts that 5 bytes of
// it are buffered where 3 or 4 may be, which it then parses correctly
// (boostorg/beast#2861, fixed upstream in 2024). The seed
// chunked-final-chunk-split is such a request.
#define BOOST_DISABLE_ASSERTS
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/json_text.h"
#include "server/http_request_parser.h"
#include "simdjson.h"

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

// The client's bytes, arriving at most `piece` at a time, then the end of
// the stream. A synchronous read stream for Beast.
class ArrivingBytes {
 public:
  ArrivingBytes(std::string_view bytes, size_t piece) : bytes_(bytes), piece_(piece) {}

  template <typename Buffers>
  size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    ec = {};
    if (delivered_ == bytes_.size()) {
      ec = net::error::eof;
      return 0;
    }
    const std::string_view next = bytes_.substr(delivered_, piece_);
    const size_t n = net::buffer_copy(buffers, net::const_buffer(next.data(), next.size()));
    delivered_ += n;
    return n;
  }
  template <typename Buffers>
  size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    return read_some(buffers, ec);
  }

  size_t delivered() const { return delivered_; }

 private:
  std::string_view bytes_;
  size_t piece_;
  size_t delivered_ = 0;
};

struct Request {
  std::string method;
  std::string target;
  std::string body;
  bool keep_alive = false;
  unsigned version = 0;
  bool continued = false;  // answered "100 Continue"
  bool operator==(const Request&) const = default;
};

struct Connection {
  std::vector<Request> requests;
  std::optional<predstore::internal::HttpReadFailure> failure;  // else closed quietly
};

// Aborts unless the server's JSON error body naming `text` is valid JSON,
// holding `text` itself when that is UTF-8.
void CheckErrorJson(std::string_view text) {
  std::string json = "{\"error\":{\"code\":404,\"message\":\"";
  predstore::AppendJsonEscaped(&json, text);
  json += "\"}}";
  static simdjson::dom::parser parser;
  std::string_view message;
  if (parser.parse(json).at_pointer("/error/message").get_string().get(message) != simdjson::SUCCESS) std::abort();
  if (simdjson::validate_utf8(text.data(), text.size()) && message != text) std::abort();
}

// Checks one request read whole from `taken`, the bytes it took.
void CheckRequest(const predstore::internal::HttpRequestParser& parser, std::string_view taken,
                  const predstore::HttpServerOptions& options) {
  const auto& message = parser.get();
  const std::string_view method(message.method_string().data(), message.method_string().size());
  const std::string_view target(message.target().data(), message.target().size());
  if (method.empty() || taken.find(method) == std::string_view::npos) std::abort();
  if (taken.find(target) == std::string_view::npos) std::abort();
  const predstore::internal::HttpTargetParts parts = predstore::internal::SplitTarget(target);
  if (parts.path.find('?') != std::string_view::npos) std::abort();
  if (parts.path.size() == target.size() ? !parts.query.empty()
                                         : std::string(parts.path) + "?" + std::string(parts.query) != target) {
    std::abort();
  }
  if (message.body().size() > options.max_body_bytes) std::abort();
  if (!message.chunked() && parser.content_length() && message.body().size() != *parser.content_length()) {
    std::abort();
  }
  CheckErrorJson(std::string(method) + " " + std::string(parts.path));
}

// Reads `bytes` as a connection does, the bytes arriving `piece` at a time.
Connection Read(std::string_view bytes, size_t piece, const predstore::HttpServerOptions& options) {
  ArrivingBytes stream(bytes, piece);
  beast::flat_buffer buffer;
  Connection connection;
  size_t start = 0;  // where the next request starts in `bytes`
  while (true) {
    predstore::internal::HttpRequestParser parser;
    predstore::internal::LimitRequestParser(options, &parser);
    beast::error_code ec;
    if (buffer.size() == 0) {  // an idle connection waits for the first bytes
      const size_t n = stream.read_some(buffer.prepare(8192), ec);
      if (ec) return connection;
      buffer.commit(n);
    }
    http::read_header(stream, buffer, parser, ec);
    // Here a connection answers "100 Continue" to a client waiting for it.
    const bool continued = !ec && !parser.is_done() && predstore::internal::WantsContinue(parser);
    if (!ec && !parser.is_done()) http::read(stream, buffer, parser, ec);
    if (ec) {
      connection.failure = predstore::internal::ReadFailureOf(ec, options);
      if (connection.failure && connection.failure->status != 400 && connection.failure->status != 413 &&
          connection.failure->status != 431) {
        std::abort();
      }
      return connection;
    }
    const size_t end = stream.delivered() - buffer.size();
    if (end <= start || end > bytes.size()) std::abort();
    CheckRequest(parser, bytes.substr(start, end - start), options);
    start = end;
    const auto& message = parser.get();
    connection.requests.push_back({std::string(message.method_string()), std::string(message.target()), message.body(),
                                   message.keep_alive(), message.version(), continued});
    if (!message.keep_alive()) return connection;  // answered with Connection: close
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  predstore::HttpServerOptions options;
  options.max_header_bytes = 1024;
  options.max_body_bytes = 2048;
  options.body_limit_name = "--http_max_body_mb";
  const Connection whole = Read(bytes, bytes.size() + 1, options);
  for (size_t piece : {size_t{7}, size_t{1}}) {
    const Connection pieces = Read(bytes, piece, options);
    const size_t both = std::min(whole.requests.size(), pieces.requests.size());
    for (size_t i = 0; i < both; ++i) {
      if (whole.requests[i] != pieces.requests[i]) std::abort();
    }
  }
  return 0;
}
