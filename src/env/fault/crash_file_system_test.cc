#include "env/fault/crash_file_system.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "env/posix/posix_file_system.h"
#include "env/testing/temp_dir.h"

namespace strata {
namespace {

constexpr uint64_t kSector = kCrashSectorBytes;

class CrashFileSystemTest : public ::testing::Test {
 protected:
  std::string P(const std::string& rel) { return dir_.path() + "/" + rel; }

  std::unique_ptr<File> Open(const std::string& rel, OpenMode mode = OpenMode::kCreate) {
    auto f = fs_->OpenFile(P(rel), mode);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(*f) : nullptr;
  }
  void Write(File* f, uint64_t offset, const std::string& bytes) {
    ASSERT_TRUE(f->WriteAt(offset, bytes.data(), bytes.size()).ok());
  }
  // The file's bytes as the wrapped file system has them; "<missing>" if absent.
  std::string Contents(const std::string& rel) {
    if (!fs_->Exists(P(rel))) return "<missing>";
    auto f = fs_->OpenFile(P(rel), OpenMode::kRead);
    EXPECT_TRUE(f.ok());
    std::string out(*(*f)->Size(), '\0');
    EXPECT_EQ(*(*f)->ReadAt(0, out.data(), out.size()), out.size());
    return out;
  }
  // A synced file of `sectors` sectors of 'a', then each sector rewritten
  // with 'b' and an appended sector of 'c', none of it synced.
  void WriteSyncedThenDirty(const std::string& rel, int sectors) {
    auto f = Open(rel);
    Write(f.get(), 0, std::string(sectors * kSector, 'a'));
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
    Write(f.get(), 0, std::string(sectors * kSector, 'b'));
    Write(f.get(), sectors * kSector, std::string(kSector, 'c'));
  }

