#include "cache/scripting/script_engine.h"

#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstring>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
}

namespace strata::cache {

namespace {

constexpr const char* kEngineKey = "strata_script_engine";
constexpr const char* kScriptsKey = "strata_scripts";
constexpr const char* kFunctionsKey = "strata_functions";
constexpr const char* kPendingKey = "strata_pending_functions";
constexpr const char* kTargetKey = "strata_function_target";
constexpr const char* kKilledText = "ERR Script killed by user with SCRIPT KILL...";

// Installed after the libraries: read-only globals and library tables, with
// Redis 7's error texts. Level 2 points the error at the script's line.
constexpr const char* kProtectGlobals = R"lua(
local error, tostring, setmetatable, rawget = error, tostring, setmetatable, rawget
local function readonly() error("Attempt to modify a readonly table", 2) end
for _, name in ipairs({"string", "table", "math", "coroutine", "redis"}) do
  local lib = rawget(_G, name)
  _G[name] = setmetatable({}, {__index = lib, __newindex = readonly, __metatable = false})
end
setmetatable(_G, {
  __index = function(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end,
  __newindex = readonly,
  __metatable = false,
})
)lua";

ScriptEngine* Self(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, kEngineKey);
  auto* e = static_cast<ScriptEngine*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return e;
}

void PushErrorTable(lua_State* L, std::string_view msg) {
  lua_newtable(L);
  lua_pushlstring(L, msg.data(), msg.size());
  lua_setfield(L, -2, "err");
}

// A line of a RESP2 reply from *pos, which moves past its "\r\n".
std::string_view Line(std::string_view s, size_t* pos) {
  size_t end = s.find("\r\n", *pos);
  if (end == std::string_view::npos) end = s.size();
  std::string_view line = s.substr(*pos, end - *pos);
  *pos = std::min(s.size(), end + 2);
  return line;
}

int64_t ToInt(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Pushes the Lua value of one RESP2 reply (the conversion table in the header).
void PushResp(lua_State* L, std::string_view s, size_t* pos, int depth) {
  lua_checkstack(L, 4);
  if (*pos >= s.size() || depth > ScriptEngine::kMaxReplyDepth) {
    lua_pushboolean(L, 0);
    return;
  }
  char type = s[(*pos)++];
  std::string_view line = Line(s, pos);
  switch (type) {
    case '+':
      lua_newtable(L);
      lua_pushlstring(L, line.data(), line.size());
      lua_setfield(L, -2, "ok");
      return;
    case '-':
      PushErrorTable(L, line);
      return;
    case ':':
      lua_pushnumber(L, static_cast<lua_Number>(ToInt(line)));
      return;
    case '$': {
      int64_t n = ToInt(line);
      if (n < 0 || *pos + static_cast<size_t>(n) > s.size()) return lua_pushboolean(L, 0);
      lua_pushlstring(L, s.data() + *pos, static_cast<size_t>(n));
      *pos = std::min(s.size(), *pos + static_cast<size_t>(n) + 2);
      return;
    }
    case '*': {
      int64_t n = ToInt(line);
      if (n < 0) return lua_pushboolean(L, 0);
      lua_createtable(L, static_cast<int>(std::min<int64_t>(n, 1 << 20)), 0);
      for (int64_t i = 1; i <= n; i++) {
        PushResp(L, s, pos, depth + 1);
        lua_rawseti(L, -2, static_cast<int>(i));
      }
      return;
    }
    default:
      lua_pushboolean(L, 0);
  }
}

// The script's return value as a ScriptValue (the conversion table in the header).
void ToValue(lua_State* L, int index, int depth, ScriptValue* out) {
  if (index < 0) index = lua_gettop(L) + index + 1;
  switch (lua_type(L, index)) {
    case LUA_TNUMBER:
      out->type = ScriptValue::Type::kInteger;
      out->integer = static_cast<int64_t>(lua_tonumber(L, index));
      return;
    case LUA_TSTRING: {
      size_t n = 0;
      const char* p = lua_tolstring(L, index, &n);
      out->type = ScriptValue::Type::kBulk;
      out->str.assign(p, n);
      return;
    }
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, index)) {
        out->type = ScriptValue::Type::kInteger;
        out->integer = 1;
      }
      return;
    case LUA_TTABLE:
      break;
    default:
      return;
  }
  if (depth > ScriptEngine::kMaxReplyDepth) {
    out->type = ScriptValue::Type::kError;
    out->str = "ERR reached lua stack limit";
    return;
  }
  lua_checkstack(L, 4);
  for (const char* field : {"err", "ok"}) {
    lua_pushstring(L, field);
    lua_rawget(L, index);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t n = 0;
      const char* p = lua_tolstring(L, -1, &n);
      out->type = field[0] == 'e' ? ScriptValue::Type::kError : ScriptValue::Type::kStatus;
      out->str.assign(p, n);
      lua_pop(L, 1);
      return;
    }
    lua_pop(L, 1);
  }
  out->type = ScriptValue::Type::kArray;
  for (int i = 1;; i++) {
    lua_rawgeti(L, index, i);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    out->array.emplace_back();
    ToValue(L, -1, depth + 1, &out->array.back());
    lua_pop(L, 1);
  }
}

