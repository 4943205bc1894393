#include "dfs/master/namespace.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

#include "meta/memory_meta_store.h"
#include "meta/rocksdb_meta_store.h"

namespace strata::dfs::master {
namespace {

constexpr char kClusterId[] = "0123456789abcdef0123456789abcdef";

class NamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    catalog_ = std::make_unique<Catalog>(&store_);
    ASSERT_TRUE(catalog_->Load(clock_.WallMicros(), kClusterId).ok());
    ns_ = std::make_unique<Namespace>(catalog_.get(), &clock_, options_);
  }
  StatusCode Code(const Status& s) { return s.code(); }
  std::vector<std::string> Names(const std::string& dir) {
    std::vector<std::string> names;
    auto r = ns_->List(dir);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) for (const auto& e : *r) names.push_back(e.name());
    return names;
  }
  Result<InodeRecord> CreateFile(const std::string& path, bool overwrite = false) {
    CreateArgs a;
    a.path = path;
    a.overwrite = overwrite;
    return ns_->Create(a);
  }

  ManualClock clock_;
  MasterOptions options_;
  meta::MemoryMetaStore store_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<Namespace> ns_;
};

TEST_F(NamespaceTest, MkdirAndParents) {
  EXPECT_TRUE(ns_->Mkdir("/a", false).ok());
  EXPECT_EQ(Code(ns_->Mkdir("/a", false)), StatusCode::kAlreadyExists);
  EXPECT_TRUE(ns_->Mkdir("/a", true).ok());
  EXPECT_EQ(Code(ns_->Mkdir("/x/y", false)), StatusCode::kNotFound);
  EXPECT_TRUE(ns_->Mkdir("/x/y/z", true).ok());
  EXPECT_EQ(Names("/"), (std::vector<std::string>{"a", "x"}));
  EXPECT_EQ(Names("/x/y"), (std::vector<std::string>{"z"}));
  EXPECT_EQ(Code(ns_->Mkdir("a", true)), StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(ns_->Mkdir("/a/../b", true)), StatusCode::kInvalidArgument);
}

TEST_F(NamespaceTest, CreateDefaultsAndValidation) {
  auto f = CreateFile("/f");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->replication(), 3u);
  EXPECT_EQ(f->min_copies(), 2u);
  EXPECT_EQ(f->chunk_size(), options_.default_chunk_size_bytes);
  EXPECT_EQ(CreateFile("/f").status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(CreateFile("/f", /*overwrite=*/true).ok());
  EXPECT_EQ(CreateFile("/nodir/f").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CreateFile("/f/g").status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(ns_->Mkdir("/d", false).ok());
  EXPECT_EQ(CreateFile("/d", true).status().code(), StatusCode::kAlreadyExists);
  CreateArgs a;
  a.path = "/g";
  a.replication = 2;
  a.min_copies = 3;
  EXPECT_EQ(ns_->Create(a).status().code(), StatusCode::kInvalidArgument);
  a.min_copies = 0;
  a.chunk_size = 1;
  EXPECT_EQ(ns_->Create(a).status().code(), StatusCode::kInvalidArgument);
  a.chunk_size = 1 << 20;
  auto g = ns_->Create(a);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->min_copies(), 2u);
  EXPECT_EQ(g->chunk_size(), 1u << 20);
}

TEST_F(NamespaceTest, RenameFilesAndDirectories) {
  ASSERT_TRUE(ns_->Mkdir("/a/b", true).ok());
  ASSERT_TRUE(CreateFile("/a/b/f").ok());
  ASSERT_TRUE(ns_->Rename("/a/b/f", "/a/g", false).ok());
  EXPECT_EQ(Names("/a"), (std::vector<std::string>{"b", "g"}));
  ASSERT_TRUE(ns_->Rename("/a", "/c", false).ok());
  EXPECT_TRUE(ns_->Stat("/c/b").ok());
  EXPECT_EQ(ns_->PathOf(*ns_->Lookup("/c/g")), "/c/g");
  EXPECT_EQ(Code(ns_->Rename("/c", "/c/b/c", false)), StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(ns_->Rename("/c", "/c", false)), StatusCode::kOk);
  EXPECT_EQ(Code(ns_->Rename("/nope", "/x", false)), StatusCode::kNotFound);
  EXPECT_EQ(Code(ns_->Rename("/", "/x", false)), StatusCode::kInvalidArgument);
  // A file replaces a file only when asked to; nothing replaces a directory.
  ASSERT_TRUE(CreateFile("/h").ok());
  EXPECT_EQ(Code(ns_->Rename("/h", "/c/g", false)), StatusCode::kAlreadyExists);
  EXPECT_EQ(catalog_->file_count(), 2u);
  EXPECT_TRUE(ns_->Rename("/h", "/c/g", true).ok());
  EXPECT_EQ(Code(ns_->Rename("/c/g", "/c/b", true)), StatusCode::kAlreadyExists);
  EXPECT_EQ(catalog_->file_count(), 1u);
  // A trailing slash names a directory.
  EXPECT_TRUE(ns_->Stat("/c/").ok());
  EXPECT_EQ(Code(ns_->Stat("/c/g/").status()), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Code(ns_->Delete("/c/g/", false)), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Code(ns_->Rename("/c/g", "/c/h/", false)), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Code(CreateFile("/c/new/").status()), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ns_->Stat("/c/g").ok());
}

