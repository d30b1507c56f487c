#include "client/concurrency_limit.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace predstore {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

AdaptiveConcurrencyLimit::Options Limits(double initial, double max = 1000) {
  AdaptiveConcurrencyLimit::Options options;
  options.initial_limit = initial;
  options.max_limit = max;
  return options;
}

// Acquires `n` calls; true if every one was let through.
bool AcquireAll(AdaptiveConcurrencyLimit& limit, int n) {
  bool all = true;
  for (int i = 0; i < n; ++i) all &= limit.TryAcquire();
  return all;
}

TEST(AdaptiveConcurrencyLimitTest, RefusesPastTheLimitBeforeAnyAnswer) {
  AdaptiveConcurrencyLimit limit(Limits(4));
  EXPECT_TRUE(AcquireAll(limit, 4));
  EXPECT_FALSE(limit.TryAcquire()) << "no baseline yet: nothing says the server can take more";
  EXPECT_EQ(limit.InFlight(), 4);
  limit.Release(microseconds(300), grpc::OK);
  EXPECT_EQ(limit.InFlight(), 3);
}

TEST(AdaptiveConcurrencyLimitTest, FastAnswersWithTheLimitInUseGrowItAboutOneCallPerRoundTrip) {
  AdaptiveConcurrencyLimit limit(Limits(4));
  ASSERT_TRUE(AcquireAll(limit, 4));
  // A saturated client: each answer frees a call that is replaced at once.
  for (int i = 0; i < 16; ++i) {
    limit.Release(microseconds(300), grpc::OK);
    while (limit.InFlight() < static_cast<int64_t>(limit.Limit())) ASSERT_TRUE(limit.TryAcquire());
  }
  // 16 answers, each adding 1 / limit: limit^2 grows by about 2 per answer,
  // from 16 to about 48.
  EXPECT_GT(limit.Limit(), 6.5);
  EXPECT_LT(limit.Limit(), 7.5);
  EXPECT_EQ(limit.InFlight(), 6) << "the calls in flight follow the limit";
}

TEST(AdaptiveConcurrencyLimitTest, AnIdleLimitDoesNotMove) {
  AdaptiveConcurrencyLimit limit(Limits(8));
  // One call at a time: the limit of 8 is not in use, so neither fast nor
  // slow answers move it.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(limit.TryAcquire());
    limit.Release(microseconds(i < 50 ? 300 : 30000), grpc::OK);
  }
  EXPECT_EQ(limit.Limit(), 8);
}

TEST(AdaptiveConcurrencyLimitTest, SlowAnswersShrinkItOncePerRoundTrip) {
  AdaptiveConcurrencyLimit limit(Limits(10));
  ASSERT_TRUE(AcquireAll(limit, 10));
  for (int i = 0; i < 5; ++i) limit.Release(microseconds(300), grpc::OK);  // baseline 300 us
  const double before = limit.Limit();
  ASSERT_TRUE(AcquireAll(limit, 5));
  // Five answers 20 times slower, all within one (smoothed) round trip of
  // the first: one backoff.
  for (int i = 0; i < 5; ++i) limit.Release(microseconds(6000), grpc::OK);
  EXPECT_DOUBLE_EQ(limit.Limit(), before * 0.7);
}

TEST(AdaptiveConcurrencyLimitTest, RefusalsShrinkItDownToTheMinimumAndItRecovers) {
  AdaptiveConcurrencyLimit::Options options = Limits(16);
  options.min_limit = 2;
  AdaptiveConcurrencyLimit limit(options);
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(limit.TryAcquire());
    std::this_thread::sleep_for(milliseconds(1));  // a round trip apart
    limit.Release(microseconds(200), grpc::RESOURCE_EXHAUSTED);
  }
  EXPECT_EQ(limit.Limit(), 2);
  EXPECT_TRUE(AcquireAll(limit, 2));
  EXPECT_FALSE(limit.TryAcquire()) << "refused answers set no baseline, so the limit holds";
  // Answers as fast as ever: the limit grows again, and a call past it is
  // let through (and raises it) while answers stay that fast.
  for (int i = 0; i < 2; ++i) limit.Release(microseconds(200), grpc::OK);
  std::this_thread::sleep_for(milliseconds(1));
  for (int round = 0; round < 10; ++round) {
    const int n = static_cast<int>(limit.Limit());
    ASSERT_TRUE(AcquireAll(limit, n + 1)) << "round " << round;
    for (int i = 0; i <= n; ++i) limit.Release(microseconds(200), grpc::OK);
  }
  EXPECT_GE(limit.Limit(), 12);
}

TEST(AdaptiveConcurrencyLimitTest, BackAtLightLoadItReturnsToItsInitialLimitAndNoFurther) {
  AdaptiveConcurrencyLimit limit(Limits(8));
  for (int round = 0; round < 10; ++round) {
    ASSERT_TRUE(limit.TryAcquire());
    std::this_thread::sleep_for(milliseconds(1));
    limit.Release(microseconds(200), grpc::UNAVAILABLE);
  }
  ASSERT_LT(limit.Limit(), 2);
  // One call at a time, answered fast: never half the limit in use once it
  // passes 2, yet it climbs back to where it began, and stops there.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(limit.TryAcquire());
    limit.Release(microseconds(200), grpc::OK);
  }
  EXPECT_GE(limit.Limit(), 8);
  EXPECT_LT(limit.Limit(), 8.2);
}

TEST(AdaptiveConcurrencyLimitTest, OptionsOutOfRangeAreBroughtIntoIt) {
  AdaptiveConcurrencyLimit::Options wild;
  wild.min_limit = 0;
  wild.initial_limit = -3;
  wild.max_limit = 0.5;
  wild.tolerance = 0.5;
  wild.backoff = 7;
  wild.baseline_window = milliseconds(0);
  const AdaptiveConcurrencyLimit limit(wild);
  EXPECT_EQ(limit.options().min_limit, 1);
  EXPECT_EQ(limit.options().max_limit, 1);
  EXPECT_EQ(limit.Limit(), 1);
  EXPECT_EQ(limit.options().tolerance, 1.05);
  EXPECT_EQ(limit.options().backoff, 0.95);
  EXPECT_EQ(limit.options().baseline_window, milliseconds(1));
}

TEST(AdaptiveConcurrencyLimitTest, ConcurrentCallersNeverExceedTheMaximum) {
  AdaptiveConcurrencyLimit limit(Limits(4, 4));
  std::atomic<int64_t> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!limit.TryAcquire()) continue;
        int64_t now = limit.InFlight(), seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        limit.Release(microseconds(100), i % 7 == 0 ? grpc::UNAVAILABLE : grpc::OK);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(most.load(), 4);
  EXPECT_EQ(limit.InFlight(), 0);
  EXPECT_LE(limit.Limit(), 4);
  EXPECT_GE(limit.Limit(), 1);
}

}  // namespace
}  // namespace predstore
