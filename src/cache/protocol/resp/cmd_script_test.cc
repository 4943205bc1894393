// Scripting tests (EVAL, EVALSHA, EVAL_RO, SCRIPT), in process: Redis's
// conversions and error texts, the sandbox, and SCRIPT KILL of a busy script
// with the time moved by a ManualClock.
#include <gtest/gtest.h>

#include <thread>

#include "cache/protocol/resp/resp_handler.h"
#include "cache/scripting/script_engine.h"
#include "cache/testing/two_connections.h"

namespace strata::cache::resp {
namespace {

using ScriptTest = testing::TwoConnectionsTest;

TEST_F(ScriptTest, ConvertsRepliesBothWays) {
  EXPECT_EQ(A({"EVAL", "return 1.9", "0"}), ":1\r\n");
  EXPECT_EQ(A({"EVAL", "return 'x'", "0"}), "$1\r\nx\r\n");
  EXPECT_EQ(A({"EVAL", "return true", "0"}), ":1\r\n");
  EXPECT_EQ(A({"EVAL", "return false", "0"}), "$-1\r\n");
  EXPECT_EQ(A({"EVAL", "return {1, 'a', nil, 3}", "0"}), "*2\r\n:1\r\n$1\r\na\r\n");
  EXPECT_EQ(A({"EVAL", "return {ok='fine'}", "0"}), "+fine\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.error_reply('MY oops')", "0"}), "-MY oops\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.status_reply('PONG')", "0"}), "+PONG\r\n");
  EXPECT_EQ(A({"EVAL", "return {KEYS[1], ARGV[1], ARGV[2]}", "1", "k", "a1", "a2"}),
            "*3\r\n$1\r\nk\r\n$2\r\na1\r\n$2\r\na2\r\n");
  // Command replies as Lua sees them.
  A({"SET", "s", "v"});
  EXPECT_EQ(A({"EVAL", "return type(redis.call('get', 'nokey'))", "0"}), "$7\r\nboolean\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.call('set', 's', 'w').ok", "0"}), "$2\r\nOK\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.call('incrby', 'n', 5) + 1", "0"}), ":6\r\n");
  A({"RPUSH", "l", "a", "b"});
  EXPECT_EQ(A({"EVAL", "return #redis.call('lrange', 'l', 0, -1)", "0"}), ":2\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.pcall('incr', 's').err", "0"}),
            "$43\r\nERR value is not an integer or out of range\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.sha1hex('')", "0"}), "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
}

