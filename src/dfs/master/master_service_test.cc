// MasterService driven directly, with a ManualClock, the in-memory
// MetaStore and a fake chunkserver stub.
#include "dfs/master/master_service.h"

#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <unistd.h>

#include "dfs/master/master_test_fixture.h"
#include "meta/memory_meta_store.h"
#include "meta/rocksdb_meta_store.h"

namespace strata::dfs::master {
namespace {

TEST_F(MasterServiceTest, AllocatePlacesInDistinctRacksAndChecksSeal) {
  AddCluster();
  uint64_t epoch = OpenFile("/f");
  auto c1 = Allocate("/f", epoch);
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  std::set<std::string> racks;
  for (const auto& r : c1->replicas()) racks.insert(r.rack());
  EXPECT_EQ(racks.size(), 3u);
  EXPECT_EQ(c1->replicas(0).addr(), c1->replicas(0).server_id() + ":1");
  auto again = Allocate("/f", epoch);  // a retry after a lost reply
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->chunk_id(), c1->chunk_id());
  ASSERT_TRUE(Seal("/f", epoch, c1->chunk_id(), 1000).ok());
  EXPECT_TRUE(Seal("/f", epoch, c1->chunk_id(), 1000).ok());  // idempotent
  EXPECT_EQ(Seal("/f", epoch, c1->chunk_id(), 999).code(), StatusCode::kFailedPrecondition);
  auto c2 = Allocate("/f", epoch);
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->file_offset(), 1000u);
  EXPECT_GT(c2->chunk_id(), c1->chunk_id());
  // Open chunk: the file size follows the replicas' reports (min_copies-th longest).
  for (const auto& r : c2->replicas()) Beat(r.server_id(), {Rep(c2->chunk_id(), r.server_id() == "cs2" ? 10 : 500, false)});
  EXPECT_EQ(StatOf("/f").info().size(), 1500u);
  EXPECT_EQ(StatOf("/f").chunks_size(), 2);
}

