// predstore-bench-minimal: the least client work a call can take, to
// cross-check predstore-loadgen. It shares no code with the load generator:
//   grpc_echo  predstore.bench.v1.Echo/Echo through gRPC's generic stub,
//              the request serialized once (one row of 3 int64s, as
//              loadgen's echo mode sends), the answer's bytes not parsed;
//   resp_get   GET of one --key over a plain TCP socket: the command
//              written once, the reply read until its bulk string is whole.
// One call in flight, --requests calls after --warmup calls; --wait=block
// sleeps until each answer arrives, --wait=spin polls without sleeping.
// Prints "p50_us=... p99_us=... calls_per_s=..." (nearest-rank
// percentiles). Exit status: 0; 1 when a call fails; 2 on bad usage.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "bench/echo.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50052", "host:port (resp_get: an IPv4 address).");
ABSL_FLAG(std::string, protocol, "grpc_echo", "grpc_echo or resp_get.");
ABSL_FLAG(std::string, key, "fc:1:1000:1", "resp_get: the key to GET.");
ABSL_FLAG(std::string, wait, "block", "block or spin.");
ABSL_FLAG(int, requests, 20000, "Measured calls.");
ABSL_FLAG(int, warmup, 2000, "Calls before measuring.");

namespace {

using Clock = std::chrono::steady_clock;

int Fail(const std::string& message) {
  std::fprintf(stderr, "predstore-bench-minimal: %s\n", message.c_str());
  return 1;
}

// One call of Echo per Call(); false when it fails.
class GrpcEcho {
 public:
  GrpcEcho(const std::string& target, bool spin)
      : channel_(grpc::CreateChannel(target, grpc::InsecureChannelCredentials())), stub_(channel_), spin_(spin) {
    predstore::bench::v1::EchoRequest request;
    predstore::bench::v1::Row* row = request.add_rows();
    for (int64_t value : {1, 1000, 1}) row->add_values()->set_int64_value(value);
    const std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes);
    request_ = grpc::ByteBuffer(&slice, 1);
  }
  ~GrpcEcho() {
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }
  bool Connect() { return channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10)); }
  bool Call() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::ByteBuffer response;
    grpc::Status status;
    auto call = stub_.PrepareUnaryCall(&context, "/predstore.bench.v1.Echo/Echo", request_, &cq_);
    call->StartCall();
    call->Finish(&response, &status, this);
    void* tag;
    bool ok;
    if (spin_) {
      while (cq_.AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC)) != grpc::CompletionQueue::GOT_EVENT) {
      }
    } else {
      cq_.Next(&tag, &ok);
    }
    return status.ok() && response.Length() == request_.Length();
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  grpc::CompletionQueue cq_;
  grpc::ByteBuffer request_;
  bool spin_;
};

// One GET per Call() on a plain socket; false when it fails or misses.
class RespGet {
 public:
  RespGet(const std::string& key, bool spin)
      : command_("*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n"), spin_(spin) {}
  ~RespGet() {
    if (fd_ >= 0) close(fd_);
  }
  bool Connect(const std::string& host, int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (fd_ < 0 || inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1 ||
        connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      return false;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }
  bool Call() {
    if (send(fd_, command_.data(), command_.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(command_.size())) {
      return false;
    }
    // A hit is "$<n>\r\n<n bytes>\r\n"; anything else is a failure.
    size_t have = 0, need = 0;
    while (need == 0 || have < need) {
      ssize_t n = recv(fd_, buffer_ + have, sizeof buffer_ - have, spin_ ? MSG_DONTWAIT : 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
      if (n < 0) continue;
      have += static_cast<size_t>(n);
      if (need == 0) {
        const char* end = static_cast<const char*>(std::memchr(buffer_, '\n', have));
        if (end == nullptr) continue;
        if (buffer_[0] != '$') return false;
        const long length = std::strtol(buffer_ + 1, nullptr, 10);
        if (length < 0) return false;
        need = static_cast<size_t>(end - buffer_) + 1 + static_cast<size_t>(length) + 2;
        if (need > sizeof buffer_) return false;
      }
    }
    return have == need;
  }

 private:
  const std::string command_;
  const bool spin_;
  int fd_ = -1;
  char buffer_[4096];
};

template <typename Client>
int Measure(Client& client, int warmup, int requests) {
  std::vector<double> latencies_us;
  latencies_us.reserve(static_cast<size_t>(requests));
  for (int i = 0; i < warmup; ++i) {
    if (!client.Call()) return Fail("a warm-up call failed");
  }
  const Clock::time_point first = Clock::now();
  for (int i = 0; i < requests; ++i) {
    const Clock::time_point begin = Clock::now();
    if (!client.Call()) return Fail("a call failed");
    latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - begin).count());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - first).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  auto percentile = [&](double p) {
    const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(latencies_us.size())));
    return latencies_us[std::clamp<size_t>(rank, 1, latencies_us.size()) - 1];
  };
  std::printf("p50_us=%.1f p99_us=%.1f calls_per_s=%.0f\n", percentile(0.5), percentile(0.99), requests / seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "The least client work per call, to cross-check predstore-loadgen.\n"
      "  predstore-bench-minimal --protocol=grpc_echo --target=127.0.0.1:50052 --wait=spin\n"
      "  predstore-bench-minimal --protocol=resp_get --target=127.0.0.1:6379 --key=fc:1:1000:1");
  absl::ParseCommandLine(argc, argv);
  const std::string target = absl::GetFlag(FLAGS_target), protocol = absl::GetFlag(FLAGS_protocol),
                    wait = absl::GetFlag(FLAGS_wait);
  const int requests = absl::GetFlag(FLAGS_requests), warmup = absl::GetFlag(FLAGS_warmup);
  if (wait != "block" && wait != "spin") {
    std::fprintf(stderr, "predstore-bench-minimal: --wait must be block or spin\n");
    return 2;
  }
  if (requests < 1 || warmup < 0) {
    std::fprintf(stderr, "predstore-bench-minimal: --requests must be >= 1 and --warmup >= 0\n");
    return 2;
  }
  const bool spin = wait == "spin";
  if (protocol == "grpc_echo") {
    GrpcEcho client(target, spin);
    if (!client.Connect()) return Fail("cannot connect to " + target);
    return Measure(client, warmup, requests);
  }
  if (protocol == "resp_get") {
    const size_t colon = target.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "predstore-bench-minimal: --target must be host:port\n");
      return 2;
    }
    RespGet client(absl::GetFlag(FLAGS_key), spin);
    if (!client.Connect(target.substr(0, colon), std::atoi(target.c_str() + colon + 1))) {
      return Fail("cannot connect to " + target);
    }
    return Measure(client, warmup, requests);
  }
  std::fprintf(stderr, "predstore-bench-minimal: --protocol must be grpc_echo or resp_get\n");
  return 2;
}
