#include "meta/meta_store.h"

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>
#include <unistd.h>

#include "meta/memory_meta_store.h"
#include "meta/rocksdb_meta_store.h"

namespace strata::meta {
namespace {

namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("strata_meta_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

class MetaStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
      auto r = RocksDbMetaStore::Open(dir_.string());
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      store_ = std::move(r).value();
    } else {
      store_ = std::make_unique<MemoryMetaStore>();
    }
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::vector<std::string> Keys(std::string_view prefix) {
    std::vector<std::string> keys;
    EXPECT_TRUE(store_->ScanPrefix(prefix, [&](std::string_view k, std::string_view) {
      keys.emplace_back(k);
      return true;
    }).ok());
    return keys;
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

TEST_P(MetaStoreTest, BatchAppliesInOrder) {
  WriteBatch b;
  b.Put("x/1", "a");
  b.Put("x/2", "b");
  b.Delete("x/1");
  b.Put("x/3", "c");
  ASSERT_TRUE(store_->Write(b).ok());
  EXPECT_EQ(Keys("x/"), (std::vector<std::string>{"x/2", "x/3"}));
}

TEST_P(MetaStoreTest, PrefixScanIsOrderedAndBounded) {
  for (auto k : {"b/2", "a/1", "b/1", "c/0", "b/10"}) ASSERT_TRUE(store_->Put(k, "v").ok());
  EXPECT_EQ(Keys("b/"), (std::vector<std::string>{"b/1", "b/10", "b/2"}));
  int seen = 0;
  ASSERT_TRUE(store_->ScanPrefix("", [&](std::string_view, std::string_view) { return ++seen < 2; }).ok());
  EXPECT_EQ(seen, 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, MetaStoreTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "RocksDb" : "Memory"; });

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

}  // namespace
}  // namespace strata::meta
