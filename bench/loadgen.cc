// predstore-loadgen: a closed-loop load generator. --concurrency callers
// (threads), each with its own stub, each issuing one blocking call at a
// time, for a warm-up (not recorded) and then a fixed duration or a fixed
// number of calls. Every call's latency is kept and sorted at the end, so
// percentiles are exact. Prints one human summary line and, with --json,
// one JSON object line. With --cdf_out=FILE, also writes the latency CDF of
// the measured calls to FILE: about 200 "latency_us fraction" lines
// (fractions 0, 0.005, 0.010, ..., 0.995, 0.999, 0.9999 and 1 = max), for
// plotting.
//
// Modes:
//   lookup      Predictions.Lookup of one random existing sample key
//   batch       Predictions.BatchLookup of --batch random existing keys
//   batch_columnar  the same keys and answers in columnar form (key_values)
//   stream_batch    columnar batches of --batch keys over one LookupStream per caller
//   echo        predstore.bench.v1.Echo of one 3-int64 row (the floor)
//   echo_bytes  Echo whose payload is the serialized request that mode
//               --echo_of (lookup, batch or batch_columnar) would send for
//               the same keys: the floor of that call, the same bytes on
//               the wire, answered with themselves
//   stream      Predictions.LookupStream: one long-lived stream per caller,
//               one lookup in flight (write, then read its answer)
//   echo_stream Echo.EchoStream, the same way (the streaming floor)
//   predict     Predictions.Predict of one row of --features random
//               features f0..fN-1 with --model (on-demand scoring)
//   fallback    Predictions.Lookup of a key that is not stored (store_id
//               beyond the sample), with --features just-in-time features:
//               the server scores the table's bound model
//               (answers must say SOURCE_COMPUTED)
//   mix         Predictions.Lookup with --features just-in-time features,
//               of a stored key, or with probability --fallback_share of a
//               key never stored (the server scores it): the traffic of a
//               client that sends features in case the key is missing
//   scan        Predictions.Scan of one store's --scan_items consecutive
//               items, every horizon (a box over the three key columns);
//               the latency is until the last row arrives
//   ingest      Admin.Ingest: one long-lived stream per caller (its own
//               source), each call one batch of --batch prediction events
//               for random sample keys, event time now; the latency is the
//               time until the batch is committed (visible to lookups)
// Keys are those of `predstore-load sample --rows=--rows`: row i has
// store_id = i / (14 * 500) + 1, item_id = (i / 14) % 500 + 1000 and
// horizon_days = i % 14 + 1 (the formula and defaults of core/sample_data.h).
// With --hot_rows=H, keys come from H rows spread over the sample (a hot
// set that the caches can hold while the table does not fit them).
// With --verify, every answer is checked: found, and forecast equal to the
// value the sample wrote for that row; a mismatch counts as a wrong answer.
//
// Open loop (--rate=R): the callers send at a fixed total rate R, each call
// at its intended time (or at once, when the caller is behind); latency
// counts from the intended time, so queueing is not hidden (coordinated
// omission). Enough callers must be given to sustain R.
//
// Channels: "per_caller" gives each caller its own channel with a local
// subchannel pool, hence its own TCP connection; "shared" gives all callers
// one channel, hence one connection (HTTP/2 streams multiplexed on it).
//
// Waiting (--wait): "block" sleeps in the kernel until each answer arrives,
// as most clients do; "spin" polls the caller's completion queue (Redis:
// its non-blocking socket) without sleeping, so the client adds no wake-up
// of its own to each call: the lean path for c=1 latency, when a core is
// free for each caller. Unary gRPC calls go through the async API on one
// completion queue per caller either way. Streams, scans and ingest block.
//
// Exit status: 0; 1 when any call failed or answered wrongly (after
// printing the summary); 2 on bad usage or when the target is unreachable.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <latch>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "bench/echo.grpc.pb.h"
#include "core/ingest/sample_data.h"
#include "grpcpp/grpcpp.h"
#include "hiredis/hiredis.h"
#include "nlohmann/json.hpp"
#include "predstore/v1/predstore.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "host:port of predstore-server (lookup, batch) or the echo server.");
ABSL_FLAG(std::string, mode, "lookup",
          "lookup, batch, batch_columnar, stream_batch, echo, echo_bytes, stream (LookupStream), echo_stream, redis_get, "
          "redis_mget (--batch keys; Redis, or predstore's --resp_listen, holds key "
          "<--redis_prefix>:<store_id>:<item_id>:<horizon_days> = \"<forecast>,<p90>\"), "
          "predict, fallback, mix, scan or ingest (see the modes above).");
ABSL_FLAG(int, concurrency, 1, "Concurrent callers (threads), each with one call in flight.");
ABSL_FLAG(double, rate, 0,
          "Open loop: total calls per second, spread evenly over the callers; each call's latency counts from "
          "its intended send time, so time spent queued behind a slow call is not hidden (coordinated "
          "omission). 0: closed loop (each caller sends as soon as its previous call returns).");
ABSL_FLAG(double, duration_s, 5, "Measured seconds (unless --requests is set).");
ABSL_FLAG(double, warmup_s, 1, "Seconds of calls before measuring; not recorded.");
ABSL_FLAG(uint64_t, requests, 0, "If > 0, measure this many calls in total instead of --duration_s.");
ABSL_FLAG(int, batch, 100, "Keys per BatchLookup (batch, batch_columnar, stream_batch, echo_bytes of them), MGET or Ingest.");
ABSL_FLAG(std::string, echo_of, "batch_columnar",
          "echo_bytes: the mode whose serialized request is echoed: lookup, batch or batch_columnar.");
ABSL_FLAG(std::string, wait, "block",
          "block (sleep until each answer arrives) or spin (poll without sleeping; unary gRPC and Redis modes only).");
ABSL_FLAG(std::string, redis_prefix, "fc", "Redis modes: the first part of every key (predstore: the table's RESP prefix).");
ABSL_FLAG(uint64_t, rows, 1000000,
          "Rows of the loaded sample (predstore-load sample --rows); keys are drawn from them.");
ABSL_FLAG(uint64_t, hot_rows, 0,
          "If > 0, keys are drawn only from this many rows, spread over the whole sample (the hot set); "
          "0: from all --rows.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the random key choice (caller i uses a stream derived from seed and i).");
