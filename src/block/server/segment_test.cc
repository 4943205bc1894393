#include "block/server/segment.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <random>
#include <thread>

#include "block/server/log_record.h"
#include "block/server/memory_log_file_store.h"
#include "env/random.h"

namespace strata::block {
namespace {

constexpr uint32_t kBs = 4096;
constexpr uint64_t kSegmentBytes = 4ull << 20;
const std::string kDir = "/block/v1/s0";

SegmentOptions SmallOptions() {
  SegmentOptions o;
  o.size_bytes = kSegmentBytes;
  o.data_file_bytes_max = 256 << 10;
  o.checkpoint_bytes_min = 512 << 10;
  return o;
}

std::string Pattern(uint64_t block, uint32_t version, size_t blocks = 1) {
  std::string s(blocks * kBs, '\0');
  std::mt19937 rng(static_cast<uint32_t>(block * 1315423911u + version));
  for (size_t i = 0; i < s.size(); i += 4) {
    uint32_t v = rng();
    std::memcpy(&s[i], &v, 4);
  }
  return s;
}

// The expected contents of the segment, block by block.
class Oracle {
 public:
  Oracle() : blocks_(kSegmentBytes / kBs) {}
  void Write(uint64_t block, const std::string& data) {
    for (size_t i = 0; i < data.size() / kBs; ++i) blocks_[block + i] = data.substr(i * kBs, kBs);
  }
  void Trim(uint64_t block, uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) blocks_[block + i].clear();
  }
  // What block `b` should read as.
  std::string Block(uint64_t b) const { return blocks_[b].empty() ? std::string(kBs, '\0') : blocks_[b]; }
  void Check(Segment& seg) const {
    auto all = seg.Read(0, kSegmentBytes);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    for (size_t b = 0; b < blocks_.size(); ++b) {
      std::string want = blocks_[b].empty() ? std::string(kBs, '\0') : blocks_[b];
      ASSERT_EQ(all->compare(b * kBs, kBs, want), 0) << "block " << b;
    }
  }

 private:
  std::vector<std::string> blocks_;
};

std::unique_ptr<Segment> OpenOrDie(MemoryLogFileStore* store, SegmentOptions o = SmallOptions()) {
  auto seg = Segment::Open(store, kDir, o);
  EXPECT_TRUE(seg.ok()) << seg.status().ToString();
  return seg.ok() ? std::move(*seg) : nullptr;
}

// Closes `seg` and checks that the next owner reads what the oracle holds.
void ExpectNextOwnerSees(MemoryLogFileStore* store, Segment& seg, const Oracle& oracle,
                         SegmentOptions o = SmallOptions()) {
  seg.Close();
  auto next = OpenOrDie(store, o);
  ASSERT_NE(next, nullptr);
  oracle.Check(*next);
}

TEST(SegmentTest, ReadsBackWritesTrimsAndZerosAcrossRollsAndReopens) {
  MemoryLogFileStore store;
  Oracle oracle;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 3; ++round) {
    auto seg = OpenOrDie(&store);
    ASSERT_NE(seg, nullptr);
    oracle.Check(*seg);
    for (uint32_t i = 0; i < 300; ++i) {
      uint64_t block = rng() % (kSegmentBytes / kBs - 8);
      if (rng() % 6 == 0) {
        uint64_t n = 1 + rng() % 8;
        ASSERT_TRUE(seg->Trim(block * kBs, n * kBs).ok());
        oracle.Trim(block, n);
      } else {
        size_t n = 1 + rng() % 8;
        // Every third write compresses (a repeated byte).
        std::string data = rng() % 3 == 0 ? std::string(n * kBs, static_cast<char>('a' + i % 26))
                                          : Pattern(block, round * 1000 + i, n);
        ASSERT_TRUE(seg->Write(block * kBs, data).ok());
        oracle.Write(block, data);
      }
    }
    oracle.Check(*seg);
    EXPECT_GT(seg->stats().data_files, 1u) << "the data files rolled";
    seg->Close();
  }
  auto seg = OpenOrDie(&store);
  oracle.Check(*seg);
  EXPECT_GT(seg->stats().checkpoints + seg->stats().replayed_records, 0u);
}

