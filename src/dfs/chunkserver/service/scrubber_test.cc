#include "dfs/chunkserver/service/scrubber.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/crc32c.h"
#include "env/posix/posix_file_system.h"
#include "env/random.h"
#include "env/testing/temp_dir.h"

namespace strata::dfs {
namespace {

TEST(Scrubber, FindsCorruptionInSealedReplicasAtABoundedRate) {
  TempDir dir("scrubber_test");
  ASSERT_FALSE(dir.path().empty());
  const std::string& root = dir.path();
  auto clock = std::make_shared<ManualClock>();
  MetricsRegistry metrics;
  ChunkStoreOptions opt;
  opt.disk_paths = {root + "/d0"};
  opt.disk_reserve_bytes = 0;
  opt.disk_probe_interval_ms = 0;
  auto store = ChunkStore::Open(opt, NewPosixFileSystem(), clock, &metrics);
  ASSERT_TRUE(store.ok());
  std::vector<uint64_t> reported;
  (*store)->SetCorruptionListener([&](uint64_t id, const std::string&) { reported.push_back(id); });
  std::string data(3 << 20, '\0');
  Random(1).Fill(data.data(), data.size());
  for (uint64_t id : {1, 2, 3}) {
    ASSERT_TRUE((*store)->Create(id, 1, 0).ok());
    AppendArgs a{id, 1, 0, data, Crc32c(data)};
    ASSERT_TRUE((*store)->Append(a).ok());
    if (id != 3) {  // 3 stays open: not scrubbed
      ASSERT_TRUE((*store)->Seal(id, 1, data.size()).ok());
    }
  }
  for (uint64_t id : {2, 3}) {
    std::fstream f(PathsForChunk(root + "/d0/chunks", id).chunk, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kDataOffset + (2 << 20));
    char c = static_cast<char>(data[2 << 20] ^ 1);
    f.write(&c, 1);
  }
  ScrubberOptions so;
  so.bytes_per_sec_max = 1 << 20;
  Scrubber scrubber(so, store->get(), clock, &metrics);
  uint64_t start = clock->NowMicros();
  EXPECT_EQ(scrubber.RunPass(), 1u);
  EXPECT_EQ(reported, std::vector<uint64_t>{2});
  // 3 MiB of chunk 1 and 2 MiB of chunk 2 at 1 MiB/s, the first second free.
  EXPECT_GE(clock->NowMicros() - start, 3'500'000u);
}

}  // namespace
}  // namespace strata::dfs
