#include <gtest/gtest.h>

#include <asio.hpp>
#include <atomic>
#include <condition_variable>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "chunkserver.pb.h"
#include "rpc/client.h"
#include "rpc/server.h"

namespace strata::rpc {
namespace {

using dfs::ChunkInfoRequest;
using dfs::ChunkInfoResponse;

constexpr uint32_t kEcho = 1;
constexpr uint32_t kFail = 2;
constexpr uint32_t kSlow = 3;
constexpr uint32_t kInlineEcho = 4;

class RpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RpcServer>(
        RpcServerOptions{.limits = {.max_meta_bytes = 1 << 16, .max_bulk_bytes = 4 << 20}}, &metrics_);
    // Echo: length = chunk_id + bulk size, bulk reversed back.
    server_->RegisterTyped<ChunkInfoRequest, ChunkInfoResponse>(
        kEcho, "echo", [](const ChunkInfoRequest& req, std::string& bulk, ChunkInfoResponse* resp, std::string* out) {
          resp->set_length(req.chunk_id() + bulk.size());
          *out = std::string(bulk.rbegin(), bulk.rend());
          return Status::Ok();
        });
    // The same echo, inline on the I/O thread for odd chunk ids.
    server_->RegisterTyped<ChunkInfoRequest, ChunkInfoResponse>(
        kInlineEcho, "inline_echo",
        [this](const ChunkInfoRequest& req, std::string& bulk, ChunkInfoResponse* resp, std::string* out) {
          resp->set_length(req.chunk_id() + bulk.size());
          *out = std::string(bulk.rbegin(), bulk.rend());
          std::lock_guard lock(mu_);
          (req.chunk_id() % 2 ? inline_threads_ : pooled_threads_).insert(std::this_thread::get_id());
          return Status::Ok();
        },
        [](const ChunkInfoRequest& req, const std::string&) { return req.chunk_id() % 2 == 1; });
    server_->RegisterTyped<ChunkInfoRequest, ChunkInfoResponse>(
        kFail, "fail", [](const ChunkInfoRequest&, std::string&, ChunkInfoResponse*, std::string*) {
          return Status::Corruption("block 3 checksum mismatch");
        });
    server_->RegisterTyped<ChunkInfoRequest, ChunkInfoResponse>(
        kSlow, "slow", [this](const ChunkInfoRequest&, std::string&, ChunkInfoResponse*, std::string*) {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [this] { return release_; });
          return Status::Ok();
        });
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    endpoint_ = "127.0.0.1:" + std::to_string(*port);
  }
  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      release_ = true;
    }
    cv_.notify_all();
    server_->Stop();
  }

  // Sends raw bytes to the server on a fresh connection and reports whether
  // the server closed it.
  bool ServerClosesAfter(const std::string& bytes) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(server_->port())));
    asio::write(s, asio::buffer(bytes));
    char buf[64];
    asio::error_code ec;
    s.read_some(asio::buffer(buf), ec);  // blocks until the server closes
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  void ExpectEchoWorks() {
    RpcClient client;
    ChunkInfoRequest req;
    req.set_chunk_id(40);
    ChunkInfoResponse resp;
    std::string out;
    ASSERT_TRUE(client.CallTyped(endpoint_, kEcho, req, &resp, "ab", &out).ok());
    EXPECT_EQ(resp.length(), 42u);
    EXPECT_EQ(out, "ba");
  }

  MetricsRegistry metrics_;
  std::unique_ptr<RpcServer> server_;
  std::string endpoint_;
  std::mutex mu_;
  std::set<std::thread::id> inline_threads_;  // GUARDED_BY(mu_); where inline_echo ran inline
  std::set<std::thread::id> pooled_threads_;  // GUARDED_BY(mu_); where it ran on workers
  std::condition_variable cv_;
  bool release_ = false;
};

