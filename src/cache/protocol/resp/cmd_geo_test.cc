// GEO commands, in process: every reply below is the one redis-server 7.0.15
// gave to the same session, byte for byte (scores, coordinates with Redis's
// 17 decimals, 4-decimal distances, result order when nothing is sorted,
// and the error texts in the order Redis checks).
#include <gtest/gtest.h>

#include "cache/protocol/resp/geohash.h"
#include "cache/protocol/resp/resp_handler.h"
#include "cache/testing/test_core.h"

namespace strata::cache::resp {
namespace {

using testing::Cmd;

struct Step {
  std::vector<std::string> args;
  std::string reply;  // empty: not checked
};

class GeoTest : public ::testing::Test {
 protected:
  GeoTest() : table_(BuildCommandTable()), h_(&t_.core, &table_, 1) {}
  std::string Run(const std::vector<std::string>& args) {
    std::string out;
    h_.Process(Cmd(args), &out);
    return out;
  }
  void Replay(const std::vector<Step>& steps) {
    for (const Step& s : steps) {
      std::string got = Run(s.args);
      if (!s.reply.empty()) {
        EXPECT_EQ(got, s.reply) << s.args[0] << " " << (s.args.size() > 1 ? s.args[1] : "");
      }
    }
  }
  testing::TestCore t_;
  CommandTable table_;
  RespHandler h_;
};

TEST(Geohash, ScoresAndStringsAsRedis) {
  EXPECT_EQ(geo::Score(13.361389, 38.115556), 3479099956230698u);
  EXPECT_EQ(geo::Score(15.087269, 37.502669), 3479447370796909u);
  double lon, lat;
  ASSERT_TRUE(geo::DecodeScore(3479447370796909.0, &lon, &lat));
  EXPECT_EQ(geo::GeohashString(lon, lat), "sqdtr74hyu0");
  EXPECT_NEAR(geo::Distance(13.361389, 38.115556, 15.087269, 37.502669), 166274.15, 1);
}

// GEOADD with NX/XX/CH, GEOPOS, GEOHASH, GEODIST in every unit, their errors and WRONGTYPE.
TEST_F(GeoTest, AddPosHashDistAndWrongType) {
  Replay({
      {{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
       ":2\r\n"},
      {{"ZRANGE", "Sicily", "0", "-1", "WITHSCORES"},
       "*4\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"},
      {{"GEOADD", "Sicily", "NX", "13.361389", "38.115556", "Palermo", "12", "37", "Trapani"},
       ":1\r\n"},
      {{"GEOADD", "Sicily", "XX", "CH", "13.4", "38.1", "Palermo", "12.5", "37.8", "Marsala"},
       ":1\r\n"},
      {{"GEOADD", "Sicily", "CH", "NX", "XX", "1", "1", "x"},
       "-ERR syntax error\r\n"},
      {{"GEOADD", "Sicily", "1", "1"},
       "-ERR wrong number of arguments for 'geoadd' command\r\n"},
      {{"GEOADD", "Sicily", "NX", "CH", "CH"},
       "-ERR syntax error\r\n"},
      {{"GEOADD", "Sicily", "200", "100", "bad"},
       "-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n"},
      {{"GEOADD", "Sicily", "13", "86", "bad"},
       "-ERR invalid longitude,latitude pair 13.000000,86.000000\r\n"},
      {{"GEOADD", "Sicily", "180", "85.05112878", "edge1", "-180", "-85.05112878", "edge2"},
       ":2\r\n"},
      {{"GEOADD", "Sicily", "abc", "1", "bad"},
       "-ERR value is not a valid float\r\n"},
      {{"GEOADD", "Sicily", "1", "abc", "bad"},
       "-ERR value is not a valid float\r\n"},
      {{"GEOADD", "Sicily", "GT", "1", "1", "m"},
       "-ERR syntax error\r\n"},
      {{"GEOADD", "nokey", "XX", "1", "1", "m"},
       ":0\r\n"},
      {{"EXISTS", "nokey"},
       ":0\r\n"},
      {{"GEOPOS", "Sicily", "Palermo", "Catania", "NonExisting", "edge1", "edge2"},
       "*5\r\n*2\r\n$20\r\n13.40000241994857788\r\n$20\r\n38.10000081174143105\r\n*2\r\n$20\r\n"
       "15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*-1\r\n*2\r\n$3\r\n180\r\n$19\r\n"
       "85.0511287799999991\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n"},
      {{"GEOPOS", "nokey", "a", "b"},
       "*2\r\n*-1\r\n*-1\r\n"},
      {{"GEOPOS", "Sicily"},
       "*0\r\n"},
      {{"GEOHASH", "Sicily", "Palermo", "Catania", "nope", "edge1", "edge2", "Trapani"},
       "*6\r\n$11\r\nsqc88zvsdd0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n"
       "$11\r\nsq8d3pdhs70\r\n"},
      {{"GEOHASH", "nokey", "a"},
       "*1\r\n$-1\r\n"},
      {{"GEOHASH", "Sicily"},
       "*0\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "Catania"},
       "$11\r\n162484.5721\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "Catania", "km"},
       "$8\r\n162.4846\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "Catania", "MI"},
       "$8\r\n100.9635\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "Catania", "ft"},
       "$11\r\n533085.8665\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "Catania", "yd"},
       "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "Catania", "km", "extra"},
       "-ERR syntax error\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "nope"},
       "$-1\r\n"},
      {{"GEODIST", "nokey", "a", "b"},
       "$-1\r\n"},
      {{"GEODIST", "nokey", "a", "b", "yd"},
       "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "Palermo"},
       "$6\r\n0.0000\r\n"},
      {{"SET", "str", "x"},
       "+OK\r\n"},
      {{"GEOADD", "str", "1", "1", "m"},
       "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
      {{"GEOPOS", "str", "m"},
       "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
      {{"GEOHASH", "str", "m"},
       "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
      {{"GEODIST", "str", "a", "b"},
       "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
      {{"GEOSEARCH", "str", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
       "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
  });
}

// GEORADIUS[BYMEMBER][_RO], GEOSEARCH and GEOSEARCHSTORE: sorting, COUNT [ANY], WITH*, STORE/STOREDIST and the errors in Redis's order.
TEST_F(GeoTest, RadiusAndSearch) {
  Replay({
      {{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
       ":2\r\n"},
      {{"ZRANGE", "Sicily", "0", "-1", "WITHSCORES"},
       "*4\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"},
      {{"GEOADD", "Sicily", "NX", "13.361389", "38.115556", "Palermo", "12", "37", "Trapani"},
       ":1\r\n"},
      {{"GEOADD", "Sicily", "XX", "CH", "13.4", "38.1", "Palermo", "12.5", "37.8", "Marsala"},
       ":1\r\n"},
      {{"SET", "str", "x"},
       "+OK\r\n"},
      {{"GEORADIUS", "str", "15", "37", "200", "km"},
       "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km"},
       "*2\r\n$7\r\nPalermo\r\n$7\r\nCatania\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST"},
       "*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n186.7460\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD", "WITHDIST", "WITHHASH"},
       "*2\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n186.7460\r\n:3479099937378871\r\n*2\r\n$20\r\n13.40000241994857788\r\n"
       "$20\r\n38.10000081174143105\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n"
       "15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "ASC"},
       "*2\r\n$7\r\nCatania\r\n$7\r\nPalermo\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC", "WITHDIST"},
       "*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n186.7460\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1"},
       "*1\r\n$7\r\nCatania\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "2", "DESC"},
       "*2\r\n$7\r\nPalermo\r\n$7\r\nCatania\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "ANY"},
       "*1\r\n$7\r\nPalermo\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "ANY"},
       "-ERR the ANY argument requires COUNT argument\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "0"},
       "-ERR COUNT must be > 0\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "-3"},
       "-ERR COUNT must be > 0\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "x"},
       "-ERR value is not an integer or out of range\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT"},
       "-ERR syntax error\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "-1", "km"},
       "-ERR radius cannot be negative\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "abc", "km"},
       "-ERR need numeric radius\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "yd"},
       "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"},
      {{"GEORADIUS", "Sicily", "200", "37", "200", "km"},
       "-ERR invalid longitude,latitude pair 200.000000,37.000000\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "BADOPT"},
       "-ERR syntax error\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst"},
       ":2\r\n"},
      {{"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
       "*4\r\n$7\r\nPalermo\r\n$16\r\n3479099937378871\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst2"},
       ":2\r\n"},
      {{"ZRANGE", "dst2", "0", "-1", "WITHSCORES"},
       "*4\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$7\r\nPalermo\r\n$18\r\n186.74597615283065\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst", "WITHDIST"},
       "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"},
      {{"GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "dst"},
       ":0\r\n"},
      {{"EXISTS", "dst"},
       ":0\r\n"},
      {{"GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "dst2"},
       ":0\r\n"},
      {{"EXISTS", "dst2"},
       ":0\r\n"},
      {{"GEORADIUS", "nokey", "15", "37", "200", "km"},
       "*0\r\n"},
      {{"GEORADIUS", "nokey", "200", "37", "200", "km"},
       "-ERR invalid longitude,latitude pair 200.000000,37.000000\r\n"},
      {{"GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHDIST"},
       "*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n186.7460\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"},
      {{"GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "dst"},
       "-ERR syntax error\r\n"},
      {{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST"},
       "*3\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n*2\r\n$7\r\nCatania\r\n$8\r\n162.4846\r\n*2\r\n$7\r\n"
       "Trapani\r\n$8\r\n173.8074\r\n"},
      {{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST", "STOREDIST", "d3"},
       "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"},
      {{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "STOREDIST", "d3"},
       ":3\r\n"},
      {{"ZRANGE", "d3", "0", "-1", "WITHSCORES"},
       "*6\r\n$7\r\nPalermo\r\n$1\r\n0\r\n$7\r\nCatania\r\n$18\r\n162.48457209585908\r\n$7\r\nTrapani\r\n$18\r\n"
       "173.80740039659599\r\n"},
      {{"GEORADIUSBYMEMBER", "Sicily", "nope", "200", "km"},
       "-ERR could not decode requested zset member\r\n"},
      {{"GEORADIUSBYMEMBER", "nokey", "nope", "abc", "yd"},
       "*0\r\n"},
      {{"GEORADIUSBYMEMBER", "nokey", "nope", "abc", "yd", "BADOPT"},
       "-ERR syntax error\r\n"},
      {{"GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "100", "km"},
       "*1\r\n$7\r\nPalermo\r\n"},
      {{"GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "100", "km", "STORE", "x"},
       "-ERR syntax error\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km"},
       "*3\r\n$7\r\nPalermo\r\n$7\r\nCatania\r\n$7\r\nTrapani\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"},
       "*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n"
       "$20\r\n37.50266842333162032\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n186.7460\r\n:3479099937378871\r\n*2\r\n$20\r\n"
       "13.40000241994857788\r\n$20\r\n38.10000081174143105\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHDIST"},
       "*2\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n186.7460\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "DESC", "COUNT", "2", "WITHDIST"},
       "*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n186.7460\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "100", "100", "km"},
       "*0\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "-1", "100", "km"},
       "-ERR height or width cannot be negative\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "a", "100", "km"},
       "-ERR need numeric width\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "b", "km"},
       "-ERR need numeric height\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "yd"},
       "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "BYBOX", "1", "1", "km"},
       "-ERR syntax error\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
       "-ERR syntax error\r\n"},
      {{"GEOSEARCH", "Sicily", "BYRADIUS", "200", "km"},
       "-ERR wrong number of arguments for 'geosearch' command\r\n"},
      {{"geosearch", "Sicily", "FROMLONLAT", "15", "37", "WITHDIST"},
       "-ERR wrong number of arguments for 'geosearch' command\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STORE", "x"},
       "-ERR syntax error\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"},
       "-ERR syntax error\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", "200", "km"},
       "-ERR could not decode requested zset member\r\n"},
      {{"GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "200", "km"},
       "*0\r\n"},
      {{"GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "200", "yd"},
       "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "1", "ANY", "WITHDIST"},
       "*1\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n186.7460\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ANY"},
       "-ERR the ANY argument requires COUNT argument\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "500", "37", "BYRADIUS", "200", "km"},
       "-ERR invalid longitude,latitude pair 500.000000,37.000000\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "BYRADIUS", "200", "km"},
       "-ERR value is not a valid float\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200"},
       "-ERR syntax error\r\n"},
      {{"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
       ":2\r\n"},
      {{"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
       "*4\r\n$7\r\nPalermo\r\n$16\r\n3479099937378871\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"},
      {{"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"},
       ":2\r\n"},
      {{"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
       "*4\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$7\r\nPalermo\r\n$18\r\n186.74597615283065\r\n"},
      {{"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHDIST"},
       "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"},
      {{"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STORE", "x"},
       "-ERR syntax error\r\n"},
      {{"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "500", "500", "km", "DESC", "COUNT", "2", "STOREDIST"},
       ":2\r\n"},
      {{"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
       "*4\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$7\r\nPalermo\r\n$18\r\n186.74597615283065\r\n"},
      {{"GEOSEARCHSTORE", "dst", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
       ":0\r\n"},
      {{"EXISTS", "dst"},
       ":0\r\n"},
      {{"GEOSEARCHSTORE", "Sicily", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "100", "km"},
       ":1\r\n"},
      {{"ZRANGE", "Sicily", "0", "-1", "WITHSCORES"},
       "*2\r\n$7\r\nPalermo\r\n$16\r\n3479099937378871\r\n"},
      {{"GEOSEARCHSTORE", "str2", "str", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
       "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
      {{"ZADD", "plain", "1", "a", "-5", "b", "1e300", "c", "4503599627370496", "d"},
       ":4\r\n"},
      {{"GEOPOS", "plain", "a", "b", "c", "d"},
       "*4\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112497791824921\r\n*2\r\n$3\r\n180\r\n$19\r\n"
       "85.0511287799999991\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n*2\r\n"
       "$22\r\n-179.99999731779098511\r\n$19\r\n85.0511287799999991\r\n"},
      {{"GEOHASH", "plain", "a", "b", "c", "d"},
       "*4\r\n$11\r\n00bh0hbj210\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n$11\r\nbp05b5048p0\r\n"},
  });
}

// Members GEOADD did not score, the antimeridian, the poles' limits and tiny radii.
TEST_F(GeoTest, ScoresNotWrittenByGeoaddAndEdges) {
  Replay({
      {{"GEODIST", "plain", "a", "b"},
       "$-1\r\n"},
      {{"GEOADD", "big", "0", "0", "a", "0.0001", "0", "b", "179.9", "0", "c", "-179.9", "0", "d", "0", "85", "e", "0", "-85", "f"},
       ":6\r\n"},
      {{"GEOSEARCH", "big", "FROMLONLAT", "0", "0", "BYRADIUS", "30000", "km", "ASC"},
       "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\nc\r\n$1\r\nd\r\n"},
      {{"GEOSEARCH", "big", "FROMLONLAT", "0", "0", "BYRADIUS", "30000", "km"},
       "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\ne\r\n$1\r\nc\r\n$1\r\nf\r\n$1\r\nd\r\n"},
      {{"GEOSEARCH", "big", "FROMLONLAT", "180", "0", "BYRADIUS", "1000", "km", "WITHDIST"},
       "*1\r\n*2\r\n$1\r\nc\r\n$7\r\n11.1227\r\n"},
      {{"GEOSEARCH", "big", "FROMLONLAT", "0", "0", "BYRADIUS", "0", "m", "WITHDIST"},
       "*0\r\n"},
      {{"GEOSEARCH", "big", "FROMLONLAT", "0", "84", "BYBOX", "2000", "400", "km", "WITHDIST"},
       "*1\r\n*2\r\n$1\r\ne\r\n$8\r\n111.2263\r\n"},
      {{"GEOSEARCH", "big", "FROMLONLAT", "0", "0", "BYRADIUS", "20", "m", "WITHDIST"},
       "*2\r\n*2\r\n$1\r\na\r\n$6\r\n0.3300\r\n*2\r\n$1\r\nb\r\n$7\r\n11.0392\r\n"},
      {{"GEORADIUS", "big", "0", "0", "20", "ft", "WITHDIST"},
       "*1\r\n*2\r\n$1\r\na\r\n$6\r\n1.0825\r\n"},
      {{"GEORADIUS", "big", "0", "0", "0.01", "mi", "WITHDIST", "WITHCOORD"},
       "*2\r\n*3\r\n$1\r\na\r\n$6\r\n0.0002\r\n*2\r\n$19\r\n0.00000268220901489\r\n$19\r\n0.00000126736058093\r\n"
       "*3\r\n$1\r\nb\r\n$6\r\n0.0069\r\n*2\r\n$19\r\n0.00009924173355103\r\n$19\r\n0.00000126736058093\r\n"},
  });
}

// Coordinates are RESP3 doubles, WITHDIST and hashes stay bulk strings and integers.
TEST_F(GeoTest, Resp3) {
  Replay({
      {{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
       ":2\r\n"},
      {{"HELLO", "3"}, ""},
      {{"GEOPOS", "Sicily", "Palermo", "nope"},
       "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"},
      {{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"},
       "*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n,15.08726745843887329\r\n"
       ",37.50266842333162032\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n"
       ",13.36138933897018433\r\n,38.11555639549629859\r\n"},
      {{"GEOHASH", "Sicily", "nope"},
       "*1\r\n_\r\n"},
      {{"GEODIST", "Sicily", "Palermo", "nope"},
       "_\r\n"},
  });
}

TEST_F(GeoTest, PersistNamespaceRefusesGeoAsOtherContainers) {
  EXPECT_EQ(table_.Find("geoadd")->flags & kContainer, static_cast<uint32_t>(kContainer));
  EXPECT_EQ(table_.Find("georadius_ro")->flags & kWrite, 0u);
  EXPECT_EQ(table_.Find("geosearchstore")->last_key, 2);
}

}  // namespace
}  // namespace strata::cache::resp
