// Server commands, in process: LASTSAVE's clock, the INFO sections that count
// (keyspace expiries, keyspace hits and misses, commandstats) and CONFIG
// RESETSTAT, against the replies of redis-server 7.0.
#include <gtest/gtest.h>

#include <set>

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
  // The text of a bulk reply.
  static std::string Body(const std::string& reply) {
    size_t eol = reply.find("\r\n");
    return reply.substr(eol + 2, reply.size() - eol - 4);
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

// The same session on redis-server 7.0.15 ends with these counts.
TEST_F(ServerTest, ReadCommandsCountKeyspaceHitsAndMisses) {
  auto counts = [&] { return InfoField("stats", "keyspace_hits") + "/" + InfoField("stats", "keyspace_misses"); };
  Run({"SET", "a", "1"});
  EXPECT_EQ(counts(), "0/0");
  Run({"GET", "a"});
  Run({"GET", "zz"});
  EXPECT_EQ(counts(), "1/1");
  Run({"EXISTS", "a", "zz"});
  Run({"TYPE", "a"});
  Run({"TTL", "a"});
  EXPECT_EQ(counts(), "4/2");
  Run({"MGET", "a", "zz", "b"});
  Run({"INCR", "a"});  // a write: not counted
  Run({"HGET", "h", "f"});
  EXPECT_EQ(counts(), "5/5");
  Run({"STRLEN", "a"});
  Run({"LRANGE", "a", "0", "1"});  // WRONGTYPE, still a hit
  Run({"DBSIZE"});
  Run({"SCAN", "0"});
  Run({"APPEND", "a", "x"});
  Run({"GETRANGE", "a", "0", "1"});
  EXPECT_EQ(counts(), "8/5");
  Run({"HSET", "h", "f", "v"});
  Run({"HGET", "h", "nof"});  // the key is there: a hit
  Run({"TOUCH", "a", "zz"});
  Run({"SUNION", "a2", "a3"});
  EXPECT_EQ(counts(), "10/8");
  Run({"MULTI"});
  Run({"GET", "a"});
  Run({"EXEC"});
  EXPECT_EQ(counts(), "11/8");
  EXPECT_EQ(Run({"CONFIG", "RESETSTAT"}), "+OK\r\n");
  EXPECT_EQ(counts(), "0/0");
}

TEST_F(ServerTest, InfoCommandstatsCountsCallsRejectionsAndFailures) {
  EXPECT_EQ(Body(Run({"INFO", "commandstats"})), "# Commandstats\r\n\r\n");
  Run({"SET", "a", "1"});
  Run({"GET", "a"});
  Run({"GET", "a"});
  Run({"GET"});             // wrong arity: rejected, not called
  Run({"SET", "s", "text"});
  Run({"INCR", "s"});       // runs and fails
  Run({"MULTI"});
  Run({"GET", "a"});        // queued: counted when EXEC runs it
  Run({"EXEC"});
  std::string info = Run({"INFO", "commandstats"});
  EXPECT_NE(info.find("\r\ncmdstat_get:calls=3,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"),
            std::string::npos) << info;
  EXPECT_NE(info.find("\r\ncmdstat_incr:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n"),
            std::string::npos) << info;
  EXPECT_NE(info.find("\r\ncmdstat_set:calls=2,"), std::string::npos) << info;
  EXPECT_NE(info.find("\r\ncmdstat_exec:calls=1,"), std::string::npos) << info;
  EXPECT_NE(info.find("\r\ncmdstat_multi:calls=1,"), std::string::npos) << info;
  EXPECT_EQ(info.find("cmdstat_ping"), std::string::npos) << info;
  // Not in the default sections, as in Redis; in "all" and "everything".
  EXPECT_EQ(Run({"INFO"}).find("# Commandstats"), std::string::npos);
  EXPECT_NE(Run({"INFO", "everything"}).find("cmdstat_get:calls=3,"), std::string::npos);
  Run({"CONFIG", "RESETSTAT"});
  EXPECT_EQ(Body(Run({"INFO", "commandstats"})),
            "# Commandstats\r\ncmdstat_config:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,"
            "failed_calls=0\r\n\r\n");
}

TEST(CommandStatsTimes, UsecAddsUpPerCommand) {
  CommandStats stats;
  stats.Called(3, 10, false);
  stats.Called(3, 5, true);
  stats.Rejected(3);
  stats.Keyspace(2, 1);
  CommandStats::Totals t = stats.Get(3);
  EXPECT_EQ(t.calls, 2u);
  EXPECT_EQ(t.usec, 15u);
  EXPECT_EQ(t.failed, 1u);
  EXPECT_EQ(t.rejected, 1u);
  EXPECT_EQ(stats.hits(), 2u);
  EXPECT_EQ(stats.misses(), 1u);
  EXPECT_EQ(stats.Get(CommandStats::kMaxCommands).calls, 0u);
  stats.Reset();
  EXPECT_EQ(stats.Get(3).calls, 0u);
  EXPECT_EQ(stats.hits(), 0u);
}

TEST(CommandStatsTimes, EveryCommandHasItsOwnId) {
  CommandTable table = BuildCommandTable();
  std::set<uint16_t> ids;
  for (const auto& [name, spec] : table.all()) {
    EXPECT_LT(spec.id, CommandStats::kMaxCommands) << name;
    EXPECT_TRUE(ids.insert(spec.id).second) << name;
    EXPECT_EQ(table.Find(name)->id, spec.id) << name;
  }
}

}  // namespace
}  // namespace strata::cache::resp
