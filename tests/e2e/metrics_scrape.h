// Reading a server's /metrics in end-to-end tests: one scrape with curl,
// and one sample's value out of it.
#pragma once

#include <cstdlib>
#include <string>

#include "tests/e2e/subprocess.h"

namespace predstore::testing {

// The body of GET /metrics on the HTTP port (empty when curl fails).
inline std::string ScrapeMetrics(int http_port) {
  return RunProgram({"/usr/bin/curl", "-s", "--fail", "http://127.0.0.1:" + std::to_string(http_port) + "/metrics"})
      .out;
}

// The value of the sample `series` (name and labels exactly as exposed) in a
// scrape, or -1 when absent.
inline double SampleOf(const std::string& scrape, const std::string& series) {
  const size_t at = scrape.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::atof(scrape.c_str() + at + series.size() + 2);
}

}  // namespace predstore::testing
