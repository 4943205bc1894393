// Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT
// LOAD|EXISTS|FLUSH|KILL|HELP, and Redis 7 functions (FUNCTION
// LOAD|LIST|DELETE|FLUSH|KILL, FCALL, FCALL_RO), with Redis 7's replies (eval.c). The Lua side
// is the server's ScriptEngine (cache/scripting/script_engine.h); this file
// parses the commands, runs each redis.call through the dispatcher and
// writes the script's result in the connection's RESP version.
//
// Atomicity: the EVAL family is flagged kExclusive, so the dispatcher runs
// it with the server's TxnLock held exclusive, exactly as EXEC; the commands
// the script calls run with nobody else holding the lock. While a script has
// run past busy-reply-threshold, other connections get BUSY (resp_handler.cc)
// and may SCRIPT KILL it if it has not written.
#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {

namespace {

constexpr std::string_view kNotAllowed = "ERR This Redis command is not allowed from script";

// Commands a script may not call: transactions, scripting itself, and those
// that change the connection's mode.
bool AllowedFromScript(const CommandSpec& spec) {
  if (spec.flags & (kTxnControl | kExclusive)) return false;
  static constexpr std::string_view kDenied[] = {
      "script",      "function",     "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
      "sunsubscribe", "monitor",     "reset",     "hello",      "auth",       "quit",        "eval",
      "evalsha",     "eval_ro",      "evalsha_ro", "fcall",     "fcall_ro"};
  for (std::string_view d : kDenied) {
    if (spec.name == d) return false;
  }
  return true;
}

// Runs a script's redis.call through the dispatcher, into a RESP2 buffer.
class RespScriptHost final : public ScriptHost {
 public:
  explicit RespScriptHost(CommandContext& ctx) : ctx_(ctx) {}

  CallReply Call(std::span<const std::string> args, bool read_only) override {
    CallReply reply;
    RespWriter w(&reply.resp);
    w.set_protocol(2);
    const CommandSpec* spec = ctx_.table != nullptr ? ctx_.table->Find(args[0]) : nullptr;
    if (spec == nullptr) {
      w.Error("ERR Unknown Redis command called from script");
      return reply;
    }
    if (!AllowedFromScript(*spec)) {
      w.Error(kNotAllowed);
      return reply;
    }
    if (read_only && (spec->flags & kWrite)) {
      w.Error("ERR Write commands are not allowed from read-only scripts.");
      return reply;
    }
    std::vector<std::string_view> argv(args.begin(), args.end());
    CommandContext sub{ctx_.core, ctx_.session, &w, ctx_.core->namespaces()->Get(ctx_.session->db)};
    sub.table = ctx_.table;
    sub.dispatcher = ctx_.dispatcher;
    sub.in_exec = true;
    ctx_.dispatcher->Dispatch(argv, sub);
    // A blocking command does not block in a script; it times out at once.
    if (sub.block) w.NullArray();
    ctx_.session->block_deadline_ms = -1;
    reply.wrote = (spec->flags & kWrite) != 0;
    return reply;
  }

