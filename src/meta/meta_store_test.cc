// The MetaStore conformance suite: every test of MetaStoreTest runs against
// each backend (Memory, RocksDB, etcd), so they all keep one contract. The
// etcd backend runs against a real etcd process (one per test process, each
// test under its own key prefix, with small scan pages so that paging is
// exercised everywhere). Backend-specific tests follow the suite.
#include "meta/meta_store.h"

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/subprocess.h"
#include "meta/etcd_meta_store.h"
#include "meta/memory_meta_store.h"
#include "meta/rocksdb_meta_store.h"
#include "meta/testing/etcd_cluster.h"

namespace strata::meta {
namespace {

namespace fs = std::filesystem;
using testing::EtcdCluster;

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("strata_meta_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string TestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }


std::unique_ptr<EtcdMetaStore> OpenEtcd(std::vector<std::string> endpoints, std::string prefix,
                                        size_t page_keys = 16, int timeout_ms = 2000) {
  EtcdMetaStoreOptions o;
  o.endpoints = std::move(endpoints);
  o.key_prefix = std::move(prefix);
  o.scan_page_keys = page_keys;
  o.request_timeout_ms = timeout_ms;
  auto r = EtcdMetaStore::Open(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

enum class Backend { kMemory, kRocksDb, kEtcd };

std::vector<std::string> Keys(MetaStore& store, std::string_view prefix) {
  std::vector<std::string> keys;
  Status st = store.ScanPrefix(prefix, [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return keys;
}

class MetaStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case Backend::kMemory:
        store_ = std::make_unique<MemoryMetaStore>();
        break;
      case Backend::kRocksDb: {
        dir_ = TempDir(TestName());
        auto r = RocksDbMetaStore::Open(dir_.string());
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        store_ = std::move(r).value();
        break;
      }
      case Backend::kEtcd: {
        EtcdCluster* etcd = testing::SharedEtcdCluster();
        ASSERT_NE(etcd, nullptr);
        store_ = OpenEtcd(etcd->ClientUrls(), "test/" + TestName() + "/");
        ASSERT_NE(store_, nullptr);
        break;
      }
    }
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::vector<std::string> Keys(std::string_view prefix) { return meta::Keys(*store_, prefix); }
  // Writes `n` keys "<prefix><i, 5 digits>" in batches of 100 (within every
  // backend's transaction limit).
  void Fill(const std::string& prefix, int n) {
    WriteBatch b;
    for (int i = 0; i < n; ++i) {
      char key[16];
      std::snprintf(key, sizeof(key), "%05d", i);
      b.Put(prefix + key, "v" + std::to_string(i));
      if (b.size() == 100 || i == n - 1) {
        ASSERT_TRUE(store_->Write(b).ok());
        b.Clear();
      }
    }
  }
  fs::path dir_;
  std::unique_ptr<MetaStore> store_;
};

TEST_P(MetaStoreTest, PutGetDelete) {
  EXPECT_EQ(store_->Get("a").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->Put("a", "1").ok());
  EXPECT_EQ(*store_->Get("a"), "1");
  ASSERT_TRUE(store_->Put("a", "2").ok());
  EXPECT_EQ(*store_->Get("a"), "2");
  ASSERT_TRUE(store_->Delete("a").ok());
  EXPECT_FALSE(store_->Get("a").ok());
  EXPECT_TRUE(store_->Delete("absent").ok());
}

TEST_P(MetaStoreTest, BinaryKeysAndValues) {
  std::string key("k\0x", 3), value("\0\1\2", 3);
  ASSERT_TRUE(store_->Put(key, value).ok());
  EXPECT_EQ(*store_->Get(key), value);
}

TEST_P(MetaStoreTest, NulAndFfBytesSortBytewise) {
  const std::vector<std::string> keys = {std::string("\0", 1), std::string("\0\0", 2), std::string("a\0b", 3),
                                         "a", "a\x7f", "a\x80", "a\xff", std::string("a\xff\0", 3), "\xff",
                                         "\xff\xff"};
  for (const auto& k : keys) {
    std::string value = std::string("\0\xff", 2) + k + std::string("\xff\0", 2);
    ASSERT_TRUE(store_->Put(k, value).ok());
  }
  for (const auto& k : keys) {
    auto v = store_->Get(k);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(*v, std::string("\0\xff", 2) + k + std::string("\xff\0", 2));
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());  // char_traits<char> compares as unsigned bytes
  EXPECT_EQ(Keys(""), sorted);
  EXPECT_EQ(Keys(std::string("\0", 1)), (std::vector<std::string>{std::string("\0", 1), std::string("\0\0", 2)}));
}

TEST_P(MetaStoreTest, PrefixEndingInFf) {
  for (auto k : {"p\xfe", "p\xff", "p\xff\x01", "p\xff\xff", "p\xff\xffz", "q", "\xff", "\xff\xff", "\xff\xffz"}) {
    ASSERT_TRUE(store_->Put(k, "v").ok());
  }
  ASSERT_TRUE(store_->Put(std::string("p\xff\0", 3), "v").ok());
  EXPECT_EQ(Keys("p\xff"), (std::vector<std::string>{"p\xff", std::string("p\xff\0", 3), "p\xff\x01", "p\xff\xff",
                                                     "p\xff\xffz"}));
  EXPECT_EQ(Keys("p\xff\xff"), (std::vector<std::string>{"p\xff\xff", "p\xff\xffz"}));
  EXPECT_EQ(Keys("\xff"), (std::vector<std::string>{"\xff", "\xff\xff", "\xff\xffz"}));
  EXPECT_EQ(Keys("\xff\xff\xff"), std::vector<std::string>{});
}

TEST_P(MetaStoreTest, BatchAppliesInOrder) {
  WriteBatch b;
  b.Put("x/1", "a");
  b.Put("x/2", "b");
  b.Delete("x/1");
  b.Put("x/3", "c");
  ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_EQ(Keys("x/"), (std::vector<std::string>{"x/2", "x/3"}));
}

TEST_P(MetaStoreTest, BatchLastOperationOnAKeyWins) {
  ASSERT_TRUE(store_->Put("k/del-then-put", "old").ok());
  ASSERT_TRUE(store_->Put("k/put-then-del", "old").ok());
  WriteBatch b;
  b.Delete("k/del-then-put");
  b.Put("k/del-then-put", "new");
  b.Put("k/put-then-del", "new");
  b.Delete("k/put-then-del");
  for (int i = 0; i < 50; ++i) b.Put("k/many", std::to_string(i));
  ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_EQ(*store_->Get("k/del-then-put"), "new");
  EXPECT_EQ(store_->Get("k/put-then-del").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*store_->Get("k/many"), "49");
  EXPECT_TRUE(store_->Write(WriteBatch()).ok());
}

TEST_P(MetaStoreTest, BatchWithinEtcdLimitsIsApplied) {
  WriteBatch b;
  for (int i = 0; i < 128; ++i) b.Put("b/" + std::to_string(1000 + i), std::string(1000, char('a' + i % 26)));
  ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_EQ(Keys("b/").size(), 128u);
  EXPECT_EQ(*store_->Get("b/1127"), std::string(1000, char('a' + 127 % 26)));
}

// A batch beyond a backend's limits is either applied whole or refused whole.
TEST_P(MetaStoreTest, LargeBatchIsAllOrNothing) {
  ASSERT_TRUE(store_->Put("L/00000", "before").ok());
  WriteBatch b;
  for (int i = 0; i < 1000; ++i) b.Put("L/" + std::to_string(10000 + i), "v");
  b.Delete("L/00000");
  Status st = store_->Write(b);
  if (st.ok()) {
    EXPECT_EQ(Keys("L/").size(), 1000u);
  } else {
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_EQ(Keys("L/"), std::vector<std::string>{"L/00000"});
  }
  WriteBatch big;  // 2 MiB of values in one batch
  big.Put("L/big1", std::string(1 << 20, 'x'));
  big.Put("L/big2", std::string(1 << 20, 'y'));
  st = store_->Write(big);
  if (st.ok()) {
    EXPECT_EQ(store_->Get("L/big2")->size(), size_t(1) << 20);
  } else {
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_EQ(store_->Get("L/big1").status().code(), StatusCode::kNotFound);
  }
}

TEST_P(MetaStoreTest, PrefixScanIsOrderedAndBounded) {
  for (auto k : {"b/2", "a/1", "b/1", "c/0", "b/10"}) ASSERT_TRUE(store_->Put(k, "v").ok());
  EXPECT_EQ(Keys("b/"), (std::vector<std::string>{"b/1", "b/10", "b/2"}));
  int seen = 0;
  ASSERT_TRUE(store_->ScanPrefix("", [&](std::string_view, std::string_view) { return ++seen < 2; }).ok());
  EXPECT_EQ(seen, 2);
}

TEST_P(MetaStoreTest, ScanOfManyKeysSpansPages) {
  Fill("m/", 1000);  // the etcd backend reads 16 keys a page here: 63 pages
  ASSERT_TRUE(store_->Put("m", "outside").ok());
  ASSERT_TRUE(store_->Put("n/0", "outside").ok());
  int i = 0;
  bool in_order = true;
  ASSERT_TRUE(store_->ScanPrefix("m/", [&](std::string_view k, std::string_view v) {
    char want[16];
    std::snprintf(want, sizeof(want), "m/%05d", i);
    in_order = in_order && k == want && v == "v" + std::to_string(i);
    ++i;
    return true;
  }).ok());
  EXPECT_EQ(i, 1000);
  EXPECT_TRUE(in_order);
  int seen = 0;  // stopping in the middle of a later page
  ASSERT_TRUE(store_->ScanPrefix("m/", [&](std::string_view, std::string_view) { return ++seen < 100; }).ok());
  EXPECT_EQ(seen, 100);
}

INSTANTIATE_TEST_SUITE_P(Backends, MetaStoreTest,
                         ::testing::Values(Backend::kMemory, Backend::kRocksDb, Backend::kEtcd),
                         [](const auto& info) {
                           switch (info.param) {
                             case Backend::kMemory: return "Memory";
                             case Backend::kRocksDb: return "RocksDb";
                             case Backend::kEtcd: return "Etcd";
                           }
                           return "Unknown";
                         });

TEST(RocksDbMetaStoreTest, SurvivesReopen) {
  fs::path dir = TempDir("reopen");
  {
    auto store = RocksDbMetaStore::Open(dir.string());
    ASSERT_TRUE(store.ok());
    WriteBatch b;
    b.Put("k1", "v1");
    b.Put("k2", "v2");
    ASSERT_TRUE((*store)->Write(b).ok());
    ASSERT_TRUE((*store)->Delete("k1").ok());
  }
  auto store = RocksDbMetaStore::Open(dir.string());
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE((*store)->Get("k1").ok());
  EXPECT_EQ(*(*store)->Get("k2"), "v2");
  store->reset();
  fs::remove_all(dir);
}

TEST(RocksDbMetaStoreTest, OpenFailureIsAStatus) {
  auto store = RocksDbMetaStore::Open("/proc/strata-cannot-create-this");
  EXPECT_FALSE(store.ok());
}

// --- etcd-specific ---

std::string DeadEndpoint() {
  auto port = PickFreePort("127.0.0.1");
  EXPECT_TRUE(port.ok());
  return "127.0.0.1:" + std::to_string(port.ok() ? *port : 1);
}

TEST(EtcdMetaStoreTest, OpenNeedsAnEndpoint) {
  EXPECT_EQ(EtcdMetaStore::Open({}).status().code(), StatusCode::kInvalidArgument);
  EtcdMetaStoreOptions o;
  o.endpoints = {"https://127.0.0.1:2379"};
  EXPECT_EQ(EtcdMetaStore::Open(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(EtcdMetaStoreTest, UnreachableIsUnavailableNamingTheEndpoints) {
  std::string a = DeadEndpoint(), b = DeadEndpoint();
  auto store = OpenEtcd({a, b}, "x/", 16, 1000);
  ASSERT_NE(store, nullptr);
  for (Status st : {store->Put("k", "v"), store->Get("k").status(), store->Delete("k"),
                    store->ScanPrefix("", [](auto, auto) { return true; })}) {
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
    EXPECT_TRUE(st.retryable());
    EXPECT_NE(st.message().find(a), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(b), std::string::npos) << st.message();
  }
}

TEST(EtcdMetaStoreTest, FailsOverToTheNextEndpoint) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto store = OpenEtcd({DeadEndpoint(), etcd->ClientUrl(0)}, "failover/");
  ASSERT_TRUE(store->Put("k", "v").ok());
  EXPECT_EQ(*store->Get("k"), "v");
}

TEST(EtcdMetaStoreTest, PrefixesAreSeparateNamespaces) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto a = OpenEtcd(etcd->ClientUrls(), "ns/a/");
  auto ab = OpenEtcd(etcd->ClientUrls(), "ns/ab/");
  ASSERT_TRUE(a->Put("1", "in a").ok());
  ASSERT_TRUE(ab->Put("1", "in ab").ok());
  EXPECT_EQ(*a->Get("1"), "in a");
  EXPECT_EQ(*ab->Get("1"), "in ab");
  EXPECT_EQ(Keys(*a, ""), std::vector<std::string>{"1"});
  EXPECT_EQ(Keys(*ab, ""), std::vector<std::string>{"1"});
  ASSERT_TRUE(a->Delete("1").ok());
  EXPECT_EQ(*ab->Get("1"), "in ab");
}

TEST(EtcdMetaStoreTest, BatchOverTheTxnLimitIsRefusedWhole) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto store = OpenEtcd(etcd->ClientUrls(), "txnlimit/");
  WriteBatch b;
  for (int i = 0; i < 129; ++i) b.Put("k" + std::to_string(i), "v");
  Status st = store->Write(b);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("128"), std::string::npos) << st.message();
  EXPECT_TRUE(Keys(*store, "").empty());
  WriteBatch over_bytes;
  over_bytes.Put("big", std::string(1536 * 1024, 'x'));
  st = store->Write(over_bytes);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("max-request-bytes"), std::string::npos) << st.message();
  WriteBatch fits;
  fits.Put("big", std::string(1400 * 1024, 'x'));
  st = store->Write(fits);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(EtcdMetaStoreTest, WriteIfComparesRevisions) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto store = OpenEtcd(etcd->ClientUrls(), "writeif/");
  using T = EtcdCompare::Target;
  WriteBatch claim;
  claim.Put("leader", "m1");
  // Create-if-absent: only the first claim wins.
  auto rev = store->WriteIf({{T::kCreateRevision, "leader", 0}}, claim);
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(store->last_write_revision(), *rev);
  auto again = store->WriteIf({{T::kCreateRevision, "leader", 0}}, claim);
  EXPECT_EQ(again.status().code(), StatusCode::kAborted);
  auto kv = store->GetWithRevision("leader");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->value, "m1");
  EXPECT_EQ(kv->create_revision, *rev);
  EXPECT_EQ(kv->mod_revision, *rev);
  EXPECT_EQ(kv->version, 1);
  // A write fenced on the key's mod_revision: a stale revision changes nothing.
  WriteBatch update;
  update.Put("leader", "m1-renewed");
  update.Put("epoch", "2");
  EXPECT_EQ(store->WriteIf({{T::kModRevision, "leader", *rev - 1}}, update).status().code(), StatusCode::kAborted);
  EXPECT_EQ(store->Get("epoch").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->last_write_revision(), *rev);
  auto rev2 = store->WriteIf({{T::kModRevision, "leader", *rev}, {T::kCreateRevision, "leader", *rev}}, update);
  ASSERT_TRUE(rev2.ok()) << rev2.status().ToString();
  EXPECT_GT(*rev2, *rev);
  EXPECT_EQ(store->last_write_revision(), *rev2);
  EXPECT_EQ(*store->Get("epoch"), "2");
  EXPECT_EQ(store->GetWithRevision("leader")->mod_revision, *rev2);
}

TEST(EtcdMetaStoreTest, AcknowledgedWriteSurvivesSigkill) {
  EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto store = OpenEtcd(etcd.ClientUrls(), "crash/", 16, 1000);
  WriteBatch b;
  for (int i = 0; i < 100; ++i) b.Put("k" + std::to_string(i), std::string("\0\xff", 2) + std::to_string(i));
  ASSERT_TRUE(store->Write(b).ok());
  ASSERT_TRUE(store->Put("last", "acked").ok());
  etcd.Kill(0);
  Status down = store->Put("while-down", "x");
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down.ToString();
  ASSERT_TRUE(etcd.Restart(0).ok()) << etcd.Log(0);
  auto v = store->Get("last");  // the same store reconnects
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "acked");
  EXPECT_EQ(Keys(*store, "k").size(), 100u);
  EXPECT_EQ(*store->Get("k42"), std::string("\0\xff", 2) + "42");
}

TEST(EtcdMetaStoreTest, ThreeMembersKeepServingWithOneDownAndRefuseWithoutQuorum) {
  EtcdCluster etcd(3);
  Status started = etcd.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  auto store = OpenEtcd(etcd.ClientUrls(), "three/", 16, 1000);
  ASSERT_TRUE(store->Put("a", "1").ok());
  etcd.Kill(0);  // the endpoint the store was using
  // A request in flight on the dead member's connection may fail as
  // Unavailable (it may or may not have been applied); a retry fails over.
  Status st;
  for (int attempt = 0; attempt < 3; ++attempt) {
    st = store->Put("b", "2");
    if (st.ok()) break;
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(*store->Get("a"), "1");
  etcd.Kill(1);  // no quorum left
  st = store->Put("c", "3");
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  ASSERT_TRUE(etcd.Restart(1).ok()) << etcd.Log(1);
  auto b = store->Get("b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, "2");
}

TEST(EtcdMetaStoreTest, FullQuotaIsResourceExhausted) {
  // etcd's smallest useful quota; each write adds 64 KiB to the backend.
  EtcdCluster etcd(1, {"--quota-backend-bytes", std::to_string(1 << 20)});
  ASSERT_TRUE(etcd.Start().ok());
  auto store = OpenEtcd(etcd.ClientUrls(), "quota/", 16, 2000);
  Status st;
  for (int i = 0; i < 64 && st.ok(); ++i) st = store->Put("k" + std::to_string(i), std::string(64 << 10, 'q'));
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
  EXPECT_NE(st.message().find("database space exceeded"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(etcd.ClientUrl(0)), std::string::npos) << st.message();
  EXPECT_TRUE(store->Get("k0").ok());  // reads still work
}

}  // namespace
}  // namespace strata::meta