TEST_F(MasterServiceTest, ExcludedServersAndTooFewRacks) {
  AddCluster();
  uint64_t epoch = OpenFile("/f");
  auto c = Allocate("/f", epoch, {"cs1"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ReplicaIds(*c), (std::vector<std::string>{"cs2", "cs3", "cs4"}));
  ASSERT_TRUE(Seal("/f", epoch, c->chunk_id(), 0).ok());
  EXPECT_TRUE(Seal("/f", epoch, c->chunk_id(), 0).ok());  // a retry
  EXPECT_EQ(StatOf("/f").chunks_size(), 0);  // empty chunks leave the file
  EXPECT_EQ(service_->StatusJson()["chunks"]["gc_pending"], 1);
  options_.placement_rack_fallback = false;
  Restart(&memory_);
  AddCluster();
  EXPECT_EQ(Allocate("/f", epoch, {"cs2"}).status().code(), StatusCode::kUnavailable);
}

// Right after a master restart only some chunkservers have registered
// again: an allocation that cannot be placed yet is retryable (Unavailable),
// not a final "the cluster has 2 chunkservers"; once they are back it is
// placed. A cluster that really has too few servers still says so.
TEST_F(MasterServiceTest, AfterARestartAnAllocationWaitsForServersNotRegisteredYet) {
  AddCluster();
  Restart(&memory_);
  AddServer("cs1", "r1");
  AddServer("cs2", "r2");
  uint64_t epoch = OpenFile("/f");
  auto early = Allocate("/f", epoch);
  EXPECT_EQ(early.status().code(), StatusCode::kUnavailable) << early.status().ToString();
  EXPECT_NE(early.status().message().find("have not registered"), std::string::npos) << early.status().ToString();
  AddServer("cs3", "r3");
  EXPECT_TRUE(Allocate("/f", epoch).ok());

  meta::MemoryMetaStore fresh;
  Restart(&fresh);
  AddServer("cs1", "r1");
  AddServer("cs2", "r2");
  epoch = OpenFile("/g");
  EXPECT_EQ(Allocate("/g", epoch).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(MasterServiceTest, NewWriterFencesTheOldOne) {
  AddCluster();
  uint64_t e1 = OpenFile("/f");
  auto c = Allocate("/f", e1);
  ASSERT_TRUE(c.ok());
  // Replicas report 100, 100 and 50: all answered, min_copies 2 -> 100.
  std::vector<std::string> addrs;
  for (const auto& r : c->replicas()) addrs.push_back(r.addr());
  stub_.lengths = {{addrs[0], 100}, {addrs[1], 50}, {addrs[2], 100}};
  OpenWriteRequest o;
  o.set_path("/f");
  OpenWriteResponse resp;
  ASSERT_TRUE(service_->OpenWrite(o, &resp).ok());
  EXPECT_EQ(resp.writer_epoch(), e1 + 1);
  ASSERT_EQ(resp.chunks_size(), 1);
  EXPECT_TRUE(resp.chunks(0).sealed());
  EXPECT_EQ(resp.chunks(0).length(), 100u);
  EXPECT_EQ(resp.chunks(0).epoch(), e1 + 1);
  EXPECT_EQ(stub_.sealed.size(), 2u);  // the replica at 50 is left to reconciliation
  EXPECT_EQ(Allocate("/f", e1).status().code(), StatusCode::kStaleEpoch);
  EXPECT_EQ(Seal("/f", e1, c->chunk_id(), 100).code(), StatusCode::kStaleEpoch);
  CloseWriteRequest close;
  close.set_path("/f");
  close.set_writer_epoch(e1);
  CloseWriteResponse cr;
  EXPECT_EQ(service_->CloseWrite(close, &cr).code(), StatusCode::kStaleEpoch);
  close.set_writer_epoch(e1 + 1);
  EXPECT_TRUE(service_->CloseWrite(close, &cr).ok());
  EXPECT_EQ(cr.info().size(), 100u);
  EXPECT_TRUE(service_->CloseWrite(close, &cr).ok());  // retried
  EXPECT_EQ(Allocate("/f", e1 + 1).status().code(), StatusCode::kStaleEpoch);
}

TEST_F(MasterServiceTest, TakeoverWithSilentReplicaKeepsTheLongest) {
  AddCluster();
  uint64_t e1 = OpenFile("/f");
  auto c = Allocate("/f", e1);
  ASSERT_TRUE(c.ok());
  stub_.lengths = {{c->replicas(0).addr(), 80}, {c->replicas(1).addr(), 120}};  // third silent
  OpenWriteRequest o;
  o.set_path("/f");
  OpenWriteResponse resp;
  ASSERT_TRUE(service_->OpenWrite(o, &resp).ok());
  EXPECT_EQ(resp.chunks(0).length(), 120u);
  // None answer: the length known from heartbeats.
  auto c2 = Allocate("/f", resp.writer_epoch());
  ASSERT_TRUE(c2.ok());
  stub_.lengths.clear();
  for (const auto& r : c2->replicas()) Beat(r.server_id(), {Rep(c2->chunk_id(), 7, false)});
  resp.Clear();
  ASSERT_TRUE(service_->OpenWrite(o, &resp).ok());
  EXPECT_EQ(resp.chunks(1).length(), 7u);
  EXPECT_TRUE(resp.chunks(1).sealed());
}

// A writer that goes silent loses its file once its lease runs out: the
// open chunk is sealed at the acknowledged length (as a new writer would)
// and the file closed; a writer that renews keeps it.
TEST_F(MasterServiceTest, WriterLeaseExpiryClosesAnAbandonedFile) {
  options_.writer_lease_ms = 5000;
  Restart(&memory_);
  AddCluster();
  const std::vector<std::string> all = {"cs1", "cs2", "cs3", "cs4"};
  uint64_t gone = OpenFile("/gone");
  auto c = Allocate("/gone", gone);
  ASSERT_TRUE(c.ok());
  // Its replicas will tell the master's takeover they hold 4096 bytes.
  for (const auto& r : c->replicas()) stub_.lengths[r.addr()] = 4096;
  uint64_t live = OpenFile("/live");
  auto c2 = Allocate("/live", live);
  ASSERT_TRUE(c2.ok());
  for (int s = 0; s < 8; ++s) {
    Pass(1000, all);
    RenewLeaseRequest renew;
    renew.set_path("/live");
    renew.set_writer_epoch(live);
    RenewLeaseResponse ignored;
    ASSERT_TRUE(service_->RenewLease(renew, &ignored).ok());
  }
  EXPECT_EQ(CounterValue("strata_master_writer_leases_expired_total"), 1u);
  StatResponse st = StatOf("/gone");
  ASSERT_EQ(st.chunks_size(), 1);
  EXPECT_TRUE(st.chunks(0).sealed());
  EXPECT_EQ(st.chunks(0).length(), 4096u);
  // The silent writer is fenced; the renewing one still writes.
  EXPECT_EQ(Allocate("/gone", gone).status().code(), StatusCode::kStaleEpoch);
  EXPECT_FALSE(StatOf("/live").chunks(0).sealed());
  EXPECT_TRUE(Seal("/live", live, c2->chunk_id(), 8192).ok());
  // A stale writer cannot renew.
  RenewLeaseRequest stale;
  stale.set_path("/gone");
  stale.set_writer_epoch(gone);
  RenewLeaseResponse ignored;
  EXPECT_EQ(service_->RenewLease(stale, &ignored).code(), StatusCode::kStaleEpoch);
}

// A file left open across a master restart gets a lease at start, which
// runs out like any other when no writer renews it.
TEST_F(MasterServiceTest, AFileLeftOpenAcrossARestartLosesItsLease) {
  options_.writer_lease_ms = 5000;
  Restart(&memory_);
  AddCluster();
  uint64_t gone = OpenFile("/gone");
  auto c = Allocate("/gone", gone);
  ASSERT_TRUE(c.ok());
  for (const auto& r : c->replicas()) stub_.lengths[r.addr()] = 512;
  Restart(&memory_);
  AddCluster();
  Pass(3000, {"cs1", "cs2", "cs3", "cs4"});
  EXPECT_FALSE(StatOf("/gone").chunks(0).sealed());  // a fresh lease at start
  Pass(5000, {"cs1", "cs2", "cs3", "cs4"});
  StatResponse st = StatOf("/gone");
  ASSERT_EQ(st.chunks_size(), 1);
  EXPECT_TRUE(st.chunks(0).sealed());
  EXPECT_EQ(st.chunks(0).length(), 512u);
}

// A put writes under a temporary name (CreateRequest.temporary). A writer
// killed before it renamed the file leaves it behind; once its lease runs
// out the master removes it (its chunks, the open one included, go to GC)
// instead of keeping a closed half-written file nobody will use.
TEST_F(MasterServiceTest, ATemporaryFileWhoseWriterIsGoneIsRemovedWhenItsLeaseRunsOut) {
  options_.writer_lease_ms = 5000;
  Restart(&memory_);
  AddCluster();
  const std::vector<std::string> all = {"cs1", "cs2", "cs3", "cs4"};
  auto create = [&](const std::string& path) {
    CreateRequest c;
    c.set_path(path);
    c.set_temporary(true);
    CreateResponse cr;
    ASSERT_TRUE(service_->Create(c, &cr).ok());
  };
  auto open = [&](const std::string& path) {
    OpenWriteRequest o;
    o.set_path(path);
    OpenWriteResponse orsp;
    EXPECT_TRUE(service_->OpenWrite(o, &orsp).ok());
    return orsp.writer_epoch();
  };
  auto exists = [&](const std::string& path) {
    StatRequest req;
    req.set_path(path);
    StatResponse resp;
    return service_->Stat(req, &resp).ok();
  };
  // Killed mid-write: two chunks, the second open.
  create("/.a.put-1");
  uint64_t a = open("/.a.put-1");
  auto a1 = Allocate("/.a.put-1", a);
  ASSERT_TRUE(a1.ok());
  ASSERT_TRUE(Seal("/.a.put-1", a, a1->chunk_id(), 4096).ok());
  ASSERT_TRUE(Allocate("/.a.put-1", a).ok());
  // Killed between its chunks (none open), and right after the create.
  create("/.b.put-2");
  uint64_t b = open("/.b.put-2");
  auto b1 = Allocate("/.b.put-2", b);
  ASSERT_TRUE(b1.ok());
  ASSERT_TRUE(Seal("/.b.put-2", b, b1->chunk_id(), 100).ok());
  create("/.c.put-3");
  // Still writing, renewing its lease.
  create("/.live.put-4");
  uint64_t live = open("/.live.put-4");
  ASSERT_TRUE(Allocate("/.live.put-4", live).ok());
  for (int s = 0; s < 8; ++s) {
    Pass(1000, all);
    RenewLeaseRequest renew;
    renew.set_path("/.live.put-4");
    renew.set_writer_epoch(live);
    RenewLeaseResponse ignored;
    ASSERT_TRUE(service_->RenewLease(renew, &ignored).ok());
  }
  EXPECT_FALSE(exists("/.a.put-1"));
  EXPECT_FALSE(exists("/.b.put-2"));
  EXPECT_FALSE(exists("/.c.put-3"));
  EXPECT_TRUE(exists("/.live.put-4"));
  EXPECT_EQ(CounterValue("strata_master_writer_leases_expired_total"), 3u);
  // Their chunks (the open one too) are gone; only the live writer's is left.
  // The writer that is gone is fenced.
  EXPECT_EQ(service_->StatusJson()["chunks"]["total"], 1);
  EXPECT_EQ(Allocate("/.a.put-1", a).status().code(), StatusCode::kNotFound);
}

// A temporary file lives as long as its writer's lease, also after Close:
// the put renames it into place right after closing, which makes it an
// ordinary file for good; one closed and never renamed is removed.
TEST_F(MasterServiceTest, ATemporaryFileRenamedInTimeIsKeptForGood) {
  options_.writer_lease_ms = 5000;
  Restart(&memory_);
  AddCluster();
  const std::vector<std::string> all = {"cs1", "cs2", "cs3", "cs4"};
  for (const std::string name : {"/.kept.put-1", "/.closed.put-2"}) {
    CreateRequest c;
    c.set_path(name);
    c.set_temporary(true);
    CreateResponse cr;
    ASSERT_TRUE(service_->Create(c, &cr).ok());
    OpenWriteRequest o;
    o.set_path(name);
    OpenWriteResponse orsp;
    ASSERT_TRUE(service_->OpenWrite(o, &orsp).ok());
    auto ch = Allocate(name, orsp.writer_epoch());
    ASSERT_TRUE(ch.ok());
    ASSERT_TRUE(Seal(name, orsp.writer_epoch(), ch->chunk_id(), 10).ok());
    CloseWriteRequest cw;
    cw.set_path(name);
    cw.set_writer_epoch(orsp.writer_epoch());
    CloseWriteResponse cwr;
    ASSERT_TRUE(service_->CloseWrite(cw, &cwr).ok());
  }
  RenameRequest mv;
  mv.set_from("/.kept.put-1");
  mv.set_to("/kept");
  RenameResponse mvr;
  ASSERT_TRUE(service_->Rename(mv, &mvr).ok());
  Pass(20000, all);
  EXPECT_EQ(StatOf("/kept").info().size(), 10u);
  StatRequest req;
  req.set_path("/.closed.put-2");
  StatResponse resp;
  EXPECT_EQ(service_->Stat(req, &resp).code(), StatusCode::kNotFound);
  // A renamed file is ordinary: opened again and abandoned, it is closed,
  // not removed.
  OpenWriteRequest o;
  o.set_path("/kept");
  OpenWriteResponse orsp;
  ASSERT_TRUE(service_->OpenWrite(o, &orsp).ok());
  ASSERT_TRUE(Allocate("/kept", orsp.writer_epoch()).ok());
  Pass(20000, all);
  EXPECT_EQ(StatOf("/kept").info().size(), 10u);
}

// After a master restart every temporary file gets a fresh lease (its
// writer, if alive, renews from then on) and is removed once it runs out.
TEST_F(MasterServiceTest, ATemporaryFileLeftAcrossARestartIsRemoved) {
  options_.writer_lease_ms = 5000;
  Restart(&memory_);
  AddCluster();
  CreateRequest c;
  c.set_path("/.t.put-1");
  c.set_temporary(true);
  CreateResponse cr;
  ASSERT_TRUE(service_->Create(c, &cr).ok());
  OpenWriteRequest o;
  o.set_path("/.t.put-1");
  OpenWriteResponse orsp;
  ASSERT_TRUE(service_->OpenWrite(o, &orsp).ok());
  Restart(&memory_);
  AddCluster();
  Pass(3000, {"cs1", "cs2", "cs3", "cs4"});
  StatRequest req;
  req.set_path("/.t.put-1");
  StatResponse resp;
  EXPECT_TRUE(service_->Stat(req, &resp).ok());  // a fresh lease at start
  Pass(5000, {"cs1", "cs2", "cs3", "cs4"});
  EXPECT_EQ(service_->Stat(req, &resp).code(), StatusCode::kNotFound);
}

// Capacity totals count a file system once per host, however many disk
// directories on it are reported, and leave out failed disks.
TEST_F(MasterServiceTest, CapacityCountsEachFileSystemOncePerHost) {
  auto add = [&](const std::string& id, const std::string& host, std::vector<uint64_t> devices, bool fail_last) {
    RegisterRequest req;
    req.set_server_id(id);
    req.set_addr(host + ":" + id.substr(2));
    req.set_rack("r" + id);
    for (uint32_t d = 0; d < devices.size(); ++d) {
      DiskStat* disk = req.add_disks();
      disk->set_index(d);
      disk->set_capacity_bytes(100 * kGiB);
      disk->set_free_bytes(50 * kGiB);
      disk->set_device_id(devices[d]);
      disk->set_failed(fail_last && d + 1 == devices.size());
    }
    RegisterResponse resp;
    ASSERT_TRUE(service_->Register(req, &resp).ok());
  };
  add("cs1", "10.0.0.1", {7, 7}, false);     // two directories of one file system
  add("cs2", "10.0.0.1", {7, 8}, false);     // another server on the same host: 7 again, and 8
  add("cs3", "10.0.0.2", {7, 9, 10}, true);  // another host: 7 is another disk there; 10 failed
  auto totals = service_->StatusJson()["totals"];
  EXPECT_EQ(totals["capacity_bytes"].get<uint64_t>(), 4 * 100 * kGiB) << totals.dump();  // 7, 8 | 7, 9
  EXPECT_EQ(totals["free_bytes"].get<uint64_t>(), 4 * 50 * kGiB);
  EXPECT_EQ(totals["failed_disks"].get<uint64_t>(), 1u);
}

TEST_F(MasterServiceTest, ReconciliationOfReports) {
  AddCluster();
  auto chunks = WriteFile("/f", 1, 4096);
  const ChunkInfo& c = chunks[0];
  const std::string holder = c.replicas(0).server_id();
  // Unknown chunk -> DELETE; unsealed longer replica -> SEAL at the sealed length.
  auto resp = Beat(holder, {Rep(9999, 10, true), Rep(c.chunk_id(), 5000, false)});
  ASSERT_EQ(Commands(resp, ChunkCommand::DELETE).size(), 1u);
  EXPECT_EQ(Commands(resp, ChunkCommand::DELETE)[0].chunk_id(), 9999u);
  ASSERT_EQ(Commands(resp, ChunkCommand::SEAL).size(), 1u);
  EXPECT_EQ(Commands(resp, ChunkCommand::SEAL)[0].length(), 4096u);
  // A shorter replica is left alone during the grace period, then replaced.
  resp = Beat(holder, {Rep(c.chunk_id(), 100, false)});
  EXPECT_EQ(resp.commands_size(), 0);
  clock_.Advance(2'000'000);
  for (const auto& id : {"cs1", "cs2", "cs3", "cs4"}) Beat(id);
  resp = Beat(holder, {Rep(c.chunk_id(), 100, false)});
  EXPECT_EQ(Commands(resp, ChunkCommand::DELETE).size(), 1u);
  EXPECT_EQ(StatOf("/f").chunks(0).replicas_size(), 2);
  // A full report without a listed replica drops it.
  const std::string other = c.replicas(1).server_id();
  Beat(other, {}, /*full=*/true);
  EXPECT_EQ(StatOf("/f").chunks(0).replicas_size(), 1);
  // A good replica reported by a server that lacks it is taken back.
  Beat(other, {Rep(c.chunk_id(), 4096, true, 1)}, /*full=*/true);
  EXPECT_EQ(StatOf("/f").chunks(0).replicas_size(), 2);
}

TEST_F(MasterServiceTest, ReportedDiskCorrectsTheChunkMap) {
  AddCluster();
  auto chunks = WriteFile("/f", 1, 4096);
  const ChunkInfo& c = chunks[0];
  const std::string holder = c.replicas(0).server_id();
  const uint32_t asked = c.replicas(0).disk();
  const uint32_t actual = asked == 0 ? 1 : 0;  // the chunkserver used its other disk
  Beat(holder, {Rep(c.chunk_id(), 4096, true, actual)}, /*full=*/true);
  auto st = StatOf("/f");
  bool found = false;
  for (const auto& r : st.chunks(0).replicas()) {
    if (r.server_id() != holder) continue;
    found = true;
    EXPECT_EQ(r.disk(), actual);
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(st.chunks(0).replicas_size(), 3);
}

TEST_F(MasterServiceTest, DeadServerIsDetectedAndItsChunksReReplicated) {
  AddCluster();
  auto chunks = WriteFile("/f", 3, 1 << 20);
  // Every chunk has a replica on cs1 or cs4 (rack r1); find one on cs1's rack peer.
  std::string victim = chunks[0].replicas(0).server_id();
  std::vector<std::string> alive;
  for (const auto& id : {"cs1", "cs2", "cs3", "cs4"}) {
    if (id != victim) alive.push_back(id);
  }
  Pass(2000, {"cs1", "cs2", "cs3", "cs4"});
  Pass(5000, alive);
  auto status = service_->StatusJson();
  bool dead_seen = false;
  for (const auto& s : status["chunkservers"]) {
    if (s["id"] == victim) dead_seen = !s["alive"].get<bool>();
  }
  EXPECT_TRUE(dead_seen);
  // Copies are queued for targets; each target gets at most one (limit 1).
  std::map<std::string, int> per_target;
  std::vector<std::pair<std::string, ChunkCommand>> copies = replicates_;
  for (const auto& id : alive) {
    for (const auto& cmd : Commands(Beat(id), ChunkCommand::REPLICATE)) copies.push_back({id, cmd});
  }
  for (const auto& [id, cmd] : copies) {
    {
      per_target[id]++;
      EXPECT_EQ(cmd.length(), 1u << 20);
      EXPECT_GT(cmd.rate_limit_bytes_per_sec(), 0u);
      ASSERT_GT(cmd.sources_size(), 0);
      EXPECT_NE(cmd.sources(0).server_id(), victim);
    }
  }
  for (const auto& [id, n] : per_target) EXPECT_LE(n, 1) << id;
  ASSERT_FALSE(copies.empty());
  // Targets report the copies; more copies follow (in the replies to the
  // reports, or after a tick) until all have 3 replicas.
  for (int round = 0; round < 10; ++round) {
    std::vector<std::pair<std::string, ChunkCommand>> next;
    for (const auto& [target, cmd] : copies) {
      auto reply = Beat(target, {Rep(cmd.chunk_id(), cmd.length(), true, cmd.target_disk())});
      for (const auto& more : Commands(reply, ChunkCommand::REPLICATE)) next.push_back({target, more});
    }
    copies = next;
    service_->Tick();
    for (const auto& id : alive) {
      for (const auto& cmd : Commands(Beat(id), ChunkCommand::REPLICATE)) copies.push_back({id, cmd});
    }
  }
  StatResponse after = StatOf("/f");
  for (const auto& c : after.chunks()) {
    EXPECT_EQ(c.replicas_size(), 3) << c.chunk_id();
    for (const auto& r : c.replicas()) EXPECT_NE(r.server_id(), victim);
  }
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated"], 0);
  int held = 0;
  for (const auto& c : chunks) {
    auto ids = ReplicaIds(c);
    held += std::count(ids.begin(), ids.end(), victim);
  }
  EXPECT_EQ(service_->StatusJson()["recovery"]["done"].get<int>(), held);
}

// A heartbeat of `id` whose disks 0 and 1 report `failed[d]`, with `reps`
// as a full report.
static HeartbeatRequest DiskBeat(const std::string& id, std::vector<bool> failed,
                                 const std::vector<ReplicaReport>& reps) {
  HeartbeatRequest req;
  req.set_server_id(id);
  req.set_full_report(true);
  for (uint32_t d = 0; d < failed.size(); ++d) {
    DiskStat* disk = req.add_disks();
    disk->set_index(d);
    disk->set_capacity_bytes(100 * kGiB);
    disk->set_free_bytes(failed[d] ? 0 : 50 * kGiB);
    disk->set_failed(failed[d]);
    if (failed[d]) disk->set_failure("IoError: injected");
  }
  for (const auto& r : reps) *req.add_replicas() = r;
  return req;
}

// A replica on a disk its chunkserver reports failed stops counting at once
// (whether the server still lists it or not), stays listed as a last-resort
// source (tried last), and recovery copies the chunk to another server: never
// back to the one with the failed disk. Once the copy is reported, the
// failed disk's replica leaves the list and the chunk is whole.
TEST_F(MasterServiceTest, ReplicasOnAFailedDiskLeaveTheGoodCountAtOnce) {
  AddCluster();
  auto chunks = WriteFile("/f", 1, 1 << 20);
  const uint64_t id = chunks[0].chunk_id();
  const std::string victim = chunks[0].replicas(0).server_id();
  const uint32_t disk = chunks[0].replicas(0).disk();
  std::vector<bool> failed = {disk == 0, disk == 1};
  HeartbeatResponse resp;
  ASSERT_TRUE(service_->Heartbeat(DiskBeat(victim, failed, {Rep(id, 1 << 20, true, disk)}), &resp).ok());
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated"], 1);
  StatResponse st = StatOf("/f");
  ASSERT_EQ(st.chunks(0).replicas_size(), 3);  // still a source
  for (const auto& r : st.chunks(0).replicas()) EXPECT_EQ(r.slow(), r.server_id() == victim) << r.server_id();
  // The same when its full report no longer lists it (a failed disk's
  // replicas are reported lost).
  ASSERT_TRUE(service_->Heartbeat(DiskBeat(victim, failed, {}), &resp).ok());
  EXPECT_EQ(StatOf("/f").chunks(0).replicas_size(), 3);
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated"], 1);
  service_->Tick();
  std::string target;
  for (const auto& s : {"cs1", "cs2", "cs3", "cs4"}) {
    if (s == victim) {
      EXPECT_TRUE(service_->Heartbeat(DiskBeat(victim, failed, {}), &resp).ok());
      EXPECT_TRUE(Commands(resp, ChunkCommand::REPLICATE).empty());
    } else if (!Commands(Beat(s), ChunkCommand::REPLICATE).empty()) {
      target = s;
    }
  }
  ASSERT_FALSE(target.empty());
  EXPECT_NE(target, victim);
  Beat(target, {Rep(id, 1 << 20, true, 0)});
  service_->Tick();
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated"], 0);
  EXPECT_EQ(service_->StatusJson()["recovery"]["done"], 1);
  auto ids = ReplicaIds(StatOf("/f").chunks(0));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), victim), 0);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), target), 1);
  EXPECT_EQ(ids.size(), 3u);
}

