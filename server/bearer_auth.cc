#include "server/bearer_auth.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "core/base/strings.h"

namespace predstore {
namespace {

// Constant-time comparison, so that a wrong token's timing reveals nothing
// but its length.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

BearerTokens::BearerTokens(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
  std::erase_if(tokens_, [](const std::string& token) { return token.empty(); });
}

absl::Status BearerTokens::Check(std::optional<std::string_view> authorization, std::string_view calls) const {
  if (tokens_.empty()) return absl::OkStatus();
  if (!authorization) return absl::UnauthenticatedError(StrCat(calls, " need \"authorization: Bearer <token>\""));
  constexpr std::string_view kBearer = "bearer ";
  const bool bearer = authorization->size() >= kBearer.size() &&
                      absl::EqualsIgnoreCase(ToAbsl(authorization->substr(0, kBearer.size())), ToAbsl(kBearer));
  const bool accepted = bearer && Accepts(authorization->substr(kBearer.size()));
  if (!accepted) return absl::UnauthenticatedError(StrCat(calls, ": bearer token rejected"));
  return absl::OkStatus();
}

bool BearerTokens::Accepts(std::string_view given) const {
  bool accepted = false;
  // Every token is compared, so the time taken says not which one matched.
  for (const std::string& token : tokens_) accepted |= SameSecret(given, token);
  return accepted;
}

absl::Status BearerTokens::Check(const grpc::ServerContextBase& context, std::string_view calls) const {
  if (tokens_.empty()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("authorization");
  if (it == metadata.end()) return Check(std::nullopt, calls);
  return Check(std::string_view(it->second.data(), it->second.size()), calls);
}

}  // namespace predstore
