// BlockManagerService driven directly, with a ManualClock, a MemoryMetaStore
// (or RocksDB where a restart must prove durability) and a dfs deleter that
// the test can fail. Time moves only through Pass().
#include "block/manager/blockmanager_service.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "block/manager/volume_geometry.h"
#include "env/testing/temp_dir.h"
#include "meta/memory_meta_store.h"
#include "meta/rocksdb_meta_store.h"

namespace strata::block::manager {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

class FakeDeleter : public VolumeDataDeleter {
 public:
  Status DeleteVolumeData(const std::string& dfs_path) override {
    calls.push_back(dfs_path);
    if (fail) return Status::Unavailable("dfs master 127.0.0.1:7000 unreachable");
    deleted.insert(dfs_path);
    return Status::Ok();
  }
  bool fail = false;
  std::vector<std::string> calls;
  std::set<std::string> deleted;
};

class BlockManagerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.segment_size_bytes = 16 * kMiB;  // 64 MiB groups of 4
    Restart(&memory_);
  }
  void Restart(meta::MetaStore* store) {
    service_.reset();
    metrics_ = std::make_unique<MetricsRegistry>();
    service_ = std::make_unique<BlockManagerService>(store, &clock_, &deleter_, metrics_.get(), options_);
    Status st = service_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  Result<VolumeInfo> Create(const std::string& name, uint64_t size,
                            dfs::Durability durability = dfs::DURABILITY_SYNC) {
    CreateVolumeRequest req;
    req.set_name(name);
    req.set_size_bytes(size);
    req.set_durability(durability);
    CreateVolumeResponse resp;
    RETURN_IF_ERROR(service_->CreateVolume(req, &resp));
    return resp.volume();
  }
  Result<GetVolumeResponse> Get(const std::string& name) {
    GetVolumeRequest req;
    req.set_name(name);
    GetVolumeResponse resp;
    RETURN_IF_ERROR(service_->GetVolume(req, &resp));
    return resp;
  }
  Result<VolumeInfo> Resize(const std::string& name, uint64_t size) {
    ResizeVolumeRequest req;
    req.set_name(name);
    req.set_size_bytes(size);
    ResizeVolumeResponse resp;
    RETURN_IF_ERROR(service_->ResizeVolume(req, &resp));
    return resp.volume();
  }
  Status Delete(const std::string& name) {
    DeleteVolumeRequest req;
    req.set_name(name);
    DeleteVolumeResponse resp;
    return service_->DeleteVolume(req, &resp);
  }
  std::vector<std::string> Names() {
    ListVolumesResponse resp;
    EXPECT_TRUE(service_->ListVolumes({}, &resp).ok());
    std::vector<std::string> names;
    for (const auto& v : resp.volumes()) names.push_back(v.name());
    return names;
  }
  Status Register(const std::string& id, const std::string& addr = "") {
    BmRegisterRequest req;
    req.set_server_id(id);
    req.set_addr(addr.empty() ? id + ":1" : addr);
    BmRegisterResponse resp;
    return service_->Register(req, &resp);
  }
  BmHeartbeatResponse Beat(const std::string& id, const std::vector<SegmentReport>& reports = {}) {
    BmHeartbeatRequest req;
    req.set_server_id(id);
    for (const auto& r : reports) *req.add_segments() = r;
    BmHeartbeatResponse resp;
    EXPECT_TRUE(service_->Heartbeat(req, &resp).ok());
    return resp;
  }
  // Keeps `alive` heartbeating across `ms`, ticking every heartbeat interval.
  void Pass(uint64_t ms, const std::vector<std::string>& alive) {
    for (uint64_t t = 0; t < ms; t += options_.heartbeat_interval_ms) {
      clock_.Advance(options_.heartbeat_interval_ms * 1000);
      for (const auto& id : alive) Beat(id);
      service_->Tick();
    }
  }
  std::vector<std::string> Owners(const std::string& name) {
    std::vector<std::string> owners;
    auto v = Get(name);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (!v.ok()) return owners;
    for (const auto& s : v->segments()) owners.push_back(s.owner_id());
    return owners;
  }
  SegmentInfo SegmentOf(const std::string& name, uint32_t index) {
    auto v = Get(name);
    EXPECT_TRUE(v.ok() && index < static_cast<uint32_t>(v->segments_size()));
    return v.ok() && index < static_cast<uint32_t>(v->segments_size()) ? v->segments(index) : SegmentInfo();
  }
  static std::set<std::pair<uint64_t, uint32_t>> Assigned(const BmHeartbeatResponse& r) {
    std::set<std::pair<uint64_t, uint32_t>> out;
    for (const auto& a : r.segments()) out.insert({a.volume_id(), a.index()});
    return out;
  }
  double GaugeValue(const std::string& name) { return metrics_->GetGauge(name, "")->Value(); }
  uint64_t CounterValue(const std::string& name) { return metrics_->GetCounter(name, "")->Value(); }

  ManualClock clock_;
  FakeDeleter deleter_;
  std::unique_ptr<MetricsRegistry> metrics_;
  BlockManagerOptions options_;
  meta::MemoryMetaStore memory_;
  std::unique_ptr<BlockManagerService> service_;
};