TEST_F(RpcTest, TypedCallWithBulk) {
  RpcClient client;
  ChunkInfoRequest req;
  req.set_chunk_id(5);
  std::string bulk(3 << 20, 'x');
  bulk[0] = 'a';
  ChunkInfoResponse resp;
  std::string out;
  ASSERT_TRUE(client.CallTyped(endpoint_, kEcho, req, &resp, bulk, &out).ok());
  EXPECT_EQ(resp.length(), 5u + (3 << 20));
  EXPECT_EQ(out.back(), 'a');
}

TEST_F(RpcTest, ServerErrorsAndUnknownMethods) {
  RpcClient client;
  ChunkInfoRequest req;
  ChunkInfoResponse resp;
  Status st = client.CallTyped(endpoint_, kFail, req, &resp);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(st.message(), "block 3 checksum mismatch");
  EXPECT_EQ(client.CallTyped(endpoint_, 999, req, &resp).code(), StatusCode::kNotSupported);
}

TEST_F(RpcTest, ManyConcurrentCalls) {
  RpcClient client;
  std::vector<std::future<Result<RpcReply>>> futures;
  for (int i = 0; i < 200; ++i) {
    ChunkInfoRequest req;
    req.set_chunk_id(static_cast<uint64_t>(i));
    futures.push_back(client.CallAsync(endpoint_, kEcho, req.SerializeAsString(), std::string(i, 'z')));
  }
  for (int i = 0; i < 200; ++i) {
    auto r = futures[i].get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ChunkInfoResponse resp;
    ASSERT_TRUE(resp.ParseFromString(r->meta));
    EXPECT_EQ(resp.length(), static_cast<uint64_t>(2 * i));
  }
}

// Each callback runs exactly once with its own call's outcome: replies,
// server errors, a deadline, an oversized request refused at once.
TEST_F(RpcTest, CallbacksGetEachCallsOutcomeOnce) {
  RpcClient client(RpcClientOptions{.limits = {.max_meta_bytes = 1 << 16, .max_bulk_bytes = 1 << 20}});
  constexpr int kCalls = 100;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> runs(kCalls + 3, 0);
  std::vector<Result<RpcReply>> outcomes(kCalls + 3, Status::Internal("not run"));
  int finished = 0;
  auto record = [&](int slot) {
    return [&, slot](Result<RpcReply> r) {
      std::lock_guard lock(mu);
      ++runs[slot];
      outcomes[slot] = std::move(r);
      ++finished;
      cv.notify_all();
    };
  };
  for (int i = 0; i < kCalls; ++i) {
    ChunkInfoRequest req;
    req.set_chunk_id(static_cast<uint64_t>(i));
    client.CallWithCallback(endpoint_, kEcho, req.SerializeAsString(), std::string(i, 'z'), 0, record(i));
  }
  client.CallWithCallback(endpoint_, kFail, ChunkInfoRequest().SerializeAsString(), "", 0, record(kCalls));
  client.CallWithCallback(endpoint_, kSlow, ChunkInfoRequest().SerializeAsString(), "", 50, record(kCalls + 1));
  client.CallWithCallback(endpoint_, kEcho, "", std::string((1 << 20) + 1, 'x'), 0, record(kCalls + 2));
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return finished >= kCalls + 3; }));
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(outcomes[i].ok()) << outcomes[i].status().ToString();
    ASSERT_TRUE(outcomes[i]->status.ok()) << outcomes[i]->status.ToString();
    ChunkInfoResponse resp;
    ASSERT_TRUE(resp.ParseFromString(outcomes[i]->meta));
    EXPECT_EQ(resp.length(), static_cast<uint64_t>(2 * i));
    EXPECT_EQ(outcomes[i]->bulk, std::string(i, 'z'));
  }
  ASSERT_TRUE(outcomes[kCalls].ok());
  EXPECT_EQ(outcomes[kCalls]->status.code(), StatusCode::kCorruption);
  EXPECT_EQ(outcomes[kCalls + 1].status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(outcomes[kCalls + 2].status().code(), StatusCode::kInvalidArgument);
  for (int r : runs) EXPECT_EQ(r, 1);
}