// Random blocks stop being tried for compression for a while; blocks that
// compress are found again within 64 records and stored compressed.
TEST(SegmentTest, IncompressibleDataIsNotTriedForLongAndCompressibleDataIsFoundAgain) {
  MemoryLogFileStore store;
  SegmentOptions o = SmallOptions();
  o.data_file_bytes_max = 64 << 20;  // one file: its size is what was stored
  auto seg = OpenOrDie(&store, o);
  Oracle oracle;
  for (uint64_t b = 0; b < 200; ++b) {
    std::string d = Pattern(b, 3);
    ASSERT_TRUE(seg->Write(b * kBs, d).ok());
    oracle.Write(b, d);
  }
  const uint64_t after_random = seg->stats().stored_bytes;
  EXPECT_GE(after_random, 200 * kBs);
  // Tried after 1, 3, 7, 15, 31, then every 64 records: 9 of 200.
  const uint64_t tried = seg->stats().records_compress_tried;
  EXPECT_LE(tried, 12u);
  EXPECT_GE(tried, 5u);
  for (uint64_t b = 200; b < 500; ++b) {
    std::string d(kBs, static_cast<char>('a' + b % 26));
    ASSERT_TRUE(seg->Write(b * kBs, d).ok());
    oracle.Write(b, d);
  }
  const uint64_t compressible = seg->stats().stored_bytes - after_random;
  EXPECT_LT(compressible, 300 * kBs / 3) << "at most 63 of the 300 compressible records were stored raw";
  EXPECT_GE(seg->stats().records_compress_tried - tried, 230u) << "once found, each one is tried";
  oracle.Check(*seg);
  ExpectNextOwnerSees(&store, *seg, oracle, o);
}

TEST(SegmentTest, RecoveryReplaysOnlyTheTailAfterACheckpoint) {
  MemoryLogFileStore store;
  Oracle oracle;
  {
    auto seg = OpenOrDie(&store);
    for (uint64_t b = 0; b < 400; ++b) {
      std::string d = Pattern(b, 1);
      ASSERT_TRUE(seg->Write(b * kBs, d).ok());
      oracle.Write(b, d);
    }
    EXPECT_GE(seg->stats().checkpoints, 1u);
    // SIGKILL: the segment object is dropped without closing its file.
    seg.release();  // NOLINT: the writer thread is left idle as a dead process's would be
  }
  auto seg = OpenOrDie(&store);
  oracle.Check(*seg);
  EXPECT_LT(seg->stats().replayed_records, 400u) << "the checkpoint spared most of the replay";
}

TEST(SegmentTest, ANewOwnerFencesTheOldOneAndSeesEveryAcknowledgedWrite) {
  MemoryLogFileStore store;
  auto old_owner = OpenOrDie(&store);
  Oracle oracle;
  for (uint64_t b = 0; b < 20; ++b) {
    std::string d = Pattern(b, 2);
    ASSERT_TRUE(old_owner->Write(b * kBs, d).ok());
    oracle.Write(b, d);
  }
  auto new_owner = OpenOrDie(&store);
  oracle.Check(*new_owner);
  // The old owner wakes up: nothing it writes is acknowledged or seen.
  Status st = old_owner->Write(0, Pattern(0, 99));
  EXPECT_EQ(st.code(), StatusCode::kStaleEpoch) << st.ToString();
  EXPECT_FALSE(old_owner->failure().ok());
  oracle.Check(*new_owner);
  ASSERT_TRUE(new_owner->Write(kBs, Pattern(1, 3)).ok());
  oracle.Write(1, Pattern(1, 3));
  new_owner->Close();
  auto third = OpenOrDie(&store);
  oracle.Check(*third);
}

