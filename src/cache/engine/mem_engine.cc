#include "cache/engine/mem_engine.h"

#include <algorithm>

namespace strata::cache {

Result<std::unique_ptr<MemEngine>> MemEngine::Create(const MemEngineOptions& options, const Clock* clock) {
  if (options.growth_factor < 1.05 || options.growth_factor > 2.0) {
    return Status::InvalidArgument("slab growth factor must be within [1.05, 2]");
  }
  ASSIGN_OR_RETURN(auto pool, PagePool::Create(options.memory_bytes));
  return std::unique_ptr<MemEngine>(new MemEngine(std::move(pool), options, clock));
}

MemEngine::MemEngine(std::unique_ptr<PagePool> pool, const MemEngineOptions& options, const Clock* clock)
    : pool_(std::move(pool)), classes_(options.growth_factor), options_(options), clock_(clock) {
  // At most one shard per 32 pages (a shard needs pages of its own for each
  // size class it uses), at most 64, and no more than asked for.
  uint64_t pages = options.memory_bytes / kPageSize;
  int cap = 1;
  while (cap < 64 && static_cast<uint64_t>(cap) * 2 * 32 <= pages) cap *= 2;
  int n = options.shards > 0 ? std::min(options.shards, cap) : std::min(16, cap);
  int pow2 = 1;
  while (pow2 < n) pow2 *= 2;
  for (int i = 0; i < pow2; i++) {
    shards_.push_back(std::make_unique<MemShard>(pool_.get(), &classes_, clock_, 1));
  }
}

MemEngine::~MemEngine() { shards_.clear(); }

void MemEngine::SetRemovalListener(RemovalListener* l) {
  for (auto& s : shards_) s->set_listener(l);
}

bool MemEngine::Find(std::string_view key, ItemView* out) {
  uint64_t h = HashKey(key);
  return shards_[ShardOfHash(h)]->Find(key, h, NowMs(), out);
}

Result<uint64_t> MemEngine::PutString(std::string_view key, std::span<const std::string_view> pieces,
                                      uint32_t flags, int64_t expire_ms) {
  uint64_t h = HashKey(key);
  return shards_[ShardOfHash(h)]->PutString(key, h, pieces, flags, expire_ms);
}

Status MemEngine::PutObject(std::string_view key, std::unique_ptr<ExternalValue> obj, int64_t expire_ms) {
  uint64_t h = HashKey(key);
  return shards_[ShardOfHash(h)]->PutObject(key, h, std::move(obj), expire_ms);
}

void MemEngine::ObjectChanged(std::string_view key) {
  uint64_t h = HashKey(key);
  shards_[ShardOfHash(h)]->ObjectChanged(key, h);
}

bool MemEngine::Erase(std::string_view key) {
  uint64_t h = HashKey(key);
  ItemView v;
  if (!shards_[ShardOfHash(h)]->Find(key, h, NowMs(), &v)) return false;  // expired counts as absent
  return shards_[ShardOfHash(h)]->Erase(key, h);
}

bool MemEngine::SetExpire(std::string_view key, int64_t expire_ms) {
  uint64_t h = HashKey(key);
  ItemView v;
  if (!shards_[ShardOfHash(h)]->Find(key, h, NowMs(), &v)) return false;
  return shards_[ShardOfHash(h)]->SetExpire(key, h, expire_ms);
}

uint64_t MemEngine::Count(uint8_t ns) {
  uint64_t n = 0;
  for (auto& s : shards_) n += s->ns_items(ns);
  return n;
}

uint64_t MemEngine::NamespaceBytes(uint8_t ns) {
  uint64_t n = 0;
  for (auto& s : shards_) n += s->ns_bytes(ns);
  return n;
}

ExpiryStats MemEngine::Expiries(uint8_t ns) {
  std::vector<const ExpiryTally*> tallies;
  for (auto& s : shards_) tallies.push_back(&s->expiries());
  return SumExpiries(tallies, ns, NowMs());
}

void MemEngine::Flush(int ns) {
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mu());
    s->Flush(ns);
  }
}

