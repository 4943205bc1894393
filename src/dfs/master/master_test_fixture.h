// Test fixture for MasterService: driven directly, with a ManualClock, the
// in-memory MetaStore and a fake chunkserver stub. Shared by the master's
// test files.
//
// Thread-safety: single-threaded tests only.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dfs/master/master_service.h"
#include "meta/memory_meta_store.h"

namespace strata::dfs::master {

constexpr uint64_t kGiB = 1ull << 30;

class FakeStub : public ChunkserverStub {
 public:
  std::vector<Result<ChunkInfoResponse>> ChunkInfoEach(const std::vector<ChunkQuery>& queries,
                                                       uint32_t) override {
    std::vector<Result<ChunkInfoResponse>> out;
    for (const auto& q : queries) {
      const std::string& a = q.addr;
      if (copies.count({a, q.chunk_id})) {
        ChunkInfoResponse r;
        r.set_length(copies[{a, q.chunk_id}]);
        r.set_sealed(true);
        r.set_disk(1);
        out.emplace_back(r);
        continue;
      }
      auto it = lengths.find(a);
      if (it == lengths.end()) {
        out.emplace_back(Status::Unavailable(a + " down"));
        continue;
      }
      ChunkInfoResponse r;
      r.set_length(it->second);
      out.emplace_back(r);
    }
    return out;
  }
  std::vector<Status> Seal(const std::vector<std::string>& addrs, const SealRequest& req, uint32_t) override {
    for (const auto& a : addrs) sealed[a] = req.length();
    return std::vector<Status>(addrs.size());
  }
  std::map<std::string, uint64_t> lengths;  // addr -> replica length
  std::map<std::string, uint64_t> sealed;   // addr -> sealed length
  std::map<std::pair<std::string, uint64_t>, uint64_t> copies;  // (addr, chunk) -> sealed replica length
};

class MasterServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.chunkserver_dead_after_ms = 3000;
    options_.default_chunk_size_bytes = 1 << 20;
    options_.recovery_copies_per_server_max = 1;
    options_.recovery_bytes_per_sec_max = 100ull << 20;
    options_.seal_grace_ms = 1000;
    // Single-threaded tests: an allocation must not wait for registrations
    // (master_startup_test.cc sets a grace period).
    options_.startup_grace_ms = 0;
    Restart(&memory_);
  }
  void Restart(meta::MetaStore* store) {
    service_ = std::make_unique<MasterService>(store, &clock_, &stub_, &metrics_, options_,
                                               std::make_unique<Random>(placement_seed_));
    ASSERT_TRUE(service_->Start().ok());
  }
  void AddServer(const std::string& id, const std::string& rack) {
    RegisterRequest req;
    req.set_server_id(id);
    req.set_addr(id + ":1");
    req.set_rack(rack);
    for (uint32_t d = 0; d < 2; ++d) {
      DiskStat* disk = req.add_disks();
      disk->set_index(d);
      disk->set_capacity_bytes(100 * kGiB);
      disk->set_free_bytes(50 * kGiB);
    }
    RegisterResponse resp;
    ASSERT_TRUE(service_->Register(req, &resp).ok());
  }
  void AddCluster() {  // 4 servers, 3 racks
    AddServer("cs1", "r1");
    AddServer("cs2", "r2");
    AddServer("cs3", "r3");
    AddServer("cs4", "r1");
  }
  HeartbeatResponse Beat(const std::string& id, const std::vector<ReplicaReport>& reps = {}, bool full = false) {
    HeartbeatRequest req;
    req.set_server_id(id);
    req.set_full_report(full);
    for (const auto& r : reps) *req.add_replicas() = r;
    HeartbeatResponse resp;
    EXPECT_TRUE(service_->Heartbeat(req, &resp).ok());
    return resp;
  }
  // A heartbeat with disk statistics: disk d reports write p99 `p99_us[d]`
  // over 10 operations (0: no operations since the last heartbeat).
  HeartbeatResponse BeatLatency(const std::string& id, const std::vector<uint64_t>& p99_us,
                                const std::vector<ReplicaReport>& reps = {}) {
    HeartbeatRequest req;
    req.set_server_id(id);
    for (uint32_t d = 0; d < p99_us.size(); ++d) {
      DiskStat* disk = req.add_disks();
      disk->set_index(d);
      disk->set_capacity_bytes(100 * kGiB);
      disk->set_free_bytes(50 * kGiB);
      disk->set_ops(p99_us[d] > 0 ? 10 : 0);
      disk->set_write_p99_us(p99_us[d]);
    }
    for (const auto& r : reps) *req.add_replicas() = r;
    HeartbeatResponse resp;
    EXPECT_TRUE(service_->Heartbeat(req, &resp).ok());
    return resp;
  }
  double GaugeValue(const std::string& name) { return metrics_.GetGauge(name, "")->Value(); }
  uint64_t CounterValue(const std::string& name) { return metrics_.GetCounter(name, "")->Value(); }
  static ReplicaReport Rep(uint64_t chunk, uint64_t length, bool sealed, uint32_t disk = 0) {
    ReplicaReport r;
    r.set_chunk_id(chunk);
    r.set_length(length);
    r.set_sealed(sealed);
    r.set_disk(disk);
    return r;
  }
  uint64_t OpenFile(const std::string& path, uint32_t replication = 3) {
    CreateRequest c;
    c.set_path(path);
    c.set_replication(replication);
    CreateResponse cr;
    EXPECT_TRUE(service_->Create(c, &cr).ok());
    OpenWriteRequest o;
    o.set_path(path);
    OpenWriteResponse orsp;
    EXPECT_TRUE(service_->OpenWrite(o, &orsp).ok());
    return orsp.writer_epoch();
  }
  Result<ChunkInfo> Allocate(const std::string& path, uint64_t epoch, std::vector<std::string> exclude = {}) {
    AllocateChunkRequest req;
    req.set_path(path);
    req.set_writer_epoch(epoch);
    for (const auto& e : exclude) req.add_exclude_servers(e);
    AllocateChunkResponse resp;
    RETURN_IF_ERROR(service_->AllocateChunk(req, &resp));
    return resp.chunk();
  }
  Status Seal(const std::string& path, uint64_t epoch, uint64_t chunk, uint64_t length) {
    SealChunkRequest req;
    req.set_path(path);
    req.set_writer_epoch(epoch);
    req.set_chunk_id(chunk);
    req.set_length(length);
    SealChunkResponse resp;
    return service_->SealChunk(req, &resp);
  }
  // Writes a file of `chunks` sealed chunks of `length` bytes; returns them.
  std::vector<ChunkInfo> WriteFile(const std::string& path, int chunks, uint64_t length) {
    uint64_t epoch = OpenFile(path);
    std::vector<ChunkInfo> out;
    for (int i = 0; i < chunks; ++i) {
      auto c = Allocate(path, epoch);
      EXPECT_TRUE(c.ok()) << c.status().ToString();
      EXPECT_TRUE(Seal(path, epoch, c->chunk_id(), length).ok());
      out.push_back(*c);
    }
    return out;
  }
  StatResponse StatOf(const std::string& path) {
    StatRequest req;
    req.set_path(path);
    StatResponse resp;
    EXPECT_TRUE(service_->Stat(req, &resp).ok());
    return resp;
  }
  std::vector<std::string> ReplicaIds(const ChunkInfo& c) {
    std::vector<std::string> ids;
    for (const auto& r : c.replicas()) ids.push_back(r.server_id());
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  // Reports the first replica of `chunk` bad, ticks, and returns the server
  // (of cs1..cs4) that its next heartbeat asks to copy the chunk; empty
  // when none is asked.
  std::string FailFirstReplicaAndFindCopyTarget(const ChunkInfo& chunk) {
    ReportBadReplicaRequest bad;
    ReportBadReplicaResponse br;
    bad.set_chunk_id(chunk.chunk_id());
    bad.set_server_id(chunk.replicas(0).server_id());
    if (!service_->ReportBadReplica(bad, &br).ok()) return {};
    service_->Tick();
    std::string target;
    for (const auto& id : {"cs1", "cs2", "cs3", "cs4"}) {
      if (!Commands(Beat(id), ChunkCommand::REPLICATE).empty()) target = id;
    }
    return target;
  }
  // Keeps the given servers alive across `ms` of time, ticking each second.
  void Pass(uint64_t ms, const std::vector<std::string>& alive) {
    for (uint64_t t = 0; t < ms; t += 1000) {
      clock_.Advance(1000 * 1000);
      for (const auto& id : alive) {
        for (const auto& cmd : Commands(Beat(id), ChunkCommand::REPLICATE)) replicates_.push_back({id, cmd});
      }
      service_->Tick();
    }
  }
  static std::vector<ChunkCommand> Commands(const HeartbeatResponse& r, ChunkCommand::Kind kind) {
    std::vector<ChunkCommand> out;
    for (const auto& c : r.commands()) {
      if (c.kind() == kind) out.push_back(c);
    }
    return out;
  }

  std::vector<std::pair<std::string, ChunkCommand>> replicates_;  // seen by Pass()
  ManualClock clock_;
  FakeStub stub_;
  MetricsRegistry metrics_;
  MasterOptions options_;
  uint64_t placement_seed_ = 1;
  meta::MemoryMetaStore memory_;
  std::unique_ptr<MasterService> service_;
};

}  // namespace strata::dfs::master
