#include "common/metrics.h"

#include <bit>
#include <cmath>
#include <sstream>

namespace strata {

size_t metrics_internal::NextStripe() {
  static std::atomic<size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) % kStripes;
}

void Histogram::Observe(uint64_t micros) {
  int idx = micros <= 1 ? 0 : std::bit_width(micros - 1);
  if (idx > kBuckets) idx = kBuckets;
  Stripe& s = stripes_[metrics_internal::ThisThreadStripe()];
  s.buckets[idx].fetch_add(1, std::memory_order_relaxed);
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.sum.fetch_add(micros, std::memory_order_relaxed);
}

uint64_t Histogram::Count() const {
  uint64_t n = 0;
  for (const auto& s : stripes_) n += s.count.load(std::memory_order_relaxed);
  return n;
}

uint64_t Histogram::SumMicros() const {
  uint64_t n = 0;
  for (const auto& s : stripes_) n += s.sum.load(std::memory_order_relaxed);
  return n;
}

uint64_t Histogram::BucketCount(int i) const {
  uint64_t n = 0;
  for (const auto& s : stripes_) n += s.buckets[i].load(std::memory_order_relaxed);
  return n;
}

uint64_t Histogram::QuantileMicros(double q) const {
  uint64_t total = Count();
  if (total == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i <= kBuckets; ++i) {
    seen += BucketCount(i);
    if (seen >= rank) return BucketBound(i);
  }
  return BucketBound(kBuckets);
}

MetricsRegistry::Family& MetricsRegistry::GetFamily(const std::string& name, const std::string& help, Kind kind) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.kind = kind;
    it->second.help = help;
  }
  return it->second;
}

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& slot = GetFamily(name, help, Kind::kCounter).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& slot = GetFamily(name, help, Kind::kGauge).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Histogram* MetricsRegistry::GetHistogram(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& slot = GetFamily(name, help, Kind::kHistogram).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>();
  return slot.get();
}

namespace {
std::string Braced(const std::string& labels, const std::string& extra = "") {
  std::string inner = labels;
  if (!extra.empty()) inner += (inner.empty() ? "" : ",") + extra;
  return inner.empty() ? "" : "{" + inner + "}";
}
}  // namespace

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  for (const auto& [name, fam] : families_) {
    const char* type = fam.kind == Kind::kCounter ? "counter" : fam.kind == Kind::kGauge ? "gauge" : "histogram";
    out << "# HELP " << name << ' ' << fam.help << '\n' << "# TYPE " << name << ' ' << type << '\n';
    for (const auto& [labels, c] : fam.counters) out << name << Braced(labels) << ' ' << c->Value() << '\n';
    for (const auto& [labels, g] : fam.gauges) out << name << Braced(labels) << ' ' << g->Value() << '\n';
    for (const auto& [labels, h] : fam.histograms) {
      uint64_t cumulative = 0;
      for (int i = 0; i < Histogram::kBuckets; ++i) {
        cumulative += h->BucketCount(i);
        double le = static_cast<double>(Histogram::BucketBound(i)) / 1e6;
        std::ostringstream le_s;
        le_s << le;
        out << name << "_bucket" << Braced(labels, "le=\"" + le_s.str() + "\"") << ' ' << cumulative << '\n';
      }
      out << name << "_bucket" << Braced(labels, "le=\"+Inf\"") << ' ' << h->Count() << '\n';
      out << name << "_sum" << Braced(labels) << ' ' << static_cast<double>(h->SumMicros()) / 1e6 << '\n';
      out << name << "_count" << Braced(labels) << ' ' << h->Count() << '\n';
    }
  }
  return out.str();
}

}  // namespace strata
