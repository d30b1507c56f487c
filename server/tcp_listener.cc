#include "server/tcp_listener.h"

#include <charconv>
#include <string>

namespace predstore {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

absl::StatusOr<tcp::endpoint> ResolveListenAddress(std::string_view listen_address, asio::io_context& context) {
  const size_t colon = listen_address.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("listen address '", listen_address, "' is not host:port"));
  }
  std::string host(listen_address.substr(0, colon));
  const std::string port_text(listen_address.substr(colon + 1));
  unsigned port_number = 0;
  const auto [end, parse_error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port_number);
  if (parse_error != std::errc() || end != port_text.data() + port_text.size() || port_number > 65535 ||
      port_text.empty()) {
    return absl::InvalidArgumentError(StrCat("listen address '", listen_address, "' has a bad port"));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, static_cast<unsigned short>(port_number));
  tcp::resolver resolver(context);
  const auto results = resolver.resolve(host, port_text, tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(StrCat("cannot resolve listen host '", host, "': ", ec.message()));
  }
  return results.begin()->endpoint();
}

}  // namespace predstore