// A copy whose target answers from a failed disk (it found an old file of
// the chunk there) is not a new replica: it is not counted done and the
// chunk stays under-replicated.
TEST_F(MasterServiceTest, ACopyAnsweredFromAFailedDiskIsNotDone) {
  AddCluster();
  auto chunks = WriteFile("/f", 1, 1 << 20);
  std::string target = FailFirstReplicaAndFindCopyTarget(chunks[0]);
  ASSERT_FALSE(target.empty());
  HeartbeatResponse resp;
  ASSERT_TRUE(service_->Heartbeat(DiskBeat(target, {false, true}, {}), &resp).ok());
  stub_.copies[{target + ":1", chunks[0].chunk_id()}] = 1 << 20;  // answers from disk 1
  clock_.Advance(1'100'000);
  service_->Tick();
  EXPECT_EQ(StatOf("/f").chunks(0).replicas_size(), 2);
  EXPECT_EQ(service_->StatusJson()["recovery"]["done"], 0);
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated"], 1);
}

TEST_F(MasterServiceTest, CopyLandsWhenTheTargetAnswersThePoll) {
  AddCluster();
  auto chunks = WriteFile("/f", 1, 1 << 20);
  std::string target = FailFirstReplicaAndFindCopyTarget(chunks[0]);
  ASSERT_FALSE(target.empty());
  stub_.copies[{target + ":1", chunks[0].chunk_id()}] = 1 << 20;
  clock_.Advance(1'100'000);
  service_->Tick();
  StatResponse st = StatOf("/f");
  EXPECT_EQ(st.chunks(0).replicas_size(), 3);
  EXPECT_EQ(service_->StatusJson()["recovery"]["done"], 1);
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated"], 0);
}

