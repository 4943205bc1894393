#include "cache/engine/engine.h"

#include <algorithm>

namespace strata::cache {

ExpiryStats SumExpiries(std::span<const ExpiryTally* const> tallies, uint8_t ns, int64_t now_ms) {
  uint64_t keys = 0, sum_s = 0;
  for (const ExpiryTally* t : tallies) {
    keys += t->keys(ns);
    sum_s += t->sum_s(ns);
  }
  ExpiryStats out;
  out.keys = keys;
  if (keys > 0) {
    int64_t mean_ms = static_cast<int64_t>(static_cast<double>(sum_s) / static_cast<double>(keys) * 1000.0);
    out.avg_ttl_ms = std::max<int64_t>(0, mean_ms - now_ms);
  }
  return out;
}

KeyLock::KeyLock(Engine* engine, std::string_view key) : engine_(engine), single_(engine->ShardOf(key)) {
  engine_->ShardMutex(single_).lock();
}

KeyLock::KeyLock(Engine* engine, std::span<const std::string> keys) : engine_(engine), multi_(true) {
  for (const auto& k : keys) shards_.push_back(engine->ShardOf(k));
  std::sort(shards_.begin(), shards_.end());
  shards_.erase(std::unique(shards_.begin(), shards_.end()), shards_.end());
  for (size_t s : shards_) engine_->ShardMutex(s).lock();
}

KeyLock::~KeyLock() {
  if (!multi_) {
    engine_->ShardMutex(single_).unlock();
    return;
  }
  for (auto it = shards_.rbegin(); it != shards_.rend(); ++it) engine_->ShardMutex(*it).unlock();
}

}  // namespace strata::cache
