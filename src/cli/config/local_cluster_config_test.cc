#include "cli/config/local_cluster_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "env/testing/temp_dir.h"

namespace strata::cli {
namespace {

class LocalClusterConfigTest : public ::testing::Test {
 protected:
  Result<LocalClusterConfig> Load(const std::string& text) {
    const std::string path = dir_.path() + "/cluster.yaml";
    std::ofstream(path, std::ios::trunc) << text;
    return LoadLocalClusterConfig(path);
  }
  TempDir dir_{"local_cluster_config_test"};
};

TEST_F(LocalClusterConfigTest, ReadsTheShapeAndKeepsTheRoleSections) {
  auto c = Load(
      "chunkservers: 4\nracks: 2\ndisks_per_chunkserver: 1\n"
      "cache:\n  enabled: false\n  max_value_size: 2M\n"
      "block:\n  blockservers: 2\n  nbd_port: 0\n"
      "master:\n  default_chunk_size: 4M\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->chunkservers, 4);
  EXPECT_EQ(c->racks, 2);
  EXPECT_EQ(c->disks_per_chunkserver, 1);
  EXPECT_FALSE(c->cache);
  EXPECT_EQ(c->cache_config["max_value_size"].as<std::string>(), "2M");
  EXPECT_EQ(c->blockservers, 2);
  EXPECT_EQ(c->nbd_port, 0);
  EXPECT_EQ(c->master_config["default_chunk_size"].as<std::string>(), "4M");
  // The saved form loads back to the same config.
  auto again = Load(LocalClusterConfigYaml(*c));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(LocalClusterConfigYaml(*again), LocalClusterConfigYaml(*c));
}

TEST_F(LocalClusterConfigTest, AnEmptyFileOrPathGivesTheDefaults) {
  auto empty = Load("");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(LocalClusterConfigYaml(*empty), LocalClusterConfigYaml(LocalClusterConfig{}));
  auto none = LoadLocalClusterConfig("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(LocalClusterConfigYaml(*none), LocalClusterConfigYaml(LocalClusterConfig{}));
}

TEST_F(LocalClusterConfigTest, UnknownKeysAndOutOfRangeShapesAreRefusedWithTheKey) {
  for (const char* text : {"chunkserver: 3\n", "block:\n  nbd: 1\n", "chunkservers: 0\n", "chunkservers: 65\n",
                           "racks: 7\nchunkservers: 6\n", "disks_per_chunkserver: 17\n", "block:\n  nbd_port: 70000\n"}) {
    auto c = Load(text);
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

// An integer that does not fit an int was cut to its low 32 bits:
// `chunkservers: 4294967297` started one chunkserver, a port of 2^32 + 10809
// took 10809, and a huge ready_timeout_ms became a small or negative one.
TEST_F(LocalClusterConfigTest, IntegersPastTheRangeAreRefusedNotCut) {
  const std::pair<const char*, const char*> cases[] = {
      {"chunkservers: 4294967297\nracks: 1\n", "chunkservers"},
      {"racks: 4294967297\n", "racks"},
      {"disks_per_chunkserver: 4294967298\n", "disks_per_chunkserver"},
      {"ready_timeout_ms: 4294967296000\n", "ready_timeout_ms"},
      {"ready_timeout_ms: -5\n", "ready_timeout_ms"},
      {"cache:\n  threads: 4294967298\n", "threads"},
      {"cache:\n  threads: 0\n", "threads"},
      {"block:\n  blockservers: 4294967299\n", "blockservers"},
      {"block:\n  nbd_port: 4294977105\n", "nbd_port"},
  };
  for (const auto& [text, key] : cases) {
    auto c = Load(text);
    ASSERT_EQ(c.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(c.status().message().find(key), std::string::npos) << c.status().ToString();
  }
}

// Found by cluster_config_fuzz: `host: ".\xff\xff\xff\r"` loaded, but the
// saved cluster.yaml wrote the carriage return plain before its line break,
// which reads back as a different host (and so a different config at the
// next `strata up`). A value with a carriage return is refused.
TEST_F(LocalClusterConfigTest, AValueWithACarriageReturnIsRefused) {
  for (const char* text : {"host: \"a\\r\"\n", "host: .\xff\xff\xff\r", "master:\n  x: \"a\\rb\"\n",
                           "cache:\n  namespaces:\n    - \"id=8\\r\"\n", "chunkserver:\n  \"k\\r\": 1\n"}) {
    auto c = Load(text);
    ASSERT_EQ(c.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(c.status().message().find("carriage return"), std::string::npos) << c.status().ToString();
  }
  // A file whose lines end in CR LF is fine.
  auto crlf = Load("host: 127.0.0.1\r\nchunkservers: 3\r\n");
  ASSERT_TRUE(crlf.ok()) << crlf.status().ToString();
  EXPECT_EQ(crlf->host, "127.0.0.1");
}

}  // namespace
}  // namespace strata::cli
