// Transaction tests (MULTI/EXEC/DISCARD/WATCH/UNWATCH), in process: replies
// and error texts as Redis documents them, WATCH across connections and
// expiry with a ManualClock, and EXEC's atomicity with connections on
// several threads.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include "cache/protocol/memcache/memcache_handler.h"
#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"
#include "cache/testing/two_connections.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

using MultiTest = testing::TwoConnectionsTest;

TEST_F(MultiTest, QueuesAndExecReturnsTheReplies) {
  EXPECT_EQ(A({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(A({"SET", "k", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(A({"INCR", "k"}), "+QUEUED\r\n");
  EXPECT_EQ(B({"GET", "k"}), "$-1\r\n");  // nothing ran yet
  EXPECT_EQ(A({"GET", "k"}), "+QUEUED\r\n");
  EXPECT_EQ(A({"EXEC"}), "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
  EXPECT_EQ(B({"GET", "k"}), "$1\r\n2\r\n");
}

TEST_F(MultiTest, EmptyTransactionAndRuntimeErrorsInsideExec) {
  EXPECT_EQ(A({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(A({"EXEC"}), "*0\r\n");
  A({"SET", "s", "text"});
  A({"MULTI"});
  EXPECT_EQ(A({"INCR", "s"}), "+QUEUED\r\n");
  EXPECT_EQ(A({"SET", "t", "v"}), "+QUEUED\r\n");
  // A command that fails while running does not stop the others.
  EXPECT_EQ(A({"EXEC"}), "*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n");
  EXPECT_EQ(A({"GET", "t"}), "$1\r\nv\r\n");
}

TEST_F(MultiTest, QueueingErrorAbortsExec) {
  A({"MULTI"});
  EXPECT_EQ(A({"SET", "k", "v"}), "+QUEUED\r\n");
  EXPECT_EQ(A({"NOSUCHCMD", "x"}), "-ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' \r\n");
  EXPECT_EQ(A({"EXEC"}), "-EXECABORT Transaction discarded because of previous errors.\r\n");
  EXPECT_EQ(A({"GET", "k"}), "$-1\r\n");
  A({"MULTI"});
  EXPECT_EQ(A({"SET", "k"}), "-ERR wrong number of arguments for 'set' command\r\n");
  EXPECT_EQ(A({"EXEC"}), "-EXECABORT Transaction discarded because of previous errors.\r\n");
  EXPECT_EQ(A({"EXEC"}), "-ERR EXEC without MULTI\r\n");  // the transaction is over
}

TEST_F(MultiTest, MisuseErrorsUseRedisWording) {
  EXPECT_EQ(A({"EXEC"}), "-ERR EXEC without MULTI\r\n");
  EXPECT_EQ(A({"DISCARD"}), "-ERR DISCARD without MULTI\r\n");
  EXPECT_EQ(A({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(A({"MULTI"}), "-ERR MULTI calls can not be nested\r\n");
  EXPECT_EQ(A({"WATCH", "k"}), "-ERR WATCH inside MULTI is not allowed\r\n");
  EXPECT_EQ(A({"SET", "k", "v"}), "+QUEUED\r\n");
  // Neither nested MULTI nor WATCH inside MULTI poisons the transaction.
  EXPECT_EQ(A({"EXEC"}), "*1\r\n+OK\r\n");
  EXPECT_EQ(A({"WATCH"}), "-ERR wrong number of arguments for 'watch' command\r\n");
}

TEST_F(MultiTest, DiscardDropsTheQueue) {
  A({"MULTI"});
  A({"SET", "k", "v"});
  EXPECT_EQ(A({"DISCARD"}), "+OK\r\n");
  EXPECT_EQ(A({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(A({"EXEC"}), "-ERR EXEC without MULTI\r\n");
}

TEST_F(MultiTest, PipelinedTransactionInOneBatch) {
  std::string out;
  a_.Process(Cmd({"MULTI"}) + Cmd({"INCR", "c"}) + Cmd({"INCR", "c"}) + Cmd({"EXEC"}), &out);
  EXPECT_EQ(out, "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n");
}

TEST_F(MultiTest, WatchAbortsWhenAnotherClientWrites) {
  A({"SET", "k", "1"});
  EXPECT_EQ(A({"WATCH", "k", "other"}), "+OK\r\n");
  EXPECT_EQ(B({"SET", "k", "2"}), "+OK\r\n");
  A({"MULTI"});
  A({"SET", "k", "3"});
  EXPECT_EQ(A({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(A({"GET", "k"}), "$1\r\n2\r\n");
  // EXEC forgets the watches: the next transaction runs.
  B({"SET", "k", "4"});
  A({"MULTI"});
  A({"SET", "k", "5"});
  EXPECT_EQ(A({"EXEC"}), "*1\r\n+OK\r\n");
}

TEST_F(MultiTest, WatchAbortsOnCreationDeletionAndContainerWrites) {
  A({"WATCH", "absent"});
  B({"SET", "absent", "x"});
  A({"MULTI"});
  A({"PING"});
  EXPECT_EQ(A({"EXEC"}), "*-1\r\n");
  A({"RPUSH", "l", "a"});
  A({"WATCH", "l"});
  B({"RPUSH", "l", "b"});
  A({"MULTI"});
  EXPECT_EQ(A({"EXEC"}), "*-1\r\n");
  A({"WATCH", "l"});
  B({"DEL", "l"});
  A({"MULTI"});
  EXPECT_EQ(A({"EXEC"}), "*-1\r\n");
  A({"SET", "f", "1"});
  A({"WATCH", "f"});
  B({"FLUSHDB"});
  A({"MULTI"});
  EXPECT_EQ(A({"EXEC"}), "*-1\r\n");
}

TEST_F(MultiTest, WatchUntouchedKeyAndUnwatch) {
  A({"SET", "k", "1"});
  A({"WATCH", "k"});
  B({"SET", "unrelated", "x"});
  B({"GET", "k"});
  A({"MULTI"});
  A({"INCR", "k"});
  EXPECT_EQ(A({"EXEC"}), "*1\r\n:2\r\n");
  A({"WATCH", "k"});
  EXPECT_EQ(A({"UNWATCH"}), "+OK\r\n");
  B({"SET", "k", "9"});
  A({"MULTI"});
  A({"INCR", "k"});
  EXPECT_EQ(A({"EXEC"}), "*1\r\n:10\r\n");
  // DISCARD forgets the watches too.
  A({"WATCH", "k"});
  A({"MULTI"});
  A({"DISCARD"});
  B({"SET", "k", "1"});
  A({"MULTI"});
  A({"INCR", "k"});
  EXPECT_EQ(A({"EXEC"}), "*1\r\n:2\r\n");
}

TEST_F(MultiTest, WatchAbortsWhenTheKeyExpires) {
  A({"SET", "e", "v", "PX", "100"});
  A({"WATCH", "e"});
  t_.clock.Advance(200'000);  // microseconds
  A({"MULTI"});
  A({"SET", "x", "1"});
  EXPECT_EQ(A({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(A({"GET", "x"}), "$-1\r\n");
}

TEST_F(MultiTest, WatchInOneDbIsNotTouchedByAnother) {
  A({"WATCH", "k"});
  B({"SELECT", "1"});
  B({"SET", "k", "v"});
  A({"MULTI"});
  A({"PING"});
  EXPECT_EQ(A({"EXEC"}), "*1\r\n+PONG\r\n");
}

TEST_F(MultiTest, SelectInsideTransactionAppliesToLaterCommands) {
  A({"MULTI"});
  A({"SELECT", "1"});
  A({"SET", "k", "one"});
  EXPECT_EQ(A({"EXEC"}), "*2\r\n+OK\r\n+OK\r\n");
  EXPECT_EQ(A({"GET", "k"}), "$3\r\none\r\n");
  EXPECT_EQ(B({"GET", "k"}), "$-1\r\n");
}

TEST_F(MultiTest, BlockingPopInsideExecDoesNotBlock) {
  A({"MULTI"});
  A({"BLPOP", "nolist", "0"});
  EXPECT_EQ(A({"EXEC"}), "*1\r\n*-1\r\n");
}

TEST_F(MultiTest, Resp3NullOnWatchAbort) {
  A({"HELLO", "3"});
  A({"WATCH", "k"});
  B({"SET", "k", "v"});
  A({"MULTI"});
  EXPECT_EQ(A({"EXEC"}), "_\r\n");
}

TEST_F(MultiTest, MemcachedWritesInvalidateWatch) {
  memcache::MemcacheHandler mc(&t_.core, 3);
  std::string out;
  A({"WATCH", "k"});
  mc.Process("set k 0 0 1\r\nv\r\n", &out);
  EXPECT_EQ(out, "STORED\r\n");
  A({"MULTI"});
  A({"PING"});
  EXPECT_EQ(A({"EXEC"}), "*-1\r\n");
  A({"WATCH", "k"});
  out.clear();
  mc.Process("flush_all\r\n", &out);
  EXPECT_EQ(out, "OK\r\n");
  A({"MULTI"});
  EXPECT_EQ(A({"EXEC"}), "*-1\r\n");
  A({"WATCH", "k"});
  out.clear();
  mc.Process("get k\r\n", &out);  // a read does not invalidate
  A({"MULTI"});
  EXPECT_EQ(A({"EXEC"}), "*0\r\n");
}

// The values of the bulk replies in `out` ("$-1" as "nil"), in order.
std::vector<std::string> BulkValues(const std::string& out) {
  std::vector<std::string> values;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '$') continue;
    if (line.rfind("$-1", 0) == 0) {
      values.push_back("nil");
    } else if (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      values.push_back(line);
    }
  }
  return values;
}

// Writers on their own threads (as connections on different worker threads)
// run MULTI / INCR on 16 keys spread over the engine's shards / EXEC; a
// reader's MULTI / GET ... / EXEC must never see the keys differ, and the
// totals must be exact.
TEST(MultiAtomicity, ExecIsAtomicAcrossShardsAndThreads) {
  constexpr int kKeys = 16, kWriters = 2, kRounds = 1500;
  CacheOptions o = testing::TestCore::Small();
  o.memory_bytes = 256ull << 20;  // room for several engine shards
  testing::TestCore t_(o);
  ASSERT_TRUE(t_.ok);
  CommandTable table_ = BuildCommandTable();
  std::set<size_t> shards;
  std::string incrs, gets;
  for (int i = 0; i < kKeys; i++) {
    std::string k = "atomic:" + std::to_string(i);
    shards.insert(t_.core.mem()->ShardOf(InternalKey(0, k)));
    incrs += Cmd({"INCR", k});
    gets += Cmd({"GET", k});
  }
  ASSERT_GE(shards.size(), 4u) << "of " << t_.core.mem()->ShardCount();
  std::atomic<int> writers_left{kWriters};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; w++) {
    writers.emplace_back([&, w] {
      RespHandler h(&t_.core, &table_, 100 + w);
      std::string out;
      for (int r = 0; r < kRounds; r++) {
        out.clear();
        h.Process(Cmd({"MULTI"}) + incrs + Cmd({"EXEC"}), &out);
      }
      writers_left--;
    });
  }
  int reads = 0, torn = 0;
  RespHandler reader(&t_.core, &table_, 99);
  while (writers_left.load() > 0) {
    std::string out;
    reader.Process(Cmd({"MULTI"}) + gets + Cmd({"EXEC"}), &out);
    std::vector<std::string> v = BulkValues(out);
    ASSERT_EQ(v.size(), static_cast<size_t>(kKeys)) << out;
    if (std::set<std::string>(v.begin(), v.end()).size() != 1) torn++;
    reads++;
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(torn, 0) << "of " << reads << " reads";
  std::string out;
  reader.Process(gets, &out);
  for (const std::string& v : BulkValues(out)) EXPECT_EQ(v, std::to_string(kWriters * kRounds));
}

}  // namespace
}  // namespace strata::cache::resp
