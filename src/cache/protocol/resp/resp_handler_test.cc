// RESP parser and handler tests, in process (no sockets): framing edge cases,
// RESP3 encodings, blocking, namespaces and limits with a ManualClock.
#include "cache/protocol/resp/resp_handler.h"

#include <gtest/gtest.h>

#include "cache/protocol/resp/resp_parser.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

class RespTest : public ::testing::Test {
 protected:
  explicit RespTest(CacheOptions o = testing::TestCore::Small()) : t_(o), table_(BuildCommandTable()), h_(&t_.core, &table_, 7) {}
  std::string Raw(const std::string& in, ProcessOutcome* o = nullptr) {
    std::string out;
    ProcessOutcome r = h_.Process(in, &out);
    if (o) *o = r;
    return out;
  }
  std::string Run(const std::vector<std::string>& args) { return Raw(Cmd(args)); }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler h_;
};

TEST(RespParser, SplitsPipelinesAndWaitsForMore) {
  ParseLimits l;
  std::vector<std::string_view> args;
  std::string in = Cmd({"SET", "k", "v"}) + Cmd({"GET", "k"});
  auto r = ParseCommand(in, l, &args);
  ASSERT_EQ(r.state, ParseState::kCommand);
  EXPECT_EQ(args.size(), 3u);
  EXPECT_EQ(args[2], "v");
  r = ParseCommand(std::string_view(in).substr(r.consumed), l, &args);
  ASSERT_EQ(r.state, ParseState::kCommand);
  EXPECT_EQ(args[0], "GET");
  for (size_t cut = 0; cut < in.size() / 2; cut++) {
    EXPECT_EQ(ParseCommand(std::string_view(in).substr(0, cut), l, &args).state, ParseState::kIncomplete) << cut;
  }
}

// Inline commands quote and escape as Redis does (sdssplitargs).
TEST(RespParser, InlineQuotesAndEscapesAsRedis) {
  ParseLimits l;
  std::vector<std::string_view> args;
  auto r = ParseCommand("SET q \"c\\x41\\n\\\"\" 'it\\'s' \"\" plain\r\n", l, &args);
  ASSERT_EQ(r.state, ParseState::kCommand);
  ASSERT_EQ(args.size(), 6u);
  EXPECT_EQ(args[2], "cA\n\"");
  EXPECT_EQ(args[3], "it's");
  EXPECT_EQ(args[4], "");
  EXPECT_EQ(args[5], "plain");
  EXPECT_EQ(ParseCommand("SET a \"b\"c\r\n", l, &args).state, ParseState::kError);  // quote must end the arg
  EXPECT_EQ(ParseCommand("SET a \"b\r\n", l, &args).state, ParseState::kError);
}

TEST_F(RespTest, InlineEscapesStoreTheDecodedBytes) {
  EXPECT_EQ(Raw("SET q \"c\\x41\\n\"\r\n"), "+OK\r\n");
  EXPECT_EQ(Run({"STRLEN", "q"}), ":3\r\n");
}

TEST(RespParser, RejectsHugeAndMalformedLengths) {
  ParseLimits l;
  std::vector<std::string_view> args;
  EXPECT_EQ(ParseCommand("*1\r\n$1073741824\r\n", l, &args).state, ParseState::kError);
  EXPECT_EQ(ParseCommand("*1\r\n$-5\r\n", l, &args).state, ParseState::kError);
  EXPECT_EQ(ParseCommand("*x\r\n", l, &args).state, ParseState::kError);
  EXPECT_EQ(ParseCommand("*99999999999\r\n", l, &args).state, ParseState::kError);
  EXPECT_EQ(ParseCommand("*1\r\n$3\r\nabcXY", l, &args).state, ParseState::kError);
  EXPECT_EQ(ParseCommand(std::string(70000, 'a'), l, &args).state, ParseState::kError);
  auto r = ParseCommand("set a \"b c\"\r\n", l, &args);
  ASSERT_EQ(r.state, ParseState::kCommand);
  EXPECT_EQ(args[2], "b c");
}

