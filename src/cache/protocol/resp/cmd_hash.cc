// RESP hash commands (Redis t_hash.c semantics) on HashObject.
#include <cmath>
#include <limits>

#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {
namespace {

// Opens the hash for reading; nullptr when missing or on error (*failed).
HashObject* ReadHash(CommandContext& ctx, std::string_view key, bool* failed) {
  return Open<HashObject>(ctx, key, ValueType::kHash, false, failed);
}

void HSet(CommandContext& ctx, Args args) {
  if (args.size() % 2 != 0) return WrongArity(ctx, args[0]);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = Open<HashObject>(ctx, key, ValueType::kHash, true, &failed);
  if (failed) return;
  int64_t added = 0;
  for (size_t i = 2; i < args.size(); i += 2) added += h->Set(args[i], args[i + 1]);
  ctx.engine()->ObjectChanged(key);
  if (IEquals(args[0], "hmset")) return ctx.w->Ok();
  ctx.w->Integer(added);
}

void HSetNx(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = Open<HashObject>(ctx, key, ValueType::kHash, true, &failed);
  if (failed) return;
  if (h->Get(args[2])) {
    ctx.engine()->ObjectChanged(key);  // drops the hash if it was just created
    return ctx.w->Integer(0);
  }
  h->Set(args[2], args[3]);
  ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(1);
}

void HGet(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = ReadHash(ctx, key, &failed);
  if (failed) return;
  const std::string* v = h ? h->Get(args[2]) : nullptr;
  if (!v) return ctx.w->Null();
  ctx.w->Bulk(*v);
}

void HMGet(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = ReadHash(ctx, key, &failed);
  if (failed) return;
  ctx.w->Array(args.size() - 2);
  for (size_t i = 2; i < args.size(); i++) {
    const std::string* v = h ? h->Get(args[i]) : nullptr;
    if (v) ctx.w->Bulk(*v);
    else ctx.w->Null();
  }
}

void HDel(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = ReadHash(ctx, key, &failed);
  if (failed) return;
  int64_t n = 0;
  for (size_t i = 2; h && i < args.size(); i++) n += h->Del(args[i]);
  if (h) ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(n);
}

void HLen(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = ReadHash(ctx, key, &failed);
  if (failed) return;
  ctx.w->Integer(h ? static_cast<int64_t>(h->Size()) : 0);
}

void HExists(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = ReadHash(ctx, key, &failed);
  if (failed) return;
  ctx.w->Integer(h && h->Get(args[2]) ? 1 : 0);
}

void HStrLen(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = ReadHash(ctx, key, &failed);
  if (failed) return;
  const std::string* v = h ? h->Get(args[2]) : nullptr;
  ctx.w->Integer(v ? static_cast<int64_t>(v->size()) : 0);
}

enum class Part { kKeys, kValues, kBoth };

void HGetAllGeneric(CommandContext& ctx, Args args, Part part) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = ReadHash(ctx, key, &failed);
  if (failed) return;
  size_t n = h ? h->Size() : 0;
  if (part == Part::kBoth) ctx.w->Map(n);
  else ctx.w->Array(n);
  if (!h) return;
  for (const auto& [f, v] : h->map()) {
    if (part != Part::kValues) ctx.w->Bulk(f);
    if (part != Part::kKeys) ctx.w->Bulk(v);
  }
}
void HGetAll(CommandContext& ctx, Args a) { HGetAllGeneric(ctx, a, Part::kBoth); }
void HKeys(CommandContext& ctx, Args a) { HGetAllGeneric(ctx, a, Part::kKeys); }
void HVals(CommandContext& ctx, Args a) { HGetAllGeneric(ctx, a, Part::kValues); }

void HIncrBy(CommandContext& ctx, Args args) {
  int64_t d;
  if (!ParseInt(args[3], &d)) return ctx.w->Error(kNotInteger);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = Open<HashObject>(ctx, key, ValueType::kHash, true, &failed);
  if (failed) return;
  int64_t cur = 0;
  const std::string* v = h->Get(args[2]);
  if (v && !ParseInt(*v, &cur)) {
    ctx.engine()->ObjectChanged(key);
    return ctx.w->Error("ERR hash value is not an integer");
  }
  if ((d > 0 && cur > std::numeric_limits<int64_t>::max() - d) || (d < 0 && cur < std::numeric_limits<int64_t>::min() - d)) {
    ctx.engine()->ObjectChanged(key);
    return ctx.w->Error(kOverflow);
  }
  cur += d;
  h->Set(args[2], FormatInt(cur));
  ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(cur);
}

