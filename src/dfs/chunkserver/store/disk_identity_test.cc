#include "dfs/chunkserver/store/disk_identity.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "env/posix/posix_file_system.h"
#include "env/testing/temp_dir.h"

namespace strata::dfs {
namespace {

class DiskClaimTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  Result<std::unique_ptr<DiskClaim>> Open() { return DiskClaim::Open(fs_.get(), dir_.path(), &rng_); }

  TempDir dir_{"disk_identity_test"};
  std::shared_ptr<FileSystem> fs_ = NewPosixFileSystem();
  Random rng_{11};
  const std::string cluster_a_ = "0123456789abcdef0123456789abcdef";
  const std::string cluster_b_ = "fedcba9876543210fedcba9876543210";
};

TEST(DiskIdentityFormatTest, RoundTripsAndDetectsDamage) {
  DiskIdentity id{"00112233445566778899aabbccddeeff", ""};
  std::string bytes = EncodeDiskIdentity(id);
  ASSERT_EQ(bytes.size(), kIdentitySize);
  EXPECT_EQ(bytes.substr(0, 4), "SDID");
  auto back = DecodeDiskIdentity(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->disk_id, id.disk_id);
  EXPECT_EQ(back->cluster_id, "");
  id.cluster_id = "ffeeddccbbaa99887766554433221100";
  back = DecodeDiskIdentity(EncodeDiskIdentity(id));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->cluster_id, id.cluster_id);
  bytes[30] ^= 1;
  EXPECT_EQ(DecodeDiskIdentity(bytes).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeDiskIdentity(bytes.substr(0, 40)).status().code(), StatusCode::kCorruption);
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId(std::string(32, '0')));
  EXPECT_FALSE(IsValidId("0123456789ABCDEF0123456789abcdef"));
}

// A second opener (another chunkserver on the same directory) gets a clear
// error naming the disk and the holder; the disk opens again once released.
TEST_F(DiskClaimTest, ASecondOpenerOfALockedDiskGetsAClearError) {
  auto first = Open();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = Open();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  const std::string& msg = second.status().message();
  EXPECT_NE(msg.find("disk " + dir_.path() + " is in use by another chunkserver"), std::string::npos) << msg;
  EXPECT_NE(msg.find("pid " + std::to_string(::getpid())), std::string::npos) << msg;
  std::string disk_id = (*first)->identity().disk_id;
  first->reset();
  auto again = Open();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->identity().disk_id, disk_id);  // written once, kept
}

TEST_F(DiskClaimTest, ABlankDiskAdoptsItsClusterAndAForeignClusterIsRefused) {
  {
    auto claim = Open();
    ASSERT_TRUE(claim.ok()) << claim.status().ToString();
    EXPECT_TRUE(IsValidId((*claim)->identity().disk_id));
    EXPECT_EQ((*claim)->identity().cluster_id, "");
    ASSERT_TRUE((*claim)->AdoptCluster(cluster_a_).ok());
    EXPECT_TRUE((*claim)->AdoptCluster(cluster_a_).ok());
    EXPECT_EQ((*claim)->identity().cluster_id, cluster_a_);
  }
  auto claim = Open();
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ((*claim)->identity().cluster_id, cluster_a_);  // durable
  Status foreign = (*claim)->AdoptCluster(cluster_b_);
  EXPECT_EQ(foreign.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(foreign.message().find("belongs to cluster " + cluster_a_), std::string::npos) << foreign.ToString();
  EXPECT_NE(foreign.message().find(cluster_b_), std::string::npos) << foreign.ToString();
  EXPECT_EQ((*claim)->identity().cluster_id, cluster_a_);  // never rewritten
  EXPECT_EQ((*claim)->AdoptCluster("nonsense").code(), StatusCode::kInvalidArgument);
}

// A damaged identity is reported, not replaced by a fresh one.
TEST_F(DiskClaimTest, ADamagedIdentityIsCorruptionAndLeftAlone) {
  ASSERT_TRUE(Open().ok());
  std::string path = dir_.path() + "/IDENTITY";
  { std::ofstream(path, std::ios::trunc) << "garbage"; }
  auto claim = Open();
  EXPECT_EQ(claim.status().code(), StatusCode::kCorruption) << claim.status().ToString();
  EXPECT_EQ(std::filesystem::file_size(path), 7u);
}

}  // namespace
}  // namespace strata::dfs
