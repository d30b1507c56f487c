// GoogleTest printers for predstore schema and cell types, so that failed
// expectations and test parameters show readable values.
#pragma once

#include <ostream>

#include "core/table/schema.h"

namespace predstore {

inline void PrintTo(ColumnType type, std::ostream* os) { *os << ColumnTypeName(type); }
inline void PrintTo(const Date& date, std::ostream* os) {
  *os << "Date{" << date.days << " = " << FormatCell(CellView(date)) << "}";
}
inline void PrintTo(const Timestamp& timestamp, std::ostream* os) {
  *os << "Timestamp{" << timestamp.micros << " = " << FormatCell(CellView(timestamp)) << "}";
}
inline void PrintTo(const Null&, std::ostream* os) { *os << "Null"; }
inline void PrintTo(const Column& column, std::ostream* os) {
  *os << column.name << ":" << ColumnTypeName(column.type) << (column.nullable ? "?" : "");
}

}  // namespace predstore