TEST_F(BlockManagerServiceTest, CreateListGetAndTheirErrors) {
  auto v = Create("vm1", 100 * kMiB + 1, dfs::DURABILITY_MEMORY);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->id(), 1u);  // ids start at 1
  EXPECT_EQ(v->size_bytes(), 100 * kMiB + 4096);  // whole blocks
  EXPECT_EQ(v->segment_count(), 8u);              // whole groups of 4 x 16 MiB
  EXPECT_EQ(v->durability(), dfs::DURABILITY_MEMORY);
  EXPECT_EQ(v->geometry().block_size(), 4096u);
  EXPECT_EQ(v->geometry().segment_size_bytes(), 16 * kMiB);
  EXPECT_EQ(v->geometry().stripe_unit_bytes(), 128u << 10);
  EXPECT_EQ(v->partition(), VolumePartition(1, 16));
  EXPECT_EQ(v->created_us(), clock_.WallMicros());

  EXPECT_EQ(Create("vm1", kGiB).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Create("", kGiB).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Create(".x", kGiB).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Create("-x", kGiB).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Create("a/b", kGiB).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Create(std::string(65, 'a'), kGiB).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Create("zero", 0).status().code(), StatusCode::kInvalidArgument);
  auto huge = Create("huge", (64ull << 40) + 1);
  EXPECT_EQ(huge.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(huge.status().message().find("volume_size_max"), std::string::npos) << huge.status().message();
  // 1 TiB of 16 MiB segments is 65536 segments: more than one volume may have.
  EXPECT_EQ(Create("many", 1ull << 40).status().code(), StatusCode::kInvalidArgument);
  CreateVolumeRequest odd;
  odd.set_name("odd");
  odd.set_size_bytes(kGiB);
  odd.mutable_geometry()->set_segment_size_bytes(100 * 1024);  // not whole stripe units
  CreateVolumeResponse odd_resp;
  EXPECT_EQ(service_->CreateVolume(odd, &odd_resp).code(), StatusCode::kInvalidArgument);
  odd.mutable_geometry()->set_segment_size_bytes(kMiB);
  odd.mutable_geometry()->set_segments_per_group(2);
  ASSERT_TRUE(service_->CreateVolume(odd, &odd_resp).ok());
  EXPECT_EQ(odd_resp.volume().segment_count(), 1024u);

  ASSERT_TRUE(Create("a.disk", kGiB).ok());
  EXPECT_EQ(Names(), (std::vector<std::string>{"a.disk", "odd", "vm1"}));
  auto got = Get("vm1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->volume().id(), 1u);
  ASSERT_EQ(got->segments_size(), 8);
  for (uint32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(got->segments(i).index(), i);
    EXPECT_EQ(got->segments(i).owner_id(), "");  // no blockserver yet
    EXPECT_EQ(got->segments(i).epoch(), 0u);
    EXPECT_EQ(got->segments(i).tokens(), 3u);
    EXPECT_EQ(got->segments(i).state(), "unassigned");
  }
  auto missing = Get("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no volume named 'nope'");
}

TEST_F(BlockManagerServiceTest, ResizeGrowsOnlineAndRefusesToShrink) {
  ASSERT_TRUE(Register("bs1").ok());
  ASSERT_TRUE(Register("bs2").ok());
  ASSERT_TRUE(Create("v", 64 * kMiB).ok());
  EXPECT_EQ(Owners("v"), (std::vector<std::string>{"bs1", "bs2", "bs1", "bs2"}));
  auto same = Resize("v", 64 * kMiB);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->segment_count(), 4u);
  auto shrink = Resize("v", 32 * kMiB);
  EXPECT_EQ(shrink.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(shrink.status().message().find("can only grow"), std::string::npos) << shrink.status().message();
  EXPECT_EQ(Resize("nope", kGiB).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Resize("v", 0).status().code(), StatusCode::kInvalidArgument);

  auto grown = Resize("v", 64 * kMiB + 1);
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();
  EXPECT_EQ(grown->size_bytes(), 64 * kMiB + 4096);
  EXPECT_EQ(grown->segment_count(), 8u);
  auto v = Get("v");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->segments_size(), 8);
  for (const auto& s : v->segments()) {
    EXPECT_FALSE(s.owner_id().empty());  // the new segments are assigned at once
    EXPECT_EQ(s.epoch(), 1u);
  }
  EXPECT_EQ(Beat("bs1").segments_size() + Beat("bs2").segments_size(), 8);
  // Inside the last group: only the size changes.
  auto within = Resize("v", 100 * kMiB);
  ASSERT_TRUE(within.ok());
  EXPECT_EQ(within->segment_count(), 8u);
  EXPECT_EQ(within->size_bytes(), 100 * kMiB);
}

