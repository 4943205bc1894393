// HSCAN, SSCAN and ZSCAN, in process. The replies of small containers and
// the errors are those redis-server 7.0.15 gave for the same commands; the
// cursor walk over large containers is checked for its guarantee (every
// element present during the whole scan comes back) rather than for Redis's
// hash order, which depends on its random seed.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

class ScanTest : public ::testing::Test {
 protected:
  ScanTest() : table_(BuildCommandTable()), h_(&t_.core, &table_, 1) {}
  std::string Run(const std::vector<std::string>& args) {
    std::string out;
    h_.Process(Cmd(args), &out);
    return out;
  }
  // One scan call: the next cursor and the flat items.
  struct Page {
    uint64_t cursor = 0;
    std::vector<std::string> items;
  };
  Page Scan(const std::vector<std::string>& args) {
    std::string r = Run(args);
    Page p;
    size_t pos = r.find("\r\n", 5) + 2;  // past "*2\r\n$N\r\n"
    size_t end = r.find("\r\n", pos);
    p.cursor = std::stoull(r.substr(pos, end - pos));
    pos = end + 2;
    end = r.find("\r\n", pos);
    size_t n = std::stoul(r.substr(pos + 1, end - pos - 1));
    pos = end + 2;
    for (size_t i = 0; i < n; i++) {
      end = r.find("\r\n", pos);
      size_t len = std::stoul(r.substr(pos + 1, end - pos - 1));
      p.items.push_back(r.substr(end + 2, len));
      pos = end + 2 + len + 2;
    }
    EXPECT_EQ(pos, r.size()) << r;
    return p;
  }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler h_;
};

std::string Bulks(const std::vector<std::string>& items) {
  std::string s = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& i : items) s += "$" + std::to_string(i.size()) + "\r\n" + i + "\r\n";
  return s;
}
std::string Done(const std::vector<std::string>& items) { return "*2\r\n$1\r\n0\r\n" + Bulks(items); }

TEST_F(ScanTest, SmallHashComesWholeWithCursorZero) {
  Run({"HSET", "h", "f1", "v1"});
  EXPECT_EQ(Run({"HSCAN", "h", "0", "MATCH", "f*", "COUNT", "5"}), Done({"f1", "v1"}));
  EXPECT_EQ(Run({"HSCAN", "h", "7", "COUNT", "100"}), Done({"f1", "v1"}));
  EXPECT_EQ(Run({"HSCAN", "h", "+5"}), Done({"f1", "v1"}));
  EXPECT_EQ(Run({"HSCAN", "h", "-1"}), Done({"f1", "v1"}));
  EXPECT_EQ(Run({"HSCAN", "h", "0", "MATCH", "nomatch"}), Done({}));
  EXPECT_EQ(Run({"HSCAN", "h", "0", "MATCH", "f1", "MATCH", "x"}), Done({}));
  Run({"HSET", "h", "f2", "v2", "g", "w"});
  EXPECT_EQ(Run({"HSCAN", "h", "0", "MATCH", "g"}), Done({"g", "w"}));
  EXPECT_EQ(Scan({"HSCAN", "h", "0", "COUNT", "1"}).items.size(), 6u);
}

TEST_F(ScanTest, ErrorsAsRedis) {
  Run({"HSET", "h", "f1", "v1"});
  Run({"SET", "s", "x"});
  EXPECT_EQ(Run({"HSCAN", "h", "abc"}), "-ERR invalid cursor\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "18446744073709551616"}), "-ERR invalid cursor\r\n");
  EXPECT_EQ(Run({"ZSCAN", "nokey", "abc"}), "-ERR invalid cursor\r\n");
  EXPECT_EQ(Run({"HSCAN", "nokey", "0", "BADOPT"}), Done({}));  // no key: options are not read
  EXPECT_EQ(Run({"SSCAN", "nokey", "0"}), Done({}));
  EXPECT_EQ(Run({"HSCAN", "s", "0", "BADOPT"}), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(Run({"ZSCAN", "h", "0"}), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "0", "BADOPT"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "0", "COUNT"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "0", "MATCH"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "0", "COUNT", "0"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "0", "COUNT", "-1"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "0", "COUNT", "x"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "0", "COUNT", "9223372036854775808"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "0", "TYPE", "hash"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"HSCAN", "h", "0", "NOVALUES"}), "-ERR syntax error\r\n");  // Redis 7.4
  EXPECT_EQ(Run({"HSCAN", "h"}), "-ERR wrong number of arguments for 'hscan' command\r\n");
}

TEST_F(ScanTest, IntsetInNumericOrderOtherSmallSetsWhole) {
  Run({"SADD", "st", "10", "-3", "5", "2"});
  EXPECT_EQ(Run({"SSCAN", "st", "0"}), Done({"-3", "2", "5", "10"}));
  EXPECT_EQ(Run({"SSCAN", "st", "0", "MATCH", "*0"}), Done({"10"}));
  Run({"SADD", "sx", "007"});  // not an integer for Redis: a hashtable
  Page p = Scan({"SSCAN", "sx", "0", "COUNT", "1"});
  EXPECT_EQ(p.items, std::vector<std::string>{"007"});
  EXPECT_EQ(p.cursor, 0u);  // Redis answers 1 and an empty page after it
}