TEST_F(MasterServiceTest, MostUrgentChunkFirstAndByteBudget) {
  options_.recovery_bytes_per_sec_max = 1 << 20;  // one chunk per second
  options_.recovery_copies_per_server_max = 10;
  Restart(&memory_);
  AddServer("cs1", "r1");
  AddServer("cs2", "r2");
  AddServer("cs3", "r3");
  AddServer("cs4", "r4");
  AddServer("cs5", "r5");
  auto chunks = WriteFile("/f", 2, 1 << 20);
  // Chunk 0 loses two replicas, chunk 1 one.
  ReportBadReplicaRequest bad;
  ReportBadReplicaResponse br;
  bad.set_chunk_id(chunks[1].chunk_id());
  bad.set_server_id(chunks[1].replicas(0).server_id());
  ASSERT_TRUE(service_->ReportBadReplica(bad, &br).ok());
  bad.set_chunk_id(chunks[0].chunk_id());
  bad.set_server_id(chunks[0].replicas(0).server_id());
  ASSERT_TRUE(service_->ReportBadReplica(bad, &br).ok());
  bad.set_server_id(chunks[0].replicas(1).server_id());
  ASSERT_TRUE(service_->ReportBadReplica(bad, &br).ok());
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated_by_replicas_left"]["1"], 1);
  service_->Tick();
  std::vector<uint64_t> started;
  for (const auto& id : {"cs1", "cs2", "cs3", "cs4", "cs5"}) {
    for (const auto& cmd : Commands(Beat(id), ChunkCommand::REPLICATE)) started.push_back(cmd.chunk_id());
  }
  ASSERT_EQ(started.size(), 1u);  // the budget allows one 1 MiB copy now
  EXPECT_EQ(started[0], chunks[0].chunk_id());
  EXPECT_EQ(service_->StatusJson()["recovery"]["in_flight"], 1);
  clock_.Advance(1'100'000);
  service_->Tick();
  EXPECT_EQ(service_->StatusJson()["recovery"]["in_flight"], 2);
}

