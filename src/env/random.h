// Random: the only source of randomness (placement draws, jitter, sampling,
// tests). Code that draws takes a Random from its caller, and tests seed it,
// so a run is the same for a given seed.
//
// Thread-safety: a Random is NOT thread-safe; give each thread its own.
#pragma once

#include <cstdint>
#include <random>

namespace strata {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  uint64_t Next64() { return engine_(); }
  // Uniform in [0, n); n > 0.
  uint64_t Uniform(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(engine_); }
  // True with probability p.
  bool Bernoulli(double p) { return std::uniform_real_distribution<double>(0, 1)(engine_) < p; }
  void Fill(void* buf, size_t n);

 private:
  std::mt19937_64 engine_;
};

// A seed from the OS, for production code that wants variety.
uint64_t RandomSeedFromOs();

}  // namespace strata