TEST_F(ScanTest, SmallZSetInScoreOrderWithRedisScores) {
  Run({"ZADD", "z", "1.5", "a", "0.1", "b", "3", "c", "1e20", "d", "-inf", "e"});
  EXPECT_EQ(Run({"ZSCAN", "z", "0"}),
            Done({"e", "-inf", "b", "0.10000000000000001", "a", "1.5", "c", "3", "d", "1e+20"}));
  Run({"ZADD", "y", "2", "b", "1", "a", "2", "a2", "-0", "c"});
  EXPECT_EQ(Run({"ZSCAN", "y", "0"}), Done({"c", "0", "a", "1", "a2", "2", "b", "2"}));
  EXPECT_EQ(Run({"ZSCAN", "y", "0", "MATCH", "a*"}), Done({"a", "1", "a2", "2"}));
}

TEST_F(ScanTest, LargeZSetIteratesWithScoresAsRedis) {
  for (int i = 0; i < 200; i++) Run({"ZADD", "bz", std::to_string(i) + ".1", "m" + std::to_string(i)});
  EXPECT_EQ(Run({"OBJECT", "ENCODING", "bz"}), "$8\r\nskiplist\r\n");
  EXPECT_EQ(Run({"ZSCAN", "bz", "0", "MATCH", "m1", "COUNT", "1000"}), Done({"m1", "1.1000000000000001"}));
  std::map<std::string, std::string> seen;
  uint64_t cursor = 0;
  int calls = 0;
  do {
    Page p = Scan({"ZSCAN", "bz", std::to_string(cursor), "COUNT", "10"});
    for (size_t i = 0; i + 1 < p.items.size(); i += 2) seen[p.items[i]] = p.items[i + 1];
    cursor = p.cursor;
    calls++;
  } while (cursor != 0 && calls < 1000);
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(seen["m198"], "198.09999999999999");
  EXPECT_GE(calls, 12);
  EXPECT_LE(calls, 30);
}

// A hash past 512 fields (a hashtable in Redis) comes in pages of about
// COUNT; fields present from start to end all come back although the hash
// grows to several times its size and loses others between calls.
TEST_F(ScanTest, CursorMissesNoStableElementWhileTheHashGrowsAndShrinks) {
  for (int i = 0; i < 600; i++) Run({"HSET", "h", "stable" + std::to_string(i), "v"});
  EXPECT_EQ(Run({"OBJECT", "ENCODING", "h"}), "$9\r\nhashtable\r\n");
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0, added = 0;
  do {
    Page p = Scan({"HSCAN", "h", std::to_string(cursor), "COUNT", "10"});
    EXPECT_GE(p.items.size(), calls == 0 ? 20u : 0u);
    EXPECT_LE(p.items.size(), 80u);
    for (size_t i = 0; i < p.items.size(); i += 2) seen.insert(p.items[i]);
    cursor = p.cursor;
    calls++;
    // Grow by 30 fields per call, and drop the ones added two calls ago.
    for (int j = 0; j < 30; j++) Run({"HSET", "h", "new" + std::to_string(added++), "v"});
    if (added >= 90) {
      for (int j = added - 90; j < added - 60; j++) Run({"HDEL", "h", "new" + std::to_string(j)});
    }
  } while (cursor != 0 && calls < 10000);
  for (int i = 0; i < 600; i++) EXPECT_EQ(seen.count("stable" + std::to_string(i)), 1u) << i;
  EXPECT_LT(calls, 200);
}

TEST_F(ScanTest, SetCursorWalkWithMatch) {
  for (int i = 0; i < 1000; i++) Run({"SADD", "s", "m" + std::to_string(i)});
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0;
  do {
    Page p = Scan({"SSCAN", "s", std::to_string(cursor), "MATCH", "m1*", "COUNT", "50"});
    for (const auto& m : p.items) {
      EXPECT_EQ(m[1], '1') << m;
      seen.insert(m);
    }
    cursor = p.cursor;
    calls++;
    Run({"SREM", "s", "m" + std::to_string(999 - calls)});  // never one of m1*
  } while (cursor != 0 && calls < 1000);
  EXPECT_EQ(seen.size(), 111u);  // m1, m10..m19, m100..m199
  EXPECT_GE(calls, 15);
  EXPECT_LE(calls, 30);
}

TEST_F(ScanTest, ACopyScansOnItsOwn) {
  for (int i = 0; i < 300; i++) Run({"SADD", "s", "m" + std::to_string(i)});
  Scan({"SSCAN", "s", "0"});  // indexes the source
  EXPECT_EQ(Run({"COPY", "s", "c"}), ":1\r\n");
  Run({"DEL", "s"});
  std::set<std::string> seen;
  uint64_t cursor = 0;
  do {
    Page p = Scan({"SSCAN", "c", std::to_string(cursor), "COUNT", "100"});
    seen.insert(p.items.begin(), p.items.end());
    cursor = p.cursor;
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 300u);
}

}  // namespace
}  // namespace strata::cache::resp