TEST_F(NamespaceTest, DeleteRecursiveRetiresChunks) {
  ASSERT_TRUE(ns_->Mkdir("/d/e", true).ok());
  auto f = CreateFile("/d/e/f");
  ASSERT_TRUE(f.ok());
  // Attach a chunk to the file by hand.
  ChunkRecord c;
  c.set_chunk_id(77);
  c.set_inode(f->inode());
  c.add_replicas()->set_server_id("cs1");
  InodeRecord rec = *f;
  rec.add_chunks(77);
  Mutation m;
  m.PutChunk(c);
  m.PutInode(rec);
  ASSERT_TRUE(catalog_->Commit(m).ok());

  EXPECT_EQ(Code(ns_->Delete("/d", false)), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Code(ns_->Delete("/", true)), StatusCode::kInvalidArgument);
  ASSERT_TRUE(ns_->Delete("/d", true).ok());
  EXPECT_EQ(Code(ns_->Stat("/d").status()), StatusCode::kNotFound);
  EXPECT_EQ(catalog_->FindChunk(77), nullptr);
  ASSERT_EQ(catalog_->gc().count(77), 1u);
  EXPECT_EQ(catalog_->gc().at(77).servers(0), "cs1");
  EXPECT_EQ(catalog_->dir_count(), 1u);  // the root
}

TEST_F(NamespaceTest, WriterEpochsFence) {
  ASSERT_TRUE(CreateFile("/f").ok());
  EXPECT_EQ(ns_->CheckWriter("/f", 0).status().code(), StatusCode::kStaleEpoch);
  auto w1 = ns_->OpenWrite("/f");
  ASSERT_TRUE(w1.ok());
  EXPECT_EQ(w1->writer_epoch(), 1u);
  EXPECT_TRUE(ns_->CheckWriter("/f", 1).ok());
  auto w2 = ns_->OpenWrite("/f");
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(ns_->CheckWriter("/f", 1).status().code(), StatusCode::kStaleEpoch);
  EXPECT_EQ(Code(ns_->CloseWrite("/f", 1)), StatusCode::kStaleEpoch);
  EXPECT_TRUE(ns_->CloseWrite("/f", 2).ok());
  EXPECT_EQ(ns_->CheckWriter("/f", 2).status().code(), StatusCode::kStaleEpoch);
  ASSERT_TRUE(ns_->Mkdir("/d", false).ok());
  EXPECT_EQ(ns_->OpenWrite("/d").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(NamespaceTest, ReloadRebuildsEverything) {
  ASSERT_TRUE(ns_->Mkdir("/a/b", true).ok());
  ASSERT_TRUE(CreateFile("/a/b/f").ok());
  ASSERT_TRUE(ns_->Rename("/a/b", "/z", false).ok());
  ASSERT_TRUE(ns_->OpenWrite("/z/f").ok());
  Open();
  EXPECT_EQ(Names("/"), (std::vector<std::string>{"a", "z"}));
  EXPECT_EQ(Names("/z"), (std::vector<std::string>{"f"}));
  EXPECT_EQ(ns_->Stat("/z/f")->writer_epoch(), 1u);
  // New inodes do not reuse old numbers.
  auto g = CreateFile("/g");
  ASSERT_TRUE(g.ok());
  EXPECT_GT(g->inode(), ns_->Stat("/z/f")->inode());
}

TEST(NamespaceRocksDbTest, SurvivesReopen) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("strata_ns_" + std::to_string(getpid()));
  fs::remove_all(dir);
  ManualClock clock;
  MasterOptions options;
  {
    auto store = meta::RocksDbMetaStore::Open(dir.string());
    ASSERT_TRUE(store.ok());
    Catalog catalog(store->get());
    ASSERT_TRUE(catalog.Load(clock.WallMicros(), kClusterId).ok());
    Namespace ns(&catalog, &clock, options);
    ASSERT_TRUE(ns.Mkdir("/logs/2026", true).ok());
    CreateArgs a;
    a.path = "/logs/2026/x";
    a.replication = 2;
    ASSERT_TRUE(ns.Create(a).ok());
  }
  auto store = meta::RocksDbMetaStore::Open(dir.string());
  ASSERT_TRUE(store.ok());
  Catalog catalog(store->get());
  ASSERT_TRUE(catalog.Load(clock.WallMicros(), kClusterId).ok());
  Namespace ns(&catalog, &clock, options);
  auto f = ns.Stat("/logs/2026/x");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->replication(), 2u);
  EXPECT_EQ(catalog.file_count(), 1u);
  EXPECT_EQ(catalog.dir_count(), 3u);
  store->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace strata::dfs::master
