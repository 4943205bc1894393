// HyperLogLog commands, in process: Redis's replies and errors, the stored
// format (an HLL written by redis-server 7.0 reads back with the same
// estimate and grows into the same bytes), sparse-to-dense promotion, and
// the error of the estimate on 100,000 distinct elements.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "cache/protocol/resp/hyperloglog.h"
#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

class HllTest : public ::testing::Test {
 protected:
  HllTest() : table_(BuildCommandTable()), h_(&t_.core, &table_, 1) {}
  std::string Run(const std::vector<std::string>& args) {
    std::string out;
    h_.Process(Cmd(args), &out);
    return out;
  }
  // The stored bytes of a string key.
  std::string Value(const std::string& key) {
    std::string r = Run({"GET", key});
    size_t eol = r.find("\r\n");
    return r.substr(eol + 2, r.size() - eol - 4);
  }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler h_;
};

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// PFADD r e0 .. e99 then PFCOUNT r on redis-server 7.0.15 (sparse, cached 100).
constexpr std::string_view kRedisSparse = "48594c4c01000000640000000000000036843c8040a9a40e88409084406c9c048840e28041358840d380411d8840898041168c419080098040e08040948041578440a280408384405d8440e1844199844081803c844047840780404e80408f840984405184268441258440d38042638040a280404b8c406f80420b8c41798041478041638040668440f98c0184218811804182844062803088407984228040de8440d3884045800a88420090118440c184018041138440848c1684228040a88440e180422a84410384168041178441658c414e802680058040598040ec882e88413c880380405b841b803f80409b802184412e88408f90407e80408480415f8033844079844193844058902e80406a840d8039801380409a882880408c";

TEST_F(HllTest, EmptyHllHasRedisBytes) {
  EXPECT_EQ(Run({"PFADD", "e"}), ":1\r\n");
  EXPECT_EQ(Run({"PFADD", "e"}), ":0\r\n");
  EXPECT_EQ(Value("e"), std::string("HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff", 18));
  EXPECT_EQ(Run({"PFCOUNT", "e"}), ":0\r\n");
  EXPECT_EQ(Value("e"), std::string("HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff", 18));  // the count is cached
  EXPECT_EQ(Run({"PFCOUNT", "nosuch"}), ":0\r\n");
  EXPECT_EQ(Run({"EXISTS", "nosuch"}), ":0\r\n");
}

TEST_F(HllTest, ValueWrittenByRedisReadsAndGrowsTheSame) {
  std::string redis = FromHex(kRedisSparse);
  ASSERT_EQ(redis.size(), 285u);
  Run({"SET", "r", redis});
  EXPECT_EQ(Run({"PFCOUNT", "r"}), ":100\r\n");  // from the cache
  std::string stale = redis;
  stale[15] = static_cast<char>(0x80);
  Run({"SET", "r2", stale});
  EXPECT_EQ(Run({"PFCOUNT", "r2"}), ":100\r\n");  // recomputed from the registers
  EXPECT_EQ(Value("r2"), redis);
  // The same elements added here give the same bytes as in Redis.
  std::vector<std::string> add = {"PFADD", "mine"};
  for (int i = 0; i < 100; i++) add.push_back("e" + std::to_string(i));
  EXPECT_EQ(Run(add), ":1\r\n");
  EXPECT_EQ(Run({"PFADD", "mine", "e5"}), ":0\r\n");
  EXPECT_EQ(Run({"PFCOUNT", "mine"}), ":100\r\n");
  EXPECT_EQ(Value("mine"), redis);
  EXPECT_EQ(Run({"PFADD", "r", "extra1", "extra2"}), ":1\r\n");
  EXPECT_EQ(Run({"PFCOUNT", "r"}), ":102\r\n");
}

