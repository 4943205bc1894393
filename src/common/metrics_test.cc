#include "common/metrics.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace strata
