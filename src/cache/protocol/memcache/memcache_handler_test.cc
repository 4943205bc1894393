// memcached protocol tests, in process: framing, swallowing oversized data,
// noreply, CAS, expiry on the injected clock, namespace prefixes.
#include "cache/protocol/memcache/memcache_handler.h"

#include <gtest/gtest.h>

#include "cache/testing/test_core.h"

namespace strata::cache::memcache {
namespace {

class McTest : public ::testing::Test {
 protected:
  static CacheOptions Options() {
    CacheOptions o = testing::TestCore::Small();
    o.namespaces.push_back(*ParseNamespaceSpec("id=9,name=app"));
    return o;
  }
  McTest() : t_(Options()), h_(&t_.core, 1) {}
  std::string Run(const std::string& in, ProcessOutcome* o = nullptr) {
    std::string out;
    ProcessOutcome r = h_.Process(in, &out);
    if (o) *o = r;
    return out;
  }
  testing::TestCore t_;
  MemcacheHandler h_;
};

TEST_F(McTest, StorageRetrievalAndCas) {
  EXPECT_EQ(Run("set k 5 0 3\r\nabc\r\n"), "STORED\r\n");
  EXPECT_EQ(Run("get k\r\n"), "VALUE k 5 3\r\nabc\r\nEND\r\n");
  std::string gets = Run("gets k\r\n");  // VALUE k 5 3 <cas>
  std::string line = gets.substr(0, gets.find('\r'));
  std::string cas = line.substr(line.rfind(' ') + 1);
  EXPECT_EQ(Run("cas k 0 0 1 999999\r\nx\r\n"), "EXISTS\r\n");
  EXPECT_EQ(Run("cas k 0 0 1 " + cas + "\r\nx\r\n"), "STORED\r\n");
  EXPECT_EQ(Run("append k 0 0 2\r\nyz\r\nprepend k 0 0 1\r\nw\r\nget k\r\n"), "STORED\r\nSTORED\r\nVALUE k 0 4\r\nwxyz\r\nEND\r\n");
  EXPECT_EQ(Run("add k 0 0 1\r\nq\r\nreplace nope 0 0 1\r\nq\r\n"), "NOT_STORED\r\nNOT_STORED\r\n");
  EXPECT_EQ(Run("set n 0 0 2 noreply\r\n10\r\nincr n 5\r\ndecr n 100\r\n"), "15\r\n0\r\n");
  EXPECT_EQ(Run("delete n noreply\r\ndelete n\r\n"), "NOT_FOUND\r\n");
}

TEST_F(McTest, PartialInputWaitsAndOversizedDataIsSwallowed) {
  ProcessOutcome o;
  EXPECT_EQ(Run("set k 0 0 10\r\nabc", &o), "");
  EXPECT_EQ(o.consumed, 0u);
  EXPECT_EQ(Run("set big 0 0 2000000\r\n", &o), "SERVER_ERROR object too large for cache\r\n");
  EXPECT_EQ(Run(std::string(1999998, 'x')), "");
  EXPECT_EQ(Run("xx\r\nversion\r\n"), "VERSION 1.6.21-strata\r\n");
}

TEST_F(McTest, ExpiryUsesTheClock) {
  EXPECT_EQ(Run("set k 0 10 1\r\nv\r\n"), "STORED\r\n");
  t_.clock.Advance(9'000'000);
  EXPECT_EQ(Run("get k\r\n"), "VALUE k 0 1\r\nv\r\nEND\r\n");
  t_.clock.Advance(2'000'000);
  EXPECT_EQ(Run("get k\r\n"), "END\r\n");
  EXPECT_EQ(Run("set k 0 -1 1\r\nv\r\nget k\r\n"), "STORED\r\nEND\r\n");
}

TEST_F(McTest, NamedNamespacePrefix) {
  EXPECT_EQ(Run("set app:k 0 0 1\r\nv\r\n"), "STORED\r\n");
  EXPECT_EQ(t_.core.mem()->Count(9), 1u);
  EXPECT_EQ(t_.core.mem()->Count(0), 0u);
  EXPECT_EQ(Run("set other:k 0 0 1\r\nv\r\n"), "STORED\r\n");
  EXPECT_EQ(t_.core.mem()->Count(0), 1u);
}

TEST_F(McTest, BinaryProtocolAndLongLinesClose) {
  ProcessOutcome o;
  Run(std::string("\x80\x01\x00\x00", 4), &o);
  EXPECT_TRUE(o.close);
  EXPECT_EQ(Run(std::string(10000, 'a'), &o), "CLIENT_ERROR line too long\r\n");
  EXPECT_TRUE(o.close);
}

TEST(McAuthTest, EveryCommandIsRefusedUntilTheAuthSet) {
  CacheOptions o = testing::TestCore::Small();
  o.password = "sekret";
  testing::TestCore t(o);
  MemcacheHandler h(&t.core, 1);
  auto run = [&](const std::string& in) {
    std::string out;
    h.Process(in, &out);
    return out;
  };
  for (const char* cmd : {"get k\r\n", "version\r\n", "stats\r\n", "delete k\r\n", "flush_all\r\n",
                          "mg k v\r\n", "incr n 1\r\n", "touch k 10\r\n"}) {
    EXPECT_EQ(run(cmd), "CLIENT_ERROR unauthenticated\r\n") << cmd;
  }
  EXPECT_EQ(run("ms k 1\r\nx\r\n").substr(0, 28), "CLIENT_ERROR unauthenticated");
  EXPECT_EQ(run("set k 0 0 10\r\nuser wrong\r\n"), "CLIENT_ERROR authentication failure\r\n");
  EXPECT_EQ(run("set k 0 0 6\r\nsekret\r\n"), "CLIENT_ERROR bad authentication token format\r\n");
  EXPECT_EQ(run("set k 0 0 5000\r\n"), "CLIENT_ERROR auth token too long\r\n");
  MemcacheHandler h2(&t.core, 2);
  std::string out;
  ProcessOutcome partial = h2.Process("set auth 0 0 10\r\nany sek", &out);
  EXPECT_EQ(partial.consumed, 0u);  // waits for the data block
  h2.Process("set auth 0 0 10\r\nany sekret\r\nset k 0 0 1\r\nv\r\nget k\r\n", &out);
  EXPECT_EQ(out, "STORED\r\nSTORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
  // Nothing the refused connection sent was stored.
  MemcacheHandler h3(&t.core, 3);
  out.clear();
  h3.Process("set a 0 0 8\r\nu sekret\r\nget auth\r\n", &out);
  EXPECT_EQ(out, "STORED\r\nEND\r\n");
}

}  // namespace
}  // namespace strata::cache::memcache