TEST_F(HllTest, PromotesToDenseAndCountsSeveralKeys) {
  std::vector<std::string> big = {"PFADD", "big"}, s1 = {"PFADD", "s1"}, s2 = {"PFADD", "s2"};
  for (int i = 0; i < 5000; i++) big.push_back("x" + std::to_string(i));
  for (int i = 0; i <= 300; i++) s1.push_back("x" + std::to_string(i));
  for (int i = 200; i <= 600; i++) s2.push_back("x" + std::to_string(i));
  Run(big);
  Run(s1);
  Run(s2);
  EXPECT_EQ(Run({"STRLEN", "big"}), ":12304\r\n");
  EXPECT_EQ(Run({"PFCOUNT", "big"}), ":4970\r\n");  // redis-server 7.0.15's answers for the same keys
  EXPECT_EQ(Run({"PFCOUNT", "s1", "s2"}), ":599\r\n");
  EXPECT_EQ(Run({"PFCOUNT", "s1", "s2", "nosuch"}), ":599\r\n");
  EXPECT_EQ(Run({"PFMERGE", "m", "s1", "s2"}), "+OK\r\n");
  EXPECT_EQ(Run({"PFCOUNT", "m"}), ":599\r\n");
  EXPECT_EQ(Run({"STRLEN", "m"}), ":1203\r\n");
  EXPECT_EQ(Run({"PFMERGE", "m2", "s1", "big"}), "+OK\r\n");
  EXPECT_EQ(Run({"STRLEN", "m2"}), ":12304\r\n");
  EXPECT_EQ(Run({"PFCOUNT", "m2"}), ":4970\r\n");
  EXPECT_EQ(Run({"PFMERGE", "m3"}), "+OK\r\n");
  EXPECT_EQ(Run({"PFCOUNT", "m3"}), ":0\r\n");
}

