// Keyspace notifications, in process: the events of every write command
// as redis-server 7.0 raised them for the same sequence of commands
// (recorded with notify-keyspace-events KEA), the two channel forms,
// filtering by class, and the flag string of CONFIG SET/GET.
#include <gtest/gtest.h>

#include <utility>

#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;
using Events = std::vector<std::pair<std::string, std::string>>;

class KeyspaceNotifyTest : public ::testing::Test {
 protected:
  KeyspaceNotifyTest() : table_(BuildCommandTable()), sub_(&t_.core, &table_, 1), c_(&t_.core, &table_, 2) {}
  static std::string On(RespHandler& h, const std::vector<std::string>& args) {
    std::string out;
    h.Process(Cmd(args), &out);
    return out;
  }
  // The (channel suffix, payload) of each pmessage waiting for the subscriber.
  Events Received() {
    std::string out;
    EXPECT_TRUE(sub_.TakePushes(&out));
    Events got;
    std::vector<std::string> bulks;
    size_t pos = 0;
    while ((pos = out.find('$', pos)) != std::string::npos) {
      size_t eol = out.find("\r\n", pos);
      size_t len = std::stoul(out.substr(pos + 1, eol - pos - 1));
      bulks.push_back(out.substr(eol + 2, len));
      pos = eol + 2 + len + 2;
    }
    for (size_t i = 0; i + 3 < bulks.size(); i += 4) {  // pmessage, pattern, channel, payload
      std::string channel = bulks[i + 2];
      got.emplace_back(channel.substr(channel.find(':') + 1), bulks[i + 3]);
    }
    return got;
  }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler sub_;
  RespHandler c_;
};

