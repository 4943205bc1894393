// System tests: the real `strata cache` process on free ports, driven by the
// real clients (memccapable, redis-cli, redis-benchmark's peers) and by raw
// sockets for the robustness cases. redis-cli sessions are replayed against a
// real redis-server too, so replies and error wording must match Redis's.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cache/testing/process.h"

namespace strata::cache::testing {
namespace {

std::string Resp(const std::vector<std::string>& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

TEST(CacheSystem, MemcapableAsciiPasses) {
  if (!HaveProgram("memccapable")) GTEST_SKIP() << "memccapable not installed";
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  RunResult r = RunProgram({"memccapable", "-a", "-h", "127.0.0.1", "-p", std::to_string(p.memcache_port())});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("[FAIL]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ascii prepend noreply"), std::string::npos) << r.out;
}

// One command per line, as typed into redis-cli; replies must equal Redis's.
const char* kSession = R"(PING
ECHO hello
SET s1 hello
GET s1
SET s1 world XX GET
SET s2 v NX
SET s2 v2 NX
SET s2 v3 NX GET
APPEND s1 !!
STRLEN s1
GETRANGE s1 0 2
GETRANGE s1 -3 -1
SETRANGE s1 2 XY
GET s1
MSET m1 a m2 b
MGET m1 m2 nosuch
MSETNX m1 x m3 y
SETNX m3 z
GETSET m3 q
GETDEL m3
GET m3
INCR cnt
INCRBY cnt 10
DECR cnt
DECRBY cnt 3
INCRBYFLOAT f 1.5
INCRBYFLOAT f 2.25
INCR s1
INCRBY cnt notanumber
SET big 9223372036854775807
INCR big
SET e1 v EX 100
TTL e1
PTTL nosuch
PERSIST e1
TTL e1
EXPIRE e1 100 XX
EXPIRE e1 50
EXPIRE e1 60 GT
EXPIRE e1 10 GT
TTL e1
EXPIRE e1 10 NX
SETEX e3 100 v
TTL e3
PSETEX e4 100000 v
GETEX e4 PERSIST
TTL e4
GETEX e4 EX 200
TTL e4
EXISTS s1 m1 nosuch
TYPE s1
TYPE nosuch
RENAME m1 m1b
GET m1b
RENAME nosuch x
RENAMENX m1b m2
DEL m1b m2 nosuch
UNLINK s2
HSET h f1 v1 f2 v2
HGET h f1
HMGET h f1 nosuch f2
HSETNX h f1 x
HLEN h
HEXISTS h f2
HINCRBY h n 5
HINCRBYFLOAT h fl 0.5
HDEL h f2 nosuch
HSTRLEN h f1
HGET s1 f
HSET h onlykey
HINCRBY h f1 1
RPUSH l a b c
LPUSH l z
LRANGE l 0 -1
LLEN l
LINDEX l -1
LSET l 0 Z
LSET l 99 x
LINSERT l BEFORE b bb
LREM l 1 bb
LTRIM l 0 2
LRANGE l 0 -1
LPOP l
RPOP l 2
RPUSH l p q r
RPOPLPUSH l l2
LMOVE l2 l LEFT RIGHT
LRANGE l 0 -1
BLPOP l 1
BRPOP l 1
BLPOP emptylist 0.05
LPUSHX nosuchlist a
LPUSH s1 x
SADD st a b c
SADD st a
SCARD st
SISMEMBER st a
SMISMEMBER st a x
SREM st b x
SADD st2 c d
SINTER st st2
SUNIONSTORE su st st2
SCARD su
SDIFF st st2
SMOVE st st2 a
SISMEMBER st2 a
SINTERSTORE si st st2
SPOP nosuchset
ZADD z 1 a 2 b 3 c
ZADD z XX CH 5 a
ZADD z NX 10 a 4 d
ZADD z GT 1 d
ZADD z INCR 2 d
ZINCRBY z 1.5 b
ZSCORE z b
ZMSCORE z b nosuch
ZRANK z d
ZREVRANK z d
ZRANGE z 0 -1 WITHSCORES
ZRANGE z 2 4 BYSCORE
ZRANGE z (3 +inf BYSCORE LIMIT 0 1
ZRANGE z +inf -inf BYSCORE REV WITHSCORES
ZRANGE z 0 1 REV
ZRANGEBYSCORE z -inf 4
ZREVRANGEBYSCORE z +inf (3.5
ZREVRANGE z 0 1
ZCOUNT z 2 5
ZCARD z
ZPOPMIN z
ZPOPMAX z 2
ZREM z c nosuch
ZADD lex 0 a 0 b 0 c 0 d
ZRANGE lex [b (d BYLEX
ZRANGEBYLEX lex - +
ZREVRANGEBYLEX lex + [b
ZLEXCOUNT lex - (c
ZREMRANGEBYRANK lex 0 0
ZREMRANGEBYSCORE lex -inf +inf
EXISTS lex
ZADD z notafloat a
ZADD z 1
ZRANGE z 0 -1 LIMIT 0 1
TYPE h
TYPE l
TYPE st
TYPE z
SELECT 3
SET x in3
SELECT 0
GET x
SELECT 3
GET x
DBSIZE
FLUSHDB
DBSIZE
SELECT 0
SELECT 99999
GETRANGE s1 a b
NOSUCHCOMMAND a
GET
SET a b EX 0
SET a b FOO
SET a b NX XX
EXPIRE s1 abc
MULTI
SET tx 1
INCR tx
GET tx
EXEC
EXEC
DISCARD
MULTI
MULTI
WATCH tx
SET tx 5
NOSUCHCMD x
EXEC
GET tx
MULTI
SET tx
EXEC
MULTI
INCR s1
SET tx2 v
EXEC
WATCH tx tx2
UNWATCH
MULTI
DISCARD
PUBLISH news hello
SPUBLISH news hello
PUBSUB NUMSUB news other
PUBSUB NUMPAT
PUBSUB CHANNELS
PUBSUB SHARDNUMSUB news
PUBSUB SHARDCHANNELS n*
PUBSUB CHANNELS a b
PUBSUB NUMPAT x
PUBSUB FOO
PUBSUB HELP
PUBLISH a
CONFIG SET notify-keyspace-events KEA
CONFIG GET notify-keyspace-events
CONFIG SET notify-keyspace-events Kl$
CONFIG GET notify-keyspace-events
CONFIG SET notify-keyspace-events Q
CONFIG SET notify-keyspace-events ""
CONFIG GET client-output-buffer-limit
CONFIG SET client-output-buffer-limit "pubsub 32mb 8mb"
RESET
KEYS s1
KEYS m?
DEL s1 cnt f big e1 e3 e4 h l l2 st st2 su si z lex tx tx2
DBSIZE
)";

// Replays `session` through redis-cli against a fresh redis-server and a
// fresh strata cache; every reply line must be identical.
void ExpectSessionMatchesRedis(const std::string& session, int min_lines) {
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  int redis_port = FreePort();
  std::string dir = MakeTempDir();
  pid_t redis = fork();
  if (redis == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    execlp("redis-server", "redis-server", "--port", std::to_string(redis_port).c_str(), "--save", "", "--appendonly", "no",
           "--dir", dir.c_str(), "--logfile", (dir + "/redis.log").c_str(), nullptr);
    _exit(127);
  }
  ASSERT_TRUE(WaitFor([&] { return Client(redis_port).Command("PING\r\n").find("PONG") != std::string::npos; },
                      std::chrono::seconds(10)));
  RunResult theirs = RunProgram({"redis-cli", "-p", std::to_string(redis_port)}, session);
  RunResult ours = RunProgram({"redis-cli", "-p", std::to_string(p.resp_port())}, session);
  kill(redis, SIGKILL);
  waitpid(redis, nullptr, 0);
  ASSERT_EQ(theirs.exit_code, 0);
  ASSERT_EQ(ours.exit_code, 0);
  std::istringstream a(theirs.out), b(ours.out);
  std::string la, lb;
  int line = 0;
  while (std::getline(a, la)) {
    ASSERT_TRUE(std::getline(b, lb)) << "strata reply ended early at line " << line;
    EXPECT_EQ(lb, la) << "reply line " << line;
    line++;
  }
  EXPECT_FALSE(std::getline(b, lb)) << "extra strata output: " << lb;
  EXPECT_GT(line, min_lines);
}

TEST(CacheSystem, RedisCliSessionMatchesRedis) {
  if (!HaveProgram("redis-cli") || !HaveProgram("redis-server")) GTEST_SKIP() << "redis tools not installed";
  ExpectSessionMatchesRedis(kSession, 150);
}

// Bitmaps and HyperLogLogs: replies, error texts and the stored bytes (GET
// of a bitmap or of an HLL in both its sparse and dense forms).
const char* kBitSession = R"(SETBIT b 7 1
SETBIT b 7 1
SETBIT b 100 1
GETBIT b 100
GETBIT b 4294967295
GET b
SETBIT b -1 1
SETBIT b 01 1
SETBIT b 4294967296 1
SETBIT b 1 2
SETBIT b 1 -0
GETBIT b x
SET s foobar
BITCOUNT s
BITCOUNT s 1 1
BITCOUNT s 1 1 BYTE
BITCOUNT s 5 30 BIT
BITCOUNT s -2 -1
BITCOUNT s -1 -2
BITCOUNT s -100 100 bit
BITCOUNT s 1
BITCOUNT s 0 1 WORD
BITCOUNT s a 1
BITCOUNT nosuch a b
BITPOS s 1
BITPOS s 0
BITPOS s 1 2
BITPOS s 0 2 -1 BYTE
BITPOS s 1 7 15 BIT
BITPOS s 0 8 19 BIT
BITPOS s 1 100
BITPOS s 2
BITPOS s 1 0 1 BYTES
BITPOS nosuch 0
BITPOS nosuch 1 a
SET ff "ÿÿ"
BITPOS ff 0
BITPOS ff 0 1
BITPOS ff 0 0 -1
SET e ""
BITPOS e 0
BITCOUNT e
SET a abcdef
BITOP AND d s a
GET d
BITOP OR d s a
GET d
BITOP XOR d s a
GET d
BITOP NOT d s
GET d
BITOP AND d s nosuch
GET d
BITOP OR d nosuch other
EXISTS d
BITOP NOT d s a
BITOP NAND d s
LPUSH l x
BITOP OR d l
SETBIT l 1 1
BITCOUNT l
BITFIELD l GET u8 0
BITFIELD f SET i8 0 100 GET i8 0 INCRBY u4 #3 7
GET f
BITFIELD f GET u63 0 GET i64 0 GET i1 1 GET u8 100000
BITFIELD f GET u64 0
BITFIELD f GET I8 0
BITFIELD f GET u8 #-1
BITFIELD f GET u8
BITFIELD f SET u8 0 x
BITFIELD f OVERFLOW CLAMP
BITFIELD f
BITFIELD o SET u8 0 250 INCRBY u8 0 10
BITFIELD o OVERFLOW SAT INCRBY u8 0 300 INCRBY u8 0 -300
BITFIELD o OVERFLOW FAIL INCRBY u8 0 256 INCRBY u8 0 255 OVERFLOW WRAP INCRBY u8 0 2
BITFIELD o SET i8 0 127 INCRBY i8 0 1
BITFIELD o OVERFLOW SAT INCRBY i8 0 -1000 SET i8 0 1000
BITFIELD o OVERFLOW FAIL SET i8 0 128 GET i8 0
BITFIELD o SET i64 0 9223372036854775807 INCRBY i64 0 1
BITFIELD o OVERFLOW SAT INCRBY i64 0 -1
BITFIELD o SET u2 100 -1 GET u2 100
GET o
BITFIELD_RO o GET u1 0 GET i2 0
BITFIELD_RO o SET u1 0 0
BITFIELD_RO nosuch GET u8 0
EXISTS nosuch
PFADD h
GET h
PFCOUNT h
GET h
PFADD h a b c
PFADD h a
GET h
PFCOUNT h
GET h
PFCOUNT h nosuch
PFADD s x
PFCOUNT s
PFCOUNT h s
PFMERGE h s
PFADD l x
PFCOUNT nosuch
SET bad "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00"
PFCOUNT bad
PFADD bad a
PFMERGE d bad
SET bad2 "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe"
PFADD bad2 a b c
GET bad2
PFCOUNT bad2
SET bad3 "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
PFCOUNT bad3
PFADD
)";

// PFADD of `n` elements named prefix0.. as one redis-cli line.
std::string PfAddLine(const std::string& key, const std::string& prefix, int from, int to) {
  std::string line = "PFADD " + key;
  for (int i = from; i < to; i++) line += " " + prefix + std::to_string(i);
  return line + "\n";
}

TEST(CacheSystem, RedisCliBitmapAndHllSessionMatchesRedis) {
  if (!HaveProgram("redis-cli") || !HaveProgram("redis-server")) GTEST_SKIP() << "redis tools not installed";
  // Sparse HLLs, their promotion to dense, merges of both, and the bytes.
  std::string session = kBitSession;
  session += PfAddLine("s1", "x", 0, 301) + PfAddLine("s2", "x", 200, 601) + PfAddLine("big", "x", 0, 5000);
  session += "GET s1\nPFCOUNT s1 s2\nPFMERGE m s1 s2\nGET m\nPFCOUNT m\nGET m\nSTRLEN big\nGET big\nPFCOUNT big\n";
  session += "GET big\nPFMERGE m2 s1 big\nGET m2\nPFCOUNT m2 s2 big\nPFMERGE big s2\nPFCOUNT big\nPFADD big y1 y2 y3\nGET big\n";
  ExpectSessionMatchesRedis(session, 150);
}

TEST(CacheSystem, RedisCliServerCommands) {
  CacheProcess p({"--password", "sekret"});
  ASSERT_TRUE(p.ready()) << p.Log();
  std::string port = std::to_string(p.resp_port());
  EXPECT_NE(RunProgram({"redis-cli", "-p", port, "GET", "x"}).out.find("NOAUTH"), std::string::npos);
  EXPECT_NE(RunProgram({"redis-cli", "-p", port, "AUTH", "wrong"}).out.find("WRONGPASS"), std::string::npos);
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"redis-cli", "-p", port, "-a", "sekret", "--no-auth-warning"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv).out;
  };
  EXPECT_EQ(cli({"SET", "k", "v"}), "OK\n");
  EXPECT_NE(cli({"INFO"}).find("# Keyspace\r\ndb0:keys=1"), std::string::npos);
  EXPECT_NE(cli({"INFO", "memory"}).find("maxmemory:67108864"), std::string::npos);
  EXPECT_EQ(cli({"CONFIG", "GET", "maxmemory"}), "maxmemory\n67108864\n");
  EXPECT_NE(cli({"CONFIG", "SET", "maxmemory", "1"}).find("ERR"), std::string::npos);
  EXPECT_NE(cli({"CLIENT", "ID"}), "");
  EXPECT_EQ(cli({"CLIENT", "GETNAME"}), "\n");
  EXPECT_NE(cli({"CLIENT", "LIST"}).find("id="), std::string::npos);
  EXPECT_NE(cli({"COMMAND", "COUNT"}), "0\n");
  EXPECT_NE(cli({"COMMAND", "INFO", "get"}).find("get"), std::string::npos);
  EXPECT_EQ(cli({"DEBUG", "SLEEP", "0"}), "OK\n");
  EXPECT_NE(cli({"HELLO", "3"}).find("proto"), std::string::npos);
  // Raw RESP3: HELLO switches the encoding of maps and doubles.
  Client c(p.resp_port());
  EXPECT_EQ(c.Command(Resp({"AUTH", "sekret"})), "+OK\r\n");
  EXPECT_EQ(c.Command(Resp({"HELLO", "3"}), "modules\r\n*0\r\n").substr(0, 3), "%7\r");
  c.Command(Resp({"ZADD", "z", "1.5", "a"}));
  EXPECT_EQ(c.Command(Resp({"ZSCORE", "z", "a"})), ",1.5\r\n");
  c.Command(Resp({"HSET", "h", "f", "v"}));
  EXPECT_EQ(c.Command(Resp({"HGETALL", "h"}), "v\r\n"), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
  EXPECT_EQ(c.Command(Resp({"GET", "nosuch"})), "_\r\n");
  EXPECT_EQ(c.Command(Resp({"QUIT"})), "+OK\r\n");
  EXPECT_TRUE(c.WaitClosed());
}

TEST(CacheSystem, BlpopWakesOnPushFromAnotherClient) {
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  Client waiter(p.resp_port()), pusher(p.resp_port()), admin(p.resp_port());
  waiter.Send(Resp({"BLPOP", "q1", "q2", "0"}));
  ASSERT_TRUE(WaitFor([&] { return admin.Command(Resp({"INFO", "clients"}), "\r\n\r\n").find("blocked_clients:1") != std::string::npos; },
                      std::chrono::seconds(10)));
  EXPECT_EQ(pusher.Command(Resp({"RPUSH", "q2", "job"})), ":1\r\n");
  EXPECT_EQ(waiter.ReadUntilSuffix("job\r\n"), "*2\r\n$2\r\nq2\r\n$3\r\njob\r\n");
  // A timeout yields a null array and the connection keeps working.
  EXPECT_EQ(waiter.Command(Resp({"BRPOP", "q1", "0.05"})), "*-1\r\n");
  EXPECT_EQ(waiter.Command(Resp({"PING"})), "+PONG\r\n");
}

// Bitmaps and HLLs are plain strings to the engines: on the persist engine
// they are acknowledged durably and read back the same after a SIGKILL.
TEST(CacheSystem, BitmapsAndHllsOnThePersistEngineSurviveSigkill) {
  std::string dir = MakeTempDir();
  CacheProcess p({"--data-dir", dir, "--namespace", "id=2,name=bits,engine=persist"}, dir);
  ASSERT_TRUE(p.ready()) << p.Log();
  std::string hll_bytes;
  {
    Client c(p.resp_port());
    EXPECT_EQ(c.Command(Resp({"SELECT", "2"})), "+OK\r\n");
    EXPECT_EQ(c.Command(Resp({"SETBIT", "b", "1000", "1"})), ":0\r\n");
    EXPECT_EQ(c.Command(Resp({"BITFIELD", "b", "INCRBY", "u8", "#0", "200", "INCRBY", "u8", "#0", "100"})),
              "*2\r\n:200\r\n:44\r\n");
    std::vector<std::string> add = {"PFADD", "h"};
    for (int i = 0; i < 2000; i++) add.push_back("m" + std::to_string(i));
    EXPECT_EQ(c.Command(Resp(add)), ":1\r\n");
    std::string n = c.Command(Resp({"PFCOUNT", "h"}));
    hll_bytes = c.Command(Resp({"STRLEN", "h"})) + c.Command(Resp({"BITCOUNT", "h"}));  // a fingerprint of the bytes
    EXPECT_EQ(c.Command(Resp({"BITCOUNT", "b"})), ":4\r\n");
    EXPECT_EQ(p.Stop(SIGKILL), 128 + SIGKILL);
    ASSERT_TRUE(p.Restart()) << p.Log();
    Client d(p.resp_port());
    d.Command(Resp({"SELECT", "2"}));
    EXPECT_EQ(d.Command(Resp({"GETBIT", "b", "1000"})), ":1\r\n");
    EXPECT_EQ(d.Command(Resp({"BITFIELD_RO", "b", "GET", "u8", "0"})), "*1\r\n:44\r\n");
    EXPECT_EQ(d.Command(Resp({"PFCOUNT", "h"})), n);
    EXPECT_EQ(d.Command(Resp({"STRLEN", "h"})) + d.Command(Resp({"BITCOUNT", "h"})), hll_bytes);
  }
}

TEST(CacheSystem, PersistNamespaceSurvivesSigkill) {
  std::string dir = MakeTempDir();
  CacheProcess p({"--data-dir", dir, "--namespace", "id=2,name=counters,engine=persist"}, dir);
  ASSERT_TRUE(p.ready()) << p.Log();
  {
    Client c(p.resp_port());
    EXPECT_EQ(c.Command(Resp({"SELECT", "2"})), "+OK\r\n");
    std::string batch;
    for (int i = 0; i < 10000; i++) batch += Resp({"INCR", "counter"});
    c.Send(batch);
    // Every INCR acknowledged before the kill.
    std::string replies = c.ReadUntilSuffix(":10000\r\n");
    ASSERT_TRUE(replies.ends_with(":10000\r\n"));
    EXPECT_NE(c.Command(Resp({"HSET", "h", "f", "v"})).find("persist engine"), std::string::npos);
  }
  // memcached clients reach the namespace through its name prefix.
  Client m(p.memcache_port());
  EXPECT_EQ(m.Command("get counters:counter\r\n", "END\r\n"), "VALUE counters:counter 0 5\r\n10000\r\nEND\r\n");
  EXPECT_EQ(p.Stop(SIGKILL), 128 + SIGKILL);
  ASSERT_TRUE(p.Restart()) << p.Log();
  Client c(p.resp_port());
  c.Command(Resp({"SELECT", "2"}));
  EXPECT_EQ(c.Command(Resp({"GET", "counter"}), "\r\n10000\r\n"), "$5\r\n10000\r\n");
  EXPECT_EQ(c.Command(Resp({"DBSIZE"})), ":1\r\n");
}

TEST(CacheSystem, BadInputGetsClearErrorsAndServerSurvives) {
  CacheProcess p({"--max-value-size", "1M"});
  ASSERT_TRUE(p.ready()) << p.Log();
  {
    Client c(p.resp_port());
    EXPECT_EQ(c.Command("*1\r\n$1073741824\r\n"), "-ERR Protocol error: invalid bulk length\r\n");
    EXPECT_TRUE(c.WaitClosed());
  }
  {
    Client c(p.resp_port());  // a value over the maximum
    c.Send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
    EXPECT_EQ(c.ReadUntilSuffix("\r\n"), "-ERR Protocol error: invalid bulk length\r\n");
  }
  {
    Client c(p.resp_port());  // garbage, then a valid command on the same connection
    EXPECT_NE(c.Command(std::string("\x01\x02\xff garbage\r\n")).find("-ERR unknown command"), std::string::npos);
    EXPECT_EQ(c.Command("PING\r\n"), "+PONG\r\n");
  }
  {
    Client c(p.resp_port());  // an unterminated inline line
    c.Send(std::string(100000, 'x'));
    EXPECT_NE(c.ReadUntilSuffix("\r\n").find("too big inline request"), std::string::npos);
    EXPECT_TRUE(c.WaitClosed());
  }
  {
    Client c(p.resp_port());
    EXPECT_NE(c.Command("*2\r\n$3\r\nGET\r\n:5\r\n").find("Protocol error"), std::string::npos);
  }
  {
    Client m(p.memcache_port());  // oversized value: refused, data swallowed, connection in sync
    std::string big(2 << 20, 'v');
    EXPECT_EQ(m.Command("set k 0 0 " + std::to_string(big.size()) + "\r\n"), "SERVER_ERROR object too large for cache\r\n");
    m.Send(big + "\r\n");
    EXPECT_EQ(m.Command("set k 0 0 1\r\nv\r\n"), "STORED\r\n");
    EXPECT_EQ(m.Command("set k 0 0 -1\r\n"), "CLIENT_ERROR bad command line format\r\n");
    EXPECT_EQ(m.Command("set k 0 0 1\r\nvXX\r\n"), "CLIENT_ERROR bad data chunk\r\n");
    EXPECT_EQ(m.Command("bogus\r\n"), "ERROR\r\n");
    EXPECT_EQ(m.Command("get " + std::string(300, 'k') + "\r\n"), "CLIENT_ERROR bad command line format\r\n");
    EXPECT_EQ(m.Command("incr k 1\r\n"), "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
  }
  {
    Client m(p.memcache_port());
    m.Send(std::string(20000, 'y'));
    EXPECT_EQ(m.ReadUntilSuffix("\r\n"), "CLIENT_ERROR line too long\r\n");
    EXPECT_TRUE(m.WaitClosed());
  }
  {
    Client m(p.memcache_port());  // binary protocol: declined by closing
    m.Send(std::string("\x80\x0a\x00\x00", 4) + std::string(20, '\0'));
    EXPECT_TRUE(m.WaitClosed());
  }
  Client c(p.resp_port());
  EXPECT_EQ(c.Command("PING\r\n"), "+PONG\r\n");
  EXPECT_EQ(p.Stop(SIGTERM), 0) << p.Log();
}

TEST(CacheSystem, MemcacheMetaCommands) {
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  Client m(p.memcache_port());
  EXPECT_EQ(m.Command("ms foo 2 T0 F5\r\nhi\r\n"), "HD\r\n");
  EXPECT_EQ(m.Command("mg foo v f t s k Oxy\r\n", "hi\r\n"), "VA 2 f5 t-1 s2 kfoo Oxy\r\nhi\r\n");
  EXPECT_EQ(m.Command("mg nope v\r\n"), "EN\r\n");
  EXPECT_EQ(m.Command("mg nope v q\r\nmn\r\n"), "MN\r\n");
  EXPECT_EQ(m.Command("ms foo 1 MA\r\n!\r\n"), "HD\r\n");
  EXPECT_EQ(m.Command("mg foo v\r\n", "hi!\r\n"), "VA 3\r\nhi!\r\n");
  EXPECT_EQ(m.Command("ms foo 1 ME\r\nx\r\n"), "NS\r\n");
  EXPECT_EQ(m.Command("ma cnt\r\n"), "NF\r\n");
  EXPECT_EQ(m.Command("ma cnt N0 J10 v\r\n", "10\r\n"), "VA 2\r\n10\r\n");
  EXPECT_EQ(m.Command("ma cnt D5 v\r\n", "15\r\n"), "VA 2\r\n15\r\n");
  EXPECT_EQ(m.Command("ma cnt MD D20 v\r\n", "0\r\n"), "VA 1\r\n0\r\n");
  EXPECT_EQ(m.Command("md foo C1\r\n"), "EX\r\n");
  EXPECT_EQ(m.Command("md foo\r\n"), "HD\r\n");
  EXPECT_EQ(m.Command("md foo\r\n"), "NF\r\n");
  EXPECT_EQ(m.Command("gat 100 cnt\r\n", "END\r\n"), "VALUE cnt 0 1\r\n0\r\nEND\r\n");
  EXPECT_EQ(m.Command("touch cnt 10\r\n"), "TOUCHED\r\n");
  EXPECT_NE(m.Command("stats slabs\r\n", "END\r\n").find("chunk_size"), std::string::npos);
  EXPECT_NE(m.Command("stats items\r\n", "END\r\n").find("items:"), std::string::npos);
  EXPECT_NE(m.Command("stats\r\n", "END\r\n").find("STAT evictions"), std::string::npos);
}

TEST(CacheSystem, NamespaceQuotaAndRateLimitGiveClearErrors) {
  CacheProcess p({"--namespace", "id=4,quota=1M", "--namespace", "id=6,name=slow,ops=20"});
  ASSERT_TRUE(p.ready()) << p.Log();
  Client c(p.resp_port());
  c.Command(Resp({"SELECT", "4"}));
  std::string value(10000, 'q'), reply;
  for (int i = 0; i < 400 && reply.find("OOM") == std::string::npos; i++) {
    reply = c.Command(Resp({"SET", "k" + std::to_string(i), value}));
  }
  EXPECT_NE(reply.find("-OOM namespace '4' is over its memory quota"), std::string::npos) << reply;
  c.Command(Resp({"SELECT", "6"}));
  std::string batch;
  for (int i = 0; i < 100; i++) batch += Resp({"GET", "x"});
  c.Send(batch);
  std::string out = c.ReadUntil([](const std::string& b) {
    size_t n = 0;
    for (size_t pos = 0; (pos = b.find("\r\n", pos)) != std::string::npos; pos += 2) n++;
    return n >= 100;
  });
  EXPECT_NE(out.find("-ERR namespace 'slow' is over its limit of 20 ops/s"), std::string::npos);
  Client m(p.memcache_port());
  std::string mc;
  for (int i = 0; i < 100 && mc.find("SERVER_ERROR") == std::string::npos; i++) mc = m.Command("get slow:x\r\n");
  EXPECT_NE(mc.find("SERVER_ERROR namespace 'slow' is over its limit"), std::string::npos);
}

TEST(CacheSystem, MemoryLimitHoldsUnderLoad) {
  CacheProcess p({"--memory", "256M"});
  ASSERT_TRUE(p.ready()) << p.Log();
  Client c(p.resp_port());
  // 2 GiB of values of mixed sizes (1 KiB .. 64 KiB) in pipelined batches.
  uint64_t written = 0;
  uint64_t seq = 0;
  std::string batch;
  while (written < (2ull << 30)) {
    batch.clear();
    int n = 0;
    for (; n < 64; n++) {
      size_t len = 1024u << (seq % 7);
      batch += Resp({"SET", "key:" + std::to_string(seq++), std::string(len, static_cast<char>('a' + seq % 26))});
      written += len;
    }
    c.Send(batch);
    std::string replies = c.ReadUntil([&](const std::string& b) { return b.size() >= static_cast<size_t>(5 * n); });
    ASSERT_EQ(replies.size(), static_cast<size_t>(5 * n)) << replies.substr(0, 200);
  }
  uint64_t rss = RssBytes(p.pid());
  EXPECT_LT(rss, static_cast<uint64_t>(1.2 * (256ull << 20))) << "RSS " << rss;
  std::string info = c.Command(Resp({"INFO", "stats"}), "\r\n\r\n");
  EXPECT_EQ(info.find("evicted_keys:0\r"), std::string::npos) << info;
  // The newest keys are there.
  EXPECT_NE(c.Command(Resp({"STRLEN", "key:" + std::to_string(seq - 1)})), ":0\r\n");
}

TEST(CacheSystem, MetricsAndStatusEndpoints) {
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  Client c(p.resp_port());
  for (int i = 0; i < 200; i++) c.Command(Resp({"INCR", "hot"}));
  c.Send(Resp({"HOTKEYS", "COUNT", "1"}));
  std::string hot = c.ReadUntil([](const std::string& b) {
    size_t lv = b.find("level\r\n:");
    return lv != std::string::npos && b.ends_with("\r\n") && b.size() > lv + 9;
  });
  EXPECT_NE(hot.find("hot"), std::string::npos) << hot;
  auto get = [&](const std::string& path) {
    Client h(p.http_port());
    h.Send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    // Complete once the headers and Content-Length bytes of body are in.
    return h.ReadUntil([](const std::string& b) {
      size_t end = b.find("\r\n\r\n");
      size_t cl = b.find("Content-Length: ");
      if (end == std::string::npos || cl == std::string::npos) return false;
      return b.size() >= end + 4 + std::stoul(b.substr(cl + 16));
    });
  };
  EXPECT_NE(get("/metrics").find("strata_cache_commands_total{proto=\"resp\"}"), std::string::npos);
  std::string status = get("/status");
  EXPECT_NE(status.find("\"role\": \"cache\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"hotkeys\""), std::string::npos);
  Client m(p.memcache_port());
  EXPECT_NE(m.Command("stats hotkeys\r\n", "END\r\n").find("key=hot"), std::string::npos);
  EXPECT_EQ(p.Stop(SIGTERM), 0);
}

// redis-py, as a Redis user runs it: the default transactional pipeline, a
// queueing error (nothing may be applied), and WATCH retried on conflict
// through redis-py's transaction() helper while another connection writes.
const char* kRedisPyTransactions = R"(
import sys, redis
sys.stderr = sys.stdout
port = int(sys.argv[1])
r = redis.Redis(port=port)
other = redis.Redis(port=port)
p = r.pipeline()
p.set('a', '1').incr('a').get('a')
assert p.execute() == [True, 2, b'2'], 'pipeline'
p = r.pipeline()
p.set('b', '1').execute_command('NOSUCHCMD', 'x').incr('b')
try:
    p.execute()
    raise SystemExit('a queueing error must fail the transaction')
except redis.exceptions.ResponseError as e:
    assert 'EXECABORT' in str(e) or 'unknown command' in str(e), str(e)
assert r.get('b') is None, 'a failed transaction applied a write'
attempts = []
def add_one(pipe):
    v = int(pipe.get('w') or 0)
    attempts.append(v)
    if len(attempts) == 1:
        other.set('w', '100')
    pipe.multi()
    pipe.set('w', v + 1)
r.transaction(add_one, 'w')
assert attempts == [0, 100], attempts
assert r.get('w') == b'101', r.get('w')
with r.pipeline() as pipe:
    pipe.watch('w')
    pipe.multi()
    pipe.incr('w')
    other.incr('w')
    try:
        pipe.execute()
        raise SystemExit('EXEC ran over a watched write')
    except redis.exceptions.WatchError:
        pass
assert r.get('w') == b'102', r.get('w')
print('ok')
)";


TEST(CacheSystem, RedisPyTransactionsAndWatchRetry) {
  std::string py = PythonWithRedis();
  if (py.empty()) GTEST_SKIP() << "python3-redis not installed";
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  RunResult r = RunProgram({py, "-c", kRedisPyTransactions, std::to_string(p.resp_port())});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "ok\n");
}

// A stream consumer group with two consumers through redis-py: both read
// their share, one acknowledges, the other's pending entries are taken over
// with XCLAIM and XAUTOCLAIM once idle, and XPENDING counts follow. Then an
// XREAD BLOCK 0 on "$" in one connection is woken by an XADD from another.
// Waits poll with deadlines.
const char* kRedisPyStreams = R"(
import sys, threading, time, redis
sys.stderr = sys.stdout
port = int(sys.argv[1])
r = redis.Redis(port=port)
ids = [r.xadd('jobs', {'n': str(i)}) for i in range(4)]
assert r.xlen('jobs') == 4 and r.type('jobs') == b'stream'
assert r.xgroup_create('jobs', 'workers', id='0')
alice, bob = redis.Redis(port=port), redis.Redis(port=port)
got_a = alice.xreadgroup('workers', 'alice', {'jobs': '>'}, count=2)
got_b = bob.xreadgroup('workers', 'bob', {'jobs': '>'}, count=2)
assert [e[0] for e in got_a[0][1]] == ids[:2], got_a
assert [e[0] for e in got_b[0][1]] == ids[2:], got_b
assert got_a[0][1][0][1] == {b'n': b'0'}, got_a
assert alice.xreadgroup('workers', 'alice', {'jobs': '>'}) == []
assert alice.xack('jobs', 'workers', ids[0]) == 1
p = r.xpending('jobs', 'workers')
assert p['pending'] == 3 and p['min'] == ids[1] and p['max'] == ids[3], p
assert sorted((c['name'], c['pending']) for c in p['consumers']) == [(b'alice', 1), (b'bob', 2)], p
assert alice.xclaim('jobs', 'workers', 'alice', min_idle_time=60000, message_ids=[ids[2]]) == []
deadline = time.time() + 10
def idle(i):
    return r.xpending_range('jobs', 'workers', min=i, max=i, count=1)[0]['time_since_delivered']
while idle(ids[3]) < 50 and time.time() < deadline:
    time.sleep(0.01)
claimed = alice.xclaim('jobs', 'workers', 'alice', min_idle_time=50, message_ids=[ids[2]])
assert [e[0] for e in claimed] == [ids[2]], claimed
# XAUTOCLAIM takes every idle entry: bob's last one and alice's own unacknowledged one.
auto = alice.xautoclaim('jobs', 'workers', 'alice', min_idle_time=50, start_id='0-0')
assert auto[0] == b'0-0' and [e[0] for e in auto[1]] == [ids[1], ids[3]], auto
p = r.xpending('jobs', 'workers')
assert p['pending'] == 3 and [(c['name'], c['pending']) for c in p['consumers']] == [(b'alice', 3)], p
entries = r.xpending_range('jobs', 'workers', min='-', max='+', count=10)
assert [(e['message_id'], e['consumer'], e['times_delivered']) for e in entries] == [
    (ids[1], b'alice', 2), (ids[2], b'alice', 2), (ids[3], b'alice', 2)], entries
assert alice.xack('jobs', 'workers', *ids[1:]) == 3
assert r.xpending('jobs', 'workers')['pending'] == 0
groups = r.xinfo_groups('jobs')
assert groups[0]['name'] == b'workers' and groups[0]['consumers'] == 2 and groups[0]['lag'] == 0, groups

result = {}
def reader():
    result['got'] = redis.Redis(port=port).xread({'events': '$'}, block=0)
t = threading.Thread(target=reader)
t.start()
def blocked():
    return r.info('clients')['blocked_clients']
while blocked() < 1 and time.time() < deadline + 10:
    time.sleep(0.01)
assert blocked() == 1, 'the reader did not block'
new_id = redis.Redis(port=port).xadd('events', {'k': 'v'})
t.join(10)
assert not t.is_alive(), 'XADD did not wake the blocked XREAD'
assert result['got'] == [[b'events', [(new_id, {b'k': b'v'})]]], result
print('ok')
)";

TEST(CacheSystem, RedisPyStreamConsumerGroupAndBlockingRead) {
  std::string py = PythonWithRedis();
  if (py.empty()) GTEST_SKIP() << "python3-redis not installed";
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  RunResult r = RunProgram({py, "-c", kRedisPyStreams, std::to_string(p.resp_port())});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "ok\n");
}

// A stream on a persist namespace — entries, group, pending entries — is
// acknowledged durably and read back the same after a SIGKILL.
TEST(CacheSystem, StreamsOnThePersistEngineSurviveSigkill) {
  std::string dir = MakeTempDir();
  CacheProcess p({"--data-dir", dir, "--namespace", "id=2,name=log,engine=persist"}, dir);
  ASSERT_TRUE(p.ready()) << p.Log();
  std::string range, pending;
  {
    Client c(p.resp_port());
    EXPECT_EQ(c.Command(Resp({"SELECT", "2"})), "+OK\r\n");
    std::string batch;
    for (int i = 1; i <= 100; i++) batch += Resp({"XADD", "s", "1-" + std::to_string(i), "n", std::to_string(i)});
    c.Send(batch);
    ASSERT_TRUE(c.ReadUntilSuffix("$5\r\n1-100\r\n").ends_with("$5\r\n1-100\r\n"));
    EXPECT_EQ(c.Command(Resp({"XGROUP", "CREATE", "s", "g", "0"})), "+OK\r\n");
    EXPECT_EQ(c.Command(Resp({"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"})),
              "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nn\r\n$1\r\n1\r\n");
    EXPECT_EQ(c.Command(Resp({"XDEL", "s", "1-50"})), ":1\r\n");
    range = c.Command(Resp({"XRANGE", "s", "1-48", "1-52"}));
    pending = c.Command(Resp({"XPENDING", "s", "g"}));
    EXPECT_EQ(p.Stop(SIGKILL), 128 + SIGKILL);
  }
  ASSERT_TRUE(p.Restart()) << p.Log();
  Client c(p.resp_port());
  c.Command(Resp({"SELECT", "2"}));
  EXPECT_EQ(c.Command(Resp({"XLEN", "s"})), ":99\r\n");
  EXPECT_EQ(c.Command(Resp({"XRANGE", "s", "1-48", "1-52"})), range);
  EXPECT_EQ(c.Command(Resp({"XPENDING", "s", "g"})), pending);
  EXPECT_EQ(c.Command(Resp({"XADD", "s", "1-100", "n", "x"})),
            "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n");
}

// Concurrent redis-py clients (processes) run MULTI / INCR on 64 keys / EXEC
// — so every engine shard and both worker threads — while readers run MULTI
// / GET on the same keys / EXEC until the writers are done: a reader must
// never see the keys differ, and the totals must be exact. (The in-process
// MultiAtomicity unit test is the sharper check; this one is through a real
// client and the real server's threads.)
const char* kAtomicity = R"(
import sys, redis, multiprocessing as mp
sys.stderr = sys.stdout
port, writers, readers, rounds = int(sys.argv[1]), 4, 3, 300
keys = ['atomic:%d' % i for i in range(64)]
def write(results):
    r = redis.Redis(port=port)
    for _ in range(rounds):
        p = r.pipeline()
        for k in keys:
            p.incr(k)
        p.execute()
    results.put(('w', 0))
def read(results, done):
    r = redis.Redis(port=port)
    bad = reads = 0
    while not done.is_set():
        p = r.pipeline()
        for k in keys:
            p.get(k)
        if len(set(p.execute())) != 1:
            bad += 1
        reads += 1
    results.put(('r', bad, reads))
results, done = mp.Queue(), mp.Event()
ws = [mp.Process(target=write, args=(results,)) for _ in range(writers)]
rs = [mp.Process(target=read, args=(results, done)) for _ in range(readers)]
for p in rs + ws:
    p.start()
got = [results.get(timeout=240) for _ in ws]
done.set()
got += [results.get(timeout=60) for _ in rs]
for p in rs + ws:
    p.join(timeout=60)
r = redis.Redis(port=port)
totals = [int(r.get(k) or 0) for k in keys]
assert totals == [writers * rounds] * len(keys), totals
bad = sum(g[1] for g in got if g[0] == 'r')
reads = sum(g[2] for g in got if g[0] == 'r')
assert reads > 0, 'no reads overlapped the writers'
assert bad == 0, '%d of %d reads saw a transaction half applied' % (bad, reads)
print('ok')
)";

TEST(CacheSystem, MultiExecIsAtomicAcrossShardsUnderLoad) {
  std::string py = PythonWithRedis();
  if (py.empty()) GTEST_SKIP() << "python3-redis not installed";
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  RunResult r = RunProgram({py, "-c", kAtomicity, std::to_string(p.resp_port())}, "", std::chrono::seconds(280));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "ok\n");
}

}  // namespace
}  // namespace strata::cache::testing
