// Placement spread and the balancer, through the master: where new chunks
// go, and how replicas move once the cluster is uneven.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dfs/master/master_test_fixture.h"

namespace strata::dfs::master {
namespace {

class MasterBalanceTest : public MasterServiceTest {
 protected:
  void AddSixServers() {
    for (const auto& [id, rack] : std::vector<std::pair<std::string, std::string>>{
             {"cs1", "r1"}, {"cs2", "r2"}, {"cs3", "r3"}, {"cs4", "r1"}, {"cs5", "r2"}, {"cs6", "r3"}}) {
      AddServer(id, rack);
      servers_.push_back(id);
    }
  }
  std::map<std::string, int> ReplicaCounts() {
    std::map<std::string, int> n;
    for (const auto& id : servers_) n[id] = 0;
    const StatResponse st = StatOf("/f");
    for (const auto& c : st.chunks()) {
      for (const auto& r : c.replicas()) n[r.server_id()]++;
    }
    return n;
  }
  // Every chunk of /f has 3 replicas in 3 racks.
  void ExpectFullySpread() {
    const StatResponse st = StatOf("/f");
    for (const auto& c : st.chunks()) {
      std::set<std::string> racks;
      for (const auto& r : c.replicas()) racks.insert(rack_of_.count(r.server_id()) ? rack_of_[r.server_id()] : "?");
      EXPECT_EQ(c.replicas_size(), 3) << c.chunk_id();
      EXPECT_EQ(racks.size(), 3u) << c.chunk_id();
    }
  }
  // One round: a second passes, every server beats (and reports the copies
  // it was handed the round before as landed), the master ticks. Returns
  // the copies handed out this round.
  size_t Round() {
    clock_.Advance(1'000'000);
    std::vector<std::pair<std::string, ChunkCommand>> handed;
    for (const auto& id : servers_) {
      std::vector<ReplicaReport> landed;
      for (const auto& [target, cmd] : pending_) {
        if (target == id) landed.push_back(Rep(cmd.chunk_id(), cmd.length(), true, cmd.target_disk()));
      }
      auto resp = Beat(id, landed);
      for (const auto& cmd : Commands(resp, ChunkCommand::REPLICATE)) handed.push_back({id, cmd});
      deletes_ += Commands(resp, ChunkCommand::DELETE).size();
    }
    pending_ = handed;
    service_->Tick();
    return handed.size();
  }
  // Six servers holding 30 chunks, and cs7 joining rack r1: the balancer
  // hands cs7 one move (at most one in flight), left in pending_ unlanded.
  void StartOneMoveToANewServer() {
    options_.balance_replicas_spread_min = 4;
    options_.balance_moves_in_flight_max = 1;
    Restart(&memory_);
    AddSixServers();
    WriteFile("/f", 30, 1 << 20);
    AddServer("cs7", "r1");
    servers_.push_back("cs7");
    Round();  // the tick plans the move
    Round();  // cs7's beat hands it out
  }
  std::vector<std::string> servers_;
  std::map<std::string, std::string> rack_of_ = {{"cs1", "r1"}, {"cs2", "r2"}, {"cs3", "r3"}, {"cs4", "r1"},
                                                 {"cs5", "r2"}, {"cs6", "r3"}, {"cs7", "r1"}};
  std::vector<std::pair<std::string, ChunkCommand>> pending_;
  size_t deletes_ = 0;
};

// New chunks spread over every server of each rack, in many replica sets,
// with counts close to each other (placement.h).
TEST_F(MasterBalanceTest, AllocationsUseEveryServerAndManyReplicaSets) {
  AddSixServers();
  std::set<std::vector<std::string>> sets;
  for (const auto& c : WriteFile("/f", 120, 4096)) sets.insert(ReplicaIds(c));
  for (const auto& [id, n] : ReplicaCounts()) {  // 360 replicas over 6 servers
    EXPECT_GE(n, 55) << id;
    EXPECT_LE(n, 65) << id;
  }
  EXPECT_EQ(sets.size(), 8u);  // every choice of one server per rack
}

// A server added to the cluster starts empty; the balancer moves replicas
// of its rack to it until the rack is even, keeping every chunk at three
// replicas in three racks throughout: a source's replica goes only after the
// new one is reported. Then nothing more moves.
TEST_F(MasterBalanceTest, AnUnbalancedClusterConverges) {
  options_.balance_replicas_spread_min = 4;
  Restart(&memory_);
  AddSixServers();
  WriteFile("/f", 90, 1 << 20);
  Pass(1000, servers_);
  EXPECT_EQ(metrics_.GetCounter("strata_master_balance_moves_started_total", "")->Value(), 0u);
  AddServer("cs7", "r1");
  servers_.push_back("cs7");
  ASSERT_EQ(ReplicaCounts()["cs7"], 0);
  int rounds = 0;
  size_t moves = 0;
  for (; rounds < 60; ++rounds) {
    size_t before = pending_.size();
    moves += Round();
    ExpectFullySpread();
    if (before == 0 && pending_.empty() && rounds > 2) break;
  }
  EXPECT_LT(rounds, 60) << "still moving";
  auto n = ReplicaCounts();
  // Rack r1 holds 90 replicas over cs1, cs4 and cs7; the other racks' chunks
  // cannot move to r1 (each chunk already has its r1 replica there).
  EXPECT_EQ(n["cs1"] + n["cs4"] + n["cs7"], 90);
  EXPECT_GE(n["cs7"], 30 - 4);
  EXPECT_LE(std::max({n["cs1"], n["cs4"], n["cs7"]}) - std::min({n["cs1"], n["cs4"], n["cs7"]}), 5);
  EXPECT_GT(moves, 20u);
  EXPECT_EQ(deletes_, moves);  // each move's source replica told to go
  auto recovery = service_->StatusJson()["recovery"];
  EXPECT_EQ(recovery["moves_done"].get<size_t>(), moves);
  EXPECT_EQ(recovery["done"], 0);  // moves are not recovery copies
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated"], 0);
}

// A chunk the balancer moved stays put for balance_chunk_cooldown_ms: when
// one more server joins the rack right after a first round of moves, only
// chunks that have not moved yet go to it; after the cooldown any may.
TEST_F(MasterBalanceTest, AMovedChunkIsNotMovedAgainWithinItsCooldown) {
  options_.balance_replicas_spread_min = 4;
  options_.balance_chunk_cooldown_ms = 600'000;
  Restart(&memory_);
  AddSixServers();
  WriteFile("/f", 90, 1 << 20);
  AddServer("cs7", "r1");
  servers_.push_back("cs7");
  std::multiset<uint64_t> moved;
  auto rounds = [&](int n) {
    for (int i = 0; i < n; ++i) {
      Round();
      for (const auto& [target, cmd] : pending_) moved.insert(cmd.chunk_id());
    }
  };
  rounds(40);
  const std::set<uint64_t> first(moved.begin(), moved.end());
  ASSERT_GT(first.size(), 20u);
  EXPECT_EQ(first.size(), moved.size());  // none twice
  AddServer("cs8", "r1");
  servers_.push_back("cs8");
  rounds(40);
  size_t second = 0;
  for (uint64_t id : std::set<uint64_t>(moved.begin(), moved.end())) {
    EXPECT_EQ(moved.count(id), 1u) << "chunk " << id << " moved again within its cooldown";
    second += first.count(id) == 0;
  }
  EXPECT_GT(second, 10u);  // cs8 got chunks that had not moved
  ExpectFullySpread();
}

// A move that has not landed keeps the source's replica listed.
TEST_F(MasterBalanceTest, TheSourceReplicaStaysUntilTheNewOneIsReported) {
  StartOneMoveToANewServer();
  ASSERT_EQ(pending_.size(), 1u);
  const uint64_t chunk = pending_[0].second.chunk_id();
  const std::string source = pending_[0].second.sources(0).server_id();
  auto listed = [&](const std::string& server) {
    const StatResponse st = StatOf("/f");
    for (const auto& c : st.chunks()) {
      if (c.chunk_id() != chunk) continue;
      for (const auto& r : c.replicas()) {
        if (r.server_id() == server) return true;
      }
    }
    return false;
  };
  for (int i = 0; i < 5; ++i) {  // cs7 does not report it: nothing changes
    Pass(1000, servers_);
    EXPECT_TRUE(listed(source));
    EXPECT_FALSE(listed("cs7"));
  }
  auto resp = Beat("cs7", {Rep(chunk, 1 << 20, true, pending_[0].second.target_disk())});
  EXPECT_TRUE(listed("cs7"));
  EXPECT_FALSE(listed(source));
  auto deletes = Commands(Beat(source), ChunkCommand::DELETE);
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].chunk_id(), chunk);
}

