// Bearer-token checks shared by the gRPC services and the HTTP front end:
// the value of an "authorization" metadata entry or Authorization header is
// "Bearer <token>" (the scheme name in any case, RFC 9110), and the token is
// compared in constant time with each accepted one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"

namespace predstore {

class BearerTokens {
 public:
  // Accepts any of `tokens` (empty ones are dropped); none: no check.
  explicit BearerTokens(std::vector<std::string> tokens);

  bool required() const { return !tokens_.empty(); }

  // OK when no token is required or `authorization` (nullopt: the request
  // had none) carries an accepted one; else kUnauthenticated saying what
  // `calls` (e.g. "admin calls") need.
  absl::Status Check(std::optional<std::string_view> authorization, std::string_view calls) const;
  // Whether `token` itself (no scheme: a RESP AUTH password) is one of
  // them, compared in constant time. False when none is required.
  bool Accepts(std::string_view token) const;
  // The same for a gRPC call's "authorization" metadata.
  absl::Status Check(const grpc::ServerContextBase& context, std::string_view calls) const;

 private:
  std::vector<std::string> tokens_;
};

}  // namespace predstore
