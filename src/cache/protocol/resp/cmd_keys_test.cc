// Key commands added for Redis compatibility, in process, against the
// replies of redis-server 7.0.15: COPY, OBJECT, MEMORY, WAIT.
#include <gtest/gtest.h>

#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

class KeysTest : public ::testing::Test {
 protected:
  KeysTest() : table_(BuildCommandTable()), h_(&t_.core, &table_, 1) {}
  std::string Run(const std::vector<std::string>& args) {
    std::string out;
    h_.Process(Cmd(args), &out);
    return out;
  }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler h_;
};

TEST_F(KeysTest, CopyWithDbAndReplace) {
  Run({"SET", "s", "abc", "EX", "100"});
  EXPECT_EQ(Run({"COPY", "s", "s2"}), ":1\r\n");
  EXPECT_EQ(Run({"GET", "s2"}), "$3\r\nabc\r\n");
  EXPECT_EQ(Run({"TTL", "s2"}), ":100\r\n");
  EXPECT_EQ(Run({"COPY", "s", "s2"}), ":0\r\n");
  Run({"SET", "s", "new"});
  EXPECT_EQ(Run({"COPY", "s", "s2", "REPLACE"}), ":1\r\n");
  EXPECT_EQ(Run({"GET", "s2"}), "$3\r\nnew\r\n");
  EXPECT_EQ(Run({"COPY", "s", "s"}), "-ERR source and destination objects are the same\r\n");
  EXPECT_EQ(Run({"COPY", "s", "s2", "DB", "99"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(Run({"COPY", "nokey", "d"}), ":0\r\n");
  EXPECT_EQ(Run({"COPY", "s", "s4", "foo"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"COPY", "s", "s", "DB", "1"}), ":1\r\n");
  Run({"SELECT", "1"});
  EXPECT_EQ(Run({"GET", "s"}), "$3\r\nnew\r\n");
}

TEST_F(KeysTest, CopyOfEveryTypeIsIndependent) {
  Run({"RPUSH", "l", "a", "b"});
  Run({"HSET", "h", "f", "v"});
  Run({"SADD", "st", "1", "2"});
  Run({"ZADD", "z", "1", "a"});
  Run({"XADD", "x", "1-1", "f", "v"});
  for (std::string k : {"l", "h", "st", "z", "x"}) EXPECT_EQ(Run({"COPY", k, k + "2"}), ":1\r\n") << k;
  Run({"RPUSH", "l2", "c"});
  EXPECT_EQ(Run({"LLEN", "l"}), ":2\r\n");
  EXPECT_EQ(Run({"LLEN", "l2"}), ":3\r\n");
  EXPECT_EQ(Run({"HGET", "h2", "f"}), "$1\r\nv\r\n");
  EXPECT_EQ(Run({"SCARD", "st2"}), ":2\r\n");
  EXPECT_EQ(Run({"ZSCORE", "z2", "a"}), "$1\r\n1\r\n");
  Run({"XADD", "x2", "2-1", "g", "w"});
  EXPECT_EQ(Run({"XLEN", "x"}), ":1\r\n");
  EXPECT_EQ(Run({"XLEN", "x2"}), ":2\r\n");
}

TEST_F(KeysTest, ObjectAndMemory) {
  Run({"SET", "s", "abc"});
  Run({"SET", "n", "123"});
  Run({"SET", "big", std::string(50, 'x')});
  Run({"RPUSH", "l", "a"});
  Run({"HSET", "h", "f", "v"});
  Run({"SADD", "st", "1", "2"});
  Run({"SADD", "sm", "a"});
  Run({"ZADD", "z", "1", "a"});
  Run({"XADD", "x", "*", "f", "v"});
  const std::vector<std::pair<std::string, std::string>> want = {
      {"s", "embstr"}, {"n", "int"},        {"big", "raw"}, {"l", "quicklist"}, {"h", "listpack"},
      {"st", "intset"}, {"sm", "hashtable"}, {"z", "listpack"}, {"x", "stream"}};
  for (const auto& [k, enc] : want) {
    EXPECT_EQ(Run({"OBJECT", "ENCODING", k}), "$" + std::to_string(enc.size()) + "\r\n" + enc + "\r\n") << k;
  }
  EXPECT_EQ(Run({"OBJECT", "ENCODING", "nokey"}), "$-1\r\n");
  EXPECT_EQ(Run({"OBJECT", "REFCOUNT", "s"}), ":1\r\n");
  EXPECT_EQ(Run({"OBJECT", "IDLETIME", "s"}), ":0\r\n");
  EXPECT_EQ(Run({"OBJECT", "FREQ", "s"}).substr(0, 45), "-ERR An LFU maxmemory policy is not selected,");
  EXPECT_EQ(Run({"OBJECT", "foo", "s"}), "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n");
  EXPECT_EQ(Run({"OBJECT", "ENCODING"}), "-ERR wrong number of arguments for 'object|encoding' command\r\n");
  const std::string help_head = "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n";
  EXPECT_EQ(Run({"OBJECT", "HELP"}).substr(0, help_head.size()), help_head);
  EXPECT_EQ(Run({"MEMORY", "USAGE", "nokey"}), "$-1\r\n");
  EXPECT_EQ(Run({"MEMORY", "USAGE", "s", "foo"}), "-ERR syntax error\r\n");
  std::string small = Run({"MEMORY", "USAGE", "s"});
  std::string large = Run({"MEMORY", "USAGE", "big", "SAMPLES", "5"});
  ASSERT_EQ(small[0], ':');
  ASSERT_EQ(large[0], ':');
  EXPECT_LT(std::stoll(small.substr(1)), std::stoll(large.substr(1)));
  EXPECT_EQ(Run({"MEMORY", "HELP"}).substr(0, 5), "*6\r\n+");
}

TEST_F(KeysTest, WaitAnswersNoReplicasAtOnce) {
  EXPECT_EQ(Run({"WAIT", "0", "0"}), ":0\r\n");
  EXPECT_EQ(Run({"WAIT", "1", "10"}), ":0\r\n");
  EXPECT_EQ(Run({"WAIT"}), "-ERR wrong number of arguments for 'wait' command\r\n");
}

// The replies as redis-cli prints them (space-separated, nil as "").
class SortTest : public KeysTest {
 protected:
  std::string Flat(const std::vector<std::string>& args) {
    std::string r = Run(args), out;
    if (r[0] != '*') return r.substr(0, r.size() - 2);
    size_t at = r.find("\r\n") + 2;
    while (at < r.size()) {
      size_t eol = r.find("\r\n", at);
      std::string head = r.substr(at, eol - at);
      at = eol + 2;
      if (head == "$-1") {
        out += " ";
        continue;
      }
      size_t len = std::stoul(head.substr(1));
      out += r.substr(at, len) + " ";
      at += len + 2;
    }
    return out;
  }
};

// Each expectation is redis-server 7.0.15's reply to the same session.
TEST_F(SortTest, SortsAsRedis) {
  Run({"RPUSH", "l", "3", "1", "2", "10"});
  Run({"SET", "w_3", "1"});
  Run({"SET", "w_1", "30"});
  Run({"SET", "w_2", "20"});
  Run({"HSET", "o_1", "n", "one"});
  Run({"HSET", "o_2", "n", "two"});
  Run({"SET", "v_10", "ten"});
  Run({"SADD", "s", "b", "a", "c"});
  Run({"ZADD", "z", "3", "x", "1", "y", "2", "zz"});
  Run({"RPUSH", "bad", "1", "a"});
  EXPECT_EQ(Flat({"SORT", "l"}), "1 2 3 10 ");
  EXPECT_EQ(Flat({"SORT", "l", "DESC"}), "10 3 2 1 ");
  EXPECT_EQ(Flat({"SORT", "l", "ALPHA"}), "1 10 2 3 ");
  EXPECT_EQ(Flat({"SORT", "l", "LIMIT", "1", "2"}), "2 3 ");
  EXPECT_EQ(Flat({"SORT", "l", "BY", "w_*"}), "10 3 2 1 ");
  EXPECT_EQ(Flat({"SORT", "l", "BY", "w_*", "DESC"}), "1 2 3 10 ");
  EXPECT_EQ(Flat({"SORT", "l", "BY", "nosort"}), "3 1 2 10 ");
  EXPECT_EQ(Flat({"SORT", "l", "GET", "#", "GET", "o_*->n", "GET", "v_*"}), "1 one  2 two  3   10  ten ");
  EXPECT_EQ(Flat({"SORT", "l", "BY", "w_*", "GET", "o_*->n", "LIMIT", "0", "2"}), "  ");
  EXPECT_EQ(Flat({"SORT", "s", "ALPHA"}), "a b c ");
  EXPECT_EQ(Flat({"SORT", "z", "BY", "nosort"}), "y zz x ");
  EXPECT_EQ(Flat({"SORT", "z"}), "-ERR One or more scores can't be converted into double");
  EXPECT_EQ(Flat({"SORT", "bad"}), "-ERR One or more scores can't be converted into double");
  EXPECT_EQ(Flat({"SORT", "bad", "ALPHA"}), "1 a ");
  EXPECT_EQ(Flat({"SORT", "l", "BY", "o_*->n", "ALPHA"}), "3 10 1 2 ");
  EXPECT_EQ(Flat({"SORT", "l", "STORE", "dst"}), ":4");
  EXPECT_EQ(Flat({"LRANGE", "dst", "0", "-1"}), "1 2 3 10 ");
  EXPECT_EQ(Flat({"SORT", "nokey", "STORE", "dst"}), ":0");
  EXPECT_EQ(Flat({"EXISTS", "dst"}), ":0");
  EXPECT_EQ(Flat({"SORT_RO", "l", "STORE", "x"}), "-ERR syntax error");
  EXPECT_EQ(Flat({"SORT_RO", "l", "DESC"}), "10 3 2 1 ");
  EXPECT_EQ(Flat({"SORT", "l", "LIMIT", "-1", "2"}), "1 2 ");
  EXPECT_EQ(Flat({"SORT", "l", "LIMIT", "1", "-1"}), "2 3 10 ");
  EXPECT_EQ(Flat({"SORT", "s"}), "-ERR One or more scores can't be converted into double");
  EXPECT_EQ(Flat({"SORT", "w_1"}).substr(0, 10), "-WRONGTYPE");
}

}  // namespace
}  // namespace strata::cache::resp
