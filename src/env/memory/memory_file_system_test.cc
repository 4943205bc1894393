#include "env/memory/memory_file_system.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

std::string ReadAll(File* f) {
  auto size = f->Size();
  EXPECT_TRUE(size.ok());
  std::string out(size.ok() ? *size : 0, '\0');
  auto got = f->ReadAt(0, out.data(), out.size());
  EXPECT_TRUE(got.ok());
  out.resize(got.ok() ? *got : 0);
  return out;
}

TEST(MemoryFileSystemTest, FilesLiveInDirectoriesAndReadBackWhatWasWritten) {
  auto fs = NewMemoryFileSystem();
  EXPECT_EQ(fs->OpenFile("/d/a", OpenMode::kCreate).status().code(), StatusCode::kNotFound) << "no directory";
  ASSERT_TRUE(fs->CreateDirs("/d/sub/").ok());
  EXPECT_TRUE(fs->Exists("/d") && fs->Exists("/d/sub"));
  EXPECT_EQ(fs->OpenFile("/d/a", OpenMode::kRead).status().code(), StatusCode::kNotFound);
  auto f = fs->OpenFile("/d/a", OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->WriteAt(4, "tail", 4).ok());
  EXPECT_EQ(ReadAll(f->get()), std::string("\0\0\0\0tail", 8)) << "a hole reads as zeros";
  ASSERT_TRUE((*f)->Truncate(6).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  auto again = fs->OpenFile("/d/a", OpenMode::kReadWrite);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ReadAll(again->get()), std::string("\0\0\0\0ta", 6));
  char buf[8];
  auto past = (*again)->ReadAt(100, buf, sizeof(buf));
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(*past, 0u);
  auto names = fs->ListDir("/d");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "sub"}));
  EXPECT_EQ(fs->ListDir("/none").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(fs->SyncDir("/d").ok());
}

TEST(MemoryFileSystemTest, ReadOnlyHandlesRefuseWrites) {
  auto fs = NewMemoryFileSystem();
  ASSERT_TRUE(fs->CreateDirs("/d").ok());
  ASSERT_TRUE(fs->OpenFile("/d/a", OpenMode::kCreate).ok());
  auto f = fs->OpenFile("/d/a", OpenMode::kRead);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->WriteAt(0, "x", 1).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ((*f)->Truncate(0).code(), StatusCode::kPermissionDenied);
}

TEST(MemoryFileSystemTest, RenameReplacesAndOpenHandlesKeepTheirFile) {
  auto fs = NewMemoryFileSystem();
  ASSERT_TRUE(fs->CreateDirs("/d").ok());
  auto old_file = fs->OpenFile("/d/b", OpenMode::kCreate);
  ASSERT_TRUE(old_file.ok());
  ASSERT_TRUE((*old_file)->WriteAt(0, "old", 3).ok());
  auto tmp = fs->OpenFile("/d/b.tmp", OpenMode::kCreate);
  ASSERT_TRUE(tmp.ok());
  ASSERT_TRUE((*tmp)->WriteAt(0, "new", 3).ok());
  ASSERT_TRUE(fs->Rename("/d/b.tmp", "/d/b").ok());
  EXPECT_FALSE(fs->Exists("/d/b.tmp"));
  auto b = fs->OpenFile("/d/b", OpenMode::kRead);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(ReadAll(b->get()), "new");
  EXPECT_EQ(ReadAll(old_file->get()), "old") << "the replaced file stays readable through its handle";
  ASSERT_TRUE(fs->RemoveFile("/d/b").ok());
  EXPECT_FALSE(fs->Exists("/d/b"));
  EXPECT_EQ(ReadAll(b->get()), "new");
  EXPECT_EQ(fs->RemoveFile("/d/b").code(), StatusCode::kNotFound);
  EXPECT_EQ(fs->Rename("/d/none", "/d/x").code(), StatusCode::kNotFound);
}

TEST(MemoryFileSystemTest, FilesAreSparseAndWritesPastTheCapacityFailWithNoSpace) {
  auto fs = NewMemoryFileSystem(/*capacity_bytes=*/3 * 4096);
  ASSERT_TRUE(fs->CreateDirs("/d").ok());
  auto f = fs->OpenFile("/d/a", OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  // A write that straddles two pages takes both; the hole before it none.
  ASSERT_TRUE((*f)->WriteAt(10 * 4096 + 4000, std::string(200, 'a').data(), 200).ok());
  EXPECT_EQ(fs->GetDiskSpace("/d")->free_bytes, 4096u);
  EXPECT_EQ(*(*f)->Size(), 10 * 4096 + 4200u);
  EXPECT_EQ((*f)->WriteAt(0, std::string(4097, 'b').data(), 4097).code(), StatusCode::kNoSpace);
  ASSERT_TRUE((*f)->WriteAt(0, std::string(4096, 'b').data(), 4096).ok());
  EXPECT_EQ(fs->GetDiskSpace("/d")->free_bytes, 0u);
  // Zeros into a hole leave it a hole.
  ASSERT_TRUE((*f)->WriteAt(5 * 4096, std::string(3 * 4096, '\0').data(), 3 * 4096).ok());
  EXPECT_EQ(fs->GetDiskSpace("/d")->free_bytes, 0u);
  // Growing by Truncate makes a hole; shrinking gives pages back and zeros
  // the rest of the last page, so growing again reads zeros there.
  ASSERT_TRUE((*f)->Truncate(1ull << 40).ok());
  EXPECT_EQ(fs->GetDiskSpace("/d")->free_bytes, 0u);
  ASSERT_TRUE((*f)->Truncate(10 * 4096 + 4050).ok());
  EXPECT_EQ(fs->GetDiskSpace("/d")->free_bytes, 4096u) << "page 11 is gone";
  ASSERT_TRUE((*f)->Truncate(10 * 4096 + 100).ok());
  EXPECT_EQ(fs->GetDiskSpace("/d")->free_bytes, 4096u) << "page 10 is kept, zeroed from byte 100";
  ASSERT_TRUE((*f)->Truncate(10 * 4096 + 4200).ok());
  std::string tail(4100, 'x');
  ASSERT_EQ(*(*f)->ReadAt(10 * 4096 + 100, tail.data(), tail.size()), 4100u);
  EXPECT_EQ(tail, std::string(4100, '\0'));
  auto space = fs->GetDiskSpace("/d");
  ASSERT_TRUE(space.ok());
  EXPECT_EQ(space->capacity_bytes, 3 * 4096u);
  ASSERT_TRUE(fs->RemoveFile("/d/a").ok());
  f->reset();
  EXPECT_EQ(fs->GetDiskSpace("/d")->free_bytes, 3 * 4096u) << "a removed file's pages come back once closed";
}

TEST(MemoryFileSystemTest, ALockIsHeldUntilReleased) {
  auto fs = NewMemoryFileSystem();
  ASSERT_TRUE(fs->CreateDirs("/d").ok());
  auto lock = fs->LockFile("/d/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(fs->LockFile("/d/LOCK").status().code(), StatusCode::kFailedPrecondition);
  lock->reset();
  EXPECT_TRUE(fs->LockFile("/d/LOCK").ok());
}

}  // namespace
}  // namespace strata
