// Opening the listening socket of a front end's transport (HTTP, RESP):
// "host:port" parsed, resolved and bound the same way for each.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/base/strings.h"

namespace predstore {

// The endpoint of `listen_address`: host:port, the host an IP literal
// ("[::1]" for IPv6) or a name resolved now, port 0 for a free port.
// kInvalidArgument for an address that does not parse or resolve.
absl::StatusOr<boost::asio::ip::tcp::endpoint> ResolveListenAddress(std::string_view listen_address,
                                                                    boost::asio::io_context& context);

// Opens, binds (SO_REUSEADDR, never SO_REUSEPORT: a second server on the
// port must fail) and listens `acceptor` on `listen_address`; `port` gets
// the bound port. Errors of ResolveListenAddress, and kUnavailable when the
// address cannot be bound.
template <typename Acceptor>
absl::Status ListenOn(std::string_view listen_address, boost::asio::io_context& context, Acceptor* acceptor,
                      int* port) {
  absl::StatusOr<boost::asio::ip::tcp::endpoint> endpoint = ResolveListenAddress(listen_address, context);
  if (!endpoint.ok()) return endpoint.status();
  boost::system::error_code ec;
  if (acceptor->open(endpoint->protocol(), ec); !ec) {
    acceptor->set_option(boost::asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) acceptor->bind(*endpoint, ec);
  if (!ec) acceptor->listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor->close(ignored);
    return absl::UnavailableError(StrCat("cannot listen on ", listen_address, ": ", ec.message()));
  }
  *port = acceptor->local_endpoint(ec).port();
  return absl::OkStatus();
}

}  // namespace predstore
