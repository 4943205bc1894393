// Bitmap commands, in process, against the replies redis-server 7.0 gives
// for the same commands (errors included), plus the value-size limit.
#include <gtest/gtest.h>

#include "cache/protocol/resp/bits.h"
#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

class BitmapTest : public ::testing::Test {
 protected:
  BitmapTest() : table_(BuildCommandTable()), h_(&t_.core, &table_, 1) {}
  std::string Run(const std::vector<std::string>& args) {
    std::string out;
    h_.Process(Cmd(args), &out);
    return out;
  }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler h_;
};

constexpr const char* kBadOffset = "-ERR bit offset is not an integer or out of range\r\n";

TEST_F(BitmapTest, SetBitGetBitGrowAndReturnTheOldBit) {
  EXPECT_EQ(Run({"SETBIT", "b", "7", "1"}), ":0\r\n");
  EXPECT_EQ(Run({"SETBIT", "b", "7", "1"}), ":1\r\n");
  EXPECT_EQ(Run({"GET", "b"}), "$1\r\n\x01\r\n");
  EXPECT_EQ(Run({"SETBIT", "b", "17", "1"}), ":0\r\n");
  EXPECT_EQ(Run({"GET", "b"}), std::string("$3\r\n\x01\x00\x40\r\n", 9));
  EXPECT_EQ(Run({"SETBIT", "b", "7", "0"}), ":1\r\n");
  EXPECT_EQ(Run({"GETBIT", "b", "7"}), ":0\r\n");
  EXPECT_EQ(Run({"GETBIT", "b", "17"}), ":1\r\n");
  EXPECT_EQ(Run({"GETBIT", "b", "100"}), ":0\r\n");
  EXPECT_EQ(Run({"GETBIT", "nosuch", "0"}), ":0\r\n");
  EXPECT_EQ(Run({"GETBIT", "b", "4294967295"}), ":0\r\n");
}

TEST_F(BitmapTest, SetBitKeepsTheTtl) {
  Run({"SET", "b", "a", "EX", "100"});
  Run({"SETBIT", "b", "0", "1"});
  EXPECT_EQ(Run({"TTL", "b"}), ":100\r\n");
  EXPECT_EQ(Run({"GET", "b"}), "$1\r\n\xe1\r\n");
}

TEST_F(BitmapTest, BadOffsetsAndBitsAnswerRedisErrors) {
  EXPECT_EQ(Run({"SETBIT", "b", "-1", "1"}), kBadOffset);
  EXPECT_EQ(Run({"SETBIT", "b", "x", "1"}), kBadOffset);
  EXPECT_EQ(Run({"SETBIT", "b", "01", "1"}), kBadOffset);
  EXPECT_EQ(Run({"SETBIT", "b", "4294967296", "1"}), kBadOffset);
  EXPECT_EQ(Run({"GETBIT", "b", "4294967296"}), kBadOffset);
  EXPECT_EQ(Run({"SETBIT", "b", "1", "2"}), "-ERR bit is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"SETBIT", "b", "1", "-0"}), "-ERR bit is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"SETBIT", "b", "1"}), "-ERR wrong number of arguments for 'setbit' command\r\n");
  Run({"LPUSH", "l", "x"});
  const char* wrong = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  EXPECT_EQ(Run({"SETBIT", "l", "1", "1"}), wrong);
  EXPECT_EQ(Run({"GETBIT", "l", "1"}), wrong);
  EXPECT_EQ(Run({"BITCOUNT", "l"}), wrong);
  EXPECT_EQ(Run({"BITPOS", "l", "1"}), wrong);
  EXPECT_EQ(Run({"BITOP", "OR", "d", "l"}), wrong);
  EXPECT_EQ(Run({"BITFIELD", "l", "GET", "u8", "0"}), wrong);
  EXPECT_EQ(Run({"EXISTS", "b"}), ":0\r\n");
}