TEST_F(KeyspaceNotifyTest, EventsMatchRedisForEveryWriteCommand) {
  ASSERT_EQ(On(c_, {"CONFIG", "SET", "notify-keyspace-events", "KEA"}), "+OK\r\n");
  On(sub_, {"PSUBSCRIBE", "__keyevent@0__:*"});
  struct Case {
    std::vector<std::string> command;
    Events events;  // (event, key), in order
  };
  const std::vector<Case> cases = {
      {{"ZADD", "z", "1", "m"}, {{"zadd", "z"}}},
      {{"ZADD", "z", "2", "m"}, {{"zadd", "z"}}},
      {{"INCR", "n"}, {{"incrby", "n"}}},
      {{"INCRBY", "n", "2"}, {{"incrby", "n"}}},
      {{"DECR", "n"}, {{"incrby", "n"}}},
      {{"RENAME", "n", "n2"}, {{"rename_from", "n"}, {"rename_to", "n2"}}},
      {{"EXPIRE", "n2", "100"}, {{"expire", "n2"}}},
      {{"PERSIST", "n2"}, {{"persist", "n2"}}},
      {{"EXPIRE", "n2", "-1"}, {{"del", "n2"}}},
      {{"APPEND", "q", "x"}, {{"append", "q"}}},
      {{"MSET", "m1", "1", "m2", "2"}, {{"set", "m1"}, {"set", "m2"}}},
      {{"GETDEL", "m1"}, {{"del", "m1"}}},
      {{"SET", "k", "v", "NX"}, {{"set", "k"}}},
      {{"LPUSH", "l2", "a", "b", "c"}, {{"lpush", "l2"}}},
      {{"RPOPLPUSH", "l2", "l3"}, {{"lpush", "l3"}, {"rpop", "l2"}}},
      {{"LMOVE", "l2", "l3", "LEFT", "RIGHT"}, {{"rpush", "l3"}, {"lpop", "l2"}}},
      {{"SMOVE", "x", "y", "z"}, {}},
      {{"SADD", "s1", "a"}, {{"sadd", "s1"}}},
      {{"SINTERSTORE", "d", "s1"}, {{"sinterstore", "d"}}},
      {{"SINTERSTORE", "d", "nosuch"}, {{"del", "d"}}},
      {{"FLUSHDB"}, {}},
      {{"HINCRBY", "h", "c", "1"}, {{"hincrby", "h"}}},
      {{"ZINCRBY", "z", "1", "m"}, {{"zincr", "z"}}},
      {{"SETRANGE", "sr", "0", "x"}, {{"setrange", "sr"}}},
      {{"GETEX", "sr", "EX", "100"}, {{"expire", "sr"}}},
      {{"GETEX", "sr", "PERSIST"}, {{"persist", "sr"}}},
      {{"INCRBYFLOAT", "f", "1.5"}, {{"incrbyfloat", "f"}}},
      {{"SETBIT", "bm", "7", "1"}, {{"setbit", "bm"}}},
      {{"SETBIT", "bm", "7", "1"}, {}},  // nothing changed
      {{"SETBIT", "bm", "7", "0"}, {{"setbit", "bm"}}},
      {{"SETBIT", "bm", "100", "0"}, {{"setbit", "bm"}}},  // grown
      {{"BITFIELD", "bm", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10"}, {}},
      {{"BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10"}, {}},  // created, but nothing written
      {{"BITFIELD", "bm", "SET", "u2", "0", "0", "GET", "u2", "0"}, {}},
      {{"BITFIELD", "bm", "GET", "u2", "0", "SET", "u2", "0", "1"}, {{"setbit", "bm"}}},
      {{"BITOP", "AND", "bd", "bm", "bm"}, {{"set", "bd"}}},
      {{"BITOP", "AND", "bd", "nosuch"}, {{"del", "bd"}}},
      {{"BITOP", "AND", "bd", "nosuch"}, {}},
      {{"PFADD", "hl", "a"}, {{"pfadd", "hl"}}},
      {{"PFADD", "hl", "a"}, {}},
      {{"PFMERGE", "hl"}, {{"pfadd", "hl"}}},
      {{"ZADD", "z", "INCR", "1", "m"}, {{"zincr", "z"}}},
      {{"SADD", "s1", "a", "b"}, {{"sadd", "s1"}}},
      {{"SPOP", "s1"}, {{"spop", "s1"}}},
      {{"HDEL", "h", "c"}, {{"hdel", "h"}, {"del", "h"}}},
      {{"RPUSH", "l3", "a"}, {{"rpush", "l3"}}},
      {{"LTRIM", "l3", "5", "6"}, {{"ltrim", "l3"}, {"del", "l3"}}},
      {{"GETSET", "gs", "v"}, {{"set", "gs"}}},
      {{"SET", "gs", "w", "GET"}, {{"set", "gs"}}},
      {{"MSETNX", "x1", "1", "x2", "2"}, {{"set", "x1"}, {"set", "x2"}}},
      {{"HSETNX", "h", "a", "1"}, {{"hset", "h"}}},
      {{"HSETNX", "h", "a", "1"}, {}},
      {{"HMSET", "h", "b", "1"}, {{"hset", "h"}}},
      {{"HINCRBYFLOAT", "h", "c", "1.5"}, {{"hincrbyfloat", "h"}}},
      {{"LPUSHX", "nol", "a"}, {}},
      {{"RPUSH", "L", "a", "b", "c", "d"}, {{"rpush", "L"}}},
      {{"LSET", "L", "0", "x"}, {{"lset", "L"}}},
      {{"LINSERT", "L", "BEFORE", "x", "y"}, {{"linsert", "L"}}},
      {{"LREM", "L", "1", "y"}, {{"lrem", "L"}}},
      {{"RPOP", "L", "2"}, {{"rpop", "L"}}},
      {{"ZADD", "zz", "1", "a", "2", "b", "3", "c", "4", "d"}, {{"zadd", "zz"}}},
      {{"ZREM", "zz", "a"}, {{"zrem", "zz"}}},
      {{"ZPOPMIN", "zz"}, {{"zpopmin", "zz"}}},
      {{"ZPOPMAX", "zz"}, {{"zpopmax", "zz"}}},
      {{"ZREMRANGEBYRANK", "zz", "0", "0"}, {{"zremrangebyrank", "zz"}, {"del", "zz"}}},
      {{"ZADD", "zz", "1", "a", "2", "b"}, {{"zadd", "zz"}}},
      {{"ZREMRANGEBYSCORE", "zz", "1", "1"}, {{"zremrangebyscore", "zz"}}},
      {{"SADD", "sa", "a", "b"}, {{"sadd", "sa"}}},
      {{"SADD", "sb", "b"}, {{"sadd", "sb"}}},
      {{"SUNIONSTORE", "su", "sa", "sb"}, {{"sunionstore", "su"}}},
      {{"SDIFFSTORE", "sd", "sa", "sb"}, {{"sdiffstore", "sd"}}},
      {{"EXPIREAT", "sd", "1"}, {{"del", "sd"}}},
      {{"PEXPIRE", "su", "100000"}, {{"expire", "su"}}},
      {{"RENAMENX", "su", "sa"}, {}},
      {{"RENAMENX", "su", "sq"}, {{"rename_from", "su"}, {"rename_to", "sq"}}},
      {{"UNLINK", "sq"}, {{"del", "sq"}}},
      {{"PSETEX", "ps", "1000", "v"}, {{"set", "ps"}, {"expire", "ps"}}},
      {{"SET", "pk", "v", "KEEPTTL"}, {{"set", "pk"}}},
      {{"SET", "px", "v", "PX", "1000"}, {{"set", "px"}, {"expire", "px"}}},
      {{"SET", "gx", "v", "GET", "EX", "100"}, {{"set", "gx"}, {"expire", "gx"}}},
      {{"BLPOP", "L", "1"}, {{"lpop", "L"}}},
      {{"LPUSH", "bl", "a"}, {{"lpush", "bl"}}},
      {{"BRPOP", "bl", "1"}, {{"rpop", "bl"}, {"del", "bl"}}},
  };
  for (const Case& c : cases) {
    std::string reply = On(c_, c.command);
    EXPECT_EQ(Received(), c.events) << c.command[0] << " " << c.command[1] << " -> " << reply;
  }
}

// Streams: the events redis-server 7.0.15 raised for the same commands,
// including those that depend on what the command did (XADD's trim,
// consumers created by XREADGROUP, XCLAIM and XAUTOCLAIM).
TEST_F(KeyspaceNotifyTest, StreamEventsMatchRedis) {
  ASSERT_EQ(On(c_, {"CONFIG", "SET", "notify-keyspace-events", "KEA"}), "+OK\r\n");
  On(sub_, {"PSUBSCRIBE", "__keyevent@0__:*"});
  const std::vector<std::pair<std::vector<std::string>, Events>> cases = {
      {{"XADD", "x", "1-1", "f", "v"}, {{"xadd", "x"}}},
      {{"XADD", "x", "MAXLEN", "1", "1-2", "f", "v"}, {{"xadd", "x"}, {"xtrim", "x"}}},
      {{"XADD", "x", "MAXLEN", "1", "1-3", "f", "v"}, {{"xadd", "x"}, {"xtrim", "x"}}},
      {{"XADD", "x", "1-1", "f", "v"}, {}},  // refused
      {{"XADD", "nox", "NOMKSTREAM", "*", "f", "v"}, {}},
      {{"XDEL", "x", "9-9"}, {}},
      {{"XDEL", "x", "1-2"}, {}},
      {{"XADD", "x", "1-4", "f", "v"}, {{"xadd", "x"}}},
      {{"XDEL", "x", "1-3"}, {{"xdel", "x"}}},
      {{"XTRIM", "x", "MAXLEN", "5"}, {}},
      {{"XTRIM", "x", "MAXLEN", "0"}, {{"xtrim", "x"}}},
      {{"XADD", "x", "2-1", "f", "v"}, {{"xadd", "x"}}},
      {{"XGROUP", "CREATE", "x", "g", "0"}, {{"xgroup-create", "x"}}},
      {{"XGROUP", "CREATE", "y", "g", "$", "MKSTREAM"}, {{"xgroup-create", "y"}}},
      {{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"}, {{"xgroup-createconsumer", "x"}}},
      {{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"}, {}},
      {{"XGROUP", "CREATECONSUMER", "x", "g", "c2"}, {{"xgroup-createconsumer", "x"}}},
      {{"XGROUP", "CREATECONSUMER", "x", "g", "c2"}, {}},
      {{"XGROUP", "SETID", "x", "g", "0"}, {{"xgroup-setid", "x"}}},
      {{"XGROUP", "DELCONSUMER", "x", "g", "c2"}, {{"xgroup-delconsumer", "x"}}},
      {{"XGROUP", "DELCONSUMER", "x", "g", "c2"}, {}},
      {{"XCLAIM", "x", "g", "c3", "0", "2-1"}, {{"xgroup-createconsumer", "x"}}},
      {{"XAUTOCLAIM", "x", "g", "c4", "0", "0"}, {{"xgroup-createconsumer", "x"}}},
      {{"XACK", "x", "g", "2-1"}, {}},
      {{"XSETID", "x", "5-0"}, {{"xsetid", "x"}}},
      {{"XGROUP", "DESTROY", "x", "g"}, {{"xgroup-destroy", "x"}}},
      {{"XGROUP", "DESTROY", "x", "g"}, {}},
      {{"DEL", "x"}, {{"del", "x"}}},
  };
  for (const auto& [command, events] : cases) {
    std::string reply = On(c_, command);
    EXPECT_EQ(Received(), events) << command[0] << " " << command[1] << " -> " << reply;
  }
}

TEST_F(KeyspaceNotifyTest, KeyspaceChannelCarriesTheEventAndClassesFilter) {
  On(c_, {"CONFIG", "SET", "notify-keyspace-events", "Kl"});
  On(sub_, {"PSUBSCRIBE", "__key*__:*"});
  On(c_, {"SET", "s", "v"});     // a string event: not enabled
  On(c_, {"RPUSH", "l", "a"});   // a list event, on the keyspace channel only
  On(c_, {"DEL", "l"});          // generic: not enabled
  EXPECT_EQ(Received(), (Events{{"l", "rpush"}}));
  On(c_, {"SELECT", "3"});
  On(c_, {"CONFIG", "SET", "notify-keyspace-events", "E$"});
  On(c_, {"SET", "k", "v"});
  std::string out;
  ASSERT_TRUE(sub_.TakePushes(&out));
  EXPECT_NE(out.find("$18\r\n__keyevent@3__:set\r\n$1\r\nk\r\n"), std::string::npos) << out;
  // Nothing at all once turned off.
  On(c_, {"CONFIG", "SET", "notify-keyspace-events", ""});
  On(c_, {"SET", "k", "w"});
  EXPECT_EQ(Received(), Events{});
}

TEST_F(KeyspaceNotifyTest, InsideExecToo) {
  On(c_, {"CONFIG", "SET", "notify-keyspace-events", "E$"});
  On(sub_, {"PSUBSCRIBE", "*"});
  On(c_, {"MULTI"});
  On(c_, {"SET", "a", "1"});
  On(c_, {"INCR", "a"});
  EXPECT_EQ(Received(), Events{});
  On(c_, {"EXEC"});
  EXPECT_EQ(Received(), (Events{{"set", "a"}, {"incrby", "a"}}));
}

// The engine's own removals: an expired key read after its time, one the
// background crawl reclaims, and keys evicted for room.
TEST_F(KeyspaceNotifyTest, ExpiredAndEvictedEventsComeFromTheEngine) {
  On(c_, {"CONFIG", "SET", "notify-keyspace-events", "Exe"});
  On(sub_, {"PSUBSCRIBE", "__keyevent@0__:*"});
  On(c_, {"SET", "read", "v", "PX", "100"});
  On(c_, {"SET", "crawled", "v", "PX", "100"});
  On(c_, {"SET", "kept", "v", "PX", "100000"});
  t_.clock.Advance(200'000);
  EXPECT_EQ(On(c_, {"GET", "read"}), "$-1\r\n");
  EXPECT_EQ(Received(), (Events{{"expired", "read"}}));
  for (int i = 0; i < 100; i++) t_.core.Tick();
  EXPECT_EQ(Received(), (Events{{"expired", "crawled"}}));
  // 48 MiB of values into a 16 MiB engine.
  std::string value(100 * 1024, 'v');
  for (int i = 0; i < 480; i++) On(c_, {"SET", "big:" + std::to_string(i), value});
  Events got = Received();
  EXPECT_GT(got.size(), 300u);
  for (const auto& [event, key] : got) EXPECT_EQ(event, "evicted") << key;
  EXPECT_EQ(got.front().second, "big:0");
}

TEST_F(KeyspaceNotifyTest, FlagStringAsRedisShowsIt) {
  auto set_get = [&](const std::string& v) {
    std::string r = On(c_, {"CONFIG", "SET", "notify-keyspace-events", v});
    if (r != "+OK\r\n") return r;
    std::string g = On(c_, {"CONFIG", "GET", "notify-keyspace-events"});
    return g.substr(g.rfind("\r\n", g.size() - 3) + 2, g.size() - g.rfind("\r\n", g.size() - 3) - 4);
  };
  EXPECT_EQ(set_get("KEA"), "AKE");
  EXPECT_EQ(set_get("Kg$"), "g$K");
  EXPECT_EQ(set_get("KEAmn"), "AKEm");
  EXPECT_EQ(set_get("g$lshzxetdKE"), "AKE");
  EXPECT_EQ(set_get("g$lshzxetKE"), "g$lshzxetKE");
  EXPECT_EQ(set_get(""), "");
  EXPECT_EQ(set_get("Q"),
            "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class "
            "character. Use 'Ag$lshzxeKEtmdn'.\r\n");
}

}  // namespace
}  // namespace strata::cache::resp
