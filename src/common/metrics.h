// Metrics: counters, gauges and latency histograms, rendered in the Prometheus
// text exposition format for every role's /metrics endpoint.
//
// A MetricsRegistry owns its metrics; callers keep the returned pointers (valid
// for the registry's lifetime) and update them on hot paths without locks
// (atomics). Registration takes a mutex and is meant for startup or for the
// first use of a new label set.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace strata {

namespace metrics_internal {

// Counters and histograms are striped: each thread adds to its own stripe (a
// cache line of its own), and a read sums the stripes. One shared atomic
// updated per request by several threads would bounce its cache line between
// cores on every update (~60 ns each on the 2-core VM, against ~6 ns for an
// uncontended one); a read (a scrape, INFO) is rare and may pay for the sum.
inline constexpr size_t kStripes = 8;
// Threads take stripes round-robin at their first update.
size_t NextStripe();
inline size_t ThisThreadStripe() {
  thread_local const size_t stripe = NextStripe();
  return stripe;
}

}  // namespace metrics_internal

class Counter {
 public:
  void Add(uint64_t n = 1) {
    stripes_[metrics_internal::ThisThreadStripe()].v.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const {
    uint64_t sum = 0;
    for (const auto& s : stripes_) sum += s.v.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) Stripe {
    std::atomic<uint64_t> v{0};
  };
  std::array<Stripe, metrics_internal::kStripes> stripes_;
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d) {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {}
  }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Latency histogram in microseconds with fixed exponential buckets
// (1 us .. ~67 s, factor 2), cheap enough for every request (striped per
// thread like Counter).
class Histogram {
 public:
  static constexpr int kBuckets = 27;
  void Observe(uint64_t micros);
  uint64_t Count() const;
  uint64_t SumMicros() const;
  // Upper bound (us) of the bucket holding quantile q in [0,1]; 0 when empty.
  uint64_t QuantileMicros(double q) const;
  static uint64_t BucketBound(int i) { return uint64_t{1} << i; }
  uint64_t BucketCount(int i) const;

 private:
  struct alignas(64) Stripe {
    std::array<std::atomic<uint64_t>, kBuckets + 1> buckets{};  // last: +Inf
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum{0};
  };
  std::array<Stripe, metrics_internal::kStripes> stripes_;
};

class MetricsRegistry {
 public:
  // `name` is the family (e.g. "strata_chunkserver_appends_total"); `labels`
  // is the rendered label set without braces (e.g. "disk=\"0\""), or empty.
  Counter* GetCounter(const std::string& name, const std::string& help, const std::string& labels = "");
  Gauge* GetGauge(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram* GetHistogram(const std::string& name, const std::string& help, const std::string& labels = "");

  std::string RenderPrometheus() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& GetFamily(const std::string& name, const std::string& help, Kind kind);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // GUARDED_BY(mu_)
};

}  // namespace strata
