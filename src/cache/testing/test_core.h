// A CacheCore for in-process protocol tests and fuzzers (and Cmd, a RESP
// request encoder): small memory, a
// ManualClock (time moves only when the test says so), its own metrics.
//
// Thread-safety: not thread-safe; one test thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/server/cache_core.h"
#include "common/metrics.h"
#include "env/clock.h"

namespace strata::cache::testing {

struct TestCore {
  explicit TestCore(CacheOptions options = Small()) : core(options, &clock, &metrics) {
    Status s = core.Open();
    ok = s.ok();
  }
  static CacheOptions Small() {
    CacheOptions o;
    o.memory_bytes = 16ull << 20;
    o.max_value_bytes = 1ull << 20;
    return o;
  }
  ManualClock clock{1'700'000'000'000'000ull};
  MetricsRegistry metrics;
  CacheCore core;
  bool ok = false;
};

// `args` as a RESP array of bulk strings, as clients send commands.
inline std::string Cmd(const std::vector<std::string>& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

}  // namespace strata::cache::testing
