#include "block/server/paged_buffer.h"

#include <gtest/gtest.h>

#include <random>

namespace strata::block {
namespace {

TEST(PagedBufferTest, AppendsAcrossPagesAndCopiesAnyRangeBack) {
  PagedBuffer buf(100);
  std::string all;
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    std::string piece(rng() % 250, '\0');
    for (auto& c : piece) c = static_cast<char>(rng());
    buf.Append(piece);
    all += piece;
  }
  ASSERT_EQ(buf.size(), all.size());
  for (int i = 0; i < 200; ++i) {
    uint64_t off = rng() % (all.size() + 1);
    uint64_t n = rng() % (all.size() - off + 1);
    ASSERT_EQ(buf.Substr(off, n), all.substr(off, n)) << off << "+" << n;
  }
  std::string out(10, 'x');
  EXPECT_FALSE(buf.CopyOut(all.size() - 5, 10, out.data()));  // past the end: nothing copied
  EXPECT_EQ(out, std::string(10, 'x'));

  auto pages = buf.pages();
  ASSERT_EQ(pages.size(), (all.size() + 99) / 100);
  std::string joined;
  for (size_t i = 0; i < pages.size(); ++i) {
    if (i + 1 < pages.size()) {
      EXPECT_EQ(pages[i]->size(), 100u);
    }
    joined += *pages[i];
  }
  EXPECT_EQ(joined, all);

  // Pages taken stay as they were after the buffer starts over.
  buf.Clear();
  EXPECT_EQ(buf.size(), 0u);
  buf.Append(std::string(300, 'n'));
  EXPECT_EQ(*pages[0], all.substr(0, 100));
  EXPECT_EQ(buf.Substr(0, 300), std::string(300, 'n'));
}

}  // namespace
}  // namespace strata::block
