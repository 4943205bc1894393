// Stream commands, in process, against the replies redis-server 7 gives for
// the same commands (errors included): ids, ranges, trimming, XREAD with and
// without BLOCK, consumer groups (XREADGROUP, XACK, XPENDING, XCLAIM,
// XAUTOCLAIM, XINFO), XSETID, and a stream on the persist engine reopened.
// Time is the TestCore's ManualClock: 1700000000000 ms until a test moves it.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>

#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

std::string B(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
std::string A(size_t n) { return "*" + std::to_string(n) + "\r\n"; }
std::string I(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
// One entry as XRANGE replies it: [id, [field, value, ...]].
std::string E(std::string_view id, std::vector<std::string> fv) {
  std::string s = A(2) + B(id) + A(fv.size());
  for (const auto& f : fv) s += B(f);
  return s;
}

constexpr const char* kWrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
constexpr const char* kBadId = "-ERR Invalid stream ID specified as stream command argument\r\n";
constexpr const char* kSmaller =
    "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n";

std::string On(RespHandler& h, const std::vector<std::string>& args) {
  std::string out;
  h.Process(Cmd(args), &out);
  return out;
}

class StreamTest : public ::testing::Test {
 protected:
  StreamTest() : table_(BuildCommandTable()), h_(&t_.core, &table_, 1) {}
  std::string Run(const std::vector<std::string>& args) { return On(h_, args); }
  void AddFive() {
    for (int i = 1; i <= 5; i++) Run({"XADD", "s", "1-" + std::to_string(i), "f", std::to_string(i)});
  }
  void AdvanceMs(uint64_t ms) { t_.clock.Advance(ms * 1000); }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler h_;
};

TEST_F(StreamTest, XAddTakesIdsFromTheClockOrTheCommand) {
  EXPECT_EQ(Run({"XADD", "s", "*", "a", "1"}), B("1700000000000-0"));
  EXPECT_EQ(Run({"XADD", "s", "*", "a", "2"}), B("1700000000000-1"));
  EXPECT_EQ(Run({"XADD", "s", "1700000000000-*", "a", "3"}), B("1700000000000-2"));
  EXPECT_EQ(Run({"XADD", "s", "1800000000000-*", "a", "4"}), B("1800000000000-0"));
  EXPECT_EQ(Run({"XADD", "s", "5-*", "a", "5"}), kSmaller);
  EXPECT_EQ(Run({"XADD", "s", "1800000000000-0", "a", "5"}), kSmaller);
  EXPECT_EQ(Run({"XADD", "s", "1800000000000", "a", "5"}), kSmaller);  // a missing seq is 0
  EXPECT_EQ(Run({"XADD", "s", "*", "a", "6"}), B("1800000000000-1"));  // the clock is behind the top: seq+1
  EXPECT_EQ(Run({"XLEN", "s"}), I(5));
  EXPECT_EQ(Run({"TYPE", "s"}), "+stream\r\n");
  EXPECT_EQ(Run({"XADD", "n", "0-0", "a", "1"}), "-ERR The ID specified in XADD must be greater than 0-0\r\n");
  EXPECT_EQ(Run({"XADD", "n", "0-1", "a", "1"}), B("0-1"));
  EXPECT_EQ(Run({"XADD", "n", "1-x", "a", "1"}), kBadId);
  EXPECT_EQ(Run({"XADD", "n", "-", "a", "1"}), kBadId);
  EXPECT_EQ(Run({"XADD", "n", "*", "a"}), "-ERR wrong number of arguments for 'xadd' command\r\n");
  EXPECT_EQ(Run({"XADD", "n", "*"}), "-ERR wrong number of arguments for 'xadd' command\r\n");
  EXPECT_EQ(Run({"XADD", "m", "NOMKSTREAM", "*", "a", "1"}), "$-1\r\n");
  EXPECT_EQ(Run({"EXISTS", "m"}), I(0));
  EXPECT_EQ(Run({"XADD", "x", "18446744073709551615-18446744073709551615", "a", "1"}),
            B("18446744073709551615-18446744073709551615"));
  EXPECT_EQ(Run({"XADD", "x", "*", "a", "1"}),
            "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n");
  EXPECT_EQ(Run({"XLEN", "nosuch"}), I(0));
}

TEST_F(StreamTest, XRangeAndXRevRangeWithExclusiveBoundsAndCount) {
  AddFive();
  EXPECT_EQ(Run({"XRANGE", "s", "-", "+", "COUNT", "2"}), A(2) + E("1-1", {"f", "1"}) + E("1-2", {"f", "2"}));
  EXPECT_EQ(Run({"XRANGE", "s", "(1-1", "1-3"}), A(2) + E("1-2", {"f", "2"}) + E("1-3", {"f", "3"}));
  EXPECT_EQ(Run({"XRANGE", "s", "1-4", "(1-5"}), A(1) + E("1-4", {"f", "4"}));
  EXPECT_EQ(Run({"XRANGE", "s", "1", "1"}).substr(0, 4), A(5));  // ms only: the whole millisecond
  EXPECT_EQ(Run({"XREVRANGE", "s", "+", "-", "COUNT", "2"}), A(2) + E("1-5", {"f", "5"}) + E("1-4", {"f", "4"}));
  EXPECT_EQ(Run({"XREVRANGE", "s", "(1-3", "-"}), A(2) + E("1-2", {"f", "2"}) + E("1-1", {"f", "1"}));
  EXPECT_EQ(Run({"XRANGE", "s", "1-3", "1-2"}), A(0));
  EXPECT_EQ(Run({"XRANGE", "s", "-", "+", "COUNT", "0"}), "*-1\r\n");
  EXPECT_EQ(Run({"XRANGE", "nosuch", "-", "+"}), A(0));
  EXPECT_EQ(Run({"XRANGE", "s", "(-", "+"}), kBadId);
  EXPECT_EQ(Run({"XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"}),
            "-ERR invalid start ID for the interval\r\n");
  EXPECT_EQ(Run({"XRANGE", "s", "-", "(0-0"}), "-ERR invalid end ID for the interval\r\n");
  EXPECT_EQ(Run({"XRANGE", "s", "-", "+", "LIMIT", "1"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"XRANGE", "s", "-", "+", "COUNT", "x"}), "-ERR value is not an integer or out of range\r\n");
}

TEST_F(StreamTest, XDelAndTrimmingKeepAnEmptyStream) {
  AddFive();
  EXPECT_EQ(Run({"XDEL", "s", "1-2", "1-9", "1-2"}), I(1));
  EXPECT_EQ(Run({"XDEL", "s", "bad"}), kBadId);
  EXPECT_EQ(Run({"XDEL", "nosuch", "1-1"}), I(0));
  EXPECT_EQ(Run({"XTRIM", "s", "MAXLEN", "~", "2"}), I(0));  // less than a node: nothing, as in Redis
  EXPECT_EQ(Run({"XTRIM", "s", "MAXLEN", "=", "3"}), I(1));
  EXPECT_EQ(Run({"XRANGE", "s", "-", "+"}).substr(0, 4), A(3));
  EXPECT_EQ(Run({"XTRIM", "s", "MINID", "1-5"}), I(2));
  EXPECT_EQ(Run({"XADD", "s", "MAXLEN", "1", "2-1", "f", "v"}), B("2-1"));
  EXPECT_EQ(Run({"XRANGE", "s", "-", "+"}), A(1) + E("2-1", {"f", "v"}));
  EXPECT_EQ(Run({"XTRIM", "s", "MAXLEN", "0"}), I(1));
  EXPECT_EQ(Run({"XLEN", "s"}), I(0));
  EXPECT_EQ(Run({"EXISTS", "s"}), I(1));
  EXPECT_EQ(Run({"TYPE", "s"}), "+stream\r\n");
  EXPECT_EQ(Run({"XADD", "s", "2-1", "f", "v"}), kSmaller);  // the last id stays
  EXPECT_EQ(Run({"XTRIM", "s", "MAXLEN", "1", "LIMIT", "10"}),
            "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n");
  EXPECT_EQ(Run({"XTRIM", "s", "MAXLEN", "-1"}), "-ERR The MAXLEN argument must be >= 0.\r\n");
  EXPECT_EQ(Run({"XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1"}), "-ERR The LIMIT argument must be >= 0.\r\n");
  EXPECT_EQ(Run({"XTRIM", "s", "MAXLEN", "1", "MINID", "0"}),
            "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n");
  EXPECT_EQ(Run({"XTRIM", "s", "LIMIT", "1"}),
            "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy\r\n");
  EXPECT_EQ(Run({"XTRIM", "s", "FOO", "1"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"XTRIM", "s", "MINID", "x"}), kBadId);
}

TEST_F(StreamTest, ApproximateTrimRemovesWholeNodesUpToTheLimit) {
  std::vector<std::string> add = {"XADD", "big", "*", "f", "v"};
  for (int i = 0; i < 350; i++) Run(add);
  EXPECT_EQ(Run({"XTRIM", "big", "MAXLEN", "~", "10"}), I(300));
  EXPECT_EQ(Run({"XLEN", "big"}), I(50));
  for (int i = 0; i < 300; i++) Run(add);
  EXPECT_EQ(Run({"XTRIM", "big", "MAXLEN", "~", "0", "LIMIT", "150"}), I(100));
  EXPECT_EQ(Run({"XLEN", "big"}), I(250));
}

TEST_F(StreamTest, XReadReturnsEntriesAfterTheIdsOfSeveralStreams) {
  AddFive();
  Run({"XADD", "t", "3-1", "g", "h"});
  EXPECT_EQ(Run({"XREAD", "COUNT", "1", "STREAMS", "s", "t", "1-3", "0"}),
            A(2) + A(2) + B("s") + A(1) + E("1-4", {"f", "4"}) + A(2) + B("t") + A(1) + E("3-1", {"g", "h"}));
  EXPECT_EQ(Run({"XREAD", "STREAMS", "s", "t", "1-5", "$"}), "*-1\r\n");
  EXPECT_EQ(Run({"XREAD", "STREAMS", "nosuch", "0"}), "*-1\r\n");
  EXPECT_EQ(Run({"XREAD", "STREAMS", "s", "t", "0"}),
            "-ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.\r\n");
  EXPECT_EQ(Run({"XREAD", "STREAMS", "s", ">"}),
            "-ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> "
            "option.\r\n");
  EXPECT_EQ(Run({"XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"}),
            "-ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.\r\n");
  EXPECT_EQ(Run({"XREAD", "NOACK", "STREAMS", "s", "0"}),
            "-ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.\r\n");
  EXPECT_EQ(Run({"XREAD", "COUNT", "1", "s", "0"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"XREAD", "BLOCK", "-1", "STREAMS", "s", "0"}), "-ERR timeout is negative\r\n");
  EXPECT_EQ(Run({"XREAD", "BLOCK", "x", "STREAMS", "s", "0"}), "-ERR timeout is not an integer or out of range\r\n");
  Run({"LPUSH", "l", "x"});
  EXPECT_EQ(Run({"XREAD", "STREAMS", "l", "0"}), kWrong);
  // RESP3: a map of stream name to entries.
  Run({"HELLO", "3"});
  EXPECT_EQ(Run({"XREAD", "STREAMS", "t", "0"}), "%1\r\n" + B("t") + A(1) + E("3-1", {"g", "h"}));
}

// XREAD BLOCK with "$" waits for entries after the top it saw when it
// blocked, is woken by an XADD from another connection, and times out by
// the clock.
TEST_F(StreamTest, XReadBlockIsWokenByXAddAndTimesOut) {
  RespHandler other(&t_.core, &table_, 2);
  Run({"XADD", "s", "1-1", "f", "old"});
  std::string out;
  std::string req = Cmd({"XREAD", "BLOCK", "0", "STREAMS", "s", "$"});
  ProcessOutcome o = h_.Process(req, &out);
  EXPECT_TRUE(o.blocked);
  EXPECT_EQ(out, "");
  EXPECT_EQ(On(other, {"XADD", "s", "1-2", "f", "new"}), B("1-2"));
  o = h_.Process(req, &out);
  EXPECT_FALSE(o.blocked);
  EXPECT_EQ(out, A(1) + A(2) + B("s") + A(1) + E("1-2", {"f", "new"}));

  std::string timed = Cmd({"XREAD", "BLOCK", "100", "STREAMS", "s", "nosuch", "$", "$"});
  out.clear();
  EXPECT_TRUE(h_.Process(timed, &out).blocked);
  AdvanceMs(50);
  EXPECT_TRUE(h_.Process(timed, &out).blocked);
  AdvanceMs(60);
  EXPECT_FALSE(h_.Process(timed, &out).blocked);
  EXPECT_EQ(out, "*-1\r\n");
  // Woken without COUNT, a read returns at most 1000 entries, as Redis.
  std::string many = Cmd({"XREAD", "BLOCK", "0", "STREAMS", "m", "$"});
  out.clear();
  EXPECT_TRUE(h_.Process(many, &out).blocked);
  for (int i = 1; i <= 1500; i++) On(other, {"XADD", "m", "1-" + std::to_string(i), "f", "v"});
  EXPECT_FALSE(h_.Process(many, &out).blocked);
  EXPECT_TRUE(out.starts_with(A(1) + A(2) + B("m") + A(1000))) << out.substr(0, 40);
  // Inside MULTI a BLOCK that would wait answers null at once.
  Run({"MULTI"});
  Run({"XREAD", "BLOCK", "0", "STREAMS", "s", "$"});
  EXPECT_EQ(Run({"EXEC"}), A(1) + "*-1\r\n");
}

TEST_F(StreamTest, ConsumerGroupDeliversAcksAndKeepsPendingEntries) {
  EXPECT_EQ(Run({"XGROUP", "CREATE", "s", "g", "$"}),
            "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the "
            "MKSTREAM option to create an empty stream automatically.\r\n");
  EXPECT_EQ(Run({"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}), "+OK\r\n");
  EXPECT_EQ(Run({"XGROUP", "CREATE", "s", "g", "0"}), "-BUSYGROUP Consumer Group name already exists\r\n");
  AddFive();
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"}),
            A(1) + A(2) + B("s") + A(2) + E("1-1", {"f", "1"}) + E("1-2", {"f", "2"}));
  AdvanceMs(10);
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">"}),
            A(1) + A(2) + B("s") + A(1) + E("1-3", {"f", "3"}));
  EXPECT_EQ(Run({"XPENDING", "s", "g"}), A(4) + I(3) + B("1-1") + B("1-3") + A(2) + A(2) + B("alice") + B("2") +
                                             A(2) + B("bob") + B("1"));
  EXPECT_EQ(Run({"XACK", "s", "g", "1-1", "1-9"}), I(1));
  EXPECT_EQ(Run({"XACK", "s", "g", "1-1"}), I(0));
  EXPECT_EQ(Run({"XACK", "s", "g", "bad"}), kBadId);
  EXPECT_EQ(Run({"XACK", "s", "nogroup", "1-1"}), I(0));
  // Extended form: id, owner, idle ms, deliveries; IDLE filters, a consumer narrows.
  EXPECT_EQ(Run({"XPENDING", "s", "g", "-", "+", "10"}),
            A(2) + A(4) + B("1-2") + B("alice") + I(10) + I(1) + A(4) + B("1-3") + B("bob") + I(0) + I(1));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "IDLE", "5", "-", "+", "10"}),
            A(1) + A(4) + B("1-2") + B("alice") + I(10) + I(1));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "-", "+", "10", "bob"}), A(1) + A(4) + B("1-3") + B("bob") + I(0) + I(1));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "-", "+", "10", "nobody"}), A(0));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "(1-2", "+", "10"}).substr(0, 4), A(1));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "-", "+"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"XPENDING", "s", "g", "IDLE", "5", "-", "+"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"XPENDING", "s", "nogroup"}), "-NOGROUP No such key 's' or consumer group 'nogroup'\r\n");
  // History: a consumer's own pending entries, each read counted.
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"}),
            A(1) + A(2) + B("s") + A(1) + E("1-2", {"f", "2"}));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "1-2", "1-2", "1"}), A(1) + A(4) + B("1-2") + B("alice") + I(0) + I(2));
  // A deleted entry still pending shows as [id, nil].
  Run({"XDEL", "s", "1-2"});
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"}),
            A(1) + A(2) + B("s") + A(1) + A(2) + B("1-2") + "*-1\r\n");
  // NOACK delivers without pending entries.
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "carol", "NOACK", "STREAMS", "s", ">"}),
            A(1) + A(2) + B("s") + A(2) + E("1-4", {"f", "4"}) + E("1-5", {"f", "5"}));
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">"}), "*-1\r\n");
  EXPECT_EQ(Run({"XPENDING", "s", "g"}).substr(0, 8), A(4) + I(2));
}