// Every kHookInstructions instructions: a pending SCRIPT KILL stops the
// script. The hook then fires on every instruction, so a pcall in the script
// cannot swallow the kill for long.
void CountHook(lua_State* L, lua_Debug*) {
  ScriptEngine* e = Self(L);
  if (e == nullptr || !e->kill_requested()) return;
  lua_sethook(L, CountHook, LUA_MASKCOUNT, 1);
  lua_pushstring(L, kKilledText);
  lua_error(L);
}

void SetGlobalArray(lua_State* L, const char* name, const std::vector<std::string>& items) {
  lua_pushstring(L, name);
  lua_createtable(L, static_cast<int>(items.size()), 0);
  for (size_t i = 0; i < items.size(); i++) {
    lua_pushlstring(L, items[i].data(), items[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_rawset(L, LUA_GLOBALSINDEX);
}

}  // namespace

// The C functions of the `redis` table. None of them keeps a C++ object with
// a destructor alive across lua_error (it longjmps).
struct ScriptLuaApi {
  static int Call(lua_State* L) {
    if (!Self(L)->DoCall(L, false)) return lua_error(L);
    return 1;
  }
  static int PCall(lua_State* L) {
    Self(L)->DoCall(L, true);
    return 1;
  }
  // {field = the string argument}: redis.error_reply and status_reply.
  static int ReplyTable(lua_State* L, const char* field) {
    size_t n = 0;
    const char* p = luaL_checklstring(L, 1, &n);
    lua_newtable(L);
    lua_pushlstring(L, p, n);
    lua_setfield(L, -2, field);
    return 1;
  }
  static int ErrorReply(lua_State* L) { return ReplyTable(L, "err"); }
  static int StatusReply(lua_State* L) { return ReplyTable(L, "ok"); }
  static int Sha1Hex(lua_State* L) {
    if (lua_gettop(L) != 1) return luaL_error(L, "wrong number of arguments");
    size_t n = 0;
    const char* p = lua_tolstring(L, 1, &n);
    char hex[41];
    {
      std::string h = ScriptEngine::Sha1Hex(std::string_view(p == nullptr ? "" : p, p == nullptr ? 0 : n));
      std::memcpy(hex, h.data(), 41);
    }
    lua_pushstring(L, hex);
    return 1;
  }
  static int Log(lua_State* L) {
    int argc = lua_gettop(L);
    if (argc < 2) return luaL_error(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return luaL_error(L, "First argument must be a number (log level).");
    int level = static_cast<int>(lua_tonumber(L, 1));
    if (level < 0 || level > 3) return luaL_error(L, "Invalid debug level.");
    {
      std::string msg;
      for (int i = 2; i <= argc; i++) {
        size_t n = 0;
        const char* p = lua_tolstring(L, i, &n);
        if (p == nullptr) continue;
        if (!msg.empty()) msg.push_back(' ');
        msg.append(p, n);
      }
      static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::debug, spdlog::level::debug,
                                                              spdlog::level::info, spdlog::level::warn};
      spdlog::log(kLevels[level], "script: {}", msg);
    }
    return 0;
  }
  static int SetResp(lua_State* L) {
    if (lua_gettop(L) != 1 || lua_tonumber(L, 1) != 2) {
      return luaL_error(L, "RESP version must be 2 (RESP3 replies to scripts are not supported)");
    }
    return 0;
  }
  // FUNCTION LOAD: records a function of the library being loaded.
  static int RegisterFunction(lua_State* L) {
    if (!Self(L)->registering_) return luaL_error(L, "redis.register_function can only be called on FUNCTION LOAD command");
    if (lua_istable(L, 1)) {
      lua_getfield(L, 1, "callback");
      lua_getfield(L, 1, "function_name");
      lua_replace(L, 1);  // (name, callback)
    }
    if (lua_type(L, 1) != LUA_TSTRING || lua_type(L, 2) != LUA_TFUNCTION) {
      return luaL_error(L, "wrong arguments to redis.register_function");
    }
    lua_getfield(L, LUA_REGISTRYINDEX, kPendingKey);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_rawset(L, -3);
    return 0;
  }
  // Calls the function in the registry's target slot with KEYS and ARGV.
  static int CallWithKeysAndArgs(lua_State* L) {
    lua_getfield(L, LUA_REGISTRYINDEX, kTargetKey);
    lua_getglobal(L, "KEYS");
    lua_getglobal(L, "ARGV");
    lua_call(L, 2, 1);
    return 1;
  }
  static int Noop(lua_State* L) {
    lua_pushboolean(L, 1);
    return 1;
  }
};

ScriptEngine::ScriptEngine(const Clock* clock) : clock_(clock) {
  std::lock_guard<std::mutex> lock(mu_);
  Open();
}

ScriptEngine::~ScriptEngine() {
  if (L_ != nullptr) lua_close(L_);
}

std::string ScriptEngine::Sha1Hex(std::string_view data) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA_DIGEST_LENGTH);
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

void ScriptEngine::Open() {
  L_ = luaL_newstate();
  static const luaL_Reg kLibs[] = {{"", luaopen_base},
                                   {LUA_TABLIBNAME, luaopen_table},
                                   {LUA_STRLIBNAME, luaopen_string},
                                   {LUA_MATHLIBNAME, luaopen_math}};
  for (const luaL_Reg& lib : kLibs) {
    lua_pushcfunction(L_, lib.func);
    lua_pushstring(L_, lib.name);
    lua_call(L_, 1, 0);
  }
  for (const char* name : {"dofile", "loadfile", "print", "setfenv", "getfenv", "rawset", "newproxy", "gcinfo",
                           "module", "require"}) {
    lua_pushnil(L_);
    lua_setglobal(L_, name);
  }
  lua_pushlightuserdata(L_, this);
  lua_setfield(L_, LUA_REGISTRYINDEX, kEngineKey);
  lua_newtable(L_);
  lua_setfield(L_, LUA_REGISTRYINDEX, kScriptsKey);
  lua_newtable(L_);
  lua_setfield(L_, LUA_REGISTRYINDEX, kFunctionsKey);

  static const luaL_Reg kRedis[] = {{"call", ScriptLuaApi::Call},
                                    {"pcall", ScriptLuaApi::PCall},
                                    {"error_reply", ScriptLuaApi::ErrorReply},
                                    {"status_reply", ScriptLuaApi::StatusReply},
                                    {"sha1hex", ScriptLuaApi::Sha1Hex},
                                    {"log", ScriptLuaApi::Log},
                                    {"setresp", ScriptLuaApi::SetResp},
                                    {"set_repl", ScriptLuaApi::Noop},
                                    {"register_function", ScriptLuaApi::RegisterFunction},
                                    {"replicate_commands", ScriptLuaApi::Noop}};
  lua_newtable(L_);
  for (const luaL_Reg& f : kRedis) {
    lua_pushcfunction(L_, f.func);
    lua_setfield(L_, -2, f.name);
  }
  static const std::pair<const char*, int> kConstants[] = {
      {"LOG_DEBUG", 0}, {"LOG_VERBOSE", 1}, {"LOG_NOTICE", 2}, {"LOG_WARNING", 3},
      {"REPL_NONE", 0}, {"REPL_AOF", 1},    {"REPL_SLAVE", 2}, {"REPL_REPLICA", 2}, {"REPL_ALL", 3}};
  for (const auto& [name, value] : kConstants) {
    lua_pushnumber(L_, value);
    lua_setfield(L_, -2, name);
  }
  lua_setglobal(L_, "redis");
  if (luaL_loadstring(L_, kProtectGlobals) != 0 || lua_pcall(L_, 0, 0, 0) != 0) {
    spdlog::error("scripting: protecting the globals failed: {}", lua_tostring(L_, -1));
    lua_pop(L_, 1);
  }
}

Result<std::string> ScriptEngine::LoadLocked(std::string_view body, const std::string& sha) {
  if (luaL_loadbuffer(L_, body.data(), body.size(), "@user_script") != 0) {
    std::string msg = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "unknown error";
    lua_pop(L_, 1);
    return Status::InvalidArgument("Error compiling script (new function): " + msg);
  }
  lua_getfield(L_, LUA_REGISTRYINDEX, kScriptsKey);
  lua_pushlstring(L_, sha.data(), sha.size());
  lua_pushvalue(L_, -3);
  lua_rawset(L_, -3);
  lua_pop(L_, 2);
  bodies_[sha] = std::string(body);
  return sha;
}

Result<std::string> ScriptEngine::Load(std::string_view body) {
  std::string sha = Sha1Hex(body);
  std::lock_guard<std::mutex> lock(mu_);
  if (bodies_.count(sha)) return sha;
  return LoadLocked(body, sha);
}

bool ScriptEngine::Exists(std::string_view sha) {
  std::string lower(sha);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::lock_guard<std::mutex> lock(mu_);
  return bodies_.count(lower) > 0;
}

void ScriptEngine::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  bodies_.clear();
  lua_newtable(L_);
  lua_setfield(L_, LUA_REGISTRYINDEX, kScriptsKey);
  lua_gc(L_, LUA_GCCOLLECT, 0);
}

