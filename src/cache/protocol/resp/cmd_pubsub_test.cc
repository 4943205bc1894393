// Pub/sub tests, in process: every reply byte for byte as redis-server 7.0
// sends it (recorded from a real one), the RESP2 subscribed-mode rules, RESP3
// push messages, patterns, the shard namespace, PUBSUB introspection, RESET,
// the order of messages and confirmations on one connection, and publishers
// on several threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"
#include "cache/testing/two_connections.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

std::string Bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }
std::string Msg(std::string_view ch, std::string_view payload, char type = '*') {
  return std::string(1, type) + "3\r\n" + Bulk("message") + Bulk(ch) + Bulk(payload);
}
std::string PMsg(std::string_view pattern, std::string_view ch, std::string_view payload) {
  return "*4\r\n" + Bulk("pmessage") + Bulk(pattern) + Bulk(ch) + Bulk(payload);
}
std::string Confirm(std::string_view kind, std::string_view name, int count, char type = '*') {
  return std::string(1, type) + "3\r\n" + Bulk(kind) + Bulk(name) + ":" + std::to_string(count) + "\r\n";
}
const std::string kContextError =
    "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n";

class PubSubTest : public testing::TwoConnectionsTest {
 protected:
  // The messages waiting for a connection.
  std::string Pushed(RespHandler& h) {
    std::string out;
    EXPECT_TRUE(h.TakePushes(&out));
    return out;
  }
};

TEST_F(PubSubTest, SubscribeRepliesCountChannelsAndPatterns) {
  EXPECT_EQ(A({"SUBSCRIBE", "c1", "c2", "c1"}),
            Confirm("subscribe", "c1", 1) + Confirm("subscribe", "c2", 2) + Confirm("subscribe", "c1", 2));
  EXPECT_EQ(A({"PSUBSCRIBE", "c*"}), Confirm("psubscribe", "c*", 3));
  // Shard channels are counted on their own.
  EXPECT_EQ(A({"SSUBSCRIBE", "s1"}), Confirm("ssubscribe", "s1", 1));
  EXPECT_EQ(A({"SUBSCRIBE"}), "-ERR wrong number of arguments for 'subscribe' command\r\n");
}