TEST_F(BlockManagerServiceTest, DeletedNamesAreReusableButIdsNever) {
  TempDir dir("strata_blockmanager_ids");
  auto store = meta::RocksDbMetaStore::Open(dir.path() + "/meta");
  ASSERT_TRUE(store.ok());
  Restart(store->get());
  ASSERT_EQ(Create("a", kGiB)->id(), 1u);
  ASSERT_EQ(Create("b", kGiB)->id(), 2u);
  ASSERT_TRUE(Delete("b").ok());
  EXPECT_EQ(Delete("b").code(), StatusCode::kNotFound);
  EXPECT_EQ(Get("b").status().code(), StatusCode::kNotFound);
  auto again = Create("b", kGiB);  // the name is free at once
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id(), 3u);
  ASSERT_TRUE(Delete("b").ok());
  Restart(store->get());
  EXPECT_EQ(Names(), std::vector<std::string>{"a"});
  EXPECT_EQ(Create("c", kGiB)->id(), 4u);  // the counter is persistent
  service_.reset();
}

TEST_F(BlockManagerServiceTest, ASecondProcessWithALiveIdIsRefused) {
  ASSERT_TRUE(Register("bs1", "10.0.0.1:5000").ok());
  Status dup = Register("bs1", "10.0.0.2:5000");
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("10.0.0.1:5000"), std::string::npos) << dup.message();
  EXPECT_TRUE(Register("bs1", "10.0.0.1:5000").ok());  // the same process again
  EXPECT_EQ(Register("", "x:1").code(), StatusCode::kInvalidArgument);
  // Once it is dead, the id may come back anywhere.
  Pass(options_.dead_after_ms + options_.heartbeat_interval_ms, {});
  EXPECT_TRUE(Register("bs1", "10.0.0.2:5000").ok());
  nlohmann::json status = service_->StatusJson();
  EXPECT_EQ(status["blockservers"][0]["addr"], "10.0.0.2:5000");
}