TEST(SegmentTest, AnUnacknowledgedAppendMayLandButNeverTearsTheLog) {
  MemoryLogFileStore store;
  Oracle oracle;
  auto seg = OpenOrDie(&store);
  ASSERT_TRUE(seg->Write(0, Pattern(0, 1)).ok());
  oracle.Write(0, Pattern(0, 1));
  store.LandNextAppendUnacknowledged();
  EXPECT_FALSE(seg->Write(kBs, Pattern(1, 1)).ok());
  EXPECT_FALSE(seg->Write(2 * kBs, Pattern(2, 1)).ok()) << "a failed segment refuses writes";
  seg.reset();
  auto again = OpenOrDie(&store);
  auto one = again->Read(kBs, kBs);
  ASSERT_TRUE(one.ok());
  // Either outcome is allowed for a write that was not acknowledged.
  EXPECT_TRUE(*one == Pattern(1, 1) || *one == std::string(kBs, '\0'));
  oracle.Write(1, *one);
  oracle.Check(*again);
}

TEST(SegmentTest, ATornTailStopsTheReplayAtTheLastWholeRecord) {
  MemoryLogFileStore store;
  Oracle oracle;
  {
    auto seg = OpenOrDie(&store);
    for (uint64_t b = 0; b < 5; ++b) {
      ASSERT_TRUE(seg->Write(b * kBs, Pattern(b, 1)).ok());
      oracle.Write(b, Pattern(b, 1));
    }
    seg.release();  // NOLINT: as a killed process
  }
  auto list = store.List(kDir);
  ASSERT_TRUE(list.ok());
  std::string last_log;
  for (const auto& e : *list) {
    if (e.name.starts_with("log-")) last_log = kDir + "/" + e.name;
  }
  ASSERT_FALSE(last_log.empty());
  // Half of a record that overwrites block 0, as a crash in the middle of an
  // append leaves it.
  std::string torn;
  AppendWriteRecord(1000, 0, kBs, Pattern(0, 2), false, &torn);
  store.AppendRaw(last_log, torn.substr(0, torn.size() / 2));
  auto seg = OpenOrDie(&store);
  oracle.Check(*seg);
  ASSERT_TRUE(seg->Write(6 * kBs, Pattern(6, 1)).ok());
  oracle.Write(6, Pattern(6, 1));
  seg->Close();
  auto again = OpenOrDie(&store);
  oracle.Check(*again);
}

TEST(SegmentTest, GarbageCollectionShrinksStoredBytesAndKeepsEveryBlock) {
  MemoryLogFileStore store;
  Oracle oracle;
  SegmentOptions o = SmallOptions();
  o.compress = false;
  auto seg = OpenOrDie(&store, o);
  // One block in four is written once (cold), the others eight times
  // (hot): the first pass's files end up a quarter live.
  constexpr uint64_t kBlocks = 256;
  for (uint32_t pass = 0; pass < 8; ++pass) {
    for (uint64_t b = 0; b < kBlocks; ++b) {
      if (pass > 0 && b % 4 == 0) continue;
      std::string d = Pattern(b, pass);
      ASSERT_TRUE(seg->Write(b * kBs, d).ok());
      oracle.Write(b, d);
    }
  }
  uint64_t before = seg->stats().stored_bytes;
  // Client writes keep coming while GC runs: they always win.
  std::thread writer([&] {
    for (uint64_t b = 1; b < kBlocks; b += 4) ASSERT_TRUE(seg->Write(b * kBs, Pattern(b, 100)).ok());
  });
  for (int i = 0; i < 20; ++i) {
    auto did = seg->CollectGarbage();
    ASSERT_TRUE(did.ok()) << did.status().ToString();
    if (!*did) break;
  }
  writer.join();
  for (uint64_t b = 1; b < kBlocks; b += 4) oracle.Write(b, Pattern(b, 100));
  for (int i = 0; i < 20; ++i) {
    auto did = seg->CollectGarbage();
    ASSERT_TRUE(did.ok());
    if (!*did) break;
  }
  SegmentStats after = seg->stats();
  EXPECT_LT(after.stored_bytes + (512 << 10), before) << "before " << before << " after " << after.stored_bytes;
  // What is left is the live data, record headers and at most the open
  // file and one file not yet half dead.
  EXPECT_LE(after.stored_bytes, after.live_bytes * 11 / 10 + 2 * o.data_file_bytes_max);
  EXPECT_GT(after.gc_bytes_rewritten, 0u);
  EXPECT_GT(seg->stats().gc_files_collected, 0u);
  oracle.Check(*seg);
  seg->Close();
  auto reopened = OpenOrDie(&store, o);
  oracle.Check(*reopened);
}