TEST_F(StreamTest, XReadGroupErrors) {
  AddFive();
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}),
            "-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option\r\n");
  Run({"XGROUP", "CREATE", "s", "g", "0"});
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"}),
            "-ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this "
            "consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an "
            "empty result set.\r\n");
  EXPECT_EQ(Run({"XREADGROUP", "COUNT", "1", "NOACK", "STREAMS", "s", ">"}),
            "-ERR Missing GROUP option for XREADGROUP\r\n");
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "t", ">"}),
            "-ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.\r\n");
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "x"}), kBadId);
  Run({"SET", "str", "v"});
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"}), kWrong);
}

TEST_F(StreamTest, XClaimMovesIdlePendingEntries) {
  AddFive();
  Run({"XGROUP", "CREATE", "s", "g", "0"});
  Run({"XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">"});
  AdvanceMs(100);
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "200", "1-1"}), A(0));  // not idle long enough
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "50", "1-1", "1-4"}), A(1) + E("1-1", {"f", "1"}));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "1-1", "1-1", "1"}), A(1) + A(4) + B("1-1") + B("bob") + I(0) + I(2));
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "0", "1-2", "JUSTID", "IDLE", "30", "RETRYCOUNT", "7"}), A(1) + B("1-2"));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "1-2", "1-2", "1"}), A(1) + A(4) + B("1-2") + B("bob") + I(30) + I(7));
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "0", "1-5", "FORCE", "JUSTID"}), A(1) + B("1-5"));
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "0", "1-3", "TIME", "1699999999000", "JUSTID"}), A(1) + B("1-3"));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "1-3", "1-3", "1"}), A(1) + A(4) + B("1-3") + B("bob") + I(1100) + I(1));
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "x", "1-1"}), "-ERR Invalid min-idle-time argument for XCLAIM\r\n");
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "0", "1-1", "IDLE", "x"}),
            "-ERR Invalid IDLE option argument for XCLAIM\r\n");
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "0", "1-1", "TIME", "x"}),
            "-ERR Invalid TIME option argument for XCLAIM\r\n");
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "0", "1-1", "RETRYCOUNT", "x"}),
            "-ERR Invalid RETRYCOUNT option argument for XCLAIM\r\n");
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "bob", "0", "1-1", "BOGUS"}), "-ERR Unrecognized XCLAIM option 'BOGUS'\r\n");
  EXPECT_EQ(Run({"XCLAIM", "s", "nog", "bob", "0", "1-1"}), "-NOGROUP No such key 's' or consumer group 'nog'\r\n");
  // An entry deleted from the stream is dropped from the PEL, not claimed.
  Run({"XDEL", "s", "1-1"});
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "alice", "0", "1-1"}), A(0));
  EXPECT_EQ(Run({"XPENDING", "s", "g", "1-1", "1-1", "1"}), A(0));
}

