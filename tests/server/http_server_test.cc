// HttpServer (server/http_server.h) on loopback: the real curl binary for
// what clients see (status codes, keep-alive reuse, limits, error bodies),
// and raw sockets for what curl will not send (pipelining, malformed and
// oversized requests, clients that vanish) and for graceful shutdown. TLS
// with certificates made by the openssl binary.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_certificates.h"

namespace predstore {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::Not;

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

// Runs `command` in the shell.
CommandResult RunShell(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs /usr/bin/curl over HTTP/1.1 with no proxy.
CommandResult Curl(const std::string& args) {
  return RunShell("/usr/bin/curl -sS --http1.1 --noproxy '*' --max-time 5 " + args);
}

struct RawResponse {
  std::string status_line;
  std::string headers;  // the header lines, CRLF-separated
  std::string body;
};

// A blocking loopback client with a receive timeout, for byte-exact
// requests.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() { Close(); }
  bool connected() const { return connected_; }

  void Send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // One response framed by Content-Length; nullopt on EOF, reset or timeout.
  std::optional<RawResponse> ReadResponse() {
    std::size_t header_end;
    while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    RawResponse response;
    const std::string head = pending_.substr(0, header_end);
    const std::size_t line_end = head.find("\r\n");
    response.status_line = head.substr(0, line_end);
    response.headers = line_end == std::string::npos ? "" : head.substr(line_end + 2);
    std::size_t length = 0;
    const std::size_t at = Lower(response.headers).find("content-length: ");
    if (at != std::string::npos) length = std::stoul(response.headers.substr(at + 16));
    pending_.erase(0, header_end + 4);
    while (pending_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    response.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return response;
  }

  // True when the server closed the connection (EOF or reset) with nothing
  // more to read; false on data or timeout.
  bool ClosedByServer() {
    if (!pending_.empty()) return false;
    char byte;
    const ssize_t n = recv(fd_, &byte, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  static std::string Lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }
  bool Fill() {
    char buffer[4096];
    const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

std::string Get(std::string_view path) { return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n"; }

class HttpServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      unblock_ = true;
    }
    unblocked_.notify_all();
    if (server_ != nullptr) server_->Shutdown(steady_clock::now() + std::chrono::seconds(5));
    for (std::thread& worker : workers_) worker.join();
    server_.reset();
  }

  void StartServer(HttpServerOptions options = {}) {
    options.listen_address = "127.0.0.1:0";
    if (options.max_body_bytes == HttpServerOptions().max_body_bytes) options.max_body_bytes = 64 << 10;
    server_ = std::make_unique<HttpServer>(options);
    server_->Handle("GET", "/v1/ping", [](const HttpRequest&, HttpResponder responder) {
      responder.Respond({200, "application/json", R"({"ok":true})", {{"X-Test", "1"}}, nullptr});
    });
    // Answered from another thread after a delay (simulated work).
    server_->Handle("GET", "/v1/slow", [this](const HttpRequest&, HttpResponder responder) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        workers_.emplace_back([responder = std::move(responder)]() mutable {
          std::this_thread::sleep_for(milliseconds(200));
          responder.Respond({200, "text/plain", "slow done", {{"Retry-After", "1"}}, nullptr});
        });
      }
      Signal();
    });
    // Kept by the test, answered (or not) whenever it likes.
    server_->Handle("GET", "/v1/hold", [this](const HttpRequest&, HttpResponder responder) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        held_.push_back(std::move(responder));
      }
      Signal();
    });
    // Blocks its io thread until `unblock_` (to hold incoming bytes unread).
    server_->Handle("GET", "/v1/block", [this](const HttpRequest&, HttpResponder responder) {
      Signal();
      std::unique_lock<std::mutex> lock(mu_);
      unblocked_.wait(lock, [this] { return unblock_; });
      responder.Respond({200, "text/plain", "unblocked", {}, nullptr});
    });
    // A body of <query> pieces of 64 KiB, each made when the last is sent.
    server_->Handle("GET", "/v1/stream", [this](const HttpRequest& request, HttpResponder responder) {
      HttpResponse response;
      response.content_type = "text/plain";
      response.next_piece = [this, left = std::atoi(std::string(request.query()).c_str())](std::string* piece) mutable {
        pieces_produced_.fetch_add(1);
        piece->assign(64 << 10, static_cast<char>('a' + left % 26));
        return --left > 0;
      };
      responder.Respond(std::move(response));
    });
    server_->Handle("POST", "/v1/echo", [](const HttpRequest& request, HttpResponder responder) {
      responder.Respond({200, std::string(request.header("content-type")), std::string(request.body()), {}, nullptr});
    });
    server_->Handle("GET", "/v1/tables/*", [](const HttpRequest& request, HttpResponder responder) {
      responder.Respond({200,
                         "text/plain",
                         std::string(request.path()) + "|" + std::string(request.query()) + "|" +
                             std::string(request.header("X-CUSTOM")),
                         {},
                         nullptr});
    });
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
    base_ = (options.tls ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(server_->port());
  }