TEST_F(ScriptTest, ReadModifyWriteAndEvalSha) {
  const std::string body =
      "local v = tonumber(redis.call('get', KEYS[1]) or '0') redis.call('set', KEYS[1], v * 2 + ARGV[1]) return v";
  EXPECT_EQ(A({"SET", "c", "5"}), "+OK\r\n");
  EXPECT_EQ(A({"EVAL", body, "1", "c", "1"}), ":5\r\n");
  EXPECT_EQ(B({"GET", "c"}), "$2\r\n11\r\n");
  std::string sha = ScriptEngine::Sha1Hex(body);
  EXPECT_EQ(B({"SCRIPT", "LOAD", body}), "$40\r\n" + sha + "\r\n");
  EXPECT_EQ(B({"EVALSHA", sha, "1", "c", "0"}), ":11\r\n");
  EXPECT_EQ(B({"GET", "c"}), "$2\r\n22\r\n");
  EXPECT_EQ(A({"SCRIPT", "EXISTS", sha, "0000000000000000000000000000000000000000"}), "*2\r\n:1\r\n:0\r\n");
  EXPECT_EQ(A({"SCRIPT", "FLUSH"}), "+OK\r\n");
  EXPECT_EQ(A({"EVALSHA", sha, "1", "c", "0"}), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
  EXPECT_EQ(A({"EVALSHA", "abc", "0"}), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
}

TEST_F(ScriptTest, ErrorsUseRedisWording) {
  EXPECT_EQ(A({"EVAL", "return 1", "2", "k"}), "-ERR Number of keys can't be greater than number of args\r\n");
  EXPECT_EQ(A({"EVAL", "return 1", "-1"}), "-ERR Number of keys can't be negative\r\n");
  EXPECT_EQ(A({"EVAL", "return 1", "x"}), "-ERR value is not an integer or out of range\r\n");
  std::string compile = A({"EVAL", "return +", "0"});
  EXPECT_EQ(compile.rfind("-ERR Error compiling script (new function): user_script:1:", 0), 0u) << compile;
  A({"SET", "s", "text"});
  EXPECT_EQ(A({"EVAL", "return redis.call('incr', 's')", "0"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.call('nosuch')", "0"}), "-ERR Unknown Redis command called from script\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.call('multi')", "0"}), "-ERR This Redis command is not allowed from script\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.call('eval', 'return 1', '0')", "0"}),
            "-ERR This Redis command is not allowed from script\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.call('get', {})", "0"}),
            "-ERR Lua redis lib command arguments must be strings or integers\r\n");
  EXPECT_EQ(A({"EVAL_RO", "return redis.call('set', 'k', 'v')", "0"}),
            "-ERR Write commands are not allowed from read-only scripts.\r\n");
  EXPECT_EQ(A({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(A({"EVAL_RO", "return redis.call('get', 's')", "0"}), "$4\r\ntext\r\n");
  EXPECT_EQ(A({"SCRIPT", "KILL"}), "-NOTBUSY No scripts in execution right now.\r\n");
  EXPECT_EQ(A({"SCRIPT", "NOPE"}), "-ERR unknown subcommand 'NOPE'. Try SCRIPT HELP.\r\n");
}

TEST_F(ScriptTest, SandboxHasNoOsIoOrNewGlobals) {
  for (std::string name : {"os", "io", "loadfile", "dofile", "require", "print"}) {
    std::string r = A({"EVAL", "return " + name, "0"});
    EXPECT_NE(r.find("Script attempted to access nonexistent global variable '" + name + "'"), std::string::npos)
        << r;
  }
  std::string r = A({"EVAL", "x = 1", "0"});
  EXPECT_NE(r.find("user_script:1: Attempt to modify a readonly table"), std::string::npos) << r;
  r = A({"EVAL", "string.foo = 1", "0"});
  EXPECT_NE(r.find("Attempt to modify a readonly table"), std::string::npos) << r;
  r = A({"EVAL", "setmetatable(_G, nil)", "0"});
  EXPECT_EQ(r.rfind("-ERR", 0), 0u) << r;
  // Locals, string and math still work.
  EXPECT_EQ(A({"EVAL", "local t = {} t[1] = string.upper('a') .. math.floor(2.5) return t[1]", "0"}),
            "$2\r\nA2\r\n");
}

TEST_F(ScriptTest, InsideMultiTheScriptRunsAtExec) {
  EXPECT_EQ(A({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(A({"EVAL", "return redis.call('incr', 'm')", "0"}), "+QUEUED\r\n");
  EXPECT_EQ(A({"EXEC"}), "*1\r\n:1\r\n");
}

// A script past busy-reply-threshold: other clients get BUSY, SCRIPT KILL
// stops it, and the script's caller gets the kill error.
TEST_F(ScriptTest, BusyScriptIsKilled) {
  std::string reply;
  std::thread runner([&] { reply = A({"EVAL", "local i = 0 while true do i = i + 1 end", "0"}); });
  ScriptEngine* engine = t_.core.scripts();
  for (int i = 0; i < 10000000 && !engine->running(); i++) std::this_thread::yield();
  ASSERT_TRUE(engine->running());
  EXPECT_FALSE(engine->Busy());  // not past the threshold yet
  t_.clock.Advance(5'001'000);
  EXPECT_EQ(B({"GET", "k"}),
            "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n");
  EXPECT_EQ(B({"SCRIPT", "KILL"}), "+OK\r\n");
  runner.join();
  EXPECT_EQ(reply, "-ERR Script killed by user with SCRIPT KILL...\r\n");
  EXPECT_EQ(B({"SET", "k", "v"}), "+OK\r\n");
}

// After a write SCRIPT KILL is refused; the (bounded) script runs to its end.
TEST_F(ScriptTest, ScriptThatWroteIsUnkillable) {
  std::string reply;
  std::thread runner([&] {
    reply = A({"EVAL", "redis.call('set', 'w', '1') local i = 0 while i < 20000000 do i = i + 1 end return i", "0"});
  });
  ScriptEngine* engine = t_.core.scripts();
  for (int i = 0; i < 10000000 && !engine->running(); i++) std::this_thread::yield();
  t_.clock.Advance(5'001'000);
  std::string kill = B({"SCRIPT", "KILL"});
  runner.join();
  // NOTBUSY only if the script had already finished.
  EXPECT_TRUE(kill.rfind("-UNKILLABLE Sorry the script already executed write commands", 0) == 0 ||
              kill.rfind("-NOTBUSY", 0) == 0)
      << kill;
  EXPECT_EQ(reply, ":20000000\r\n");
  EXPECT_EQ(A({"GET", "w"}), "$1\r\n1\r\n");
}

TEST_F(ScriptTest, FunctionsLoadCallListDelete) {
  const std::string lib =
      "#!lua name=mylib\n"
      "redis.register_function('incr2', function(keys, args) return redis.call('incrby', keys[1], 2 * args[1]) end)\n"
      "redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end}";
  EXPECT_EQ(A({"FUNCTION", "LOAD", lib}), "$5\r\nmylib\r\n");
  EXPECT_EQ(A({"FUNCTION", "LOAD", lib}), "-ERR Library 'mylib' already exists\r\n");
  EXPECT_EQ(A({"FUNCTION", "LOAD", "REPLACE", lib}), "$5\r\nmylib\r\n");
  EXPECT_EQ(A({"FCALL", "incr2", "1", "n", "3"}), ":6\r\n");
  EXPECT_EQ(B({"FCALL_RO", "peek", "1", "n"}), "$1\r\n6\r\n");
  EXPECT_EQ(B({"FCALL_RO", "incr2", "1", "n", "3"}), "-ERR Write commands are not allowed from read-only scripts.\r\n");
  EXPECT_EQ(A({"FCALL", "nosuch", "0"}), "-ERR Function not found\r\n");
  std::string list = A({"FUNCTION", "LIST"});
  EXPECT_EQ(list.rfind("*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n", 0), 0u) << list;
  EXPECT_NE(list.find("$5\r\nincr2\r\n"), std::string::npos) << list;
  EXPECT_EQ(A({"FUNCTION", "LOAD", "return 1"}), "-ERR Missing library metadata\r\n");
  EXPECT_EQ(A({"FUNCTION", "LOAD", "#!lua name=empty\nlocal x = 1"}), "-ERR No functions registered\r\n");
  EXPECT_EQ(A({"FUNCTION", "DELETE", "mylib"}), "+OK\r\n");
  EXPECT_EQ(A({"FUNCTION", "DELETE", "mylib"}), "-ERR Library not found\r\n");
  EXPECT_EQ(A({"FCALL", "incr2", "1", "n", "3"}), "-ERR Function not found\r\n");
  EXPECT_EQ(A({"FUNCTION", "LOAD", lib}), "$5\r\nmylib\r\n");
  EXPECT_EQ(A({"FUNCTION", "FLUSH"}), "+OK\r\n");
  EXPECT_EQ(A({"FUNCTION", "LIST"}), "*0\r\n");
}

TEST_F(ScriptTest, ConfigSetsTheThreshold) {
  EXPECT_EQ(A({"CONFIG", "SET", "busy-reply-threshold", "100"}), "+OK\r\n");
  EXPECT_EQ(t_.core.scripts()->busy_threshold_ms(), 100);
  EXPECT_EQ(A({"CONFIG", "GET", "lua-time-limit"}), "*2\r\n$14\r\nlua-time-limit\r\n$3\r\n100\r\n");
}

}  // namespace
}  // namespace strata::cache::resp