// The server's value limit (1 MiB here) refuses a bit past it, and nothing
// changes; offset 2^32-1 is valid in Redis but needs a 512 MiB string.
TEST_F(BitmapTest, OffsetPastTheValueLimitIsRefusedAndChangesNothing) {
  const char* too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
  Run({"SET", "b", "x"});
  EXPECT_EQ(Run({"SETBIT", "b", "4294967295", "1"}), too_big);
  EXPECT_EQ(Run({"SETBIT", "n", std::to_string(8ull << 20), "1"}), too_big);
  EXPECT_EQ(Run({"BITFIELD", "b", "SET", "u8", std::to_string((1ull << 23) - 4), "1"}), too_big);
  EXPECT_EQ(Run({"GET", "b"}), "$1\r\nx\r\n");
  EXPECT_EQ(Run({"EXISTS", "n"}), ":0\r\n");
  EXPECT_EQ(Run({"SETBIT", "n", std::to_string((8ull << 20) - 1), "1"}), ":0\r\n");  // the last bit that fits
  EXPECT_EQ(Run({"STRLEN", "n"}), ":1048576\r\n");
}

TEST_F(BitmapTest, BitCountWithByteAndBitRanges) {
  Run({"SET", "s", "foobar"});
  EXPECT_EQ(Run({"BITCOUNT", "s"}), ":26\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "0", "0"}), ":4\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "1", "1"}), ":6\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "1", "1", "BYTE"}), ":6\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "5", "30", "BIT"}), ":17\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "-2", "-1"}), ":7\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "-1", "-2"}), ":0\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "-100", "100"}), ":26\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "0", "-1", "bit"}), ":26\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "47", "47", "BIT"}), ":0\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "1"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "0", "1", "WORD"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "s", "a", "1"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "nosuch"}), ":0\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "nosuch", "a", "b"}), ":0\r\n");  // Redis 7.0 looks the key up first
  Run({"SET", "e", ""});
  EXPECT_EQ(Run({"BITCOUNT", "e"}), ":0\r\n");
  EXPECT_EQ(Run({"BITCOUNT", "e", "0", "-1", "BIT"}), ":0\r\n");
}

TEST_F(BitmapTest, BitPosWithRangesAndPadding) {
  Run({"SET", "s", std::string("\xff\xf0\x00", 3)});
  EXPECT_EQ(Run({"BITPOS", "s", "0"}), ":12\r\n");
  Run({"SET", "s", std::string("\x00\xff\xf0", 3)});
  EXPECT_EQ(Run({"BITPOS", "s", "1", "0"}), ":8\r\n");
  EXPECT_EQ(Run({"BITPOS", "s", "1", "2"}), ":16\r\n");
  EXPECT_EQ(Run({"BITPOS", "s", "1", "2", "-1", "BYTE"}), ":16\r\n");
  EXPECT_EQ(Run({"BITPOS", "s", "1", "7", "15", "BIT"}), ":8\r\n");
  EXPECT_EQ(Run({"BITPOS", "s", "1", "7", "-3", "BIT"}), ":8\r\n");
  EXPECT_EQ(Run({"BITPOS", "s", "0", "8", "19", "BIT"}), ":-1\r\n");
  EXPECT_EQ(Run({"BITPOS", "s", "0", "8", "20", "BIT"}), ":20\r\n");
  Run({"SET", "f", std::string("\xff\xff", 2)});
  EXPECT_EQ(Run({"BITPOS", "f", "0"}), ":16\r\n");       // padded with zeros past the end
  EXPECT_EQ(Run({"BITPOS", "f", "0", "1"}), ":16\r\n");
  EXPECT_EQ(Run({"BITPOS", "f", "0", "0", "-1"}), ":-1\r\n");  // an explicit end: no padding
  EXPECT_EQ(Run({"BITPOS", "f", "1", "5", "9"}), ":-1\r\n");   // empty range
  EXPECT_EQ(Run({"BITPOS", "nosuch", "0"}), ":0\r\n");
  EXPECT_EQ(Run({"BITPOS", "nosuch", "1"}), ":-1\r\n");
  EXPECT_EQ(Run({"BITPOS", "nosuch", "1", "a"}), ":-1\r\n");
  Run({"SET", "e", ""});
  EXPECT_EQ(Run({"BITPOS", "e", "0"}), ":-1\r\n");
  EXPECT_EQ(Run({"BITPOS", "s", "2"}), "-ERR The bit argument must be 1 or 0.\r\n");
  EXPECT_EQ(Run({"BITPOS", "s", "1", "0", "1", "BYTES"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"BITPOS", "s", "1", "0", "1", "BIT", "x"}), "-ERR syntax error\r\n");
}

