#include "cache/engine/engine.h"

#include <algorithm>

namespace strata::cache {

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
