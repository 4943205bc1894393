#include "dfs/master/path.h"

#include <gtest/gtest.h>

namespace strata::dfs::master {
namespace {

std::vector<std::string> Ok(std::string_view p) {
  auto r = SplitPath(p, PathLimits{});
  EXPECT_TRUE(r.ok()) << p << ": " << r.status().ToString();
  return r.ok() ? *r : std::vector<std::string>{};
}

bool Bad(std::string_view p, PathLimits limits = {}) {
  auto r = SplitPath(p, limits);
  return !r.ok() && r.status().code() == StatusCode::kInvalidArgument;
}

TEST(PathTest, Splits) {
  EXPECT_TRUE(Ok("/").empty());
  EXPECT_EQ(Ok("/a"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Ok("/a/b.c/d"), (std::vector<std::string>{"a", "b.c", "d"}));
  EXPECT_EQ(Ok("/a/"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(JoinPath({"a", "b"}), "/a/b");
  EXPECT_EQ(JoinPath({}), "/");
}

TEST(PathTest, RejectsMalformed) {
  EXPECT_TRUE(Bad(""));
  EXPECT_TRUE(Bad("a/b"));
  EXPECT_TRUE(Bad("//"));
  EXPECT_TRUE(Bad("/a//b"));
  EXPECT_TRUE(Bad("/a//"));
  EXPECT_TRUE(Bad("/./a"));
  EXPECT_TRUE(Bad("/a/.."));
  EXPECT_TRUE(Bad(std::string("/a\0b", 4)));
  EXPECT_TRUE(Bad("/" + std::string(256, 'x')));
  EXPECT_TRUE(Bad("/abcdef", PathLimits{.path_bytes_max = 4, .name_bytes_max = 255}));
  EXPECT_FALSE(Bad("/" + std::string(255, 'x')));
  // Names are text: no control characters (a newline would split a listing
  // line), only valid UTF-8 (it travels in protobuf strings).
  EXPECT_TRUE(Bad("/logs/two\nlines"));
  EXPECT_TRUE(Bad("/logs/tab\there"));
  EXPECT_TRUE(Bad("/logs/del\x7f"));
  EXPECT_TRUE(Bad("/logs/bad\xff\xfeutf"));
  EXPECT_FALSE(Bad("/logs/caf\xC3\xA9 \xE6\x97\xA5"));
}

}  // namespace
}  // namespace strata::dfs::master