// Chunks written while only two racks had servers hold two replicas in one
// rack. When a third rack's servers join, one replica of each moves there,
// even with the balancer off: a rack failure must not take two replicas.
TEST_F(MasterBalanceTest, ChunksInTwoRacksMoveAReplicaToAThirdRackWhenOneJoins) {
  options_.balance_enabled = false;
  Restart(&memory_);
  for (const auto& id : {"cs1", "cs2", "cs4", "cs5"}) {
    AddServer(id, rack_of_[id]);
    servers_.push_back(id);
  }
  WriteFile("/f", 6, 1 << 20);
  const StatResponse written = StatOf("/f");
  for (const auto& c : written.chunks()) ASSERT_EQ(c.replicas_size(), 3);
  Round();
  EXPECT_TRUE(pending_.empty());  // nowhere better to go yet
  EXPECT_EQ(service_->StatusJson()["chunks"]["spread_short"], 0);
  for (const auto& id : {"cs3", "cs6"}) {
    AddServer(id, "r3");
    servers_.push_back(id);
  }
  size_t moves = 0;
  for (int i = 0; i < 30; ++i) moves += Round();
  ExpectFullySpread();
  EXPECT_EQ(moves, 6u);  // one per chunk, none more
  EXPECT_EQ(deletes_, 6u);
  EXPECT_EQ(CounterValue("strata_master_spread_repairs_total"), 6u);
  EXPECT_EQ(service_->StatusJson()["chunks"]["spread_short"], 0);
}

