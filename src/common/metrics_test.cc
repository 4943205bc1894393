#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace strata {
namespace {

TEST(MetricsTest, RendersPrometheusText) {
  MetricsRegistry reg;
  reg.GetCounter("strata_x_total", "things", "disk=\"0\"")->Add(3);
  reg.GetGauge("strata_y", "level")->Set(1.5);
  auto* h = reg.GetHistogram("strata_lat_seconds", "latency");
  h->Observe(100);
  h->Observe(3000);
  std::string text = reg.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE strata_x_total counter"), std::string::npos);
  EXPECT_NE(text.find("strata_x_total{disk=\"0\"} 3"), std::string::npos);
  EXPECT_NE(text.find("strata_y 1.5"), std::string::npos);
  EXPECT_NE(text.find("strata_lat_seconds_count 2"), std::string::npos);
  EXPECT_NE(text.find("strata_lat_seconds_bucket{le=\"+Inf\"} 2"), std::string::npos);
}

TEST(MetricsTest, SameNameSameObject) {
  MetricsRegistry reg;
  EXPECT_EQ(reg.GetCounter("a", "h"), reg.GetCounter("a", "h"));
  EXPECT_NE(reg.GetCounter("a", "h", "x=\"1\""), reg.GetCounter("a", "h"));
}

TEST(HistogramTest, Quantiles) {
  Histogram h;
  EXPECT_EQ(h.QuantileMicros(0.5), 0u);
  for (int i = 0; i < 99; ++i) h.Observe(10);
  h.Observe(100000);
  EXPECT_EQ(h.QuantileMicros(0.5), 16u);
  EXPECT_EQ(h.QuantileMicros(1.0), 131072u);
}

TEST(MetricsTest, StripedUpdatesFromManyThreadsAddUp) {
  Counter c;
  Histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {  // more threads than stripes: some share one
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Add(2);
        h.Observe(5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 240000u);
  EXPECT_EQ(h.Count(), 120000u);
  EXPECT_EQ(h.SumMicros(), 600000u);
  EXPECT_EQ(h.BucketCount(3), 120000u);  // 5 us falls in (4, 8]
  EXPECT_EQ(h.QuantileMicros(0.99), 8u);
}

}  // namespace
}  // namespace strata