TEST_F(BitmapTest, BitOpPadsShortAndMissingKeys) {
  Run({"SET", "a", "foobar"});
  Run({"SET", "b", "abcdef"});
  EXPECT_EQ(Run({"BITOP", "AND", "d", "a", "b"}), ":6\r\n");
  EXPECT_EQ(Run({"GET", "d"}), "$6\r\n`bc`ab\r\n");
  EXPECT_EQ(Run({"BITOP", "OR", "d", "a", "b"}), ":6\r\n");
  EXPECT_EQ(Run({"GET", "d"}), "$6\r\ngoofev\r\n");
  EXPECT_EQ(Run({"BITOP", "XOR", "d", "a", "a"}), ":6\r\n");
  EXPECT_EQ(Run({"GET", "d"}), std::string("$6\r\n\0\0\0\0\0\0\r\n", 12));
  Run({"SET", "one", "\x0f"});
  EXPECT_EQ(Run({"BITOP", "NOT", "d", "one"}), ":1\r\n");
  EXPECT_EQ(Run({"GET", "d"}), "$1\r\n\xf0\r\n");
  EXPECT_EQ(Run({"BITOP", "AND", "d", "a", "nosuch"}), ":6\r\n");  // a missing key is all zeros
  EXPECT_EQ(Run({"GET", "d"}), std::string("$6\r\n\0\0\0\0\0\0\r\n", 12));
  EXPECT_EQ(Run({"BITOP", "OR", "d", "one", "a"}), ":6\r\n");
  EXPECT_EQ(Run({"GET", "d"}), "$6\r\nooobar\r\n");
  Run({"EXPIRE", "d", "100"});
  EXPECT_EQ(Run({"BITOP", "OR", "d", "nosuch", "other"}), ":0\r\n");  // an empty result deletes
  EXPECT_EQ(Run({"EXISTS", "d"}), ":0\r\n");
  EXPECT_EQ(Run({"BITOP", "NOT", "d", "a", "b"}), "-ERR BITOP NOT must be called with a single source key.\r\n");
  EXPECT_EQ(Run({"BITOP", "NAND", "d", "a"}), "-ERR syntax error\r\n");
}

TEST_F(BitmapTest, BitFieldGetSetIncrBy) {
  EXPECT_EQ(Run({"BITFIELD", "f", "SET", "i8", "0", "100", "GET", "i8", "0", "INCRBY", "u4", "#3", "7"}),
            "*3\r\n:0\r\n:100\r\n:7\r\n");
  EXPECT_EQ(Run({"GET", "f"}), "$2\r\nd\x07\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f", "GET", "u64", "0"}), "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f", "GET", "u63", "0", "GET", "i64", "0", "GET", "i1", "1"}),
            "*3\r\n:3603864864314884096\r\n:7207729728629768192\r\n:-1\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f", "GET", "u8", "100000"}), "*1\r\n:0\r\n");  // past the end reads zero
  EXPECT_EQ(Run({"STRLEN", "f"}), ":2\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f"}), "*0\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f", "GET", "u8"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f", "GET", "I8", "0"}), "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f", "GET", "u8", "#-1"}), kBadOffset);
  EXPECT_EQ(Run({"BITFIELD", "f", "SET", "u8", "0", "x"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"BITFIELD", "f", "OVERFLOW", "CLAMP"}), "-ERR Invalid OVERFLOW type specified\r\n");
}

