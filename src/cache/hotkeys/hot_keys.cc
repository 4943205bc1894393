#include "cache/hotkeys/hot_keys.h"

#include <algorithm>

namespace strata::cache {

HotKeys::HotKeys(const Clock* clock, HotKeysOptions options)
    : clock_(clock), opt_(options), levels_(options.levels), window_start_us_(clock->NowMicros()) {}

void HotKeys::Record(uint8_t ns, std::string_view user_key, bool write) {
  thread_local uint32_t counter = 0;
  if (++counter < opt_.sample_every) return;
  counter = 0;
  std::string key;
  key.reserve(user_key.size() + 1);
  key.push_back(static_cast<char>(ns));
  key.append(user_key);
  RecordSample(key, write);
}

void HotKeys::RecordSample(std::string_view key, bool write) {
  std::lock_guard<std::mutex> lock(mu_);
  RollWindow(clock_->NowMicros());
  std::string k(key);
  auto [it, inserted] = nodes_.try_emplace(k);
  Node& node = it->second;
  if (inserted) {
    levels_[0].push_front(k);
    node.pos = levels_[0].begin();
  }
  node.weight += write ? 2 : 1;
  (write ? node.writes : node.reads)++;
  Touch(k, node);
}

void HotKeys::Touch(const std::string& key, Node& node) {
  int from = node.level;
  int to = from;
  if (from + 1 < opt_.levels && node.weight >= (static_cast<uint64_t>(opt_.promote_weight) << from)) to = from + 1;
  levels_[from].erase(node.pos);
  levels_[to].push_front(key);
  node.pos = levels_[to].begin();
  node.level = to;
  Enforce(to);
}

void HotKeys::Enforce(int level) {
  for (int l = level; l >= 0; l--) {
    while (levels_[l].size() > opt_.capacity_per_level) {
      std::string victim = levels_[l].back();
      levels_[l].pop_back();
      Node& n = nodes_[victim];
      if (l == 0) {
        nodes_.erase(victim);
      } else {
        n.level = l - 1;
        n.weight /= 2;
        levels_[l - 1].push_front(victim);
        n.pos = levels_[l - 1].begin();
      }
    }
  }
}

void HotKeys::RollWindow(uint64_t now) {
  if (now - window_start_us_ < opt_.window_us) return;
  double secs = static_cast<double>(now - window_start_us_) / 1e6;
  for (auto& [k, n] : nodes_) {
    n.prev_read_rate = static_cast<double>(n.reads * opt_.sample_every) / secs;
    n.prev_write_rate = static_cast<double>(n.writes * opt_.sample_every) / secs;
    n.reads = n.writes = 0;
    n.weight /= 2;  // decay, so yesterday's hot key can cool down
  }
  window_start_us_ = now;
}

std::vector<HotKey> HotKeys::Top(size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t now = clock_->NowMicros();
  RollWindow(now);
  double secs = std::max(1.0, static_cast<double>(now - window_start_us_) / 1e6);
  std::vector<HotKey> out;
  for (int l = opt_.levels - 1; l >= 0; l--) {
    for (const auto& k : levels_[l]) {
      const Node& node = nodes_[k];
      HotKey h;
      h.key = k;
      h.level = l;
      h.weight = node.weight;
      h.reads_per_sec = std::max(node.prev_read_rate, static_cast<double>(node.reads * opt_.sample_every) / secs);
      h.writes_per_sec = std::max(node.prev_write_rate, static_cast<double>(node.writes * opt_.sample_every) / secs);
      out.push_back(std::move(h));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const HotKey& a, const HotKey& b) {
    if (a.level != b.level) return a.level > b.level;
    return a.weight > b.weight;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace strata::cache
