// VolumeCatalog against RocksDB in a temporary directory: what was committed
// is what a reopened catalog loads, and damaged stores are refused.
#include "block/manager/volume_catalog.h"

#include <gtest/gtest.h>

#include "env/testing/temp_dir.h"
#include "meta/memory_meta_store.h"
#include "meta/rocksdb_meta_store.h"

namespace strata::block::manager {
namespace {

VolumeRecord Volume(uint64_t id, const std::string& name, uint32_t segments) {
  VolumeRecord v;
  v.set_id(id);
  v.set_name(name);
  v.set_size_bytes(segments * (16ull << 20));
  v.set_segment_count(segments);
  v.mutable_geometry()->set_block_size(4096);
  v.mutable_geometry()->set_segment_size_bytes(16 << 20);
  v.mutable_geometry()->set_segments_per_group(segments);
  v.mutable_geometry()->set_stripe_unit_bytes(128 << 10);
  return v;
}

SegmentRecord Segment(uint64_t volume, uint32_t index, const std::string& owner, uint64_t epoch) {
  SegmentRecord s;
  s.set_volume_id(volume);
  s.set_index(index);
  s.set_owner_id(owner);
  s.set_epoch(epoch);
  s.set_tokens(3);
  return s;
}

TEST(VolumeCatalogTest, SurvivesReopen) {
  TempDir dir("strata_volume_catalog");
  {
    auto store = meta::RocksDbMetaStore::Open(dir.path() + "/meta");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    VolumeCatalog c(store->get());
    ASSERT_TRUE(c.Load().ok());
    EXPECT_EQ(c.counters().next_volume_id(), 1u);  // ids start at 1
    CatalogMutation m;
    m.PutVolume(Volume(1, "a", 2));
    m.PutSegment(Segment(1, 0, "bs1", 1));
    m.PutSegment(Segment(1, 1, "", 0));
    m.PutVolume(Volume(2, "b", 1));
    m.PutSegment(Segment(2, 0, "bs2", 3));
    BlockServerRecord bs;
    bs.set_server_id("bs1");
    bs.set_addr("127.0.0.1:9");
    m.PutServer(bs);
    FailureDomainRecord d;
    d.add_members("bs1");
    m.PutDomain(d);
    CountersRecord counters;
    counters.set_next_volume_id(4);
    m.PutCounters(counters);
    ASSERT_TRUE(c.Commit(m).ok());
    CatalogMutation del;  // volume 2 goes, leaving its pending deletion
    del.DeleteVolume(2);
    del.DeleteSegment({2, 0});
    PendingDeletionRecord p;
    p.set_volume_id(2);
    p.set_name("b");
    p.set_dfs_path("/block/v2");
    del.PutPending(p);
    ASSERT_TRUE(c.Commit(del).ok());
  }
  auto store = meta::RocksDbMetaStore::Open(dir.path() + "/meta");
  ASSERT_TRUE(store.ok());
  VolumeCatalog c(store->get());
  ASSERT_TRUE(c.Load().ok());
  ASSERT_EQ(c.volumes().size(), 1u);
  ASSERT_NE(c.FindVolumeByName("a"), nullptr);
  EXPECT_EQ(c.FindVolumeByName("a")->id(), 1u);
  EXPECT_EQ(c.FindVolumeByName("b"), nullptr);
  ASSERT_EQ(c.SegmentsOf(1).size(), 2u);
  EXPECT_EQ(c.SegmentsOf(1)[0]->owner_id(), "bs1");
  EXPECT_EQ(c.SegmentsOwnedBy("bs1").size(), 1u);
  EXPECT_EQ(c.SegmentsOwnedBy("").size(), 1u);  // never assigned
  EXPECT_TRUE(c.SegmentsOwnedBy("bs2").empty());
  EXPECT_EQ(c.OwnerLoad(), (std::map<std::string, uint64_t>{{"bs1", 1}}));
  EXPECT_EQ(c.servers().at("bs1").addr(), "127.0.0.1:9");
  ASSERT_EQ(c.pending().size(), 1u);
  EXPECT_EQ(c.pending().at(2).dfs_path(), "/block/v2");
  EXPECT_EQ(c.domain().members_size(), 1);
  EXPECT_EQ(c.counters().next_volume_id(), 4u);
}

TEST(VolumeCatalogTest, AMovedSegmentChangesItsOwnerIndex) {
  meta::MemoryMetaStore store;
  VolumeCatalog c(&store);
  ASSERT_TRUE(c.Load().ok());
  CatalogMutation m;
  m.PutVolume(Volume(1, "a", 1));
  m.PutSegment(Segment(1, 0, "bs1", 1));
  ASSERT_TRUE(c.Commit(m).ok());
  CatalogMutation move;
  move.PutSegment(Segment(1, 0, "bs2", 2));
  ASSERT_TRUE(c.Commit(move).ok());
  EXPECT_TRUE(c.SegmentsOwnedBy("bs1").empty());
  EXPECT_EQ(c.SegmentsOwnedBy("bs2").size(), 1u);
  EXPECT_EQ(c.Owners(), std::vector<std::string>{"bs2"});
  CatalogMutation rename;  // the name index follows the record
  VolumeRecord v = Volume(1, "b", 1);
  rename.PutVolume(v);
  ASSERT_TRUE(c.Commit(rename).ok());
  EXPECT_EQ(c.FindVolumeByName("a"), nullptr);
  EXPECT_NE(c.FindVolumeByName("b"), nullptr);
}

TEST(VolumeCatalogTest, DamagedStoresAreRefused) {
  {
    meta::MemoryMetaStore store;  // a segment of no volume
    SegmentRecord s = Segment(5, 0, "bs1", 1);
    ASSERT_TRUE(store.Put(VolumeCatalog::SegmentRecordKey({5, 0}), s.SerializeAsString()).ok());
    VolumeCatalog c(&store);
    EXPECT_EQ(c.Load().code(), StatusCode::kCorruption);
  }
  {
    meta::MemoryMetaStore store;  // a volume missing a segment
    ASSERT_TRUE(store.Put(VolumeCatalog::VolumeKey(1), Volume(1, "a", 2).SerializeAsString()).ok());
    ASSERT_TRUE(store.Put(VolumeCatalog::SegmentRecordKey({1, 0}), Segment(1, 0, "", 0).SerializeAsString()).ok());
    VolumeCatalog c(&store);
    EXPECT_EQ(c.Load().code(), StatusCode::kCorruption);
  }
  {
    meta::MemoryMetaStore store;  // a record that does not parse
    ASSERT_TRUE(store.Put(VolumeCatalog::VolumeKey(1), "\xff\xff\xff").ok());
    VolumeCatalog c(&store);
    EXPECT_EQ(c.Load().code(), StatusCode::kCorruption);
  }
}

}  // namespace
}  // namespace strata::block::manager
