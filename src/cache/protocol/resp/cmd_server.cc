// RESP connection and server commands: PING/ECHO/QUIT, AUTH/HELLO/SELECT,
// RESET, INFO, CONFIG, CLIENT, COMMAND, DEBUG, TIME and Strata's HOTKEYS.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {
namespace {

constexpr std::string_view kVersion = "7.0.0-strata";

void Ping(CommandContext& ctx, Args args) {
  if (args.size() > 2) return WrongArity(ctx, "ping");
  if (ctx.w->protocol() == 2 && ctx.session->pubsub.total() > 0) {
    // Subscribed mode (RESP2): a push-shaped reply, as Redis sends it.
    ctx.w->Array(2);
    ctx.w->Bulk("pong");
    return ctx.w->Bulk(args.size() == 2 ? args[1] : "");
  }
  if (args.size() == 2) return ctx.w->Bulk(args[1]);
  ctx.w->Simple("PONG");
}

void Echo(CommandContext& ctx, Args args) { ctx.w->Bulk(args[1]); }

void Quit(CommandContext& ctx, Args) {
  ctx.w->Ok();
  ctx.close = true;
}

// RESET: the connection's state as new — no transaction, watches or
// subscriptions, database 0, RESP2, no name, authenticated only when no
// password is set (Redis's clearClientConnectionState).
void Reset(CommandContext& ctx, Args) {
  Session* s = ctx.session;
  for (const WatchedKey& k : s->txn.watched) ctx.core->watches()->Unwatch(k.key);
  s->txn = Transaction{};
  DropSubscriptions(ctx.core, s);
  s->db = 0;
  ctx.core->clients()->SetDb(s->id, 0);
  ctx.core->clients()->SetName(s->id, "");
  s->authed = ctx.core->password().empty();
  ctx.w->set_protocol(2);
  ctx.w->Simple("RESET");
}

bool CheckPassword(CommandContext& ctx, std::string_view user, std::string_view pass) {
  std::string pw = ctx.core->password();
  if (pw.empty()) {
    ctx.w->Error("ERR AUTH <password> called without any password configured for the default user. "
                 "Are you sure your configuration is correct?");
    return false;
  }
  if (user != "default" || pass != pw) {
    ctx.w->Error("WRONGPASS invalid username-password pair or user is disabled.");
    return false;
  }
  ctx.session->authed = true;
  return true;
}

void Auth(CommandContext& ctx, Args args) {
  if (args.size() > 3) return ctx.w->Error(kSyntaxError);
  std::string_view user = args.size() == 3 ? args[1] : "default";
  if (CheckPassword(ctx, user, args.back())) ctx.w->Ok();
}

void Hello(CommandContext& ctx, Args args) {
  int64_t proto = ctx.w->protocol();
  size_t i = 1;
  if (args.size() > 1) {
    if (!ParseInt(args[1], &proto)) return ctx.w->Error("ERR Protocol version is not an integer or out of range");
    if (proto != 2 && proto != 3) return ctx.w->Error("NOPROTO unsupported protocol version");
    i = 2;
  }
  for (; i < args.size(); i++) {
    if (IEquals(args[i], "auth") && i + 2 < args.size()) {
      if (!CheckPassword(ctx, args[i + 1], args[i + 2])) return;
      i += 2;
    } else if (IEquals(args[i], "setname") && i + 1 < args.size()) {
      ctx.core->clients()->SetName(ctx.session->id, std::string(args[++i]));
    } else {
      return ctx.w->Error("ERR Syntax error in HELLO option '" + std::string(args[i]) + "'");
    }
  }
  if (!ctx.session->authed) return ctx.w->Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
  ctx.w->set_protocol(static_cast<int>(proto));
  ctx.w->Map(7);
  ctx.w->Bulk("server");
  ctx.w->Bulk("redis");
  ctx.w->Bulk("version");
  ctx.w->Bulk(kVersion);
  ctx.w->Bulk("proto");
  ctx.w->Integer(proto);
  ctx.w->Bulk("id");
  ctx.w->Integer(static_cast<int64_t>(ctx.session->id));
  ctx.w->Bulk("mode");
  ctx.w->Bulk("standalone");
  ctx.w->Bulk("role");
  ctx.w->Bulk("master");
  ctx.w->Bulk("modules");
  ctx.w->Array(0);
}

void Select(CommandContext& ctx, Args args) {
  int64_t db;
  if (!ParseInt(args[1], &db)) return ctx.w->Error(kNotInteger);
  Namespace* ns = ctx.core->namespaces()->Get(static_cast<int>(db));
  if (db < 0 || ns == nullptr) return ctx.w->Error("ERR DB index is out of range");
  ctx.session->db = static_cast<int>(db);
  ctx.core->clients()->SetDb(ctx.session->id, ctx.session->db);
  ctx.w->Ok();
}

// As Redis: "cmdstat_<name>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=..",
// for the commands used since the start or CONFIG RESETSTAT (by name here).
std::string CommandStatsText(CommandContext& ctx) {
  std::map<std::string_view, CommandStats::Totals> used;
  for (const auto& [name, spec] : ctx.table->all()) {
    CommandStats::Totals t = ctx.core->command_stats()->Get(spec.id);
    if (t.calls || t.rejected || t.failed) used[spec.name] = t;
  }
  std::string out;
  char per_call[32];
  for (const auto& [name, t] : used) {
    std::snprintf(per_call, sizeof(per_call), "%.2f", t.calls ? static_cast<double>(t.usec) / t.calls : 0.0);
    out += "cmdstat_" + std::string(name) + ":calls=" + std::to_string(t.calls) + ",usec=" + std::to_string(t.usec) +
           ",usec_per_call=" + per_call + ",rejected_calls=" + std::to_string(t.rejected) +
           ",failed_calls=" + std::to_string(t.failed) + "\r\n";
  }
  return out;
}

std::string InfoText(CommandContext& ctx, const std::string& section) {
  auto want = [&](std::string_view s) { return section.empty() || section == "all" || section == "everything" || section == "default" || section == s; };
  std::ostringstream o;
  CacheCore* core = ctx.core;
  uint64_t uptime = (core->clock()->NowMicros() - core->start_us()) / 1'000'000;
  if (want("server")) {
    o << "# Server\r\nredis_version:" << kVersion << "\r\nstrata_version:0.1.0\r\nredis_mode:standalone\r\n"
      << "process_id:" << getpid() << "\r\ntcp_port:" << core->options().port_resp << "\r\nuptime_in_seconds:" << uptime
      << "\r\nio_threads_active:" << core->options().threads << "\r\n\r\n";
  }
  if (want("clients")) {
    o << "# Clients\r\nconnected_clients:" << core->clients()->size() << "\r\nblocked_clients:" << core->blocking()->blocked()
      << "\r\n\r\n";
  }
  nlohmann::json mem = core->mem()->Stats();
  if (want("memory")) {
    o << "# Memory\r\nused_memory:" << mem["used_bytes"].get<uint64_t>() << "\r\nmaxmemory:" << core->options().memory_bytes
      << "\r\nmaxmemory_policy:allkeys-lru\r\nslab_pages:" << mem["pages"].get<uint64_t>()
      << "\r\nexternal_bytes:" << mem["external_bytes"].get<uint64_t>() << "\r\n\r\n";
  }
  if (want("persistence")) o << "# Persistence\r\nloading:0\r\naof_enabled:0\r\nrdb_changes_since_last_save:0\r\n\r\n";
  if (want("stats")) {
    o << "# Stats\r\ntotal_connections_received:" << core->metrics().connections_total->Value()
      << "\r\ntotal_commands_processed:" << core->metrics().commands_resp->Value() + core->metrics().commands_memcache->Value()
      << "\r\ntotal_net_input_bytes:" << core->metrics().bytes_in->Value()
      << "\r\ntotal_net_output_bytes:" << core->metrics().bytes_out->Value()
      << "\r\nevicted_keys:" << mem["evictions"].get<uint64_t>() << "\r\nexpired_keys:" << mem["expired_reclaimed"].get<uint64_t>()
      << "\r\nkeyspace_hits:" << core->command_stats()->hits()
      << "\r\nkeyspace_misses:" << core->command_stats()->misses()
      << "\r\npages_merged:" << mem["pages_merged"].get<uint64_t>() << "\r\nitems_moved:" << mem["items_moved"].get<uint64_t>()
      << "\r\npages_rebalanced:" << mem["pages_rebalanced"].get<uint64_t>()
      << "\r\nrejected_by_limits:" << core->metrics().rejected_limit->Value()
      << "\r\npubsub_channels:" << core->pubsub()->Count(PubSubKind::kChannel)
      << "\r\npubsub_patterns:" << core->pubsub()->Count(PubSubKind::kPattern)
      << "\r\npubsubshard_channels:" << core->pubsub()->Count(PubSubKind::kShard)
      << "\r\nclient_output_buffer_limit_disconnections:" << core->metrics().pubsub_disconnects->Value() << "\r\n\r\n";
  }
  if (want("replication")) o << "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n";
  if (section == "commandstats" || section == "all" || section == "everything") {
    o << "# Commandstats\r\n" << CommandStatsText(ctx) << "\r\n";
  }
  if (want("keyspace")) {
    o << "# Keyspace\r\n";
    for (Namespace* ns : core->namespaces()->All()) {
      uint64_t n = ns->engine()->Count(static_cast<uint8_t>(ns->id()));
      if (n == 0) continue;
      ExpiryStats e = ns->engine()->Expiries(static_cast<uint8_t>(ns->id()));
      o << "db" << ns->id() << ":keys=" << n << ",expires=" << e.keys << ",avg_ttl=" << e.avg_ttl_ms
        << ",engine=" << ns->spec().engine << "\r\n";
    }
    o << "\r\n";
  }
  return o.str();
}

void Info(CommandContext& ctx, Args args) {
  ctx.w->Verbatim(InfoText(ctx, args.size() > 1 ? ToLower(args[1]) : ""));
}

void Config(CommandContext& ctx, Args args) {
  if (args.size() < 2) return WrongArity(ctx, "config");
  std::string sub = ToLower(args[1]);
  if (sub == "get" && args.size() >= 3) {
    std::map<std::string, std::string> all;
    for (size_t i = 2; i < args.size(); i++) all.merge(ctx.core->ConfigMatching(ToLower(args[i])));
    ctx.w->Map(all.size());
    for (const auto& [k, v] : all) {
      ctx.w->Bulk(k);
      ctx.w->Bulk(v);
    }
  } else if (sub == "set" && args.size() >= 4 && args.size() % 2 == 0) {
    for (size_t i = 2; i < args.size(); i += 2) {
      Status s = ctx.core->ConfigSet(ToLower(args[i]), std::string(args[i + 1]));
      if (!s.ok()) return ctx.w->Error("ERR " + s.message());
    }
    ctx.w->Ok();
  } else if (sub == "resetstat" && args.size() == 2) {
    ctx.core->command_stats()->Reset();
    ctx.w->Ok();
  } else if (sub == "rewrite") {
    ctx.w->Ok();
  } else {
    ctx.w->Error("ERR unknown subcommand or wrong number of arguments for '" + std::string(args[1]) + "'. Try CONFIG HELP.");
  }
}

std::string ClientLine(const ClientInfo& c, uint64_t now_ms) {
  return "id=" + std::to_string(c.id) + " addr=" + c.addr + " name=" + c.name +
         " age=" + std::to_string((now_ms - c.connected_ms) / 1000) + " db=" + std::to_string(c.db) + " proto=" + c.protocol;
}

void Client(CommandContext& ctx, Args args) {
  if (args.size() < 2) return WrongArity(ctx, "client");
  std::string sub = ToLower(args[1]);
  auto* reg = ctx.core->clients();
  uint64_t now = static_cast<uint64_t>(ctx.NowMs());
  if (sub == "setname" && args.size() == 3) {
    for (char c : args[2]) {
      if (c <= ' ' || c > '~') return ctx.w->Error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    reg->SetName(ctx.session->id, std::string(args[2]));
    ctx.w->Ok();
  } else if (sub == "getname" && args.size() == 2) {
    std::string name = reg->Get(ctx.session->id).name;
    if (name.empty()) return ctx.w->Null();
    ctx.w->Bulk(name);
  } else if (sub == "id" && args.size() == 2) {
    ctx.w->Integer(static_cast<int64_t>(ctx.session->id));
  } else if (sub == "list") {
    std::string out;
    for (const auto& c : reg->List()) out += ClientLine(c, now) + "\n";
    ctx.w->Verbatim(out);
  } else if (sub == "info" && args.size() == 2) {
    ctx.w->Verbatim(ClientLine(reg->Get(ctx.session->id), now) + "\n");
  } else if (sub == "setinfo" && args.size() == 4) {
    ctx.w->Ok();
  } else {
    ctx.w->Error("ERR unknown subcommand or wrong number of arguments for '" + std::string(args[1]) + "'. Try CLIENT HELP.");
  }
}

std::vector<std::string_view> FlagNames(uint32_t f) {
  std::vector<std::string_view> out;
  if (f & kWrite) out.push_back("write");
  if (f & kReadOnly) out.push_back("readonly");
  if (f & kAdmin) out.push_back("admin");
  if (f & kNoAuth) out.push_back("no_auth");
  if (f & kFast) out.push_back("fast");
  if (f & kBlocking) out.push_back("blocking");
  return out;
}

void CommandInfoEntry(CommandContext& ctx, const CommandSpec& s) {
  ctx.w->Array(6);
  ctx.w->Bulk(s.name);
  ctx.w->Integer(s.arity);
  auto flags = FlagNames(s.flags);
  ctx.w->Set(flags.size());
  for (auto f : flags) ctx.w->Simple(f);
  ctx.w->Integer(s.first_key);
  ctx.w->Integer(s.last_key);
  ctx.w->Integer(s.step);
}

void Command(CommandContext& ctx, Args args) {
  const CommandTable& t = *ctx.table;
  std::string sub = args.size() > 1 ? ToLower(args[1]) : "";
  if (sub.empty()) {
    ctx.w->Array(t.all().size());
    for (const auto& [n, s] : t.all()) CommandInfoEntry(ctx, s);
  } else if (sub == "count") {
    ctx.w->Integer(static_cast<int64_t>(t.all().size()));
  } else if (sub == "info") {
    ctx.w->Array(args.size() - 2);
    for (size_t i = 2; i < args.size(); i++) {
      const CommandSpec* s = t.Find(args[i]);
      if (s) CommandInfoEntry(ctx, *s);
      else ctx.w->NullArray();
    }
  } else if (sub == "docs") {
    std::vector<const CommandSpec*> specs;
    if (args.size() == 2) {
      for (const auto& [n, s] : t.all()) specs.push_back(&s);
    } else {
      for (size_t i = 2; i < args.size(); i++) {
        if (const CommandSpec* s = t.Find(args[i])) specs.push_back(s);
      }
    }
    ctx.w->Map(specs.size());
    for (const CommandSpec* s : specs) {
      ctx.w->Bulk(s->name);
      ctx.w->Map(2);
      ctx.w->Bulk("summary");
      ctx.w->Bulk(std::string(s->name) + " command");
      ctx.w->Bulk("group");
      ctx.w->Bulk("generic");
    }
  } else {
    ctx.w->Error("ERR unknown subcommand '" + std::string(args[1]) + "'. Try COMMAND HELP.");
  }
}

void Debug(CommandContext& ctx, Args args) {
  std::string sub = ToLower(args[1]);
  if (sub == "sleep" && args.size() == 3 && (args[2] == "0" || args[2] == "0.0")) return ctx.w->Ok();
  if (sub == "sleep") return ctx.w->Error("ERR DEBUG SLEEP supports only 0 (a worker thread is never put to sleep)");
  if (sub == "set-active-expire" || sub == "quicklist-packed-threshold" || sub == "jmap") return ctx.w->Ok();
  ctx.w->Error("ERR DEBUG subcommand '" + std::string(args[1]) + "' is not supported");
}

void Time(CommandContext& ctx, Args) {
  uint64_t us = ctx.core->clock()->WallMicros();
  ctx.w->Array(2);
  ctx.w->Bulk(std::to_string(us / 1'000'000));
  ctx.w->Bulk(std::to_string(us % 1'000'000));
}

void HotKeysCmd(CommandContext& ctx, Args args) {
  int64_t count = 10;
  if (args.size() == 3 && IEquals(args[1], "count")) {
    if (!ParseInt(args[2], &count) || count < 1) return ctx.w->Error(kNotInteger);
  } else if (args.size() != 1) {
    return ctx.w->Error(kSyntaxError);
  }
  auto top = ctx.core->hotkeys()->Top(static_cast<size_t>(std::min<int64_t>(count, 1000)));
  ctx.w->Array(top.size());
  for (const auto& h : top) {
    ctx.w->Map(5);
    ctx.w->Bulk("key");
    ctx.w->Bulk(std::string_view(h.key).substr(1));
    ctx.w->Bulk("db");
    ctx.w->Integer(static_cast<uint8_t>(h.key[0]));
    ctx.w->Bulk("reads_per_sec");
    ctx.w->Integer(static_cast<int64_t>(h.reads_per_sec));
    ctx.w->Bulk("writes_per_sec");
    ctx.w->Integer(static_cast<int64_t>(h.writes_per_sec));
    ctx.w->Bulk("level");
    ctx.w->Integer(h.level);
  }
}

// Nothing to write (the mem engine is a cache, the persist engine is durable
// per write), so a save succeeds at once; it still moves LASTSAVE, which
// clients poll to see a BGSAVE finish.
void Save(CommandContext& ctx, Args) {
  ctx.core->MarkSaved();
  ctx.w->Ok();
}
void BgSave(CommandContext& ctx, Args args) {
  if (args.size() > 2 || (args.size() == 2 && !IEquals(args[1], "schedule"))) return ctx.w->Error(kSyntaxError);
  ctx.core->MarkSaved();
  ctx.w->Simple("Background saving started");
}
void LastSave(CommandContext& ctx, Args) { ctx.w->Integer(ctx.core->last_save_s()); }

}  // namespace

void RegisterServerCommands(CommandTable& t) {
  t.Add({"ping", -1, kFast | kPubSub, 0, 0, 0, Ping});  // NOAUTH before AUTH, as Redis
  t.Add({"echo", 2, kFast, 0, 0, 0, Echo});
  t.Add({"quit", -1, kFast | kNoAuth | kTxnControl | kPubSub, 0, 0, 0, Quit});
  t.Add({"reset", 1, kFast | kNoAuth | kTxnControl | kPubSub, 0, 0, 0, Reset});
  t.Add({"auth", -2, kFast | kNoAuth, 0, 0, 0, Auth});
  t.Add({"hello", -1, kFast | kNoAuth, 0, 0, 0, Hello});
  t.Add({"select", 2, kFast, 0, 0, 0, Select});
  t.Add({"info", -1, 0, 0, 0, 0, Info});
  t.Add({"config", -2, kAdmin, 0, 0, 0, Config});
  t.Add({"client", -2, 0, 0, 0, 0, Client});
  t.Add({"command", -1, 0, 0, 0, 0, Command});
  t.Add({"debug", -2, kAdmin, 0, 0, 0, Debug});
  t.Add({"time", 1, kFast, 0, 0, 0, Time});
  t.Add({"hotkeys", -1, 0, 0, 0, 0, HotKeysCmd});
  t.Add({"save", 1, kAdmin, 0, 0, 0, Save});
  t.Add({"bgsave", -1, kAdmin, 0, 0, 0, BgSave});
  t.Add({"lastsave", 1, kFast, 0, 0, 0, LastSave});
}

}  // namespace strata::cache::resp
