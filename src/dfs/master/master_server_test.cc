// The master service over real loopback RPC: MasterServer on a free port,
// driven by an RpcClient as chunkservers and clients would.
#include "dfs/master/master_server.h"

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "rpc/client.h"

namespace strata::dfs::master {
namespace {

namespace fs = std::filesystem;

class MasterServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("strata_master_server_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    StartServer();
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  void StartServer() {
    MasterServerOptions options;
    options.port = 0;
    options.http_port = 0;
    options.data_dir = dir_.string();
    options.master.default_chunk_size_bytes = 1 << 20;
    server_ = std::make_unique<MasterServer>(options, SystemClock::Default());
    ASSERT_TRUE(server_->Start().ok());
    endpoint_ = "127.0.0.1:" + std::to_string(server_->rpc_port());
  }
  Status Call(MasterMethod m, const google::protobuf::Message& req, google::protobuf::Message* resp) {
    return client_.CallTyped(endpoint_, m, req, resp);
  }
  void RegisterServers(int first = 1, int last = 3) {
    for (int i = first; i <= last; ++i) {
      RegisterRequest req;
      req.set_server_id("cs" + std::to_string(i));
      req.set_addr("127.0.0.1:1");  // never called in this test
      req.set_rack("r" + std::to_string(i));
      DiskStat* d = req.add_disks();
      d->set_capacity_bytes(1ull << 40);
      d->set_free_bytes(1ull << 39);
      RegisterResponse resp;
      ASSERT_TRUE(Call(MASTER_REGISTER, req, &resp).ok());
      EXPECT_EQ(resp.heartbeat_interval_ms(), 1000u);
    }
  }

  // Opens `path` (a file) for writing; the request for its next chunk.
  AllocateChunkRequest OpenForAllocation(const std::string& path) {
    OpenWriteRequest ow;
    ow.set_path(path);
    OpenWriteResponse owr;
    EXPECT_TRUE(Call(MASTER_OPEN_WRITE, ow, &owr).ok());
    AllocateChunkRequest al;
    al.set_path(path);
    al.set_writer_epoch(owr.writer_epoch());
    return al;
  }

  fs::path dir_;
  std::unique_ptr<MasterServer> server_;
  rpc::RpcClient client_;
  std::string endpoint_;
};

TEST_F(MasterServerTest, NamespaceAndWritePathOverRpc) {
  RegisterServers();
  MkdirRequest mk;
  mk.set_path("/a/b");
  mk.set_parents(true);
  MkdirResponse mkr;
  ASSERT_TRUE(Call(MASTER_MKDIR, mk, &mkr).ok());
  CreateRequest cr;
  cr.set_path("/a/b/f");
  CreateResponse crr;
  ASSERT_TRUE(Call(MASTER_CREATE, cr, &crr).ok());
  EXPECT_EQ(crr.info().chunk_size(), 1u << 20);
  EXPECT_EQ(Call(MASTER_CREATE, cr, &crr).code(), StatusCode::kAlreadyExists);
  cr.set_path("relative");
  EXPECT_EQ(Call(MASTER_CREATE, cr, &crr).code(), StatusCode::kInvalidArgument);

  AllocateChunkRequest al = OpenForAllocation("/a/b/f");
  ASSERT_GT(al.writer_epoch(), 0u);
  AllocateChunkResponse alr;
  ASSERT_TRUE(Call(MASTER_ALLOCATE_CHUNK, al, &alr).ok());
  EXPECT_EQ(alr.chunk().replicas_size(), 3);
  SealChunkRequest se;
  se.set_path("/a/b/f");
  se.set_writer_epoch(al.writer_epoch());
  se.set_chunk_id(alr.chunk().chunk_id());
  se.set_length(12345);
  SealChunkResponse ser;
  ASSERT_TRUE(Call(MASTER_SEAL_CHUNK, se, &ser).ok());
  se.set_writer_epoch(al.writer_epoch() + 7);
  EXPECT_EQ(Call(MASTER_SEAL_CHUNK, se, &ser).code(), StatusCode::kStaleEpoch);
  CloseWriteRequest cl;
  cl.set_path("/a/b/f");
  cl.set_writer_epoch(al.writer_epoch());
  CloseWriteResponse clr;
  ASSERT_TRUE(Call(MASTER_CLOSE_WRITE, cl, &clr).ok());
  EXPECT_EQ(clr.info().size(), 12345u);

  ListRequest ls;
  ls.set_path("/a/b");
  ListResponse lsr;
  ASSERT_TRUE(Call(MASTER_LIST, ls, &lsr).ok());
  ASSERT_EQ(lsr.entries_size(), 1);
  EXPECT_EQ(lsr.entries(0).path(), "/a/b/f");
  RenameRequest mv;
  mv.set_from("/a/b/f");
  mv.set_to("/a/g");
  RenameResponse mvr;
  ASSERT_TRUE(Call(MASTER_RENAME, mv, &mvr).ok());

  ClusterStatusRequest cs;
  ClusterStatusResponse csr;
  ASSERT_TRUE(Call(MASTER_CLUSTER_STATUS, cs, &csr).ok());
  auto status = nlohmann::json::parse(csr.json());
  EXPECT_EQ(status["chunkservers"].size(), 3u);
  EXPECT_EQ(status["files"], 1);
  EXPECT_EQ(status["chunks"]["sealed"], 1);

  // A restart keeps what was acknowledged.
  server_.reset();
  StartServer();
  StatRequest st;
  st.set_path("/a/g");
  StatResponse str;
  ASSERT_TRUE(Call(MASTER_STAT, st, &str).ok());
  EXPECT_EQ(str.info().size(), 12345u);
  ASSERT_EQ(str.chunks_size(), 1);
  EXPECT_EQ(str.chunks(0).replicas_size(), 3);
  DeleteRequest del;
  del.set_path("/a");
  DeleteResponse delr;
  EXPECT_EQ(Call(MASTER_DELETE, del, &delr).code(), StatusCode::kFailedPrecondition);
  del.set_recursive(true);
  EXPECT_TRUE(Call(MASTER_DELETE, del, &delr).ok());
}

// Right after a restart an allocation waits on its worker thread for a
// chunkserver that registers late, while registrations are still served;
// a wait ends in time for the caller's timeout, with Unavailable.
TEST_F(MasterServerTest, AfterARestartAnAllocationWaitsForALateRegistrationOverRpc) {
  RegisterServers();
  server_.reset();
  StartServer();
  RegisterServers(1, 2);
  CreateRequest cr;
  cr.set_path("/f");
  CreateResponse crr;
  ASSERT_TRUE(Call(MASTER_CREATE, cr, &crr).ok());
  AllocateChunkRequest al = OpenForAllocation("/f");

  AllocateChunkResponse short_resp;
  auto start = std::chrono::steady_clock::now();
  Status short_wait = client_.CallTyped(endpoint_, MASTER_ALLOCATE_CHUNK, al, &short_resp, {}, nullptr, 600);
  EXPECT_EQ(short_wait.code(), StatusCode::kUnavailable) << short_wait.ToString();
  EXPECT_NE(short_wait.message().find("waited"), std::string::npos) << short_wait.ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));

  auto allocation = std::async(std::launch::async, [&] {
    AllocateChunkResponse resp;
    Status st = client_.CallTyped(endpoint_, MASTER_ALLOCATE_CHUNK, al, &resp, {}, nullptr, 10000);
    return std::make_pair(st, resp);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server_->service()->StatusJson()["startup"]["allocations_waiting"] != 1) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the allocation never waited";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  RegisterServers(3, 3);
  auto [st, resp] = allocation.get();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(resp.chunk().replicas_size(), 3);
}

TEST_F(MasterServerTest, MalformedRequestIsRejected) {
  auto reply = client_.Call(endpoint_, MASTER_MKDIR, "\xff\xff\xff", "");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status.code(), StatusCode::kInvalidArgument);
  HeartbeatRequest hb;
  hb.set_server_id("nobody");
  HeartbeatResponse hbr;
  ASSERT_TRUE(Call(MASTER_HEARTBEAT, hb, &hbr).ok());
  EXPECT_TRUE(hbr.reregister());
}

}  // namespace
}  // namespace strata::dfs::master
