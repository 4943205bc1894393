// What a server spends on its peers: connections are bounded in number and
// idle time, frame memory is reserved against a server-wide budget and
// allocated only as the bytes arrive, and an idle connection holds no frame
// buffer. Raw sockets on 127.0.0.1 stand in for misbehaving peers; memory is
// read from the server's accounting gauges, never from RSS, and every wait
// polls a condition against a deadline.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chunkserver.pb.h"
#include "common/testing/loopback_conn.h"
#include "rpc/client.h"
#include "rpc/server.h"

namespace strata::rpc {
namespace {

using dfs::ChunkInfoRequest;
using dfs::ChunkInfoResponse;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kEcho = 1;
constexpr uint32_t kSlow = 3;

// Polls `cond` until it holds or `ms` pass.
bool WaitFor(const std::function<bool()>& cond, int ms = 5000) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  while (!cond()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// One request frame for `method` with an echo request message.
std::string RequestFrame(uint32_t method, uint64_t id, const std::string& bulk, uint32_t declared_bulk = 0) {
  ChunkInfoRequest req;
  req.set_chunk_id(id);
  const std::string meta = req.SerializeAsString();
  FrameHeader h;
  h.method = method;
  h.request_id = id;
  h.meta_len = static_cast<uint32_t>(meta.size());
  h.bulk_len = declared_bulk ? declared_bulk : static_cast<uint32_t>(bulk.size());
  h.body_crc = BodyCrc(meta, bulk);
  char header[kFrameHeaderSize];
  EncodeFrameHeader(h, header);
  return std::string(header, kFrameHeaderSize) + meta + bulk;
}

// A blocking TCP connection to the server, driven byte by byte.
class RawConn : public testing::LoopbackConn {
 public:
  using LoopbackConn::LoopbackConn;

  // Reads exactly `n` bytes within `ms`; false on EOF, error or timeout.
  bool Read(size_t n, std::string* out, int ms = 5000) {
    out->assign(n, '\0');
    size_t at = 0;
    const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    while (at < n) {
      if (!Readable(deadline)) return false;
      ssize_t got = ::recv(fd_, out->data() + at, n - at, 0);
      if (got <= 0) return false;
      at += static_cast<size_t>(got);
    }
    return true;
  }

  // Reads one reply frame: its header, message and bulk.
  bool ReadReply(FrameHeader* h, std::string* meta, std::string* bulk, int ms = 5000) {
    std::string header;
    if (!Read(kFrameHeaderSize, &header, ms)) return false;
    auto decoded = DecodeFrameHeader(header.data(), FrameLimits{});
    if (!decoded.ok()) return false;
    *h = *decoded;
    return Read(h->meta_len, meta, ms) && Read(h->bulk_len, bulk, ms);
  }

  // True when the server closed the connection within `ms` (bytes it sent
  // before are skipped).
  bool ClosedWithin(int ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    char buf[4096];
    for (;;) {
      if (!Readable(deadline)) return false;
      ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got <= 0) return true;
    }
  }

};

class RpcLimitsTest : public ::testing::Test {
 protected:
  void StartServer(RpcServerOptions options) {
    server_ = std::make_unique<RpcServer>(options, &metrics_);
    server_->RegisterTyped<ChunkInfoRequest, ChunkInfoResponse>(
        kEcho, "echo", [](const ChunkInfoRequest& req, std::string& bulk, ChunkInfoResponse* resp, std::string* out) {
          resp->set_length(req.chunk_id() + bulk.size());
          *out = std::string(bulk.rbegin(), bulk.rend());
          return Status::Ok();
        });
    server_->RegisterTyped<ChunkInfoRequest, ChunkInfoResponse>(
        kSlow, "slow", [this](const ChunkInfoRequest&, std::string&, ChunkInfoResponse*, std::string*) {
          std::unique_lock lock(mu_);
          slow_running_++;
          cv_.wait(lock, [this] { return release_; });
          return Status::Ok();
        });
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
  }
  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      release_ = true;
    }
    cv_.notify_all();
    if (server_) server_->Stop();
  }

  double Gauge(const std::string& name) { return metrics_.GetGauge(name, "")->Value(); }
  uint64_t Count(const std::string& name) { return metrics_.GetCounter(name, "")->Value(); }
  double Allocated() { return Gauge("strata_rpc_frame_bytes_allocated"); }
  double Reserved() { return Gauge("strata_rpc_frame_bytes_reserved"); }