TEST_F(RpcTest, DeadlineExceeded) {
  RpcClient client;
  ChunkInfoRequest req;
  ChunkInfoResponse resp;
  EXPECT_EQ(client.CallTyped(endpoint_, kSlow, req, &resp, {}, nullptr, 50).code(), StatusCode::kDeadlineExceeded);
}

TEST_F(RpcTest, UnreachableServerIsUnavailable) {
  RpcClient client;
  ChunkInfoRequest req;
  ChunkInfoResponse resp;
  server_->Stop();
  EXPECT_EQ(client.CallTyped(endpoint_, kEcho, req, &resp).code(), StatusCode::kUnavailable);
  EXPECT_EQ(client.CallTyped("no-port", kEcho, req, &resp).code(), StatusCode::kInvalidArgument);
}

TEST_F(RpcTest, GarbageClosesOnlyThatConnection) {
  EXPECT_TRUE(ServerClosesAfter(std::string(100, 'G')));
  ExpectEchoWorks();
}

TEST_F(RpcTest, OversizedFrameClosesConnection) {
  FrameHeader h;
  h.method = kEcho;
  h.bulk_len = 1u << 30;  // 1 GiB announced: over the server's limit
  char header[kFrameHeaderSize];
  EncodeFrameHeader(h, header);
  EXPECT_TRUE(ServerClosesAfter(std::string(header, sizeof(header))));
  ExpectEchoWorks();
}

TEST_F(RpcTest, CorruptBodyClosesConnection) {
  FrameHeader h;
  h.method = kEcho;
  h.meta_len = 4;
  h.body_crc = 12345;  // wrong
  char header[kFrameHeaderSize];
  EncodeFrameHeader(h, header);
  EXPECT_TRUE(ServerClosesAfter(std::string(header, sizeof(header)) + "abcd"));
  ExpectEchoWorks();
  EXPECT_GE(metrics_.GetCounter("strata_rpc_protocol_errors_total", "")->Value(), 1u);
}

TEST_F(RpcTest, ClientReconnectsAfterServerRestart) {
  RpcClient client;
  ChunkInfoRequest req;
  ChunkInfoResponse resp;
  ASSERT_TRUE(client.CallTyped(endpoint_, kEcho, req, &resp).ok());
  int port = server_->port();
  server_->Stop();
  EXPECT_FALSE(client.CallTyped(endpoint_, kEcho, req, &resp).ok());
  server_ = std::make_unique<RpcServer>(RpcServerOptions{.port = port}, &metrics_);
  server_->RegisterTyped<ChunkInfoRequest, ChunkInfoResponse>(
      kEcho, "echo", [](const ChunkInfoRequest&, std::string&, ChunkInfoResponse* r, std::string*) {
        r->set_length(9);
        return Status::Ok();
      });
  ASSERT_TRUE(server_->Start().ok());
  Status st;
  for (int i = 0; i < 4; ++i) {  // each pooled connection notices the restart once
    st = client.CallTyped(endpoint_, kEcho, req, &resp);
    if (st.ok()) break;
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(resp.length(), 9u);
}

}  // namespace
}  // namespace strata::rpc

