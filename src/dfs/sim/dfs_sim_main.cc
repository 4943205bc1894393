// dfs_sim: runs the dfs simulation (dfs_simulation.h) over many seeds.
//
//   dfs_sim [--seeds N] [--seed S] [--steps STEPS] [--trace] [--watch CHUNK] [--log]
//
// Seeds S, S+1, ..., S+N-1 (default 1 and 100). Each failure prints its seed,
// what the oracle found and the end of its trace (all of it with --trace);
// `dfs_sim --seeds 1 --seed S --trace` replays one. The last line is
// `seeds N, failures F`; the exit code is 1 when F > 0. --watch traces every
// change of where one chunk is (on disk, and as the master lists it).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>

#include "dfs/sim/dfs_simulation.h"

namespace {

constexpr size_t kTraceTailLines = 40;

bool ParseCount(const char* text, uint64_t* out) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (!text[0] || *end) return false;
  *out = v;
  return true;
}

int Usage(const char* why) {
  std::fprintf(stderr, "dfs_sim: %s\nusage: dfs_sim [--seeds N] [--seed S] [--steps STEPS] [--trace] [--watch CHUNK] [--log]\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 100, first = 1;
  strata::dfs::sim::DfsSimulationOptions options;
  bool trace = false;
  bool log = false;  // the master's own log, on stderr
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    uint64_t* target = arg == "--seeds"   ? &seeds
                       : arg == "--seed"  ? &first
                       : arg == "--steps" ? &options.fault_steps
                       : arg == "--watch" ? &options.watch_chunk
                                          : nullptr;
    if (target) {
      if (i + 1 >= argc || !ParseCount(argv[i + 1], target)) return Usage((arg + " needs a number").c_str());
      ++i;
    } else if (arg == "--trace") {
      trace = true;
    } else if (arg == "--log") {
      log = true;
    } else {
      return Usage(("unknown argument " + arg).c_str());
    }
  }
  if (!log) spdlog::set_level(spdlog::level::off);  // the trace says what happened
  uint64_t failures = 0, faults = 0, acked = 0;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    options.seed = seed;
    const auto result = strata::dfs::sim::RunDfsSimulation(options);
    faults += result.faults;
    acked += result.acknowledged_chunks;
    if (result.ok && !trace) continue;
    if (!result.ok) {
      failures++;
      std::printf("seed %llu: FAILED at %s\n", static_cast<unsigned long long>(seed), result.failure.c_str());
    }
    const size_t from = trace || result.trace.size() < kTraceTailLines ? 0 : result.trace.size() - kTraceTailLines;
    for (size_t i = from; i < result.trace.size(); ++i) std::printf("  %s\n", result.trace[i].c_str());
    std::fflush(stdout);
  }
  std::printf("faults injected %llu, acknowledged chunks %llu\n", static_cast<unsigned long long>(faults),
              static_cast<unsigned long long>(acked));
  std::printf("seeds %llu, failures %llu\n", static_cast<unsigned long long>(seeds),
              static_cast<unsigned long long>(failures));
  return failures > 0 ? 1 : 0;
}
