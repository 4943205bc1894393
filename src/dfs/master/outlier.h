// Robust statistics for the fail-slow detectors (soft_fault.h for disks,
// slow_server.h for whole chunkservers) and the recovery throttle.
//
// A latency is an outlier when it is above an absolute floor and above
// median + k * MAD of its peers (lower medians, so that when exactly half
// the peers are slow the baseline is the fast half) (MAD: the median absolute deviation, a
// robust spread estimate, so a few slow peers cannot drag the baseline with
// them; Hampel's identifier, see Leys et al., "Detecting outliers: Do not
// use standard deviation around the mean", J. Exp. Soc. Psych. 2013). The
// MAD is floored at half the median: heartbeats report p99s in power-of-two
// histogram buckets, so a uniform cluster often has a MAD of 0 and one
// bucket of noise would otherwise look like an outlier. With k = 6 a value
// must then be more than 4x the median. Because both the median and the MAD
// scale with the cluster, a cluster that is uniformly slow (busy) flags
// nothing, however slow it is.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace strata::dfs::master {

struct RobustBaseline {
  uint64_t median_us = 0;
  uint64_t mad_us = 0;  // floored at median_us / 2
  size_t samples = 0;
};

// v[n/2] of the sorted values (the upper median); 0 for no values.
uint64_t UpperMedian(std::vector<uint64_t> v);
// v[(n-1)/2] of the sorted values (the lower median); 0 for no values. A
// group's lower median is slow only when a strict majority of it is slow.
uint64_t LowerMedian(std::vector<uint64_t> v);

// The baseline of `samples`, or nullopt with fewer than max(1, samples_min).
std::optional<RobustBaseline> MakeBaseline(std::vector<uint64_t> samples, size_t samples_min);

// True when `value_us` >= `floor_us` and > median + k * MAD.
bool IsOutlier(uint64_t value_us, const RobustBaseline& baseline, uint64_t floor_us, double mad_k);

}  // namespace strata::dfs::master