TEST_F(BlockManagerServiceTest, HeartbeatsCarryEverySegmentOnce) {
  ASSERT_TRUE(Create("early", 64 * kMiB).ok());  // before any server: unassigned
  EXPECT_TRUE(Beat("bs1").reregister());          // unknown to the manager
  EXPECT_EQ(Beat("bs1").lease_ms(), 0u);
  for (const char* id : {"bs1", "bs2", "bs3"}) ASSERT_TRUE(Register(id).ok());
  ASSERT_TRUE(Create("v", 128 * kMiB, dfs::DURABILITY_MEMORY).ok());
  std::set<std::pair<uint64_t, uint32_t>> all;
  size_t total = 0;
  for (const char* id : {"bs1", "bs2", "bs3"}) {
    BmHeartbeatResponse r = Beat(id);
    EXPECT_FALSE(r.reregister());
    EXPECT_EQ(r.lease_ms(), options_.lease_ms);
    EXPECT_GE(r.segments_size(), 4);  // 12 segments over 3 servers
    EXPECT_LE(r.segments_size(), 4);
    for (const auto& a : r.segments()) {
      EXPECT_EQ(a.epoch(), 1u);
      EXPECT_EQ(a.block_size(), 4096u);
      EXPECT_EQ(a.segment_size_bytes(), 16 * kMiB);
      EXPECT_EQ(a.volume_name(), a.volume_id() == 1 ? "early" : "v");
      EXPECT_EQ(a.durability(), a.volume_id() == 1 ? dfs::DURABILITY_SYNC : dfs::DURABILITY_MEMORY);
    }
    auto mine = Assigned(r);
    total += mine.size();
    all.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(total, 12u);  // exactly one owner each
  EXPECT_EQ(all.size(), 12u);
  // The segments created before any server got owners when the first registered.
  for (const auto& owner : Owners("early")) EXPECT_FALSE(owner.empty());
  EXPECT_EQ(GaugeValue("strata_blockmanager_segments_unassigned"), 0);
}

TEST_F(BlockManagerServiceTest, ReportsFromTheOwnerAtItsEpochAreSummed) {
  ASSERT_TRUE(Register("bs1").ok());
  ASSERT_TRUE(Register("bs2").ok());
  ASSERT_TRUE(Create("v", 64 * kMiB).ok());  // bs1: 0, 2; bs2: 1, 3
  auto report = [](uint32_t index, uint64_t epoch, uint64_t live) {
    SegmentReport r;
    r.set_volume_id(1);
    r.set_index(index);
    r.set_epoch(epoch);
    r.set_state("serving");
    r.set_live_bytes(live);
    r.set_stored_bytes(2 * live);
    return r;
  };
  Beat("bs1", {report(0, 1, 100), report(2, 1, 10), report(1, 1, 5000)});  // index 1 is not bs1's
  Beat("bs2", {report(3, 7, 9000)});                                      // a stale epoch
  auto v = Get("v");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->volume().live_bytes(), 110u);
  EXPECT_EQ(v->volume().stored_bytes(), 220u);
  EXPECT_EQ(v->segments(0).state(), "serving");
  EXPECT_EQ(v->segments(0).live_bytes(), 100u);
  EXPECT_EQ(v->segments(1).state(), "assigned");  // its owner has not reported it
}