ABSL_FLAG(uint64_t, sample_seed, 42, "The --seed the sample was generated with; --verify checks forecasts against it.");
ABSL_FLAG(bool, verify, true, "Check every answer (found, right forecast; echo: same rows back).");
ABSL_FLAG(std::string, table, "forecasts", "Table to look up.");
ABSL_FLAG(std::string, channels, "per_caller", "per_caller (one TCP connection each) or shared (one for all).");
ABSL_FLAG(int64_t, timeout_ms, 10000, "Deadline of each call.");
ABSL_FLAG(int64_t, connect_timeout_ms, 10000, "How long to wait for the channels to connect before giving up.");
ABSL_FLAG(std::string, label, "", "Name of this run in the output; default: the mode.");
ABSL_FLAG(bool, json, false, "Also print the results as one JSON object line.");
ABSL_FLAG(std::string, model, "models:/bench/Production", "predict: the model to score.");
ABSL_FLAG(int, features, 30, "predict, fallback, mix: features per row, named f0..f<N-1>.");
ABSL_FLAG(double, fallback_share, 0.1, "mix: the share of lookups whose key was never stored.");
ABSL_FLAG(int, scan_items, 10, "scan: consecutive items per scanned box (every horizon of one store).");
ABSL_FLAG(std::string, cdf_out, "",
          "If set, write the latency CDF here after the run: \"latency_us fraction\" lines, about 200 of them.");

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = predstore::v1;
namespace echo = predstore::bench::v1;

enum class Mode {
  kLookup, kBatch, kBatchColumnar, kStreamBatch, kEcho, kEchoBytes, kStream, kEchoStream, kRedisGet, kRedisMget, kPredict, kFallback,
  kMix, kScan, kIngest
};
bool IsRedis(Mode mode) { return mode == Mode::kRedisGet || mode == Mode::kRedisMget; }

struct Settings {
  Mode mode = Mode::kLookup;
  Mode request_mode = Mode::kLookup;  // whose request is built: mode, or echo_bytes' --echo_of
  bool spin = false;                  // --wait=spin
  std::string redis_prefix;
  std::string mode_name;
  std::string table;
  int keys_per_call = 1;
  int concurrency = 1;
  std::string redis_host;  // Redis modes: from --target
  int redis_port = 0;
  uint64_t rows = 0;
  uint64_t hot_rows = 0;  // 0: every row
  uint64_t sample_seed = 0;
  bool verify = true;
  std::chrono::milliseconds timeout{0};
  predstore::SampleOptions sample;  // items and horizons of the sample
  std::string model;  // predict
  int features = 0;   // predict, fallback, mix
  double fallback_share = 0;  // mix
  int scan_items = 0;         // scan
};

// The measurement window and the per-caller quota, shared read-only.
struct Schedule {
  Clock::time_point start;  // when the callers are released
  Clock::time_point measure_start;
  Clock::time_point measure_end;  // duration mode only
  uint64_t quota = 0;             // calls per caller; 0: duration mode
  // Open loop: each caller's interval between intended send times; zero:
  // closed loop.
  Clock::duration interval{0};
};

struct CallerResult {
  std::vector<uint32_t> latencies_ns;  // measured calls that succeeded
  uint64_t errors = 0;
  uint64_t wrong = 0;
  uint64_t warmup_calls = 0;
  uint64_t scan_rows = 0;  // rows the measured scans returned
  Clock::time_point last_end;
  std::string first_error;
};

struct Key {
  uint64_t index = 0;
  int64_t store_id = 0, item_id = 0, horizon_days = 0;
};

// Row `j` of the hot set of `s`: hot rows are spread over the whole sample by
// a multiplicative step, so that they share few data blocks, as popular
// keys do in a real table. The step is a prime: distinct j < rows give
// distinct rows unless rows is a multiple of it.
uint64_t HotRow(const Settings& s, uint64_t j) {
  constexpr unsigned __int128 kStep = 1000000007;
  return static_cast<uint64_t>(j * kStep % s.rows);
}

Key SampleKey(const predstore::SampleOptions& sample, uint64_t index) {
  const predstore::SampleKey key = predstore::SampleKeyAt(sample, index);
  return Key{index, key.store_id, key.item_id, key.horizon_days};
}

// True when a returned (forecast, p90) pair is the one the sample wrote for
// row `index`: the forecast exactly (two decimals round-trip), p90 to the
// four decimals it was printed with.
bool RightValues(const Settings& s, uint64_t index, double forecast, double p90) {
  double expected = predstore::SampleForecast(s.sample_seed, index);
  return forecast == expected && std::fabs(p90 - expected * 1.25) <= 1e-3;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int id) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(64 << 20);
  if (id >= 0) {
    // A private subchannel pool: this channel opens its own connection
    // instead of reusing one from the process-wide pool.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    arguments.SetInt("predstore.loadgen.channel", id);
  }
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), arguments);
}

// One caller: issues calls back to back until its schedule ends.
class Caller {
 public:
  Caller(const Settings& settings, std::shared_ptr<grpc::Channel> channel, uint64_t seed, int index)
      : s_(settings), rng_(seed), caller_index_(index) {
    if (IsRedis(s_.mode)) {
      // The same client harness drives Redis, through hiredis.
      redis_ = redisConnect(s_.redis_host.c_str(), s_.redis_port);
      redis_reader_ = redisReaderCreate();
      if (s_.spin && redis_ && !redis_->err) fcntl(redis_->fd, F_SETFL, fcntl(redis_->fd, F_GETFL) | O_NONBLOCK);
    } else if (s_.mode == Mode::kLookup || s_.mode == Mode::kBatch || s_.mode == Mode::kBatchColumnar ||
               s_.mode == Mode::kStream || s_.mode == Mode::kStreamBatch ||
               s_.mode == Mode::kPredict || s_.mode == Mode::kFallback || s_.mode == Mode::kMix ||
               s_.mode == Mode::kScan) {
      predictions_ = v1::Predictions::NewStub(channel);
    } else if (s_.mode == Mode::kIngest) {
      admin_ = v1::Admin::NewStub(channel);
    } else {
      echo_ = echo::Echo::NewStub(channel);
    }
    BuildRequests();
  }
  ~Caller() {
    if (redis_reader_) redisReaderFree(redis_reader_);
    if (redis_) redisFree(redis_);
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }
  Caller(const Caller&) = delete;
  Caller& operator=(const Caller&) = delete;