size_t ScriptEngine::cached() {
  std::lock_guard<std::mutex> lock(mu_);
  return bodies_.size();
}

bool ScriptEngine::Busy() const {
  if (!running()) return false;
  uint64_t elapsed = clock_->NowMicros() - start_us_.load();
  return elapsed >= static_cast<uint64_t>(busy_threshold_ms_.load()) * 1000;
}

ScriptEngine::KillResult ScriptEngine::Kill() {
  if (!Busy()) return KillResult::kNotBusy;
  if (wrote_.load()) return KillResult::kUnkillable;
  kill_.store(true);
  return KillResult::kKilled;
}

bool ScriptEngine::DoCall(lua_State* L, bool protected_call) {
  int argc = lua_gettop(L);
  if (host_ == nullptr) {
    PushErrorTable(L, "ERR redis.call can only be called inside a script invocation");
    return false;
  }
  if (argc == 0) {
    PushErrorTable(L, "ERR Please specify at least one argument for this redis lib call");
    return false;
  }
  ScriptHost::CallReply reply;
  {
    std::vector<std::string> args;
    args.reserve(argc);
    for (int i = 1; i <= argc; i++) {
      int t = lua_type(L, i);
      if (t != LUA_TSTRING && t != LUA_TNUMBER) {
        PushErrorTable(L, "ERR Lua redis lib command arguments must be strings or integers");
        return false;
      }
      size_t n = 0;
      const char* p = lua_tolstring(L, i, &n);
      args.emplace_back(p, n);
    }
    reply = host_->Call(args, read_only_);
  }
  if (reply.wrote) wrote_.store(true);
  size_t pos = 0;
  PushResp(L, reply.resp, &pos, 0);
  return protected_call || reply.resp.empty() || reply.resp[0] != '-';
}

