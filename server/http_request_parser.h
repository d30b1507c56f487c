// How HttpServer (http_server.h) reads a request, apart from its
// asynchronous I/O: the parser each request gets, within the server's
// limits; when a client waits for "100 Continue"; what a failed read
// answers; how a target splits into path and query. A connection calls these
// between its reads; the fuzz target (tests/fuzz/http_fuzz.cc) calls them on
// bytes in memory, reading with Beast's synchronous twins of the
// connection's asynchronous reads. Internal to the transport. Stateless
// functions, safe from any thread.
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/strings.h"
#include "server/http_server.h"

namespace predstore::internal {

// Beast's parser of one request, its body read into a string.
using HttpRequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Gives a new parser `options`' limits: a header section (request line and
// fields) past max_header_bytes fails the read with http::error::header_limit,
// a body past max_body_bytes with http::error::body_limit.
inline void LimitRequestParser(const HttpServerOptions& options, HttpRequestParser* parser) {
  parser->header_limit(options.max_header_bytes);
  parser->body_limit(options.max_body_bytes);
}

// True when the request whose header `parser` holds sends its body only
// after "100 Continue" (Expect: 100-continue, in any case).
inline bool WantsContinue(const HttpRequestParser& parser) {
  return boost::beast::iequals(parser.get()[boost::beast::http::field::expect], "100-continue");
}

// An error the server answers, then closes the connection.
struct HttpReadFailure {
  int status = 0;  // 400, 413 or 431
  std::string message;
};

// What a read of a request that failed with `error` answers: 431 for a
// header section past the limit, 413 for a body past it, 400 for anything
// else the parser refused; nullopt when the connection just closes (end of
// stream, a message cut short, a timeout, a reset).
inline std::optional<HttpReadFailure> ReadFailureOf(const boost::beast::error_code& error,
                                                    const HttpServerOptions& options) {
  namespace http = boost::beast::http;
  if (error == http::error::header_limit) {
    return HttpReadFailure{431, StrCat("request header section exceeds ", options.max_header_bytes, " bytes")};
  }
  if (error == http::error::body_limit) {
    return HttpReadFailure{413, StrCat("request body exceeds ", options.max_body_bytes, " bytes",
                                       options.body_limit_name.empty() ? "" : " (", options.body_limit_name,
                                       options.body_limit_name.empty() ? "" : ")")};
  }
  // A parse error is the client's: say so.
  static const boost::beast::error_category& parse_errors = http::make_error_code(http::error::bad_target).category();
  if (error.category() == parse_errors && error != http::error::end_of_stream &&
      error != http::error::partial_message && error != http::error::short_read) {
    return HttpReadFailure{400, StrCat("malformed request: ", error.message())};
  }
  return std::nullopt;
}

// A request target cut at its first '?': the path before it, and the query
// after it (empty when there is none). Views into `target`.
struct HttpTargetParts {
  std::string_view path;
  std::string_view query;
};
inline HttpTargetParts SplitTarget(std::string_view target) {
  const std::size_t question = target.find('?');
  return {target.substr(0, question),
          question == std::string_view::npos ? std::string_view() : target.substr(question + 1)};
}

}  // namespace predstore::internal
