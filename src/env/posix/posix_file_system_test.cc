#include "env/posix/posix_file_system.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace strata {
namespace {

class PosixFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata_env_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(fs_->CreateDirs(dir_.string()).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::shared_ptr<FileSystem> fs_ = NewPosixFileSystem();
  std::filesystem::path dir_;
};

TEST_F(PosixFileSystemTest, WriteReadTruncate) {
  std::string path = (dir_ / "f").string();
  auto f = fs_->OpenFile(path, OpenMode::kCreate);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->WriteAt(0, "hello world", 11).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  char buf[32] = {};
  auto n = (*f)->ReadAt(6, buf, sizeof(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(std::string(buf, 5), "world");
  ASSERT_TRUE((*f)->Truncate(5).ok());
  EXPECT_EQ(*(*f)->Size(), 5u);
  auto names = fs_->ListDir(dir_.string());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"f"});
}

TEST_F(PosixFileSystemTest, MissingFileIsNotFound) {
  auto f = fs_->OpenFile((dir_ / "nope").string(), OpenMode::kRead);
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs_->Exists((dir_ / "nope").string()));
  auto space = fs_->GetDiskSpace(dir_.string());
  ASSERT_TRUE(space.ok());
  EXPECT_GT(space->capacity_bytes, 0u);
}

// The lock is exclusive even within one process, names its holder, and is
// free again once released.
TEST_F(PosixFileSystemTest, LockFileIsExclusiveAndNamesItsHolder) {
  std::string path = (dir_ / "LOCK").string();
  auto first = fs_->LockFile(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = fs_->LockFile(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("locked by pid " + std::to_string(::getpid())), std::string::npos)
      << second.status().ToString();
  first->reset();
  auto third = fs_->LockFile(path);
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

}  // namespace
}  // namespace strata