ScriptValue ScriptEngine::Run(const RunRequest& req, ScriptHost* host) {
  ScriptValue result;
  result.type = ScriptValue::Type::kError;
  std::string sha(req.sha);
  for (char& c : sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!req.by_sha) sha = Sha1Hex(req.body);
  std::lock_guard<std::mutex> lock(mu_);
  if (!bodies_.count(sha)) {
    if (req.by_sha) {
      result.str = "NOSCRIPT No matching script. Please use EVAL.";
      return result;
    }
    auto loaded = LoadLocked(req.body, sha);
    if (!loaded.ok()) {
      result.str = "ERR " + loaded.status().message();
      return result;
    }
  }
  int base = lua_gettop(L_);
  lua_getfield(L_, LUA_REGISTRYINDEX, kScriptsKey);
  lua_pushlstring(L_, sha.data(), sha.size());
  lua_rawget(L_, -2);
  result = RunTop(req, host, " script: " + sha);
  lua_settop(L_, base);
  return result;
}

ScriptValue ScriptEngine::RunTop(const RunRequest& req, ScriptHost* host, const std::string& where) {
  ScriptValue result;
  result.type = ScriptValue::Type::kError;
  SetGlobalArray(L_, "KEYS", req.keys);
  SetGlobalArray(L_, "ARGV", req.argv);
  host_ = host;
  read_only_ = req.read_only;
  wrote_.store(false);
  kill_.store(false);
  start_us_.store(clock_->NowMicros());
  running_.store(true, std::memory_order_release);
  lua_sethook(L_, CountHook, LUA_MASKCOUNT, kHookInstructions);
  int rc = lua_pcall(L_, 0, 1, 0);
  lua_sethook(L_, nullptr, 0, 0);
  running_.store(false, std::memory_order_release);
  host_ = nullptr;
  if (rc == 0) {
    result = ScriptValue{};
    ToValue(L_, -1, 0, &result);
  } else if (kill_.load()) {
    result.str = kKilledText;
  } else if (lua_istable(L_, -1)) {
    lua_getfield(L_, -1, "err");
    const char* err = lua_tostring(L_, -1);
    result.str = err != nullptr ? err : "ERR unknown error";
    lua_pop(L_, 1);
  } else {
    const char* err = lua_tostring(L_, -1);
    result.str = std::string("ERR ") + (err != nullptr ? err : "unknown error") + where;
  }
  kill_.store(false);
  lua_pop(L_, 1);
  lua_gc(L_, LUA_GCSTEP, 1);
  return result;
}