TEST_F(BlockManagerServiceTest, ADeadServersSegmentsMoveDurablyWithTheirEpochBumped) {
  TempDir dir("strata_blockmanager_moves");
  auto store = meta::RocksDbMetaStore::Open(dir.path() + "/meta");
  ASSERT_TRUE(store.ok());
  Restart(store->get());
  for (const char* id : {"bs1", "bs2", "bs3"}) ASSERT_TRUE(Register(id).ok());
  ASSERT_TRUE(Create("v", 64 * kMiB).ok());
  EXPECT_EQ(Owners("v"), (std::vector<std::string>{"bs1", "bs2", "bs3", "bs1"}));

  // Silent, but not for long enough: nothing moves.
  Pass(options_.dead_after_ms - options_.heartbeat_interval_ms, {"bs2", "bs3"});
  EXPECT_EQ(Owners("v")[0], "bs1");
  Pass(2 * options_.heartbeat_interval_ms, {"bs2", "bs3"});
  EXPECT_EQ(Owners("v"), (std::vector<std::string>{"bs2", "bs2", "bs3", "bs3"}));
  SegmentInfo moved = SegmentOf("v", 0);
  EXPECT_EQ(moved.epoch(), 2u);
  EXPECT_EQ(moved.tokens(), 2u);
  EXPECT_EQ(SegmentOf("v", 1).epoch(), 1u);  // not moved: not bumped
  EXPECT_EQ(CounterValue("strata_blockmanager_segment_moves_total"), 2u);
  EXPECT_EQ(GaugeValue("strata_blockmanager_blockservers_alive"), 2);
  BmHeartbeatResponse r = Beat("bs2");
  ASSERT_EQ(r.segments_size(), 2);
  EXPECT_EQ(r.segments(0).index(), 0u);
  EXPECT_EQ(r.segments(0).epoch(), 2u);
  nlohmann::json status = service_->StatusJson();
  EXPECT_EQ(status["segments"][0]["last_owner"], "bs1");
  EXPECT_EQ(status["segments"][0]["owner"], "bs2");
  EXPECT_EQ(status["blockservers"][0]["alive"], false);
  EXPECT_EQ(status["blockservers"][0]["segments"], 0);

  // A restarted manager has the moves; the servers must register again.
  Restart(store->get());
  EXPECT_EQ(Owners("v"), (std::vector<std::string>{"bs2", "bs2", "bs3", "bs3"}));
  EXPECT_EQ(SegmentOf("v", 0).epoch(), 2u);
  EXPECT_EQ(SegmentOf("v", 0).owner_addr(), "bs2:1");  // identities are persisted
  EXPECT_TRUE(Beat("bs2").reregister());
  ASSERT_TRUE(Register("bs2").ok());
  EXPECT_EQ(Assigned(Beat("bs2")), (std::set<std::pair<uint64_t, uint32_t>>{{1, 0}, {1, 1}}));
  service_.reset();
}

// After a restart, servers not yet re-registered keep their segments; one
// that never comes back is dead dead_after_ms after the start.
TEST_F(BlockManagerServiceTest, UnknownServersAfterARestartKeepTheirSegmentsUntilDeclaredDead) {
  for (const char* id : {"bs1", "bs2"}) ASSERT_TRUE(Register(id).ok());
  ASSERT_TRUE(Create("v", 64 * kMiB).ok());
  Restart(&memory_);
  ASSERT_TRUE(Register("bs2").ok());  // bs1 is slow to come back
  Pass(options_.dead_after_ms - options_.heartbeat_interval_ms, {"bs2"});
  EXPECT_EQ(Owners("v"), (std::vector<std::string>{"bs1", "bs2", "bs1", "bs2"}));
  ASSERT_TRUE(Create("w", 64 * kMiB).ok());  // new segments avoid the unknown server
  EXPECT_EQ(Owners("w"), (std::vector<std::string>{"bs2", "bs2", "bs2", "bs2"}));
  Pass(2 * options_.heartbeat_interval_ms, {"bs2"});
  EXPECT_EQ(Owners("v"), (std::vector<std::string>{"bs2", "bs2", "bs2", "bs2"}));
}

TEST_F(BlockManagerServiceTest, AServerThatComesBackGetsNewSegmentsOnly) {
  for (const char* id : {"bs1", "bs2"}) ASSERT_TRUE(Register(id).ok());
  ASSERT_TRUE(Create("v", 64 * kMiB).ok());
  Pass(options_.dead_after_ms + options_.heartbeat_interval_ms, {"bs2"});
  EXPECT_EQ(Owners("v"), (std::vector<std::string>{"bs2", "bs2", "bs2", "bs2"}));
  EXPECT_TRUE(Beat("bs1").reregister());
  ASSERT_TRUE(Register("bs1").ok());
  Pass(10 * options_.heartbeat_interval_ms, {"bs1", "bs2"});
  EXPECT_EQ(Owners("v"), (std::vector<std::string>{"bs2", "bs2", "bs2", "bs2"}));  // no rebalancing
  EXPECT_EQ(Beat("bs1").segments_size(), 0);
  ASSERT_TRUE(Create("w", 64 * kMiB).ok());
  EXPECT_EQ(Owners("w"), (std::vector<std::string>{"bs1", "bs1", "bs1", "bs1"}));  // the fewest segments
}

