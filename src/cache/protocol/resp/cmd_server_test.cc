// Server commands, in process: LASTSAVE's clock, the INFO sections that count
// (keyspace expiries, keyspace hits and misses, commandstats) and CONFIG
// RESETSTAT, against the replies of redis-server 7.0.
#include <gtest/gtest.h>

#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

// A clock whose monotonic time (since boot) and wall time (since 1970) are
// far apart, as on a real machine; ManualClock gives both the same value.
class SplitClock final : public Clock {
 public:
  uint64_t NowMicros() const override { return 87'762'000'000ull; }
  uint64_t WallMicros() const override { return wall_us; }
  void SleepMicros(uint64_t) override {}
  uint64_t wall_us = 1'796'351'330'000'000ull;
};

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : table_(BuildCommandTable()), h_(&t_.core, &table_, 1) {}
  std::string Run(const std::vector<std::string>& args) {
    std::string out;
    h_.Process(Cmd(args), &out);
    return out;
  }
  // One "name:value" line of INFO's text ("" when absent).
  std::string InfoField(const std::string& section, const std::string& name) {
    std::string info = Run({"INFO", section});
    size_t at = info.find("\n" + name + ":");
    if (at == std::string::npos) return "";
    size_t begin = at + name.size() + 2;
    return info.substr(begin, info.find('\r', begin) - begin);
  }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler h_;
};

TEST(LastSave, IsUnixSecondsAndMovesWithSave) {
  SplitClock clock;
  MetricsRegistry metrics;
  CacheCore core(testing::TestCore::Small(), &clock, &metrics);
  ASSERT_TRUE(core.Open().ok());
  CommandTable table = BuildCommandTable();
  RespHandler h(&core, &table, 1);
  auto run = [&](const std::vector<std::string>& args) {
    std::string out;
    h.Process(Cmd(args), &out);
    return out;
  };
  EXPECT_EQ(run({"LASTSAVE"}), ":1796351330\r\n");  // the start, in wall-clock seconds
  clock.wall_us += 112'000'000;
  EXPECT_EQ(run({"LASTSAVE"}), ":1796351330\r\n");
  EXPECT_EQ(run({"BGSAVE"}), "+Background saving started\r\n");
  EXPECT_EQ(run({"LASTSAVE"}), ":1796351442\r\n");
  clock.wall_us += 5'000'000;
  EXPECT_EQ(run({"SAVE"}), "+OK\r\n");
  EXPECT_EQ(run({"LASTSAVE"}), ":1796351447\r\n");
  EXPECT_EQ(run({"BGSAVE", "SCHEDULE"}), "+Background saving started\r\n");
  EXPECT_EQ(run({"BGSAVE", "NOW"}), "-ERR syntax error\r\n");
}

TEST_F(ServerTest, InfoKeyspaceCountsKeysWithAnExpiry) {
  Run({"SET", "a", "1", "EX", "100"});
  Run({"SET", "b", "1", "EX", "200"});
  Run({"SET", "c", "1"});
  Run({"HSET", "h", "f", "v"});
  EXPECT_EQ(InfoField("keyspace", "db0"), "keys=4,expires=2,avg_ttl=150000,engine=mem");
  Run({"PERSIST", "a"});
  EXPECT_EQ(InfoField("keyspace", "db0"), "keys=4,expires=1,avg_ttl=200000,engine=mem");
  t_.clock.Advance(50'000'000);
  EXPECT_EQ(InfoField("keyspace", "db0"), "keys=4,expires=1,avg_ttl=150000,engine=mem");
  Run({"EXPIRE", "h", "10"});
  Run({"PEXPIRE", "b", "30000"});  // re-timed, not counted twice
  EXPECT_EQ(InfoField("keyspace", "db0"), "keys=4,expires=2,avg_ttl=20000,engine=mem");
  Run({"SET", "b", "2"});  // a plain SET drops the TTL
  Run({"RENAME", "h", "h2"});
  EXPECT_EQ(InfoField("keyspace", "db0"), "keys=4,expires=1,avg_ttl=10000,engine=mem");
  Run({"DEL", "h2"});
  EXPECT_EQ(InfoField("keyspace", "db0"), "keys=3,expires=0,avg_ttl=0,engine=mem");
  Run({"SETEX", "e", "5", "v"});
  Run({"FLUSHDB"});
  Run({"SET", "z", "v"});
  EXPECT_EQ(InfoField("keyspace", "db0"), "keys=1,expires=0,avg_ttl=0,engine=mem");
}

}  // namespace
}  // namespace strata::cache::resp
