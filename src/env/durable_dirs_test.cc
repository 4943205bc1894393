#include "env/durable_dirs.h"

#include <gtest/gtest.h>

#include "env/fault/crash_file_system.h"
#include "env/posix/posix_file_system.h"
#include "env/testing/temp_dir.h"

namespace strata {
namespace {

TEST(CreateDirsDurablyTest, EveryCreatedComponentSurvivesTheWorstCrash) {
  TempDir dir("strata_durable_dirs");
  auto fs = std::make_shared<CrashableFileSystem>(NewPosixFileSystem());
  const std::string deep = dir.path() + "/a/b/c";
  ASSERT_TRUE(CreateDirsDurably(fs.get(), deep + "/").ok());
  ASSERT_TRUE(CreateDirsDurably(fs.get(), deep).ok());  // exists: nothing to do
  ASSERT_TRUE(fs->DropAllUnsynced().ok());
  EXPECT_TRUE(fs->Exists(deep));
}

TEST(CreateDirsDurablyTest, PlainCreateDirsIsNotDurable) {
  // The model this relies on: without the syncs the directory is lost.
  TempDir dir("strata_durable_dirs");
  auto fs = std::make_shared<CrashableFileSystem>(NewPosixFileSystem());
  ASSERT_TRUE(fs->CreateDirs(dir.path() + "/a/b").ok());
  ASSERT_TRUE(fs->DropAllUnsynced().ok());
  EXPECT_FALSE(fs->Exists(dir.path() + "/a"));
}

TEST(CreateDirsDurablyTest, AFileInTheWayIsAnError) {
  TempDir dir("strata_durable_dirs");
  auto fs = NewPosixFileSystem();
  ASSERT_TRUE(fs->OpenFile(dir.path() + "/f", OpenMode::kCreate).ok());
  EXPECT_FALSE(CreateDirsDurably(fs.get(), dir.path() + "/f/g").ok());
}

}  // namespace
}  // namespace strata
