// Robustness: every command of the RESP table and of the memcached table is
// called many times with random argument lists drawn from a pool of tricky
// tokens (negative, huge, infinite, empty, bounds of ranges). Nothing may
// crash, hang or leave the engine over its memory limit; every reply must be
// well-formed enough to start with a RESP type byte (a push, ">", in RESP3
// after a random HELLO 3).
#include <gtest/gtest.h>

#include "cache/protocol/memcache/memcache_handler.h"
#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"
#include "env/random.h"

namespace strata::cache {
namespace {

const std::vector<std::string> kTokens = {
    "k", "h", "l", "s", "z", "q", "", "0", "1", "-1", "2", "-100", "100", "9223372036854775807",
    "-9223372036854775808", "99999999999999999999", "inf", "-inf", "+inf", "nan", "1.5", "(1", "[a", "(b", "-", "+",
    "WITHSCORES", "LIMIT", "BYSCORE", "BYLEX", "REV", "EX", "PX", "NX", "XX", "GT", "LT", "CH", "INCR", "GET",
    "KEEPTTL", "MATCH", "COUNT", "TYPE", "LEFT", "RIGHT", "BEFORE", "AFTER", "v", "a*", "PERSIST", "3",
    "*", "$", ">", "~", "=", "0-1", "1-*", "18446744073709551615-18446744073709551615", "MAXLEN", "MINID", "STREAMS",
    "GROUP", "MKSTREAM", "NOACK", "JUSTID", "FORCE", "IDLE", "CREATE", "STREAM", "FULL"};

using testing::Cmd;

TEST(CommandSoup, EveryRespCommandSurvivesRandomArguments) {
  testing::TestCore t;
  ASSERT_TRUE(t.ok);
  resp::CommandTable table = resp::BuildCommandTable();
  Random rnd(1234);
  std::vector<std::string> names;
  for (const auto& [name, spec] : table.all()) {
    if (name != "quit" && name != "flushall" && name != "auth" && name != "select") names.push_back(name);
  }
  for (int round = 0; round < 2000; round++) {
    resp::RespHandler h(&t.core, &table, 1);
    for (const auto& name : names) {
      std::vector<std::string> args = {name};
      int n = static_cast<int>(rnd.Uniform(7));
      for (int i = 0; i < n; i++) args.push_back(kTokens[rnd.Uniform(kTokens.size())]);
      std::string out;
      ProcessOutcome o = h.Process(Cmd(args), &out);
      if (o.blocked) continue;
      ASSERT_FALSE(out.empty()) << name;
      ASSERT_NE(std::string("+-:$*%_,#~=>").find(out[0]), std::string::npos) << name << ": " << out;
    }
    ASSERT_LE(t.core.mem()->pool().used_bytes(), t.core.mem()->pool().limit_bytes() + (1u << 20));
  }
}

TEST(CommandSoup, MemcacheSurvivesRandomLines) {
  testing::TestCore t;
  ASSERT_TRUE(t.ok);
  Random rnd(99);
  const std::vector<std::string> verbs = {"get", "gets", "gat", "gats", "set", "add", "replace", "append", "prepend",
                                          "cas", "incr", "decr", "touch", "delete", "flush_all", "stats", "version",
                                          "verbosity", "mn", "mg", "ms", "md", "ma", "bogus"};
  const std::vector<std::string> toks = {"k", "app:k", "0", "1", "-1", "5", "18446744073709551615", "noreply", "v",
                                         "T10", "N5", "J3", "D2", "MA", "MP", "ME", "MR", "MD", "C1", "F7", "q", "k",
                                         "O1", "c", "t", "s", "f", "slabs", "items", "hotkeys", "b"};
  for (int i = 0; i < 20000; i++) {
    memcache::MemcacheHandler h(&t.core, 1);
    std::string line = verbs[rnd.Uniform(verbs.size())];
    int n = static_cast<int>(rnd.Uniform(6));
    for (int j = 0; j < n; j++) line += " " + toks[rnd.Uniform(toks.size())];
    line += "\r\nv\r\n";
    std::string out;
    h.Process(line, &out);
  }
}

}  // namespace
}  // namespace strata::cache
