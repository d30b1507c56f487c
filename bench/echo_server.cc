// predstore-bench-echo: a trivial gRPC server answering predstore.bench.v1
// Echo with its request, the latency floor against which run_bench.sh
// measures predstore-server. It is built like predstore-server (callback
// API, a unary handler that finishes inline on the gRPC thread, default
// thread and resource settings, SO_REUSEPORT off, the default health
// service on), minus the store, so the difference between the two is the
// cost of the lookup itself.
//
// SIGTERM or SIGINT: stop, giving in-flight calls a second to finish.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "bench/echo.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052", "host:port to listen on; port 0 picks a free port.");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written to this file once serving.");

namespace {

class EchoService final : public predstore::bench::v1::Echo::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const predstore::bench::v1::EchoRequest* request,
                                 predstore::bench::v1::EchoResponse* response) override {
    response->set_payload(request->payload());
    response->mutable_rows()->CopyFrom(request->rows());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerBidiReactor<predstore::bench::v1::EchoRequest, predstore::bench::v1::EchoResponse>* EchoStream(
      grpc::CallbackServerContext*) override {
    return new StreamEcho();
  }

 private:
  // Reads a request, writes it back, reads the next: one at a time.
  class StreamEcho final
      : public grpc::ServerBidiReactor<predstore::bench::v1::EchoRequest, predstore::bench::v1::EchoResponse> {
   public:
    StreamEcho() { StartRead(&request_); }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status::OK);
        return;
      }
      response_.set_payload(request_.payload());
      response_.mutable_rows()->CopyFrom(request_.rows());
      StartWrite(&response_);
    }
    void OnWriteDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
        return;
      }
      StartRead(&request_);
    }
    void OnDone() override { delete this; }

   private:
    predstore::bench::v1::EchoRequest request_;
    predstore::bench::v1::EchoResponse response_;
  };
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Answers predstore.bench.v1.Echo with its request: the latency floor for predstore benchmarks.\n"
      "  predstore-bench-echo --listen=127.0.0.1:0 --port_file=echo.port");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built with debug checks: every absl::Mutex lock (gRPC
  // takes several per call) would update a global lock-order graph.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::string listen = absl::GetFlag(FLAGS_listen);
  EchoService service;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "predstore-bench-echo: cannot listen on %s (address in use or invalid)\n", listen.c_str());
    return 1;
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  if (std::string port_file = absl::GetFlag(FLAGS_port_file); !port_file.empty()) {
    std::string temp = port_file + ".tmp";
    std::ofstream(temp) << port << "\n";
    std::rename(temp.c_str(), port_file.c_str());
  }
  std::fprintf(stderr, "predstore-bench-echo listening on port %d\n", port);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  server->GetHealthCheckService()->SetServingStatus(false);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server->Wait();
  return 0;
}
