// predstore-overload: an open-loop gRPC load generator for overload runs.
// Unlike predstore-loadgen (one blocking call per caller thread, so never
// more calls in flight than callers), it sends at a fixed rate whatever the
// server answers, through the async API over --connections channels, the
// way a fleet of independent clients does. Every call carries a deadline
// (--timeout_ms). The run is a list of phases (--phases=RATE:SECONDS,...);
// for each, it prints the calls answered OK within their deadline per
// second (goodput), the latency of those calls, the share of each status
// code, and, with --server_pid, the server's peak resident memory.
//
// Modes: batch (Predictions.BatchLookup of --batch random sample keys, row
// form) and lookup (Predictions.Lookup of one). Keys are those of
// `predstore-load sample --rows=--rows`, as in predstore-loadgen.
//
// With --throttle_k or --adaptive_limit, calls the client refuses locally
// (client/adaptive_throttle.h; client/concurrency_limit.h, one limit per
// connection, each connection standing for one independent client) are
// counted as "throttled": offered, never sent.
//
// A call the client cannot start because --max_outstanding calls are
// already in flight is counted as "not sent", so the client's own memory
// stays bounded; a run that reports any should be read as limited by the
// client. Exit status: 0, 1 when a phase had no OK call, 2 on bad usage.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/adaptive_throttle.h"
#include "client/concurrency_limit.h"
#include "core/ingest/sample_data.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "predstore/v1/predstore.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "host:port of predstore-server.");
ABSL_FLAG(std::string, mode, "batch", "batch (BatchLookup of --batch keys) or lookup (Lookup of one key).");
ABSL_FLAG(std::string, phases, "1000:5",
          "Comma-separated RATE:SECONDS phases, run back to back: calls per second offered, and for how long.");
ABSL_FLAG(int, batch, 100, "Keys per BatchLookup.");
ABSL_FLAG(uint64_t, rows, 1000000, "Rows of the sample the keys are drawn from.");
ABSL_FLAG(std::string, table, "forecasts", "Table to look up.");
ABSL_FLAG(int64_t, timeout_ms, 200, "Deadline of each call.");
ABSL_FLAG(int, connections, 8, "Channels (TCP connections) the calls are spread over.");
ABSL_FLAG(uint64_t, max_outstanding, 50000, "Most calls in flight; calls due past it are counted as not sent.");
ABSL_FLAG(double, throttle_k, 0,
          "If >= 1, throttle like predstore's client library (client/adaptive_throttle.h) with this k: calls it "
          "refuses locally are counted as \"throttled\". 0: send every call.");
ABSL_FLAG(bool, adaptive_limit, false,
          "Limit each connection's calls in flight like predstore's client library with adaptive_concurrency "
          "(client/concurrency_limit.h): calls past the limit are refused locally and counted as \"throttled\".");
ABSL_FLAG(double, adaptive_limit_tolerance, predstore::AdaptiveConcurrencyLimit::Options().tolerance,
          "With --adaptive_limit: a round trip past this many times the shortest counts as queuing.");
ABSL_FLAG(double, adaptive_limit_backoff, predstore::AdaptiveConcurrencyLimit::Options().backoff,
          "With --adaptive_limit: the factor the limit is multiplied by on overload, in (0, 1).");
ABSL_FLAG(int, server_pid, 0, "If set, sample this process's resident memory (VmRSS) during each phase.");
ABSL_FLAG(bool, json, false, "Also print each phase as one JSON object line.");

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = predstore::v1;

struct Phase {
  double rate = 0;
  double seconds = 0;
};

bool ParsePhases(const std::string& text, std::vector<Phase>* phases) {
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> fields = absl::StrSplit(part, ':');
    Phase phase;
    if (fields.size() != 2 || !absl::SimpleAtod(fields[0], &phase.rate) ||
        !absl::SimpleAtod(fields[1], &phase.seconds) || phase.rate <= 0 || phase.seconds <= 0) {
      return false;
    }
    phases->push_back(phase);
  }
  return !phases->empty();
}