  void Signal() {
    std::lock_guard<std::mutex> lock(mu_);
    ++handled_;
    cv_.notify_all();
  }
  // Waits until `count` slow or hold handlers have been entered.
  bool WaitHandled(int count) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return handled_ >= count; });
  }

  std::unique_ptr<HttpServer> server_;
  std::string base_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable unblocked_;
  bool unblock_ = false;  // releases /v1/block
  int handled_ = 0;
  std::vector<std::thread> workers_;
  std::vector<HttpResponder> held_;
  std::atomic<int> pieces_produced_{0};
};

TEST_F(HttpServerTest, CurlGetsImmediateJson) {
  StartServer();
  const CommandResult result = Curl("-i " + base_ + "/v1/ping");
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_THAT(result.out, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(result.out, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(result.out, HasSubstr("X-Test: 1\r\n"));
  EXPECT_THAT(result.out, HasSubstr("\r\n\r\n{\"ok\":true}"));
}

TEST_F(HttpServerTest, CurlReusesTheConnectionAcrossTwoUrls) {
  StartServer();
  const CommandResult result = Curl("-o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\\n' " + base_ +
                                    "/v1/ping " + base_ + "/v1/tables/a");
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(result.out, "200 1\n200 0\n");  // the second transfer opened no connection
}

TEST_F(HttpServerTest, CurlGetsAnAsyncAnswer) {
  StartServer();
  const CommandResult result = Curl("-i " + base_ + "/v1/slow");
  EXPECT_THAT(result.out, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(result.out, HasSubstr("Retry-After: 1\r\n"));
  EXPECT_THAT(result.out, HasSubstr("\r\n\r\nslow done"));
}

TEST_F(HttpServerTest, CurlPostIsEchoed) {
  StartServer();
  CommandResult result =
      Curl("-H 'Content-Type: text/plain' --data-binary 'hello there' -w ' %{http_code}' " + base_ + "/v1/echo");
  EXPECT_EQ(result.out, "hello there 200");
  // Expect: 100-continue is answered at once (curl would wait a second).
  result =
      Curl("-H 'Expect: 100-continue' --data-binary 'again' -w ' %{http_code} %{time_total}' " + base_ + "/v1/echo");
  ASSERT_EQ(result.out.substr(0, 9), "again 200") << result.out;
  EXPECT_LT(std::stod(result.out.substr(10)), 0.5) << result.out;
}

TEST_F(HttpServerTest, CurlBodyOverTheLimitIs413) {
  StartServer();  // 64 KiB body limit
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("http_server_test_" + std::to_string(getpid()) + ".bin");
  std::ofstream(file) << std::string(100 << 10, 'x');
  for (const std::string expect : {"", "-H 'Expect: 100-continue' "}) {
    const CommandResult result =
        Curl(expect + "--data-binary @" + file.string() + " -w ' %{http_code}' " + base_ + "/v1/echo");
    EXPECT_EQ(result.out, R"({"error":{"code":413,"message":"request body exceeds 65536 bytes"}} 413)") << expect;
  }
  std::filesystem::remove(file);
  // The server still serves.
  EXPECT_EQ(Curl("-o /dev/null -w '%{http_code}' " + base_ + "/v1/ping").out, "200");
}

TEST_F(HttpServerTest, CurlUnknownPathIs404WithJson) {
  StartServer();
  const CommandResult result = Curl("-w ' %{http_code} %{content_type}' " + base_ + "/x");
  EXPECT_EQ(result.out, R"({"error":{"code":404,"message":"no route for GET /x"}} 404 application/json)");
}

TEST_F(HttpServerTest, CurlWrongMethodIs405WithAllow) {
  StartServer();
  CommandResult result = Curl("-i -X POST " + base_ + "/v1/ping");
  EXPECT_THAT(result.out, HasSubstr("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(result.out, HasSubstr("Allow: GET, HEAD\r\n"));
  EXPECT_THAT(result.out, HasSubstr(R"({"error":{"code":405,"message":"method POST is not allowed for /v1/ping"}})"));
  result = Curl("-i " + base_ + "/v1/echo");
  EXPECT_THAT(result.out, HasSubstr("Allow: POST\r\n"));
}

TEST_F(HttpServerTest, CurlHeadOnAGetRoute) {
  StartServer();
  const CommandResult result = Curl("-I " + base_ + "/v1/ping");
  EXPECT_THAT(result.out, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(result.out, HasSubstr("Content-Length: 11\r\n"));
  EXPECT_EQ(result.out.find("{\"ok\""), std::string::npos);
}

TEST_F(HttpServerTest, CurlConnectionCloseIsHonoured) {
  StartServer();
  const CommandResult result = Curl("-i -H 'Connection: close' " + base_ + "/v1/ping");
  EXPECT_THAT(result.out, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(result.out, HasSubstr("Connection: close\r\n"));
}

TEST_F(HttpServerTest, PrefixRouteSeesPathQueryAndHeaders) {
  StartServer();
  const CommandResult result = Curl("-H 'x-custom: abc' '" + base_ + "/v1/tables/t1/rows?k=1&v=2'");
  EXPECT_EQ(result.out, "/v1/tables/t1/rows|k=1&v=2|abc");
  // The prefix itself without the trailing slash is not under it.
  EXPECT_EQ(Curl("-o /dev/null -w '%{http_code}' " + base_ + "/v1/tables").out, "404");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  client.Send(Get("/v1/slow") + Get("/v1/ping") + "POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
  std::optional<RawResponse> first = client.ReadResponse();
  std::optional<RawResponse> second = client.ReadResponse();
  std::optional<RawResponse> third = client.ReadResponse();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, "slow done");  // the slow one first, though it finished last
  EXPECT_EQ(second->body, R"({"ok":true})");
  EXPECT_EQ(third->body, "abc");
  // Still open for more.
  client.Send(Get("/v1/ping"));
  std::optional<RawResponse> fourth = client.ReadResponse();
  ASSERT_TRUE(fourth);
  EXPECT_EQ(fourth->status_line, "HTTP/1.1 200 OK");
}

TEST_F(HttpServerTest, ChunkedBodiesAndHttp10) {
  StartServer();  // 64 KiB body limit
  RawClient client(server_->port());
  client.Send(
      "POST /v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  std::optional<RawResponse> response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "abcde");
  // Chunks past the limit: 413 and close.
  const std::string chunk(40 << 10, 'x');
  client.Send("POST /v1/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\na000\r\n" + chunk +
              "\r\na000\r\n" + chunk + "\r\n0\r\n\r\n");
  response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.1 413 Payload Too Large");
  EXPECT_TRUE(client.ClosedByServer());
  // HTTP/1.0 without keep-alive: answered in 1.0, then closed.
  RawClient old(server_->port());
  old.Send("GET /v1/ping HTTP/1.0\r\n\r\n");
  response = old.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.0 200 OK");
  EXPECT_TRUE(old.ClosedByServer());
}

TEST_F(HttpServerTest, MalformedRequestLineIs400ThenClose) {
  StartServer();
  RawClient client(server_->port());
  client.Send("GARBAGE\r\n\r\n");
  std::optional<RawResponse> response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.1 400 Bad Request");
  EXPECT_THAT(response->body, HasSubstr(R"({"error":{"code":400,"message":"malformed request: )"));
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, HeaderSectionOverTheLimitIs431) {
  StartServer();  // 8 KiB header limit
  RawClient client(server_->port());
  client.Send("GET /v1/ping HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(10 << 10, 'a') + "\r\n\r\n");
  std::optional<RawResponse> response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(response->body, R"({"error":{"code":431,"message":"request header section exceeds 8192 bytes"}})");
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, ClientsThatVanishMidRequestDoNotHurt) {
  StartServer();
  {
    RawClient client(server_->port());
    client.Send("GET /v1/ping HTTP/1.1\r\nHost: t\r\n");  // header cut short
  }
  {
    RawClient client(server_->port());
    client.Send("POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc");  // body cut short
  }
  {
    RawClient client(server_->port());
    client.Send(Get("/v1/slow"));  // gone before the answer
    ASSERT_TRUE(WaitHandled(1));
  }
  for (std::thread& worker : workers_) worker.join();  // the slow answer went nowhere
  workers_.clear();
  RawClient client(server_->port());
  client.Send(Get("/v1/ping"));
  std::optional<RawResponse> response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.1 200 OK");
}

TEST_F(HttpServerTest, ShutdownFinishesInFlightRequests) {
  StartServer();
  RawClient idle(server_->port());
  RawClient busy(server_->port());
  busy.Send(Get("/v1/slow"));
  ASSERT_TRUE(WaitHandled(1));
  // The idle connection is known to the server once it answered on it.
  idle.Send(Get("/v1/ping"));
  ASSERT_TRUE(idle.ReadResponse());

  const auto start = steady_clock::now();
  server_->Shutdown(start + std::chrono::seconds(5));
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(2));

  std::optional<RawResponse> response = busy.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(response->body, "slow done");
  EXPECT_THAT(response->headers, HasSubstr("Connection: close"));
  EXPECT_TRUE(busy.ClosedByServer());
  EXPECT_TRUE(idle.ClosedByServer());
  EXPECT_FALSE(RawClient(server_->port()).connected());  // no longer accepting
}

// A request whose bytes arrived before the shutdown, but that no io thread
// had read yet, is answered (with Connection: close), not dropped.
TEST_F(HttpServerTest, ShutdownAnswersARequestThatArrivedUnread) {
  HttpServerOptions options;
  options.io_threads = 1;
  StartServer(options);
  RawClient waiting(server_->port());
  waiting.Send(Get("/v1/ping"));  // accepted and idle
  ASSERT_TRUE(waiting.ReadResponse());
  RawClient blocker(server_->port());
  blocker.Send(Get("/v1/block"));
  ASSERT_TRUE(WaitHandled(1));  // the one io thread is held
  waiting.Send(Get("/v1/ping"));
  std::this_thread::sleep_for(milliseconds(50));  // the bytes reach the server's socket
  std::thread shutdown([this] { server_->Shutdown(steady_clock::now() + std::chrono::seconds(5)); });
  std::this_thread::sleep_for(milliseconds(100));  // the shutdown posts its drains
  {
    std::lock_guard<std::mutex> lock(mu_);
    unblock_ = true;
  }
  unblocked_.notify_all();
  shutdown.join();
  std::optional<RawResponse> response = waiting.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.1 200 OK");
  EXPECT_THAT(response->headers, HasSubstr("Connection: close"));
  EXPECT_TRUE(waiting.ClosedByServer());
  std::optional<RawResponse> unblocked = blocker.ReadResponse();
  ASSERT_TRUE(unblocked);
  EXPECT_EQ(unblocked->body, "unblocked");
}

TEST_F(HttpServerTest, ShutdownDeadlineCutsOffStuckHandlers) {
  StartServer();
  RawClient client(server_->port());
  client.Send(Get("/v1/hold"));
  ASSERT_TRUE(WaitHandled(1));

  const auto start = steady_clock::now();
  server_->Shutdown(start + milliseconds(100));
  const auto took = steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(100));
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_TRUE(client.ClosedByServer());
  server_.reset();
  // Answering after the server is gone is dropped, not a crash.
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(held_.size(), 1u);
  held_[0].Respond({200, "text/plain", "too late", {}, nullptr});
  EXPECT_FALSE(held_[0].valid());
}

TEST_F(HttpServerTest, IdleConnectionsTimeOut) {
  HttpServerOptions options;
  options.idle_timeout = milliseconds(200);
  StartServer(options);
  RawClient client(server_->port());
  client.Send(Get("/v1/ping"));
  ASSERT_TRUE(client.ReadResponse());
  const auto start = steady_clock::now();
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(HttpServerTest, DroppedResponderAnswers500) {
  StartServer();
  RawClient client(server_->port());
  client.Send(Get("/v1/hold"));
  ASSERT_TRUE(WaitHandled(1));
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_.clear();
  }
  std::optional<RawResponse> response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status_line, "HTTP/1.1 500 Internal Server Error");
}

TEST_F(HttpServerTest, StreamedBodiesAreChunkedAndMadeAsTheClientReads) {
  StartServer();
  // curl reads 20 pieces, chunked, then reuses the connection.
  CommandResult result = Curl("-D - -o /dev/null -o /dev/null -w '%{size_download} %{num_connects}\\n' '" + base_ +
                              "/v1/stream?20' " + base_ + "/v1/ping");
  EXPECT_THAT(result.out, HasSubstr("Transfer-Encoding: chunked"));
  EXPECT_THAT(result.out, HasSubstr("\r\n\r\n" + std::to_string(20 << 16) + " 1\n"));
  EXPECT_THAT(result.out, HasSubstr("\r\n\r\n11 0\n"));  // the ping, on the same connection
  EXPECT_EQ(pieces_produced_.load(), 20);
  // HTTP/1.0: the pieces unframed, then the connection closes.
  result = Curl("--http1.0 -D - -o /dev/null -w '%{size_download}' '" + base_ + "/v1/stream?3'");
  EXPECT_THAT(result.out, Not(HasSubstr("chunked")));
  EXPECT_THAT(result.out, HasSubstr(std::to_string(3 << 16)));
  // A client that stops reading stops the producer: memory stays bounded
  // by the socket buffers, not by the body (10,000 pieces, 640 MiB).
  pieces_produced_ = 0;
  RawClient silent(server_->port());
  silent.Send(Get("/v1/stream?10000"));
  int produced = -1;
  for (int i = 0; i < 50 && produced != pieces_produced_.load(); ++i) {
    produced = pieces_produced_.load();
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_GT(produced, 0);
  EXPECT_LT(produced, 1000);
}

TEST_F(HttpServerTest, BadListenAddressesAreRefused) {
  HttpServerOptions options;
  options.listen_address = "127.0.0.1";
  EXPECT_EQ(HttpServer(options).Start().code(), absl::StatusCode::kInvalidArgument);
  options.listen_address = "127.0.0.1:99999";
  EXPECT_EQ(HttpServer(options).Start().code(), absl::StatusCode::kInvalidArgument);
  StartServer();
  options.listen_address = "127.0.0.1:" + std::to_string(server_->port());
  EXPECT_EQ(HttpServer(options).Start().code(), absl::StatusCode::kUnavailable);
}

// TLS, with certificates made once for the suite by the openssl binary: ca
// signs server (for 127.0.0.1) and client; other_ca signs renewed (for
// 127.0.0.1 too).
class HttpsServerTest : public HttpServerTest {
 protected:
  static void SetUpTestSuite() {
    directory_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                           ("http_server_test_tls_" + std::to_string(getpid())));
    std::filesystem::create_directories(*directory_);
    certificates_made_ = test_support::MakeTestCertificates(*directory_);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*directory_);
    delete directory_;
    directory_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(certificates_made_); }

  static std::string Pem(const std::string& name) { return (*directory_ / name).string(); }

  // TLS with the server certificate signed by ca.
  static HttpServerOptions TlsOptions(const std::string& client_ca = "") {
    HttpServerOptions options;
    options.tls = HttpTlsFiles{Pem("server.pem"), Pem("server.key"), client_ca, std::chrono::seconds(1)};
    return options;
  }

  // curl's answer to GET /v1/ping, trusting `ca`, with further `args`.
  CommandResult Ping(const std::string& ca, const std::string& args = "") {
    return Curl("--cacert " + Pem(ca) + " " + args + " " + base_ + "/v1/ping");
  }

 private:
  static inline std::filesystem::path* directory_ = nullptr;
  static inline bool certificates_made_ = false;
};

TEST_F(HttpsServerTest, CurlTrustingTheCaGetsJson) {
  StartServer(TlsOptions());
  CommandResult result = Ping("ca.pem", "-i");
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_THAT(result.out, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(result.out, HasSubstr("\r\n\r\n{\"ok\":true}"));
  // TLS 1.2 is enough.
  result = Ping("ca.pem", "--tlsv1.2 --tls-max 1.2 -w ' %{http_code}'");
  EXPECT_EQ(result.out, R"({"ok":true} 200)");
  // Keep-alive, 100-continue and errors work as over plaintext.
  result = Curl("--cacert " + Pem("ca.pem") + " -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\\n' " +
                base_ + "/v1/ping " + base_ + "/v1/x");
  EXPECT_EQ(result.out, "200 1\n404 0\n");
  result = Curl("--cacert " + Pem("ca.pem") + " -H 'Expect: 100-continue' --data-binary 'again' -w ' %{http_code}' " +
                base_ + "/v1/echo");
  EXPECT_EQ(result.out, "again 200");
}

TEST_F(HttpsServerTest, ResponsesThatCloseTheConnectionReachTheClient) {
  StartServer(TlsOptions());  // 64 KiB body limit
  std::ofstream(Pem("body.bin")) << std::string(100 << 10, 'x');
  CommandResult result = Curl("--cacert " + Pem("ca.pem") + " --data-binary @" + Pem("body.bin") +
                              " -w ' %{http_code}' " + base_ + "/v1/echo");
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(result.out, R"({"error":{"code":413,"message":"request body exceeds 65536 bytes"}} 413)");
  result = Ping("ca.pem", "-i -H 'Connection: close'");
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_THAT(result.out, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(result.out, HasSubstr("\r\n\r\n{\"ok\":true}"));
}

TEST_F(HttpsServerTest, CurlTrustingAnotherCaFailsTheHandshake) {
  StartServer(TlsOptions());
  const CommandResult result = Ping("other_ca.pem");
  EXPECT_EQ(result.exit_code, 60) << result.out;  // CURLE_PEER_FAILED_VERIFICATION
}

TEST_F(HttpsServerTest, PlaintextRequestGetsNoHttpAnswer) {
  StartServer(TlsOptions());
  const CommandResult result = Curl("-i http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/ping");
  EXPECT_NE(result.exit_code, 0) << result.out;
  EXPECT_THAT(result.out, Not(HasSubstr("HTTP/")));
  EXPECT_EQ(Ping("ca.pem").out, R"({"ok":true})");  // TLS clients are still served
}

TEST_F(HttpsServerTest, SilentClientIsClosedAfterTheHandshakeTimeout) {
  HttpServerOptions options = TlsOptions();
  options.request_timeout = milliseconds(200);
  StartServer(options);
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  const auto start = steady_clock::now();
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(HttpsServerTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  StartServer(TlsOptions(Pem("ca.pem")));
  CommandResult result = Ping("ca.pem", "--cert " + Pem("client.pem") + " --key " + Pem("client.key"));
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(result.out, R"({"ok":true})");
  result = Ping("ca.pem");  // no client certificate
  EXPECT_NE(result.exit_code, 0) << result.out;
  EXPECT_THAT(result.out, Not(HasSubstr("ok")));
  result = Ping("ca.pem", "--cert " + Pem("renewed.pem") + " --key " + Pem("renewed.key"));  // signed by other_ca
  EXPECT_NE(result.exit_code, 0) << result.out;
  EXPECT_THAT(result.out, Not(HasSubstr("ok")));
}

TEST_F(HttpsServerTest, RenewedCertificateIsServedWithoutRestart) {
  // Served from copies, which are then replaced in place.
  const auto overwrite = std::filesystem::copy_options::overwrite_existing;
  std::filesystem::copy_file(Pem("server.pem"), Pem("live.pem"), overwrite);
  std::filesystem::copy_file(Pem("server.key"), Pem("live.key"), overwrite);
  HttpServerOptions options;
  options.tls = HttpTlsFiles{Pem("live.pem"), Pem("live.key"), "", std::chrono::seconds(1)};
  StartServer(options);
  ASSERT_EQ(Ping("ca.pem").exit_code, 0);

  // A half-written certificate is not loaded: once the files have been
  // looked at again (a connection after `refresh`), the old one still serves.
  std::ofstream(Pem("live.pem"), std::ios::trunc) << "-----BEGIN CERTIFICATE-----\nMIIB";
  std::this_thread::sleep_for(options.tls->refresh + milliseconds(100));
  CommandResult result = Ping("ca.pem");
  EXPECT_EQ(result.exit_code, 0) << result.out;

  // A complete renewal, from another CA, is served to new connections.
  std::filesystem::copy_file(Pem("renewed.key"), Pem("live.key"), overwrite);
  std::filesystem::copy_file(Pem("renewed.pem"), Pem("live.pem"), overwrite);
  const auto give_up = steady_clock::now() + std::chrono::seconds(5);
  while ((result = Ping("other_ca.pem")).exit_code != 0 && steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(result.out, R"({"ok":true})");
  EXPECT_EQ(Ping("ca.pem").exit_code, 60);
}

TEST_F(HttpsServerTest, StartRefusesFilesThatDoNotLoad) {
  const auto refused = [](HttpTlsFiles files) {
    HttpServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.tls = std::move(files);
    HttpServer server(options);
    const absl::Status status = server.Start();
    EXPECT_EQ(server.port(), 0);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    return std::string(status.message());
  };
  EXPECT_EQ(refused({Pem("server.pem"), Pem("missing.key"), ""}),
            "TLS key '" + Pem("missing.key") + "': No such file or directory");
  EXPECT_EQ(refused({Pem("missing.pem"), Pem("server.key"), ""}),
            "TLS certificate '" + Pem("missing.pem") + "': No such file or directory");
  EXPECT_EQ(refused({Pem("server.pem"), Pem("server.key"), Pem("missing_ca.pem")}),
            "TLS client CA '" + Pem("missing_ca.pem") + "': No such file or directory");
  const std::string mismatch = refused({Pem("server.pem"), Pem("client.key"), ""});
  EXPECT_THAT(mismatch, HasSubstr(Pem("client.key")));
  EXPECT_THAT(mismatch, HasSubstr("match"));
}

TEST_F(HttpsServerTest, ShutdownFinishesAnHttpsRequestInFlight) {
  StartServer(TlsOptions());
  CommandResult slow;
  std::thread client([&] { slow = Curl("--cacert " + Pem("ca.pem") + " " + base_ + "/v1/slow"); });
  EXPECT_TRUE(WaitHandled(1));
  server_->Shutdown(steady_clock::now() + std::chrono::seconds(5));
  client.join();
  EXPECT_EQ(slow.exit_code, 0) << slow.out;
  EXPECT_EQ(slow.out, "slow done");
}

}  // namespace
}  // namespace predstore
