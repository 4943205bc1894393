#include "dfs/master/outlier.h"

#include <algorithm>

namespace strata::dfs::master {

uint64_t UpperMedian(std::vector<uint64_t> v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

uint64_t LowerMedian(std::vector<uint64_t> v) {
  if (v.empty()) return 0;
  auto mid = v.begin() + static_cast<std::ptrdiff_t>((v.size() - 1) / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

std::optional<RobustBaseline> MakeBaseline(std::vector<uint64_t> samples, size_t samples_min) {
  if (samples.empty() || samples.size() < samples_min) return std::nullopt;
  RobustBaseline b;
  b.samples = samples.size();
  // Lower medians: with an even count split between fast and slow peers
  // (half the disks slow at once) the baseline is the fast half, so the
  // slow half is seen, and then limited by the bound, with an alert.
  b.median_us = LowerMedian(samples);
  for (uint64_t& x : samples) x = x > b.median_us ? x - b.median_us : b.median_us - x;
  b.mad_us = std::max(LowerMedian(std::move(samples)), b.median_us / 2);
  return b;
}

bool IsOutlier(uint64_t value_us, const RobustBaseline& baseline, uint64_t floor_us, double mad_k) {
  double limit = static_cast<double>(baseline.median_us) + mad_k * static_cast<double>(baseline.mad_us);
  return value_us >= floor_us && static_cast<double>(value_us) > limit;
}

}  // namespace strata::dfs::master
