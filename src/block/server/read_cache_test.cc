#include "block/server/read_cache.h"

#include <gtest/gtest.h>

#include <random>

#include "block/server/memory_log_file_store.h"
#include "block/server/segment.h"

namespace strata::block {
namespace {

// A closed file in memory that counts the reads that reach it.
class CountingReader : public LogReader {
 public:
  explicit CountingReader(std::string bytes) : bytes_(std::move(bytes)) {}
  Status ReadExact(uint64_t offset, char* buf, size_t n) override {
    reads++;
    if (offset > bytes_.size() || n > bytes_.size() - offset) return Status::OutOfRange("past the end");
    std::memcpy(buf, bytes_.data() + offset, n);
    return Status::Ok();
  }
  uint64_t size() const override { return bytes_.size(); }
  int reads = 0;

 private:
  std::string bytes_;
};

std::string RandomBytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// `bytes` in pages of `page_bytes`, the last one short.
std::vector<std::shared_ptr<const std::string>> PagesOf(std::string_view bytes, uint32_t page_bytes) {
  std::vector<std::shared_ptr<const std::string>> pages;
  for (size_t at = 0; at < bytes.size(); at += page_bytes) {
    pages.push_back(std::make_shared<const std::string>(bytes.substr(at, page_bytes)));
  }
  return pages;
}

std::string ReadOrDie(LogReader& r, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  Status st = r.ReadExact(offset, out.data(), n);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(ReadCacheTest, ASecondReadOfTheSamePagesCostsNoFileRead) {
  const std::string bytes = RandomBytes(10000, 1);
  ReadCache cache(1 << 20, 4096);
  auto file = std::make_shared<CountingReader>(bytes);
  auto cached = cache.Wrap(file);
  EXPECT_EQ(cached->size(), bytes.size());

  std::string buf(100, '\0');
  EXPECT_FALSE(cached->ReadIfCached(4000, buf.data(), buf.size()));  // nothing cached yet
  EXPECT_EQ(ReadOrDie(*cached, 4000, 200), bytes.substr(4000, 200));   // straddles pages 0 and 1
  EXPECT_EQ(file->reads, 2);
  EXPECT_EQ(ReadOrDie(*cached, 4090, 10), bytes.substr(4090, 10));
  EXPECT_EQ(file->reads, 2);
  ASSERT_TRUE(cached->ReadIfCached(100, buf.data(), buf.size()));
  EXPECT_EQ(buf, bytes.substr(100, 100));
  // The last page is short: read to the end of the file.
  EXPECT_EQ(ReadOrDie(*cached, 9990, 10), bytes.substr(9990, 10));
  EXPECT_EQ(file->reads, 3);
  // Past the end is the file's own error, and caches nothing.
  std::string past(20, '\0');
  EXPECT_EQ(cached->ReadExact(9990, past.data(), past.size()).code(), StatusCode::kOutOfRange);
  EXPECT_FALSE(cached->ReadIfCached(9990, past.data(), past.size()));

  ReadCacheStats s = cache.stats();
  EXPECT_EQ(s.misses, 3u);
  EXPECT_EQ(s.pages, 3u);
  EXPECT_EQ(s.cached_bytes, 4096u * 2 + (10000 - 8192));
  EXPECT_GE(s.hits, 3u);
}

TEST(ReadCacheTest, EvictsTheLeastRecentlyUsedPagesAtCapacity) {
  const std::string bytes = RandomBytes(8 * 4096, 2);
  ReadCache cache(3 * 4096, 4096);
  auto file = std::make_shared<CountingReader>(bytes);
  auto cached = cache.Wrap(file);
  for (int page : {0, 1, 2}) ReadOrDie(*cached, page * 4096, 1);
  ReadOrDie(*cached, 0, 1);  // page 0 is now the most recent
  ReadOrDie(*cached, 3 * 4096, 1);  // evicts page 1
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_EQ(cache.stats().cached_bytes, 3u * 4096);
  char c;
  EXPECT_TRUE(cached->ReadIfCached(0, &c, 1));
  EXPECT_FALSE(cached->ReadIfCached(4096, &c, 1));
  EXPECT_TRUE(cached->ReadIfCached(2 * 4096, &c, 1));
  EXPECT_TRUE(cached->ReadIfCached(3 * 4096, &c, 1));
}

TEST(ReadCacheTest, ReadersDoNotShareTheirPagesAndDropThemWhenDestroyed) {
  ReadCache cache(1 << 20, 4096);
  auto a = std::make_shared<CountingReader>(std::string(4096, 'a'));
  auto b = std::make_shared<CountingReader>(std::string(4096, 'b'));
  auto ca = cache.Wrap(a);
  auto cb = cache.Wrap(b);
  EXPECT_EQ(ReadOrDie(*ca, 0, 4), "aaaa");
  EXPECT_EQ(ReadOrDie(*cb, 0, 4), "bbbb");
  EXPECT_EQ(cache.stats().pages, 2u);
  ca.reset();
  EXPECT_EQ(cache.stats().pages, 1u);
  EXPECT_EQ(cache.stats().cached_bytes, 4096u);
  // A new reader of the same file starts cold.
  auto again = cache.Wrap(a);
  char c;
  EXPECT_FALSE(again->ReadIfCached(0, &c, 1));
}

TEST(ReadCacheTest, WithNoCapacityEveryReadGoesToTheFile) {
  ReadCache cache(0, 4096);
  auto file = std::make_shared<CountingReader>(RandomBytes(4096, 3));
  auto cached = cache.Wrap(file);
  ReadOrDie(*cached, 0, 10);
  ReadOrDie(*cached, 0, 10);
  EXPECT_EQ(file->reads, 2);
  EXPECT_EQ(cache.stats().pages, 0u);
}

TEST(ReadCacheTest, AFileWrappedWithItsBytesIsReadWithoutTheStore) {
  const std::string bytes = RandomBytes(10000, 4);
  ReadCache cache(1 << 20, 4096);
  auto file = std::make_shared<CountingReader>(bytes);
  auto cached = cache.Wrap(file, PagesOf(bytes, 4096));
  std::string buf(10000, '\0');
  ASSERT_TRUE(cached->ReadIfCached(0, buf.data(), buf.size()));
  EXPECT_EQ(buf, bytes);
  EXPECT_EQ(ReadOrDie(*cached, 9000, 1000), bytes.substr(9000));  // the short last page too
  EXPECT_EQ(file->reads, 0);
  EXPECT_EQ(cache.stats().primed, 3u);
  EXPECT_EQ(cache.stats().misses, 0u);

  // Pages that are not the whole file, or not in the cache's page size,
  // are not trusted.
  for (auto pages : {PagesOf(std::string_view(bytes).substr(0, 8192), 4096), PagesOf(bytes, 2048)}) {
    auto other = std::make_shared<CountingReader>(bytes);
    auto partly = cache.Wrap(other, pages);
    EXPECT_FALSE(partly->ReadIfCached(0, buf.data(), 100));
    EXPECT_EQ(ReadOrDie(*partly, 0, 100), bytes.substr(0, 100));
    EXPECT_EQ(other->reads, 1);
  }

  // A file larger than the cache keeps its newest pages.
  ReadCache small(8192, 4096);
  auto big = std::make_shared<CountingReader>(bytes);
  auto tail = small.Wrap(big, PagesOf(bytes, 4096));
  EXPECT_TRUE(tail->ReadIfCached(4096, buf.data(), 5904));
  EXPECT_FALSE(tail->ReadIfCached(0, buf.data(), 100));
  EXPECT_LE(small.stats().cached_bytes, 8192u);
}

// A segment with a cache: closed files are read once from the store, then
// from memory, and ReadWithoutWaiting tells which reads need the store.
TEST(ReadCacheTest, ASegmentReadsClosedFilesThroughTheCache) {
  constexpr uint32_t kBs = 4096;
  MemoryLogFileStore store;
  ReadCache cache(64 << 20);
  SegmentOptions o;
  o.size_bytes = 4 << 20;
  o.data_file_bytes_max = 1 << 20;
  o.compress = false;
  auto seg = Segment::Open(&store, "/block/v1/s0", o, &cache);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  // 3 MiB: the first files are closed, the last one is open.
  std::vector<std::string> written;
  for (uint64_t b = 0; b < 768; ++b) {
    written.push_back(RandomBytes(kBs, static_cast<uint32_t>(b)));
    ASSERT_TRUE((*seg)->Write(b * kBs, written.back()).ok());
  }
  ASSERT_GE((*seg)->stats().data_files, 3u);

  // Never written: zeros without any read.
  auto zeros = (*seg)->ReadWithoutWaiting(1000 * kBs, kBs);
  ASSERT_TRUE(zeros.has_value());
  ASSERT_TRUE(zeros->ok());
  EXPECT_EQ(**zeros, std::string(kBs, '\0'));
  // The newest block is in the open file's buffer.
  auto recent = (*seg)->ReadWithoutWaiting(767 * kBs, kBs);
  ASSERT_TRUE(recent.has_value() && recent->ok());
  EXPECT_EQ(**recent, written[767]);
  // The first block is in a file this segment wrote and closed: its pages
  // were cached as it closed, with no read of the store.
  auto primed = (*seg)->ReadWithoutWaiting(0, kBs);
  ASSERT_TRUE(primed.has_value());
  ASSERT_TRUE(primed->ok()) << primed->status().ToString();
  EXPECT_EQ(**primed, written[0]);
  EXPECT_GT(cache.stats().primed, 0u);
  EXPECT_EQ(cache.stats().misses, 0u);

  // A new owner opens the segment again: its closed files are not in
  // memory until read once, then they are.
  (*seg)->Close();
  seg->reset();
  EXPECT_EQ(cache.stats().pages, 0u);
  seg = Segment::Open(&store, "/block/v1/s0", o, &cache);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  EXPECT_FALSE((*seg)->ReadWithoutWaiting(0, kBs).has_value());
  auto first = (*seg)->Read(0, kBs);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, written[0]);
  auto again = (*seg)->ReadWithoutWaiting(0, kBs);
  ASSERT_TRUE(again.has_value());
  ASSERT_TRUE(again->ok()) << again->status().ToString();
  EXPECT_EQ(**again, written[0]);

  // Everything reads back the same through the cache, twice.
  for (int pass = 0; pass < 2; ++pass) {
    auto all = (*seg)->Read(0, 768 * kBs);
    ASSERT_TRUE(all.ok());
    for (uint64_t b = 0; b < 768; ++b) ASSERT_EQ(all->compare(b * kBs, kBs, written[b]), 0) << "block " << b;
  }
  const uint64_t misses = cache.stats().misses;
  EXPECT_GT(misses, 0u);
  ASSERT_TRUE((*seg)->Read(0, 768 * kBs).ok());
  EXPECT_EQ(cache.stats().misses, misses);

  // An overwrite is read from its new place, not from the cached old one.
  std::string fresh = RandomBytes(kBs, 9999);
  ASSERT_TRUE((*seg)->Write(0, fresh).ok());
  auto now = (*seg)->Read(0, kBs);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(*now, fresh);
  (*seg)->Close();
  seg->reset();
  EXPECT_EQ(cache.stats().pages, 0u);  // the segment's readers dropped their pages
}

}  // namespace
}  // namespace strata::block