  void Run(const Schedule& schedule, CallerResult* result) {
    if (schedule.quota == 0) {
      result->latencies_ns.reserve(1 << 16);
    } else {
      result->latencies_ns.reserve(schedule.quota);
    }
    if (s_.mode == Mode::kStream || s_.mode == Mode::kStreamBatch) {
      lookup_stream_ = predictions_->LookupStream(&stream_context_);
    }
    if (s_.mode == Mode::kEchoStream) echo_stream_ = echo_->EchoStream(&stream_context_);
    if (s_.mode == Mode::kIngest) ingest_stream_ = admin_->Ingest(&stream_context_);
    uint64_t measured = 0;
    // Open loop: caller i's k-th call is intended at start + (k + i/N) * interval.
    // The kernel's default 50 us timer slack would make every wake-up late
    // and count against the server; ask for the tightest slack instead.
    if (schedule.interval.count() > 0) prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    Clock::time_point intended = schedule.start + schedule.interval * caller_index_ / s_.concurrency;
    while (true) {
      Clock::time_point begin = Clock::now();
      if (schedule.interval.count() > 0) {
        if (begin < intended) std::this_thread::sleep_until(intended);
        begin = intended;  // latency counts from the intended send time
        intended += schedule.interval;
      }
      const bool in_window = begin >= schedule.measure_start;
      if (schedule.quota == 0 ? begin >= schedule.measure_end : (in_window && measured >= schedule.quota)) break;
      NextKeys();
      bool right = true;
      grpc::Status status = Call(&right);
      Clock::time_point end = Clock::now();
      if (!in_window) {
        ++result->warmup_calls;
        continue;
      }
      ++measured;
      result->last_end = end;
      result->scan_rows += scan_rows_;
      if (!status.ok()) {
        if (result->errors++ == 0) {
          result->first_error = std::to_string(status.error_code()) + ": " + status.error_message();
        }
        continue;
      }
      if (!right) ++result->wrong;
      result->latencies_ns.push_back(static_cast<uint32_t>(
          std::min<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin).count(), UINT32_MAX)));
    }
    if (lookup_stream_) {
      lookup_stream_->WritesDone();
      [[maybe_unused]] grpc::Status finished = lookup_stream_->Finish();  // outcomes were counted per call
    }
    if (ingest_stream_) {
      ingest_stream_->WritesDone();
      [[maybe_unused]] grpc::Status finished = ingest_stream_->Finish();  // outcomes were counted per call
    }
    if (echo_stream_) {
      echo_stream_->WritesDone();
      [[maybe_unused]] grpc::Status finished = echo_stream_->Finish();  // as above
    }
  }

 private:
  void BuildRequests() {
    const char* names[] = {"store_id", "item_id", "horizon_days"};
    keys_.resize(s_.keys_per_call);
    switch (s_.request_mode) {
      case Mode::kLookup:
      case Mode::kStream:
        lookup_.set_table(s_.table);
        for (const char* name : names) lookup_.add_key()->set_column(name);
        break;
      case Mode::kBatch:
        batch_.set_table(s_.table);
        for (const char* name : names) batch_.add_key_columns(name);
        for (int k = 0; k < s_.keys_per_call; ++k) {
          v1::KeyRow* row = batch_.add_keys();
          for (int c = 0; c < 3; ++c) row->add_values();
        }
        break;
      case Mode::kBatchColumnar:
      case Mode::kStreamBatch: {
        v1::BatchLookupRequest& batch = s_.request_mode == Mode::kStreamBatch ? *stream_request_.mutable_batch() : batch_;
        batch.set_table(s_.table);
        for (const char* name : names) {
          batch.add_key_columns(name);
          batch.add_key_values()->mutable_int64_values()->Resize(s_.keys_per_call, 0);
        }
        break;
      }
      case Mode::kEcho:
      case Mode::kEchoStream:
        for (int k = 0; k < s_.keys_per_call; ++k) {
          echo::Row* row = echo_request_.add_rows();
          for (int c = 0; c < 3; ++c) row->add_values();
        }
        break;
      case Mode::kRedisGet:
      case Mode::kRedisMget:
        break;  // RedisCall builds its command from keys_
      case Mode::kEchoBytes:
        break;  // never a request mode: echo_bytes builds --echo_of's request
      case Mode::kPredict: {
        predict_.set_model(s_.model);
        v1::FeatureRow* row = predict_.add_rows();
        for (int f = 0; f < s_.features; ++f) {
          predict_.add_feature_names("f" + std::to_string(f));
          row->add_values();
        }
        break;
      }
      case Mode::kFallback:
      case Mode::kMix:
        lookup_.set_table(s_.table);
        for (const char* name : names) lookup_.add_key()->set_column(name);
        for (int f = 0; f < s_.features; ++f) lookup_.add_features()->set_column("f" + std::to_string(f));
        break;
      case Mode::kScan:
        scan_.set_table(s_.table);
        for (const char* name : {"store_id", "item_id"}) scan_.add_where()->set_column(name);
        break;
      case Mode::kIngest:
        ingest_.set_table(s_.table);
        // A fresh source per run and caller, so sequences start at 1.
        ingest_.set_source("loadgen-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) +
                           "-" + std::to_string(caller_index_));
        for (int k = 0; k < s_.keys_per_call; ++k) {
          v1::StreamEvent* event = ingest_.add_events();
          for (const char* name : names) event->add_key()->set_column(name);
          event->add_values()->set_column("forecast");
          event->add_values()->set_column("p90");
        }
        break;
    }
  }

  void NextKeys() {
    for (Key& key : keys_) {
      key = SampleKey(s_.sample, s_.hot_rows > 0 ? HotRow(s_, rng_() % s_.hot_rows) : rng_() % s_.rows);
    }
    switch (s_.request_mode) {
      case Mode::kLookup:
      case Mode::kStream:
        lookup_.mutable_key(0)->mutable_value()->set_int64_value(keys_[0].store_id);
        lookup_.mutable_key(1)->mutable_value()->set_int64_value(keys_[0].item_id);
        lookup_.mutable_key(2)->mutable_value()->set_int64_value(keys_[0].horizon_days);
        break;
      case Mode::kBatch:
        for (int k = 0; k < s_.keys_per_call; ++k) {
          v1::KeyRow* row = batch_.mutable_keys(k);
          row->mutable_values(0)->set_int64_value(keys_[k].store_id);
          row->mutable_values(1)->set_int64_value(keys_[k].item_id);
          row->mutable_values(2)->set_int64_value(keys_[k].horizon_days);
        }
        break;
      case Mode::kBatchColumnar:
      case Mode::kStreamBatch: {
        v1::BatchLookupRequest& batch = s_.request_mode == Mode::kStreamBatch ? *stream_request_.mutable_batch() : batch_;
        for (int k = 0; k < s_.keys_per_call; ++k) {
          batch.mutable_key_values(0)->set_int64_values(k, keys_[k].store_id);
          batch.mutable_key_values(1)->set_int64_values(k, keys_[k].item_id);
          batch.mutable_key_values(2)->set_int64_values(k, keys_[k].horizon_days);
        }
        break;
      }
      case Mode::kEcho:
      case Mode::kEchoStream:
        for (int k = 0; k < s_.keys_per_call; ++k) {
          echo::Row* row = echo_request_.mutable_rows(k);
          row->mutable_values(0)->set_int64_value(keys_[k].store_id);
          row->mutable_values(1)->set_int64_value(keys_[k].item_id);
          row->mutable_values(2)->set_int64_value(keys_[k].horizon_days);
        }
        break;
      case Mode::kRedisGet:
      case Mode::kRedisMget:
      case Mode::kScan:  // ScanCall builds its box from keys_[0]
      case Mode::kEchoBytes:  // never a request mode
        break;
      case Mode::kPredict:
        for (int f = 0; f < s_.features; ++f) {
          predict_.mutable_rows(0)->mutable_values(f)->set_double_value(normal_(rng_));
        }
        break;
      case Mode::kIngest: {
        const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        ingest_.set_sequence(ingest_.sequence() + 1);
        ingest_.set_position(std::to_string(ingest_.sequence()));
        for (int k = 0; k < s_.keys_per_call; ++k) {
          v1::StreamEvent* event = ingest_.mutable_events(k);
          event->mutable_key(0)->mutable_value()->set_int64_value(keys_[k].store_id);
          event->mutable_key(1)->mutable_value()->set_int64_value(keys_[k].item_id);
          event->mutable_key(2)->mutable_value()->set_int64_value(keys_[k].horizon_days);
          event->set_event_time_micros(now);
          event->mutable_values(0)->mutable_value()->set_double_value(static_cast<double>(now % 1000));
          event->mutable_values(1)->mutable_value()->set_double_value(static_cast<double>(now % 1000) * 1.25);
        }
        break;
      }
      case Mode::kFallback:
      case Mode::kMix:
        // A key past the sample's last store: never stored, always scored.
        missing_key_ = s_.mode == Mode::kFallback || uniform_(rng_) < s_.fallback_share;
        lookup_.mutable_key(0)->mutable_value()->set_int64_value(keys_[0].store_id + (missing_key_ ? 1000000 : 0));
        lookup_.mutable_key(1)->mutable_value()->set_int64_value(keys_[0].item_id);
        lookup_.mutable_key(2)->mutable_value()->set_int64_value(keys_[0].horizon_days);
        for (int f = 0; f < s_.features; ++f) {
          lookup_.mutable_features(f)->mutable_value()->set_double_value(normal_(rng_));
        }
        break;
    }
  }

  // Makes one call; sets *right to false when --verify finds a wrong answer.
  grpc::Status Call(bool* right) {
    scan_rows_ = 0;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + s_.timeout);
    grpc::Status status;
    switch (s_.mode) {
      case Mode::kRedisGet:
      case Mode::kRedisMget:
        return RedisCall(right);
      case Mode::kStream:
      case Mode::kStreamBatch:
        return StreamCall(right);
      case Mode::kEchoStream:
        return EchoStreamCall(right);
      case Mode::kIngest: {
        ingest_ack_.Clear();
        if (!ingest_stream_->Write(ingest_) || !ingest_stream_->Read(&ingest_ack_)) {
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the ingest stream broke");
        }
        if (ingest_ack_.error_code() != 0) {
          return grpc::Status(static_cast<grpc::StatusCode>(ingest_ack_.error_code()), ingest_ack_.error_message());
        }
        if (s_.verify) *right = ingest_ack_.sequence() == ingest_.sequence() &&
                                ingest_ack_.status().sequence() == ingest_.sequence();
        return grpc::Status::OK;
      }
      case Mode::kPredict: {
        predict_response_.Clear();
        status = Await(predictions_->AsyncPredict(&context, predict_, &cq_), &predict_response_);
        if (status.ok() && s_.verify) {
          const auto& r = predict_response_;
          *right = r.predictions_size() == 1 && r.predictions(0).values_size() >= 1 && r.model_version() > 0;
        }
        break;
      }
      case Mode::kFallback:
      case Mode::kMix: {
        lookup_response_.Clear();
        status = Await(predictions_->AsyncLookup(&context, lookup_, &cq_), &lookup_response_);
        if (status.ok() && s_.verify) {
          const auto& r = lookup_response_;
          if (missing_key_) {
            *right = r.found() && r.source() == v1::SOURCE_COMPUTED && r.model_version() > 0;
          } else {
            *right = r.found() && r.source() == v1::SOURCE_PRECOMPUTED && r.values_size() == 2 &&
                     RightValues(s_, keys_[0].index, r.values(0).double_value(), r.values(1).double_value());
          }
        }
        break;
      }
      case Mode::kScan:
        return ScanCall(&context, right);
      case Mode::kLookup: {
        lookup_response_.Clear();
        status = Await(predictions_->AsyncLookup(&context, lookup_, &cq_), &lookup_response_);
        if (status.ok() && s_.verify) {
          const auto& r = lookup_response_;
          *right = r.found() && r.values_size() == 2 &&
                   RightValues(s_, keys_[0].index, r.values(0).double_value(), r.values(1).double_value());
        }
        break;
      }
      case Mode::kBatch: {
        batch_response_.Clear();
        status = Await(predictions_->AsyncBatchLookup(&context, batch_, &cq_), &batch_response_);
        if (status.ok() && s_.verify) {
          const auto& r = batch_response_;
          *right = r.results_size() == s_.keys_per_call;
          for (int k = 0; *right && k < r.results_size(); ++k) {
            const v1::LookupResult& result = r.results(k);
            *right = result.found() && result.values_size() == 2 &&
                     RightValues(s_, keys_[k].index, result.values(0).double_value(), result.values(1).double_value());
          }
        }
        break;
      }
      case Mode::kBatchColumnar: {
        batch_response_.Clear();
        status = Await(predictions_->AsyncBatchLookup(&context, batch_, &cq_), &batch_response_);
        if (status.ok() && s_.verify) *right = RightColumns(batch_response_);
        break;
      }
      case Mode::kEchoBytes: {
        if (s_.request_mode == Mode::kLookup) {
          lookup_.SerializeToString(echo_request_.mutable_payload());
        } else {
          batch_.SerializeToString(echo_request_.mutable_payload());
        }
        echo_response_.Clear();
        status = Await(echo_->AsyncEcho(&context, echo_request_, &cq_), &echo_response_);
        if (status.ok() && s_.verify) *right = echo_response_.payload() == echo_request_.payload();
        break;
      }
      case Mode::kEcho: {
        echo_response_.Clear();
        status = Await(echo_->AsyncEcho(&context, echo_request_, &cq_), &echo_response_);
        if (status.ok() && s_.verify) {
          const auto& r = echo_response_;
          *right = r.rows_size() == s_.keys_per_call;
          for (int k = 0; *right && k < r.rows_size(); ++k) {
            const echo::Row& row = r.rows(k);
            *right = row.values_size() == 3 && row.values(0).int64_value() == keys_[k].store_id &&
                     row.values(1).int64_value() == keys_[k].item_id &&
                     row.values(2).int64_value() == keys_[k].horizon_days;
          }
        }
        break;
      }
    }
    return status;
  }

  // A scan of store keys_[0].store_id, items keys_[0].item_id onwards (at
  // most --scan_items of them), every horizon. --verify: exactly the sample
  // rows in that box, each with its own values.
  grpc::Status ScanCall(grpc::ClientContext* context, bool* right) {
    const int64_t store = keys_[0].store_id, first_item = keys_[0].item_id;
    const int64_t last_item =
        std::min<int64_t>(first_item + s_.scan_items - 1, predstore::kSampleFirstItemId + s_.sample.items - 1);
    scan_.mutable_where(0)->mutable_low()->set_int64_value(store);
    scan_.mutable_where(0)->mutable_high()->set_int64_value(store);
    scan_.mutable_where(1)->mutable_low()->set_int64_value(first_item);
    scan_.mutable_where(1)->mutable_high()->set_int64_value(last_item);
    std::unique_ptr<grpc::ClientReader<v1::ScanResponse>> reader = predictions_->Scan(context, scan_);
    uint64_t expected = 0;
    for (int64_t item = first_item; item <= last_item; ++item) {
      for (int64_t horizon = 1; horizon <= static_cast<int64_t>(s_.sample.horizons); ++horizon) {
        expected += predstore::SampleIndexOf(s_.sample, {store, item, horizon}) < s_.rows;
      }
    }
    while (reader->Read(&scan_response_)) {
      for (const v1::ScanRow& row : scan_response_.rows()) {
        ++scan_rows_;
        if (!s_.verify || !*right) continue;
        const bool in_box = row.key_size() == 3 && row.values_size() == 2 && row.key(0).int64_value() == store &&
                            row.key(1).int64_value() >= first_item && row.key(1).int64_value() <= last_item &&
                            row.key(2).int64_value() >= 1 &&
                            row.key(2).int64_value() <= static_cast<int64_t>(s_.sample.horizons);
        *right = in_box && RightValues(s_,
                                       predstore::SampleIndexOf(s_.sample, {store, row.key(1).int64_value(),
                                                                            row.key(2).int64_value()}),
                                       row.values(0).double_value(), row.values(1).double_value());
      }
    }
    grpc::Status status = reader->Finish();
    if (status.ok() && s_.verify && scan_rows_ != expected) *right = false;
    return status;
  }

  // Waits for the one call in flight on cq_ (see --wait) and returns its
  // status; the answer is in *response.
  template <typename Response>
  grpc::Status Await(std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> call, Response* response) {
    grpc::Status status;
    call->Finish(response, &status, this);
    void* tag = nullptr;
    bool ok = false;
    if (s_.spin) {
      while (cq_.AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC)) != grpc::CompletionQueue::GOT_EVENT) {
      }
    } else {
      cq_.Next(&tag, &ok);
    }
    return status;
  }

  void AppendBulk(std::string_view argument) {
    redis_command_ += '$';
    redis_command_ += std::to_string(argument.size());
    redis_command_ += "\r\n";
    redis_command_ += argument;
    redis_command_ += "\r\n";
  }

  // GET of one key or MGET of keys_per_call keys; values "forecast,p90".
  // The command is written into a reused buffer and the reply parsed by
  // hiredis's reader from the socket, which --wait=spin polls.
  grpc::Status RedisCall(bool* right) {
    if (!redis_ || redis_->err) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, redis_ ? redis_->errstr : "cannot connect to Redis");
    }
    redis_command_.assign("*");
    redis_command_ += std::to_string(s_.keys_per_call + 1);
    redis_command_ += "\r\n";
    AppendBulk(s_.mode == Mode::kRedisGet ? "GET" : "MGET");
    char key[96];
    for (int k = 0; k < s_.keys_per_call; ++k) {
      int length = std::snprintf(key, sizeof key, "%s:%lld:%lld:%lld", s_.redis_prefix.c_str(),
                                 static_cast<long long>(keys_[k].store_id), static_cast<long long>(keys_[k].item_id),
                                 static_cast<long long>(keys_[k].horizon_days));
      AppendBulk(std::string_view(key, static_cast<size_t>(std::min<int>(length, sizeof key - 1))));
    }
    for (size_t sent = 0; sent < redis_command_.size();) {
      ssize_t n = send(redis_->fd, redis_command_.data() + sent, redis_command_.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string("send: ") + std::strerror(errno));
      }
    }
    redisReply* reply = nullptr;
    char buffer[16384];
    while (reply == nullptr) {
      void* parsed = nullptr;
      if (redisReaderGetReply(redis_reader_, &parsed) != REDIS_OK) {
        return grpc::Status(grpc::StatusCode::INTERNAL, std::string("bad reply: ") + redis_reader_->errstr);
      }
      if ((reply = static_cast<redisReply*>(parsed)) != nullptr) break;
      ssize_t n = recv(redis_->fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        redisReaderFeed(redis_reader_, buffer, static_cast<size_t>(n));
      } else if (n == 0) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server closed the connection");
      } else if (errno != EAGAIN && errno != EINTR) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string("recv: ") + std::strerror(errno));
      }
    }
    auto right_value = [&](const redisReply* value, int k) {
      if (value->type != REDIS_REPLY_STRING) return false;
      char* end = nullptr;
      double forecast = std::strtod(value->str, &end);
      double p90 = (*end == ',') ? std::strtod(end + 1, nullptr) : -1;
      return RightValues(s_, keys_[k].index, forecast, p90);
    };
    if (s_.verify) {
      if (s_.mode == Mode::kRedisGet) {
        *right = right_value(reply, 0);
      } else {
        *right = reply->type == REDIS_REPLY_ARRAY && reply->elements == static_cast<size_t>(s_.keys_per_call);
        for (int k = 0; *right && k < s_.keys_per_call; ++k) *right = right_value(reply->element[k], k);
      }
    }
    freeReplyObject(reply);
    return grpc::Status::OK;
  }

  // Whether a columnar answer holds every key's right values.
  bool RightColumns(const v1::BatchLookupResponse& r) const {
    bool right = r.found_size() == s_.keys_per_call && r.columns_size() == 2 &&
                 r.columns(0).double_values_size() == s_.keys_per_call &&
                 r.columns(1).double_values_size() == s_.keys_per_call;
    for (int k = 0; right && k < s_.keys_per_call; ++k) {
      right = r.found(k) && RightValues(s_, keys_[k].index, r.columns(0).double_values(k), r.columns(1).double_values(k));
    }
    return right;
  }

  // One request (a lookup, or a columnar batch) and its answer on the
  // caller's LookupStream.
  grpc::Status StreamCall(bool* right) {
    stream_request_.set_id(++stream_id_);
    const bool batch = s_.mode == Mode::kStreamBatch;
    if (!batch) *stream_request_.mutable_lookup() = lookup_;
    stream_response_.Clear();
    if (!lookup_stream_->Write(stream_request_) || !lookup_stream_->Read(&stream_response_)) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the lookup stream broke");
    }
    if (stream_response_.error_code() != 0) {
      return grpc::Status(static_cast<grpc::StatusCode>(stream_response_.error_code()), stream_response_.error_message());
    }
    if (s_.verify) {
      const auto& r = stream_response_.result();
      *right = stream_response_.id() == stream_id_ &&
               (batch ? RightColumns(stream_response_.batch())
                      : r.found() && r.values_size() == 2 &&
                            RightValues(s_, keys_[0].index, r.values(0).double_value(), r.values(1).double_value()));
    }
    return grpc::Status::OK;
  }

  grpc::Status EchoStreamCall(bool* right) {
    echo_response_.Clear();
    if (!echo_stream_->Write(echo_request_) || !echo_stream_->Read(&echo_response_)) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the echo stream broke");
    }
    if (s_.verify) *right = echo_response_.rows_size() == s_.keys_per_call;
    return grpc::Status::OK;
  }

  const Settings& s_;
  std::mt19937_64 rng_;
  int caller_index_;
  grpc::CompletionQueue cq_;  // unary calls: one in flight at a time
  redisContext* redis_ = nullptr;  // its socket; replies are parsed by redis_reader_
  redisReader* redis_reader_ = nullptr;
  std::string redis_command_;
  grpc::ClientContext stream_context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamLookupRequest, v1::StreamLookupResponse>> lookup_stream_;
  std::unique_ptr<grpc::ClientReaderWriter<echo::EchoRequest, echo::EchoResponse>> echo_stream_;
  v1::StreamLookupRequest stream_request_;
  v1::StreamLookupResponse stream_response_;
  uint64_t stream_id_ = 0;
  std::unique_ptr<v1::Predictions::Stub> predictions_;
  std::unique_ptr<echo::Echo::Stub> echo_;
  std::vector<Key> keys_;
  v1::LookupRequest lookup_;
  v1::LookupResponse lookup_response_;
  v1::BatchLookupRequest batch_;
  v1::BatchLookupResponse batch_response_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::IngestRequest, v1::IngestAck>> ingest_stream_;
  v1::IngestRequest ingest_;
  v1::IngestAck ingest_ack_;
  v1::PredictRequest predict_;
  v1::PredictResponse predict_response_;
  std::normal_distribution<double> normal_{0.0, 1.0};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
  bool missing_key_ = false;  // fallback, mix: this call's key was never stored
  v1::ScanRequest scan_;
  v1::ScanResponse scan_response_;
  uint64_t scan_rows_ = 0;  // rows the last call's scan returned
  echo::EchoRequest echo_request_;
  echo::EchoResponse echo_response_;
};