// Cursor: shard index in the top 16 bits, the shard's HashIndex::ScanStep
// cursor below. A call moves on through the shards until it has `count`
// keys, as Redis returns about COUNT keys per call (a small keyspace in one
// call). Shard tables start at 1024 buckets, so a small keyspace is sparse:
// a call may visit kScanBuckets empty buckets (4-byte loads, tens of µs)
// besides 16 per key asked for, and stops there.
uint64_t MemEngine::Scan(uint8_t ns, uint64_t cursor, size_t count,
                         const std::function<void(std::string_view, ValueType)>& fn) {
  constexpr size_t kScanBuckets = 16384;
  uint64_t shard = cursor >> 48;
  uint64_t bucket = cursor & ((1ull << 48) - 1);
  size_t budget = kScanBuckets + count * 16;
  size_t emitted = 0;
  auto counted = [&](std::string_view k, ValueType t) {
    emitted++;
    fn(k, t);
  };
  for (; shard < shards_.size(); shard++, bucket = 0) {
    uint64_t next;
    {
      std::lock_guard<std::mutex> lock(shards_[shard]->mu());
      next = shards_[shard]->Scan(ns, bucket, count - emitted, &budget, NowMs(), counted);
    }
    if (next != 0) return (shard << 48) | next;  // stopped within this shard
    if (emitted >= count || budget == 0) break;
  }
  return shard + 1 < shards_.size() ? (shard + 1) << 48 : 0;
}

void MemEngine::Tick() {
  int64_t now = NowMs();
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mu());
    s->ExpireStep(now, options_.expire_buckets_per_tick);
    s->MergeStep(options_.merge_moves_per_tick);
    s->RebalanceStep();
  }
}

std::vector<MemEngine::ClassStats> MemEngine::ClassStatistics() {
  std::vector<ClassStats> out;
  for (int c = 0; c < classes_.count(); c++) {
    out.push_back({c, classes_.ChunkSize(c), classes_.PerPage(c), 0, 0, 0, 0});
  }
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mu());
    for (int c = 0; c < classes_.count(); c++) {
      out[c].pages += s->slab().Class(c).pages.size();
      out[c].used_chunks += s->slab().Class(c).used_chunks;
      out[c].items += s->lru().Count(c);
      out[c].evictions += s->class_evictions(c);
    }
  }
  std::erase_if(out, [](const ClassStats& c) { return c.pages == 0; });
  return out;
}

nlohmann::json MemEngine::Stats() {
  nlohmann::json j;
  uint64_t ev = 0, exp = 0, moved = 0, merged = 0, rebalanced = 0, oom = 0, items = 0, buckets = 0;
  for (auto& s : shards_) {
    const auto& c = s->counters();
    ev += c.evictions.load();
    exp += c.expired_reclaimed.load();
    moved += c.items_moved.load();
    merged += c.pages_merged.load();
    rebalanced += c.pages_rebalanced.load();
    oom += c.oom_errors.load();
    std::lock_guard<std::mutex> lock(s->mu());
    items += s->index().size();
    buckets += s->index().bucket_count();
  }
  j["engine"] = "mem";
  j["shards"] = shards_.size();
  j["limit_bytes"] = pool_->limit_bytes();
  j["used_bytes"] = pool_->used_bytes();
  j["pages"] = pool_->pages_in_use();
  j["external_bytes"] = pool_->external_bytes();
  j["items"] = items;
  j["hash_buckets"] = buckets;
  j["evictions"] = ev;
  j["expired_reclaimed"] = exp;
  j["items_moved"] = moved;
  j["pages_merged"] = merged;
  j["pages_rebalanced"] = rebalanced;
  j["oom_errors"] = oom;
  return j;
}

}  // namespace strata::cache
