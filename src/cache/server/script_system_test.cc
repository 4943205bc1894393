// Scripting against the real binary with redis-py: a read-modify-write
// script, EVALSHA after SCRIPT LOAD, and SCRIPT KILL of an endless script
// from another connection (which sees BUSY first), polled with deadlines.
#include <gtest/gtest.h>

#include "cache/testing/process.h"

namespace strata::cache::testing {
namespace {

const char* kRedisPyScripting = R"(
import sys, threading, time, redis
sys.stderr = sys.stdout
port = int(sys.argv[1])
r = redis.Redis(port=port)
r.set('counter', 10)
rmw = "local v = tonumber(redis.call('get', KEYS[1])) local n = v * 2 + tonumber(ARGV[1]) redis.call('set', KEYS[1], n) return {v, n}"
assert r.eval(rmw, 1, 'counter', 3) == [10, 23]
assert r.get('counter') == b'23'
sha = r.script_load(rmw)
assert r.script_exists(sha) == [True]
assert r.evalsha(sha, 1, 'counter', 1) == [23, 47]
assert r.get('counter') == b'47'
try:
    r.evalsha('0' * 40, 0)
    raise SystemExit('EVALSHA of an unknown sha worked')
except redis.exceptions.NoScriptError:
    pass
assert r.config_set('busy-reply-threshold', 100)
looper = redis.Redis(port=port)
result = {}
def run():
    try:
        looper.eval('local i = 0 while true do i = i + 1 end', 0)
        result['reply'] = 'returned'
    except redis.exceptions.ResponseError as e:
        result['reply'] = str(e)
t = threading.Thread(target=run)
t.start()
killer = redis.Redis(port=port)
saw_busy, killed, deadline = False, False, time.time() + 20
while not killed and time.time() < deadline:
    try:
        killer.get('counter')
    except redis.exceptions.BusyLoadingError:
        saw_busy = True
    except redis.exceptions.ResponseError as e:
        if 'BUSY' in str(e):
            saw_busy = True
    if saw_busy:
        try:
            killed = killer.script_kill()
        except redis.exceptions.ResponseError as e:
            if 'NOTBUSY' not in str(e):
                raise
    else:
        time.sleep(0.01)
t.join(20)
assert saw_busy, 'no BUSY reply'
assert killed, 'SCRIPT KILL did not succeed'
assert not t.is_alive()
assert 'Script killed by user with SCRIPT KILL' in result['reply'], result
assert killer.get('counter') == b'47'
print('ok')
)";

TEST(ScriptSystem, RedisPyReadModifyWriteEvalShaAndScriptKill) {
  std::string py = PythonWithRedis();
  if (py.empty()) GTEST_SKIP() << "python3-redis not installed";
  CacheProcess p;
  ASSERT_TRUE(p.ready()) << p.Log();
  RunResult r = RunProgram({py, "-c", kRedisPyScripting, std::to_string(p.resp_port())});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "ok\n");
}

}  // namespace
}  // namespace strata::cache::testing