TEST_F(MasterServiceTest, AWholeRackVanishingPausesRecovery) {
  options_.recovery_storm_pause_ms = 30000;
  Restart(&memory_);
  for (int i = 1; i <= 6; ++i) AddServer("cs" + std::to_string(i), "r" + std::to_string((i - 1) % 3 + 1));
  WriteFile("/f", 2, 1 << 20);
  std::vector<std::string> alive = {"cs1", "cs2", "cs4", "cs5"};  // r3 (cs3, cs6) goes away
  Pass(1000, {"cs1", "cs2", "cs3", "cs4", "cs5", "cs6"});
  Pass(5000, alive);
  auto status = service_->StatusJson();
  EXPECT_TRUE(status["recovery"]["paused"].get<bool>());
  EXPECT_NE(status["recovery"]["alert"].get<std::string>().find("rack r3"), std::string::npos);
  EXPECT_GT(status["chunks"]["under_replicated"].get<int>(), 0);
  EXPECT_TRUE(replicates_.empty());
  Pass(30000, alive);
  EXPECT_FALSE(service_->StatusJson()["recovery"]["paused"].get<bool>());
  EXPECT_FALSE(replicates_.empty());
}

TEST_F(MasterServiceTest, RecoveryResumesWhenTheStormsServersReturn) {
  options_.recovery_storm_pause_ms = 600000;
  Restart(&memory_);
  for (int i = 1; i <= 6; ++i) AddServer("cs" + std::to_string(i), "r" + std::to_string((i - 1) % 3 + 1));
  WriteFile("/f", 2, 1 << 20);
  std::vector<std::string> all = {"cs1", "cs2", "cs3", "cs4", "cs5", "cs6"};
  Pass(1000, all);
  Pass(5000, {"cs4", "cs5", "cs6"});  // half of them stop answering
  EXPECT_TRUE(service_->StatusJson()["recovery"]["paused"].get<bool>());
  AddServer("cs1", "r1");  // one of three is back (registers again): still paused
  Pass(1000, {"cs1", "cs4", "cs5", "cs6"});
  EXPECT_TRUE(service_->StatusJson()["recovery"]["paused"].get<bool>());
  AddServer("cs2", "r2");
  AddServer("cs3", "r3");
  Pass(1000, all);  // all back, long before the grace ends
  auto status = service_->StatusJson();
  EXPECT_FALSE(status["recovery"]["paused"].get<bool>()) << status["recovery"].dump(1);
  EXPECT_EQ(status["recovery"]["paused_remaining_ms"].get<uint64_t>(), 0u);
}