uint64_t ResidentBytes(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// What the calls of one phase came to. Completions arrive on gRPC's
// threads; counts are atomic, latencies go under a mutex.
struct PhaseTally {
  std::array<std::atomic<uint64_t>, 17> by_code{};
  std::atomic<uint64_t> not_sent{0};
  std::atomic<uint64_t> throttled{0};
  std::mutex mutex;
  std::vector<uint32_t> ok_latencies_us;
  std::map<int, std::string> first_errors;  // code: the first message seen
};

// One call in flight, freed by its completion.
struct BatchCall {
  grpc::ClientContext context;
  v1::BatchLookupResponse response;
};
struct LookupCall {
  grpc::ClientContext context;
  v1::LookupResponse response;
};

class Driver {
 public:
  Driver() : sample_{.rows = absl::GetFlag(FLAGS_rows)}, rng_(1) {
    for (int i = 0; i < absl::GetFlag(FLAGS_connections); ++i) {
      grpc::ChannelArguments arguments;
      arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
      arguments.SetInt("predstore.overload.channel", i);
      stubs_.push_back(v1::Predictions::NewStub(
          grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), arguments)));
      if (absl::GetFlag(FLAGS_adaptive_limit)) {
        limits_.push_back(std::make_unique<predstore::AdaptiveConcurrencyLimit>(predstore::AdaptiveConcurrencyLimit::Options{
            .tolerance = absl::GetFlag(FLAGS_adaptive_limit_tolerance),
            .backoff = absl::GetFlag(FLAGS_adaptive_limit_backoff)}));
      }
    }
    BuildRequests();
    if (const double k = absl::GetFlag(FLAGS_throttle_k); k >= 1) throttle_ = std::make_unique<predstore::AdaptiveThrottle>(k);
  }

  bool Connect() {
    for (auto& stub : stubs_) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::ListTablesResponse response;
      if (!stub->ListTables(&context, v1::ListTablesRequest(), &response).ok()) return false;
    }
    return true;
  }

  // Sends at `phase.rate` for `phase.seconds`, then waits for the calls
  // still in flight, and prints the phase's figures.
  bool Run(const Phase& phase, int index) {
    PhaseTally tally;
    uint64_t peak_rss = 0;
    const int pid = absl::GetFlag(FLAGS_server_pid);
    const Clock::time_point start = Clock::now();
    const auto length = std::chrono::duration<double>(phase.seconds);
    uint64_t offered = 0, due = 0;
    Clock::time_point next_rss = start;
    for (Clock::time_point now = start; now - start < length; now = Clock::now()) {
      due = static_cast<uint64_t>(std::chrono::duration<double>(now - start).count() * phase.rate);
      for (; offered < due; ++offered) {
        if (outstanding_.load(std::memory_order_relaxed) >= absl::GetFlag(FLAGS_max_outstanding)) {
          tally.not_sent.fetch_add(1, std::memory_order_relaxed);
        } else if (const size_t connection = offered % stubs_.size();
                   (throttle_ && !throttle_->Admit()) || (!limits_.empty() && !limits_[connection]->TryAcquire())) {
          tally.throttled.fetch_add(1, std::memory_order_relaxed);
        } else {
          Send(&tally, connection);
        }
      }
      if (pid != 0 && now >= next_rss) {
        peak_rss = std::max(peak_rss, ResidentBytes(pid));
        next_rss = now + std::chrono::milliseconds(100);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const double sent_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    while (outstanding_.load() > 0) {
      if (pid != 0) peak_rss = std::max(peak_rss, ResidentBytes(pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Report(phase, index, offered, sent_seconds, peak_rss, &tally);
  }

 private:
  // Sends one call on `connection`, whose limit (if any) it has acquired.
  void Send(PhaseTally* tally, size_t connection) {
    v1::Predictions::Stub& stub = *stubs_[connection];
    predstore::AdaptiveConcurrencyLimit* limit = limits_.empty() ? nullptr : limits_[connection].get();
    const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms));
    const Clock::time_point sent_at = Clock::now();
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    auto finish = [this, tally, sent_at, limit](const grpc::Status& status) {
      if (throttle_) throttle_->Record(status.error_code());
      if (limit) limit->Release(Clock::now() - sent_at, status.error_code());
      tally->by_code[std::min<int>(status.error_code(), 16)].fetch_add(1, std::memory_order_relaxed);
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent_at).count();
      std::lock_guard<std::mutex> lock(tally->mutex);
      if (status.ok()) {
        tally->ok_latencies_us.push_back(static_cast<uint32_t>(us));
      } else {
        tally->first_errors.try_emplace(status.error_code(), status.error_message());
      }
      outstanding_.fetch_sub(1, std::memory_order_relaxed);
    };
    const size_t slot = next_request_++ % kRequests;
    if (!lookups_.empty()) {
      auto* call = new LookupCall;
      call->context.set_deadline(deadline);
      stub.async()->Lookup(&call->context, &lookups_[slot], &call->response, [call, finish](grpc::Status status) {
        finish(status);
        delete call;
      });
      return;
    }
    auto* call = new BatchCall;
    call->context.set_deadline(deadline);
    stub.async()->BatchLookup(&call->context, &batches_[slot], &call->response, [call, finish](grpc::Status status) {
      finish(status);
      delete call;
    });
  }

  // Requests are built before the run and reused round robin, so that the
  // sender's time goes to sending.
  void BuildRequests() {
    const std::string table = absl::GetFlag(FLAGS_table);
    for (size_t i = 0; i < kRequests; ++i) {
      if (absl::GetFlag(FLAGS_mode) == "lookup") {
        v1::LookupRequest& request = lookups_.emplace_back();
        request.set_table(table);
        const predstore::SampleKey key = NextKey();
        for (auto [name, value] : {std::pair<const char*, int64_t>{"store_id", key.store_id},
                                   {"item_id", key.item_id}, {"horizon_days", key.horizon_days}}) {
          v1::KeyField* part = request.add_key();
          part->set_column(name);
          part->mutable_value()->set_int64_value(value);
        }
        continue;
      }
      v1::BatchLookupRequest& request = batches_.emplace_back();
      request.set_table(table);
      for (const char* name : {"store_id", "item_id", "horizon_days"}) request.add_key_columns(name);
      for (int k = 0; k < absl::GetFlag(FLAGS_batch); ++k) {
        const predstore::SampleKey key = NextKey();
        v1::KeyRow* row = request.add_keys();
        for (int64_t value : {key.store_id, key.item_id, key.horizon_days}) row->add_values()->set_int64_value(value);
      }
    }
  }

  predstore::SampleKey NextKey() {
    return predstore::SampleKeyAt(sample_, std::uniform_int_distribution<uint64_t>(0, sample_.rows - 1)(rng_));
  }

  bool Report(const Phase& phase, int index, uint64_t calls, double seconds, uint64_t peak_rss, PhaseTally* tally) {
    std::vector<uint32_t>& latencies = tally->ok_latencies_us;
    std::sort(latencies.begin(), latencies.end());
    auto percentile_ms = [&](double p) {
      if (latencies.empty()) return 0.0;
      return latencies[std::min(latencies.size() - 1, static_cast<size_t>(p * latencies.size()))] / 1000.0;
    };
    const uint64_t throttled = tally->throttled.load();
    const uint64_t sent = calls - tally->not_sent.load() - throttled;
    auto share = [&](uint64_t n) { return calls == 0 ? 0.0 : 100.0 * static_cast<double>(n) / calls; };
    const uint64_t ok = tally->by_code[grpc::OK].load();
    const uint64_t late = tally->by_code[grpc::DEADLINE_EXCEEDED].load();
    const uint64_t exhausted = tally->by_code[grpc::RESOURCE_EXHAUSTED].load();
    const uint64_t unavailable = tally->by_code[grpc::UNAVAILABLE].load();
    uint64_t other = 0;
    for (int code = 0; code <= 16; ++code) other += tally->by_code[code].load();
    other -= ok + late + exhausted + unavailable;
    const double goodput = ok / seconds;
    std::printf(
        "phase %d: offered %.0f/s for %.1fs, sent %.0f/s | goodput %.0f/s | OK p50 %.2f ms p99 %.2f ms | OK %.1f%% "
        "DEADLINE_EXCEEDED %.1f%% RESOURCE_EXHAUSTED %.1f%% UNAVAILABLE %.1f%% other %.1f%% throttled %.1f%% not sent %.1f%%%s\n",
        index, phase.rate, phase.seconds, sent / seconds, goodput, percentile_ms(0.5), percentile_ms(0.99), share(ok), share(late),
        share(exhausted), share(unavailable), share(other), share(throttled), share(tally->not_sent.load()),
        peak_rss ? (" | server peak RSS " + std::to_string(peak_rss >> 20) + " MiB").c_str() : "");
    for (const auto& [code, message] : tally->first_errors) std::printf("  first error %d: %s\n", code, message.c_str());
    if (absl::GetFlag(FLAGS_json)) {
      nlohmann::json line = {{"phase", index},
                             {"offered_per_s", phase.rate},
                             {"seconds", phase.seconds},
                             {"sent_per_s", sent / seconds},
                             {"goodput_per_s", goodput},
                             {"ok_p50_ms", percentile_ms(0.5)},
                             {"ok_p99_ms", percentile_ms(0.99)},
                             {"ok", ok},
                             {"deadline_exceeded", late},
                             {"resource_exhausted", exhausted},
                             {"unavailable", unavailable},
                             {"other", other},
                             {"throttled", throttled},
                             {"not_sent", tally->not_sent.load()},
                             {"server_peak_rss_bytes", peak_rss}};
      std::printf("%s\n", line.dump().c_str());
    }
    std::fflush(stdout);
    return ok > 0;
  }

  const predstore::SampleOptions sample_;
  std::mt19937_64 rng_;
  static constexpr size_t kRequests = 4096;
  std::vector<std::unique_ptr<v1::Predictions::Stub>> stubs_;
  std::vector<v1::LookupRequest> lookups_;
  std::vector<v1::BatchLookupRequest> batches_;
  size_t next_request_ = 0;
  std::unique_ptr<predstore::AdaptiveThrottle> throttle_;  // null: --throttle_k=0
  std::vector<std::unique_ptr<predstore::AdaptiveConcurrencyLimit>> limits_;  // one per stub; none without the flag
  std::atomic<uint64_t> outstanding_{0};
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Offers a fixed call rate to predstore-server in phases; see the header of overload.cc.");
  absl::ParseCommandLine(argc, argv);
  std::vector<Phase> phases;
  if (!ParsePhases(absl::GetFlag(FLAGS_phases), &phases)) {
    std::fprintf(stderr, "predstore-overload: --phases must be RATE:SECONDS[,RATE:SECONDS...] with both > 0\n");
    return 2;
  }
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if ((mode != "batch" && mode != "lookup") || absl::GetFlag(FLAGS_connections) < 1 || absl::GetFlag(FLAGS_batch) < 1 ||
      absl::GetFlag(FLAGS_rows) == 0) {
    std::fprintf(stderr, "predstore-overload: --mode must be batch or lookup; --connections, --batch, --rows >= 1\n");
    return 2;
  }
  Driver driver;
  if (!driver.Connect()) {
    std::fprintf(stderr, "predstore-overload: cannot reach %s\n", absl::GetFlag(FLAGS_target).c_str());
    return 2;
  }
  bool every_phase_answered = true;
  for (size_t i = 0; i < phases.size(); ++i) every_phase_answered &= driver.Run(phases[i], static_cast<int>(i));
  return every_phase_answered ? 0 : 1;
}
