// GoogleTest helpers for absl::Status and absl::StatusOr<T>:
//   EXPECT_OK(expr), ASSERT_OK(expr)          the status is OK
//   ASSERT_OK_AND_ASSIGN(lhs, expr)           asserts OK, then assigns the value
//   EXPECT_THAT(expr, StatusIs(code, matcher)) code and message
//   EXPECT_THAT(expr, IsOkAndHolds(matcher))   OK, and the value matches
//   ValueOrDie(status_or)                     the value, or abort
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace predstore::test_support {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// Matches a Status or StatusOr whose code is `code` and whose message
// matches `message_matcher` (a string matcher such as HasSubstr).
MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "whose status is " << status.ToString();
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message().data(), status.message().size()));
}

// Matches an OK StatusOr whose value matches `value_matcher`.
MATCHER_P(IsOkAndHolds, value_matcher, "") {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

// The value of `status_or`; prints the status and aborts the test binary when
// it is an error (for fixtures and helpers, where ASSERT cannot return).
template <typename T>
T ValueOrDie(absl::StatusOr<T> status_or) {
  if (!status_or.ok()) {
    std::fprintf(stderr, "ValueOrDie: %s\n", status_or.status().ToString().c_str());
    std::abort();
  }
  return std::move(status_or).value();
}

// Matches a Status or StatusOr whose code is `code`.
MATCHER_P(StatusHasCode, code, "") {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "whose status is " << status.ToString();
  return status.code() == code;
}

}  // namespace predstore::test_support

#define EXPECT_OK(expr)                                                                \
  do {                                                                                 \
    ::absl::Status predstore_test_status_ = ::predstore::test_support::StatusOf(expr); \
    EXPECT_TRUE(predstore_test_status_.ok()) << predstore_test_status_.ToString();     \
  } while (0)

#define ASSERT_OK(expr)                                                                \
  do {                                                                                 \
    ::absl::Status predstore_test_status_ = ::predstore::test_support::StatusOf(expr); \
    ASSERT_TRUE(predstore_test_status_.ok()) << predstore_test_status_.ToString();     \
  } while (0)

#define PREDSTORE_TEST_CONCAT_INNER_(a, b) a##b
#define PREDSTORE_TEST_CONCAT_(a, b) PREDSTORE_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(PREDSTORE_TEST_CONCAT_(predstore_test_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr)  \
  auto tmp = (expr);                                \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).value()