TEST_F(MasterServiceTest, RecoveryPrefersAnUnusedRackAndAReturningServerIsTrimmed) {
  AddServer("cs1", "r1");
  AddServer("cs2", "r2");
  AddServer("cs3", "r3");
  AddServer("cs4", "r1");
  AddServer("cs5", "r3");
  uint64_t epoch = OpenFile("/f");
  auto c = Allocate("/f", epoch, {"cs4", "cs5"});  // cs1, cs2, cs3
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(Seal("/f", epoch, c->chunk_id(), 4096).ok());
  Pass(1000, {"cs1", "cs2", "cs3", "cs4", "cs5"});
  Pass(5000, {"cs1", "cs2", "cs4", "cs5"});  // cs3 (rack r3) dies
  std::vector<std::pair<std::string, ChunkCommand>> copies = replicates_;
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].first, "cs5");  // r3 again, not r1's cs4
  Beat("cs5", {Rep(c->chunk_id(), 4096, true)});
  EXPECT_EQ(StatOf("/f").chunks(0).replicas_size(), 3);
  // cs3 comes back with its old replica: it is surplus now.
  RegisterRequest reg;
  reg.set_server_id("cs3");
  reg.set_addr("cs3:1");
  reg.set_rack("r3");
  RegisterResponse rr;
  ASSERT_TRUE(service_->Register(reg, &rr).ok());
  auto resp = Beat("cs3", {Rep(c->chunk_id(), 4096, true)}, /*full=*/true);
  ASSERT_EQ(Commands(resp, ChunkCommand::DELETE).size(), 1u);
  EXPECT_EQ(StatOf("/f").chunks(0).replicas_size(), 3);
}

