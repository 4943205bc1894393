#include "rpc/direct_channel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "chunkserver.pb.h"
#include "common/metrics.h"
#include "rpc/server.h"

namespace strata::rpc {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kEcho = 1;        // on the workers
constexpr uint32_t kInlineEcho = 2;  // on the I/O thread
constexpr uint32_t kFail = 3;
constexpr uint32_t kRecord = 4;  // notes the order it ran in; odd ids inline

class DirectChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RpcServer>(RpcServerOptions{}, &metrics_);
    auto echo = [](const dfs::ChunkInfoRequest& req, std::string& bulk, dfs::ChunkInfoResponse* resp,
                   std::string* out) {
      resp->set_length(req.chunk_id() + bulk.size());
      *out = std::string(bulk.rbegin(), bulk.rend());
      return Status::Ok();
    };
    server_->RegisterTyped<dfs::ChunkInfoRequest, dfs::ChunkInfoResponse>(kEcho, "echo", echo);
    server_->RegisterTyped<dfs::ChunkInfoRequest, dfs::ChunkInfoResponse>(
        kInlineEcho, "inline_echo", echo, [](const dfs::ChunkInfoRequest&, const std::string&) { return true; });
    server_->RegisterTyped<dfs::ChunkInfoRequest, dfs::ChunkInfoResponse>(
        kFail, "fail", [](const dfs::ChunkInfoRequest&, std::string&, dfs::ChunkInfoResponse*, std::string*) {
          return Status::Corruption("block 3 checksum mismatch");
        });
    server_->RegisterTyped<dfs::ChunkInfoRequest, dfs::ChunkInfoResponse>(
        kRecord, "record",
        [this](const dfs::ChunkInfoRequest& req, std::string&, dfs::ChunkInfoResponse*, std::string*) {
          // Later requests take less time: run in parallel, they would finish first.
          std::this_thread::sleep_for(std::chrono::microseconds(2000 - 30 * req.chunk_id()));
          std::lock_guard lock(mu_);
          ran_.push_back(req.chunk_id());
          return Status::Ok();
        },
        [](const dfs::ChunkInfoRequest& req, const std::string&) { return req.chunk_id() % 2 == 1; });
    ASSERT_TRUE(server_->Start().ok());
    endpoint_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override { server_->Stop(); }

  static std::shared_ptr<const FrameBody> Request(uint64_t id, std::string bulk) {
    dfs::ChunkInfoRequest req;
    req.set_chunk_id(id);
    return MakeFrameBody(req.SerializeAsString(), std::move(bulk));
  }

  // Pumps `channels` until `want` replies arrived in all, or 10 s passed.
  static std::map<uint64_t, RpcReply> Collect(std::vector<DirectChannel*> channels, size_t want, Status* error) {
    std::map<uint64_t, RpcReply> got;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
      DirectChannel::WaitAny(channels, 100'000);
      for (auto* c : channels) {
        std::vector<DirectChannel::Arrived> arrived;
        Status st = c->Pump(&arrived);
        if (!st.ok()) {
          *error = st;
          return got;
        }
        for (auto& a : arrived) got[a.request_id] = std::move(a.reply);
      }
    }
    return got;
  }

  MetricsRegistry metrics_;
  std::unique_ptr<RpcServer> server_;
  std::string endpoint_;
  std::mutex mu_;
  std::vector<uint64_t> ran_;  // GUARDED_BY(mu_)
};

TEST_F(DirectChannelTest, RepliesArriveByRequestIdOnSeveralChannels) {
  DirectChannel a(endpoint_), b(endpoint_);
  ASSERT_TRUE(a.Connect(2000).ok());
  ASSERT_TRUE(b.Connect(2000).ok());
  std::map<uint64_t, uint64_t> expected_length;  // request id on `a` -> length
  for (uint64_t i = 1; i <= 20; ++i) {
    auto id = a.Send(i % 2 ? kInlineEcho : kEcho, Request(i, std::string(i, 'q')), 5000);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    expected_length[*id] = 2 * i;
  }
  auto failed = b.Send(kFail, Request(1, ""), 5000);
  ASSERT_TRUE(failed.ok());
  Status error;
  auto from_a = Collect({&a}, 20, &error);
  ASSERT_TRUE(error.ok()) << error.ToString();
  ASSERT_EQ(from_a.size(), 20u);
  for (auto& [id, reply] : from_a) {
    ASSERT_TRUE(reply.status.ok()) << reply.status.ToString();
    dfs::ChunkInfoResponse resp;
    ASSERT_TRUE(resp.ParseFromString(reply.meta));
    EXPECT_EQ(resp.length(), expected_length[id]);
  }
  auto from_b = Collect({&b}, 1, &error);
  ASSERT_EQ(from_b.size(), 1u);
  EXPECT_EQ(from_b.begin()->second.status.code(), StatusCode::kCorruption);
  EXPECT_EQ(from_b.begin()->second.status.message(), "block 3 checksum mismatch");
  EXPECT_TRUE(b.broken().ok()) << "a server error is an answer, not a broken channel";
}

// Frames far larger than the socket buffers go out and come back in pieces.
TEST_F(DirectChannelTest, LargeFramesArriveWhole) {
  DirectChannel c(endpoint_);
  ASSERT_TRUE(c.Connect(2000).ok());
  std::string data(3u << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  const std::string reversed(data.rbegin(), data.rend());
  for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(c.Send(i % 2 ? kInlineEcho : kEcho, Request(i, data), 20000).ok());
  Status error;
  auto got = Collect({&c}, 3, &error);
  ASSERT_TRUE(error.ok()) << error.ToString();
  ASSERT_EQ(got.size(), 3u);
  for (auto& [id, reply] : got) EXPECT_TRUE(reply.bulk == reversed) << "request " << id;
}

// Ordered requests of a channel run one at a time in the order sent, whether
// inline on the I/O thread or on the workers (sent unordered, the pooled
// ones overtake each other and the inline ones).
TEST_F(DirectChannelTest, OrderedRequestsRunInOrder) {
  DirectChannel c(endpoint_);
  ASSERT_TRUE(c.Connect(2000).ok());
  for (uint64_t i = 1; i <= 40; ++i) ASSERT_TRUE(c.Send(kRecord, Request(i, ""), 10000, /*ordered=*/true).ok());
  Status error;
  ASSERT_EQ(Collect({&c}, 40, &error).size(), 40u) << error.ToString();
  std::vector<uint64_t> expected(40);
  for (uint64_t i = 0; i < 40; ++i) expected[i] = i + 1;
  std::lock_guard lock(mu_);
  EXPECT_EQ(ran_, expected);
}

TEST_F(DirectChannelTest, RefusedOrLostConnectionBreaksTheChannel) {
  DirectChannel bad("127.0.0.1:1");
  EXPECT_EQ(bad.Connect(2000).code(), StatusCode::kUnavailable);
  EXPECT_EQ(bad.Send(kEcho, Request(1, ""), 1000).status().code(), StatusCode::kUnavailable);
  DirectChannel malformed("no-port");
  EXPECT_EQ(malformed.Connect(2000).code(), StatusCode::kInvalidArgument);

  DirectChannel c(endpoint_);
  ASSERT_TRUE(c.Connect(2000).ok());
  ASSERT_TRUE(c.Send(kEcho, Request(1, "x"), 5000).ok());
  Status error;
  ASSERT_EQ(Collect({&c}, 1, &error).size(), 1u);
  server_->Stop();
  auto got = Collect({&c}, 1, &error);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(error.code(), StatusCode::kUnavailable) << error.ToString();
  EXPECT_EQ(c.broken().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace strata::rpc