// A poisonous segment that kills every server it lands on: three moves
// spend its tokens, after which it only lands in the shared domain of the
// three lowest alive ids; thirty minutes later it has a token again.
TEST_F(BlockManagerServiceTest, APoisonousSegmentIsConfinedToTheSharedDomain) {
  std::vector<std::string> alive = {"bs1", "bs2", "bs3", "bs4", "bs5", "bs6"};
  for (const auto& id : alive) ASSERT_TRUE(Register(id).ok());
  ASSERT_TRUE(Create("v", 128 * kMiB).ok());  // 8 segments
  for (const char* id : {"bs7", "bs8", "bs9"}) {
    ASSERT_TRUE(Register(id).ok());
    alive.push_back(id);
  }
  auto kill_owner_of_segment_0 = [&] {
    std::string owner = SegmentOf("v", 0).owner_id();
    std::erase(alive, owner);
    Pass(options_.dead_after_ms + options_.heartbeat_interval_ms, alive);
    EXPECT_NE(SegmentOf("v", 0).owner_id(), owner);
  };
  for (int move = 1; move <= 3; ++move) {
    kill_owner_of_segment_0();
    SegmentInfo s = SegmentOf("v", 0);
    EXPECT_EQ(s.tokens(), 3u - move);
    EXPECT_EQ(s.restricted(), move == 3);
    EXPECT_EQ(s.epoch(), 1u + move);
  }
  std::vector<std::string> sorted = alive;
  std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) { return ServerIdLess(a, b); });
  nlohmann::json domain = service_->StatusJson()["failure_domain"]["members"];
  EXPECT_EQ(domain, nlohmann::json(std::vector<std::string>(sorted.begin(), sorted.begin() + 3)));
  EXPECT_EQ(GaugeValue("strata_blockmanager_segments_restricted"), 1);

  // A fresh server has the fewest segments, yet the restricted segment goes
  // into the domain, while an unrestricted one of the same dead owner may
  // go to the fresh server.
  ASSERT_TRUE(Register("bs10").ok());
  alive.push_back("bs10");
  std::string owner = SegmentOf("v", 0).owner_id();
  kill_owner_of_segment_0();
  domain = service_->StatusJson()["failure_domain"]["members"];
  std::set<std::string> members(domain.begin(), domain.end());
  EXPECT_EQ(members.size(), 3u);
  EXPECT_FALSE(members.count(owner));  // the dead member was replaced
  SegmentInfo s = SegmentOf("v", 0);
  EXPECT_TRUE(members.count(s.owner_id())) << s.owner_id();
  EXPECT_NE(s.owner_id(), "bs10");
  EXPECT_TRUE(s.restricted());
  EXPECT_EQ(SegmentOf("v", 2).owner_id(), "bs10");  // bs3's other segment, with its tokens

  Pass(options_.failure_domain_refill_ms, alive);
  s = SegmentOf("v", 0);
  EXPECT_EQ(s.tokens(), 1u);
  EXPECT_FALSE(s.restricted());
  EXPECT_EQ(GaugeValue("strata_blockmanager_segments_restricted"), 0);
}

