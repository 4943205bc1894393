#include "env/fault/fault_file_system.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "env/posix/posix_file_system.h"

namespace strata {
namespace {

class FaultFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata_fault_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "d0");
    std::filesystem::create_directories(dir_ / "d1");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string P(const std::string& rel) { return (dir_ / rel).string(); }

  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::shared_ptr<FaultInjectingFileSystem> fs_ =
      std::make_shared<FaultInjectingFileSystem>(NewPosixFileSystem(), clock_, 42);
  std::filesystem::path dir_;
};

TEST_F(FaultFileSystemTest, DropUnsyncedDataTruncatesToLastSync) {
  auto f = fs_->OpenFile(P("d0/a"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->WriteAt(0, "durable", 7).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->WriteAt(7, "-lost", 5).ok());
  EXPECT_EQ(*(*f)->Size(), 12u);
  ASSERT_TRUE(fs_->DropUnsyncedData().ok());
  EXPECT_EQ(*(*f)->Size(), 7u);
}

TEST_F(FaultFileSystemTest, NoSpaceAndErrorsApplyOnlyUnderPrefix) {
  fs_->SetFault(P("d0"), DiskFault{.no_space = true});
  auto f0 = fs_->OpenFile(P("d0/x"), OpenMode::kCreate);
  EXPECT_EQ(f0.status().code(), StatusCode::kNoSpace);
  auto f1 = fs_->OpenFile(P("d1/x"), OpenMode::kCreate);
  ASSERT_TRUE(f1.ok());
  EXPECT_TRUE((*f1)->WriteAt(0, "ok", 2).ok());
  EXPECT_EQ(fs_->GetDiskSpace(P("d0"))->free_bytes, 0u);

  fs_->SetFault(P("d1"), DiskFault{.error_rate = 1.0});
  EXPECT_EQ((*f1)->WriteAt(0, "ok", 2).code(), StatusCode::kIoError);
  fs_->ClearFault(P("d1"));
  EXPECT_TRUE((*f1)->WriteAt(0, "ok", 2).ok());
}

TEST_F(FaultFileSystemTest, LatencyUsesTheClock) {
  fs_->SetFault(P("d0"), DiskFault{.latency_ms = 40});
  auto f = fs_->OpenFile(P("d0/slow"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  uint64_t before = clock_->NowMicros();
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_GE(clock_->NowMicros() - before, 40'000u);
}

TEST_F(FaultFileSystemTest, FrozenBlocksSyncsButNotBufferedWrites) {
  auto f = fs_->OpenFile(P("d0/frozen"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  fs_->SetFault(P("d0"), DiskFault{.frozen = true});
  // A buffered write lands in the page cache even on a hung device.
  ASSERT_TRUE((*f)->WriteAt(0, "x", 1).ok());
  std::atomic<bool> done{false};
  std::thread syncer([&] {
    EXPECT_TRUE((*f)->Sync().ok());
    done = true;
  });
  // The sync cannot finish while frozen; lifting the fault releases it.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done.load());
  fs_->ClearFault(P("d0"));
  syncer.join();
  EXPECT_TRUE(done.load());
}

}  // namespace
}  // namespace strata
