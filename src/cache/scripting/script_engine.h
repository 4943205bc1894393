// ScriptEngine: Redis scripting (EVAL, EVALSHA, SCRIPT) on one Lua 5.1
// state per cache server, as Redis's eval.c and script_lua.c.
//
//  * Scripts are cached by the SHA1 of their body (hex, lower case); a
//    script is compiled once, kept as a function in the Lua registry, and
//    every EVAL of the same body reuses it.
//  * Sandbox: only the base, table, string and math libraries; no os, io,
//    package/require, loadfile, dofile, print, setfenv/getfenv, rawset. The
//    global table and the library tables are read-only: creating a global
//    or reading an undefined one raises an error, as Redis 7 does.
//  * KEYS and ARGV are set before each run; `redis` offers call, pcall,
//    error_reply, status_reply, sha1hex, log, setresp (RESP2 only),
//    set_repl and replicate_commands (accepted, nothing to replicate).
//  * Conversions follow Redis: a command's RESP2 reply becomes integer ->
//    number, bulk -> string, nil -> false, array -> table, status -> {ok=},
//    error -> {err=}; the script's return value becomes number -> integer
//    (truncated), string -> bulk, true -> 1, false/nil -> nil, {ok=} ->
//    status, {err=} -> error, other tables -> arrays up to the first nil.
//  * Time limit: a count hook looks at a kill request every few thousand
//    instructions. Busy() tells, from the injected Clock, when the running
//    script is past the busy-reply threshold; only then do other clients get
//    BUSY and may Kill() it, which works only if it has not written.
//
// The commands a script calls run through a ScriptHost (the RESP layer),
// which answers with the RESP2 bytes of the reply.
//
// Thread-safety: Load/Exists/Flush/Run lock an internal mutex (the Lua state
// is used by one thread at a time); Run is also expected to hold the cache's
// TxnLock exclusive, which makes a script atomic. Busy(), Kill() and
// running() are lock-free and may be called from any thread while Run runs.
// Ownership: owns the Lua state; borrows the clock and, during Run, the host.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "env/clock.h"

struct lua_State;

namespace strata::cache {

// A script's reply, independent of the RESP version it is written in.
struct ScriptValue {
  enum class Type { kNil, kInteger, kBulk, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;                  // bulk, status or error text
  std::vector<ScriptValue> array;
};

class ScriptHost {
 public:
  struct CallReply {
    std::string resp;  // the reply in RESP2 ("+OK\r\n", "-ERR ...\r\n", ...)
    bool wrote = false;  // the command was a write
  };
  // Runs one command on behalf of the script; `read_only` for EVAL_RO.
  virtual CallReply Call(std::span<const std::string> args, bool read_only) = 0;

 protected:
  ~ScriptHost() = default;
};

class ScriptEngine {
 public:
  static constexpr int64_t kDefaultBusyThresholdMs = 5000;
  // Instructions between two looks at the kill flag.
  static constexpr int kHookInstructions = 10000;
  // Nesting of tables converted to replies and back (deeper is an error).
  static constexpr int kMaxReplyDepth = 64;

  explicit ScriptEngine(const Clock* clock);
  ~ScriptEngine();
  ScriptEngine(const ScriptEngine&) = delete;
  ScriptEngine& operator=(const ScriptEngine&) = delete;

  static std::string Sha1Hex(std::string_view data);

  // Compiles and caches `body`; returns its sha. A compile error is
  // InvalidArgument with Redis's text ("Error compiling script ...").
  Result<std::string> Load(std::string_view body);
  bool Exists(std::string_view sha);
  void Flush();
  size_t cached();

  struct RunRequest {
    bool by_sha = false;     // EVALSHA: `sha` names a cached script
    std::string_view body;   // EVAL: the script
    std::string_view sha;    // EVALSHA (any case)
    std::vector<std::string> keys, argv;
    bool read_only = false;
  };
  // Runs a script. NOSCRIPT, compile errors and runtime errors come back as
  // a kError value with Redis's text.
  ScriptValue Run(const RunRequest& req, ScriptHost* host);

  // Functions (FUNCTION LOAD, FCALL): a library is "#!lua name=<lib>" and
  // code that calls redis.register_function; it replaces an existing
  // library of that name only with `replace`. Returns the library name.
  Result<std::string> LoadLibrary(std::string_view code, bool replace);
  bool DeleteLibrary(const std::string& name);
  void FlushFunctions();
  struct Library {
    std::string code;
    std::vector<std::string> functions;
  };
  std::map<std::string, Library> Libraries();
  // Runs function `name` with (KEYS, ARGV); req.body and req.sha are unused.
  ScriptValue CallFunction(const std::string& name, const RunRequest& req, ScriptHost* host);

  // The busy-reply-threshold (lua-time-limit), in ms.
  void set_busy_threshold_ms(int64_t ms) { busy_threshold_ms_.store(ms); }
  int64_t busy_threshold_ms() const { return busy_threshold_ms_.load(); }
  bool running() const { return running_.load(std::memory_order_acquire); }
  // A script has been running for longer than the threshold.
  bool Busy() const;
  enum class KillResult { kNotBusy, kUnkillable, kKilled };
  KillResult Kill();
  bool kill_requested() const { return kill_.load(std::memory_order_relaxed); }

 private:
  friend struct ScriptLuaApi;  // the C functions the Lua state calls back
  void Open();                                                                   // REQUIRES: mu_ held
  Result<std::string> LoadLocked(std::string_view body, const std::string& sha);  // REQUIRES: mu_ held
  // Runs redis.call/pcall with the arguments on the Lua stack; leaves one
  // value on the stack; returns false when that value is an error to raise.
  bool DoCall(lua_State* L, bool protected_call);
  // Runs the function on top of the stack (popping it) with the request's
  // KEYS and ARGV; REQUIRES: mu_ held.
  ScriptValue RunTop(const RunRequest& req, ScriptHost* host, const std::string& where);
  void DeleteLibraryLocked(const std::string& name);  // REQUIRES: mu_ held

  const Clock* clock_;
  std::mutex mu_;
  lua_State* L_ = nullptr;                                 // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::string> bodies_;   // GUARDED_BY(mu_): sha -> body
  std::unordered_map<std::string, Library> libraries_;          // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::string> function_library_;  // GUARDED_BY(mu_): function -> library
  bool registering_ = false;                               // during LoadLibrary
  ScriptHost* host_ = nullptr;                             // set during Run
  bool read_only_ = false;                                 // set during Run
  std::atomic<int64_t> busy_threshold_ms_{kDefaultBusyThresholdMs};
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> start_us_{0};
  std::atomic<bool> wrote_{false};
  std::atomic<bool> kill_{false};
};

}  // namespace strata::cache