// Polls `cond` until it holds or 10 s pass.
bool Eventually(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(SegmentTest, AWriteGroupCommittedAheadOfAGcCopyOfTheSameBlockWins) {
  MemoryLogFileStore store;
  SegmentOptions o = SmallOptions();
  o.compress = false;
  auto seg = OpenOrDie(&store, o);
  // File 0 holds blocks 0..62 (63 records fill 256 KiB); overwriting 1..62
  // leaves block 0 its only live block, a GC victim.
  for (uint64_t b = 0; b < 63; ++b) ASSERT_TRUE(seg->Write(b * kBs, Pattern(b, 1)).ok());
  for (uint64_t b = 1; b < 63; ++b) ASSERT_TRUE(seg->Write(b * kBs, Pattern(b, 2)).ok());
  ASSERT_EQ(seg->stats().data_files, 2u);
  // The writer is held inside an append while a client write of block 0
  // and then the GC copy of its old version queue up behind it: both go
  // into the next group commit, the write first.
  store.HoldAppends(true);
  std::thread plug([&] { EXPECT_TRUE(seg->Write(100 * kBs, Pattern(100, 1)).ok()); });
  ASSERT_TRUE(Eventually([&] { return store.held_appends() == 1; }));
  std::thread client([&] { EXPECT_TRUE(seg->Write(0, Pattern(0, 3)).ok()); });
  ASSERT_TRUE(Eventually([&] { return seg->stats().queued_requests == 1; }));
  std::thread gc([&] {
    auto did = seg->CollectGarbage();
    EXPECT_TRUE(did.ok() && *did);
  });
  ASSERT_TRUE(Eventually([&] { return seg->stats().queued_requests == 2; }));
  store.HoldAppends(false);
  plug.join();
  client.join();
  gc.join();
  Oracle oracle;
  for (uint64_t b = 1; b < 63; ++b) oracle.Write(b, Pattern(b, 2));
  oracle.Write(0, Pattern(0, 3));
  oracle.Write(100, Pattern(100, 1));
  oracle.Check(*seg);
  // The log says the same to a new owner.
  seg->Close();
  auto again = OpenOrDie(&store, o);
  oracle.Check(*again);
}

TEST(SegmentTest, SyncSyncsTheOpenFileOfAMemorySegmentOnly) {
  MemoryLogFileStore store;
  SegmentOptions o = SmallOptions();
  auto seg = OpenOrDie(&store, o);  // sync durability: nothing to do
  ASSERT_TRUE(seg->Write(0, Pattern(0, 1)).ok());
  ASSERT_TRUE(seg->Sync().ok());
  EXPECT_EQ(store.syncs(), 0u);
  seg->Close();
  MemoryLogFileStore memory_store;
  o.durability = dfs::DURABILITY_MEMORY;
  auto mem = OpenOrDie(&memory_store, o);
  ASSERT_TRUE(mem->Write(0, Pattern(0, 1)).ok());
  ASSERT_TRUE(mem->Sync().ok());
  EXPECT_EQ(memory_store.syncs(), 1u);
  // Concurrent syncs and writes: each sync returns after a sync that
  // followed every write acknowledged before it.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        EXPECT_TRUE(mem->Write((t * 20 + i) * kBs, Pattern(t * 20 + i, 2)).ok());
        EXPECT_TRUE(mem->Sync().ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GE(memory_store.syncs(), 2u);
  EXPECT_LE(memory_store.syncs(), 81u);
}

TEST(SegmentTest, RequestsOutsideTheSegmentOrMisalignedAreRefused) {
  MemoryLogFileStore store;
  auto seg = OpenOrDie(&store);
  EXPECT_EQ(seg->Write(1, std::string(kBs, 'a')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(seg->Write(0, std::string(100, 'a')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(seg->Write(kSegmentBytes, std::string(kBs, 'a')).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(seg->Read(kSegmentBytes - kBs, 2 * kBs).status().code(), StatusCode::kOutOfRange);
  auto status = seg->BlockStatus(0, kSegmentBytes);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->size(), 1u);
  EXPECT_FALSE((*status)[0].allocated);
}

TEST(SegmentTest, BlockStatusReportsWrittenAndTrimmedRuns) {
  MemoryLogFileStore store;
  auto seg = OpenOrDie(&store);
  ASSERT_TRUE(seg->Write(8 * kBs, Pattern(8, 1, 4)).ok());
  ASSERT_TRUE(seg->Trim(9 * kBs, kBs).ok());
  auto runs = seg->BlockStatus(0, 16 * kBs);
  ASSERT_TRUE(runs.ok());
  std::vector<std::pair<uint64_t, bool>> got;
  for (const auto& r : *runs) got.emplace_back(r.length / kBs, r.allocated);
  std::vector<std::pair<uint64_t, bool>> want = {{8, false}, {1, true}, {1, false}, {2, true}, {4, false}};
  EXPECT_EQ(got, want);
}

TEST(SegmentTest, ConcurrentWritersAreGroupCommitted) {
  MemoryLogFileStore store;
  auto seg = OpenOrDie(&store);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 50; ++i) ASSERT_TRUE(seg->Write((t * 50 + i) * kBs, Pattern(t * 50 + i, 5)).ok());
    });
  }
  for (auto& th : threads) th.join();
  Oracle oracle;
  for (uint64_t b = 0; b < 400; ++b) oracle.Write(b, Pattern(b, 5));
  oracle.Check(*seg);
  EXPECT_EQ(seg->stats().requests_written, 400u);
  EXPECT_LE(seg->stats().appends, 400u);
}

TEST(SegmentTest, AFailingDfsFailsTheSegmentWithAClearError) {
  MemoryLogFileStore store;
  auto seg = OpenOrDie(&store);
  store.FailAppends(true);
  Status st = seg->Write(0, Pattern(0, 1));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(seg->Read(0, kBs).ok());
  store.FailAppends(false);
  seg.reset();
  auto again = OpenOrDie(&store);
  auto data = again->Read(0, kBs);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, std::string(kBs, '\0')) << "the failed write never landed";
}

// Crashes of the whole store (MemoryLogFileStore::SimulateCrash): a seeded
// part of what the dfs had not made durable is lost, so the open data file's
// tail is cut anywhere: before, after or inside the records of the append in
// flight. Recovery must give exactly the acknowledged writes; a write that
// was not acknowledged is there whole or not at all.

// `requests` random writes and trims of blocks [0, blocks), acknowledged and
// recorded in the oracle.
void RandomLoad(Segment& seg, Oracle& oracle, Random& rng, uint64_t requests, uint64_t blocks, uint32_t version) {
  for (uint64_t i = 0; i < requests; ++i) {
    const uint64_t n = 1 + rng.Uniform(8);
    const uint64_t block = rng.Uniform(blocks - n);
    if (rng.Uniform(6) == 0) {
      ASSERT_TRUE(seg.Trim(block * kBs, n * kBs).ok());
      oracle.Trim(block, n);
    } else {
      const std::string data = Pattern(block, version * 1000 + static_cast<uint32_t>(i), n);
      ASSERT_TRUE(seg.Write(block * kBs, data).ok());
      oracle.Write(block, data);
    }
  }
}

TEST(SegmentCrashTest, AnAppendTornByACrashLeavesExactlyTheAcknowledgedWrites) {
  int kept = 0, dropped = 0, torn = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MemoryLogFileStore store;
    Random rng(seed);
    Oracle oracle;
    auto seg = OpenOrDie(&store);
    ASSERT_NE(seg, nullptr);
    RandomLoad(*seg, oracle, rng, 20 + rng.Uniform(150), /*blocks=*/512, seed);
    // The append in flight at the crash: a write of blocks the load never
    // touched, which lands without its acknowledgement.
    const uint64_t first = 600 + rng.Uniform(200);
    const uint64_t n = 1 + rng.Uniform(8);
    const std::string in_flight = Pattern(first, 5000 + seed, n);
    const uint64_t appended_before = store.bytes_appended();
    store.LandNextAppendUnacknowledged();
    ASSERT_FALSE(seg->Write(first * kBs, in_flight).ok());
    const uint64_t append_bytes = store.bytes_appended() - appended_before;
    const uint64_t lost = store.SimulateCrash(&rng);
    seg.reset();  // the dead process's segment: its calls on the store fail
    auto again = OpenOrDie(&store);
    ASSERT_NE(again, nullptr);
    auto got = again->Read(first * kBs, n * kBs);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    // (The unacknowledged append may also be a checkpoint's, written when
    // the write rolled the data file: then the write never reached the log.)
    if (*got == in_flight) {
      EXPECT_EQ(lost, 0u) << "the write is there whole, so was its append";
      oracle.Write(first, in_flight);
      kept++;
    } else {
      EXPECT_TRUE(*got == std::string(n * kBs, '\0')) << "the write is there in part; " << lost << " of "
                                                      << append_bytes << " bytes lost";
      (lost > 0 && lost < append_bytes ? torn : dropped)++;
    }
    oracle.Check(*again);
    // Writes go on after the torn tail, and the next owner sees them too.
    RandomLoad(*again, oracle, rng, 30, 512, 100 + seed);
    ExpectNextOwnerSees(&store, *again, oracle);
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(dropped + torn, 0);
  EXPECT_GT(torn, 0) << "some crashes cut inside the in-flight record";
}

TEST(SegmentCrashTest, AMemorySegmentKeepsWhatItSyncedAndAPrefixOfTheWritesAfter) {
  int all = 0, none = 0, some = 0;
  for (uint32_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MemoryLogFileStore store;
    Random rng(seed);
    Oracle oracle;
    SegmentOptions o = SmallOptions();
    o.durability = dfs::DURABILITY_MEMORY;
    auto seg = OpenOrDie(&store, o);
    ASSERT_NE(seg, nullptr);
    RandomLoad(*seg, oracle, rng, 20 + rng.Uniform(100), /*blocks=*/512, seed);
    ASSERT_TRUE(seg->Sync().ok());
    // Acknowledged and not synced (but for the files rolled meanwhile, which
    // their seal synced): each write to blocks of its own.
    std::vector<std::pair<uint64_t, std::string>> unsynced;
    const uint64_t count = 1 + rng.Uniform(30);
    for (uint64_t k = 0; k < count; ++k) {
      const uint64_t block = 520 + k * 10;
      std::string data = Pattern(block, 7000 + seed, 1 + rng.Uniform(8));
      ASSERT_TRUE(seg->Write(block * kBs, data).ok());
      unsynced.emplace_back(block, std::move(data));
    }
    store.SimulateCrash(&rng);
    seg.reset();
    auto again = OpenOrDie(&store, o);
    ASSERT_NE(again, nullptr);
    size_t kept = 0;
    for (size_t k = 0; k < unsynced.size(); ++k) {
      const auto& [block, data] = unsynced[k];
      auto got = again->Read(block * kBs, data.size());
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      if (*got == data) {
        EXPECT_EQ(kept, k) << "write " << k << " kept after a lost one";
        oracle.Write(block, data);
        kept++;
      } else {
        EXPECT_EQ(*got, std::string(data.size(), '\0')) << "a lost write left nothing";
      }
    }
    oracle.Check(*again);
    (kept == unsynced.size() ? all : kept == 0 ? none : some)++;
    ExpectNextOwnerSees(&store, *again, oracle, o);
  }
  EXPECT_GT(all, 0);
  EXPECT_GT(none + some, 0);
  EXPECT_GT(some, 0) << "some crashes kept part of the unsynced writes";
}

TEST(SegmentCrashTest, GroupCommittedWritersLoseOnlyWritesThatWereNotAcknowledged) {
  constexpr int kThreads = 4;
  constexpr uint64_t kWritesPerThread = 200;  // each write to a block of its own
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MemoryLogFileStore store;
    Random rng(seed);
    auto seg = OpenOrDie(&store);
    ASSERT_NE(seg, nullptr);
    std::vector<std::vector<bool>> acked(kThreads, std::vector<bool>(kWritesPerThread, false));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (uint64_t i = 0; i < kWritesPerThread; ++i) {
          const uint64_t block = t * kWritesPerThread + i;
          if (!seg->Write(block * kBs, Pattern(block, seed)).ok()) return;  // the segment failed
          acked[t][i] = true;
        }
      });
    }
    // A group commit in flight lands unacknowledged once some writes are in.
    const uint64_t crash_after = 20 + rng.Uniform(400);
    ASSERT_TRUE(Eventually([&] { return seg->stats().requests_written >= crash_after; }));
    store.LandNextAppendUnacknowledged();
    for (auto& th : threads) th.join();
    store.SimulateCrash(&rng);
    seg.reset();
    auto again = OpenOrDie(&store);
    ASSERT_NE(again, nullptr);
    Oracle oracle;
    for (int t = 0; t < kThreads; ++t) {
      for (uint64_t i = 0; i < kWritesPerThread; ++i) {
        const uint64_t block = t * kWritesPerThread + i;
        auto got = again->Read(block * kBs, kBs);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        if (acked[t][i]) {
          ASSERT_EQ(*got, Pattern(block, seed)) << "acknowledged write of block " << block << " lost";
        } else {
          ASSERT_TRUE(*got == Pattern(block, seed) || *got == std::string(kBs, '\0')) << "block " << block;
        }
        if (*got != std::string(kBs, '\0')) oracle.Write(block, *got);
      }
    }
    oracle.Check(*again);
  }
}

