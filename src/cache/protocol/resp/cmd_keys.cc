// RESP keyspace commands: existence, expiry, type, iteration, renaming.
#include <charconv>
#include <memory>

#include "cache/protocol/resp/command_util.h"
#include "env/random.h"

namespace strata::cache::resp {
namespace {

std::string_view TypeName(ValueType t) {
  switch (t) {
    case ValueType::kString: return "string";
    case ValueType::kHash: return "hash";
    case ValueType::kList: return "list";
    case ValueType::kSet: return "set";
    case ValueType::kZSet: return "zset";
    case ValueType::kStream: return "stream";
  }
  return "none";
}

void Del(CommandContext& ctx, Args args) {
  int64_t n = 0;
  for (size_t i = 1; i < args.size(); i++) {
    InternalKey key = ctx.Key(args[i]);
    KeyLock lock(ctx.engine(), key);
    n += ctx.engine()->Erase(key);
  }
  ctx.w->Integer(n);
}

void Exists(CommandContext& ctx, Args args) {
  int64_t n = 0;
  for (size_t i = 1; i < args.size(); i++) {
    InternalKey key = ctx.Key(args[i]);
    KeyLock lock(ctx.engine(), key);
    ItemView v;
    n += FindKey(ctx, key, &v);
  }
  ctx.w->Integer(n);
}

void ExpireGeneric(CommandContext& ctx, Args args, bool millis, bool absolute) {
  int64_t n, at;
  if (!ParseInt(args[2], &n)) return ctx.w->Error(kNotInteger);
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < args.size(); i++) {
    if (IEquals(args[i], "nx")) nx = true;
    else if (IEquals(args[i], "xx")) xx = true;
    else if (IEquals(args[i], "gt")) gt = true;
    else if (IEquals(args[i], "lt")) lt = true;
    else return ctx.w->Error("ERR Unsupported option " + std::string(args[i]));
  }
  if ((nx && (xx || gt || lt)) || (gt && lt)) {
    return ctx.w->Error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if (!ExpireAt(ctx, n, millis, absolute, &at)) {
    return ctx.w->Error("ERR invalid expire time in '" + ToLower(args[0]) + "' command");
  }
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  if (!ctx.engine()->Find(key, &v)) return ctx.w->Integer(0);
  bool has = v.expire_ms != 0;
  // A key without TTL counts as infinite for GT/LT (Redis semantics).
  if ((nx && has) || (xx && !has) || (gt && (!has || at <= v.expire_ms)) || (lt && has && at >= v.expire_ms)) {
    return ctx.w->Integer(0);
  }
  if (at <= ctx.NowMs()) {
    ctx.engine()->Erase(key);
  } else {
    ctx.engine()->SetExpire(key, at);
  }
  ctx.w->Integer(1);
}
void Expire(CommandContext& ctx, Args a) { ExpireGeneric(ctx, a, false, false); }
void PExpire(CommandContext& ctx, Args a) { ExpireGeneric(ctx, a, true, false); }
void ExpireAtCmd(CommandContext& ctx, Args a) { ExpireGeneric(ctx, a, false, true); }
void PExpireAt(CommandContext& ctx, Args a) { ExpireGeneric(ctx, a, true, true); }

// TTL family: -2 missing, -1 no expiry.
void TtlGeneric(CommandContext& ctx, Args args, bool millis, bool absolute) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  if (!FindKey(ctx, key, &v)) return ctx.w->Integer(-2);
  if (v.expire_ms == 0) return ctx.w->Integer(-1);
  int64_t ms = absolute ? v.expire_ms : std::max<int64_t>(0, v.expire_ms - ctx.NowMs());
  ctx.w->Integer(millis ? ms : (absolute ? ms / 1000 : (ms + 500) / 1000));
}
void Ttl(CommandContext& ctx, Args a) { TtlGeneric(ctx, a, false, false); }
void PTtl(CommandContext& ctx, Args a) { TtlGeneric(ctx, a, true, false); }
void ExpireTime(CommandContext& ctx, Args a) { TtlGeneric(ctx, a, false, true); }
void PExpireTime(CommandContext& ctx, Args a) { TtlGeneric(ctx, a, true, true); }

void Persist(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  if (!ctx.engine()->Find(key, &v) || v.expire_ms == 0) return ctx.w->Integer(0);
  ctx.engine()->SetExpire(key, 0);
  ctx.w->Integer(1);
}

void Type(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  if (!FindKey(ctx, key, &v)) return ctx.w->Simple("none");
  ctx.w->Simple(TypeName(v.type));
}

void Touch(CommandContext& ctx, Args args) { Exists(ctx, args); }

void Keys(CommandContext& ctx, Args args) {
  std::vector<std::string> keys;
  uint64_t cursor = 0;
  std::string_view pattern = args[1];
  bool all = pattern == "*";  // as Redis: "*" also takes the empty key, which no glob matches
  do {
    cursor = ctx.engine()->Scan(static_cast<uint8_t>(ctx.ns->id()), cursor, 1000, [&](std::string_view k, ValueType) {
      if (all || GlobMatch(pattern, k)) keys.emplace_back(k);
    });
  } while (cursor != 0);
  ctx.w->Array(keys.size());
  for (const auto& k : keys) ctx.w->Bulk(k);
}

void Scan(CommandContext& ctx, Args args) {
  uint64_t cursor;
  {
    auto [p, ec] = std::from_chars(args[1].data(), args[1].data() + args[1].size(), cursor);
    if (ec != std::errc() || p != args[1].data() + args[1].size()) return ctx.w->Error("ERR invalid cursor");
  }
  std::string_view pattern = "*";
  int64_t count = 10;
  std::string type;
  for (size_t i = 2; i < args.size(); i++) {
    if (i + 1 >= args.size()) return ctx.w->Error(kSyntaxError);
    if (IEquals(args[i], "match")) {
      pattern = args[++i];
    } else if (IEquals(args[i], "count")) {
      if (!ParseInt(args[++i], &count)) return ctx.w->Error(kNotInteger);
      if (count < 1) return ctx.w->Error(kSyntaxError);
    } else if (IEquals(args[i], "type")) {
      type = ToLower(args[++i]);
    } else {
      return ctx.w->Error(kSyntaxError);
    }
  }
  std::vector<std::string> keys;
  bool all = pattern == "*";
  uint64_t next = ctx.engine()->Scan(static_cast<uint8_t>(ctx.ns->id()), cursor, static_cast<size_t>(std::min<int64_t>(count, 100000)),
                                     [&](std::string_view k, ValueType t) {
                                       if (!type.empty() && TypeName(t) != type) return;
                                       if (all || GlobMatch(pattern, k)) keys.emplace_back(k);
                                     });
  ctx.w->Array(2);
  ctx.w->Bulk(std::to_string(next));
  ctx.w->Array(keys.size());
  for (const auto& k : keys) ctx.w->Bulk(k);
}

std::unique_ptr<ExternalValue> Clone(const ExternalValue* obj) {
  switch (obj->type()) {
    case ValueType::kHash: return std::make_unique<HashObject>(*static_cast<const HashObject*>(obj));
    case ValueType::kList: return std::make_unique<ListObject>(*static_cast<const ListObject*>(obj));
    case ValueType::kSet: return std::make_unique<SetObject>(*static_cast<const SetObject*>(obj));
    case ValueType::kZSet: return std::make_unique<ZSetObject>(*static_cast<const ZSetObject*>(obj));
    case ValueType::kStream: return std::make_unique<StreamObject>(*static_cast<const StreamObject*>(obj));
    default: return nullptr;
  }
}

void RenameGeneric(CommandContext& ctx, Args args, bool nx) {
  std::vector<std::string> keys = {ctx.Key(args[1]), ctx.Key(args[2])};
  KeyLock lock(ctx.engine(), keys);
  ItemView v;
  if (!ctx.engine()->Find(keys[0], &v)) return ctx.w->Error(kNoSuchKey);
  if (keys[0] == keys[1]) return nx ? ctx.w->Integer(0) : ctx.w->Ok();
  ItemView dst;
  if (nx && ctx.engine()->Find(keys[1], &dst)) return ctx.w->Integer(0);
  ctx.engine()->Find(keys[0], &v);  // the dst lookup may have moved views
  Status s;
  if (v.type == ValueType::kString) {
    std::string value(v.value);
    std::string_view pieces[] = {value};
    s = ctx.engine()->PutString(keys[1], pieces, v.flags, v.expire_ms).status();
  } else {
    s = ctx.engine()->PutObject(keys[1], Clone(v.object), v.expire_ms);
  }
  if (!s.ok()) return ReplyError(ctx, s);
  ctx.engine()->Erase(keys[0]);
  if (nx) return ctx.w->Integer(1);
  ctx.w->Ok();
}
void Rename(CommandContext& ctx, Args a) { RenameGeneric(ctx, a, false); }
void RenameNx(CommandContext& ctx, Args a) { RenameGeneric(ctx, a, true); }

void DbSize(CommandContext& ctx, Args) { ctx.w->Integer(static_cast<int64_t>(ctx.engine()->Count(static_cast<uint8_t>(ctx.ns->id())))); }

void FlushDb(CommandContext& ctx, Args args) {
  if (args.size() > 2 || (args.size() == 2 && !IEquals(args[1], "sync") && !IEquals(args[1], "async"))) {
    return ctx.w->Error(kSyntaxError);
  }
  ctx.engine()->Flush(ctx.ns->id());
  ctx.core->watches()->TouchNamespace(ctx.ns->id());
  ctx.w->Ok();
}

void FlushAll(CommandContext& ctx, Args args) {
  if (args.size() > 2 || (args.size() == 2 && !IEquals(args[1], "sync") && !IEquals(args[1], "async"))) {
    return ctx.w->Error(kSyntaxError);
  }
  ctx.core->mem()->Flush(-1);
  if (ctx.core->persist()) ctx.core->persist()->Flush(-1);
  ctx.core->watches()->TouchNamespace(-1);
  ctx.w->Ok();
}

void RandomKey(CommandContext& ctx, Args) {
  thread_local Random rnd(RandomSeedFromOs());
  std::vector<std::string> sample;
  uint64_t cursor = 0;
  // Reservoir over a bounded prefix of a scan: cheap and good enough for a
  // command whose contract is only "some key".
  for (int round = 0; round < 64; round++) {
    cursor = ctx.engine()->Scan(static_cast<uint8_t>(ctx.ns->id()), cursor, 64,
                                [&](std::string_view k, ValueType) { sample.emplace_back(k); });
    if (cursor == 0 || sample.size() >= 256) break;
  }
  if (sample.empty()) return ctx.w->Null();
  ctx.w->Bulk(sample[rnd.Uniform(sample.size())]);
}

}  // namespace