// Library code: "#!lua name=<lib>" then Lua that calls
// redis.register_function(name, fn) or redis.register_function{function_name=, callback=}.
Result<std::string> ScriptEngine::LoadLibrary(std::string_view code, bool replace) {
  size_t eol = code.find('\n');
  std::string_view header = code.substr(0, eol);
  if (header.substr(0, 2) != "#!") return Status::InvalidArgument("Missing library metadata");
  size_t sp = header.find(' ');
  std::string_view engine = header.substr(2, sp == std::string_view::npos ? std::string_view::npos : sp - 2);
  if (engine != "lua") return Status::InvalidArgument("Engine '" + std::string(engine) + "' not found");
  std::string name;
  while (sp != std::string_view::npos) {
    size_t next = header.find(' ', sp + 1);
    std::string_view opt = header.substr(sp + 1, next == std::string_view::npos ? std::string_view::npos : next - sp - 1);
    if (opt.substr(0, 5) == "name=") name = std::string(opt.substr(5));
    else if (!opt.empty()) return Status::InvalidArgument("Invalid metadata value given: " + std::string(opt));
    sp = next;
  }
  if (name.empty()) return Status::InvalidArgument("Library name was not given");
  std::string body(eol == std::string_view::npos ? std::string_view() : code.substr(eol));
  std::lock_guard<std::mutex> lock(mu_);
  if (libraries_.count(name) && !replace) return Status::AlreadyExists("Library '" + name + "' already exists");
  if (luaL_loadbuffer(L_, body.data(), body.size(), "@user_function") != 0) {
    std::string msg = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "unknown error";
    lua_pop(L_, 1);
    return Status::InvalidArgument("Error compiling function: " + msg);
  }
  lua_newtable(L_);
  lua_setfield(L_, LUA_REGISTRYINDEX, kPendingKey);
  registering_ = true;
  int rc = lua_pcall(L_, 0, 0, 0);
  registering_ = false;
  if (rc != 0) {
    std::string msg = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "error in the library code";
    lua_pop(L_, 1);
    return Status::InvalidArgument("Error registering functions: " + msg);
  }
  // The new functions: none may belong to another library.
  std::vector<std::string> names;
  lua_getfield(L_, LUA_REGISTRYINDEX, kPendingKey);
  lua_pushnil(L_);
  while (lua_next(L_, -2) != 0) {
    names.emplace_back(lua_tostring(L_, -2));
    lua_pop(L_, 1);
  }
  if (names.empty()) {
    lua_pop(L_, 1);
    return Status::InvalidArgument("No functions registered");
  }
  for (const std::string& f : names) {
    auto it = function_library_.find(f);
    if (it != function_library_.end() && it->second != name) {
      lua_pop(L_, 1);
      return Status::AlreadyExists("Function " + f + " already exists");
    }
  }
  DeleteLibraryLocked(name);
  lua_getfield(L_, LUA_REGISTRYINDEX, kFunctionsKey);
  for (const std::string& f : names) {
    lua_pushstring(L_, f.c_str());
    lua_getfield(L_, -3, f.c_str());
    lua_rawset(L_, -3);
    function_library_[f] = name;
  }
  lua_pop(L_, 2);
  libraries_[name] = Library{std::string(code), names};
  return name;
}

