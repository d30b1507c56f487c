#include "loader/prediction_events.h"

#include <memory>
#include <span>
#include <vector>

#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/ingest/row_encoder.h"
#include "proto/wire_values.h"

namespace predstore {

absl::Status SendPredictionFile(const PredictionFile& file, const Schema& schema, EventIngester* ingester,
                                IgnoredFields* ignored) {
  PREDSTORE_ASSIGN_OR_RETURN(std::unique_ptr<RecordReader> reader,
                             OpenRecordReader(file.path, file.format, schema, file.options));
  std::vector<std::string> ignored_names = reader->ignored_columns();
  ignored->Note(&ignored_names);
  RowEncoder rows(schema);
  const std::vector<Column>& lookup = schema.lookup_columns();
  const std::vector<Column>& values = schema.value_columns();
  for (;;) {
    PREDSTORE_ASSIGN_OR_RETURN(bool has_record, reader->Next());
    if (!has_record) return absl::OkStatus();
    if (reader->line() <= file.skip_through) continue;
    if (absl::Status valid = rows.Parse(*reader); !valid.ok()) {
      PREDSTORE_RETURN_IF_ERROR(ingester->Finish());  // commit the rows before it, then stop
      return valid;
    }
    v1::StreamEvent event;
    event.set_event_time_micros(file.event_time_micros);
    const std::span<const Cell> cells = rows.cells();
    for (size_t i = 0; i < lookup.size(); ++i) {
      v1::KeyField* key = event.add_key();
      key->set_column(lookup[i].name);
      CellToWire(ViewOf(cells[i]), key->mutable_value());
    }
    for (size_t i = 0; i < values.size(); ++i) {
      v1::KeyField* value = event.add_values();
      value->set_column(values[i].name);
      CellToWire(ViewOf(cells[lookup.size() + i]), value->mutable_value());
    }
    PREDSTORE_RETURN_IF_ERROR(ingester->Add(std::move(event), StrCat(file.position_prefix, reader->line())));
  }
}

}  // namespace predstore