namespace strata::rpc {
namespace {

TEST(RpcClientTest, ConnectsOnceTheServerComesUp) {
  MetricsRegistry metrics;
  int port = 0;
  {
    RpcServer probe(RpcServerOptions{}, &metrics);
    port = *probe.Start();
  }
  std::string endpoint = "127.0.0.1:" + std::to_string(port);
  RpcClient client;
  ChunkInfoRequest req;
  ChunkInfoResponse resp;
  EXPECT_EQ(client.CallTyped(endpoint, kEcho, req, &resp, {}, nullptr, 1000).code(), StatusCode::kUnavailable);
  RpcServer server(RpcServerOptions{.port = port}, &metrics);
  server.RegisterTyped<ChunkInfoRequest, ChunkInfoResponse>(
      kEcho, "echo", [](const ChunkInfoRequest&, std::string&, ChunkInfoResponse* r, std::string*) {
        r->set_length(7);
        return Status::Ok();
      });
  ASSERT_TRUE(server.Start().ok());
  for (int i = 0; i < 3; ++i) {
    Status st = client.CallTyped(endpoint, kEcho, req, &resp, {}, nullptr, 1000);
    EXPECT_TRUE(st.ok()) << "attempt " << i << ": " << st.ToString();
  }
}

TEST_F(RpcTest, InlineRequestsRunOnTheIoThreadAndAnswerLikeOthers) {
  RpcClient client;
  for (uint64_t id = 1; id <= 40; ++id) {
    ChunkInfoRequest req;
    req.set_chunk_id(id);
    ChunkInfoResponse resp;
    std::string out;
    ASSERT_TRUE(client.CallTyped(endpoint_, kInlineEcho, req, &resp, "abc", &out, 5000).ok());
    EXPECT_EQ(resp.length(), id + 3);
    EXPECT_EQ(out, "cba");
  }
  // Odd ids ran inline on the single I/O thread, even ones on workers.
  std::lock_guard lock(mu_);
  ASSERT_EQ(inline_threads_.size(), 1u);
  EXPECT_EQ(pooled_threads_.count(*inline_threads_.begin()), 0u);
}

// Requests and replies far larger than a socket buffer leave the
// non-blocking sends half done: the write loop must carry on from there, on
// both sides, with calls interleaved on the same connections.
TEST_F(RpcTest, LargeFramesSentInPiecesArriveWhole) {
  RpcClientOptions options;
  options.connections_per_endpoint = 1;
  RpcClient client(options);
  std::string data(3u << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::string reversed(data.rbegin(), data.rend());
  std::vector<std::future<Result<RpcReply>>> calls;
  for (uint64_t id = 1; id <= 6; ++id) {
    ChunkInfoRequest req;
    req.set_chunk_id(id);  // odd ids inline on the I/O thread, even ones on workers
    calls.push_back(client.CallAsync(endpoint_, kInlineEcho, MakeFrameBody(req.SerializeAsString(), data), 20000));
  }
  for (auto& call : calls) {
    auto reply = call.get();
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    ASSERT_TRUE(reply->status.ok()) << reply->status.ToString();
    EXPECT_TRUE(reply->bulk == reversed);
  }
}

// Frames that share a segment, and a frame cut anywhere (even inside its
// header), are read whole: the server answers each one.
TEST_F(RpcTest, FramesSplitAndJoinedAnyhowAreEachAnswered) {
  auto frame = [](uint64_t id, const std::string& bulk) {
    ChunkInfoRequest req;
    req.set_chunk_id(id);
    std::string meta = req.SerializeAsString();
    FrameHeader h;
    h.method = kEcho;
    h.request_id = id;
    h.meta_len = static_cast<uint32_t>(meta.size());
    h.bulk_len = static_cast<uint32_t>(bulk.size());
    h.body_crc = BodyCrc(meta, bulk);
    char header[kFrameHeaderSize];
    EncodeFrameHeader(h, header);
    return std::string(header, kFrameHeaderSize) + meta + bulk;
  };
  const std::string first = frame(1, "a");
  std::string bytes = first + frame(2, std::string(100000, 'b')) + frame(3, "ccc");
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(server_->port())));
  s.set_option(asio::ip::tcp::no_delay(true));
  // Frame 1 and 20 bytes of frame 2's header in one write, then the rest in
  // pieces of odd sizes.
  size_t at = 0;
  for (size_t piece : {first.size() + 20, size_t{7}, size_t{50000}, size_t{3}}) {
    piece = std::min(piece, bytes.size() - at);
    asio::write(s, asio::buffer(bytes.data() + at, piece));
    at += piece;
  }
  asio::write(s, asio::buffer(bytes.data() + at, bytes.size() - at));
  std::set<uint64_t> answered;
  for (int i = 0; i < 3; ++i) {
    char header[kFrameHeaderSize];
    asio::read(s, asio::buffer(header));
    auto h = DecodeFrameHeader(header, FrameLimits{});
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(h->status, 0) << "request " << h->request_id;
    std::string body(h->meta_len + h->bulk_len, '\0');
    asio::read(s, asio::buffer(body));
    ChunkInfoResponse resp;
    ASSERT_TRUE(resp.ParseFromString(body.substr(0, h->meta_len)));
    const uint64_t bulk_len = h->request_id == 1 ? 1 : h->request_id == 2 ? 100000 : 3;
    EXPECT_EQ(resp.length(), h->request_id + bulk_len);
    answered.insert(h->request_id);
  }
  EXPECT_EQ(answered, (std::set<uint64_t>{1, 2, 3}));
}

// An asynchronous method answers from another thread, later and in any
// order: here the held requests are answered last-first, each with its own
// reply, and Stop() waits for one still unanswered.
TEST(RpcAsyncTest, AsynchronousRepliesComeFromAnyThreadInAnyOrderAndStopWaitsForThem) {
  MetricsRegistry metrics;
  auto server = std::make_unique<RpcServer>(RpcServerOptions{}, &metrics);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<uint64_t, RpcServer::Responder>> held;  // GUARDED_BY(mu)
  server->RegisterAsync(kEcho, "held_echo", [&](RpcRequest& req, RpcServer::Responder respond) {
    ChunkInfoRequest parsed;
    ASSERT_TRUE(parsed.ParseFromString(req.meta));
    std::lock_guard lock(mu);
    held.emplace_back(parsed.chunk_id(), std::move(respond));
    cv.notify_all();
  });
  auto port = server->Start();
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  const std::string endpoint = "127.0.0.1:" + std::to_string(*port);
  RpcClient client(RpcClientOptions{.connections_per_endpoint = 1});
  std::vector<std::future<Result<RpcReply>>> calls;
  for (uint64_t id = 1; id <= 3; ++id) {
    ChunkInfoRequest req;
    req.set_chunk_id(id);
    calls.push_back(client.CallAsync(endpoint, kEcho, req.SerializeAsString(), "", 5000));
  }
  std::vector<std::pair<uint64_t, RpcServer::Responder>> taken;
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return held.size() == 3; }));
    taken = std::move(held);
    held.clear();
  }
  // Answered last-first from a thread of this test's own.
  std::thread answerer([&] {
    for (auto it = taken.rbegin(); it != taken.rend(); ++it) {
      ChunkInfoResponse resp;
      resp.set_length(it->first * 10);
      Status st = it->first == 2 ? Status::Corruption("block 2 is bad") : Status::Ok();
      it->second(RpcReply{st, st.ok() ? resp.SerializeAsString() : "", ""});
    }
  });
  answerer.join();
  for (uint64_t id = 1; id <= 3; ++id) {
    auto reply = calls[id - 1].get();
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    if (id == 2) {
      EXPECT_EQ(reply->status.code(), StatusCode::kCorruption);
      continue;
    }
    ASSERT_TRUE(reply->status.ok()) << reply->status.ToString();
    ChunkInfoResponse resp;
    ASSERT_TRUE(resp.ParseFromString(reply->meta));
    EXPECT_EQ(resp.length(), id * 10);
  }
  // One more left unanswered: Stop() returns only after it was answered.
  ChunkInfoRequest req;
  req.set_chunk_id(4);
  auto last = client.CallAsync(endpoint, kEcho, req.SerializeAsString(), "", 5000);
  RpcServer::Responder pending;
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return held.size() == 1; }));
    pending = std::move(held[0].second);
    held.clear();
  }
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server->Stop();
    stopped = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Stop() may not return in this time
  EXPECT_FALSE(stopped.load());
  pending(RpcReply{Status::Ok(), "", ""});
  stopper.join();
  EXPECT_TRUE(stopped.load());
  EXPECT_EQ(metrics.GetCounter("strata_rpc_server_calls_total", "", "method=\"held_echo\"")->Value(), 4u);
}

}  // namespace
}  // namespace strata::rpc
