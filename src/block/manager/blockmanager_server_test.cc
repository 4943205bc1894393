// The blockmanager over real loopback RPC and HTTP: BlockManagerServer on
// free ports, driven by a BlockManagerClient as `strata volume` drives it.
#include "block/manager/blockmanager_server.h"

#include <gtest/gtest.h>

#include "block/manager/blockmanager_client.h"
#include "env/testing/temp_dir.h"
#include "rpc/client.h"

namespace strata::block::manager {
namespace {

class BlockManagerServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }
  void StartServer() {
    BlockManagerServerOptions options;
    options.data_dir = dir_.path() + "/bm";
    options.dfs_master = "127.0.0.1:1";  // no dfs: deletions stay pending
    options.manager.segment_size_bytes = 16ull << 20;
    server_ = std::make_unique<BlockManagerServer>(options, SystemClock::Default());
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    client_ = std::make_unique<BlockManagerClient>(
        BlockManagerClientOptions{.addr = "127.0.0.1:" + std::to_string(server_->rpc_port())});
  }

  TempDir dir_{"strata_blockmanager_server"};
  std::unique_ptr<BlockManagerServer> server_;
  std::unique_ptr<BlockManagerClient> client_;
};

TEST_F(BlockManagerServerTest, VolumesOverRpcSurviveARestart) {
  auto v = client_->CreateVolume("disk1", 100ull << 20, dfs::DURABILITY_SYNC);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->id(), 1u);
  EXPECT_EQ(v->segment_count(), 8u);
  EXPECT_EQ(client_->CreateVolume("disk1", 1 << 20, dfs::DURABILITY_SYNC).status().code(),
            StatusCode::kAlreadyExists);
  auto grown = client_->ResizeVolume("disk1", 200ull << 20);
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();
  EXPECT_EQ(grown->segment_count(), 16u);

  rpc::RpcClient rpc;
  std::string addr = client_->addr();
  BmRegisterRequest reg;
  reg.set_server_id("bs1");
  reg.set_addr("127.0.0.1:2");
  BmRegisterResponse reg_resp;
  ASSERT_TRUE(rpc.CallTyped(addr, BM_REGISTER, reg, &reg_resp).ok());
  EXPECT_EQ(reg_resp.heartbeat_interval_ms(), 500u);
  EXPECT_EQ(reg_resp.lease_ms(), 3000u);
  BmHeartbeatRequest hb;
  hb.set_server_id("bs1");
  BmHeartbeatResponse hb_resp;
  ASSERT_TRUE(rpc.CallTyped(addr, BM_HEARTBEAT, hb, &hb_resp).ok());
  EXPECT_EQ(hb_resp.segments_size(), 16);

  server_.reset();
  StartServer();
  auto list = client_->ListVolumes();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].size_bytes(), 200ull << 20);
  auto got = client_->GetVolume("disk1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->segments(0).owner_id(), "bs1");
  EXPECT_EQ(got->segments(0).owner_addr(), "127.0.0.1:2");
  EXPECT_EQ(client_->GetVolume("nope").status().message(), "no volume named 'nope'");
  ASSERT_TRUE(client_->DeleteVolume("disk1").ok());
  auto status = client_->StatusJson();
  ASSERT_TRUE(status.ok());
  nlohmann::json s = nlohmann::json::parse(*status);
  EXPECT_EQ(s["role"], "blockmanager");
  EXPECT_EQ(s["pending_deletions"].size(), 1u);  // the dfs is not there
}

TEST_F(BlockManagerServerTest, AnotherKindOfServerIsNamedAsNotABlockManager) {
  MetricsRegistry metrics;
  rpc::RpcServer other(rpc::RpcServerOptions{}, &metrics);  // serves no blockmanager method
  auto port = other.Start();
  ASSERT_TRUE(port.ok());
  BlockManagerClient wrong(BlockManagerClientOptions{.addr = "127.0.0.1:" + std::to_string(*port)});
  Status st = wrong.ListVolumes().status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("is not a Strata blockmanager"), std::string::npos) << st.message();
  other.Stop();
}

}  // namespace
}  // namespace strata::block::manager
