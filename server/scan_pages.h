// ScanPages cuts one Scan into ScanResponse messages, each produced only
// when asked for, so that a front end sends a message before it reads the
// rows of the next (memory stays one message per scan whatever its size).
// The gRPC Scan stream and the HTTP :scan route both page through it, so
// they send the same messages. Not thread-safe: one caller at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/serve/lookup_service.h"
#include "predstore/v1/predstore.pb.h"

namespace predstore {

class ScanPages {
 public:
  static constexpr uint64_t kRowsPerMessage = 1000;

  // The pages of `request` on the table's active snapshot, its rows bounded
  // by LookupService::LimitScan. kNotFound for an unknown table;
  // kInvalidArgument naming the field of a bad range or page token;
  // kResourceExhausted past --max_scan_rows; kUnavailable below
  // `min_version` (LookupService::Table). `lookups` must outlive them.
  static absl::StatusOr<std::unique_ptr<ScanPages>> Start(const LookupService* lookups,
                                                          const v1::ScanRequest& request, uint64_t min_version);

  // Fills `message` (cleared first) with the next rows. The first message
  // names the key and value columns; every one names the snapshot version;
  // the last carries the scan's stats and, when the limit cut the scan
  // short, the next page token. OK with *last true on the last message; an
  // error when the scan failed (then no further call may be made).
  absl::Status Next(v1::ScanResponse* message, bool* last);

 private:
  ScanPages(const LookupService* lookups, std::shared_ptr<const TableSnapshot> snapshot, ScanQuery query);

  const LookupService* lookups_;
  std::shared_ptr<const TableSnapshot> snapshot_;
  ScanQuery query_;
  std::string resume_;
  uint64_t returned_ = 0;
  bool first_ = true;
  v1::ScanStats stats_;
};

}  // namespace predstore