  TempDir dir_{"strata_crashfs"};
  std::shared_ptr<CrashableFileSystem> fs_ = std::make_shared<CrashableFileSystem>(NewPosixFileSystem());
};

TEST_F(CrashFileSystemTest, ReadsSeeUnsyncedWritesBeforeACrash) {
  auto f = Open("a");
  Write(f.get(), 0, "hello");
  char buf[5];
  ASSERT_EQ(*f->ReadAt(0, buf, 5), 5u);
  EXPECT_EQ(std::string(buf, 5), "hello");
}

TEST_F(CrashFileSystemTest, DropAllUnsyncedKeepsOnlySyncedBytes) {
  WriteSyncedThenDirty("a", 3);
  ASSERT_TRUE(fs_->DropAllUnsynced().ok());
  EXPECT_EQ(Contents("a"), std::string(3 * kSector, 'a'));
}

TEST_F(CrashFileSystemTest, SyncedPartialSectorSurvivesAndUnsyncedTailGoes) {
  auto f = Open("a");
  Write(f.get(), 0, "durable");
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
  Write(f.get(), 7, "-lost");
  Write(f.get(), 3, "XX");  // overwrites synced bytes in the same sector
  ASSERT_TRUE(fs_->DropAllUnsynced().ok());
  EXPECT_EQ(Contents("a"), "durable");
}

TEST_F(CrashFileSystemTest, UnsyncedCreateVanishesSyncedCreateStays) {
  auto kept = Open("kept");
  Write(kept.get(), 0, "k");
  ASSERT_TRUE(kept->Sync().ok());
  ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
  auto lost = Open("lost");
  Write(lost.get(), 0, "l");
  ASSERT_TRUE(lost->Sync().ok());  // data synced, but its directory entry is not
  ASSERT_TRUE(fs_->DropAllUnsynced().ok());
  EXPECT_EQ(Contents("kept"), "k");
  EXPECT_EQ(Contents("lost"), "<missing>");
}

TEST_F(CrashFileSystemTest, RenameUndoneUnlessDirSynced) {
  for (bool sync_dir : {false, true}) {
    SCOPED_TRACE(sync_dir);
    auto f = Open("old");
    Write(f.get(), 0, "v1");
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
    ASSERT_TRUE(fs_->Rename(P("old"), P("new")).ok());
    if (sync_dir) {
      ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
    }
    ASSERT_TRUE(fs_->DropAllUnsynced().ok());
    EXPECT_EQ(Contents(sync_dir ? "new" : "old"), "v1");
    EXPECT_EQ(Contents(sync_dir ? "old" : "new"), "<missing>");
    ASSERT_TRUE(fs_->RemoveFile(P(sync_dir ? "new" : "old")).ok());
    ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
  }
}

TEST_F(CrashFileSystemTest, UndoneRenameOverAFileBringsTheReplacedFileBack) {
  auto cur = Open("CURRENT");
  Write(cur.get(), 0, "old");
  ASSERT_TRUE(cur->Sync().ok());
  auto tmp = Open("CURRENT.tmp");
  Write(tmp.get(), 0, "new");
  ASSERT_TRUE(tmp->Sync().ok());
  ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
  ASSERT_TRUE(fs_->Rename(P("CURRENT.tmp"), P("CURRENT")).ok());
  ASSERT_TRUE(fs_->DropAllUnsynced().ok());
  EXPECT_EQ(Contents("CURRENT"), "old");
  EXPECT_EQ(Contents("CURRENT.tmp"), "new");
}

TEST_F(CrashFileSystemTest, UnsyncedRemoveBringsTheSyncedBytesBackSyncedRemoveStays) {
  for (bool sync_dir : {false, true}) {
    SCOPED_TRACE(sync_dir);
    WriteSyncedThenDirty("a", 2);  // synced 'a'*2 sectors, then unsynced 'b's and a 'c' sector
    ASSERT_TRUE(fs_->RemoveFile(P("a")).ok());
    EXPECT_EQ(Contents("a"), "<missing>");
    if (sync_dir) {
      ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
    }
    ASSERT_TRUE(fs_->DropAllUnsynced().ok());
    EXPECT_EQ(Contents("a"), sync_dir ? "<missing>" : std::string(2 * kSector, 'a'));
    if (!sync_dir) {
      ASSERT_TRUE(fs_->RemoveFile(P("a")).ok());
      ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
    }
  }
}

TEST_F(CrashFileSystemTest, RemovingAnUnsyncedCreateLeavesNothingToBringBack) {
  auto f = Open("tmp");
  Write(f.get(), 0, "t");
  ASSERT_TRUE(f->Sync().ok());
  f.reset();
  ASSERT_TRUE(fs_->RemoveFile(P("tmp")).ok());
  ASSERT_TRUE(fs_->DropAllUnsynced().ok());
  EXPECT_EQ(Contents("tmp"), "<missing>");
}

TEST_F(CrashFileSystemTest, AFileReplacedByRemoveAndRenameComesBackOld) {
  for (bool sync_dir : {false, true}) {
    SCOPED_TRACE(sync_dir);
    auto f = Open("a");
    Write(f.get(), 0, "old");
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
    f.reset();
    ASSERT_TRUE(fs_->RemoveFile(P("a")).ok());
    auto tmp = Open("a.tmp");
    Write(tmp.get(), 0, "new");
    ASSERT_TRUE(tmp->Sync().ok());
    tmp.reset();
    ASSERT_TRUE(fs_->Rename(P("a.tmp"), P("a")).ok());
    if (sync_dir) {
      ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
    }
    ASSERT_TRUE(fs_->DropAllUnsynced().ok());
    EXPECT_EQ(Contents("a"), sync_dir ? "new" : "old");
    EXPECT_EQ(Contents("a.tmp"), "<missing>");
    ASSERT_TRUE(fs_->RemoveFile(P("a")).ok());
    ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
  }
}

TEST_F(CrashFileSystemTest, AnUnsyncedDirectoryVanishesWithItsSyncedFiles) {
  for (bool sync_parent : {false, true}) {
    SCOPED_TRACE(sync_parent);
    ASSERT_TRUE(fs_->CreateDirs(P("d/e")).ok());
    auto f = Open("d/e/f");
    Write(f.get(), 0, "data");
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(fs_->SyncDir(P("d/e")).ok());  // the file's own entry is durable
    if (sync_parent) {
      ASSERT_TRUE(fs_->SyncDir(P("d")).ok());
      ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
    }
    f.reset();
    ASSERT_TRUE(fs_->DropAllUnsynced().ok());
    EXPECT_EQ(Contents("d/e/f"), sync_parent ? "data" : "<missing>");
    EXPECT_EQ(fs_->Exists(P("d")), sync_parent);
  }
}

TEST_F(CrashFileSystemTest, OnlyTheInnerUnsyncedDirectoryVanishes) {
  ASSERT_TRUE(fs_->CreateDirs(P("d")).ok());
  ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
  ASSERT_TRUE(fs_->CreateDirs(P("d/e")).ok());
  ASSERT_TRUE(fs_->CreateDirs(P("d")).ok());  // exists: nothing new to lose
  ASSERT_TRUE(fs_->DropAllUnsynced().ok());
  EXPECT_TRUE(fs_->Exists(P("d")));
  EXPECT_FALSE(fs_->Exists(P("d/e")));
}

TEST_F(CrashFileSystemTest, RandomCrashesKeepOrUndoRemovesAndDirectories) {
  std::set<std::pair<bool, bool>> outcomes;
  for (uint64_t seed = 1; seed <= 40 && outcomes.size() < 4; ++seed) {
    auto f = Open("a");
    Write(f.get(), 0, "a");
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
    f.reset();
    ASSERT_TRUE(fs_->RemoveFile(P("a")).ok());
    ASSERT_TRUE(fs_->CreateDirs(P("d")).ok());
    Random rng(seed);
    ASSERT_TRUE(fs_->SimulateCrash(&rng).ok());
    const bool a_back = fs_->Exists(P("a"));
    const bool d_kept = fs_->Exists(P("d"));
    if (a_back) {
      EXPECT_EQ(Contents("a"), "a");
    }
    outcomes.insert({a_back, d_kept});
    if (a_back) {
      ASSERT_TRUE(fs_->RemoveFile(P("a")).ok());
    }
    if (d_kept) std::filesystem::remove_all(P("d"));
    ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
  }
  EXPECT_EQ(outcomes.size(), 4u);  // each entry kept or undone on its own
}

TEST_F(CrashFileSystemTest, UnsyncedTruncateIsUndoneSyncedOneKept) {
  auto f = Open("a");
  Write(f.get(), 0, std::string(2 * kSector + 100, 'a'));
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
  ASSERT_TRUE(f->Truncate(10).ok());
  Write(f.get(), 10, "zz");
  ASSERT_TRUE(fs_->DropAllUnsynced().ok());
  EXPECT_EQ(Contents("a"), std::string(2 * kSector + 100, 'a'));

  f = Open("a", OpenMode::kReadWrite);
  ASSERT_TRUE(f->Truncate(10).ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(fs_->DropAllUnsynced().ok());
  EXPECT_EQ(Contents("a"), std::string(10, 'a'));
}

TEST_F(CrashFileSystemTest, RandomCrashNeverLosesSyncedBytesAndKeepsWholeSectors) {
  constexpr int kSectors = 8;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    WriteSyncedThenDirty("a", kSectors);
    Random rng(seed);
    ASSERT_TRUE(fs_->SimulateCrash(&rng).ok());
    const std::string got = Contents("a");
    ASSERT_GE(got.size(), kSectors * kSector);
    ASSERT_LE(got.size(), (kSectors + 1) * kSector);
    for (uint64_t s = 0; s * kSector < got.size(); ++s) {
      const std::string sector = got.substr(s * kSector, kSector);
      const char want_new = s < kSectors ? 'b' : 'c';
      const char want_old = s < kSectors ? 'a' : '\0';
      EXPECT_TRUE(sector == std::string(sector.size(), want_new) || sector == std::string(sector.size(), want_old))
          << "sector " << s << " is torn";
    }
    ASSERT_TRUE(fs_->RemoveFile(P("a")).ok());
  }
}

TEST_F(CrashFileSystemTest, SameSeedSameOutcomeDifferentSeedsDiffer) {
  auto outcome = [&](uint64_t seed) {
    WriteSyncedThenDirty("a", 16);
    auto extra = Open("extra");  // an unsynced create
    Random rng(seed);
    EXPECT_TRUE(fs_->SimulateCrash(&rng).ok());
    std::string out = Contents("a") + "|" + Contents("extra");
    EXPECT_TRUE(fs_->RemoveFile(P("a")).ok());
    if (fs_->Exists(P("extra"))) {
      EXPECT_TRUE(fs_->RemoveFile(P("extra")).ok());
    }
    return out;
  };
  EXPECT_EQ(outcome(7), outcome(7));
  std::set<std::string> seen;
  for (uint64_t seed = 1; seed <= 30; ++seed) seen.insert(outcome(seed));
  EXPECT_GT(seen.size(), 20u);
}

TEST_F(CrashFileSystemTest, HandlesOpenedBeforeACrashFail) {
  auto f = Open("a");
  Write(f.get(), 0, "x");
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(fs_->SyncDir(dir_.path()).ok());
  Random rng(1);
  ASSERT_TRUE(fs_->SimulateCrash(&rng).ok());
  EXPECT_EQ(fs_->crash_count(), 1u);
  char c;
  EXPECT_EQ(f->ReadAt(0, &c, 1).status().code(), StatusCode::kAborted);
  EXPECT_EQ(f->WriteAt(0, "y", 1).code(), StatusCode::kAborted);
  EXPECT_EQ(f->Sync().code(), StatusCode::kAborted);
  EXPECT_EQ(f->Truncate(0).code(), StatusCode::kAborted);
  EXPECT_FALSE(f->Size().ok());
  auto again = Open("a", OpenMode::kReadWrite);
  ASSERT_EQ(*again->ReadAt(0, &c, 1), 1u);
  EXPECT_EQ(c, 'x');
}

}  // namespace
}  // namespace strata