void RegisterKeyCommands(CommandTable& t) {
  t.Add({"del", -2, kWrite, 1, -1, 1, Del});
  t.Add({"unlink", -2, kWrite, 1, -1, 1, Del});
  t.Add({"exists", -2, kReadOnly | kFast, 1, -1, 1, Exists});
  t.Add({"touch", -2, kReadOnly | kFast, 1, -1, 1, Touch});
  t.Add({"expire", -3, kWrite | kFast, 1, 1, 1, Expire});
  t.Add({"pexpire", -3, kWrite | kFast, 1, 1, 1, PExpire});
  t.Add({"expireat", -3, kWrite | kFast, 1, 1, 1, ExpireAtCmd});
  t.Add({"pexpireat", -3, kWrite | kFast, 1, 1, 1, PExpireAt});
  t.Add({"ttl", 2, kReadOnly | kFast, 1, 1, 1, Ttl});
  t.Add({"pttl", 2, kReadOnly | kFast, 1, 1, 1, PTtl});
  t.Add({"expiretime", 2, kReadOnly | kFast, 1, 1, 1, ExpireTime});
  t.Add({"pexpiretime", 2, kReadOnly | kFast, 1, 1, 1, PExpireTime});
  t.Add({"persist", 2, kWrite | kFast, 1, 1, 1, Persist});
  t.Add({"type", 2, kReadOnly | kFast, 1, 1, 1, Type});
  t.Add({"keys", 2, kReadOnly, 0, 0, 0, Keys});
  t.Add({"scan", -2, kReadOnly, 0, 0, 0, Scan});
  t.Add({"rename", 3, kWrite, 1, 2, 1, Rename});
  t.Add({"renamenx", 3, kWrite | kFast, 1, 2, 1, RenameNx});
  t.Add({"dbsize", 1, kReadOnly | kFast, 0, 0, 0, DbSize});
  t.Add({"flushdb", -1, kWrite, 0, 0, 0, FlushDb});
  t.Add({"flushall", -1, kWrite, 0, 0, 0, FlushAll});
  t.Add({"randomkey", 1, kReadOnly, 0, 0, 0, RandomKey});
}

}  // namespace strata::cache::resp