  // An echo through a real client answers (the server still serves).
  void ExpectEchoWorks() {
    RpcClient client;
    ChunkInfoRequest req;
    req.set_chunk_id(40);
    ChunkInfoResponse resp;
    std::string out;
    Status st = client.CallTyped("127.0.0.1:" + std::to_string(port_), kEcho, req, &resp, "ab", &out, 5000);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(resp.length(), 42u);
    EXPECT_EQ(out, "ba");
  }

  // Sends an echo on `c` and checks the reply.
  void EchoOn(RawConn& c, uint64_t id, const std::string& bulk) {
    ASSERT_TRUE(c.Send(RequestFrame(kEcho, id, bulk)));
    FrameHeader h;
    std::string meta, out;
    ASSERT_TRUE(c.ReadReply(&h, &meta, &out));
    EXPECT_EQ(h.status, 0);
    EXPECT_EQ(h.request_id, id);
    EXPECT_EQ(out, std::string(bulk.rbegin(), bulk.rend()));
  }

  MetricsRegistry metrics_;
  std::unique_ptr<RpcServer> server_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool release_ = false;  // GUARDED_BY(mu_)
  int slow_running_ = 0;  // GUARDED_BY(mu_); slow handlers entered
};

// Issue 12 #7: 2,000 idle connections cost the master 160 MB, a 64 KiB read
// buffer each. A connection between frames holds no buffer.
TEST_F(RpcLimitsTest, IdleConnectionsHoldNoFrameBuffers) {
  StartServer(RpcServerOptions{});
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 200; ++i) {
    conns.push_back(std::make_unique<RawConn>(port_));
    ASSERT_TRUE(conns.back()->connected());
    EchoOn(*conns.back(), static_cast<uint64_t>(i + 1), std::string(100, 'x'));
  }
  EXPECT_TRUE(WaitFor([&] { return Allocated() == 0; })) << "idle connections hold " << Allocated() << " bytes";
  EXPECT_EQ(Gauge("strata_rpc_connections"), 200);
  ExpectEchoWorks();
  EXPECT_TRUE(WaitFor([&] { return Allocated() == 0 && Reserved() == 0; }));
}

// Issue 12 #8: a header declaring an 80 MiB bulk made the server allocate
// 80 MiB before any byte of it came. Memory follows the bytes that arrived;
// the whole declared body is reserved against the server's budget.
TEST_F(RpcLimitsTest, DeclaredBodiesAreAllocatedAsTheyArrive) {
  constexpr uint32_t kDeclared = 4u << 20;
  StartServer(RpcServerOptions{.limits = {.max_meta_bytes = 1 << 16, .max_bulk_bytes = kDeclared}});
  const std::string sent(1000, 'b');
  std::vector<std::unique_ptr<RawConn>> conns;
  std::vector<std::string> frames;
  for (int i = 0; i < 8; ++i) {
    std::string full(kDeclared, static_cast<char>('a' + i));
    full.replace(0, sent.size(), sent);
    frames.push_back(RequestFrame(kEcho, static_cast<uint64_t>(i + 1), full));
    conns.push_back(std::make_unique<RawConn>(port_));
    ASSERT_TRUE(conns.back()->Send(frames.back().substr(0, frames.back().size() - kDeclared + sent.size())));
  }
  const double declared_total = 8.0 * (frames[0].size() - kFrameHeaderSize);
  EXPECT_TRUE(WaitFor([&] { return Reserved() == declared_total; })) << "reserved " << Reserved();
  // Eight read buffers and what arrived: nowhere near 8 x 4 MiB.
  EXPECT_LE(Allocated(), 8.0 * (256 << 10)) << "allocated for 8 KB of bodies";
  ExpectEchoWorks();
  // The rest arrives: the frame is read whole and answered.
  ASSERT_TRUE(conns[0]->Send(frames[0].substr(frames[0].size() - kDeclared + sent.size())));
  FrameHeader h;
  std::string meta, out;
  ASSERT_TRUE(conns[0]->ReadReply(&h, &meta, &out));
  EXPECT_EQ(h.status, 0);
  EXPECT_EQ(out.size(), kDeclared);
  EXPECT_EQ(out.substr(kDeclared - sent.size()), sent);
  EXPECT_TRUE(WaitFor([&] { return Reserved() == declared_total * 7 / 8; })) << "reserved " << Reserved();
}

