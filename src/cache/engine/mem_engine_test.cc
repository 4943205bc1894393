// Engine tests: random operations against a std::unordered_map model with
// the same memory-limit semantics (a hit must return the model's value; a miss
// of a key the model holds is only allowed once the engine has evicted).
#include "cache/engine/mem_engine.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "env/random.h"

namespace strata::cache {
namespace {

std::string Key(uint64_t i) { return std::string(1, '\0') + "key:" + std::to_string(i); }

std::string Value(Random& rnd, size_t len) {
  std::string v(len, 'x');
  for (size_t i = 0; i < len; i += 7) v[i] = static_cast<char>('a' + rnd.Uniform(26));
  return v;
}

// Sequential keys of every length the hash has a separate path for must
// spread evenly over shards (high bits) and buckets (low bits).
TEST(HashKey, SpreadsSequentialKeysOverShardsAndBuckets) {
  for (size_t pad : {0, 2, 6, 14, 30, 60}) {
    std::vector<int> shards(16), buckets(1024);
    std::set<uint64_t> seen;
    const int n = 65536;
    for (int i = 0; i < n; i++) {
      std::string k = std::to_string(i) + std::string(pad, 'k');
      uint64_t h = HashKey(k);
      seen.insert(h);
      shards[(h >> 40) & 15]++;
      buckets[h & 1023]++;
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(n)) << pad;
    for (int c : shards) EXPECT_NEAR(c, n / 16, n / 16 / 10) << pad;
    for (int c : buckets) EXPECT_NEAR(c, n / 1024, n / 1024 / 2) << pad;
  }
  EXPECT_NE(HashKey(""), HashKey(std::string(1, '\0')));
  EXPECT_NE(HashKey("ab"), HashKey("ba"));
}

std::unique_ptr<MemEngine> MakeEngine(uint64_t mem, const Clock* clock, int shards = 0) {
  MemEngineOptions o;
  o.memory_bytes = mem;
  o.shards = shards;
  auto r = MemEngine::Create(o, clock);
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

Result<uint64_t> Put(MemEngine* e, const std::string& k, std::string_view v, int64_t exp = 0) {
  KeyLock lock(e, k);
  std::string_view pieces[] = {v};
  return e->PutString(k, pieces, 0, exp);
}

bool Get(MemEngine* e, const std::string& k, std::string* out) {
  KeyLock lock(e, k);
  ItemView v;
  if (!e->Find(k, &v)) return false;
  out->assign(v.value);
  return true;
}

uint64_t Evictions(MemEngine* e) { return e->Stats()["evictions"].get<uint64_t>(); }

TEST(MemEngine, RandomOpsAgainstModel) {
  ManualClock clock;
  auto e = MakeEngine(16 << 20, &clock);
  std::unordered_map<std::string, std::string> model;
  Random rnd(42);
  uint64_t wrong = 0;
  for (int op = 0; op < 1'000'000; op++) {
    std::string k = Key(rnd.Uniform(30000));
    uint64_t kind = rnd.Uniform(100);
    if (kind < 45) {
      size_t len = rnd.Bernoulli(0.001) ? 600'000 : rnd.Uniform(rnd.Bernoulli(0.1) ? 4000 : 200);
      std::string v = Value(rnd, len);
      ASSERT_TRUE(Put(e.get(), k, v).ok()) << op;
      model[k] = v;
    } else if (kind < 90) {
      std::string got;
      bool hit = Get(e.get(), k, &got);
      auto it = model.find(k);
      if (hit) {
        if (it == model.end() || it->second != got) wrong++;
      } else if (it != model.end()) {
        ASSERT_GT(Evictions(e.get()), 0u) << "miss without eviction at op " << op;
        model.erase(it);
      }
    } else {
      KeyLock lock(e.get(), k);
      bool erased = e->Erase(k);
      bool had = model.erase(k) > 0;
      if (erased) {
        ASSERT_TRUE(had);
      }
    }
    ASSERT_LE(e->pool().used_bytes(), e->pool().limit_bytes());
    if (op % 10000 == 0) e->Tick();
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_GT(Evictions(e.get()), 0u);
}

TEST(MemEngine, NoEvictionsBelowLimit) {
  ManualClock clock;
  auto e = MakeEngine(64 << 20, &clock);
  Random rnd(7);
  for (int i = 0; i < 100000; i++) ASSERT_TRUE(Put(e.get(), Key(i), Value(rnd, 100)).ok());
  EXPECT_EQ(Evictions(e.get()), 0u);
  for (int i = 0; i < 100000; i++) {
    std::string got;
    ASSERT_TRUE(Get(e.get(), Key(i), &got)) << i;
  }
}

TEST(MemEngine, ExpiryLazyAndBackground) {
  ManualClock clock;
  auto e = MakeEngine(16 << 20, &clock);
  int64_t now = static_cast<int64_t>(clock.WallMicros() / 1000);
  for (int i = 0; i < 1000; i++) ASSERT_TRUE(Put(e.get(), Key(i), "v", i % 2 ? now + 1000 : 0).ok());
  std::string got;
  EXPECT_TRUE(Get(e.get(), Key(1), &got));
  clock.Advance(1'001'000);
  EXPECT_FALSE(Get(e.get(), Key(1), &got));  // lazy
  EXPECT_TRUE(Get(e.get(), Key(2), &got));
  for (int i = 0; i < 10; i++) e->Tick();     // background crawler
  EXPECT_EQ(e->Count(0), 500u);
  EXPECT_GE(e->Stats()["expired_reclaimed"].get<uint64_t>(), 499u);
}

TEST(MemEngine, PageMergingKeepsItemsReadable) {
  ManualClock clock;
  auto e = MakeEngine(64 << 20, &clock, 1);
  Random rnd(3);
  const int n = 200000;
  for (int i = 0; i < n; i++) ASSERT_TRUE(Put(e.get(), Key(i), Value(rnd, 60)).ok());
  uint64_t pages_before = e->pool().pages_in_use();
  // Delete 90% at random, so every page keeps a few survivors.
  std::unordered_map<std::string, std::string> kept;
  for (int i = 0; i < n; i++) {
    KeyLock lock(e.get(), Key(i));
    if (i % 10 == 3) {
      ItemView v;
      ASSERT_TRUE(e->Find(Key(i), &v));
      kept[Key(i)] = std::string(v.value);
    } else {
      ASSERT_TRUE(e->Erase(Key(i)));
    }
  }
  for (int t = 0; t < 200; t++) e->Tick();
  EXPECT_GT(e->Stats()["pages_merged"].get<uint64_t>(), pages_before / 2);
  EXPECT_LT(e->pool().pages_in_use(), pages_before / 3);
  for (auto& [k, v] : kept) {
    std::string got;
    ASSERT_TRUE(Get(e.get(), k, &got)) << k;
    ASSERT_EQ(got, v);
  }
}

TEST(MemEngine, RebalancingMovesPagesToNewClass) {
  ManualClock clock;
  auto e = MakeEngine(8 << 20, &clock, 1);
  Random rnd(5);
  for (int i = 0; i < 200000; i++) ASSERT_TRUE(Put(e.get(), Key(i), Value(rnd, 50)).ok());
  ASSERT_GT(Evictions(e.get()), 0u);
  // A different size class: it owns no page, so it must take one from the
  // small class instead of failing.
  // The maintenance tick runs between bursts, as it would in real time.
  e->Tick();
  for (int i = 0; i < 2000; i++) {
    ASSERT_TRUE(Put(e.get(), Key(1'000'000 + i), Value(rnd, 3000)).ok()) << i;
    if (i % 50 == 49) e->Tick();
  }
  std::string got;
  int hits = 0;
  for (int i = 1000; i < 2000; i++) hits += Get(e.get(), Key(1'000'000 + i), &got);
  EXPECT_GT(hits, 900);
  EXPECT_GT(e->Stats()["pages_rebalanced"].get<uint64_t>(), 0u);
  EXPECT_LE(e->pool().used_bytes(), e->pool().limit_bytes());
}

TEST(MemEngine, ContainersAreChargedAndRemovedWhenEmpty) {
  ManualClock clock;
  auto e = MakeEngine(16 << 20, &clock);
  std::string k = Key(1);
  {
    KeyLock lock(e.get(), k);
    auto h = std::make_unique<HashObject>();
    h->Set("f", "v");
    ASSERT_TRUE(e->PutObject(k, std::move(h), 0).ok());
    ItemView v;
    ASSERT_TRUE(e->Find(k, &v));
    ASSERT_EQ(v.type, ValueType::kHash);
    auto* obj = static_cast<HashObject*>(v.object);
    for (int i = 0; i < 1000; i++) obj->Set("field" + std::to_string(i), std::string(100, 'x'));
    e->ObjectChanged(k);
  }
  EXPECT_GT(e->pool().external_bytes(), 100000u);
  {
    KeyLock lock(e.get(), k);
    ItemView v;
    ASSERT_TRUE(e->Find(k, &v));
    auto* obj = static_cast<HashObject*>(v.object);
    std::vector<std::string> fields;
    for (auto& [f, _] : obj->map()) fields.push_back(f);
    for (auto& f : fields) obj->Del(f);
    e->ObjectChanged(k);
    EXPECT_FALSE(e->Find(k, &v));
  }
  EXPECT_EQ(e->pool().external_bytes(), 0u);
}

TEST(MemEngine, ScanVisitsEveryKeyOfNamespace) {
  ManualClock clock;
  auto e = MakeEngine(32 << 20, &clock);
  for (int i = 0; i < 5000; i++) ASSERT_TRUE(Put(e.get(), Key(i), "v").ok());
  ASSERT_TRUE(Put(e.get(), std::string(1, '\1') + "other", "v").ok());
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int rounds = 0;
  do {
    cursor = e->Scan(0, cursor, 100, [&](std::string_view k, ValueType) { seen.emplace(k); });
    ASSERT_LT(++rounds, 100000);
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 5000u);
}

// COUNT is honoured across shards: a keyspace smaller than COUNT comes back
// whole in one call, as from Redis.
TEST(MemEngine, ScanOfASmallKeyspaceTakesOneCall) {
  ManualClock clock;
  auto e = MakeEngine(256 << 20, &clock, 8);
  ASSERT_GT(e->ShardCount(), 1u);
  for (int i = 0; i < 6; i++) ASSERT_TRUE(Put(e.get(), Key(i), "v").ok());
  std::set<std::string> seen;
  uint64_t cursor = e->Scan(0, 0, 100, [&](std::string_view k, ValueType) { seen.emplace(k); });
  EXPECT_EQ(cursor, 0u);
  EXPECT_EQ(seen.size(), 6u);
}

// About COUNT keys per call: 55 keys with COUNT 10 in about 6 calls (the
// sparse shard tables used to cost one call per few hundred buckets).
TEST(MemEngine, ScanReturnsAboutCountKeysPerCall) {
  ManualClock clock;
  auto e = MakeEngine(256 << 20, &clock);
  ASSERT_GT(e->ShardCount(), 1u);
  for (int i = 0; i < 55; i++) ASSERT_TRUE(Put(e.get(), Key(i), "v").ok());
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0;
  do {
    cursor = e->Scan(0, cursor, 10, [&](std::string_view k, ValueType) { seen.emplace(k); });
    calls++;
    ASSERT_LT(calls, 1000);
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 55u);
  EXPECT_LE(calls, 8);
}

// Keys present for the whole scan are all returned although the tables
// double (several times) between calls.
TEST(MemEngine, ScanMissesNoKeyWhileTablesGrow) {
  ManualClock clock;
  auto e = MakeEngine(64 << 20, &clock, 2);
  for (int i = 0; i < 3000; i++) ASSERT_TRUE(Put(e.get(), Key(i), "v").ok());
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0, added = 3000;
  do {
    cursor = e->Scan(0, cursor, 50, [&](std::string_view k, ValueType) { seen.emplace(k); });
    for (int j = 0; j < 400 && added < 40000; j++) ASSERT_TRUE(Put(e.get(), Key(added++), "v").ok());
    ASSERT_LT(++calls, 100000);
  } while (cursor != 0);
  for (int i = 0; i < 3000; i++) ASSERT_TRUE(seen.count(Key(i).substr(1))) << i;
}

}  // namespace
}  // namespace strata::cache
