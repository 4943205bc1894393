// RESP string and counter commands (Redis t_string.c semantics).
#include <cmath>
#include <limits>

#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {
namespace {

// Reads a string value; false (with a reply) on WRONGTYPE.
bool ReadString(CommandContext& ctx, std::string_view key, ItemView* v, bool* found) {
  Found f = Lookup(ctx, key, ValueType::kString, v);
  *found = f == Found::kYes;
  return f != Found::kWrongType;
}

struct SetArgs {
  bool nx = false, xx = false, get = false, keepttl = false;
  int64_t expire_ms = 0;
};

// Parses SET's options; replies and returns false on error.
bool ParseSetArgs(CommandContext& ctx, Args args, SetArgs* out) {
  bool has_expire = false;
  for (size_t i = 3; i < args.size(); i++) {
    std::string_view a = args[i];
    bool next = i + 1 < args.size();
    if (IEquals(a, "nx") && !out->xx) {
      out->nx = true;
    } else if (IEquals(a, "xx") && !out->nx) {
      out->xx = true;
    } else if (IEquals(a, "get")) {
      out->get = true;
    } else if (IEquals(a, "keepttl") && !has_expire) {
      out->keepttl = true;
    } else if ((IEquals(a, "ex") || IEquals(a, "px") || IEquals(a, "exat") || IEquals(a, "pxat")) && next &&
               !has_expire && !out->keepttl) {
      int64_t n;
      if (!ParseInt(args[++i], &n)) return ctx.w->Error(kNotInteger), false;
      bool millis = IEquals(a, "px") || IEquals(a, "pxat");
      bool absolute = IEquals(a, "exat") || IEquals(a, "pxat");
      if (n <= 0 || !ExpireAt(ctx, n, millis, absolute, &out->expire_ms)) {
        return ctx.w->Error("ERR invalid expire time in 'set' command"), false;
      }
      has_expire = true;
    } else {
      return ctx.w->Error(kSyntaxError), false;
    }
  }
  return true;
}

void Set(CommandContext& ctx, Args args) {
  SetArgs o;
  if (!ParseSetArgs(ctx, args, &o)) return;
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool exists = ctx.engine()->Find(key, &v);
  if (o.get && exists && v.type != ValueType::kString) return ctx.w->Error(kWrongType);
  std::string old = o.get && exists ? std::string(v.value) : std::string();
  if ((o.nx && exists) || (o.xx && !exists)) {
    if (o.get && exists) return ctx.w->Bulk(old);
    return ctx.w->Null();
  }
  int64_t expire = o.keepttl && exists ? v.expire_ms : o.expire_ms;
  if (!StoreString(ctx, key, args[2], expire)) return;
  if (!o.get) return ctx.w->Ok();
  if (exists) return ctx.w->Bulk(old);
  ctx.w->Null();
}

void SetWithExpire(CommandContext& ctx, Args args, bool millis) {
  int64_t n, at;
  if (!ParseInt(args[2], &n)) return ctx.w->Error(kNotInteger);
  if (n <= 0 || !ExpireAt(ctx, n, millis, false, &at)) {
    return ctx.w->Error("ERR invalid expire time in '" + ToLower(args[0]) + "' command");
  }
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  if (StoreString(ctx, key, args[3], at)) ctx.w->Ok();
}
void SetEx(CommandContext& ctx, Args args) { SetWithExpire(ctx, args, false); }
void PSetEx(CommandContext& ctx, Args args) { SetWithExpire(ctx, args, true); }

void SetNx(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  if (ctx.engine()->Find(key, &v)) return ctx.w->Integer(0);
  if (StoreString(ctx, key, args[2], 0)) ctx.w->Integer(1);
}

void Get(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  if (!found) return ctx.w->Null();
  ctx.w->Bulk(v.value);
}

void GetSet(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  std::string old(found ? v.value : "");
  if (!StoreString(ctx, key, args[2], 0)) return;
  if (found) return ctx.w->Bulk(old);
  ctx.w->Null();
}

void GetDel(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  if (!found) return ctx.w->Null();
  ctx.w->Bulk(v.value);
  ctx.engine()->Erase(key);
}

void GetEx(CommandContext& ctx, Args args) {
  int64_t expire = -1;  // -1: unchanged, 0: PERSIST
  for (size_t i = 2; i < args.size(); i++) {
    std::string_view a = args[i];
    if (IEquals(a, "persist") && expire == -1) {
      expire = 0;
    } else if ((IEquals(a, "ex") || IEquals(a, "px") || IEquals(a, "exat") || IEquals(a, "pxat")) &&
               i + 1 < args.size() && expire == -1) {
      int64_t n;
      if (!ParseInt(args[++i], &n)) return ctx.w->Error(kNotInteger);
      if (n <= 0 || !ExpireAt(ctx, n, IEquals(a, "px") || IEquals(a, "pxat"), IEquals(a, "exat") || IEquals(a, "pxat"), &expire)) {
        return ctx.w->Error("ERR invalid expire time in 'getex' command");
      }
    } else {
      return ctx.w->Error(kSyntaxError);
    }
  }
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  if (!found) return ctx.w->Null();
  ctx.w->Bulk(v.value);
  if (expire >= 0) ctx.engine()->SetExpire(key, expire);
}

void MGet(CommandContext& ctx, Args args) {
  ctx.w->Array(args.size() - 1);
  for (size_t i = 1; i < args.size(); i++) {
    InternalKey key = ctx.Key(args[i]);
    KeyLock lock(ctx.engine(), key);
    ItemView v;
    if (FindKey(ctx, key, &v) && v.type == ValueType::kString) ctx.w->Bulk(v.value);
    else ctx.w->Null();
  }
}

void MSetGeneric(CommandContext& ctx, Args args, bool nx) {
  if (args.size() % 2 == 0) return WrongArity(ctx, args[0]);
  std::vector<std::string> keys;
  for (size_t i = 1; i < args.size(); i += 2) keys.push_back(ctx.Key(args[i]));
  KeyLock lock(ctx.engine(), keys);
  if (nx) {
    for (const auto& k : keys) {
      ItemView v;
      if (ctx.engine()->Find(k, &v)) return ctx.w->Integer(0);
    }
  }
  for (size_t i = 0; i < keys.size(); i++) {
    if (!StoreString(ctx, keys[i], args[2 + 2 * i], 0)) return;
  }
  if (nx) return ctx.w->Integer(1);
  ctx.w->Ok();
}
void MSet(CommandContext& ctx, Args args) { MSetGeneric(ctx, args, false); }
void MSetNx(CommandContext& ctx, Args args) { MSetGeneric(ctx, args, true); }

void Append(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  std::string_view pieces[] = {found ? v.value : std::string_view(), args[2]};
  uint64_t len = pieces[0].size() + pieces[1].size();
  if (len > ctx.core->options().max_value_bytes) return ctx.w->Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  auto r = ctx.engine()->PutString(key, pieces, found ? v.flags : 0, found ? v.expire_ms : 0);
  if (!r.ok()) return ReplyError(ctx, r.status());
  ctx.w->Integer(static_cast<int64_t>(len));
}

void StrLen(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  ctx.w->Integer(found ? static_cast<int64_t>(v.value.size()) : 0);
}

void GetRange(CommandContext& ctx, Args args) {
  int64_t start, end;
  if (!ParseInt(args[2], &start) || !ParseInt(args[3], &end)) return ctx.w->Error(kNotInteger);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  int64_t len = found ? static_cast<int64_t>(v.value.size()) : 0;
  if (start < 0 && end < 0 && start > end) return ctx.w->Bulk("");
  if (start < 0) start = std::max<int64_t>(0, len + start);
  if (end < 0) end = std::max<int64_t>(-1, len + end);
  if (end >= len) end = len - 1;
  if (len == 0 || start > end) return ctx.w->Bulk("");
  ctx.w->Bulk(v.value.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

void SetRange(CommandContext& ctx, Args args) {
  int64_t offset;
  if (!ParseInt(args[2], &offset) || offset < 0) return ctx.w->Error("ERR offset is out of range");
  if (static_cast<uint64_t>(offset) + args[3].size() > ctx.core->options().max_value_bytes) {
    return ctx.w->Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  }
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  std::string value(found ? v.value : "");
  if (args[3].empty()) return ctx.w->Integer(static_cast<int64_t>(value.size()));
  size_t need = static_cast<size_t>(offset) + args[3].size();
  if (value.size() < need) value.resize(need, '\0');
  value.replace(static_cast<size_t>(offset), args[3].size(), args[3]);
  if (StoreString(ctx, key, value, found ? v.expire_ms : 0, found ? v.flags : 0)) {
    ctx.w->Integer(static_cast<int64_t>(value.size()));
  }
}

void IncrBy(CommandContext& ctx, std::string_view user_key, int64_t delta) {
  InternalKey key = ctx.Key(user_key);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  int64_t cur = 0;
  if (found && !ParseInt(v.value, &cur)) return ctx.w->Error(kNotInteger);
  if ((delta > 0 && cur > std::numeric_limits<int64_t>::max() - delta) ||
      (delta < 0 && cur < std::numeric_limits<int64_t>::min() - delta)) {
    return ctx.w->Error(kOverflow);
  }
  cur += delta;
  if (StoreString(ctx, key, FormatInt(cur), found ? v.expire_ms : 0, found ? v.flags : 0)) ctx.w->Integer(cur);
}

void Incr(CommandContext& ctx, Args args) { IncrBy(ctx, args[1], 1); }
void Decr(CommandContext& ctx, Args args) { IncrBy(ctx, args[1], -1); }
void IncrByCmd(CommandContext& ctx, Args args) {
  int64_t d;
  if (!ParseInt(args[2], &d)) return ctx.w->Error(kNotInteger);
  IncrBy(ctx, args[1], d);
}
void DecrByCmd(CommandContext& ctx, Args args) {
  int64_t d;
  if (!ParseInt(args[2], &d) || d == std::numeric_limits<int64_t>::min()) return ctx.w->Error(kNotInteger);
  IncrBy(ctx, args[1], -d);
}

// Redis's order: the key's type, then its value, then the increment.
void IncrByFloat(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  long double cur = 0, d;
  if ((found && !ParseLongDouble(v.value, &cur)) || !ParseLongDouble(args[2], &d)) return ctx.w->Error(kNotFloat);
  cur += d;
  if (std::isnan(cur) || std::isinf(cur)) return ctx.w->Error("ERR increment would produce NaN or Infinity");
  std::string s = FormatLongDouble(cur);
  if (StoreString(ctx, key, s, found ? v.expire_ms : 0, found ? v.flags : 0)) ctx.w->Bulk(s);
}

}  // namespace

void RegisterStringCommands(CommandTable& t) {
  t.Add({"set", -3, kWrite, 1, 1, 1, Set});
  t.Add({"setex", 4, kWrite, 1, 1, 1, SetEx});
  t.Add({"psetex", 4, kWrite, 1, 1, 1, PSetEx});
  t.Add({"setnx", 3, kWrite | kFast, 1, 1, 1, SetNx});
  t.Add({"get", 2, kReadOnly | kFast, 1, 1, 1, Get});
  t.Add({"getset", 3, kWrite, 1, 1, 1, GetSet});
  t.Add({"getdel", 2, kWrite, 1, 1, 1, GetDel});
  t.Add({"getex", -2, kWrite, 1, 1, 1, GetEx});
  t.Add({"mget", -2, kReadOnly, 1, -1, 1, MGet});
  t.Add({"mset", -3, kWrite, 1, -1, 2, MSet});
  t.Add({"msetnx", -3, kWrite, 1, -1, 2, MSetNx});
  t.Add({"append", 3, kWrite, 1, 1, 1, Append});
  t.Add({"strlen", 2, kReadOnly | kFast, 1, 1, 1, StrLen});
  t.Add({"getrange", 4, kReadOnly, 1, 1, 1, GetRange});
  t.Add({"substr", 4, kReadOnly, 1, 1, 1, GetRange});
  t.Add({"setrange", 4, kWrite, 1, 1, 1, SetRange});
  t.Add({"incr", 2, kWrite | kFast, 1, 1, 1, Incr});
  t.Add({"decr", 2, kWrite | kFast, 1, 1, 1, Decr});
  t.Add({"incrby", 3, kWrite | kFast, 1, 1, 1, IncrByCmd});
  t.Add({"decrby", 3, kWrite | kFast, 1, 1, 1, DecrByCmd});
  t.Add({"incrbyfloat", 3, kWrite | kFast, 1, 1, 1, IncrByFloat});
}

}  // namespace strata::cache::resp
