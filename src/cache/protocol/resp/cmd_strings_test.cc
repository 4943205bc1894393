// INCRBYFLOAT and HINCRBYFLOAT, in process, against the replies of
// redis-server 7.0.15 for the same commands (long double arithmetic,
// "%.17Lf" with trailing zeros trimmed).
#include <gtest/gtest.h>

#include "cache/protocol/resp/command_util.h"
#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

class FloatTest : public ::testing::Test {
 protected:
  FloatTest() : table_(BuildCommandTable()), h_(&t_.core, &table_, 1) {}
  // The reply as redis-cli prints it: bulk text, or the error line.
  std::string Run(const std::vector<std::string>& args) {
    std::string out;
    h_.Process(Cmd(args), &out);
    if (out[0] == '$') {
      size_t eol = out.find("\r\n");
      return out.substr(eol + 2, out.size() - eol - 4);
    }
    return out.substr(0, out.size() - 2);
  }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler h_;
};

const std::string k1e308 =
    "99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054"
    "01322315213474959396058359742081443019641876795910001960319077866310960450710666793915339578893891456054356306126"
    "8364901618630217086589253444881623791300855757318142424510452728255046343928578048";

TEST_F(FloatTest, IncrByFloatPrintsAsRedis) {
  Run({"SET", "f", "0.1"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "0.2"}), "0.3");
  EXPECT_EQ(Run({"GET", "f"}), "0.3");
  Run({"SET", "g", "1e308"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "g", "0"}), k1e308);
  EXPECT_EQ(Run({"INCRBYFLOAT", "g", "1e308"}).substr(0, 40), "1999999999999999999933717593116912913211");
  Run({"SET", "h", "0"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "h", "1.5e20"}), "150000000000000000000");
  Run({"SET", "i", "10.5"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "i", "0.1"}), "10.6");
  EXPECT_EQ(Run({"INCRBYFLOAT", "i", "-5e-5"}), "10.59995");
  Run({"SET", "j", "5.0e3"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "j", "2.0e2"}), "5200");
  Run({"SET", "k", "3"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "k", "1.1"}), "4.1");
  EXPECT_EQ(Run({"INCRBYFLOAT", "k", "-4.1"}), "0");
  EXPECT_EQ(Run({"INCRBYFLOAT", "m", "1e-20"}), "0");
  Run({"SET", "n", "1"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "n", "0.3333333333333333333333"}), "1.33333333333333333");
  Run({"SET", "t", "-1e-19"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "t", "0"}), "0");  // not "-0"
  Run({"SET", "v", "123456789012345678"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "v", "1"}), "123456789012345679");
  Run({"SET", "w", "0.1"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "w", "0.7"}), "0.8");
  Run({"SET", "x", "1.5"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "x", "0x10"}), "17.5");
  EXPECT_EQ(Run({"INCRBYFLOAT", "x", "1e-400"}), "17.5");
}

TEST_F(FloatTest, IncrByFloatErrorsAsRedis) {
  EXPECT_EQ(Run({"INCRBYFLOAT", "a", "inf"}), "-ERR increment would produce NaN or Infinity");
  EXPECT_EQ(Run({"INCRBYFLOAT", "a", "nan"}), "-ERR value is not a valid float");
  EXPECT_EQ(Run({"INCRBYFLOAT", "a", "1e5000"}), "-ERR value is not a valid float");
  Run({"SET", "s", " 1"});
  EXPECT_EQ(Run({"INCRBYFLOAT", "s", "1"}), "-ERR value is not a valid float");
  Run({"SET", "s", "1 "});
  EXPECT_EQ(Run({"INCRBYFLOAT", "s", "1"}), "-ERR value is not a valid float");
  Run({"HSET", "hh", "f", "v"});
  // The key's type is checked before the increment, as Redis does.
  EXPECT_EQ(Run({"INCRBYFLOAT", "hh", "abc"}).substr(0, 10), "-WRONGTYPE");
}

TEST_F(FloatTest, HIncrByFloatPrintsAsRedis) {
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "f", "0.1"}), "0.1");
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "f", "0.2"}), "0.3");
  Run({"HSET", "h", "big", "1e308"});
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "big", "0"}), k1e308);
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "tiny", "1e-20"}), "0");
  Run({"HSET", "h", "one", "1"});
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "one", "0.3333333333333333333333"}), "1.33333333333333333");
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h2", "f", "inf"}), "-ERR value is NaN or Infinity");
  EXPECT_EQ(Run({"EXISTS", "h2"}), ":0");
  Run({"HSET", "h", "sp", " 1"});
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "sp", "1"}), "-ERR hash value is not a float");
}

TEST(FormatLongDouble, TrimsAsRedisHumanFormat) {
  EXPECT_EQ(FormatLongDouble(0), "0");
  EXPECT_EQ(FormatLongDouble(-0.0L), "0");
  EXPECT_EQ(FormatLongDouble(2.5L), "2.5");
  EXPECT_EQ(FormatLongDouble(-3), "-3");
  EXPECT_EQ(FormatLongDouble(100), "100");
  long double v;
  EXPECT_TRUE(ParseLongDouble("1e4000", &v));
  EXPECT_FALSE(ParseLongDouble("1e-5000", &v));
  EXPECT_FALSE(ParseLongDouble("", &v));
  EXPECT_FALSE(ParseLongDouble(std::string("1\0", 2), &v));
}

}  // namespace
}  // namespace strata::cache::resp