 private:
  CommandContext& ctx_;
};

void WriteValue(RespWriter* w, const ScriptValue& v) {
  switch (v.type) {
    case ScriptValue::Type::kNil:
      return w->Null();
    case ScriptValue::Type::kInteger:
      return w->Integer(v.integer);
    case ScriptValue::Type::kBulk:
      return w->Bulk(v.str);
    case ScriptValue::Type::kStatus: {
      std::string line = v.str;
      for (char& c : line) c = (c == '\r' || c == '\n') ? ' ' : c;
      return w->Simple(line);
    }
    case ScriptValue::Type::kError:
      return w->Error(v.str);
    case ScriptValue::Type::kArray:
      w->Array(v.array.size());
      for (const ScriptValue& item : v.array) WriteValue(w, item);
      return;
  }
}

// `name numkeys key... arg...` (EVAL and FCALL alike) into req's keys and
// argv; false, with the error written, when numkeys is bad.
bool ParseKeysAndArgs(CommandContext& ctx, Args args, ScriptEngine::RunRequest* req) {
  int64_t numkeys = 0;
  if (!ParseInt(args[2], &numkeys)) {
    ctx.w->Error(kNotInteger);
    return false;
  }
  if (numkeys < 0) {
    ctx.w->Error("ERR Number of keys can't be negative");
    return false;
  }
  if (static_cast<uint64_t>(numkeys) > args.size() - 3) {
    ctx.w->Error("ERR Number of keys can't be greater than number of args");
    return false;
  }
  const size_t first_arg = 3 + static_cast<size_t>(numkeys);
  for (size_t i = 3; i < first_arg; i++) req->keys.emplace_back(args[i]);
  for (size_t i = first_arg; i < args.size(); i++) req->argv.emplace_back(args[i]);
  return true;
}

void EvalGeneric(CommandContext& ctx, Args args, bool by_sha, bool read_only) {
  ScriptEngine::RunRequest req;
  req.by_sha = by_sha;
  (by_sha ? req.sha : req.body) = args[1];
  req.read_only = read_only;
  if (!ParseKeysAndArgs(ctx, args, &req)) return;
  if (by_sha && args[1].size() != 40) return ctx.w->Error("NOSCRIPT No matching script. Please use EVAL.");
  RespScriptHost host(ctx);
  // SELECT inside a script changes the database of the script only.
  int db = ctx.session->db;
  ScriptValue v = ctx.core->scripts()->Run(req, &host);
  ctx.session->db = db;
  WriteValue(ctx.w, v);
}

void Eval(CommandContext& ctx, Args args) { EvalGeneric(ctx, args, false, false); }
void EvalSha(CommandContext& ctx, Args args) { EvalGeneric(ctx, args, true, false); }
void EvalRo(CommandContext& ctx, Args args) { EvalGeneric(ctx, args, false, true); }
void EvalShaRo(CommandContext& ctx, Args args) { EvalGeneric(ctx, args, true, true); }

void ScriptHelp(CommandContext& ctx) {
  ReplyHelp(ctx, "SCRIPT",
            {"EXISTS <sha1> [<sha1> ...]",
             "    Return information about the existence of the scripts in the script cache.",
             "FLUSH [ASYNC|SYNC]",
             "    Flush the Lua scripts cache.",
             "KILL",
             "    Kill the currently executing Lua script.",
             "LOAD <script>",
             "    Load a script into the scripts cache without executing it."});
}

void Script(CommandContext& ctx, Args args) {
  std::string sub = ToLower(args[1]);
  ScriptEngine* engine = ctx.core->scripts();
  auto arity = [&](bool ok) {
    if (!ok) ctx.w->Error("ERR wrong number of arguments for 'script|" + sub + "' command");
    return ok;
  };
  if (sub == "load") {
    if (!arity(args.size() == 3)) return;
    auto sha = engine->Load(args[2]);
    if (!sha.ok()) return ctx.w->Error("ERR " + sha.status().message());
    return ctx.w->Bulk(*sha);
  }
  if (sub == "exists") {
    if (!arity(args.size() >= 3)) return;
    ctx.w->Array(args.size() - 2);
    for (size_t i = 2; i < args.size(); i++) ctx.w->Integer(engine->Exists(args[i]) ? 1 : 0);
    return;
  }
  if (sub == "flush") {
    if (!arity(args.size() <= 3)) return;
    if (args.size() == 3 && !IEquals(args[2], "async") && !IEquals(args[2], "sync")) {
      return ctx.w->Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    engine->Flush();
    return ctx.w->Ok();
  }
  if (sub == "kill") {
    if (!arity(args.size() == 2)) return;
    return ScriptKill(ctx);
  }
  if (sub == "help" && args.size() == 2) return ScriptHelp(ctx);
  ctx.w->Error("ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) + "'. Try SCRIPT HELP.");
}

// FCALL function numkeys key... arg...
void FcallGeneric(CommandContext& ctx, Args args, bool read_only) {
  ScriptEngine::RunRequest req;
  req.read_only = read_only;
  if (!ParseKeysAndArgs(ctx, args, &req)) return;
  RespScriptHost host(ctx);
  int db = ctx.session->db;
  ScriptValue v = ctx.core->scripts()->CallFunction(std::string(args[1]), req, &host);
  ctx.session->db = db;
  WriteValue(ctx.w, v);
}

void Fcall(CommandContext& ctx, Args args) { FcallGeneric(ctx, args, false); }
void FcallRo(CommandContext& ctx, Args args) { FcallGeneric(ctx, args, true); }

void FunctionList(CommandContext& ctx, Args args) {
  bool with_code = false;
  std::string pattern = "*";
  for (size_t i = 2; i < args.size(); i++) {
    if (IEquals(args[i], "withcode")) {
      with_code = true;
    } else if (IEquals(args[i], "libraryname") && i + 1 < args.size()) {
      pattern = std::string(args[++i]);
    } else {
      return ctx.w->Error("ERR Unknown argument " + std::string(args[i].substr(0, 64)));
    }
  }
  std::vector<std::pair<std::string, ScriptEngine::Library>> libs;
  for (auto& [name, lib] : ctx.core->scripts()->Libraries()) {
    if (GlobMatch(pattern, name)) libs.emplace_back(name, std::move(lib));
  }
  ctx.w->Array(libs.size());
  for (const auto& [name, lib] : libs) {
    ctx.w->Map(with_code ? 4 : 3);
    ctx.w->Bulk("library_name");
    ctx.w->Bulk(name);
    ctx.w->Bulk("engine");
    ctx.w->Bulk("LUA");
    ctx.w->Bulk("functions");
    ctx.w->Array(lib.functions.size());
    for (const std::string& f : lib.functions) {
      ctx.w->Map(3);
      ctx.w->Bulk("name");
      ctx.w->Bulk(f);
      ctx.w->Bulk("description");
      ctx.w->Null();
      ctx.w->Bulk("flags");
      ctx.w->Set(0);
    }
    if (with_code) {
      ctx.w->Bulk("library_code");
      ctx.w->Bulk(lib.code);
    }
  }
}

void Function(CommandContext& ctx, Args args) {
  std::string sub = ToLower(args[1]);
  ScriptEngine* engine = ctx.core->scripts();
  auto arity = [&](bool ok) {
    if (!ok) ctx.w->Error("ERR wrong number of arguments for 'function|" + sub + "' command");
    return ok;
  };
  if (sub == "load") {
    if (!arity(args.size() == 3 || args.size() == 4)) return;
    bool replace = args.size() == 4;
    if (replace && !IEquals(args[2], "replace")) return ctx.w->Error("ERR Unknown option given: " + std::string(args[2].substr(0, 64)));
    auto name = engine->LoadLibrary(args.back(), replace);
    if (!name.ok()) return ctx.w->Error("ERR " + name.status().message());
    return ctx.w->Bulk(*name);
  }
  if (sub == "delete") {
    if (!arity(args.size() == 3)) return;
    if (!engine->DeleteLibrary(std::string(args[2]))) return ctx.w->Error("ERR Library not found");
    return ctx.w->Ok();
  }
  if (sub == "flush") {
    if (!arity(args.size() <= 3)) return;
    engine->FlushFunctions();
    return ctx.w->Ok();
  }
  if (sub == "list") return FunctionList(ctx, args);
  if (sub == "kill") {
    if (!arity(args.size() == 2)) return;
    return ScriptKill(ctx);
  }
  ctx.w->Error("ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) + "'. Try FUNCTION HELP.");
}

}  // namespace

void ScriptKill(CommandContext& ctx) {
  switch (ctx.core->scripts()->Kill()) {
    case ScriptEngine::KillResult::kNotBusy:
      return ctx.w->Error("NOTBUSY No scripts in execution right now.");
    case ScriptEngine::KillResult::kUnkillable:
      return ctx.w->Error(
          "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the "
          "script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
    case ScriptEngine::KillResult::kKilled:
      return ctx.w->Ok();
  }
}

void RegisterScriptCommands(CommandTable& t) {
  t.Add({"eval", -3, kExclusive, 0, 0, 0, Eval});
  t.Add({"evalsha", -3, kExclusive, 0, 0, 0, EvalSha});
  t.Add({"eval_ro", -3, kExclusive, 0, 0, 0, EvalRo});
  t.Add({"evalsha_ro", -3, kExclusive, 0, 0, 0, EvalShaRo});
  t.Add({"script", -2, 0, 0, 0, 0, Script});
  t.Add({"fcall", -3, kExclusive, 0, 0, 0, Fcall});
  t.Add({"fcall_ro", -3, kExclusive, 0, 0, 0, FcallRo});
  t.Add({"function", -2, 0, 0, 0, 0, Function});
}

}  // namespace strata::cache::resp