TEST_F(MasterServiceTest, ASlowDiskGoesReadOnlyThenOffline) {
  for (int i = 1; i <= 6; ++i) AddServer("cs" + std::to_string(i), "r" + std::to_string((i - 1) % 3 + 1));
  auto chunks = WriteFile("/f", 4, 4096);
  auto beat = [&](const std::string& id, const std::vector<ReplicaReport>& reps = {}) {
    HeartbeatRequest req;
    req.set_server_id(id);
    for (uint32_t d = 0; d < 2; ++d) {
      DiskStat* disk = req.add_disks();
      disk->set_index(d);
      disk->set_capacity_bytes(100 * kGiB);
      disk->set_free_bytes(50 * kGiB);
      disk->set_ops(10);
      disk->set_write_p99_us(id == "cs1" && d == 0 ? 400000 : 2000 + d * 100);
    }
    for (const auto& r : reps) *req.add_replicas() = r;
    HeartbeatResponse resp;
    EXPECT_TRUE(service_->Heartbeat(req, &resp).ok());
    return resp;
  };
  int on_slow = 0;
  for (const auto& c : chunks) {
    for (const auto& r : c.replicas()) on_slow += r.server_id() == "cs1" && r.disk() == 0;
  }
  ASSERT_GT(on_slow, 0);
  for (int i = 0; i < 6; ++i) {  // the first round only builds the baseline
    for (int j = 1; j <= 6; ++j) beat("cs" + std::to_string(j));
  }
  auto status = service_->StatusJson();
  EXPECT_EQ(status["chunkservers"][0]["disks"][0]["health"], "read_only");
  EXPECT_EQ(status["chunkservers"][0]["disks"][1]["health"], "normal");
  EXPECT_EQ(status["chunks"]["under_replicated"].get<int>(), on_slow);
  // New chunks avoid the slow disk.
  uint64_t epoch = OpenFile("/g");
  for (int i = 0; i < 6; ++i) {
    auto c = Allocate("/g", epoch);
    ASSERT_TRUE(c.ok());
    for (const auto& r : c->replicas()) EXPECT_FALSE(r.server_id() == "cs1" && r.disk() == 0);
    ASSERT_TRUE(Seal("/g", epoch, c->chunk_id(), 10).ok());
  }
  // Extra copies land; then the disk goes offline and its replicas are deleted.
  for (int round = 0; round < 6; ++round) {
    service_->Tick();
    for (int i = 1; i <= 6; ++i) {
      std::string id = "cs" + std::to_string(i);
      for (const auto& cmd : Commands(beat(id), ChunkCommand::REPLICATE)) {
        beat(id, {Rep(cmd.chunk_id(), cmd.length(), true, cmd.target_disk())});
      }
    }
  }
  status = service_->StatusJson();
  EXPECT_EQ(status["chunkservers"][0]["disks"][0]["health"], "offline");
  EXPECT_EQ(status["chunks"]["under_replicated"], 0);
  StatResponse st = StatOf("/f");
  for (const auto& c : st.chunks()) {
    EXPECT_EQ(c.replicas_size(), 3);
    for (const auto& r : c.replicas()) EXPECT_FALSE(r.server_id() == "cs1" && r.disk() == 0);
  }
}

TEST_F(MasterServiceTest, ManyServersDyingAtOncePauseRecoveryButOneDoesNot) {
  std::vector<std::string> all;
  for (int i = 1; i <= 8; ++i) {
    all.push_back("cs" + std::to_string(i));
    AddServer(all.back(), "r" + std::to_string((i - 1) % 4 + 1));
  }
  WriteFile("/f", 3, 4096);
  Pass(1000, all);
  Pass(5000, {"cs2", "cs3", "cs4", "cs5", "cs6", "cs7", "cs8"});  // one death
  EXPECT_FALSE(service_->StatusJson()["recovery"]["paused"].get<bool>());
  Pass(5000, {"cs2", "cs3", "cs4", "cs8"});  // three more (r1, r2, r3), well within the window
  auto status = service_->StatusJson();
  EXPECT_TRUE(status["recovery"]["paused"].get<bool>());
  EXPECT_NE(status["recovery"]["alert"].get<std::string>().find("4 chunkservers"), std::string::npos)
      << status["recovery"]["alert"];
  EXPECT_EQ(status["recovery"]["storms"], 1);
}