TEST(SegmentCrashTest, AMemorySegmentKeepsEverySyncedBlockThroughGarbageCollectionAndACrash) {
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MemoryLogFileStore store;
    Random rng(seed);
    SegmentOptions o = SmallOptions();
    o.durability = dfs::DURABILITY_MEMORY;
    o.compress = false;
    auto seg = OpenOrDie(&store, o);
    ASSERT_NE(seg, nullptr);
    // Cold blocks written once, hot ones many times: the first files end
    // up mostly dead, and GC copies their live blocks into the open file.
    Oracle synced;
    constexpr uint64_t kBlocks = 256;
    for (uint32_t pass = 0; pass < 6; ++pass) {
      for (uint64_t b = 0; b < kBlocks; ++b) {
        if (pass > 0 && b % 4 == 0) continue;
        const std::string d = Pattern(b, seed * 100 + pass);
        ASSERT_TRUE(seg->Write(b * kBs, d).ok());
        synced.Write(b, d);
      }
    }
    ASSERT_TRUE(seg->Sync().ok());
    for (int i = 0; i < 1 + static_cast<int>(rng.Uniform(6)); ++i) {
      auto did = seg->CollectGarbage();
      ASSERT_TRUE(did.ok()) << did.status().ToString();
      if (!*did) break;
    }
    ASSERT_GT(seg->stats().gc_files_collected, 0u);
    // Writes after the last sync may be lost; every block keeps at least
    // its synced version or a newer one.
    std::vector<std::pair<uint64_t, std::string>> unsynced;
    for (uint64_t k = 0; k < 1 + rng.Uniform(40); ++k) {
      const uint64_t b = rng.Uniform(kBlocks);
      unsynced.emplace_back(b, Pattern(b, seed * 100 + 50 + static_cast<uint32_t>(k)));
      ASSERT_TRUE(seg->Write(b * kBs, unsynced.back().second).ok());
    }
    store.SimulateCrash(&rng);
    seg.reset();
    auto again = OpenOrDie(&store, o);
    ASSERT_NE(again, nullptr);
    for (uint64_t b = 0; b < kBlocks; ++b) {
      auto got = again->Read(b * kBs, kBs);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      const std::string want = synced.Block(b);
      bool newer = false;
      for (const auto& [ub, data] : unsynced) newer |= ub == b && *got == data;
      ASSERT_TRUE(*got == want || newer) << "block " << b << " lost its synced version";
    }
  }
}

}  // namespace
}  // namespace strata::block
