// Fail-slow chunkservers and disks, the bound on what the detectors may take
// out of service, slow replica marking, and recovery that adapts to
// foreground latency, through MasterService with a ManualClock.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dfs/master/master_test_fixture.h"

namespace strata::dfs::master {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kHealthyUs = 2000;
constexpr uint64_t kSlowUs = 400000;

using Latency = std::function<std::vector<uint64_t>(const std::string& server)>;

class SoftFaultTest : public MasterServiceTest {
 protected:
  static std::string Cs(int i) { return "cs" + std::to_string(i); }
  void AddServers(int n, int racks) {
    for (int i = 1; i <= n; ++i) AddServer(Cs(i), "r" + std::to_string((i - 1) % racks + 1));
    servers_ = n;
  }
  // One second: every server in `alive` (all by default) heartbeats with the
  // latencies `latency` gives it; a REPLICATE it receives is carried out at
  // once (reported by a plain heartbeat, whose reply may carry more
  // commands) unless `complete_copies` is false; DELETEs are counted; then
  // the master ticks.
  void Round(const Latency& latency, bool complete_copies = true, const std::set<std::string>& down = {}) {
    clock_.Advance(1'000'000);
    for (int i = 1; i <= servers_; ++i) {
      std::string id = Cs(i);
      if (down.count(id)) continue;
      std::vector<HeartbeatResponse> replies = {BeatLatency(id, latency(id))};
      while (!replies.empty()) {
        HeartbeatResponse resp = replies.back();
        replies.pop_back();
        deletes_[id] += static_cast<int>(Commands(resp, ChunkCommand::DELETE).size());
        for (const auto& cmd : Commands(resp, ChunkCommand::REPLICATE)) {
          copies_.push_back({id, cmd});
          if (complete_copies) replies.push_back(Beat(id, {Rep(cmd.chunk_id(), cmd.length(), true, cmd.target_disk())}));
        }
      }
    }
    service_->Tick();
  }
  static Latency Uniform(uint64_t us) {
    return [us](const std::string&) { return std::vector<uint64_t>{us, us + 100}; };
  }
  // `slow` servers report kSlowUs on every disk, the rest kHealthyUs.
  static Latency SlowServers(std::set<std::string> slow) {
    return [slow](const std::string& id) {
      return slow.count(id) ? std::vector<uint64_t>{kSlowUs, kSlowUs - 100000} : std::vector<uint64_t>{kHealthyUs, kHealthyUs + 100};
    };
  }
  nlohmann::json ServerJson(const std::string& id) {
    nlohmann::json status = service_->StatusJson();
    for (const auto& s : status["chunkservers"]) {
      if (s["id"] == id) return s;
    }
    return nullptr;
  }
  std::vector<ChunkInfo> ChunksOf(const std::string& path) {
    StatResponse st = StatOf(path);
    return {st.chunks().begin(), st.chunks().end()};
  }
  int ReplicasOn(const std::vector<ChunkInfo>& chunks, const std::string& id) {
    int n = 0;
    for (const auto& c : chunks) {
      for (const auto& r : c.replicas()) n += r.server_id() == id;
    }
    return n;
  }

