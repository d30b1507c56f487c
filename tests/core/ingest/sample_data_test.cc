#include "core/ingest/sample_data.h"

#include "gtest/gtest.h"

namespace predstore {
namespace {

TEST(SampleData, SampleIndexOfInvertsSampleKeyAt) {
  for (const SampleOptions& options : {SampleOptions{}, SampleOptions{.items = 3, .horizons = 7}}) {
    for (uint64_t index = 0; index < 5000; ++index) {
      const SampleKey key = SampleKeyAt(options, index);
      ASSERT_EQ(SampleIndexOf(options, key), index) << "store " << key.store_id << " item " << key.item_id
                                                    << " horizon " << key.horizon_days;
    }
  }
  // Keys past the sample's rows map to indexes past them.
  EXPECT_EQ(SampleIndexOf(SampleOptions{}, {2, kSampleFirstItemId, 1}), 500u * 14u);
}

}  // namespace
}  // namespace predstore