void HIncrByFloat(CommandContext& ctx, Args args) {
  long double d;
  if (!ParseLongDouble(args[3], &d)) return ctx.w->Error(kNotFloat);
  if (std::isnan(d) || std::isinf(d)) return ctx.w->Error("ERR value is NaN or Infinity");
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  HashObject* h = Open<HashObject>(ctx, key, ValueType::kHash, true, &failed);
  if (failed) return;
  long double cur = 0;
  const std::string* v = h->Get(args[2]);
  if (v && !ParseLongDouble(*v, &cur)) {
    ctx.engine()->ObjectChanged(key);
    return ctx.w->Error("ERR hash value is not a float");
  }
  cur += d;
  if (std::isnan(cur) || std::isinf(cur)) {
    ctx.engine()->ObjectChanged(key);
    return ctx.w->Error("ERR increment would produce NaN or Infinity");
  }
  std::string s = FormatLongDouble(cur);
  h->Set(args[2], s);
  ctx.engine()->ObjectChanged(key);
  ctx.w->Bulk(s);
}

// HSCAN key cursor [MATCH pattern] [COUNT count]: field, value, ...
void HScan(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  uint64_t cursor;
  ScanOptions o;
  ItemView v;
  if (!StartContainerScan(ctx, args, key, ValueType::kHash, &cursor, &o, &v)) return;
  auto* h = static_cast<HashObject*>(v.object);
  std::vector<std::string> out;
  auto add = [&](const std::string& f, const std::string& value) {
    if (!o.Matches(f)) return;
    out.push_back(f);
    out.push_back(value);
  };
  uint64_t next = 0;
  if (EncodingName(v) == "listpack") {
    for (const auto& [f, value] : h->map()) add(f, value);
  } else {
    bool indexed = h->scan_indexed();
    next = h->Scan(cursor, static_cast<size_t>(o.count), add);
    if (!indexed) ctx.engine()->ObjectChanged(key);  // charges the new index
  }
  ReplyScan(ctx, next, out);
}

}  // namespace

void RegisterHashCommands(CommandTable& t) {
  t.Add({"hset", -4, kWrite | kFast | kContainer, 1, 1, 1, HSet});
  t.Add({"hmset", -4, kWrite | kFast | kContainer, 1, 1, 1, HSet});
  t.Add({"hsetnx", 4, kWrite | kFast | kContainer, 1, 1, 1, HSetNx});
  t.Add({"hget", 3, kReadOnly | kFast | kContainer, 1, 1, 1, HGet});
  t.Add({"hmget", -3, kReadOnly | kFast | kContainer, 1, 1, 1, HMGet});
  t.Add({"hdel", -3, kWrite | kFast | kContainer, 1, 1, 1, HDel});
  t.Add({"hlen", 2, kReadOnly | kFast | kContainer, 1, 1, 1, HLen});
  t.Add({"hexists", 3, kReadOnly | kFast | kContainer, 1, 1, 1, HExists});
  t.Add({"hstrlen", 3, kReadOnly | kFast | kContainer, 1, 1, 1, HStrLen});
  t.Add({"hgetall", 2, kReadOnly | kContainer, 1, 1, 1, HGetAll});
  t.Add({"hkeys", 2, kReadOnly | kContainer, 1, 1, 1, HKeys});
  t.Add({"hvals", 2, kReadOnly | kContainer, 1, 1, 1, HVals});
  t.Add({"hincrby", 4, kWrite | kFast | kContainer, 1, 1, 1, HIncrBy});
  t.Add({"hincrbyfloat", 4, kWrite | kFast | kContainer, 1, 1, 1, HIncrByFloat});
  t.Add({"hscan", -3, kReadOnly | kContainer, 1, 1, 1, HScan});
}

}  // namespace strata::cache::resp