TEST_F(StreamTest, XAutoClaimScansThePelWithACursor) {
  AddFive();
  Run({"XGROUP", "CREATE", "s", "g", "0"});
  Run({"XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"});
  AdvanceMs(100);
  EXPECT_EQ(Run({"XAUTOCLAIM", "s", "g", "bob", "50", "0", "COUNT", "2"}),
            A(3) + B("1-3") + A(2) + E("1-1", {"f", "1"}) + E("1-2", {"f", "2"}) + A(0));
  Run({"XDEL", "s", "1-4"});
  EXPECT_EQ(Run({"XAUTOCLAIM", "s", "g", "bob", "50", "1-3", "JUSTID"}),
            A(3) + B("0-0") + A(2) + B("1-3") + B("1-5") + A(1) + B("1-4"));
  EXPECT_EQ(Run({"XAUTOCLAIM", "s", "g", "carol", "50", "0"}), A(3) + B("0-0") + A(0) + A(0));  // all were just claimed
  EXPECT_EQ(Run({"XPENDING", "s", "g"}), A(4) + I(4) + B("1-1") + B("1-5") + A(1) + A(2) + B("bob") + B("4"));
  EXPECT_EQ(Run({"XAUTOCLAIM", "s", "g", "bob", "x", "0"}), "-ERR Invalid min-idle-time argument for XAUTOCLAIM\r\n");
  EXPECT_EQ(Run({"XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "0"}), "-ERR COUNT must be > 0\r\n");
  EXPECT_EQ(Run({"XAUTOCLAIM", "s", "g", "bob", "0", "0", "FOO"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"XAUTOCLAIM", "s", "nog", "bob", "0", "0"}), "-NOGROUP No such key 's' or consumer group 'nog'\r\n");
}

TEST_F(StreamTest, XGroupSubcommands) {
  AddFive();
  EXPECT_EQ(Run({"XGROUP", "CREATE", "s", "g", "1-2", "ENTRIESREAD", "2"}), "+OK\r\n");
  EXPECT_EQ(Run({"XGROUP", "CREATECONSUMER", "s", "g", "c1"}), I(1));
  EXPECT_EQ(Run({"XGROUP", "CREATECONSUMER", "s", "g", "c1"}), I(0));
  EXPECT_TRUE(Run({"XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"}).starts_with(A(1) + A(2) + B("s") + A(3)));
  EXPECT_EQ(Run({"XGROUP", "DELCONSUMER", "s", "g", "c1"}), I(3));
  EXPECT_EQ(Run({"XGROUP", "DELCONSUMER", "s", "g", "c1"}), I(0));
  EXPECT_EQ(Run({"XPENDING", "s", "g"}), A(4) + I(0) + "$-1\r\n$-1\r\n*-1\r\n");
  EXPECT_EQ(Run({"XGROUP", "SETID", "s", "g", "0"}), "+OK\r\n");
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "s", ">"}),
            A(1) + A(2) + B("s") + A(1) + E("1-1", {"f", "1"}));
  EXPECT_EQ(Run({"XGROUP", "SETID", "s", "nog", "0"}), "-NOGROUP No such consumer group 'nog' for key name 's'\r\n");
  EXPECT_EQ(Run({"XGROUP", "CREATECONSUMER", "s", "nog", "c"}),
            "-NOGROUP No such consumer group 'nog' for key name 's'\r\n");
  EXPECT_EQ(Run({"XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "-2"}),
            "-ERR value for ENTRIESREAD must be positive or -1\r\n");
  EXPECT_EQ(Run({"XGROUP", "CREATE", "s", "g2", "bad"}), kBadId);
  EXPECT_EQ(Run({"XGROUP", "CREATE", "s", "g2", "$", "FOO"}),
            "-ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.\r\n");
  EXPECT_EQ(Run({"XGROUP", "CREATE", "s"}), "-ERR wrong number of arguments for 'xgroup|create' command\r\n");
  EXPECT_EQ(Run({"XGROUP", "FOO", "s"}), "-ERR unknown subcommand 'FOO'. Try XGROUP HELP.\r\n");
  EXPECT_EQ(Run({"XGROUP", "DESTROY", "s", "g"}), I(1));
  EXPECT_EQ(Run({"XGROUP", "DESTROY", "s", "g"}), I(0));
  EXPECT_EQ(Run({"XGROUP", "HELP"}).substr(0, 5), "*17\r\n");
  Run({"LPUSH", "l", "x"});
  EXPECT_EQ(Run({"XGROUP", "CREATE", "l", "g", "$"}), kWrong);
}

TEST_F(StreamTest, XInfoReportsTheStreamGroupsAndConsumers) {
  AddFive();
  Run({"XDEL", "s", "1-5"});
  Run({"XGROUP", "CREATE", "s", "g", "0"});
  Run({"XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"});
  AdvanceMs(7);
  EXPECT_EQ(Run({"XINFO", "STREAM", "s"}),
            A(20) + B("length") + I(4) + B("radix-tree-keys") + I(1) + B("radix-tree-nodes") + I(2) +
                B("last-generated-id") + B("1-5") + B("max-deleted-entry-id") + B("1-5") + B("entries-added") + I(5) +
                B("recorded-first-entry-id") + B("1-1") + B("groups") + I(1) + B("first-entry") +
                E("1-1", {"f", "1"}) + B("last-entry") + E("1-4", {"f", "4"}));
  // A tombstone (1-5) after the group's position makes entries-read and lag unknown.
  EXPECT_EQ(Run({"XINFO", "GROUPS", "s"}), A(1) + A(12) + B("name") + B("g") + B("consumers") + I(1) + B("pending") +
                                               I(2) + B("last-delivered-id") + B("1-2") + B("entries-read") +
                                               "$-1\r\n" + B("lag") + "$-1\r\n");
  EXPECT_EQ(Run({"XINFO", "CONSUMERS", "s", "g"}),
            A(1) + A(6) + B("name") + B("alice") + B("pending") + I(2) + B("idle") + I(7));
  std::string full = Run({"XINFO", "STREAM", "s", "FULL", "COUNT", "1"});
  EXPECT_EQ(full.substr(0, 5), A(18).substr(0, 5));
  EXPECT_NE(full.find(B("entries") + A(1) + E("1-1", {"f", "1"})), std::string::npos) << full;
  EXPECT_NE(full.find(B("pel-count") + I(2) + B("pending") + A(1) + A(4) + B("1-1") + B("alice")), std::string::npos);
  EXPECT_EQ(Run({"XINFO", "STREAM", "nosuch"}), "-ERR no such key\r\n");
  EXPECT_EQ(Run({"XINFO", "CONSUMERS", "s", "nog"}), "-NOGROUP No such consumer group 'nog' for key name 's'\r\n");
  EXPECT_EQ(Run({"XINFO", "STREAM", "s", "FOO"}),
            "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.\r\n");
  EXPECT_EQ(Run({"XINFO", "GROUPS"}), "-ERR wrong number of arguments for 'xinfo|groups' command\r\n");
  // With no tombstone after its last id, the group's lag is exact.
  Run({"XADD", "t", "1-1", "f", "v"});
  Run({"XADD", "t", "1-2", "f", "v"});
  Run({"XGROUP", "CREATE", "t", "g", "0"});
  Run({"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "t", ">"});
  EXPECT_NE(Run({"XINFO", "GROUPS", "t"}).find(B("entries-read") + I(1) + B("lag") + I(1)), std::string::npos);
}

TEST_F(StreamTest, XSetIdMovesTheLastId) {
  AddFive();
  EXPECT_EQ(Run({"XSETID", "s", "1-4"}),
            "-ERR The ID specified in XSETID is smaller than the target stream top item\r\n");
  EXPECT_EQ(Run({"XSETID", "s", "5-0", "ENTRIESADDED", "2"}),
            "-ERR The entries_added specified in XSETID is smaller than the target stream length\r\n");
  EXPECT_EQ(Run({"XSETID", "s", "5-0", "ENTRIESADDED", "-1"}), "-ERR entries_added must be positive\r\n");
  EXPECT_EQ(Run({"XSETID", "s", "5-0", "MAXDELETEDID", "6-0"}),
            "-ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id\r\n");
  EXPECT_EQ(Run({"XSETID", "nosuch", "5-0"}), "-ERR no such key\r\n");
  EXPECT_EQ(Run({"XSETID", "s", "5-0", "ENTRIESADDED", "9", "MAXDELETEDID", "3-0"}), "+OK\r\n");
  EXPECT_EQ(Run({"XADD", "s", "5-0", "f", "v"}), kSmaller);
  EXPECT_EQ(Run({"XADD", "s", "5-*", "f", "v"}), B("5-1"));
  EXPECT_EQ(Run({"XSETID", "s", "4-0"}).substr(0, 40), "-ERR The ID specified in XSETID is small");
}

TEST_F(StreamTest, WrongTypeOnEveryCommand) {
  Run({"SET", "str", "v"});
  for (const std::vector<std::string>& c : std::vector<std::vector<std::string>>{
           {"XADD", "str", "*", "f", "v"}, {"XLEN", "str"}, {"XRANGE", "str", "-", "+"},
           {"XREVRANGE", "str", "+", "-"}, {"XDEL", "str", "1-1"}, {"XTRIM", "str", "MAXLEN", "1"},
           {"XACK", "str", "g", "1-1"}, {"XPENDING", "str", "g"}, {"XCLAIM", "str", "g", "c", "0", "1-1"},
           {"XAUTOCLAIM", "str", "g", "c", "0", "0"}, {"XINFO", "STREAM", "str"}, {"XSETID", "str", "1-1"}}) {
    EXPECT_EQ(Run(c), kWrong) << c[0];
  }
  Run({"XADD", "s", "1-1", "f", "v"});
  EXPECT_EQ(Run({"LPUSH", "s", "x"}), kWrong);
  EXPECT_EQ(Run({"GET", "s"}), kWrong);
}

TEST_F(StreamTest, StreamsCanBeCopiedRenamedAndUsedFromScripts) {
  AddFive();
  Run({"XGROUP", "CREATE", "s", "g", "0"});
  EXPECT_EQ(Run({"RENAME", "s", "r"}), "+OK\r\n");
  EXPECT_EQ(Run({"XLEN", "r"}), I(5));
  EXPECT_EQ(Run({"XINFO", "GROUPS", "r"}).substr(0, 4), A(1));
  EXPECT_EQ(Run({"EVAL", "return redis.call('XADD', KEYS[1], '9-9', 'k', 'v')", "1", "r"}), B("9-9"));
  EXPECT_EQ(Run({"EVAL", "return redis.call('XRANGE', KEYS[1], '9', '+')", "1", "r"}), A(1) + E("9-9", {"k", "v"}));
  Run({"MULTI"});
  Run({"XADD", "r", "10-1", "a", "b"});
  Run({"XLEN", "r"});
  EXPECT_EQ(Run({"EXEC"}), A(2) + B("10-1") + I(7));
}

// A stream on a persist namespace is written through to RocksDB and reads
// back whole (entries, counters, groups, PEL) when the engine is reopened.
TEST(StreamPersistTest, StreamSurvivesReopeningThePersistEngine) {
  char tmpl[] = "/tmp/strata-stream-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  CacheOptions options = testing::TestCore::Small();
  options.data_dir = dir;
  options.namespaces.push_back(*ParseNamespaceSpec("id=2,name=p,engine=persist"));
  CommandTable table = BuildCommandTable();
  std::string pending, info;
  {
    testing::TestCore t(options);
    ASSERT_TRUE(t.ok);
    RespHandler h(&t.core, &table, 1);
    auto run = [&](const std::vector<std::string>& a) { return On(h, a); };
    ASSERT_EQ(run({"SELECT", "2"}), "+OK\r\n");
    for (int i = 1; i <= 4; i++) run({"XADD", "s", "1-" + std::to_string(i), "f", std::to_string(i)});
    run({"XDEL", "s", "1-4"});
    ASSERT_EQ(run({"XGROUP", "CREATE", "s", "g", "0"}), "+OK\r\n");
    run({"XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"});
    pending = run({"XPENDING", "s", "g", "-", "+", "10"});
    info = run({"XINFO", "STREAM", "s", "FULL"});
    EXPECT_EQ(run({"HSET", "h", "f", "v"}),
              "-ERR namespace 'p' uses the persist engine, which stores strings, counters and streams only\r\n");
  }
  {
    testing::TestCore t(options);
    ASSERT_TRUE(t.ok);
    RespHandler h(&t.core, &table, 1);
    auto run = [&](const std::vector<std::string>& a) { return On(h, a); };
    run({"SELECT", "2"});
    EXPECT_EQ(run({"TYPE", "s"}), "+stream\r\n");
    EXPECT_EQ(run({"XRANGE", "s", "-", "+"}),
              A(3) + E("1-1", {"f", "1"}) + E("1-2", {"f", "2"}) + E("1-3", {"f", "3"}));
    EXPECT_EQ(run({"XPENDING", "s", "g", "-", "+", "10"}), pending);
    EXPECT_EQ(run({"XINFO", "STREAM", "s", "FULL"}), info);
    EXPECT_EQ(run({"XADD", "s", "1-4", "f", "v"}), kSmaller);  // the last id survived too
    EXPECT_EQ(run({"XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"}),
              A(1) + A(2) + B("s") + A(1) + E("1-3", {"f", "3"}));
    EXPECT_EQ(run({"DBSIZE"}), I(1));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace strata::cache::resp
