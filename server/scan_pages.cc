#include "server/scan_pages.h"

#include <algorithm>
#include <span>

#include "core/base/status_macros.h"
#include "server/wire.h"

namespace predstore {

absl::StatusOr<std::unique_ptr<ScanPages>> ScanPages::Start(const LookupService* lookups,
                                                            const v1::ScanRequest& request, uint64_t min_version) {
  PREDSTORE_ASSIGN_OR_RETURN(std::shared_ptr<const TableSnapshot> snapshot,
                             lookups->Table(request.table(), min_version));
  PREDSTORE_ASSIGN_OR_RETURN(ScanQuery query, ScanQueryFromWire(request, snapshot->schema()));
  PREDSTORE_RETURN_IF_ERROR(lookups->LimitScan(&query));
  return std::unique_ptr<ScanPages>(new ScanPages(lookups, std::move(snapshot), std::move(query)));
}

ScanPages::ScanPages(const LookupService* lookups, std::shared_ptr<const TableSnapshot> snapshot, ScanQuery query)
    : lookups_(lookups), snapshot_(std::move(snapshot)), query_(std::move(query)), resume_(query_.resume_after) {}

absl::Status ScanPages::Next(v1::ScanResponse* message, bool* last) {
  const TableSnapshot& table = *snapshot_;
  message->Clear();
  message->set_snapshot_version(table.version());
  if (first_) {
    for (const Column& c : table.schema().lookup_columns()) message->add_key_columns(c.name);
    for (const Column& c : table.schema().value_columns()) message->add_value_columns(c.name);
    first_ = false;
  }
  ScanQuery chunk = query_;
  chunk.resume_after = resume_;
  chunk.limit = query_.limit ? std::min(kRowsPerMessage, query_.limit - returned_) : kRowsPerMessage;
  absl::Status row_status;
  auto result = lookups_->Scan(table, chunk, [&](std::span<const Cell> key, std::string_view values) {
    v1::ScanRow* row = message->add_rows();
    for (const Cell& cell : key) CellToWire(ViewOf(cell), row->add_key());
    absl::Status s =
        table.value_codec().ForEach(values, [row](size_t, const CellView& v) { CellToWire(v, row->add_values()); });
    if (!s.ok()) row_status = s;
  });
  if (!result.ok()) return result.status();
  if (!row_status.ok()) return row_status;
  const ScanStats& s = result->stats;
  stats_.set_keys_examined(stats_.keys_examined() + s.keys_examined);
  stats_.set_rows_returned(stats_.rows_returned() + s.rows_returned);
  stats_.set_seeks(stats_.seeks() + s.seeks);
  stats_.set_data_blocks_read(stats_.data_blocks_read() + s.data_blocks_read);
  stats_.set_data_blocks_cached(stats_.data_blocks_cached() + s.data_blocks_cached);
  stats_.set_partitions_visited(std::max<uint64_t>(stats_.partitions_visited(), s.parts_visited));
  stats_.set_elapsed_micros(stats_.elapsed_micros() + static_cast<uint64_t>(s.seconds * 1e6));
  returned_ += s.rows_returned;
  const bool exhausted = result->resume_after.empty();
  const bool limit_reached = query_.limit && returned_ >= query_.limit;
  *last = exhausted || limit_reached;
  if (*last) {
    if (!exhausted) message->set_next_page_token(result->resume_after);
    *message->mutable_stats() = stats_;
  } else {
    resume_ = std::move(result->resume_after);
  }
  return absl::OkStatus();
}

}  // namespace predstore
