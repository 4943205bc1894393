// FileReader's location refresh, on real RPC servers that answer as a master
// (STAT) and a chunkserver (READ) would, scripted by the test: which
// locations each STAT lists is decided here, so the outcome is exact.
#include "dfs/client/file_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "chunkserver.pb.h"
#include "common/crc32c.h"
#include "common/metrics.h"
#include "dfs/client/closed_port_for_test.h"
#include "dfs/client/dfs_client.h"
#include "master.pb.h"
#include "rpc/server.h"

namespace strata::dfs {
namespace {

using testing::ClosedPort;

class FileReaderRefreshTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kChunk = 7;

  void SetUp() override {
    master_.RegisterTyped<StatRequest, StatResponse>(
        MASTER_STAT, "stat", [this](const StatRequest&, std::string&, StatResponse* resp, std::string*) {
          std::lock_guard lock(mu_);
          stats_served_++;
          *resp = listed_;
          return Status::Ok();
        });
    chunkserver_.RegisterTyped<ReadRequest, ReadResponse>(
        CHUNKSERVER_READ, "read", [this](const ReadRequest& req, std::string&, ReadResponse* resp, std::string* out) {
          if (req.chunk_id() != kChunk) return Status::NotFound("no such chunk");
          *out = data_.substr(req.offset(), req.length());
          resp->set_length(static_cast<uint32_t>(out->size()));
          resp->set_data_crc(Crc32c(*out));
          return Status::Ok();
        });
    auto mp = master_.Start();
    auto cp = chunkserver_.Start();
    ASSERT_TRUE(mp.ok() && cp.ok());
    live_addr_ = "127.0.0.1:" + std::to_string(*cp);
    DfsClientOptions o;
    o.master = "127.0.0.1:" + std::to_string(*mp);
    client_ = std::make_unique<DfsClient>(o);
  }
  void TearDown() override {
    client_.reset();
    master_.Stop();
    chunkserver_.Stop();
  }
  // The file: one chunk of data_, on the given servers.
  StatResponse ListedOn(const std::vector<std::string>& addrs, uint64_t chunk_id = kChunk) {
    StatResponse s;
    s.mutable_info()->set_path("/f");
    s.mutable_info()->set_size(data_.size());
    ChunkInfo* c = s.add_chunks();
    c->set_chunk_id(chunk_id);
    c->set_length(data_.size());
    c->set_sealed(true);
    for (size_t i = 0; i < addrs.size(); ++i) {
      ReplicaLocation* r = c->add_replicas();
      r->set_server_id("cs" + std::to_string(i));
      r->set_addr(addrs[i]);
    }
    return s;
  }
  void List(StatResponse s) {
    std::lock_guard lock(mu_);
    listed_ = std::move(s);
  }
  int stats_served() {
    std::lock_guard lock(mu_);
    return stats_served_;
  }

  MetricsRegistry metrics_;
  rpc::RpcServer master_{rpc::RpcServerOptions{}, &metrics_};
  rpc::RpcServer chunkserver_{rpc::RpcServerOptions{}, &metrics_};
  std::string live_addr_;
  const std::string data_ = std::string(5000, 'x') + "the end";
  std::unique_ptr<DfsClient> client_;
  std::mutex mu_;
  StatResponse listed_;  // GUARDED_BY(mu_)
  int stats_served_ = 0;  // GUARDED_BY(mu_)
};

TEST_F(FileReaderRefreshTest, AChunkThatMovedIsReadFromItsNewReplicas) {
  // The reader opens while the chunk is listed on two servers that are gone;
  // by the time it reads, the master lists the chunk's new place.
  List(ListedOn({ClosedPort(), ClosedPort()}));
  auto reader = client_->OpenReader("/f");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  List(ListedOn({live_addr_}));
  std::string buf(data_.size(), '\0');
  auto got = (*reader)->ReadAt(0, buf.data(), buf.size());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data_.size());
  EXPECT_EQ(buf, data_);
  EXPECT_EQ((*reader)->location_refreshes(), 1u);
  EXPECT_EQ((*reader)->failovers(), 2u);  // both old replicas tried once
  EXPECT_EQ(stats_served(), 2);           // the open, and one refresh
  // The fresh locations are kept: the next read asks nobody but the replica.
  auto again = (*reader)->ReadAt(5000, buf.data(), 7);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(buf.substr(0, 7), "the end");
  EXPECT_EQ((*reader)->location_refreshes(), 1u);
  EXPECT_EQ(stats_served(), 2);
}

TEST_F(FileReaderRefreshTest, ALocationListThatDidNotChangeGivesTheReadError) {
  const std::string gone = ClosedPort();
  List(ListedOn({gone}));
  auto reader = client_->OpenReader("/f");
  ASSERT_TRUE(reader.ok());
  char buf[16];
  auto got = (*reader)->ReadAt(0, buf, sizeof buf);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable) << got.status().ToString();
  EXPECT_NE(got.status().ToString().find(gone), std::string::npos) << got.status().ToString();
  EXPECT_EQ((*reader)->location_refreshes(), 1u);  // asked once, tried the same place again, gave up
}

TEST_F(FileReaderRefreshTest, AFileWhoseChunkWasReplacedIsNotReadFromTheNewChunk) {
  // The file now holds another chunk at that offset (rewritten): reading it
  // in place of the old one would mix two versions of the file.
  List(ListedOn({ClosedPort()}));
  auto reader = client_->OpenReader("/f");
  ASSERT_TRUE(reader.ok());
  List(ListedOn({live_addr_}, kChunk + 1));
  char buf[16];
  auto got = (*reader)->ReadAt(0, buf, sizeof buf);
  EXPECT_FALSE(got.ok());
  EXPECT_EQ((*reader)->location_refreshes(), 1u);
}

}  // namespace
}  // namespace strata::dfs
