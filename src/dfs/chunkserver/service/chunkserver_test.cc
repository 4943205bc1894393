// Service-level tests: real chunkservers in-process over loopback RPC, and a
// fake master that records registrations and heartbeats and hands out
// commands.
#include "dfs/chunkserver/service/chunkserver.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "chunkserver.pb.h"
#include "common/crc32c.h"
#include "env/posix/posix_file_system.h"
#include "env/random.h"
#include "env/testing/temp_dir.h"
#include "master.pb.h"

namespace strata::dfs {
namespace {

std::string Bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  Random rnd(seed);
  rnd.Fill(s.data(), s.size());
  return s;
}

// Polls `cond` for up to 10 s of real time.
template <typename Cond>
bool Eventually(Cond cond) {
  for (int i = 0; i < 1000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

class FakeMaster {
 public:
  explicit FakeMaster(int port = 0) {
    server_ = std::make_unique<rpc::RpcServer>(rpc::RpcServerOptions{.port = port}, &metrics_);
    server_->RegisterTyped<RegisterRequest, RegisterResponse>(
        MASTER_REGISTER, "register", [this](const RegisterRequest& req, std::string&, RegisterResponse* resp, std::string*) {
          std::lock_guard lock(mu_);
          registrations_.push_back(req);
          resp->set_heartbeat_interval_ms(interval_ms_);
          resp->set_cluster_id(cluster_id_);
          return Status::Ok();
        });
    server_->RegisterTyped<HeartbeatRequest, HeartbeatResponse>(
        MASTER_HEARTBEAT, "heartbeat",
        [this](const HeartbeatRequest& req, std::string&, HeartbeatResponse* resp, std::string*) {
          std::lock_guard lock(mu_);
          heartbeats_.push_back(req);
          for (auto& c : pending_) *resp->add_commands() = c;
          pending_.clear();
          resp->set_reregister(reregister_);
          reregister_ = false;
          return Status::Ok();
        });
    server_->RegisterTyped<ReportBadReplicaRequest, ReportBadReplicaResponse>(
        MASTER_REPORT_BAD_REPLICA, "report_bad_replica",
        [this](const ReportBadReplicaRequest& req, std::string&, ReportBadReplicaResponse*, std::string*) {
          std::lock_guard lock(mu_);
          bad_reports_.push_back(req);
          return Status::Ok();
        });
    auto p = server_->Start();
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    port_ = *p;
  }
  ~FakeMaster() { server_->Stop(); }
  std::string addr() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  void Send(ChunkCommand c) {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(c));
  }
  // The heartbeat interval registrations are told (before they happen).
  void SetHeartbeatIntervalMs(uint64_t ms) {
    std::lock_guard lock(mu_);
    interval_ms_ = ms;
  }
  void SetClusterId(std::string id) {
    std::lock_guard lock(mu_);
    cluster_id_ = std::move(id);
  }
  void AskReregister() {
    std::lock_guard lock(mu_);
    reregister_ = true;
  }
  size_t registrations() {
    std::lock_guard lock(mu_);
    return registrations_.size();
  }
  std::vector<HeartbeatRequest> heartbeats() {
    std::lock_guard lock(mu_);
    return heartbeats_;
  }
  std::vector<ReportBadReplicaRequest> bad_reports() {
    std::lock_guard lock(mu_);
    return bad_reports_;
  }
  RegisterRequest last_registration() {
    std::lock_guard lock(mu_);
    return registrations_.back();
  }

 private:
  MetricsRegistry metrics_;
  std::unique_ptr<rpc::RpcServer> server_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<RegisterRequest> registrations_;
  std::vector<HeartbeatRequest> heartbeats_;
  std::vector<ChunkCommand> pending_;
  std::vector<ReportBadReplicaRequest> bad_reports_;
  bool reregister_ = false;
  uint64_t interval_ms_ = 30;
  std::string cluster_id_;  // empty: none (as a master from before cluster ids)
};

class ChunkserverTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(root_.empty()); }
  void TearDown() override { servers_.clear(); }
  ChunkserverOptions Options(const std::string& id, const std::string& master = "") {
    ChunkserverOptions o;
    o.id = id;
    o.master = master;
    o.rack = "rack-" + id;
    o.store.disk_paths = {root_ + "/" + id + "/d0", root_ + "/" + id + "/d1"};
    o.store.disk_reserve_bytes = 0;
    o.heartbeat_interval_ms = 30;
    o.full_report_every = 5;
    o.rpc_worker_threads = 4;
    return o;
  }
  Chunkserver* StartServer(ChunkserverOptions o) {
    auto cs = Chunkserver::Start(std::move(o), NewPosixFileSystem(), SystemClock::Default());
    EXPECT_TRUE(cs.ok()) << cs.status().ToString();
    servers_.push_back(std::move(*cs));
    return servers_.back().get();
  }
  Status Create(Chunkserver* cs, uint64_t id, uint64_t epoch, uint32_t disk = 0) {
    CreateChunkRequest req;
    req.set_chunk_id(id);
    req.set_epoch(epoch);
    req.set_disk(disk);
    CreateChunkResponse resp;
    return client_.CallTyped(cs->addr(), CHUNKSERVER_CREATE_CHUNK, req, &resp);
  }
  Result<uint64_t> Append(Chunkserver* cs, uint64_t id, uint64_t epoch, uint64_t offset, const std::string& data) {
    AppendRequest req;
    req.set_chunk_id(id);
    req.set_epoch(epoch);
    req.set_offset(offset);
    req.set_data_crc(Crc32c(data));
    AppendResponse resp;
    RETURN_IF_ERROR(client_.CallTyped(cs->addr(), CHUNKSERVER_APPEND, req, &resp, data));
    return resp.length();
  }
  Result<std::string> Read(Chunkserver* cs, uint64_t id, uint64_t offset, uint32_t length) {
    ReadRequest req;
    req.set_chunk_id(id);
    req.set_offset(offset);
    req.set_length(length);
    ReadResponse resp;
    std::string data;
    RETURN_IF_ERROR(client_.CallTyped(cs->addr(), CHUNKSERVER_READ, req, &resp, "", &data));
    EXPECT_EQ(resp.length(), data.size());
    EXPECT_EQ(resp.data_crc(), Crc32c(data));
    return data;
  }
  // The first `length` bytes of the replica, read 1 MiB at a time.
  Result<std::string> ReadPrefix(Chunkserver* cs, uint64_t id, uint64_t length) {
    std::string out;
    for (uint64_t off = 0; off < length; off += 1 << 20) {
      ASSIGN_OR_RETURN(std::string piece, Read(cs, id, off, 1 << 20));
      out += piece;
    }
    return out;
  }
  Status Seal(Chunkserver* cs, uint64_t id, uint64_t epoch, uint64_t length) {
    SealRequest req;
    req.set_chunk_id(id);
    req.set_epoch(epoch);
    req.set_length(length);
    SealResponse resp;
    return client_.CallTyped(cs->addr(), CHUNKSERVER_SEAL, req, &resp);
  }
  Result<ChunkInfoResponse> Info(Chunkserver* cs, uint64_t id) {
    ChunkInfoRequest req;
    req.set_chunk_id(id);
    ChunkInfoResponse resp;
    RETURN_IF_ERROR(client_.CallTyped(cs->addr(), CHUNKSERVER_CHUNK_INFO, req, &resp));
    return resp;
  }
  // Writes `data` as chunk `id` on `cs` and seals it.
  void WriteSealed(Chunkserver* cs, uint64_t id, const std::string& data) {
    ASSERT_TRUE(Create(cs, id, 1).ok());
    for (size_t off = 0; off < data.size(); off += 300'000) {
      ASSERT_TRUE(Append(cs, id, 1, off, data.substr(off, 300'000)).ok());
    }
    ASSERT_TRUE(Seal(cs, id, 1, data.size()).ok());
  }
  Status Replicate(Chunkserver* target, uint64_t id, uint64_t length, const std::vector<std::string>& sources) {
    ReplicateRequest req;
    req.set_chunk_id(id);
    req.set_length(length);
    req.set_epoch(1);
    req.set_target_disk(1);
    for (const auto& s : sources) req.add_sources()->set_addr(s);
    ReplicateResponse resp;
    RETURN_IF_ERROR(client_.CallTyped(target->addr(), CHUNKSERVER_REPLICATE, req, &resp, "", nullptr, 30000));
    EXPECT_EQ(resp.length(), length);
    EXPECT_EQ(resp.disk(), 1u);
    return Status::Ok();
  }

  TempDir dir_{"chunkserver_test"};
  std::string root_ = dir_.path();
  rpc::RpcClient client_;
  std::vector<std::unique_ptr<Chunkserver>> servers_;
};

// A client that takes a chunkserver for the master: every master request is
// refused as an unknown method (no id is shared between the services), and
// nothing is created, deleted or misread.
TEST_F(ChunkserverTest, MasterRequestsAreRefusedAndChangeNothing) {
  Chunkserver* cs = StartServer(Options("a"));
  ASSERT_TRUE(Create(cs, 7, 1).ok());
  MkdirRequest mkdir;
  mkdir.set_path("/zz");
  MkdirResponse mkdir_resp;
  Status st = client_.CallTyped(cs->addr(), MASTER_MKDIR, mkdir, &mkdir_resp);
  EXPECT_EQ(st.code(), StatusCode::kNotSupported) << st.ToString();
  EXPECT_NE(st.message().find("unknown rpc method"), std::string::npos) << st.ToString();
  RenameRequest rename;
  rename.set_from("/a");
  rename.set_to("/b");
  RenameResponse rename_resp;
  EXPECT_EQ(client_.CallTyped(cs->addr(), MASTER_RENAME, rename, &rename_resp).code(), StatusCode::kNotSupported);
  auto replicas = cs->store()->ListReplicas();
  ASSERT_EQ(replicas.size(), 1u);
  EXPECT_EQ(replicas[0].chunk_id, 7u);
  // Chunk id 0 is never allocated: a request for it is refused.
  EXPECT_EQ(Create(cs, 0, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cs->store()->ListReplicas().size(), 1u);
}

TEST_F(ChunkserverTest, AppendReadSealOverRpc) {
  Chunkserver* cs = StartServer(Options("a"));
  ASSERT_TRUE(Create(cs, 7, 1, 1).ok());
  std::string a = Bytes(10000, 1);
  auto len = Append(cs, 7, 1, 0, a);
  ASSERT_TRUE(len.ok()) << len.status().ToString();
  EXPECT_EQ(*len, 10000u);
  EXPECT_TRUE(Append(cs, 7, 1, 0, a).ok());  // retry
  Status gap = Append(cs, 7, 1, 20000, a).status();
  EXPECT_EQ(gap.code(), StatusCode::kOutOfRange);
  EXPECT_NE(gap.message().find("length=10000"), std::string::npos) << gap.ToString();
  EXPECT_EQ(Append(cs, 7, 0, 10000, a).status().code(), StatusCode::kStaleEpoch);
  AppendRequest bad;
  bad.set_chunk_id(7);
  bad.set_epoch(1);
  bad.set_offset(10000);
  bad.set_data_crc(12345);
  AppendResponse ignored;
  EXPECT_EQ(client_.CallTyped(cs->addr(), CHUNKSERVER_APPEND, bad, &ignored, "xyz").code(), StatusCode::kCorruption);
  auto data = Read(cs, 7, 100, 5000);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(*data, a.substr(100, 5000));
  ASSERT_TRUE(Seal(cs, 7, 1, 9000).ok());
  auto info = Info(cs, 7);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->sealed());
  EXPECT_EQ(info->length(), 9000u);
  EXPECT_EQ(info->disk(), 1u);
  DeleteChunkRequest del;
  del.set_chunk_id(7);
  DeleteChunkResponse del_resp;
  ASSERT_TRUE(client_.CallTyped(cs->addr(), CHUNKSERVER_DELETE_CHUNK, del, &del_resp).ok());
  EXPECT_EQ(Info(cs, 7).status().code(), StatusCode::kNotFound);
}

TEST_F(ChunkserverTest, ReplicateCopiesASealedChunkWithSourceFailover) {
  Chunkserver* a = StartServer(Options("a"));
  Chunkserver* b = StartServer(Options("b"));
  std::string data = Bytes(3 * 1024 * 1024 + 777, 2);
  WriteSealed(a, 9, data);
  // The first source is dead: the copy moves on to the second.
  Status st = Replicate(b, 9, data.size(), {"127.0.0.1:1", a->addr()});
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto info = Info(b, 9);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->sealed());
  EXPECT_EQ(info->length(), data.size());
  auto copy = ReadPrefix(b, 9, data.size());
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(*copy, data);
  // Again: already there, nothing to do.
  EXPECT_TRUE(Replicate(b, 9, data.size(), {a->addr()}).ok());
  // A corrupt replica already here is replaced by a fresh copy.
  auto held = b->store()->Info(9);
  ASSERT_TRUE(held.ok());
  {
    std::fstream f(PathsForChunk(root_ + "/b/d" + std::to_string(held->disk) + "/chunks", 9).chunk,
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kDataOffset + 2'000'000);
    char c = static_cast<char>(data[2'000'000] ^ 0x04);
    f.write(&c, 1);
  }
  ASSERT_TRUE(Replicate(b, 9, data.size(), {a->addr()}).ok());
  auto fixed = Read(b, 9, 2'000'000 - 5, 10);
  ASSERT_TRUE(fixed.ok()) << fixed.status().ToString();
  EXPECT_EQ(*fixed, data.substr(2'000'000 - 5, 10));
}

TEST_F(ChunkserverTest, ReplicateResumesAPartialCopy) {
  Chunkserver* a = StartServer(Options("a"));
  Chunkserver* b = StartServer(Options("b"));
  std::string data = Bytes(2 * 1024 * 1024 + 5, 8);
  WriteSealed(a, 9, data);
  // An earlier copy got 1 MiB + 3 bytes across before it was interrupted.
  ASSERT_TRUE(Create(b, 9, 1, 1).ok());
  ASSERT_TRUE(Append(b, 9, 1, 0, data.substr(0, (1 << 20) + 3)).ok());
  ASSERT_TRUE(Replicate(b, 9, data.size(), {a->addr()}).ok());
  auto copy = ReadPrefix(b, 9, data.size());
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ(*copy, data);
  EXPECT_EQ(b->metrics()->GetCounter("strata_chunkserver_replication_bytes_total", "")->Value(),
            data.size() - (1 << 20) - 3);
}

TEST_F(ChunkserverTest, ReplicateWithoutAGoodSourceLeavesNothing) {
  Chunkserver* a = StartServer(Options("a"));
  Chunkserver* b = StartServer(Options("b"));
  WriteSealed(a, 9, Bytes(5000, 3));
  // The source holds less than asked for.
  EXPECT_FALSE(Replicate(b, 9, 9000, {a->addr()}).ok());
  EXPECT_EQ(Info(b, 9).status().code(), StatusCode::kNotFound);
}

TEST_F(ChunkserverTest, ReplicationIsRateLimited) {
  Chunkserver* a = StartServer(Options("a"));
  ChunkserverOptions ob = Options("b");
  ob.replicate.bytes_per_sec_max = 256 * 1024;
  ob.replicate.piece_bytes = 64 * 1024;
  Chunkserver* b = StartServer(ob);
  std::string data = Bytes(512 * 1024, 4);
  WriteSealed(a, 9, data);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Replicate(b, 9, data.size(), {a->addr()}).ok());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // One second of budget may be spent at once; the rest waits its turn.
  EXPECT_GE(secs, 0.7);
  EXPECT_LT(secs, 5.0);
}

TEST_F(ChunkserverTest, MasterLinkRegistersReportsAndRunsCommands) {
  FakeMaster master;
  Chunkserver* a = StartServer(Options("a"));
  Chunkserver* b = StartServer(Options("b", master.addr()));
  ASSERT_TRUE(Eventually([&] { return master.heartbeats().size() >= 2; }));
  RegisterRequest reg = master.last_registration();
  EXPECT_EQ(reg.server_id(), "b");
  EXPECT_EQ(reg.addr(), b->addr());
  EXPECT_EQ(reg.rack(), "rack-b");
  EXPECT_EQ(reg.http_addr(), b->http_addr());
  EXPECT_EQ(reg.disks_size(), 2);
  auto beats = master.heartbeats();
  EXPECT_TRUE(beats[0].full_report());
  EXPECT_FALSE(beats[1].full_report());
  EXPECT_EQ(beats[0].disks_size(), 2);

  // Chunks on b to seal and delete, and one on a for b to copy.
  ASSERT_TRUE(Create(b, 1, 1).ok());
  ASSERT_TRUE(Append(b, 1, 1, 0, Bytes(8000, 5)).ok());
  ASSERT_TRUE(Create(b, 2, 1).ok());
  std::string data = Bytes(100000, 6);
  WriteSealed(a, 3, data);
  ChunkCommand seal;
  seal.set_kind(ChunkCommand::SEAL);
  seal.set_chunk_id(1);
  seal.set_epoch(2);
  seal.set_length(5000);
  master.Send(seal);
  ChunkCommand del;
  del.set_kind(ChunkCommand::DELETE);
  del.set_chunk_id(2);
  master.Send(del);
  ChunkCommand rep;
  rep.set_kind(ChunkCommand::REPLICATE);
  rep.set_chunk_id(3);
  rep.set_length(data.size());
  rep.set_epoch(1);
  rep.set_target_disk(0);
  ReplicaLocation* src = rep.add_sources();
  src->set_server_id("a");
  src->set_addr(a->addr());
  master.Send(rep);
  ASSERT_TRUE(Eventually([&] {
    auto i3 = b->store()->Info(3);
    return i3.ok() && i3->sealed;
  }));
  auto i1 = b->store()->Info(1);
  ASSERT_TRUE(i1.ok());
  EXPECT_TRUE(i1->sealed);
  EXPECT_EQ(i1->length, 5000u);
  EXPECT_EQ(i1->epoch, 2u);
  EXPECT_EQ(b->store()->Info(2).status().code(), StatusCode::kNotFound);
  auto copied = Read(b, 3, 0, static_cast<uint32_t>(data.size()));
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(*copied, data);

  // A full report comes every 5th heartbeat and lists the replicas.
  ASSERT_TRUE(Eventually([&] {
    for (const auto& hb : master.heartbeats()) {
      if (hb.full_report() && hb.replicas_size() == 2) return true;
    }
    return false;
  }));
  // Asked to, the server registers again, then sends a full report.
  size_t regs = master.registrations();
  master.AskReregister();
  ASSERT_TRUE(Eventually([&] { return master.registrations() > regs; }));
}

// A copy that lands is reported at once, in a heartbeat of its own that
// lists the new replica alone, not at the next heartbeat (a minute away
// here): the master's next copy must not wait for the interval.
TEST_F(ChunkserverTest, ALandedCopyIsReportedAtOnce) {
  FakeMaster master;
  master.SetHeartbeatIntervalMs(60'000);
  Chunkserver* a = StartServer(Options("a"));
  std::string data = Bytes(100000, 8);
  WriteSealed(a, 7, data);
  Chunkserver* b = StartServer(Options("b", master.addr()));
  ASSERT_TRUE(Eventually([&] { return b->StatusJson()["registered"].get<bool>(); }));
  ASSERT_TRUE(master.heartbeats().empty());
  ASSERT_TRUE(Replicate(b, 7, data.size(), {a->addr()}).ok());
  ASSERT_TRUE(Eventually([&] { return !master.heartbeats().empty(); }));
  const HeartbeatRequest report = master.heartbeats()[0];
  EXPECT_FALSE(report.full_report());
  EXPECT_EQ(report.disks_size(), 0);
  ASSERT_EQ(report.replicas_size(), 1);
  EXPECT_EQ(report.replicas(0).chunk_id(), 7u);
  EXPECT_EQ(report.replicas(0).length(), data.size());
  EXPECT_TRUE(report.replicas(0).sealed());
  EXPECT_EQ(report.replicas(0).disk(), 1u);
  EXPECT_EQ(report.replicas(0).epoch(), 1u);
  EXPECT_EQ(report.copies_in_flight(), 0u);
}

// Master commands run off the heartbeat thread: a seal stuck on a hung disk
// does not stop the heartbeats (the master would declare the server dead),
// and it completes once the disk answers again.
TEST_F(ChunkserverTest, ASealStuckOnAHungDiskDoesNotStopHeartbeats) {
  FakeMaster master;
  ChunkserverOptions o = Options("b", master.addr());
  o.fault_injection = true;
  Chunkserver* b = StartServer(o);
  ASSERT_TRUE(Eventually([&] { return !master.heartbeats().empty(); }));
  ASSERT_TRUE(Create(b, 1, 1, 0).ok());
  ASSERT_TRUE(Append(b, 1, 1, 0, Bytes(5000, 7)).ok());
  auto fault = [&](bool frozen) {
    DiskFaultRequest req;
    req.set_disk(0);
    req.mutable_fault()->set_frozen(frozen);
    req.set_off(!frozen);
    DiskFaultResponse resp;
    return client_.CallTyped(b->addr(), CHUNKSERVER_DISK_FAULT, req, &resp);
  };
  ASSERT_TRUE(fault(true).ok());
  ChunkCommand seal;
  seal.set_kind(ChunkCommand::SEAL);
  seal.set_chunk_id(1);
  seal.set_epoch(1);
  seal.set_length(5000);
  master.Send(seal);
  size_t beats = master.heartbeats().size();
  EXPECT_TRUE(Eventually([&] { return master.heartbeats().size() >= beats + 6; }))
      << "heartbeats stopped while a seal waited for the disk";
  EXPECT_FALSE(b->store()->Info(1)->sealed) << "the seal should still be waiting for the frozen disk";
  ASSERT_TRUE(fault(false).ok());
  EXPECT_TRUE(Eventually([&] { return b->store()->Info(1)->sealed; }));
}

TEST_F(ChunkserverTest, FailedDiskTriggersAFullReportWithoutItsReplicas) {
  FakeMaster master;
  ChunkserverOptions o = Options("b", master.addr());
  o.full_report_every = 1000;
  Chunkserver* b = StartServer(o);
  ASSERT_TRUE(Create(b, 1, 1, 0).ok());
  ASSERT_TRUE(Create(b, 2, 1, 1).ok());
  ASSERT_TRUE(Eventually([&] { return master.heartbeats().size() >= 2; }));
  std::string d0 = root_ + "/b/d0";
  std::filesystem::rename(d0, d0 + ".gone");
  { std::ofstream blocker(d0); }
  size_t seen = master.heartbeats().size();
  ASSERT_TRUE(Eventually([&] {
    auto beats = master.heartbeats();
    for (size_t i = seen; i < beats.size(); ++i) {
      if (beats[i].full_report() && beats[i].replicas_size() == 1 && beats[i].replicas(0).chunk_id() == 2 &&
          beats[i].disks(0).failed()) {
        return true;
      }
    }
    return false;
  }));
}

// Disks join their master's cluster at the first registration; pointed at a
// master of another cluster, the server refuses them: failed with the reason,
// no replica reported (so none is deleted as an orphan), every file kept.
TEST_F(ChunkserverTest, DisksOfAnotherClusterAreRefused) {
  const std::string cluster_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", cluster_b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  {
    FakeMaster master;
    master.SetClusterId(cluster_a);
    Chunkserver* b = StartServer(Options("b", master.addr()));
    WriteSealed(b, 5, Bytes(20000, 7));
    ASSERT_TRUE(Eventually([&] { return !master.heartbeats().empty(); }));
    RegisterRequest reg = master.last_registration();
    ASSERT_EQ(reg.disk_ids_size(), 2);
    EXPECT_NE(reg.disk_ids(0), reg.disk_ids(1));
    for (const auto& id : b->store()->DiskIdentities()) EXPECT_EQ(id.cluster_id, cluster_a);
    servers_.clear();
  }
  FakeMaster other;
  other.SetClusterId(cluster_b);
  Chunkserver* b = StartServer(Options("b", other.addr()));
  ASSERT_TRUE(Eventually([&] {
    for (const auto& hb : other.heartbeats()) {
      if (hb.full_report()) return true;
    }
    return false;
  }));
  for (const auto& hb : other.heartbeats()) EXPECT_EQ(hb.replicas_size(), 0) << hb.DebugString();
  HeartbeatRequest last = other.heartbeats().back();
  ASSERT_EQ(last.disks_size(), 2);
  for (const auto& d : last.disks()) {
    EXPECT_TRUE(d.failed());
    EXPECT_NE(d.failure().find("belongs to cluster " + cluster_a), std::string::npos) << d.failure();
  }
  for (const auto& id : b->store()->DiskIdentities()) EXPECT_EQ(id.cluster_id, cluster_a);
  auto info = b->store()->Info(5);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(std::filesystem::exists(PathsForChunk(root_ + "/b/d" + std::to_string(info->disk) + "/chunks", 5).chunk));
}

TEST_F(ChunkserverTest, MasterRestartLeadsToANewRegistration) {
  auto master = std::make_unique<FakeMaster>();
  int port = master->port();
  StartServer(Options("b", master->addr()));
  ASSERT_TRUE(Eventually([&] { return master->heartbeats().size() >= 1; }));
  master.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  master = std::make_unique<FakeMaster>(port);
  ASSERT_TRUE(Eventually([&] { return master->registrations() >= 1 && master->heartbeats().size() >= 1; }));
  EXPECT_TRUE(master->heartbeats()[0].full_report());
}

TEST_F(ChunkserverTest, CorruptReplicaIsReportedToTheMaster) {
  FakeMaster master;
  Chunkserver* b = StartServer(Options("b", master.addr()));
  std::string data = Bytes(20000, 7);
  WriteSealed(b, 5, data);
  auto info = b->store()->Info(5);
  ASSERT_TRUE(info.ok());
  std::string path = PathsForChunk(root_ + "/b/d" + std::to_string(info->disk) + "/chunks", 5).chunk;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kDataOffset + 9000);
    char c = static_cast<char>(data[9000] ^ 0x10);
    f.write(&c, 1);
  }
  EXPECT_EQ(Read(b, 5, 8192, 4096).status().code(), StatusCode::kCorruption);
  ASSERT_TRUE(Eventually([&] { return !master.bad_reports().empty(); }));
  auto report = master.bad_reports()[0];
  EXPECT_EQ(report.chunk_id(), 5u);
  EXPECT_EQ(report.server_id(), "b");
  EXPECT_NE(report.reason().find("CRC mismatch"), std::string::npos) << report.reason();
}