// A well-mixed seed for caller `i` (SplitMix64 of seed and i).
uint64_t CallerSeed(uint64_t seed, int i) {
  uint64_t x = seed + 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(i) + 1);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Nearest-rank percentile of sorted samples, in microseconds.
double PercentileUs(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1] / 1000.0;
}

// Writes the CDF of sorted samples to `path` (see the file comment); false
// when the file cannot be written.
bool WriteCdf(const std::string& path, const std::vector<uint32_t>& sorted) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return false;
  std::fprintf(file, "# latency_us fraction (%zu measured calls)\n", sorted.size());
  if (!sorted.empty()) {
    std::fprintf(file, "%.3f 0\n", sorted.front() / 1000.0);
    for (int k = 1; k < 200; ++k) {
      const double fraction = k * 0.005;
      std::fprintf(file, "%.3f %.4f\n", PercentileUs(sorted, fraction), fraction);
    }
    for (double fraction : {0.999, 0.9999}) std::fprintf(file, "%.3f %.4f\n", PercentileUs(sorted, fraction), fraction);
    std::fprintf(file, "%.3f 1\n", sorted.back() / 1000.0);
  }
  return std::fclose(file) == 0;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "predstore-loadgen: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Closed-loop load generator for predstore-server and predstore-bench-echo.\n"
      "  predstore-loadgen --target=127.0.0.1:50051 --mode=lookup --concurrency=16 --duration_s=5 --rows=1000000\n"
      "  predstore-loadgen --target=127.0.0.1:50052 --mode=echo --concurrency=16 --json");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built with debug checks: every absl::Mutex lock (gRPC
  // takes several per call) would update a global lock-order graph.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  Settings s;
  s.mode_name = absl::GetFlag(FLAGS_mode);
  if (s.mode_name == "lookup") {
    s.mode = Mode::kLookup;
  } else if (s.mode_name == "batch") {
    s.mode = Mode::kBatch;
  } else if (s.mode_name == "batch_columnar") {
    s.mode = Mode::kBatchColumnar;
  } else if (s.mode_name == "stream_batch") {
    s.mode = Mode::kStreamBatch;
  } else if (s.mode_name == "echo") {
    s.mode = Mode::kEcho;
  } else if (s.mode_name == "echo_bytes") {
    s.mode = Mode::kEchoBytes;
  } else if (s.mode_name == "stream") {
    s.mode = Mode::kStream;
  } else if (s.mode_name == "echo_stream") {
    s.mode = Mode::kEchoStream;
  } else if (s.mode_name == "redis_get") {
    s.mode = Mode::kRedisGet;
  } else if (s.mode_name == "redis_mget") {
    s.mode = Mode::kRedisMget;
  } else if (s.mode_name == "predict") {
    s.mode = Mode::kPredict;
  } else if (s.mode_name == "fallback") {
    s.mode = Mode::kFallback;
  } else if (s.mode_name == "mix") {
    s.mode = Mode::kMix;
  } else if (s.mode_name == "scan") {
    s.mode = Mode::kScan;
  } else if (s.mode_name == "ingest") {
    s.mode = Mode::kIngest;
  } else {
    return Usage(
        "--mode must be lookup, batch, batch_columnar, stream_batch, echo, echo_bytes, stream, echo_stream, redis_get, redis_mget, predict, "
        "fallback, mix, scan or ingest");
  }
  s.request_mode = s.mode;
  if (s.mode == Mode::kEchoBytes) {
    const std::string echo_of = absl::GetFlag(FLAGS_echo_of);
    if (echo_of == "lookup") {
      s.request_mode = Mode::kLookup;
    } else if (echo_of == "batch") {
      s.request_mode = Mode::kBatch;
    } else if (echo_of == "batch_columnar") {
      s.request_mode = Mode::kBatchColumnar;
    } else {
      return Usage("--echo_of must be lookup, batch or batch_columnar");
    }
  }
  const std::string wait = absl::GetFlag(FLAGS_wait);
  if (wait != "block" && wait != "spin") return Usage("--wait must be block or spin");
  s.spin = wait == "spin";
  const bool streamed = s.mode == Mode::kStream || s.mode == Mode::kStreamBatch || s.mode == Mode::kEchoStream ||
                        s.mode == Mode::kScan || s.mode == Mode::kIngest;
  if (s.spin && streamed) return Usage("--wait=spin works for unary gRPC and Redis modes only");
  if (s.spin && absl::GetFlag(FLAGS_concurrency) >= static_cast<int>(std::thread::hardware_concurrency())) {
    return Usage("--wait=spin needs a core per caller and one for the server: --concurrency must be below " +
                 std::to_string(std::thread::hardware_concurrency()));
  }
  s.redis_prefix = absl::GetFlag(FLAGS_redis_prefix);
  s.model = absl::GetFlag(FLAGS_model);
  s.features = absl::GetFlag(FLAGS_features);
  if (s.features < 1) return Usage("--features must be >= 1");
  s.fallback_share = absl::GetFlag(FLAGS_fallback_share);
  if (!(s.fallback_share >= 0 && s.fallback_share <= 1)) return Usage("--fallback_share must be within 0..1");
  s.scan_items = absl::GetFlag(FLAGS_scan_items);
  if (s.scan_items < 1) return Usage("--scan_items must be >= 1");
  const int batch = absl::GetFlag(FLAGS_batch);
  const bool batched = s.mode == Mode::kBatch || s.mode == Mode::kBatchColumnar || s.mode == Mode::kStreamBatch ||
                       (s.mode == Mode::kEchoBytes && s.request_mode != Mode::kLookup) ||
                       s.mode == Mode::kRedisMget ||
                       s.mode == Mode::kIngest;
  if (batched && batch < 1) return Usage("--batch must be >= 1");
  s.keys_per_call = batched ? batch : 1;
  s.table = absl::GetFlag(FLAGS_table);
  s.rows = absl::GetFlag(FLAGS_rows);
  if (s.rows == 0) return Usage("--rows must be > 0");
  s.hot_rows = absl::GetFlag(FLAGS_hot_rows);
  if (s.hot_rows > s.rows) return Usage("--hot_rows must be at most --rows");
  s.sample_seed = absl::GetFlag(FLAGS_sample_seed);
  s.verify = absl::GetFlag(FLAGS_verify);
  s.timeout = std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  if (concurrency < 1) return Usage("--concurrency must be >= 1");
  s.concurrency = concurrency;
  if (absl::GetFlag(FLAGS_rate) < 0) return Usage("--rate must be >= 0");
  const double duration_s = absl::GetFlag(FLAGS_duration_s), warmup_s = absl::GetFlag(FLAGS_warmup_s);
  const uint64_t requests = absl::GetFlag(FLAGS_requests);
  if (requests == 0 && !(duration_s > 0)) return Usage("--duration_s must be > 0 (or set --requests)");
  if (warmup_s < 0) return Usage("--warmup_s must be >= 0");
  const std::string channels = absl::GetFlag(FLAGS_channels);
  if (channels != "per_caller" && channels != "shared") return Usage("--channels must be per_caller or shared");
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string label = absl::GetFlag(FLAGS_label).empty() ? s.mode_name : absl::GetFlag(FLAGS_label);

  if (IsRedis(s.mode)) {
    size_t colon = target.rfind(':');
    if (colon == std::string::npos) return Usage("--target must be host:port");
    s.redis_host = target.substr(0, colon);
    s.redis_port = std::atoi(target.c_str() + colon + 1);
  }

  // Channels, connected before the clock starts (none for Redis).
  std::vector<std::shared_ptr<grpc::Channel>> channel_of(concurrency);
  std::shared_ptr<grpc::Channel> shared = channels == "shared" ? MakeChannel(target, -1) : nullptr;
  auto connect_deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(absl::GetFlag(FLAGS_connect_timeout_ms));
  for (int i = 0; i < concurrency && !IsRedis(s.mode); ++i) {
    channel_of[i] = shared ? shared : MakeChannel(target, i);
    if (!channel_of[i]->WaitForConnected(connect_deadline)) {
      std::fprintf(stderr, "predstore-loadgen: cannot connect to %s\n", target.c_str());
      return 2;
    }
  }

  std::vector<std::unique_ptr<Caller>> callers;
  for (int i = 0; i < concurrency; ++i) {
    callers.push_back(std::make_unique<Caller>(s, channel_of[i], CallerSeed(absl::GetFlag(FLAGS_seed), i), i));
  }

  // Every caller starts at once; the schedule is fixed just before release.
  Schedule schedule;
  std::vector<CallerResult> results(concurrency);
  std::latch ready(concurrency + 1);
  std::latch go(1);
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) {
    threads.emplace_back([&, i] {
      ready.arrive_and_wait();
      go.wait();
      callers[i]->Run(schedule, &results[i]);
    });
  }
  ready.arrive_and_wait();
  auto to_duration = [](double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  schedule.start = Clock::now();
  schedule.measure_start = schedule.start + to_duration(warmup_s);
  if (const double rate = absl::GetFlag(FLAGS_rate); rate > 0) {
    schedule.interval = to_duration(concurrency / rate);
  }
  if (requests == 0) {
    schedule.measure_end = schedule.measure_start + to_duration(duration_s);
  } else {
    schedule.quota = (requests + concurrency - 1) / concurrency;
  }
  go.count_down();
  for (auto& thread : threads) thread.join();

  // Merge.
  std::vector<uint32_t> latencies;
  uint64_t errors = 0, wrong = 0, warmup_calls = 0, scan_rows = 0;
  Clock::time_point last_end = schedule.measure_start;
  std::string first_error;
  for (CallerResult& r : results) {
    latencies.insert(latencies.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    errors += r.errors;
    wrong += r.wrong;
    warmup_calls += r.warmup_calls;
    scan_rows += r.scan_rows;
    last_end = std::max(last_end, r.last_end);
    if (first_error.empty()) first_error = r.first_error;
  }
  std::sort(latencies.begin(), latencies.end());
  const uint64_t calls = latencies.size() + errors;
  const double seconds = std::chrono::duration<double>(last_end - schedule.measure_start).count();
  const double qps = seconds > 0 ? static_cast<double>(latencies.size()) / seconds : 0;
  // Keys answered per second; a scan's keys are the rows it returned.
  const double keys_per_s = s.mode != Mode::kScan    ? qps * s.keys_per_call
                            : seconds > 0 ? static_cast<double>(scan_rows) / seconds
                                          : 0;
  double mean_us = 0;
  for (uint32_t ns : latencies) mean_us += ns;
  if (!latencies.empty()) mean_us /= 1000.0 * static_cast<double>(latencies.size());
  const double p50 = PercentileUs(latencies, 0.50), p90 = PercentileUs(latencies, 0.90),
               p99 = PercentileUs(latencies, 0.99), p999 = PercentileUs(latencies, 0.999),
               max = latencies.empty() ? 0 : latencies.back() / 1000.0;

  std::printf(
      "%s: c=%d%s channels=%s keys/call=%d: %llu calls in %.2f s = %.0f calls/s (%.0f keys/s); latency us: "
      "p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (mean %.1f); errors %llu, wrong answers %llu\n",
      label.c_str(), concurrency,
      absl::GetFlag(FLAGS_rate) > 0 ? (" open-loop rate=" + std::to_string(static_cast<int64_t>(absl::GetFlag(FLAGS_rate)))).c_str() : "",
      channels.c_str(), s.keys_per_call, static_cast<unsigned long long>(calls), seconds,
      qps, keys_per_s, p50, p90, p99, p999, max, mean_us, static_cast<unsigned long long>(errors),
      static_cast<unsigned long long>(wrong));
  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::json j = {{"label", label},       {"mode", s.mode_name},
                        {"target", target},     {"concurrency", concurrency},
                        {"channels", channels}, {"keys_per_call", s.keys_per_call},
                        {"warmup_s", warmup_s}, {"warmup_calls", warmup_calls},
                        {"calls", calls},       {"seconds", seconds},
                        {"qps", qps},           {"keys_per_s", keys_per_s},
                        {"p50_us", p50},        {"p90_us", p90},
                        {"p99_us", p99},        {"p999_us", p999},
                        {"max_us", max},        {"mean_us", mean_us},
                        {"errors", errors},     {"wrong", wrong},
                        {"verified", s.verify}, {"open_loop_rate", absl::GetFlag(FLAGS_rate)},
                        {"wait", wait},
                        {"rows", s.rows},       {"hot_rows", s.hot_rows}};
    std::printf("%s\n", j.dump().c_str());
  }
  std::fflush(stdout);
  const std::string cdf_out = absl::GetFlag(FLAGS_cdf_out);
  if (!cdf_out.empty() && !WriteCdf(cdf_out, latencies)) {
    std::fprintf(stderr, "predstore-loadgen: cannot write --cdf_out=%s\n", cdf_out.c_str());
    return 1;
  }
  if (errors > 0)
    std::fprintf(stderr, "predstore-loadgen: %llu calls failed; first: %s\n", static_cast<unsigned long long>(errors),
                 first_error.c_str());
  if (wrong > 0)
    std::fprintf(stderr, "predstore-loadgen: %llu answers were wrong\n", static_cast<unsigned long long>(wrong));
  return errors > 0 || wrong > 0 ? 1 : 0;
}