TEST_F(BitmapTest, BitFieldOverflowModes) {
  EXPECT_EQ(Run({"BITFIELD", "o", "SET", "u8", "0", "250", "INCRBY", "u8", "0", "10"}), "*2\r\n:0\r\n:4\r\n");
  EXPECT_EQ(Run({"BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "300", "INCRBY", "u8", "0", "-300"}),
            "*2\r\n:255\r\n:0\r\n");
  EXPECT_EQ(Run({"BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "256", "INCRBY", "u8", "0", "255",
                 "OVERFLOW", "WRAP", "INCRBY", "u8", "0", "2"}),
            "*3\r\n$-1\r\n:255\r\n:1\r\n");
  EXPECT_EQ(Run({"BITFIELD", "o", "SET", "i8", "0", "127", "INCRBY", "i8", "0", "1"}), "*2\r\n:1\r\n:-128\r\n");
  EXPECT_EQ(Run({"BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-1000", "SET", "i8", "0", "1000"}),
            "*2\r\n:-128\r\n:-128\r\n");
  EXPECT_EQ(Run({"BITFIELD", "o", "GET", "i8", "0"}), "*1\r\n:127\r\n");
  EXPECT_EQ(Run({"BITFIELD", "o", "OVERFLOW", "FAIL", "SET", "i8", "0", "128", "GET", "i8", "0"}),
            "*2\r\n$-1\r\n:127\r\n");
  EXPECT_EQ(Run({"BITFIELD", "o", "SET", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "1"}),
            "*2\r\n:9151314442816847872\r\n:-9223372036854775808\r\n");
  EXPECT_EQ(Run({"BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1"}), "*1\r\n:-9223372036854775808\r\n");
  EXPECT_EQ(Run({"BITFIELD", "o", "SET", "u2", "100", "-1", "GET", "u2", "100"}), "*2\r\n:0\r\n:3\r\n");
}

TEST_F(BitmapTest, BitFieldRoReadsOnly) {
  Run({"SET", "r", "\x80"});
  EXPECT_EQ(Run({"BITFIELD_RO", "r", "GET", "u1", "0", "GET", "i2", "0"}), "*2\r\n:1\r\n:-2\r\n");
  EXPECT_EQ(Run({"BITFIELD_RO", "r", "SET", "u1", "0", "0"}), "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
  EXPECT_EQ(Run({"BITFIELD_RO", "nosuch", "GET", "u8", "0"}), "*1\r\n:0\r\n");
  EXPECT_EQ(Run({"EXISTS", "nosuch"}), ":0\r\n");
}

TEST(Bits, OverflowPoliciesAtTheEdges) {
  using bits::Overflow;
  EXPECT_EQ(*bits::AddSigned(-128, -1, 8, Overflow::kWrap), 127);
  EXPECT_EQ(*bits::AddSigned(0, 5, 3, Overflow::kWrap), -3);
  EXPECT_FALSE(bits::AddSigned(3, 1, 3, Overflow::kFail).has_value());
  EXPECT_EQ(*bits::AddSigned(3, 0, 3, Overflow::kFail), 3);
  EXPECT_EQ(*bits::AddUnsigned(0, -1, 63, Overflow::kWrap), (1ull << 63) - 1);
  EXPECT_EQ(*bits::AddUnsigned(5, -6, 4, Overflow::kSat), 0u);
  EXPECT_EQ(bits::Count(std::string("\xff\xff\xff", 3), 3, 20), 18);
  EXPECT_EQ(bits::FindFirst(std::string(100, '\0') + "\x01", true, 0, 807), 807);
}

}  // namespace
}  // namespace strata::cache::resp