void ScriptEngine::DeleteLibraryLocked(const std::string& name) {
  auto it = libraries_.find(name);
  if (it == libraries_.end()) return;
  lua_getfield(L_, LUA_REGISTRYINDEX, kFunctionsKey);
  for (const std::string& f : it->second.functions) {
    lua_pushnil(L_);
    lua_setfield(L_, -2, f.c_str());
    function_library_.erase(f);
  }
  lua_pop(L_, 1);
  libraries_.erase(it);
}

bool ScriptEngine::DeleteLibrary(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!libraries_.count(name)) return false;
  DeleteLibraryLocked(name);
  return true;
}

void ScriptEngine::FlushFunctions() {
  std::lock_guard<std::mutex> lock(mu_);
  libraries_.clear();
  function_library_.clear();
  lua_newtable(L_);
  lua_setfield(L_, LUA_REGISTRYINDEX, kFunctionsKey);
}

std::map<std::string, ScriptEngine::Library> ScriptEngine::Libraries() {
  std::lock_guard<std::mutex> lock(mu_);
  return {libraries_.begin(), libraries_.end()};
}

ScriptValue ScriptEngine::CallFunction(const std::string& name, const RunRequest& req, ScriptHost* host) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!function_library_.count(name)) {
    ScriptValue v;
    v.type = ScriptValue::Type::kError;
    v.str = "ERR Function not found";
    return v;
  }
  int base = lua_gettop(L_);
  lua_getfield(L_, LUA_REGISTRYINDEX, kFunctionsKey);
  lua_getfield(L_, -1, name.c_str());
  // A function gets KEYS and ARGV as its two arguments, as in Redis 7.
  lua_pushcfunction(L_, ScriptLuaApi::CallWithKeysAndArgs);
  lua_insert(L_, -2);
  lua_setfield(L_, LUA_REGISTRYINDEX, kTargetKey);
  ScriptValue v = RunTop(req, host, " function: " + name);
  lua_settop(L_, base);
  return v;
}

}  // namespace strata::cache