TEST_F(ChunkserverTest, StartsWithABadDiskMarkedFailed) {
  ChunkserverOptions o = Options("a");
  std::filesystem::create_directories(root_ + "/a");
  { std::ofstream not_a_dir(o.store.disk_paths[0]); }
  Chunkserver* cs = StartServer(o);
  ASSERT_NE(cs, nullptr);
  auto status = cs->StatusJson();
  EXPECT_TRUE(status["disks"][0]["failed"].get<bool>());
  EXPECT_FALSE(status["disks"][1]["failed"].get<bool>());
  CreateChunkResponse resp;
  CreateChunkRequest req;
  req.set_chunk_id(1);
  req.set_epoch(1);
  req.set_disk(0);
  ASSERT_TRUE(client_.CallTyped(cs->addr(), CHUNKSERVER_CREATE_CHUNK, req, &resp).ok());
  EXPECT_EQ(resp.disk(), 1u);
}

TEST_F(ChunkserverTest, BadOptionsAreRejected) {
  ChunkserverOptions o = Options("a");
  o.store.disk_paths.clear();
  EXPECT_EQ(Chunkserver::Start(o, NewPosixFileSystem(), SystemClock::Default()).status().code(),
            StatusCode::kInvalidArgument);
  o = Options("");
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
  o = Options("a", "no-port");
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
}

TEST_F(ChunkserverTest, ConfigFileSection) {
  std::string path = root_ + "/c.yaml";
  {
    std::ofstream f(path);
    f << "master:\n  heartbeat_interval_ms: 10\nchunkserver:\n  replicate_bytes_per_sec_max: 8M\n"
         "  replicate_concurrent_max: 3\n  heartbeat_interval_ms: 250\n";
  }
  ChunkserverOptions o;
  ASSERT_TRUE(o.LoadFile(path).ok());
  EXPECT_EQ(o.replicate.bytes_per_sec_max, 8u << 20);
  EXPECT_EQ(o.replicate.concurrent_max, 3u);
  EXPECT_EQ(o.heartbeat_interval_ms, 250u);
  {
    std::ofstream f(path);
    f << "chunkserver:\n  replicate_mbps: 8\n";
  }
  Status st = o.LoadFile(path);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("replicate_mbps"), std::string::npos);
}

}  // namespace
}  // namespace strata::dfs