TEST_F(RespTest, ErrorsUseRedisWording) {
  EXPECT_EQ(Run({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  Run({"HSET", "h", "f", "v"});
  EXPECT_EQ(Run({"GET", "h"}), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(Run({"SET", "k", "v", "BOGUS"}), "-ERR syntax error\r\n");
  Run({"SET", "k", "v"});
  EXPECT_EQ(Run({"INCR", "k"}), "-ERR value is not an integer or out of range\r\n");
}

TEST_F(RespTest, ExpiryFollowsTheInjectedClock) {
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "1500"}), "+OK\r\n");
  EXPECT_EQ(Run({"PTTL", "k"}), ":1500\r\n");
  t_.clock.Advance(1'000'000);
  EXPECT_EQ(Run({"GET", "k"}), "$1\r\nv\r\n");
  t_.clock.Advance(600'000);
  EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(Run({"TTL", "k"}), ":-2\r\n");
}

TEST_F(RespTest, Resp3EncodingsAfterHello) {
  EXPECT_EQ(Run({"HELLO", "3"}).substr(0, 3), "%7\r");
  Run({"ZADD", "z", "2.5", "m"});
  EXPECT_EQ(Run({"ZSCORE", "z", "m"}), ",2.5\r\n");
  EXPECT_EQ(Run({"GET", "nope"}), "_\r\n");
  EXPECT_EQ(Run({"ZRANGE", "z", "0", "-1", "WITHSCORES"}), "*1\r\n*2\r\n$1\r\nm\r\n,2.5\r\n");
  EXPECT_EQ(Run({"HELLO", "2"}).substr(0, 4), "*14\r");
  EXPECT_EQ(Run({"ZSCORE", "z", "m"}), "$3\r\n2.5\r\n");
}

TEST_F(RespTest, BlockingPopBlocksThenTimesOutOnTheClock) {
  ProcessOutcome o;
  EXPECT_EQ(Raw(Cmd({"BLPOP", "q", "2"}), &o), "");
  EXPECT_TRUE(o.blocked);
  EXPECT_EQ(o.consumed, 0u);
  ASSERT_EQ(o.block_keys.size(), 1u);
  t_.clock.Advance(1'000'000);
  EXPECT_EQ(Raw(Cmd({"BLPOP", "q", "2"}), &o), "");  // re-run: still waiting
  EXPECT_TRUE(o.blocked);
  t_.clock.Advance(1'000'000);
  EXPECT_EQ(Raw(Cmd({"BLPOP", "q", "2"}), &o), "*-1\r\n");
  EXPECT_FALSE(o.blocked);
  Run({"RPUSH", "q", "x"});
  EXPECT_EQ(Run({"BLPOP", "q", "0"}), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
}

TEST(RespParser, NumbersAreReadInOnePass) {
  ParseLimits l;
  std::vector<std::string_view> args;
  // A length line cut anywhere (even between \r and \n) waits for more.
  for (std::string_view cut : {"*", "*1", "*1\r", "*1\r\n$", "*1\r\n$12", "*1\r\n$12\r"}) {
    EXPECT_EQ(ParseCommand(cut, l, &args).state, ParseState::kIncomplete) << cut;
  }
  EXPECT_EQ(ParseCommand("*1\r\n$2x\r\n", l, &args).state, ParseState::kError);
  EXPECT_EQ(ParseCommand("*1\r\n$\r\n", l, &args).state, ParseState::kError);
  EXPECT_EQ(ParseCommand("*1\rX", l, &args).state, ParseState::kError);
  EXPECT_EQ(ParseCommand("*1234567890123456789\r\n", l, &args).state, ParseState::kError);
  EXPECT_EQ(ParseCommand("*1\r\n$000000000000000000000000000000000000003\r\nabc\r\n", l, &args).state,
            ParseState::kError);
  auto r = ParseCommand("*-1\r\n", l, &args);
  EXPECT_EQ(r.state, ParseState::kCommand);
  EXPECT_TRUE(args.empty());
  r = ParseCommand("*1\r\n$10\r\n0123456789\r\n", l, &args);
  ASSERT_EQ(r.state, ParseState::kCommand);
  EXPECT_EQ(args[0], "0123456789");
}

TEST(CommandTable, FindsCommandsInAnyCase) {
  CommandTable t = BuildCommandTable();
  ASSERT_NE(t.Find("get"), nullptr);
  EXPECT_EQ(t.Find("GET"), t.Find("get"));
  EXPECT_EQ(t.Find("GeT")->name, "get");
  EXPECT_EQ(t.Find("zrangebyscore")->name, "zrangebyscore");
  EXPECT_EQ(t.Find("ZRANGEBYSCORE")->name, "zrangebyscore");
  EXPECT_EQ(t.Find("nosuchcommand"), nullptr);
  EXPECT_EQ(t.Find(""), nullptr);
  EXPECT_EQ(t.Find("g\xc5t"), nullptr);
  EXPECT_EQ(t.Find(std::string(200, 'a')), nullptr);
  for (const auto& [name, spec] : t.all()) {
    const CommandSpec* found = t.Find(name);
    ASSERT_NE(found, nullptr) << name;
    EXPECT_EQ(found->handler, spec.handler) << name;
  }
}

TEST_F(RespTest, LongKeysAreNotTruncated) {
  // Keys past InternalKey's inline bytes take the heap path.
  std::string a(InternalKey::kInline - 1, 'a'), b(InternalKey::kInline, 'b'), c(1000, 'c');
  for (const std::string& k : {a, b, c}) EXPECT_EQ(Run({"SET", k, "v" + std::to_string(k.size())}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", b}), "$3\r\nv63\r\n");
  EXPECT_EQ(Run({"GET", c}), "$5\r\nv1000\r\n");
  EXPECT_EQ(Run({"GET", std::string(1000, 'c') + "x"}), "$-1\r\n");
  EXPECT_EQ(Run({"DBSIZE"}), ":3\r\n");
}

TEST_F(RespTest, SelectIsolatesNamespaces) {
  Run({"SET", "k", "zero"});
  EXPECT_EQ(Run({"SELECT", "1"}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(Run({"DBSIZE"}), ":0\r\n");
  EXPECT_EQ(Run({"SELECT", "0"}), "+OK\r\n");
  EXPECT_EQ(Run({"DBSIZE"}), ":1\r\n");
  EXPECT_EQ(Run({"SELECT", "300"}), "-ERR DB index is out of range\r\n");
}

TEST_F(RespTest, ProtocolErrorClosesTheConnection) {
  ProcessOutcome o;
  EXPECT_EQ(Raw("*1\r\n$999999999999\r\n", &o), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_TRUE(o.close);
}

class RespLimitsTest : public RespTest {
 protected:
  static CacheOptions Limited() {
    CacheOptions o = testing::TestCore::Small();
    o.namespaces.push_back(*ParseNamespaceSpec("id=3,name=rl,ops=5"));
    return o;
  }
  RespLimitsTest() : RespTest(Limited()) {}
};

TEST_F(RespLimitsTest, OpsLimitRefillsWithTime) {
  Run({"SELECT", "3"});
  for (int i = 0; i < 5; i++) EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(Run({"GET", "k"}), "-ERR namespace 'rl' is over its limit of 5 ops/s\r\n");
  t_.clock.Advance(400'000);  // two tokens back
  EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");
}

class RespAuthTest : public RespTest {
 protected:
  static CacheOptions WithPassword() {
    CacheOptions o = testing::TestCore::Small();
    o.password = "sekret";
    return o;
  }
  RespAuthTest() : RespTest(WithPassword()) {}
};

TEST_F(RespAuthTest, EveryCommandButAuthIsRefusedBeforeAuth) {
  EXPECT_EQ(Run({"PING"}), "-NOAUTH Authentication required.\r\n");  // as Redis
  EXPECT_EQ(Raw("PING\r\n"), "-NOAUTH Authentication required.\r\n");
  const std::vector<std::vector<std::string>> refused = {
      {"GET", "k"}, {"SET", "k", "v"}, {"DEL", "k"}, {"KEYS", "*"}, {"FLUSHALL"}, {"INFO"}, {"CONFIG", "GET", "*"}};
  for (const auto& cmd : refused) {
    EXPECT_EQ(Run(cmd).substr(0, 7), "-NOAUTH") << cmd[0];
  }
  EXPECT_EQ(Run({"AUTH", "wrong"}).substr(0, 10), "-WRONGPASS");
  EXPECT_EQ(Run({"AUTH", "sekret"}), "+OK\r\n");
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");  // the refused SET stored nothing
}

}  // namespace
}  // namespace strata::cache::resp