// Frames beyond the server's budget wait for memory instead of taking it;
// a frame that does not come whole in time is dropped with its connection.
TEST_F(RpcLimitsTest, FramesWaitForTheServersMemoryBudget) {
  constexpr uint32_t kDeclared = 4u << 20;
  StartServer(RpcServerOptions{.frame_timeout_ms = 2000,
                               .max_frame_bytes_total = 6u << 20,
                               .limits = {.max_meta_bytes = 1 << 16, .max_bulk_bytes = kDeclared}});
  const std::string a = RequestFrame(kEcho, 1, std::string(kDeclared, 'a'));
  const std::string b = RequestFrame(kEcho, 2, std::string(kDeclared, 'b'));
  const double one = static_cast<double>(a.size() - kFrameHeaderSize);
  RawConn ca(port_), cb(port_);
  ASSERT_TRUE(ca.Send(a.substr(0, 100)));
  ASSERT_TRUE(WaitFor([&] { return Reserved() == one; }));
  ASSERT_TRUE(cb.Send(b.substr(0, 100)));
  ASSERT_TRUE(WaitFor([&] { return Count("strata_rpc_frame_memory_waits_total") == 1; }));
  EXPECT_EQ(Reserved(), one);
  ASSERT_TRUE(ca.Send(a.substr(100)));
  FrameHeader h;
  std::string meta, out;
  ASSERT_TRUE(ca.ReadReply(&h, &meta, &out));
  EXPECT_EQ(out, std::string(kDeclared, 'a'));
  ASSERT_TRUE(WaitFor([&] { return Reserved() == one; }));  // b's turn
  ASSERT_TRUE(cb.Send(b.substr(100)));
  ASSERT_TRUE(cb.ReadReply(&h, &meta, &out));
  EXPECT_EQ(out, std::string(kDeclared, 'b'));
  // A peer that stops in the middle of a frame is closed and its memory returned.
  RawConn stalled(port_);
  ASSERT_TRUE(stalled.Send(a.substr(0, 100)));
  EXPECT_TRUE(stalled.ClosedWithin(10000));
  EXPECT_TRUE(WaitFor([&] { return Reserved() == 0 && Allocated() == 0; })) << Reserved() << " " << Allocated();
  ExpectEchoWorks();
}

// A frame larger than the budget could ever hold is refused, not waited for.
TEST_F(RpcLimitsTest, BudgetSmallerThanAFrameIsRejectedAtStart) {
  RpcServer server(RpcServerOptions{.max_frame_bytes_total = 1u << 20, .limits = {.max_bulk_bytes = 4u << 20}},
                   &metrics_);
  EXPECT_EQ(server.Start().status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RpcLimitsTest, IdleConnectionsAreClosedButBusyOnesStay) {
  StartServer(RpcServerOptions{.idle_timeout_ms = 200});
  RawConn idle(port_), used(port_), busy(port_);
  EchoOn(used, 1, "x");
  ASSERT_TRUE(busy.Send(RequestFrame(kSlow, 2, "")));
  EXPECT_TRUE(idle.ClosedWithin(5000));
  EXPECT_TRUE(used.ClosedWithin(5000));
  EXPECT_FALSE(busy.ClosedWithin(600)) << "a connection with a request in flight is not idle";
  EXPECT_GE(Count("strata_rpc_connections_closed_idle_total"), 2u);
  ExpectEchoWorks();
}

// At the connection limit the longest-idle connection makes room for a new
// one; when none is idle the newcomer is refused. Either way the server keeps
// answering.
TEST_F(RpcLimitsTest, ConnectionLimitEvictsTheIdlestThenRefuses) {
  StartServer(RpcServerOptions{.max_connections = 4});
  std::vector<std::unique_ptr<RawConn>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<RawConn>(port_));
    EchoOn(*idle.back(), static_cast<uint64_t>(i + 1), "y");
  }
  ExpectEchoWorks();
  EXPECT_TRUE(idle[0]->ClosedWithin(5000)) << "the longest-idle connection made room";
  EXPECT_LE(Gauge("strata_rpc_connections"), 4);
  std::vector<std::unique_ptr<RawConn>> busy;
  for (int i = 0; i < 4; ++i) {
    busy.push_back(std::make_unique<RawConn>(port_));
    ASSERT_TRUE(busy.back()->Send(RequestFrame(kSlow, 10 + static_cast<uint64_t>(i), "")));
    ASSERT_TRUE(WaitFor([&] {
      std::lock_guard lock(mu_);
      return slow_running_ == i + 1;
    }));
  }
  ASSERT_TRUE(WaitFor([&] { return Gauge("strata_rpc_connections") == 4; }));
  RawConn refused(port_);
  EXPECT_TRUE(refused.ClosedWithin(5000));
  EXPECT_GE(Count("strata_rpc_connections_refused_total"), 1u);
}

}  // namespace
}  // namespace strata::rpc