TEST_F(MasterServiceTest, DeleteSendsLazyDeletes) {
  AddCluster();
  auto chunks = WriteFile("/f", 1, 10);
  DeleteRequest del;
  del.set_path("/f");
  DeleteResponse dr;
  ASSERT_TRUE(service_->Delete(del, &dr).ok());
  EXPECT_EQ(service_->StatusJson()["chunks"]["gc_pending"], 1);
  service_->Tick();
  int deletes = 0;
  for (const auto& r : chunks[0].replicas()) deletes += Commands(Beat(r.server_id()), ChunkCommand::DELETE).size();
  EXPECT_EQ(deletes, 3);
  EXPECT_EQ(service_->StatusJson()["chunks"]["gc_pending"], 0);
}

TEST_F(MasterServiceTest, UnknownServerMustRegisterAgain) {
  EXPECT_TRUE(Beat("ghost").reregister());
  AddCluster();
  EXPECT_FALSE(Beat("cs1").reregister());
}

// A second process started with the id of a live chunkserver (`--id cs1` by
// mistake) is refused: the live one keeps its address, stays alive, and the
// refusal says who holds the id. Once the live one is declared dead, the id is
// free again.
TEST_F(MasterServiceTest, ASecondRegistrationOfALiveIdIsRefused) {
  AddCluster();
  auto addr_of = [&](const std::string& id) {
    nlohmann::json status = service_->StatusJson();
    for (const auto& s : status["chunkservers"]) {
      if (s["id"] == id) return s["addr"].get<std::string>();
    }
    return std::string("none");
  };
  RegisterRequest dup;
  dup.set_server_id("cs1");
  dup.set_addr("10.9.9.9:7000");
  dup.set_rack("r9");
  RegisterResponse resp;
  Status st = service_->Register(dup, &resp);
  ASSERT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();
  EXPECT_NE(st.message().find("cs1:1"), std::string::npos) << st.ToString();
  EXPECT_EQ(addr_of("cs1"), "cs1:1");
  EXPECT_FALSE(Beat("cs1").reregister());
  uint64_t epoch = OpenFile("/f");
  auto c = Allocate("/f", epoch);
  ASSERT_TRUE(c.ok());
  for (const auto& r : c->replicas()) {
    if (r.server_id() == "cs1") {
      EXPECT_EQ(r.addr(), "cs1:1");
    }
  }
  // The same process registering again (after a failed heartbeat) is not a duplicate.
  AddServer("cs1", "r1");
  clock_.Advance(4000 * 1000);
  service_->Tick();
  ASSERT_TRUE(service_->Register(dup, &resp).ok());
  EXPECT_EQ(addr_of("cs1"), "10.9.9.9:7000");
}

// Disk ids tell a restart of a live server (same disks, which their locks
// prove are not served twice; new port) from a second process (other disks).
TEST_F(MasterServiceTest, ALiveServerRestartedOnItsDisksMayRegisterAgain) {
  auto reg = [&](const std::string& addr, std::vector<std::string> disk_ids) {
    RegisterRequest req;
    req.set_server_id("cs5");
    req.set_addr(addr);
    req.set_rack("r1");
    for (auto& id : disk_ids) req.add_disk_ids(id);
    RegisterResponse resp;
    return service_->Register(req, &resp);
  };
  ASSERT_TRUE(reg("h:1", {"d1", "d2"}).ok());
  EXPECT_TRUE(reg("h:2", {"", "d2"}).ok());  // disk 0 failed to open this time
  EXPECT_EQ(reg("h:3", {"d9"}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(reg("h:2", {}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(CounterValue("strata_master_registrations_refused_total"), 2u);
  EXPECT_EQ(service_->StatusJson()["chunkservers"][0]["addr"], "h:2");
}

TEST_F(MasterServiceTest, TheClusterIdIsMadeOnceAndHandedToChunkservers) {
  RegisterRequest req;
  req.set_server_id("cs1");
  req.set_addr("cs1:1");
  RegisterResponse resp;
  ASSERT_TRUE(service_->Register(req, &resp).ok());
  const std::string id = resp.cluster_id();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(service_->StatusJson()["cluster_id"], id);
  Restart(&memory_);
  ASSERT_TRUE(service_->Register(req, &resp).ok());
  EXPECT_EQ(resp.cluster_id(), id);
  meta::MemoryMetaStore other;
  Restart(&other);
  ASSERT_TRUE(service_->Register(req, &resp).ok());
  EXPECT_NE(resp.cluster_id(), id);  // another master, another cluster
  Restart(&memory_);                  // before `other` goes
}

TEST_F(MasterServiceTest, EverythingSurvivesARestartOnRocksDb) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("strata_master_" + std::to_string(getpid()));
  fs::remove_all(dir);
  std::vector<ChunkInfo> chunks;
  {
    auto store = meta::RocksDbMetaStore::Open(dir.string());
    ASSERT_TRUE(store.ok());
    Restart(store->get());
    AddCluster();
    MkdirRequest mk;
    mk.set_path("/logs");
    MkdirResponse mr;
    ASSERT_TRUE(service_->Mkdir(mk, &mr).ok());
    chunks = WriteFile("/logs/a", 2, 1000);
    service_.reset();
  }
  auto store = meta::RocksDbMetaStore::Open(dir.string());
  ASSERT_TRUE(store.ok());
  Restart(store->get());
  StatResponse st = StatOf("/logs/a");
  EXPECT_EQ(st.info().size(), 2000u);
  ASSERT_EQ(st.chunks_size(), 2);
  EXPECT_EQ(ReplicaIds(st.chunks(1)), ReplicaIds(chunks[1]));
  EXPECT_FALSE(st.chunks(1).replicas(0).addr().empty());
  // Servers come back as unknown, must register, and are declared dead if they do not.
  EXPECT_TRUE(Beat("cs1").reregister());
  auto status = service_->StatusJson();
  EXPECT_EQ(status["chunkservers"].size(), 4u);
  EXPECT_EQ(status["chunkservers"][0]["state"], "unknown");
  service_.reset();
  store->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace strata::dfs::master