  int servers_ = 0;
  std::map<std::string, int> deletes_;
  std::vector<std::pair<std::string, ChunkCommand>> copies_;
};

TEST_F(SoftFaultTest, ASlowChunkserverGoesReadOnlyThenOfflineAndComesBack) {
  AddServers(6, 3);
  auto chunks = WriteFile("/f", 6, 4096);
  const int on_cs1 = ReplicasOn(chunks, "cs1");
  ASSERT_GT(on_cs1, 0);
  Latency slow = SlowServers({"cs1"});
  for (int i = 0; i < 3; ++i) Round(slow);
  // Slow right now, not yet out of service: readers already try it last.
  auto s = ServerJson("cs1");
  EXPECT_EQ(s["health"], "normal");
  EXPECT_TRUE(s["slow_now"].get<bool>());
  for (const auto& c : ChunksOf("/f")) {
    for (const auto& r : c.replicas()) EXPECT_EQ(r.slow(), r.server_id() == "cs1") << c.chunk_id();
  }
  for (int i = 0; i < 3; ++i) Round(slow, /*complete_copies=*/false);
  s = ServerJson("cs1");
  EXPECT_EQ(s["health"], "read_only");
  EXPECT_NE(s["health_reason"].get<std::string>().find("servers' median"), std::string::npos) << s["health_reason"];
  EXPECT_EQ(s["write_p99_us"], kSlowUs - 100000);
  // The server's verdict covers its disks: they are not judged one by one.
  EXPECT_EQ(s["disks"][0]["health"], "normal");
  EXPECT_EQ(s["disks"][1]["health"], "normal");
  auto status = service_->StatusJson();
  EXPECT_EQ(status["chunks"]["under_replicated"].get<int>(), on_cs1);
  EXPECT_EQ(status["soft_faults"]["disks_out_of_service"], 2);
  EXPECT_EQ(status["soft_faults"]["slow_chunkservers"], nlohmann::json::array({"cs1"}));
  EXPECT_TRUE(status["alerts"].empty());
  EXPECT_EQ(GaugeValue("strata_master_chunkservers_slow"), 1);
  EXPECT_EQ(GaugeValue("strata_master_disks_out_of_service"), 2);
  // No new chunks on it; the chunk info the writer gets marks nothing slow.
  uint64_t epoch = OpenFile("/g");
  for (int i = 0; i < 6; ++i) {
    auto c = Allocate("/g", epoch);
    ASSERT_TRUE(c.ok());
    for (const auto& r : c->replicas()) {
      EXPECT_NE(r.server_id(), "cs1");
      EXPECT_FALSE(r.slow());
    }
    ASSERT_TRUE(Seal("/g", epoch, c->chunk_id(), 10).ok());
  }
  // Its chunks get an extra copy elsewhere; then it goes offline and its
  // replicas are dropped and deleted.
  for (int i = 0; i < 6; ++i) Round(slow);
  s = ServerJson("cs1");
  EXPECT_EQ(s["health"], "offline");
  EXPECT_EQ(s["replicas"], 0);
  EXPECT_EQ(deletes_["cs1"], on_cs1);
  for (const auto& c : ChunksOf("/f")) {
    EXPECT_EQ(c.replicas_size(), 3);
    for (const auto& r : c.replicas()) {
      EXPECT_NE(r.server_id(), "cs1");
      EXPECT_FALSE(r.slow());
    }
  }
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated"], 0);
  // As many healthy heartbeats in a row bring it back.
  for (int i = 0; i < 4; ++i) Round(Uniform(kHealthyUs));
  EXPECT_EQ(ServerJson("cs1")["health"], "offline");
  Round(Uniform(kHealthyUs));
  s = ServerJson("cs1");
  EXPECT_EQ(s["health"], "normal");
  EXPECT_EQ(s["health_reason"], "");
  EXPECT_EQ(service_->StatusJson()["soft_faults"]["disks_out_of_service"], 0);
  EXPECT_EQ(GaugeValue("strata_master_chunkservers_slow"), 0);
}

TEST_F(SoftFaultTest, ABusyButUniformlySlowClusterFlagsNothing) {
  AddServers(6, 3);
  WriteFile("/f", 6, 4096);
  // Every disk well above the floor (50 ms), jumping between two histogram
  // buckets from heartbeat to heartbeat; cs6 constantly in the upper one.
  int round = 0;
  Latency busy = [&round](const std::string& id) {
    if (id == "cs6") return std::vector<uint64_t>{262144, 262144};
    uint64_t i = static_cast<uint64_t>(id.back() - '0') + static_cast<uint64_t>(round);
    return std::vector<uint64_t>{131072ull << (i % 2), 131072ull << ((i + 1) % 2)};
  };
  for (round = 0; round < 40; ++round) {
    Round(busy);
    nlohmann::json status = service_->StatusJson();
    for (const auto& s : status["chunkservers"]) {
      ASSERT_EQ(s["health"], "normal") << s["id"];
      ASSERT_FALSE(s["slow_now"].get<bool>()) << s["id"] << " round " << round;
      for (const auto& d : s["disks"]) ASSERT_EQ(d["health"], "normal") << s["id"];
    }
  }
  auto status = service_->StatusJson();
  EXPECT_TRUE(status["alerts"].empty());
  EXPECT_EQ(status["soft_faults"]["alerts_raised"], 0);
  EXPECT_EQ(status["soft_faults"]["disks_out_of_service"], 0);
  EXPECT_EQ(status["chunks"]["under_replicated"], 0);
  EXPECT_TRUE(copies_.empty());
  for (const auto& c : ChunksOf("/f")) {
    for (const auto& r : c.replicas()) EXPECT_FALSE(r.slow());
  }
}

TEST_F(SoftFaultTest, TheBoundCoversDisksAndServersAndOnlyAlertsBeyondIt) {
  AddServers(6, 3);  // 12 disks: at most max(1, 1% x 12) = 1 out of service
  WriteFile("/f", 6, 4096);
  std::set<std::string> slow_disk0 = {"cs2", "cs3", "cs5"};
  bool cs1_slow = false;
  Latency latency = [&](const std::string& id) {
    if (id == "cs1" && cs1_slow) return std::vector<uint64_t>{kSlowUs, kSlowUs};
    return std::vector<uint64_t>{slow_disk0.count(id) ? kSlowUs : kHealthyUs, kHealthyUs};
  };
  for (int i = 0; i < 8; ++i) Round(latency);
  int out = 0;  // read-only, then offline once its chunks have copies elsewhere
  for (const auto& id : slow_disk0) out += ServerJson(id)["disks"][0]["health"] != "normal";
  EXPECT_EQ(out, 1);
  auto status = service_->StatusJson();
  EXPECT_EQ(status["soft_faults"]["disks_out_of_service"], 1);
  ASSERT_EQ(status["alerts"].size(), 2u) << status["alerts"].dump();
  for (const auto& a : status["alerts"]) EXPECT_EQ(a["kind"], "slow_disk_bound");
  EXPECT_NE(status["soft_fault_alert"].get<std::string>().find("already out of service"), std::string::npos);
  EXPECT_EQ(CounterValue("strata_master_soft_fault_alerts_total"), 2u);  // once each, not per heartbeat
  EXPECT_EQ(GaugeValue("strata_master_soft_fault_alerts_active"), 2);
  // A whole slow chunkserver is held back too: its replicas still count.
  const int under = status["chunks"]["under_replicated"].get<int>();
  cs1_slow = true;
  for (int i = 0; i < 5; ++i) Round(latency);
  status = service_->StatusJson();
  EXPECT_EQ(ServerJson("cs1")["health"], "normal");
  EXPECT_TRUE(ServerJson("cs1")["slow_now"].get<bool>());
  ASSERT_EQ(status["alerts"].size(), 3u) << status["alerts"].dump();
  EXPECT_EQ(status["alerts"][0]["kind"], "slow_chunkserver_bound");
  EXPECT_NE(status["alerts"][0]["message"].get<std::string>().find("chunkserver cs1 is slow"), std::string::npos);
  EXPECT_EQ(status["chunks"]["under_replicated"], under);
  EXPECT_EQ(CounterValue("strata_master_soft_fault_alerts_total"), 3u);
  EXPECT_EQ(GaugeValue("strata_master_soft_fault_alerts_active"), 3);
  for (const auto& c : ChunksOf("/f")) {
    for (const auto& r : c.replicas()) {
      if (r.server_id() == "cs1") {
        EXPECT_TRUE(r.slow());
      }
    }
  }
  // The alert clears when the server is no longer slow; the last one raised stays readable.
  cs1_slow = false;
  Round(latency);
  status = service_->StatusJson();
  EXPECT_EQ(status["alerts"].size(), 2u);
  EXPECT_FALSE(status["soft_fault_alert"].get<std::string>().empty());
}

TEST_F(SoftFaultTest, RecoverySlowsDownWhenForegroundLatencyRisesAndRampsBackUp) {
  options_.recovery_bytes_per_sec_max = 100 * kMiB;
  options_.recovery_bytes_per_sec_min = 10 * kMiB;
  options_.recovery_copies_per_server_max = 4;
  options_.recovery_foreground_p99_target_us = 4000;
  Restart(&memory_);
  AddServers(6, 3);
  WriteFile("/f", 8, kMiB);
  for (int i = 0; i < 2; ++i) Round(Uniform(kHealthyUs));
  auto rec = service_->StatusJson()["recovery"];
  EXPECT_EQ(rec["bytes_per_sec"], 100 * kMiB);
  EXPECT_EQ(rec["copies_per_server"], 4);
  EXPECT_EQ(rec["throttle_level"], 1.0);
  EXPECT_EQ(rec["foreground_p99_us"], kHealthyUs + 100);  // the median of 2000s and 2100s
  // Foreground p99 at twice the target: recovery at its floor.
  for (int i = 0; i < 2; ++i) Round(Uniform(8000));
  rec = service_->StatusJson()["recovery"];
  EXPECT_EQ(rec["bytes_per_sec"], 10 * kMiB);
  EXPECT_EQ(rec["copies_per_server"], 1);
  EXPECT_EQ(GaugeValue("strata_master_recovery_bytes_per_sec"), static_cast<double>(10 * kMiB));
  EXPECT_EQ(GaugeValue("strata_master_foreground_write_p99_us"), 8100);
  // A server dies: its chunks are copied at the floor rate, one copy per server.
  for (int i = 0; i < 6; ++i) Round(Uniform(8000), /*complete_copies=*/false, {"cs6"});
  ASSERT_FALSE(copies_.empty());
  std::map<std::string, int> per_target;
  for (const auto& [target, cmd] : copies_) {
    EXPECT_EQ(cmd.rate_limit_bytes_per_sec(), 10 * kMiB);
    EXPECT_LE(++per_target[target], 1) << target;
  }
  // Latency back to normal: the rate climbs a quarter of the way per second.
  Round(Uniform(kHealthyUs), false, {"cs6"});
  rec = service_->StatusJson()["recovery"];
  EXPECT_NEAR(rec["throttle_level"].get<double>(), 0.25, 1e-9);
  EXPECT_EQ(rec["bytes_per_sec"], 10 * kMiB + 90 * kMiB / 4);
  EXPECT_EQ(rec["copies_per_server"], 1);
  for (int i = 0; i < 3; ++i) Round(Uniform(kHealthyUs), false, {"cs6"});
  rec = service_->StatusJson()["recovery"];
  EXPECT_EQ(rec["bytes_per_sec"], 100 * kMiB);
  EXPECT_EQ(rec["copies_per_server"], 4);
}

TEST_F(SoftFaultTest, ChunksWithOneReplicaLeftAreNeverStarved) {
  options_.recovery_bytes_per_sec_max = kMiB;  // one 1 MiB copy per second
  options_.recovery_bytes_per_sec_min = kMiB;
  options_.recovery_copies_per_server_max = 2;
  Restart(&memory_);
  AddServers(5, 5);
  auto chunks = WriteFile("/f", 3, kMiB);
  auto bad = [&](const ChunkInfo& c, int replica) {
    ReportBadReplicaRequest req;
    req.set_chunk_id(c.chunk_id());
    req.set_server_id(c.replicas(replica).server_id());
    ReportBadReplicaResponse resp;
    ASSERT_TRUE(service_->ReportBadReplica(req, &resp).ok());
  };
  auto started = [&] {
    std::vector<std::pair<std::string, ChunkCommand>> out;
    for (int i = 1; i <= 5; ++i) {
      for (const auto& cmd : Commands(Beat(Cs(i)), ChunkCommand::REPLICATE)) out.push_back({Cs(i), cmd});
    }
    return out;
  };
  bad(chunks[0], 0);  // two replicas left: a regular copy spends the budget
  service_->Tick();
  ASSERT_EQ(started().size(), 1u);
  bad(chunks[1], 0);  // one replica left, twice
  bad(chunks[1], 1);
  bad(chunks[2], 0);
  bad(chunks[2], 1);
  service_->Tick();  // no time passed: the budget is spent
  auto urgent = started();
  ASSERT_EQ(urgent.size(), 1u);  // one urgent-lane copy at a time
  EXPECT_EQ(urgent[0].second.chunk_id(), chunks[1].chunk_id());
  EXPECT_EQ(urgent[0].second.rate_limit_bytes_per_sec(), kMiB);
  auto rec = service_->StatusJson()["recovery"];
  EXPECT_EQ(rec["in_flight"], 2);
  EXPECT_EQ(rec["urgent_in_flight"], 1);
  EXPECT_EQ(CounterValue("strata_master_recovery_urgent_copies_total"), 1u);
  // It lands: the lane takes the next chunk with one replica left at once.
  Beat(urgent[0].first, {Rep(chunks[1].chunk_id(), kMiB, true, urgent[0].second.target_disk())});
  service_->Tick();
  auto next = started();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].second.chunk_id(), chunks[2].chunk_id());
  EXPECT_EQ(CounterValue("strata_master_recovery_urgent_copies_total"), 2u);
}

TEST_F(SoftFaultTest, ADeadServerNoLongerHoldsTheBound) {
  AddServers(6, 3);
  WriteFile("/f", 4, 4096);
  Latency slow = SlowServers({"cs1"});
  for (int i = 0; i < 6; ++i) Round(slow);
  ASSERT_EQ(ServerJson("cs1")["health"], "read_only");
  for (int i = 0; i < 5; ++i) Round(slow, true, {"cs1"});
  auto s = ServerJson("cs1");
  EXPECT_EQ(s["state"], "dead");
  EXPECT_EQ(s["health"], "normal");
  EXPECT_EQ(service_->StatusJson()["soft_faults"]["disks_out_of_service"], 0);
}

}  // namespace
}  // namespace strata::dfs::master