TEST_F(BlockManagerServiceTest, TheDfsDirectoryIsDeletedAfterTheLeasesAndRetried) {
  TempDir dir("strata_blockmanager_delete");
  auto store = meta::RocksDbMetaStore::Open(dir.path() + "/meta");
  ASSERT_TRUE(store.ok());
  Restart(store->get());
  ASSERT_TRUE(Register("bs1").ok());
  ASSERT_TRUE(Create("v", 64 * kMiB).ok());
  ASSERT_EQ(Beat("bs1").segments_size(), 4);
  deleter_.fail = true;
  ASSERT_TRUE(Delete("v").ok());
  EXPECT_EQ(Beat("bs1").segments_size(), 0);  // the owner drops its segments
  service_->Tick();
  EXPECT_TRUE(deleter_.calls.empty());  // a lease granted just before may still be running
  Pass(options_.lease_ms + options_.heartbeat_interval_ms, {"bs1"});
  ASSERT_EQ(deleter_.calls.size(), 1u);
  EXPECT_EQ(deleter_.calls[0], "/block/v1");
  nlohmann::json status = service_->StatusJson();
  ASSERT_EQ(status["pending_deletions"].size(), 1u);
  EXPECT_EQ(status["pending_deletions"][0]["attempts"], 1);
  EXPECT_NE(status["pending_deletions"][0]["last_error"].get<std::string>().find("unreachable"), std::string::npos);
  EXPECT_EQ(GaugeValue("strata_blockmanager_pending_deletions"), 1);
  Pass(options_.dfs_delete_retry_ms - options_.heartbeat_interval_ms, {"bs1"});
  EXPECT_EQ(deleter_.calls.size(), 1u);  // not before the retry interval
  Pass(options_.heartbeat_interval_ms, {"bs1"});
  EXPECT_EQ(deleter_.calls.size(), 2u);

  // The duty survives a crash of the manager.
  Restart(store->get());
  EXPECT_EQ(service_->StatusJson()["pending_deletions"].size(), 1u);
  deleter_.fail = false;
  service_->Tick();
  EXPECT_EQ(deleter_.deleted, std::set<std::string>{"/block/v1"});
  EXPECT_EQ(service_->StatusJson()["pending_deletions"].size(), 0u);
  Restart(store->get());
  size_t calls = deleter_.calls.size();
  Pass(options_.dfs_delete_retry_ms, {});
  EXPECT_EQ(deleter_.calls.size(), calls);  // done for good
  service_.reset();
}

TEST_F(BlockManagerServiceTest, StatusAndMetrics) {
  ASSERT_TRUE(Register("bs1").ok());
  ASSERT_TRUE(Create("v", 64 * kMiB, dfs::DURABILITY_MEMORY).ok());
  Beat("bs1");
  service_->SetAdvertisedAddress("127.0.0.1:7200");
  nlohmann::json s = service_->StatusJson();
  EXPECT_EQ(s["role"], "blockmanager");
  EXPECT_EQ(s["blockmanager"], "127.0.0.1:7200");
  ASSERT_EQ(s["blockservers"].size(), 1u);
  EXPECT_EQ(s["blockservers"][0]["id"], "bs1");
  EXPECT_EQ(s["blockservers"][0]["alive"], true);
  EXPECT_EQ(s["blockservers"][0]["segments"], 4);
  EXPECT_EQ(s["blockservers"][0]["last_heartbeat_age_ms"], 0);
  ASSERT_EQ(s["volumes"].size(), 1u);
  EXPECT_EQ(s["volumes"][0]["name"], "v");
  EXPECT_EQ(s["volumes"][0]["size_bytes"], 64 * kMiB);
  EXPECT_EQ(s["volumes"][0]["durability"], "memory");
  EXPECT_EQ(s["volumes"][0]["segment_count"], 4);
  ASSERT_EQ(s["segments"].size(), 4u);
  EXPECT_EQ(s["segments"][3]["volume"], "v");
  EXPECT_EQ(s["segments"][3]["index"], 3);
  EXPECT_EQ(s["segments"][3]["owner"], "bs1");
  EXPECT_EQ(s["segments"][3]["epoch"], 1);
  EXPECT_EQ(s["segments"][3]["tokens"], 3);
  EXPECT_EQ(s["segments"][3]["restricted"], false);
  EXPECT_EQ(s["totals"]["segments"], 4);
  BmStatusResponse resp;
  ASSERT_TRUE(service_->GetStatus({}, &resp).ok());
  EXPECT_EQ(nlohmann::json::parse(resp.json())["role"], "blockmanager");
  EXPECT_EQ(GaugeValue("strata_blockmanager_volumes"), 1);
  EXPECT_EQ(GaugeValue("strata_blockmanager_segments"), 4);
  EXPECT_EQ(GaugeValue("strata_blockmanager_blockservers_alive"), 1);
  EXPECT_EQ(CounterValue("strata_blockmanager_heartbeats_total"), 1u);
  std::string text = metrics_->RenderPrometheus();
  for (const char* name : {"strata_blockmanager_volumes", "strata_blockmanager_segments ",
                           "strata_blockmanager_blockservers_alive", "strata_blockmanager_segment_moves_total",
                           "strata_blockmanager_segments_restricted", "strata_blockmanager_heartbeats_total"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace strata::block::manager
