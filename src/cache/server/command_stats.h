// CommandStats: the counts behind INFO commandstats (calls, time, rejected
// and failed calls per command) and INFO stats' keyspace_hits and
// keyspace_misses.
//
// Every command updates them, so they are striped as common/metrics.h's
// counters: a worker adds to its own stripe (relaxed atomics on memory no
// other thread writes, unless there are more threads than stripes) and INFO
// sums the stripes. Commands are numbered by the command table
// (CommandSpec::id, below kMaxCommands).
//
// Thread-safety: all methods, any thread. Reset (CONFIG RESETSTAT) races
// with concurrent updates the way Redis's does: a count in flight may
// survive it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "common/metrics.h"

namespace strata::cache {

class CommandStats {
 public:
  static constexpr size_t kMaxCommands = 512;
  struct Totals {
    uint64_t calls = 0;
    uint64_t usec = 0;
    uint64_t rejected = 0;  // refused before running (arity, NOAUTH, limits)
    uint64_t failed = 0;    // ran and answered an error
  };

  CommandStats();
  // REQUIRES: id < kMaxCommands (ids beyond are ignored).
  void Called(uint32_t id, uint64_t usec, bool failed);
  void Rejected(uint32_t id);
  void Keyspace(uint64_t hits, uint64_t misses);

  Totals Get(uint32_t id) const;
  uint64_t hits() const;
  uint64_t misses() const;
  void Reset();

 private:
  struct Cell {
    std::atomic<uint64_t> calls{0}, usec{0}, rejected{0}, failed{0};
  };
  struct alignas(64) Stripe {
    std::unique_ptr<Cell[]> cells;
    std::atomic<uint64_t> hits{0}, misses{0};
  };
  Stripe& Mine() { return stripes_[metrics_internal::ThisThreadStripe()]; }

  std::array<Stripe, metrics_internal::kStripes> stripes_;
};

}  // namespace strata::cache
