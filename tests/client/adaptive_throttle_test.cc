#include "client/adaptive_throttle.h"

#include <thread>

#include "gtest/gtest.h"

namespace predstore {
namespace {

TEST(AdaptiveThrottleTest, NeverRefusesWhileTheServerAccepts) {
  AdaptiveThrottle throttle(1.1);
  int admitted = 0;
  for (int i = 0; i < 10000; ++i) {
    if (!throttle.Admit()) continue;
    ++admitted;
    // Errors that are not about load count as accepted: the server answered.
    throttle.Record(i % 3 == 0 ? grpc::NOT_FOUND : grpc::OK);
  }
  EXPECT_EQ(admitted, 10000);
  EXPECT_EQ(throttle.RefusalProbability(), 0);
}

TEST(AdaptiveThrottleTest, RefusesTheShareTheFormulaGives) {
  AdaptiveThrottle throttle(2.0, std::chrono::seconds(60));
  for (int i = 0; i < 100; ++i) throttle.Record(grpc::OK);
  for (int i = 0; i < 100; ++i) throttle.Record(grpc::RESOURCE_EXHAUSTED);
  for (int i = 0; i < 100; ++i) throttle.Record(grpc::UNAVAILABLE);
  for (int i = 0; i < 100; ++i) throttle.Record(grpc::DEADLINE_EXCEEDED);
  // 400 requests, 100 accepted: (400 - 2 * 100) / 401.
  EXPECT_DOUBLE_EQ(throttle.RefusalProbability(), 200.0 / 401.0);
}

TEST(AdaptiveThrottleTest, RefusesLocallyWhenTheServerRefusesEverythingAndRecoversAfterTheWindow) {
  AdaptiveThrottle throttle(2.0, std::chrono::milliseconds(200));
  for (int i = 0; i < 1000; ++i) throttle.Record(grpc::RESOURCE_EXHAUSTED);
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += throttle.Admit();
  EXPECT_LT(admitted, 20) << "about 1 in 1000 calls still probes the server";
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(throttle.RefusalProbability(), 0) << "the refusals have left the window";
  EXPECT_TRUE(throttle.Admit());
}

}  // namespace
}  // namespace predstore