TEST_F(HllTest, WrongTypesAndCorruptValues) {
  const char* not_hll = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
  const char* corrupt = "-INVALIDOBJ Corrupted HLL object detected\r\n";
  Run({"SET", "s", "abc"});
  EXPECT_EQ(Run({"PFADD", "s", "x"}), not_hll);
  EXPECT_EQ(Run({"PFCOUNT", "s"}), not_hll);
  EXPECT_EQ(Run({"PFCOUNT", "nosuch", "s"}), not_hll);
  EXPECT_EQ(Run({"PFMERGE", "s", "nosuch"}), not_hll);
  EXPECT_EQ(Run({"PFMERGE", "d", "s"}), not_hll);
  EXPECT_EQ(Run({"EXISTS", "d"}), ":0\r\n");
  Run({"SET", "wrongsize", std::string("HYLL\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 18)});  // dense but short
  EXPECT_EQ(Run({"PFCOUNT", "wrongsize"}), not_hll);
  Run({"SET", "badenc", std::string("HYLL\x02\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff", 18)});
  EXPECT_EQ(Run({"PFCOUNT", "badenc"}), not_hll);
  Run({"LPUSH", "l", "x"});
  EXPECT_EQ(Run({"PFADD", "l", "x"}), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  // Sparse runs that cover 16383 registers, not 16384.
  std::string bad("HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xfe", 18);
  Run({"SET", "bad", bad});
  EXPECT_EQ(Run({"PFCOUNT", "bad"}), corrupt);
  EXPECT_EQ(Run({"PFCOUNT", "bad", "s1"}), corrupt);
  EXPECT_EQ(Run({"PFMERGE", "d", "bad"}), corrupt);
  EXPECT_EQ(Run({"EXISTS", "d"}), ":0\r\n");
  // Adding finds the corruption only when it reaches past the runs (as Redis).
  EXPECT_EQ(Run({"PFADD", "bad", "a", "b", "c"}), ":1\r\n");
  EXPECT_EQ(Value("bad"), std::string("HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x60\xf3\x80\x50\xb1\x84\x4b\xfb\x80\x42\x59", 27));
  std::string one_zero("HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x00", 17);
  Run({"SET", "bad2", one_zero});
  EXPECT_EQ(Run({"PFADD", "bad2", "a"}), corrupt);
  EXPECT_EQ(Value("bad2"), one_zero);  // unchanged
  EXPECT_EQ(Run({"PFADD", "x"}), ":1\r\n");
  EXPECT_EQ(Run({"PFADD"}), "-ERR wrong number of arguments for 'pfadd' command\r\n");
}

// PFCOUNT caching the count in the value modifies the key (Redis's
// signalModifiedKey): a WATCH on it fails the transaction; a cached answer
// changes nothing.
TEST_F(HllTest, PfCountThatCachesTheCountInvalidatesWatch) {
  RespHandler other(&t_.core, &table_, 2);
  auto on = [](RespHandler& h, const std::vector<std::string>& args) {
    std::string out;
    h.Process(Cmd(args), &out);
    return out;
  };
  Run({"PFADD", "w", "a"});
  Run({"WATCH", "w"});
  EXPECT_EQ(on(other, {"PFCOUNT", "w"}), ":1\r\n");
  Run({"MULTI"});
  Run({"PING"});
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");
  Run({"WATCH", "w"});
  EXPECT_EQ(on(other, {"PFCOUNT", "w"}), ":1\r\n");  // cached now
  Run({"MULTI"});
  Run({"PING"});
  EXPECT_EQ(Run({"EXEC"}), "*1\r\n+PONG\r\n");
}

TEST_F(HllTest, PfAddKeepsTheTtl) {
  Run({"PFADD", "t", "a"});
  Run({"EXPIRE", "t", "100"});
  Run({"PFADD", "t", "b"});
  EXPECT_EQ(Run({"TTL", "t"}), ":100\r\n");
}

// Redis's standard error is 1.04/sqrt(16384) = 0.81%; 100,000 distinct
// elements must count within 2%.
TEST_F(HllTest, EstimateOf100kDistinctElementsIsWithinTwoPercent) {
  constexpr int kN = 100000;
  for (int i = 0; i < kN; i += 1000) {
    std::vector<std::string> cmd = {"PFADD", "hll"};
    for (int j = i; j < i + 1000; j++) cmd.push_back("element:" + std::to_string(j));
    ASSERT_EQ(Run(cmd)[0], ':');
  }
  std::string r = Run({"PFCOUNT", "hll"});
  int64_t n = std::stoll(r.substr(1));
  double err = std::abs(static_cast<double>(n) - kN) / kN;
  std::printf("PFCOUNT of %d distinct elements: %lld (error %.3f%%)\n", kN, static_cast<long long>(n), err * 100);
  EXPECT_LT(err, 0.02);
}

// Random sparse bodies behind a valid header: every command either works or
// answers INVALIDOBJ, and a value it rejects is left as it was.
TEST_F(HllTest, RandomSparseBodiesNeverBreakTheServer) {
  std::mt19937 rng(13);
  for (int i = 0; i < 3000; i++) {
    std::string v("HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80", 16);
    int n = static_cast<int>(rng() % 12);
    for (int j = 0; j < n; j++) v.push_back(static_cast<char>(rng()));
    Run({"SET", "r", v});
    std::string add = Run({"PFADD", "r", std::to_string(rng())});
    ASSERT_TRUE(add == ":0\r\n" || add == ":1\r\n" || add.starts_with("-INVALIDOBJ")) << add;
    if (add[0] == '-') {
      ASSERT_EQ(Value("r"), v);
    }
    std::string count = Run({"PFCOUNT", "r", "other"});
    ASSERT_TRUE(count[0] == ':' || count.starts_with("-INVALIDOBJ")) << count;
    std::string merge = Run({"PFMERGE", "d", "r"});
    ASSERT_TRUE(merge == "+OK\r\n" || merge.starts_with("-INVALIDOBJ")) << merge;
  }
}

TEST(Hll, MurmurHash64AMatchesRedis) {
  // Redis's register index and run for "a" are what put PFADD r a into the
  // same register in both servers; the value check above covers the rest.
  EXPECT_NE(hll::MurmurHash64A("a", 0xadc83b19ULL), hll::MurmurHash64A("b", 0xadc83b19ULL));
  std::string v = hll::Empty();
  EXPECT_TRUE(hll::LooksValid(v));
  EXPECT_EQ(*hll::Count(v), 0u);
  ASSERT_TRUE(hll::ToDense(&v));
  EXPECT_EQ(v.size(), hll::kDenseBytes);
  EXPECT_EQ(hll::SetRegister(&v, 16383, 51), 1);
  std::vector<uint8_t> max(hll::kRegisters, 0);
  ASSERT_TRUE(hll::MergeInto(v, max.data()));
  EXPECT_EQ(max[16383], 51);
  EXPECT_EQ(max[16382], 0);
}

}  // namespace
}  // namespace strata::cache::resp
