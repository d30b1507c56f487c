// Status propagation macros shared by every predstore component.
// PREDSTORE_RETURN_IF_ERROR(expr): returns the absl::Status of `expr` if it is
// not OK. PREDSTORE_ASSIGN_OR_RETURN(lhs, expr): evaluates an
// absl::StatusOr<T>, returns its status on error, else assigns the value.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PREDSTORE_RETURN_IF_ERROR(expr)                  \
  do {                                                   \
    ::absl::Status predstore_status_ = (expr);           \
    if (!predstore_status_.ok()) return predstore_status_; \
  } while (0)

#define PREDSTORE_CONCAT_INNER_(a, b) a##b
#define PREDSTORE_CONCAT_(a, b) PREDSTORE_CONCAT_INNER_(a, b)

#define PREDSTORE_ASSIGN_OR_RETURN(lhs, expr) \
  PREDSTORE_ASSIGN_OR_RETURN_IMPL_(PREDSTORE_CONCAT_(predstore_or_, __LINE__), lhs, expr)

#define PREDSTORE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  if (!tmp.ok()) return std::move(tmp).status();         \
  lhs = std::move(tmp).value()
