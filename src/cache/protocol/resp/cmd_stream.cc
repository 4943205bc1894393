// RESP stream commands (Redis 7 t_stream.c semantics, error texts included)
// on StreamObject (engine/stream.h): XADD, XLEN, XRANGE, XREVRANGE, XDEL,
// XTRIM, XREAD, XREADGROUP, XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM,
// XINFO, XSETID.
//
// XREAD and XREADGROUP with BLOCK wait like BLPOP (cmd_list.cc): the handler
// asks the connection to block on the stream keys, an XADD wakes it, and the
// command re-runs. A "$" id is resolved on the first run only and kept in
// the session, so the re-run waits for entries after it, not after the
// stream's new top.
//
// Keyspace events depend on what a command did (an XADD that also trimmed,
// an XREADGROUP that created a consumer), so handlers record them in
// CommandContext::raised and KeyspaceNotifier publishes them.
#include <algorithm>
#include <cctype>
#include <optional>

#include "cache/engine/stream.h"
#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {
namespace {

constexpr std::string_view kInvalidStart = "ERR invalid start ID for the interval";
constexpr std::string_view kInvalidEnd = "ERR invalid end ID for the interval";
constexpr size_t kBlockedDefaultCount = 1000;  // Redis's XREAD_BLOCKED_DEFAULT_COUNT

StreamObject* ReadStream(CommandContext& ctx, std::string_view key, bool* failed) {
  return Open<StreamObject>(ctx, key, ValueType::kStream, false, failed);
}

// The stream at a user key, its shard locked for the object's lifetime; `s`
// is null when the key is missing, `failed` after a WRONGTYPE reply.
struct LockedStream {
  LockedStream(CommandContext& ctx, std::string_view user_key) : key(ctx.Key(user_key)), lock(ctx.engine(), key) {
    s = ReadStream(ctx, key, &failed);
  }
  InternalKey key;
  KeyLock lock;
  bool failed = false;
  StreamObject* s = nullptr;
};

void Raise(CommandContext& ctx, std::string_view event, std::string_view user_key) {
  ctx.raised.emplace_back(event, user_key);
}

std::string NoGroup(std::string_view key, std::string_view group) {
  return "NOGROUP No such key '" + std::string(key) + "' or consumer group '" + std::string(group) + "'";
}
std::string NoGroupForKey(std::string_view group, std::string_view key) {
  return "NOGROUP No such consumer group '" + std::string(group) + "' for key name '" + std::string(key) + "'";
}
void SubcommandSyntaxError(CommandContext& ctx, Args args) {
  std::string cmd(args[0]);
  for (char& ch : cmd) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  ctx.w->Error("ERR unknown subcommand or wrong number of arguments for '" + std::string(args[1].substr(0, 128)) +
               "'. Try " + cmd + " HELP.");
}

// Group args[2] of the stream at args[1]; null after replying WRONGTYPE or NOGROUP.
StreamGroup* GroupOrReply(CommandContext& ctx, LockedStream& at, Args args) {
  if (at.failed) return nullptr;
  StreamGroup* g = at.s ? at.s->Group(args[2]) : nullptr;
  if (!g) ctx.w->Error(NoGroup(args[1], args[2]));
  return g;
}

// An id argument; replies the error and returns nullopt when invalid.
std::optional<StreamId> IdArg(CommandContext& ctx, std::string_view s, uint64_t missing_seq, bool strict) {
  auto r = ParseStreamId(s, missing_seq, strict);
  if (!r.ok()) {
    ctx.w->Error("ERR " + r.status().message());
    return std::nullopt;
  }
  return r->id;
}

// A range bound: "(" makes it exclusive (XRANGE, XPENDING, XAUTOCLAIM).
std::optional<StreamId> BoundArg(CommandContext& ctx, std::string_view s, bool start) {
  bool exclusive = s.size() > 1 && s[0] == '(';
  auto id = IdArg(ctx, exclusive ? s.substr(1) : s, start ? 0 : UINT64_MAX, exclusive);
  if (!id || !exclusive) return id;
  if (start ? !id->Incr() : !id->Decr()) {
    ctx.w->Error(start ? kInvalidStart : kInvalidEnd);
    return std::nullopt;
  }
  return id;
}

bool IntArg(CommandContext& ctx, std::string_view s, int64_t* out, std::string_view error = kNotInteger) {
  if (ParseInt(s, out)) return true;
  ctx.w->Error(error);
  return false;
}

void WriteId(RespWriter* w, StreamId id) { w->Bulk(id.ToString()); }

void WriteEntry(RespWriter* w, StreamId id, const std::vector<std::string>& fv) {
  w->Array(2);
  WriteId(w, id);
  w->Array(fv.size());
  for (const auto& s : fv) w->Bulk(s);
}

// Entries of [start, end] in order (reverse: from end down), at most count (0: all).
size_t WriteRange(RespWriter* w, const StreamObject& s, StreamId start, StreamId end, size_t count, bool rev) {
  std::vector<StreamObject::Entries::const_iterator> picked;
  const auto& e = s.entries();
  if (start <= end) {
    if (!rev) {
      for (auto it = e.lower_bound(start); it != e.end() && it->first <= end; ++it) {
        if (count && picked.size() == count) break;
        picked.push_back(it);
      }
    } else {
      for (auto it = e.upper_bound(end); it != e.begin();) {
        --it;
        if (it->first < start || (count && picked.size() == count)) break;
        picked.push_back(it);
      }
    }
  }
  w->Array(picked.size());
  for (auto it : picked) WriteEntry(w, it->first, it->second);
  return picked.size();
}

// --- XADD / XTRIM -----------------------------------------------------------

struct TrimArgs {
  enum Strategy { kNone, kMaxLen, kMinId } strategy = kNone;
  bool approx = false;
  int64_t maxlen = 0;
  StreamId minid;
  int64_t limit = 0;
  bool nomkstream = false;
  bool id_given = false;
  ParsedStreamId id;
  size_t next = 0;  // XADD: the position of the id
};

// MAXLEN|MINID [=|~] threshold, at args[i]; advances i past it.
bool ParseStrategy(CommandContext& ctx, Args args, size_t* i, TrimArgs* t) {
  if (t->strategy != TrimArgs::kNone) {
    ctx.w->Error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
    return false;
  }
  bool maxlen = IEquals(args[*i], "maxlen");
  size_t more = args.size() - 1 - *i;
  t->approx = false;
  if (more >= 2 && (args[*i + 1] == "~" || args[*i + 1] == "=")) {
    t->approx = args[*i + 1] == "~";
    ++*i;
  }
  ++*i;
  if (maxlen) {
    if (!IntArg(ctx, args[*i], &t->maxlen)) return false;
    if (t->maxlen < 0) {
      ctx.w->Error("ERR The MAXLEN argument must be >= 0.");
      return false;
    }
  } else {
    auto id = IdArg(ctx, args[*i], 0, true);
    if (!id) return false;
    t->minid = *id;
  }
  t->strategy = maxlen ? TrimArgs::kMaxLen : TrimArgs::kMinId;
  return true;
}

// Redis's streamParseAddOrTrimArgsOrReply.
std::optional<TrimArgs> ParseTrimArgs(CommandContext& ctx, Args args, bool xadd) {
  TrimArgs t;
  bool limit_given = false;
  size_t i = 2;
  for (; i < args.size(); i++) {
    size_t more = args.size() - 1 - i;
    std::string_view opt = args[i];
    if (xadd && opt == "*") break;
    if ((IEquals(opt, "maxlen") || IEquals(opt, "minid")) && more) {
      if (!ParseStrategy(ctx, args, &i, &t)) return std::nullopt;
    } else if (IEquals(opt, "limit") && more) {
      if (!IntArg(ctx, args[i + 1], &t.limit)) return std::nullopt;
      if (t.limit < 0) {
        ctx.w->Error("ERR The LIMIT argument must be >= 0.");
        return std::nullopt;
      }
      limit_given = true;
      i++;
    } else if (xadd && IEquals(opt, "nomkstream")) {
      t.nomkstream = true;
    } else if (xadd) {
      auto id = ParseStreamId(opt, 0, true, true);
      if (!id.ok()) {
        ctx.w->Error("ERR " + id.status().message());
        return std::nullopt;
      }
      t.id = *id;
      t.id_given = true;
      break;
    } else {
      ctx.w->Error(kSyntaxError);
      return std::nullopt;
    }
  }
  t.next = i;
  if (t.limit && t.strategy == TrimArgs::kNone) {
    ctx.w->Error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return std::nullopt;
  }
  if (!xadd && t.strategy == TrimArgs::kNone) {
    ctx.w->Error("ERR syntax error, XTRIM must be called with a trimming strategy");
    return std::nullopt;
  }
  if (limit_given && !t.approx) {
    ctx.w->Error("ERR syntax error, LIMIT cannot be used without the special ~ option");
    return std::nullopt;
  }
  if (!limit_given) t.limit = t.approx ? 100 * static_cast<int64_t>(StreamObject::kNodeEntries) : 0;
  return t;
}

uint64_t Trim(StreamObject* s, const TrimArgs& t) {
  uint64_t limit = static_cast<uint64_t>(t.limit);
  if (t.strategy == TrimArgs::kMaxLen) return s->TrimMaxLen(static_cast<uint64_t>(t.maxlen), t.approx, limit);
  if (t.strategy == TrimArgs::kMinId) return s->TrimMinId(t.minid, t.approx, limit);
  return 0;
}

// The id of the entry XADD adds, or an error reply.
std::optional<StreamId> AddId(CommandContext& ctx, const StreamObject& s, const TrimArgs& t) {
  if (s.last_id == StreamId::Max()) {
    ctx.w->Error("ERR The stream has exhausted the last possible ID, unable to add more items");
    return std::nullopt;
  }
  Result<StreamId> id = t.id.id;
  if (!t.id_given) {
    id = s.NextId(static_cast<uint64_t>(ctx.NowMs()), std::nullopt);
  } else if (!t.id.seq_given) {
    id = s.NextId(static_cast<uint64_t>(ctx.NowMs()), t.id.id.ms);
  }
  if (!id.ok() || *id <= s.last_id) {
    ctx.w->Error("ERR The ID specified in XADD is equal or smaller than the target stream top item");
    return std::nullopt;
  }
  return *id;
}

void XAdd(CommandContext& ctx, Args args) {
  auto t = ParseTrimArgs(ctx, args, true);
  if (!t) return;
  size_t fields = t->next + 1;
  if (args.size() < fields + 2 || (args.size() - fields) % 2 == 1) return WrongArity(ctx, args[0]);
  if (t->id_given && t->id.seq_given && t->id.id.IsZero()) {
    return ctx.w->Error("ERR The ID specified in XADD must be greater than 0-0");
  }
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  StreamObject* s = Open<StreamObject>(ctx, key, ValueType::kStream, !t->nomkstream, &failed);
  if (failed) return;
  if (!s) return ctx.w->Null();
  auto id = AddId(ctx, *s, *t);
  if (!id) return;
  s->Append(*id, args.subspan(fields));
  WriteId(ctx.w, *id);
  Raise(ctx, "xadd", args[1]);
  if (Trim(s, *t) > 0) Raise(ctx, "xtrim", args[1]);
  ctx.engine()->ObjectChanged(key);
  ctx.core->blocking()->Notify(key);
}

void XTrim(CommandContext& ctx, Args args) {
  auto t = ParseTrimArgs(ctx, args, false);
  if (!t) return;
  LockedStream at(ctx, args[1]);
  if (at.failed) return;
  StreamObject* s = at.s;
  if (!s) return ctx.w->Integer(0);
  uint64_t n = Trim(s, *t);
  if (n > 0) {
    Raise(ctx, "xtrim", args[1]);
    ctx.engine()->ObjectChanged(at.key);
  }
  ctx.w->Integer(static_cast<int64_t>(n));
}

// --- XLEN / XRANGE / XREVRANGE / XDEL ---------------------------------------

void XLen(CommandContext& ctx, Args args) {
  LockedStream at(ctx, args[1]);
  if (at.failed) return;
  StreamObject* s = at.s;
  ctx.w->Integer(s ? static_cast<int64_t>(s->Size()) : 0);
}

void RangeGeneric(CommandContext& ctx, Args args, bool rev) {
  auto start = BoundArg(ctx, rev ? args[3] : args[2], true);
  if (!start) return;
  auto end = BoundArg(ctx, rev ? args[2] : args[3], false);
  if (!end) return;
  int64_t count = -1;
  for (size_t j = 4; j < args.size(); j++) {
    if (!IEquals(args[j], "count") || j + 1 >= args.size()) return ctx.w->Error(kSyntaxError);
    if (!IntArg(ctx, args[++j], &count)) return;
    if (count < 0) count = 0;
  }
  LockedStream at(ctx, args[1]);
  if (at.failed) return;
  StreamObject* s = at.s;
  if (!s) return ctx.w->Array(0);
  if (count == 0) return ctx.w->NullArray();
  WriteRange(ctx.w, *s, *start, *end, count < 0 ? 0 : static_cast<size_t>(count), rev);
}
void XRange(CommandContext& ctx, Args a) { RangeGeneric(ctx, a, false); }
void XRevRange(CommandContext& ctx, Args a) { RangeGeneric(ctx, a, true); }

// Strict ids from args[from..]; nullopt after replying the error.
std::optional<std::vector<StreamId>> IdList(CommandContext& ctx, Args args, size_t from) {
  std::vector<StreamId> ids;
  for (size_t j = from; j < args.size(); j++) {
    auto id = IdArg(ctx, args[j], 0, true);
    if (!id) return std::nullopt;
    ids.push_back(*id);
  }
  return ids;
}

void XDel(CommandContext& ctx, Args args) {
  LockedStream at(ctx, args[1]);
  if (at.failed) return;
  StreamObject* s = at.s;
  if (!s) return ctx.w->Integer(0);
  auto ids = IdList(ctx, args, 2);
  if (!ids) return;
  int64_t deleted = 0;
  for (StreamId id : *ids) deleted += s->Delete(id);
  if (deleted) {
    Raise(ctx, "xdel", args[1]);
    ctx.engine()->ObjectChanged(at.key);
  }
  ctx.w->Integer(deleted);
}

// --- XREAD / XREADGROUP -----------------------------------------------------

struct ReadArgs {
  bool group_mode = false;  // XREADGROUP
  int64_t timeout_ms = -1;  // -1: no BLOCK
  int64_t count = 0;        // 0: no limit
  bool noack = false;
  bool has_group = false;
  std::string_view group, consumer;
  size_t streams = 0;       // index of the first key
  size_t n = 0;             // number of streams
};

std::optional<ReadArgs> ParseReadArgs(CommandContext& ctx, Args args) {
  ReadArgs r;
  r.group_mode = IEquals(args[0], "xreadgroup");
  for (size_t i = 1; i < args.size(); i++) {
    size_t more = args.size() - 1 - i;
    std::string_view o = args[i];
    if (IEquals(o, "block") && more) {
      if (!IntArg(ctx, args[++i], &r.timeout_ms, "ERR timeout is not an integer or out of range")) return std::nullopt;
      if (r.timeout_ms < 0) {
        ctx.w->Error("ERR timeout is negative");
        return std::nullopt;
      }
    } else if (IEquals(o, "count") && more) {
      if (!IntArg(ctx, args[++i], &r.count)) return std::nullopt;
      if (r.count < 0) r.count = 0;
    } else if (IEquals(o, "streams") && more) {
      r.streams = i + 1;
      size_t rest = args.size() - r.streams;
      if (rest % 2 != 0) {
        // Redis 7.0's text, XREADGROUP's included.
        ctx.w->Error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
        return std::nullopt;
      }
      r.n = rest / 2;
      break;
    } else if (IEquals(o, "group") && more >= 2) {
      if (!r.group_mode) {
        ctx.w->Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
        return std::nullopt;
      }
      r.has_group = true;
      r.group = args[i + 1];
      r.consumer = args[i + 2];
      i += 2;
    } else if (IEquals(o, "noack")) {
      if (!r.group_mode) {
        ctx.w->Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
        return std::nullopt;
      }
      r.noack = true;
    } else {
      ctx.w->Error(kSyntaxError);
      return std::nullopt;
    }
  }
  if (r.streams == 0) {
    ctx.w->Error(kSyntaxError);
    return std::nullopt;
  }
  if (r.group_mode && !r.has_group) {
    ctx.w->Error("ERR Missing GROUP option for XREADGROUP");
    return std::nullopt;
  }
  return r;
}

// The id each stream is read after; StreamId::Max() stands for ">". "$" is
// the stream's top at the first run and what was saved at the re-runs.
std::optional<std::vector<StreamId>> ResolveReadIds(CommandContext& ctx, Args args, const ReadArgs& r) {
  bool rerun = ctx.session->block_deadline_ms >= 0 && ctx.session->block_stream_ids.size() == r.n;
  std::vector<StreamId> ids(r.n);
  for (size_t i = 0; i < r.n; i++) {
    std::string_view key_arg = args[r.streams + i], id_arg = args[r.streams + r.n + i];
    LockedStream at(ctx, key_arg);
    if (at.failed) return std::nullopt;
    StreamObject* s = at.s;
    if (r.group_mode && (!s || !s->Group(r.group))) {
      ctx.w->Error("NOGROUP No such key '" + std::string(key_arg) + "' or consumer group '" + std::string(r.group) +
                   "' in XREADGROUP with GROUP option");
      return std::nullopt;
    }
    if (id_arg == "$") {
      if (r.group_mode) {
        ctx.w->Error(
            "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this "
            "consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an "
            "empty result set.");
        return std::nullopt;
      }
      ids[i] = rerun ? ctx.session->block_stream_ids[i] : (s ? s->last_id : StreamId{});
    } else if (id_arg == ">") {
      if (!r.group_mode) {
        ctx.w->Error(
            "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
        return std::nullopt;
      }
      ids[i] = StreamId::Max();
    } else {
      auto id = IdArg(ctx, id_arg, 0, true);
      if (!id) return std::nullopt;
      ids[i] = *id;
    }
  }
  return ids;
}

StreamConsumer& TouchConsumer(CommandContext& ctx, StreamGroup& g, std::string_view name, std::string_view key) {
  auto it = g.consumers.find(name);
  if (it == g.consumers.end()) {
    it = g.consumers.emplace(std::string(name), StreamConsumer{}).first;
    Raise(ctx, "xgroup-createconsumer", key);
  }
  it->second.seen_ms = ctx.NowMs();
  return it->second;
}

// XREADGROUP with an id: the consumer's own pending entries after it.
void WriteHistory(CommandContext& ctx, RespWriter* w, StreamObject& s, StreamGroup& g, StreamConsumer& c,
                  StreamId after, size_t count) {
  std::vector<StreamId> ids;
  if (after.Incr()) {
    for (auto it = c.pending.lower_bound(after); it != c.pending.end() && (!count || ids.size() < count); ++it) {
      ids.push_back(*it);
    }
  }
  w->Array(ids.size());
  for (StreamId id : ids) {
    auto e = s.entries().find(id);
    if (e == s.entries().end()) {
      w->Array(2);
      WriteId(w, id);
      w->NullArray();
      continue;
    }
    WriteEntry(w, id, e->second);
    StreamPending& p = g.pel[id];
    p.delivery_ms = ctx.NowMs();
    p.delivery_count++;
  }
}

// XREADGROUP ">": entries after the group's last delivered id.
void WriteNew(CommandContext& ctx, RespWriter* w, StreamObject& s, StreamGroup& g, std::string_view consumer,
              size_t count, bool noack) {
  std::vector<StreamId> ids;
  for (auto it = s.entries().upper_bound(g.last_id); it != s.entries().end() && (!count || ids.size() < count);
       ++it) {
    ids.push_back(it->first);
  }
  w->Array(ids.size());
  for (StreamId id : ids) {
    WriteEntry(w, id, s.entries().at(id));
    s.Deliver(g, consumer, id, ctx.NowMs(), noack);
  }
}

// Serves stream i if it has something for the reader; true when it did.
bool ServeOne(CommandContext& ctx, RespWriter* w, std::string_view key_arg, StreamId id, const ReadArgs& r) {
  LockedStream at(ctx, key_arg);
  StreamObject* s = at.s;
  if (at.failed || !s) return false;
  // Woken from BLOCK without COUNT: at most kBlockedDefaultCount, as Redis.
  bool woken = ctx.session->block_deadline_ms >= 0;
  size_t count = r.count ? static_cast<size_t>(r.count) : woken ? kBlockedDefaultCount : 0;
  bool history = false;
  StreamGroup* g = r.group_mode ? s->Group(r.group) : nullptr;
  if (g) {
    history = id != StreamId::Max();
    // Nothing new: as Redis 7.0, the consumer is not created (or seen) yet.
    if (!history && !(s->Size() && s->LastValidId() > g->last_id)) return false;
  } else if (r.group_mode || !(s->Size() && s->LastValidId() > id)) {
    return false;
  }
  if (w->protocol() == 2) w->Array(2);
  w->Bulk(key_arg);
  if (!g) {
    StreamId start = id;
    start.Incr();
    WriteRange(w, *s, start, StreamId::Max(), count, false);
    return true;
  }
  StreamConsumer& c = TouchConsumer(ctx, *g, r.consumer, key_arg);
  if (history) WriteHistory(ctx, w, *s, *g, c, id, count);
  else WriteNew(ctx, w, *s, *g, r.consumer, count, r.noack);
  ctx.engine()->ObjectChanged(at.key);
  return true;
}

void ReadGeneric(CommandContext& ctx, Args args) {
  auto r = ParseReadArgs(ctx, args);
  if (!r) return;
  auto ids = ResolveReadIds(ctx, args, *r);
  if (!ids) return;
  std::string body;
  RespWriter w(&body);
  w.set_protocol(ctx.w->protocol());
  size_t served = 0;
  for (size_t i = 0; i < r->n; i++) served += ServeOne(ctx, &w, args[r->streams + i], (*ids)[i], *r);
  if (served) {
    if (ctx.w->protocol() == 3) ctx.w->Map(served);
    else ctx.w->Array(served);
    ctx.w->buffer()->append(body);
    return;
  }
  if (r->timeout_ms < 0) return ctx.w->NullArray();
  int64_t& deadline = ctx.session->block_deadline_ms;
  if (deadline < 0) {
    deadline = r->timeout_ms == 0 ? 0 : ctx.NowMs() + r->timeout_ms;
    ctx.session->block_stream_ids = *ids;
  }
  if (deadline != 0 && ctx.NowMs() >= deadline) return ctx.w->NullArray();
  ctx.block = true;
  ctx.block_keys.clear();
  for (size_t i = 0; i < r->n; i++) ctx.block_keys.push_back(ctx.Key(args[r->streams + i]));
  ctx.block_deadline_ms = deadline;
}

// --- XGROUP -------------------------------------------------------------------

void XGroupHelp(CommandContext& ctx) {
  ReplyHelp(ctx, "XGROUP",
            {"CREATE <key> <groupname> <id|$> [option]",
             "    Create a new consumer group. Options are:",
             "    * MKSTREAM",
             "      Create the empty stream if it does not exist.",
             "    * ENTRIESREAD entries_read",
             "      Set the group's entries_read counter (internal use).",
             "CREATECONSUMER <key> <groupname> <consumer>",
             "    Create a new consumer in the specified group.",
             "DELCONSUMER <key> <groupname> <consumer>",
             "    Remove the specified consumer.",
             "DESTROY <key> <groupname>",
             "    Remove the specified group.",
             "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
             "    Set the current group ID and entries_read counter."});
}

struct GroupOpts {
  bool mkstream = false;
  int64_t entries_read = StreamGroup::kInvalidEntriesRead;
};

std::optional<GroupOpts> ParseGroupOpts(CommandContext& ctx, Args args, bool create, bool setid) {
  GroupOpts o;
  for (size_t i = 5; i < args.size();) {
    if (create && IEquals(args[i], "mkstream")) {
      o.mkstream = true;
      i++;
    } else if ((create || setid) && IEquals(args[i], "entriesread") && i + 1 < args.size()) {
      if (!IntArg(ctx, args[i + 1], &o.entries_read)) return std::nullopt;
      if (o.entries_read < 0 && o.entries_read != StreamGroup::kInvalidEntriesRead) {
        ctx.w->Error("ERR value for ENTRIESREAD must be positive or -1");
        return std::nullopt;
      }
      i += 2;
    } else {
      SubcommandSyntaxError(ctx, args);
      return std::nullopt;
    }
  }
  return o;
}

void XGroupCreate(CommandContext& ctx, Args args, StreamObject* s, const GroupOpts& o, const InternalKey& key) {
  StreamId id;
  if (args[4] == "$") {
    if (s) id = s->last_id;
  } else {
    auto parsed = IdArg(ctx, args[4], 0, true);
    if (!parsed) return;
    id = *parsed;
  }
  if (!s) {
    bool failed;
    s = Open<StreamObject>(ctx, key, ValueType::kStream, true, &failed);
    if (failed) return;
  }
  if (s->Group(args[3])) return ctx.w->Error("BUSYGROUP Consumer Group name already exists");
  StreamGroup& g = s->groups()[std::string(args[3])];
  g.last_id = id;
  g.entries_read = o.entries_read;
  ctx.engine()->ObjectChanged(key);
  Raise(ctx, "xgroup-create", args[2]);
  ctx.w->Ok();
}

void XGroupSetId(CommandContext& ctx, Args args, StreamObject* s, StreamGroup* g, const GroupOpts& o) {
  StreamId id = s->last_id;
  if (args[4] != "$") {
    auto parsed = IdArg(ctx, args[4], 0, false);
    if (!parsed) return;
    id = *parsed;
  }
  g->last_id = id;
  g->entries_read = o.entries_read;
  Raise(ctx, "xgroup-setid", args[2]);
  ctx.w->Ok();
}

void XGroupDelConsumer(CommandContext& ctx, Args args, StreamGroup* g) {
  auto it = g->consumers.find(args[4]);
  if (it == g->consumers.end()) return ctx.w->Integer(0);
  int64_t pending = static_cast<int64_t>(it->second.pending.size());
  for (StreamId id : it->second.pending) g->pel.erase(id);
  g->consumers.erase(it);
  Raise(ctx, "xgroup-delconsumer", args[2]);
  ctx.w->Integer(pending);
}

// The subcommand's arity (Redis 7's xgroup|<sub> table); false after replying.
bool XGroupArity(CommandContext& ctx, std::string_view sub, size_t n) {
  bool ok = (sub == "create" && n >= 5) || (sub == "setid" && n >= 5) || (sub == "destroy" && n == 4) ||
            ((sub == "createconsumer" || sub == "delconsumer") && n == 5);
  if (!ok) ctx.w->Error("ERR wrong number of arguments for 'xgroup|" + std::string(sub) + "' command");
  return ok;
}

void XGroup(CommandContext& ctx, Args args) {
  std::string sub = ToLower(args[1]);
  if (sub == "help") {
    if (args.size() != 2) return ctx.w->Error("ERR wrong number of arguments for 'xgroup|help' command");
    return XGroupHelp(ctx);
  }
  if (sub != "create" && sub != "setid" && sub != "destroy" && sub != "createconsumer" && sub != "delconsumer") {
    return ctx.w->Error("ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) + "'. Try XGROUP HELP.");
  }
  if (!XGroupArity(ctx, sub, args.size())) return;
  auto o = ParseGroupOpts(ctx, args, sub == "create", sub == "setid");
  if (!o) return;
  LockedStream at(ctx, args[2]);
  if (at.failed) return;
  StreamObject* s = at.s;
  StreamGroup* g = s ? s->Group(args[3]) : nullptr;
  if (!o->mkstream) {
    if (!s) {
      return ctx.w->Error(
          "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the "
          "MKSTREAM option to create an empty stream automatically.");
    }
    if (!g && sub != "create" && sub != "destroy") return ctx.w->Error(NoGroupForKey(args[3], args[2]));
  }
  if (sub == "create") {
    if (args.size() > 8) return SubcommandSyntaxError(ctx, args);
    return XGroupCreate(ctx, args, s, *o, at.key);
  }
  if (sub == "setid") {
    if (args.size() != 5 && args.size() != 7) return SubcommandSyntaxError(ctx, args);
    XGroupSetId(ctx, args, s, g, *o);
  } else if (sub == "destroy") {
    if (!g) return ctx.w->Integer(0);
    s->groups().erase(std::string(args[3]));
    Raise(ctx, "xgroup-destroy", args[2]);
    ctx.w->Integer(1);
    ctx.core->blocking()->Notify(at.key);
  } else if (sub == "createconsumer") {
    bool created = !g->consumers.contains(args[4]);
    if (created) TouchConsumer(ctx, *g, args[4], args[2]);
    ctx.w->Integer(created ? 1 : 0);
  } else {
    XGroupDelConsumer(ctx, args, g);
  }
  ctx.engine()->ObjectChanged(at.key);
}

// --- XSETID / XACK ------------------------------------------------------------

void XSetId(CommandContext& ctx, Args args) {
  auto id = IdArg(ctx, args[2], 0, true);
  if (!id) return;
  int64_t entries_added = -1;
  StreamId max_deleted;
  for (size_t i = 3; i < args.size(); i += 2) {
    bool more = i + 1 < args.size();
    if (IEquals(args[i], "entriesadded") && more) {
      if (!IntArg(ctx, args[i + 1], &entries_added)) return;
      if (entries_added < 0) return ctx.w->Error("ERR entries_added must be positive");
    } else if (IEquals(args[i], "maxdeletedid") && more) {
      auto m = IdArg(ctx, args[i + 1], 0, true);
      if (!m) return;
      if (*id < *m) {
        return ctx.w->Error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
      }
      max_deleted = *m;
    } else {
      return ctx.w->Error(kSyntaxError);
    }
  }
  LockedStream at(ctx, args[1]);
  if (at.failed) return;
  StreamObject* s = at.s;
  if (!s) return ctx.w->Error(kNoSuchKey);
  if (s->Size() > 0) {
    if (*id < s->LastValidId()) {
      return ctx.w->Error("ERR The ID specified in XSETID is smaller than the target stream top item");
    }
    if (entries_added != -1 && s->Size() > static_cast<uint64_t>(entries_added)) {
      return ctx.w->Error("ERR The entries_added specified in XSETID is smaller than the target stream length");
    }
  }
  if (*id < s->max_deleted_id) {
    return ctx.w->Error("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id");
  }
  s->last_id = *id;
  if (entries_added != -1) s->entries_added = static_cast<uint64_t>(entries_added);
  if (!max_deleted.IsZero()) s->max_deleted_id = max_deleted;
  ctx.engine()->ObjectChanged(at.key);
  Raise(ctx, "xsetid", args[1]);
  ctx.w->Ok();
}

void XAck(CommandContext& ctx, Args args) {
  LockedStream at(ctx, args[1]);
  if (at.failed) return;
  StreamObject* s = at.s;
  StreamGroup* g = s ? s->Group(args[2]) : nullptr;
  if (!g) return ctx.w->Integer(0);
  auto ids = IdList(ctx, args, 3);
  if (!ids) return;
  int64_t acked = 0;
  for (StreamId id : *ids) acked += StreamObject::Ack(*g, id);
  if (acked) ctx.engine()->ObjectChanged(at.key);
  ctx.w->Integer(acked);
}

// --- XPENDING -----------------------------------------------------------------

void PendingSummary(CommandContext& ctx, const StreamGroup& g) {
  ctx.w->Array(4);
  ctx.w->Integer(static_cast<int64_t>(g.pel.size()));
  if (g.pel.empty()) {
    ctx.w->Null();
    ctx.w->Null();
    return ctx.w->NullArray();
  }
  WriteId(ctx.w, g.pel.begin()->first);
  WriteId(ctx.w, g.pel.rbegin()->first);
  size_t n = 0;
  for (const auto& [name, c] : g.consumers) n += !c.pending.empty();
  ctx.w->Array(n);
  for (const auto& [name, c] : g.consumers) {
    if (c.pending.empty()) continue;
    ctx.w->Array(2);
    ctx.w->Bulk(name);
    ctx.w->Bulk(std::to_string(c.pending.size()));
  }
}

struct PendingRange {
  int64_t min_idle = 0;
  StreamId start, end;
  int64_t count = 0;
  std::optional<std::string_view> consumer;
};

std::optional<PendingRange> ParsePendingRange(CommandContext& ctx, Args args) {
  PendingRange p;
  size_t at = 3;
  if (IEquals(args[3], "idle")) {
    if (!IntArg(ctx, args[4], &p.min_idle)) return std::nullopt;
    if (args.size() < 8) {
      ctx.w->Error(kSyntaxError);
      return std::nullopt;
    }
    at += 2;
  }
  if (!IntArg(ctx, args[at + 2], &p.count)) return std::nullopt;
  if (p.count < 0) p.count = 0;
  auto start = BoundArg(ctx, args[at], true);
  if (!start) return std::nullopt;
  auto end = BoundArg(ctx, args[at + 1], false);
  if (!end) return std::nullopt;
  p.start = *start;
  p.end = *end;
  if (at + 3 < args.size()) p.consumer = args[at + 3];
  return p;
}

void PendingList(CommandContext& ctx, const StreamGroup& g, const PendingRange& p) {
  const std::set<StreamId>* only = nullptr;
  if (p.consumer) {
    auto c = g.consumers.find(*p.consumer);
    if (c == g.consumers.end()) return ctx.w->Array(0);
    only = &c->second.pending;
  }
  int64_t now = ctx.NowMs();
  std::vector<std::pair<StreamId, const StreamPending*>> out;
  for (auto it = g.pel.lower_bound(p.start);
       it != g.pel.end() && it->first <= p.end && static_cast<int64_t>(out.size()) < p.count; ++it) {
    if (only && !only->contains(it->first)) continue;
    if (p.min_idle && now - it->second.delivery_ms < p.min_idle) continue;
    out.emplace_back(it->first, &it->second);
  }
  ctx.w->Array(out.size());
  for (const auto& [id, pe] : out) {
    ctx.w->Array(4);
    WriteId(ctx.w, id);
    ctx.w->Bulk(pe->consumer);
    ctx.w->Integer(std::max<int64_t>(0, now - pe->delivery_ms));
    ctx.w->Integer(static_cast<int64_t>(pe->delivery_count));
  }
}

void XPending(CommandContext& ctx, Args args) {
  if (args.size() != 3 && (args.size() < 6 || args.size() > 9)) return ctx.w->Error(kSyntaxError);
  std::optional<PendingRange> range;
  if (args.size() >= 6) {
    range = ParsePendingRange(ctx, args);
    if (!range) return;
  }
  LockedStream at(ctx, args[1]);
  StreamGroup* g = GroupOrReply(ctx, at, args);
  if (!g) return;
  if (!range) return PendingSummary(ctx, *g);
  PendingList(ctx, *g, *range);
}

// --- XCLAIM / XAUTOCLAIM ------------------------------------------------------

struct ClaimOpts {
  int64_t min_idle = 0;
  int64_t delivery_ms = -1;  // -1: now
  int64_t retry_count = -1;  // -1: unchanged (incremented unless JUSTID)
  bool force = false, justid = false;
  std::optional<StreamId> last_id;
  std::vector<StreamId> ids;
};

std::optional<ClaimOpts> ParseClaimOpts(CommandContext& ctx, Args args) {
  ClaimOpts o;
  if (!IntArg(ctx, args[4], &o.min_idle, "ERR Invalid min-idle-time argument for XCLAIM")) return std::nullopt;
  o.min_idle = std::max<int64_t>(0, o.min_idle);
  size_t j = 5;
  for (; j < args.size(); j++) {
    auto id = ParseStreamId(args[j], 0, true);
    if (!id.ok()) break;
    o.ids.push_back(id->id);
  }
  int64_t now = ctx.NowMs();
  for (; j < args.size(); j++) {
    bool more = j + 1 < args.size();
    std::string_view opt = args[j];
    if (IEquals(opt, "force")) {
      o.force = true;
    } else if (IEquals(opt, "justid")) {
      o.justid = true;
    } else if (IEquals(opt, "idle") && more) {
      if (!IntArg(ctx, args[++j], &o.delivery_ms, "ERR Invalid IDLE option argument for XCLAIM")) return std::nullopt;
      o.delivery_ms = now - o.delivery_ms;
    } else if (IEquals(opt, "time") && more) {
      if (!IntArg(ctx, args[++j], &o.delivery_ms, "ERR Invalid TIME option argument for XCLAIM")) return std::nullopt;
    } else if (IEquals(opt, "retrycount") && more) {
      if (!IntArg(ctx, args[++j], &o.retry_count, "ERR Invalid RETRYCOUNT option argument for XCLAIM")) {
        return std::nullopt;
      }
    } else if (IEquals(opt, "lastid") && more) {
      o.last_id = IdArg(ctx, args[++j], 0, true);
      if (!o.last_id) return std::nullopt;
    } else {
      ctx.w->Error("ERR Unrecognized XCLAIM option '" + std::string(opt) + "'");
      return std::nullopt;
    }
  }
  if (o.delivery_ms < 0 || o.delivery_ms > now) o.delivery_ms = now;
  return o;
}

// Takes pending entry `id` for `consumer` if it qualifies; false to skip it.
bool ClaimOne(CommandContext& ctx, StreamObject& s, StreamGroup& g, std::string_view consumer, StreamId id,
              const ClaimOpts& o) {
  auto it = g.pel.find(id);
  if (!s.entries().contains(id)) {
    if (it != g.pel.end()) StreamObject::Ack(g, id);  // the entry is gone: drop it from the PEL
    return false;
  }
  bool created = false;
  if (it == g.pel.end()) {
    if (!o.force) return false;
    it = g.pel.emplace(id, StreamPending{std::string(consumer), o.delivery_ms, 1}).first;
    g.consumers[std::string(consumer)].pending.insert(id);
    created = true;
  }
  if (!created && o.min_idle && ctx.NowMs() - it->second.delivery_ms < o.min_idle) return false;
  StreamObject::Assign(g, it->second, id, consumer);
  it->second.delivery_ms = o.delivery_ms;
  if (o.retry_count >= 0) it->second.delivery_count = static_cast<uint64_t>(o.retry_count);
  else if (!o.justid) it->second.delivery_count++;
  return true;
}

void XClaim(CommandContext& ctx, Args args) {
  LockedStream at(ctx, args[1]);
  StreamGroup* g = GroupOrReply(ctx, at, args);
  if (!g) return;
  StreamObject* s = at.s;
  auto o = ParseClaimOpts(ctx, args);
  if (!o) return;
  if (o->last_id && *o->last_id > g->last_id) g->last_id = *o->last_id;
  StreamConsumer& c = TouchConsumer(ctx, *g, args[3], args[1]);
  std::vector<StreamId> claimed;
  for (StreamId id : o->ids) {
    if (ClaimOne(ctx, *s, *g, args[3], id, *o)) claimed.push_back(id);
  }
  if (!claimed.empty()) c.active_ms = ctx.NowMs();
  ctx.w->Array(claimed.size());
  for (StreamId id : claimed) {
    if (o->justid) WriteId(ctx.w, id);
    else WriteEntry(ctx.w, id, s->entries().at(id));
  }
  ctx.engine()->ObjectChanged(at.key);
}

struct AutoClaimArgs {
  int64_t min_idle = 0;
  StreamId start;
  int64_t count = 100;
  bool justid = false;
};

std::optional<AutoClaimArgs> ParseAutoClaim(CommandContext& ctx, Args args) {
  AutoClaimArgs a;
  if (!IntArg(ctx, args[4], &a.min_idle, "ERR Invalid min-idle-time argument for XAUTOCLAIM")) return std::nullopt;
  a.min_idle = std::max<int64_t>(0, a.min_idle);
  auto start = BoundArg(ctx, args[5], true);
  if (!start) return std::nullopt;
  a.start = *start;
  for (size_t j = 6; j < args.size(); j++) {
    if (IEquals(args[j], "count") && j + 1 < args.size()) {
      constexpr int64_t kMaxCount = INT64_MAX / 16;
      if (!ParseInt(args[++j], &a.count) || a.count < 1 || a.count > kMaxCount) {
        ctx.w->Error("ERR COUNT must be > 0");
        return std::nullopt;
      }
    } else if (IEquals(args[j], "justid")) {
      a.justid = true;
    } else {
      ctx.w->Error(kSyntaxError);
      return std::nullopt;
    }
  }
  return a;
}

void XAutoClaim(CommandContext& ctx, Args args) {
  auto a = ParseAutoClaim(ctx, args);
  if (!a) return;
  LockedStream at(ctx, args[1]);
  StreamGroup* g = GroupOrReply(ctx, at, args);
  if (!g) return;
  StreamObject* s = at.s;
  TouchConsumer(ctx, *g, args[3], args[1]);
  int64_t now = ctx.NowMs(), count = a->count, attempts = a->count * 10;
  std::vector<StreamId> claimed, deleted;
  auto it = g->pel.lower_bound(a->start);
  while (attempts > 0 && count > 0 && it != g->pel.end()) {
    attempts--;
    StreamId id = it->first;
    if (!s->entries().contains(id)) {  // the entry is gone: drop it from the PEL
      deleted.push_back(id);
      count--;
      ++it;
      StreamObject::Ack(*g, id);
      continue;
    }
    if (a->min_idle && now - it->second.delivery_ms < a->min_idle) {
      ++it;
      continue;
    }
    StreamObject::Assign(*g, it->second, id, args[3]);
    it->second.delivery_ms = now;
    if (!a->justid) it->second.delivery_count++;
    claimed.push_back(id);
    count--;
    ++it;
  }
  StreamId next = it == g->pel.end() ? StreamId{} : it->first;
  if (!claimed.empty()) g->consumers[std::string(args[3])].active_ms = now;
  ctx.w->Array(3);
  WriteId(ctx.w, next);
  ctx.w->Array(claimed.size());
  for (StreamId id : claimed) {
    if (a->justid) WriteId(ctx.w, id);
    else WriteEntry(ctx.w, id, s->entries().at(id));
  }
  ctx.w->Array(deleted.size());
  for (StreamId id : deleted) WriteId(ctx.w, id);
  ctx.engine()->ObjectChanged(at.key);
}

// --- XINFO --------------------------------------------------------------------

void WriteLag(RespWriter* w, const StreamObject& s, const StreamGroup& g) {
  auto lag = s.Lag(g);
  if (lag) w->Integer(*lag);
  else w->Null();
}

void WriteEntriesRead(RespWriter* w, const StreamGroup& g) {
  if (g.entries_read != StreamGroup::kInvalidEntriesRead) w->Integer(g.entries_read);
  else w->Null();
}

// radix-tree-keys / -nodes have no counterpart here: reported as one key
// per kNodeEntries entries.
void WriteStreamHeader(RespWriter* w, const StreamObject& s) {
  uint64_t keys = (s.Size() + StreamObject::kNodeEntries - 1) / StreamObject::kNodeEntries;
  w->Bulk("length");
  w->Integer(static_cast<int64_t>(s.Size()));
  w->Bulk("radix-tree-keys");
  w->Integer(static_cast<int64_t>(keys));
  w->Bulk("radix-tree-nodes");
  w->Integer(static_cast<int64_t>(keys + 1));
  w->Bulk("last-generated-id");
  WriteId(w, s.last_id);
  w->Bulk("max-deleted-entry-id");
  WriteId(w, s.max_deleted_id);
  w->Bulk("entries-added");
  w->Integer(static_cast<int64_t>(s.entries_added));
  w->Bulk("recorded-first-entry-id");
  WriteId(w, s.first_id);
}

void WriteFullGroup(RespWriter* w, std::string_view name, const StreamObject& s, const StreamGroup& g, size_t count) {
  w->Map(7);
  w->Bulk("name");
  w->Bulk(name);
  w->Bulk("last-delivered-id");
  WriteId(w, g.last_id);
  w->Bulk("entries-read");
  WriteEntriesRead(w, g);
  w->Bulk("lag");
  WriteLag(w, s, g);
  w->Bulk("pel-count");
  w->Integer(static_cast<int64_t>(g.pel.size()));
  w->Bulk("pending");
  size_t n = count ? std::min(count, g.pel.size()) : g.pel.size();
  w->Array(n);
  for (auto it = g.pel.begin(); n-- > 0; ++it) {
    w->Array(4);
    WriteId(w, it->first);
    w->Bulk(it->second.consumer);
    w->Integer(it->second.delivery_ms);
    w->Integer(static_cast<int64_t>(it->second.delivery_count));
  }
  w->Bulk("consumers");
  w->Array(g.consumers.size());
  for (const auto& [cname, c] : g.consumers) {
    w->Map(4);
    w->Bulk("name");
    w->Bulk(cname);
    w->Bulk("seen-time");
    w->Integer(c.seen_ms);
    w->Bulk("pel-count");
    w->Integer(static_cast<int64_t>(c.pending.size()));
    w->Bulk("pending");
    size_t m = count ? std::min(count, c.pending.size()) : c.pending.size();
    w->Array(m);
    for (auto id = c.pending.begin(); m-- > 0; ++id) {
      const StreamPending& p = g.pel.at(*id);
      w->Array(3);
      WriteId(w, *id);
      w->Integer(p.delivery_ms);
      w->Integer(static_cast<int64_t>(p.delivery_count));
    }
  }
}

void XInfoStream(CommandContext& ctx, Args args, const StreamObject& s) {
  size_t optc = args.size() - 3;
  int64_t count = 10;
  if (optc != 0) {
    if ((optc != 1 && optc != 3) || !IEquals(args[3], "full") || (optc == 3 && !IEquals(args[4], "count"))) {
      return SubcommandSyntaxError(ctx, args);
    }
    if (optc == 3 && !IntArg(ctx, args[5], &count)) return;
    if (count < 0) count = 10;
  }
  RespWriter* w = ctx.w;
  w->Map(optc == 0 ? 10 : 9);
  WriteStreamHeader(w, s);
  if (optc == 0) {
    w->Bulk("groups");
    w->Integer(static_cast<int64_t>(s.groups().size()));
    w->Bulk("first-entry");
    if (s.Size()) WriteEntry(w, s.entries().begin()->first, s.entries().begin()->second);
    else w->Null();
    w->Bulk("last-entry");
    if (s.Size()) WriteEntry(w, s.entries().rbegin()->first, s.entries().rbegin()->second);
    else w->Null();
    return;
  }
  w->Bulk("entries");
  WriteRange(w, s, StreamId::Min(), StreamId::Max(), static_cast<size_t>(count), false);
  w->Bulk("groups");
  w->Array(s.groups().size());
  for (const auto& [name, g] : s.groups()) WriteFullGroup(w, name, s, g, static_cast<size_t>(count));
}

void XInfoGroups(CommandContext& ctx, const StreamObject& s) {
  ctx.w->Array(s.groups().size());
  for (const auto& [name, g] : s.groups()) {
    ctx.w->Map(6);
    ctx.w->Bulk("name");
    ctx.w->Bulk(name);
    ctx.w->Bulk("consumers");
    ctx.w->Integer(static_cast<int64_t>(g.consumers.size()));
    ctx.w->Bulk("pending");
    ctx.w->Integer(static_cast<int64_t>(g.pel.size()));
    ctx.w->Bulk("last-delivered-id");
    WriteId(ctx.w, g.last_id);
    ctx.w->Bulk("entries-read");
    WriteEntriesRead(ctx.w, g);
    ctx.w->Bulk("lag");
    WriteLag(ctx.w, s, g);
  }
}

void XInfoConsumers(CommandContext& ctx, Args args, StreamObject& s) {
  StreamGroup* g = s.Group(args[3]);
  if (!g) return ctx.w->Error(NoGroupForKey(args[3], args[2]));
  int64_t now = ctx.NowMs();
  ctx.w->Array(g->consumers.size());
  for (const auto& [name, c] : g->consumers) {
    ctx.w->Map(3);
    ctx.w->Bulk("name");
    ctx.w->Bulk(name);
    ctx.w->Bulk("pending");
    ctx.w->Integer(static_cast<int64_t>(c.pending.size()));
    ctx.w->Bulk("idle");
    ctx.w->Integer(std::max<int64_t>(0, now - c.seen_ms));
  }
}

void XInfoHelp(CommandContext& ctx) {
  ReplyHelp(ctx, "XINFO",
            {"CONSUMERS <key> <groupname>",
             "    Show consumers of <groupname>.",
             "GROUPS <key>",
             "    Show the stream consumer groups.",
             "STREAM <key> [FULL [COUNT <count>]",
             "    Show information about the stream."});
}

void XInfo(CommandContext& ctx, Args args) {
  std::string sub = ToLower(args[1]);
  size_t n = args.size();
  bool known = sub == "help" || sub == "stream" || sub == "groups" || sub == "consumers";
  if (!known) {
    return ctx.w->Error("ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) + "'. Try XINFO HELP.");
  }
  bool arity_ok = (sub == "help" && n == 2) || (sub == "stream" && n >= 3) || (sub == "groups" && n == 3) ||
                  (sub == "consumers" && n == 4);
  if (!arity_ok) return ctx.w->Error("ERR wrong number of arguments for 'xinfo|" + sub + "' command");
  if (sub == "help") return XInfoHelp(ctx);
  LockedStream at(ctx, args[2]);
  if (at.failed) return;
  StreamObject* s = at.s;
  if (!s) return ctx.w->Error(kNoSuchKey);
  if (sub == "stream") return XInfoStream(ctx, args, *s);
  if (sub == "groups") return XInfoGroups(ctx, *s);
  XInfoConsumers(ctx, args, *s);
}

}  // namespace

void RegisterStreamCommands(CommandTable& t) {
  t.Add({"xadd", -5, kWrite | kFast, 1, 1, 1, XAdd});
  t.Add({"xtrim", -4, kWrite, 1, 1, 1, XTrim});
  t.Add({"xdel", -3, kWrite | kFast, 1, 1, 1, XDel});
  t.Add({"xlen", 2, kReadOnly | kFast, 1, 1, 1, XLen});
  t.Add({"xrange", -4, kReadOnly, 1, 1, 1, XRange});
  t.Add({"xrevrange", -4, kReadOnly, 1, 1, 1, XRevRange});
  t.Add({"xread", -4, kReadOnly | kBlocking, 0, 0, 0, ReadGeneric});
  t.Add({"xreadgroup", -7, kWrite | kBlocking, 0, 0, 0, ReadGeneric});
  t.Add({"xgroup", -2, kWrite, 2, 2, 1, XGroup});
  t.Add({"xsetid", -3, kWrite, 1, 1, 1, XSetId});
  t.Add({"xack", -4, kWrite | kFast, 1, 1, 1, XAck});
  t.Add({"xpending", -3, kReadOnly, 1, 1, 1, XPending});
  t.Add({"xclaim", -6, kWrite | kFast, 1, 1, 1, XClaim});
  t.Add({"xautoclaim", -6, kWrite | kFast, 1, 1, 1, XAutoClaim});
  t.Add({"xinfo", -2, kReadOnly, 2, 2, 1, XInfo});
}

}  // namespace strata::cache::resp
