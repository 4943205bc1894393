// HotKeys: finds the hottest keys with a sampled multi-level LRU with
// weights, the structure Tair describes for "intelligent recognition" of hot
// keys (seed 004): a sampled access enters level 0; each further access adds
// its weight (writes weigh more than reads) and a key whose weight passes its
// level's threshold is promoted one level up. When a level is full its least
// recently used key is demoted one level (level 0 drops it), so the keys that
// stay in the top levels are the ones with high weight *and* recent traffic.
//
// Only one request in `sample_every` reaches the structure (a per-thread
// counter, no lock on the others), so the cost on the hot path is one
// increment. Rates are extrapolated from samples over a sliding window.
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "env/clock.h"

namespace strata::cache {

struct HotKeysOptions {
  uint32_t sample_every = 16;
  int levels = 3;
  size_t capacity_per_level = 64;
  uint32_t promote_weight = 8;     // level i promotes at promote_weight << i
  uint64_t window_us = 10'000'000; // rate window
};

struct HotKey {
  std::string key;  // namespace byte + user key
  int level = 0;
  uint64_t weight = 0;
  double reads_per_sec = 0;
  double writes_per_sec = 0;
};

class HotKeys {
 public:
  HotKeys(const Clock* clock, HotKeysOptions options = {});
  // Called for every keyed request (namespace id + user key); samples
  // internally, so the unsampled path costs one thread-local increment.
  void Record(uint8_t ns, std::string_view user_key, bool write);
  // Records unconditionally (tests, and the sampled path).
  void RecordSample(std::string_view key, bool write);
  // The hottest keys first (higher level, then weight).
  std::vector<HotKey> Top(size_t n);

 private:
  struct Node {
    int level = 0;
    uint64_t weight = 0;
    uint64_t reads = 0, writes = 0;           // samples in the current window
    double prev_read_rate = 0, prev_write_rate = 0;
    std::list<std::string>::iterator pos;
  };
  void Touch(const std::string& key, Node& node);
  void Enforce(int level);
  void RollWindow(uint64_t now);

  const Clock* clock_;
  HotKeysOptions opt_;
  std::mutex mu_;
  std::unordered_map<std::string, Node> nodes_;  // GUARDED_BY(mu_)
  std::vector<std::list<std::string>> levels_;   // GUARDED_BY(mu_): front = most recent
  uint64_t window_start_us_;                     // GUARDED_BY(mu_)
};

}  // namespace strata::cache
