// The RPC authentication handshake and frame binding (rpc/auth.h): a good
// secret, a wrong one, none on either side, and frames replayed or altered
// on an authenticated connection.
#include "rpc/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "chunkserver.pb.h"
#include "common/metrics.h"
#include "env/random.h"
#include "env/testing/temp_dir.h"
#include "rpc/client.h"
#include "rpc/cluster_secret.h"
#include "rpc/direct_channel.h"
#include "rpc/server.h"

namespace strata::rpc {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kEcho = 1;

// Reproducible "secure" bytes: the handshake takes its nonces from here.
class SeededSecureRandom final : public SecureRandom {
 public:
  explicit SeededSecureRandom(uint64_t seed) : random_(seed) {}
  Status Fill(void* buf, size_t n) override {
    std::lock_guard lock(mu_);
    random_.Fill(buf, n);
    fills_++;
    return Status::Ok();
  }
  int fills() {
    std::lock_guard lock(mu_);
    return fills_;
  }

 private:
  std::mutex mu_;
  Random random_;
  int fills_ = 0;
};

std::shared_ptr<const RpcAuth> Auth(const std::string& secret, uint64_t seed = 1) {
  auto auth = std::make_shared<RpcAuth>();
  auth->secret = secret;
  auth->random = std::make_shared<SeededSecureRandom>(seed);
  return auth;
}

const std::string kSecret(32, 'k');
const std::string kOtherSecret(32, 'x');

std::string EchoRequest(uint64_t id) {
  dfs::ChunkInfoRequest req;
  req.set_chunk_id(id);
  return req.SerializeAsString();
}

class AuthTest : public ::testing::Test {
 protected:
  void StartServer(std::shared_ptr<const RpcAuth> auth) {
    server_ = std::make_unique<RpcServer>(RpcServerOptions{.auth = std::move(auth)}, &metrics_);
    server_->RegisterTyped<dfs::ChunkInfoRequest, dfs::ChunkInfoResponse>(
        kEcho, "echo", [this](const dfs::ChunkInfoRequest& req, std::string&, dfs::ChunkInfoResponse* resp,
                              std::string*) {
          served_++;
          resp->set_length(req.chunk_id());
          return Status::Ok();
        });
    ASSERT_TRUE(server_->Start().ok());
    endpoint_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  Result<RpcReply> CallWith(std::shared_ptr<const RpcAuth> auth, uint64_t id = 7) {
    RpcClient client(RpcClientOptions{.default_timeout_ms = 5000, .auth = std::move(auth)});
    return client.Call(endpoint_, kEcho, EchoRequest(id), "");
  }

  uint64_t AuthFailures() {
    return metrics_.GetCounter("strata_rpc_auth_failures_total", "")->Value();
  }
  // The server counts a refusal when its side of the handshake ends, which
  // may be just after the client saw it.
  bool WaitForAuthFailures(uint64_t n) {
    for (int i = 0; i < 200 && AuthFailures() < n; i++) std::this_thread::sleep_for(10ms);
    return AuthFailures() >= n;
  }

  MetricsRegistry metrics_;
  std::unique_ptr<RpcServer> server_;
  std::string endpoint_;
  std::atomic<int> served_{0};
};

TEST_F(AuthTest, SameSecretOnBothSidesIsServed) {
  StartServer(Auth(kSecret, 1));
  auto reply = CallWith(Auth(kSecret, 2), 42);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_TRUE(reply->status.ok()) << reply->status.ToString();
  dfs::ChunkInfoResponse resp;
  ASSERT_TRUE(resp.ParseFromString(reply->meta));
  EXPECT_EQ(resp.length(), 42u);
  EXPECT_EQ(AuthFailures(), 0u);
}

TEST_F(AuthTest, ManyCallsOnOneAuthenticatedConnectionStayInStep) {
  StartServer(Auth(kSecret));
  RpcClient client(RpcClientOptions{.connections_per_endpoint = 1, .auth = Auth(kSecret, 3)});
  std::vector<std::future<Result<RpcReply>>> calls;
  for (uint64_t i = 0; i < 200; i++) calls.push_back(client.CallAsync(endpoint_, kEcho, EchoRequest(i), ""));
  for (auto& f : calls) {
    auto r = f.get();
    ASSERT_TRUE(r.ok() && r->status.ok()) << (r.ok() ? r->status.ToString() : r.status().ToString());
  }
  EXPECT_EQ(served_.load(), 200);
}

TEST_F(AuthTest, WrongSecretIsRefusedAndCounted) {
  StartServer(Auth(kSecret));
  auto reply = CallWith(Auth(kOtherSecret));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kPermissionDenied) << reply.status().ToString();
  EXPECT_NE(reply.status().message().find("did not prove that it knows the cluster secret"), std::string::npos)
      << reply.status().message();
  EXPECT_TRUE(WaitForAuthFailures(1));
  EXPECT_EQ(served_.load(), 0);
}

TEST_F(AuthTest, ClientWithoutSecretIsRefusedWithTheReason) {
  StartServer(Auth(kSecret));
  auto reply = CallWith(nullptr);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();  // the server's answer
  EXPECT_EQ(reply->status.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(reply->status.message().find("authentication required"), std::string::npos) << reply->status.message();
  EXPECT_TRUE(WaitForAuthFailures(1));
  EXPECT_EQ(served_.load(), 0);
}

TEST_F(AuthTest, ServerWithoutSecretIsNotTrustedByAClientWithOne) {
  StartServer(nullptr);
  auto reply = CallWith(Auth(kSecret));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kPermissionDenied) << reply.status().ToString();
  EXPECT_EQ(served_.load(), 0);
}

TEST_F(AuthTest, NoSecretOnEitherSideIsAuthenticationOff) {
  StartServer(nullptr);
  auto reply = CallWith(nullptr);
  ASSERT_TRUE(reply.ok() && reply->status.ok());
  EXPECT_EQ(served_.load(), 1);
}

TEST_F(AuthTest, NoncesComeFromTheInjectedRandomness) {
  auto server_auth = Auth(kSecret, 1);
  auto client_auth = Auth(kSecret, 2);
  StartServer(server_auth);
  ASSERT_TRUE(CallWith(client_auth).ok());
  EXPECT_EQ(static_cast<SeededSecureRandom*>(server_auth->random.get())->fills(), 1);
  EXPECT_EQ(static_cast<SeededSecureRandom*>(client_auth->random.get())->fills(), 1);
}

TEST_F(AuthTest, DirectChannelAuthenticatesToo) {
  StartServer(Auth(kSecret));
  DirectChannel good(endpoint_, {}, Auth(kSecret));
  ASSERT_TRUE(good.Connect(2000).ok());
  auto id = good.Send(kEcho, MakeFrameBody(EchoRequest(5), ""), 2000);
  ASSERT_TRUE(id.ok());
  std::vector<DirectChannel::Arrived> arrived;
  for (int i = 0; i < 200 && arrived.empty(); i++) {
    DirectChannel* c = &good;
    DirectChannel::WaitAny({&c, 1}, 10000);
    ASSERT_TRUE(good.Pump(&arrived).ok());
  }
  ASSERT_EQ(arrived.size(), 1u);
  EXPECT_TRUE(arrived[0].reply.status.ok());

  DirectChannel wrong(endpoint_, {}, Auth(kOtherSecret));
  Status st = wrong.Connect(2000);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_EQ(served_.load(), 1);
}

// A peer that runs the handshake by hand on a blocking socket, to send
// frames as an attacker on the path would: replayed or altered.
class RawPeer {
 public:
  RawPeer(int port, const RpcAuth& auth) : socket_(io_) {
    socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
    ClientHandshake hs(auth);
    asio::write(socket_, asio::buffer(*hs.Hello()));
    std::string challenge(kChallengeBytes, '\0');
    asio::read(socket_, asio::buffer(challenge));
    asio::write(socket_, asio::buffer(*hs.OnChallenge(challenge)));
    std::string verdict(kVerdictHeaderBytes, '\0');
    asio::read(socket_, asio::buffer(verdict));
    EXPECT_TRUE(hs.OnVerdict(verdict, "").ok());
    session_ = hs.TakeSession();
  }
  // The bytes of a sealed request frame.
  std::string Sealed(uint64_t request_id, uint64_t chunk_id) {
    FrameHeader h;
    h.method = kEcho;
    h.request_id = request_id;
    OutFrame f = MakeOutFrame(h, EchoRequest(chunk_id), "");
    session_.send->Seal(f);
    return std::string(f.header, kFrameHeaderSize) + std::string(f.tag, f.tag_len) + f.body->meta;
  }
  void Send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  // Reads one reply and checks its tag; false when the server closed instead.
  bool ReadReply() {
    char head[kFrameHeaderSize + kFrameTagBytes];
    asio::error_code ec;
    asio::read(socket_, asio::buffer(head), ec);
    if (ec) return false;
    auto h = DecodeFrameHeader(head, FrameLimits{});
    EXPECT_TRUE(h.ok());
    std::string meta(h->meta_len, '\0');
    asio::read(socket_, asio::buffer(meta), ec);
    EXPECT_TRUE(session_.receive->Verify(head, meta, head + kFrameHeaderSize));
    return !ec;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  Session session_;
};

TEST_F(AuthTest, ReplayedFrameClosesTheConnectionWithoutBeingServed) {
  StartServer(Auth(kSecret));
  RawPeer peer(server_->port(), *Auth(kSecret, 9));
  const std::string first = peer.Sealed(1, 10);
  peer.Send(first);
  ASSERT_TRUE(peer.ReadReply());
  EXPECT_EQ(served_.load(), 1);
  peer.Send(first);  // the same bytes again: its tag was for frame 0
  EXPECT_FALSE(peer.ReadReply());
  EXPECT_EQ(served_.load(), 1);
  EXPECT_GE(metrics_.GetCounter("strata_rpc_protocol_errors_total", "")->Value(), 1u);
}

TEST_F(AuthTest, AlteredFrameClosesTheConnectionWithoutBeingServed) {
  StartServer(Auth(kSecret));
  RawPeer peer(server_->port(), *Auth(kSecret, 9));
  std::string frame = peer.Sealed(1, 10);
  // Another message under the same tag, with its CRCs made right again: only
  // the tag can tell.
  FrameHeader h;
  h.method = kEcho;
  h.request_id = 1;
  OutFrame forged = MakeOutFrame(h, EchoRequest(11), "");
  frame = std::string(forged.header, kFrameHeaderSize) + frame.substr(kFrameHeaderSize, kFrameTagBytes) +
          forged.body->meta;
  peer.Send(frame);
  EXPECT_FALSE(peer.ReadReply());
  EXPECT_EQ(served_.load(), 0);
}

TEST_F(AuthTest, UnsealedFrameAfterTheHandshakeClosesTheConnection) {
  StartServer(Auth(kSecret));
  RawPeer peer(server_->port(), *Auth(kSecret, 9));
  FrameHeader h;
  h.method = kEcho;
  h.request_id = 1;
  OutFrame plain = MakeOutFrame(h, EchoRequest(1), std::string(100, 'b'));  // longer than a tag
  peer.Send(std::string(plain.header, kFrameHeaderSize) + plain.body->meta + plain.body->bulk);
  EXPECT_FALSE(peer.ReadReply());
  EXPECT_EQ(served_.load(), 0);
}

TEST(FrameMacTest, TagsFollowTheDirectionAndTheOrder) {
  FrameMac sender("key-one-key-one-key-one-key-one!");
  FrameMac receiver("key-one-key-one-key-one-key-one!");
  FrameHeader h;
  h.method = 3;
  OutFrame a = MakeOutFrame(h, "meta-a", "");
  OutFrame b = MakeOutFrame(h, "meta-b", "");
  sender.Seal(a);
  sender.Seal(b);
  EXPECT_EQ(a.tag_len, kFrameTagBytes);
  FrameMac foreign("key-two-key-two-key-two-key-two!");
  EXPECT_FALSE(foreign.Verify(a.header, a.body->meta, a.tag));  // another key
  EXPECT_FALSE(receiver.Verify(b.header, b.body->meta, b.tag));  // b is frame 1, receiver expects 0
  FrameMac fresh("key-one-key-one-key-one-key-one!");
  EXPECT_TRUE(fresh.Verify(a.header, a.body->meta, a.tag));
  EXPECT_TRUE(fresh.Verify(b.header, b.body->meta, b.tag));
  EXPECT_FALSE(fresh.Verify(b.header, b.body->meta, b.tag));  // replayed
}

TEST(ClusterSecretTest, CreatedOnceWithMode0600AndReused) {
  TempDir dir("cluster_secret");
  const std::string path = dir.path() + "/cluster.secret";
  SeededSecureRandom random(5);
  ASSERT_TRUE(CreateClusterSecretIfMissing(path, random).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto first = ReadClusterSecret(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), kSecretBytes);
  SeededSecureRandom other(6);
  ASSERT_TRUE(CreateClusterSecretIfMissing(path, other).ok());
  EXPECT_EQ(*ReadClusterSecret(path), *first);  // kept, not replaced

  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto open_to_all = ReadClusterSecret(path);
  EXPECT_EQ(open_to_all.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(open_to_all.status().message().find("chmod 600"), std::string::npos);
  EXPECT_EQ(ReadClusterSecret(dir.path() + "/none").status().code(), StatusCode::kNotFound);
  {
    std::ofstream(dir.path() + "/short") << "abc\n";
  }
  ASSERT_EQ(::chmod((dir.path() + "/short").c_str(), 0600), 0);
  EXPECT_EQ(ReadClusterSecret(dir.path() + "/short").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*LoadRpcAuth(""), nullptr);
}

}  // namespace
}  // namespace strata::rpc