// Both servers of a rack die: their chunks are copied into the two racks
// left. When one of them comes back with its replicas, each of those is
// kept and a replica of the crowded rack goes instead, with no copy.
TEST_F(MasterBalanceTest, AServerBackFromTheDeadGivesItsChunksTheirRackBack) {
  options_.recovery_storm_servers_min = 0;  // two deaths in one rack: no pause here
  Restart(&memory_);
  AddSixServers();
  WriteFile("/f", 6, 1 << 20);
  std::vector<ReplicaReport> cs3_had, cs6_had;
  const StatResponse written = StatOf("/f");
  for (const auto& c : written.chunks()) {
    for (const auto& r : c.replicas()) {
      if (r.server_id() == "cs3") cs3_had.push_back(Rep(c.chunk_id(), 1 << 20, true, r.disk()));
      if (r.server_id() == "cs6") cs6_had.push_back(Rep(c.chunk_id(), 1 << 20, true, r.disk()));
    }
  }
  ASSERT_EQ(cs3_had.size() + cs6_had.size(), 6u);
  servers_ = {"cs1", "cs2", "cs4", "cs5"};
  size_t copies = 0;
  for (int i = 0; i < 30; ++i) copies += Round();
  EXPECT_EQ(copies, 6u);  // re-replicated into r1 and r2
  const StatResponse recovered = StatOf("/f");
  for (const auto& c : recovered.chunks()) ASSERT_EQ(c.replicas_size(), 3);
  EXPECT_EQ(service_->StatusJson()["chunks"]["spread_short"], 0);  // no rack to go to
  const size_t deletes_before = deletes_;
  for (const auto& [id, had] : {std::pair{"cs3", cs3_had}, std::pair{"cs6", cs6_had}}) {
    AddServer(id, "r3");
    servers_.push_back(id);
    auto resp = Beat(id, had, /*full=*/true);
    EXPECT_TRUE(Commands(resp, ChunkCommand::DELETE).empty()) << id << " keeps its replicas";
  }
  ExpectFullySpread();
  size_t more = 0;
  for (int i = 0; i < 5; ++i) more += Round();
  EXPECT_EQ(more, 0u);  // no copy needed
  EXPECT_EQ(deletes_ - deletes_before, 6u);  // the crowded racks' replicas told to go
  EXPECT_EQ(CounterValue("strata_master_spread_repairs_total"), 0u);
  ExpectFullySpread();
}

// A move whose source replica went bad while it was in flight, and an old
// copy that came back meanwhile (listed: the chunk lacked one): when the
// move lands the chunk lists one live replica too many. The surplus goes,
// from a rack holding two, so three replicas in three racks stay.
TEST_F(MasterBalanceTest, ASurplusLeftWhenAMoveLandsIsDropped) {
  StartOneMoveToANewServer();
  ASSERT_EQ(pending_.size(), 1u);
  const ChunkCommand move = pending_[0].second;
  const std::string source = move.sources(0).server_id();
  auto replicas_of = [&] {
    std::vector<ReplicaLocation> out;
    const StatResponse st = StatOf("/f");
    for (const auto& c : st.chunks()) {
      if (c.chunk_id() == move.chunk_id()) out.assign(c.replicas().begin(), c.replicas().end());
    }
    return out;
  };
  ReportBadReplicaRequest bad;
  bad.set_chunk_id(move.chunk_id());
  bad.set_server_id(source);
  ReportBadReplicaResponse br;
  ASSERT_TRUE(service_->ReportBadReplica(bad, &br).ok());
  std::set<std::string> holders;
  for (const auto& r : replicas_of()) holders.insert(r.server_id());
  std::string returning;  // a server of the source's rack without the chunk
  for (const auto& id : servers_) {
    if (id != source && id != "cs7" && !holders.count(id) && rack_of_[id] == rack_of_[source]) returning = id;
  }
  ASSERT_FALSE(returning.empty());
  Beat(returning, {Rep(move.chunk_id(), 1 << 20, true, 0)});
  ASSERT_EQ(replicas_of().size(), 3u);  // listed: the chunk lacked a replica
  auto landed = Beat("cs7", {Rep(move.chunk_id(), 1 << 20, true, move.target_disk())});
  const auto after = replicas_of();
  ASSERT_EQ(after.size(), 3u);
  std::set<std::string> racks;
  for (const auto& r : after) racks.insert(r.rack());
  EXPECT_EQ(racks.size(), 3u);
  size_t deletes = 0;
  for (const auto& cmd : Commands(landed, ChunkCommand::DELETE)) deletes += cmd.chunk_id() == move.chunk_id();
  for (const auto& id : {returning, std::string("cs7")}) {
    for (const auto& cmd : Commands(Beat(id), ChunkCommand::DELETE)) deletes += cmd.chunk_id() == move.chunk_id();
  }
  EXPECT_EQ(deletes, 1u);  // the one of the two in the rack that left the list is told to go
}

}  // namespace
}  // namespace strata::dfs::master
