#include "common/config.h"

#include <gtest/gtest.h>

namespace strata {
namespace {

TEST(ConfigTest, ParseByteSize) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("64K"), 65536u);
  EXPECT_EQ(*ParseByteSize("1MiB"), 1u << 20);
  EXPECT_EQ(*ParseByteSize("4G"), 4ull << 30);
  EXPECT_EQ(*ParseByteSize("2mb"), 2u << 20);
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("G").ok());
  EXPECT_FALSE(ParseByteSize("12Q").ok());
  EXPECT_FALSE(ParseByteSize("99999999999999999999").ok());
}

// Found by fuzz/config_fuzz: "4411119T" parsed, but the same size in bytes
// (19 digits) was refused as too large.
TEST(ConfigTest, ParseByteSizeTakesEverySizeItCanReturn) {
  auto t = ParseByteSize("4411119T");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 4411119ull << 40);
  auto bytes = ParseByteSize(std::to_string(*t));
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, *t);
  EXPECT_EQ(*ParseByteSize("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseByteSize("18446744073709551616").ok());
  EXPECT_FALSE(ParseByteSize("16777216T").ok());
  EXPECT_EQ(*ParseByteSize("00000000000000000000000064K"), 65536u);
}

TEST(ConfigTest, TypedAccessAndUnknownKeys) {
  ConfigNode node(YAML::Load("a: 5\nb: hello\nc: 64M\nd: [1]\n"), "test.yaml");
  int64_t a = 0;
  std::string b;
  uint64_t c = 0;
  ASSERT_TRUE(node.GetInt("a", &a).ok());
  ASSERT_TRUE(node.GetString("b", &b).ok());
  ASSERT_TRUE(node.GetBytes("c", &c).ok());
  EXPECT_EQ(a, 5);
  EXPECT_EQ(b, "hello");
  EXPECT_EQ(c, 64u << 20);
  Status unknown = node.CheckNoUnknownKeys();
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("'d'"), std::string::npos);
  int64_t bad = 0;
  EXPECT_FALSE(node.GetInt("b", &bad).ok());
}

// A section with only comments under it is empty, not an error; a scalar is
// still not a section.
TEST(ConfigTest, EmptySectionIsAnEmptyMapping) {
  ConfigNode node(YAML::Load("master:\n  # nothing yet\nchunkserver: 3\n"), "test.yaml");
  auto master = node.Child("master");
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  EXPECT_TRUE(master->node().IsMap());
  EXPECT_EQ(master->node().size(), 0u);
  EXPECT_FALSE(node.Child("chunkserver").ok());
}

TEST(ConfigTest, MissingFile) {
  EXPECT_EQ(LoadYamlFile("/nonexistent/strata.yaml").status().code(), StatusCode::kNotFound);
}

// Found by fuzz/config_fuzz: a mapping or sequence used as a key threw from
// CheckNoUnknownKeys (the role aborted) instead of being refused.
TEST(ConfigTest, ComplexKeyIsRefusedNotThrown) {
  for (const char* text : {"? [a, b]\n: 1\n", "? {x: 1}\n: 2\nport: 3\n", "? \n: 1\n"}) {
    ConfigNode node(YAML::Load(text), "test.yaml");
    int64_t port = 0;
    ASSERT_TRUE(node.GetInt("port", &port).ok());
    Status st = node.CheckNoUnknownKeys();
    EXPECT_FALSE(st.ok()) << text;
  }
}

}  // namespace
}  // namespace strata