TEST_F(PubSubTest, UnsubscribeWithNothingSubscribedRepliesNull) {
  EXPECT_EQ(A({"UNSUBSCRIBE"}), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(A({"PUNSUBSCRIBE"}), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(A({"SUNSUBSCRIBE"}), "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n");
  EXPECT_EQ(A({"GET", "k"}), "$-1\r\n");  // not in subscribed mode
}

TEST_F(PubSubTest, PublishCountsReceiversAndDeliversMessages) {
  A({"SUBSCRIBE", "c1", "c2"});
  A({"PSUBSCRIBE", "c*"});
  A({"SSUBSCRIBE", "s1"});
  EXPECT_EQ(B({"PUBLISH", "c1", "hello"}), ":2\r\n");  // the channel and the pattern
  EXPECT_EQ(B({"PUBLISH", "cz", "m"}), ":1\r\n");
  EXPECT_EQ(B({"SPUBLISH", "s1", "sm"}), ":1\r\n");
  EXPECT_EQ(B({"PUBLISH", "s1", "x"}), ":0\r\n");  // a shard channel is not a channel
  EXPECT_EQ(B({"SPUBLISH", "c1", "x"}), ":0\r\n");
  EXPECT_EQ(Pushed(a_), Msg("c1", "hello") + PMsg("c*", "c1", "hello") + PMsg("c*", "cz", "m") +
                            "*3\r\n" + Bulk("smessage") + Bulk("s1") + Bulk("sm"));
  EXPECT_EQ(Pushed(a_), "");
  EXPECT_EQ(B({"PUBLISH", "a"}), "-ERR wrong number of arguments for 'publish' command\r\n");
}

TEST_F(PubSubTest, SubscribedModeAllowsOnlyPubSubCommandsInResp2) {
  A({"SUBSCRIBE", "c"});
  EXPECT_EQ(A({"GET", "k"}), "-ERR Can't execute 'get" + kContextError);
  EXPECT_EQ(A({"CONFIG", "GET", "x"}), "-ERR Can't execute 'config|get" + kContextError);
  EXPECT_EQ(A({"PUBSUB", "NUMPAT"}), "-ERR Can't execute 'pubsub|numpat" + kContextError);
  EXPECT_EQ(A({"PUBLISH", "c", "x"}), "-ERR Can't execute 'publish" + kContextError);
  // Unknown commands and wrong arity are reported first, as in Redis.
  EXPECT_EQ(A({"NOSUCH"}), "-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
  EXPECT_EQ(A({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(A({"PING"}), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  EXPECT_EQ(A({"PING", "x"}), "*2\r\n$4\r\npong\r\n$1\r\nx\r\n");
  EXPECT_EQ(A({"UNSUBSCRIBE"}), Confirm("unsubscribe", "c", 0));
  EXPECT_EQ(A({"PING"}), "+PONG\r\n");
  EXPECT_EQ(A({"GET", "k"}), "$-1\r\n");
}

TEST_F(PubSubTest, Resp3UsesPushTypesAndKeepsCommandsAvailable) {
  A({"HELLO", "3"});
  EXPECT_EQ(A({"SUBSCRIBE", "c1"}), Confirm("subscribe", "c1", 1, '>'));
  EXPECT_EQ(A({"GET", "k"}), "_\r\n");
  EXPECT_EQ(A({"PING"}), "+PONG\r\n");
  EXPECT_EQ(B({"PUBLISH", "c1", "v3"}), ":1\r\n");
  EXPECT_EQ(Pushed(a_), Msg("c1", "v3", '>'));
  EXPECT_EQ(A({"UNSUBSCRIBE"}), Confirm("unsubscribe", "c1", 0, '>'));
}

TEST_F(PubSubTest, UnsubscribeRepliesFollowTheMessagesBeforeThem) {
  A({"SUBSCRIBE", "c1", "c2"});
  A({"PSUBSCRIBE", "c*"});
  B({"PUBLISH", "c1", "hello"});
  // The messages already delivered go out first; then no more of c1.
  EXPECT_EQ(A({"UNSUBSCRIBE", "c1", "zz"}), Msg("c1", "hello") + PMsg("c*", "c1", "hello") +
                                               Confirm("unsubscribe", "c1", 2) + Confirm("unsubscribe", "zz", 2));
  EXPECT_EQ(B({"PUBLISH", "c1", "again"}), ":1\r\n");  // the pattern only
  EXPECT_EQ(A({"PUNSUBSCRIBE"}), PMsg("c*", "c1", "again") + Confirm("punsubscribe", "c*", 1));
  EXPECT_EQ(A({"UNSUBSCRIBE"}), Confirm("unsubscribe", "c2", 0));
  EXPECT_EQ(B({"PUBLISH", "c2", "x"}), ":0\r\n");
  EXPECT_EQ(Pushed(a_), "");
}

TEST_F(PubSubTest, PatternsMatchAsRedisGlobs) {
  A({"PSUBSCRIBE", "news.*", "h?llo", "h[ae]y", "h[^e]x", "a\\*b", "r[a-c]"});
  auto receivers = [&](const std::string& ch) { return B({"PUBLISH", ch, "m"}); };
  EXPECT_EQ(receivers("news.sport"), ":1\r\n");
  EXPECT_EQ(receivers("news"), ":0\r\n");
  EXPECT_EQ(receivers("hello"), ":1\r\n");
  EXPECT_EQ(receivers("hllo"), ":0\r\n");
  EXPECT_EQ(receivers("hay"), ":1\r\n");
  EXPECT_EQ(receivers("hoy"), ":0\r\n");
  EXPECT_EQ(receivers("hax"), ":1\r\n");
  EXPECT_EQ(receivers("hex"), ":0\r\n");
  EXPECT_EQ(receivers("a*b"), ":1\r\n");
  EXPECT_EQ(receivers("axb"), ":0\r\n");
  EXPECT_EQ(receivers("rb"), ":1\r\n");
  EXPECT_EQ(receivers("rd"), ":0\r\n");
}

// Where Redis's stringmatchlen differs from a textbook glob (checked against
// redis-server 7.0): "a-]" in a class is the range a..] (swapped to ]..a),
// and no pattern but the empty one matches an empty channel.
TEST_F(PubSubTest, GlobCornerCasesAsRedis) {
  A({"PSUBSCRIBE", "[a-]", "*"});
  EXPECT_EQ(B({"PUBLISH", "]", "m"}), ":2\r\n");
  EXPECT_EQ(B({"PUBLISH", "_", "m"}), ":2\r\n");
  EXPECT_EQ(B({"PUBLISH", "-", "m"}), ":1\r\n");
  EXPECT_EQ(B({"PUBLISH", "", "m"}), ":0\r\n");
  A({"PSUBSCRIBE", ""});
  EXPECT_EQ(B({"PUBLISH", "", "m"}), ":1\r\n");
  // KEYS (and SCAN) take "*" as everything, the empty key included.
  B({"SET", "", "v"});
  EXPECT_EQ(B({"KEYS", "*"}), "*1\r\n$0\r\n\r\n");
  EXPECT_EQ(B({"KEYS", "**"}), "*0\r\n");
}

TEST_F(PubSubTest, PubSubIntrospection) {
  A({"SUBSCRIBE", "c1", "c2"});
  A({"PSUBSCRIBE", "c*", "d*"});
  A({"SSUBSCRIBE", "s1"});
  std::string channels = B({"PUBSUB", "CHANNELS"});
  EXPECT_TRUE(channels == "*2\r\n" + Bulk("c1") + Bulk("c2") || channels == "*2\r\n" + Bulk("c2") + Bulk("c1"))
      << channels;
  EXPECT_EQ(B({"PUBSUB", "CHANNELS", "*1"}), "*1\r\n" + Bulk("c1"));
  EXPECT_EQ(B({"PUBSUB", "NUMSUB", "c1", "cz"}), "*4\r\n" + Bulk("c1") + ":1\r\n" + Bulk("cz") + ":0\r\n");
  EXPECT_EQ(B({"PUBSUB", "NUMSUB"}), "*0\r\n");
  EXPECT_EQ(B({"PUBSUB", "NUMPAT"}), ":2\r\n");
  EXPECT_EQ(B({"PUBSUB", "SHARDCHANNELS"}), "*1\r\n" + Bulk("s1"));
  EXPECT_EQ(B({"PUBSUB", "SHARDNUMSUB", "s1", "c1"}), "*4\r\n" + Bulk("s1") + ":1\r\n" + Bulk("c1") + ":0\r\n");
  EXPECT_EQ(B({"PUBSUB", "CHANNELS", "a", "b"}),
            "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n");
  EXPECT_EQ(B({"PUBSUB", "NUMPAT", "x"}), "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n");
  EXPECT_EQ(B({"PUBSUB", "FOO"}), "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n");
  EXPECT_EQ(B({"PUBSUB"}), "-ERR wrong number of arguments for 'pubsub' command\r\n");
  std::string info = B({"INFO", "stats"});
  EXPECT_NE(info.find("pubsub_channels:2\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("pubsub_patterns:2\r\n"), std::string::npos) << info;
  EXPECT_NE(info.find("pubsubshard_channels:1\r\n"), std::string::npos) << info;
}

TEST_F(PubSubTest, ClosingAConnectionDropsItsSubscriptions) {
  {
    RespHandler c(&t_.core, &table_, 3);
    On(c, {"SUBSCRIBE", "gone"});
    On(c, {"PSUBSCRIBE", "g*"});
    EXPECT_EQ(B({"PUBLISH", "gone", "x"}), ":2\r\n");
  }
  EXPECT_EQ(B({"PUBLISH", "gone", "x"}), ":0\r\n");
  EXPECT_EQ(B({"PUBSUB", "NUMPAT"}), ":0\r\n");
  EXPECT_EQ(B({"PUBSUB", "CHANNELS"}), "*0\r\n");
}

TEST_F(PubSubTest, ResetLeavesSubscribedModeAndResp3) {
  A({"HELLO", "3"});
  A({"SUBSCRIBE", "c1"});
  A({"MULTI"});
  EXPECT_EQ(A({"RESET"}), "+RESET\r\n");
  EXPECT_EQ(A({"GET", "k"}), "$-1\r\n");  // RESP2 again, no transaction
  EXPECT_EQ(B({"PUBLISH", "c1", "x"}), ":0\r\n");
  A({"SUBSCRIBE", "c1"});
  EXPECT_EQ(A({"RESET"}), "+RESET\r\n");
  EXPECT_EQ(A({"EXEC"}), "-ERR EXEC without MULTI\r\n");
}

TEST_F(PubSubTest, SubscribeInsideMultiRunsAtExec) {
  A({"MULTI"});
  EXPECT_EQ(A({"SUBSCRIBE", "q"}), "+QUEUED\r\n");
  EXPECT_EQ(A({"EXEC"}), "*1\r\n" + Confirm("subscribe", "q", 1));
  EXPECT_EQ(A({"GET", "x"}), "-ERR Can't execute 'get" + kContextError);
  A({"UNSUBSCRIBE"});
  // A message delivered while EXEC runs follows its reply, never inside it.
  A({"HELLO", "3"});
  A({"SUBSCRIBE", "q"});
  A({"MULTI"});
  A({"SUBSCRIBE", "r"});
  A({"UNSUBSCRIBE", "q"});
  B({"PUBLISH", "q", "m"});
  EXPECT_EQ(A({"EXEC"}), "*2\r\n" + Confirm("subscribe", "r", 2, '>') + Confirm("unsubscribe", "q", 1, '>'));
  EXPECT_EQ(Pushed(a_), Msg("q", "m", '>'));
}

TEST_F(PubSubTest, ClientOutputBufferLimitIsAConfigSetting) {
  EXPECT_EQ(B({"CONFIG", "GET", "client-output-buffer-limit"}),
            "*2\r\n" + Bulk("client-output-buffer-limit") +
                Bulk("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"));
  EXPECT_EQ(B({"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 0"}), "+OK\r\n");
  EXPECT_EQ(B({"CONFIG", "GET", "client-output-buffer-limit"}),
            "*2\r\n" + Bulk("client-output-buffer-limit") +
                Bulk("normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 0 0"));
  EXPECT_EQ(t_.core.pubsub()->limits().hard_bytes, 1u << 20);
  const std::string prefix = "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - ";
  EXPECT_EQ(B({"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0"}),
            prefix + "Wrong number of arguments in buffer limit configuration.\r\n");
  EXPECT_EQ(B({"CONFIG", "SET", "client-output-buffer-limit", "foo 1mb 0 0"}),
            prefix + "Invalid client class specified in buffer limit configuration.\r\n");
  EXPECT_EQ(B({"CONFIG", "SET", "client-output-buffer-limit", "pubsub x 0 0"}),
            prefix + "Error in hard, soft or soft_seconds setting in buffer limit configuration.\r\n");
}

// A subscriber over the hard limit is cut off: its mailbox refuses further
// messages, and TakePushes tells the connection to close.
TEST_F(PubSubTest, SubscriberOverTheHardLimitMustClose) {
  B({"CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 0 0"});
  A({"SUBSCRIBE", "c"});
  std::string payload(1000, 'x');
  for (int i = 0; i < 200; i++) EXPECT_EQ(B({"PUBLISH", "c", payload}), ":1\r\n");
  std::string out;
  EXPECT_FALSE(a_.TakePushes(&out));
  EXPECT_EQ(out, "");
}

// Publishers on several threads: each publisher's messages arrive in order,
// none is lost, and every PUBLISH counts its receiver.
TEST_F(PubSubTest, PublishersOnSeveralThreadsKeepTheirOrder) {
  A({"SUBSCRIBE", "c"});
  constexpr int kThreads = 4, kEach = 500;
  std::vector<std::thread> threads;
  std::atomic<int> counted{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      RespHandler h(&t_.core, &table_, 10 + static_cast<uint64_t>(t));
      for (int i = 0; i < kEach; i++) {
        if (On(h, {"PUBLISH", "c", std::to_string(t) + ":" + std::to_string(i)}) == ":1\r\n") counted++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counted.load(), kThreads * kEach);
  std::string out = Pushed(a_);
  std::vector<int> next(kThreads, 0);
  size_t pos = 0;
  int seen = 0;
  while ((pos = out.find("$7\r\nmessage\r\n$1\r\nc\r\n$", pos)) != std::string::npos) {
    pos = out.find("\r\n", pos + 22) + 2;
    size_t end = out.find("\r\n", pos);
    std::string body = out.substr(pos, end - pos);
    int t = std::stoi(body.substr(0, body.find(':')));
    int i = std::stoi(body.substr(body.find(':') + 1));
    EXPECT_EQ(i, next[t]) << "publisher " << t;
    next[t] = i + 1;
    seen++;
  }
  EXPECT_EQ(seen, kThreads * kEach);
}

}  // namespace
}  // namespace strata::cache::resp
