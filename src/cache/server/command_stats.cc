#include "cache/server/command_stats.h"

namespace strata::cache {

namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
}  // namespace

CommandStats::CommandStats() {
  for (Stripe& s : stripes_) s.cells = std::make_unique<Cell[]>(kMaxCommands);
}

void CommandStats::Called(uint32_t id, uint64_t usec, bool failed) {
  if (id >= kMaxCommands) return;
  Cell& c = Mine().cells[id];
  c.calls.fetch_add(1, kRelaxed);
  if (usec) c.usec.fetch_add(usec, kRelaxed);
  if (failed) c.failed.fetch_add(1, kRelaxed);
}

void CommandStats::Rejected(uint32_t id) {
  if (id < kMaxCommands) Mine().cells[id].rejected.fetch_add(1, kRelaxed);
}

void CommandStats::Keyspace(uint64_t hits, uint64_t misses) {
  Stripe& s = Mine();
  if (hits) s.hits.fetch_add(hits, kRelaxed);
  if (misses) s.misses.fetch_add(misses, kRelaxed);
}

CommandStats::Totals CommandStats::Get(uint32_t id) const {
  Totals t;
  if (id >= kMaxCommands) return t;
  for (const Stripe& s : stripes_) {
    const Cell& c = s.cells[id];
    t.calls += c.calls.load(kRelaxed);
    t.usec += c.usec.load(kRelaxed);
    t.rejected += c.rejected.load(kRelaxed);
    t.failed += c.failed.load(kRelaxed);
  }
  return t;
}

uint64_t CommandStats::hits() const {
  uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.hits.load(kRelaxed);
  return n;
}

uint64_t CommandStats::misses() const {
  uint64_t n = 0;
  for (const Stripe& s : stripes_) n += s.misses.load(kRelaxed);
  return n;
}

void CommandStats::Reset() {
  for (Stripe& s : stripes_) {
    s.hits.store(0, kRelaxed);
    s.misses.store(0, kRelaxed);
    for (size_t i = 0; i < kMaxCommands; i++) {
      Cell& c = s.cells[i];
      c.calls.store(0, kRelaxed);
      c.usec.store(0, kRelaxed);
      c.rejected.store(0, kRelaxed);
      c.failed.store(0, kRelaxed);
    }
  }
}

}  // namespace strata::cache
