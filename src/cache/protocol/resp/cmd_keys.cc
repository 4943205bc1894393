// RESP keyspace commands: existence, expiry, type, iteration, renaming.
#include <algorithm>
#include <charconv>
#include <optional>
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

// COPY source destination [DB n] [REPLACE]: the value and its TTL. Within
// one engine both keys are locked together; into a namespace on the other
// engine the value is read under the source's lock and written under the
// destination's.
void Copy(CommandContext& ctx, Args args) {
  Namespace* dst_ns = ctx.ns;
  bool replace = false;
  for (size_t i = 3; i < args.size(); i++) {
    if (IEquals(args[i], "replace")) {
      replace = true;
    } else if (IEquals(args[i], "db") && i + 1 < args.size()) {
      int64_t db;
      if (!ParseInt(args[++i], &db)) return ctx.w->Error(kNotInteger);
      dst_ns = db < 0 || db > 255 ? nullptr : ctx.core->namespaces()->Get(static_cast<int>(db));
      if (dst_ns == nullptr) return ctx.w->Error("ERR DB index is out of range");
    } else {
      return ctx.w->Error(kSyntaxError);
    }
  }
  std::string src = ctx.Key(args[1]);
  std::string dst = InternalKey(static_cast<uint8_t>(dst_ns->id()), args[2]);
  if (src == dst) return ctx.w->Error("ERR source and destination objects are the same");
  Engine* from = ctx.engine();
  Engine* to = dst_ns->engine();
  std::string value;
  std::unique_ptr<ExternalValue> obj;
  ItemView v;
  auto store = [&]() -> int {  // 1 copied, 0 not, -1 error replied
    ItemView d;
    if (to->Find(dst, &d) && !replace) return 0;
    std::string_view pieces[] = {value};
    Status st = obj ? to->PutObject(dst, std::move(obj), v.expire_ms)
                    : to->PutString(dst, pieces, v.flags, v.expire_ms).status();
    if (!st.ok()) return ReplyError(ctx, st), -1;
    return 1;
  };
  int r;
  if (from == to) {
    std::vector<std::string> keys = {src, dst};
    KeyLock lock(from, keys);
    if (!from->Find(src, &v)) return ctx.w->Integer(0);
    ItemView d;
    if (to->Find(dst, &d) && !replace) return ctx.w->Integer(0);
    from->Find(src, &v);  // the dst lookup may have moved views
    if (v.type == ValueType::kString) value.assign(v.value);
    else obj = Clone(v.object);
    r = store();
  } else {
    {
      KeyLock lock(from, src);
      if (!from->Find(src, &v)) return ctx.w->Integer(0);
      if (v.type == ValueType::kString) value.assign(v.value);
      else obj = Clone(v.object);
    }
    KeyLock lock(to, dst);
    r = store();
  }
  if (r >= 0) ctx.w->Integer(r);
}

void Object(CommandContext& ctx, Args args) {
  std::string sub = ToLower(args[1]);
  if (sub == "help" && args.size() == 2) {
    return ReplyHelp(ctx, "OBJECT",
                     {"ENCODING <key>", "    Return the kind of internal representation used in order to store the value",
                      "    associated with a <key>.", "FREQ <key>",
                      "    Return the access frequency index of the <key>. The returned integer is",
                      "    proportional to the logarithm of the recent access frequency of the key.",
                      "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of",
                      "    seconds elapsed since the last access to the key.", "REFCOUNT <key>",
                      "    Return the number of references of the value associated with the specified", "    <key>."});
  }
  if (sub != "encoding" && sub != "refcount" && sub != "idletime" && sub != "freq") {
    return ctx.w->Error("ERR unknown subcommand '" + std::string(args[1]) + "'. Try OBJECT HELP.");
  }
  if (args.size() != 3) return ctx.w->Error("ERR wrong number of arguments for 'object|" + sub + "' command");
  InternalKey key = ctx.Key(args[2]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  if (!FindKey(ctx, key, &v)) return ctx.w->Null();
  if (sub == "encoding") return ctx.w->Bulk(EncodingName(v));
  if (sub == "refcount") return ctx.w->Integer(1);
  if (sub == "idletime") return ctx.w->Integer(0);  // access times are not kept per key
  ctx.w->Error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
               "switching between policies at runtime LRU and LFU data will take some time to adjust.");
}

// MEMORY USAGE: an estimate — key and value bytes plus the item's header
// and index slot, or the container's own running estimate.
void Memory(CommandContext& ctx, Args args) {
  std::string sub = ToLower(args[1]);
  if (sub == "help" && args.size() == 2) {
    return ReplyHelp(ctx, "MEMORY",
                     {"USAGE <key> [SAMPLES <count>]",
                      "    Return memory in bytes used by <key> and its value. Nested values are",
                      "    sampled up to <count> times (default: 5, 0 means sample all)."});
  }
  if (sub != "usage") return ctx.w->Error("ERR unknown subcommand '" + std::string(args[1]) + "'. Try MEMORY HELP.");
  if (args.size() < 3) return ctx.w->Error("ERR wrong number of arguments for 'memory|usage' command");
  if (args.size() != 3) {
    int64_t n;
    if (args.size() != 5 || !IEquals(args[3], "samples")) return ctx.w->Error(kSyntaxError);
    if (!ParseInt(args[4], &n) || n < 0) return ctx.w->Error(kNotInteger);
  }
  InternalKey key = ctx.Key(args[2]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  if (!FindKey(ctx, key, &v)) return ctx.w->Null();
  constexpr int64_t kItemOverhead = 48;
  int64_t bytes = kItemOverhead + static_cast<int64_t>(key.size() - 1);
  bytes += v.object ? static_cast<int64_t>(v.object->MemoryUsage()) : static_cast<int64_t>(v.value.size());
  ctx.w->Integer(bytes);
}

// WAIT numreplicas timeout: there are no replicas, so 0 at once.
void Wait(CommandContext& ctx, Args args) {
  int64_t n, timeout;
  if (!ParseInt(args[1], &n) || !ParseInt(args[2], &timeout)) return ctx.w->Error(kNotInteger);
  if (timeout < 0) return ctx.w->Error("ERR timeout is negative");
  ctx.w->Integer(0);
}

// SORT's BY and GET patterns (Redis's lookupKeyByPattern): the first '*'
// takes the element; "->field" after it reads a hash field. Missing, or not
// a string (hash) value: no value. Each key is locked on its own, after the
// sorted key's lock was released, so SORT is atomic only inside EXEC or a
// script.
bool PatternValue(CommandContext& ctx, std::string_view pattern, std::string_view elem, std::string* out) {
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return false;
  std::string_view rest = pattern.substr(star + 1);
  std::string_view field;
  size_t arrow = rest.find("->");
  if (arrow != std::string_view::npos && arrow + 2 < rest.size()) {
    field = rest.substr(arrow + 2);
    rest = rest.substr(0, arrow);
  }
  std::string user = std::string(pattern.substr(0, star)) + std::string(elem) + std::string(rest);
  InternalKey key = ctx.Key(user);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  if (!ctx.engine()->Find(key, &v)) return false;
  if (field.empty()) {
    if (v.type != ValueType::kString) return false;
    out->assign(v.value);
    return true;
  }
  if (v.type != ValueType::kHash) return false;
  const std::string* f = static_cast<const HashObject*>(v.object)->Get(field);
  if (f == nullptr) return false;
  *out = *f;
  return true;
}

struct SortItem {
  std::string elem;
  double score = 0;
  bool has_by = false;
  std::string by;
};

void SortGeneric(CommandContext& ctx, Args args, bool read_only) {
  std::string by;
  bool dontsort = false, desc = false, alpha = false;
  int64_t offset = 0, limit = -1;
  std::vector<std::string_view> gets;
  std::string_view store;
  bool storing = false;
  for (size_t i = 2; i < args.size(); i++) {
    size_t left = args.size() - i - 1;
    if (IEquals(args[i], "asc")) {
      desc = false;
    } else if (IEquals(args[i], "desc")) {
      desc = true;
    } else if (IEquals(args[i], "alpha")) {
      alpha = true;
    } else if (IEquals(args[i], "limit") && left >= 2) {
      if (!ParseInt(args[i + 1], &offset) || !ParseInt(args[i + 2], &limit)) return ctx.w->Error(kNotInteger);
      i += 2;
    } else if (IEquals(args[i], "store") && left >= 1 && !read_only) {
      store = args[++i];
      storing = true;
    } else if (IEquals(args[i], "by") && left >= 1) {
      by = args[++i];
      if (by.find('*') == std::string::npos) dontsort = true;
    } else if (IEquals(args[i], "get") && left >= 1) {
      gets.push_back(args[++i]);
    } else {
      return ctx.w->Error(kSyntaxError);
    }
  }
  std::vector<SortItem> items;
  ValueType type = ValueType::kList;
  {
    InternalKey key = ctx.Key(args[1]);
    KeyLock lock(ctx.engine(), key);
    ItemView v;
    if (FindKey(ctx, key, &v)) {
      type = v.type;
      if (v.type == ValueType::kList) {
        for (const auto& e : static_cast<const ListObject*>(v.object)->items()) items.push_back({e});
      } else if (v.type == ValueType::kSet) {
        for (const auto& e : static_cast<const SetObject*>(v.object)->members()) items.push_back({e});
      } else if (v.type == ValueType::kZSet) {
        for (const auto& [score, m] : static_cast<const ZSetObject*>(v.object)->ordered()) items.push_back({m});
      } else {
        return ctx.w->Error(kWrongType);
      }
    }
  }
  // A set has no order of its own: without sorting, lexicographic, so the
  // reply is deterministic (Redis does so with STORE or in scripts).
  if (dontsort && type == ValueType::kSet) {
    std::sort(items.begin(), items.end(), [](const SortItem& a, const SortItem& b) { return a.elem < b.elem; });
  }
  if (!dontsort) {
    for (SortItem& it : items) {
      if (!by.empty()) it.has_by = PatternValue(ctx, by, it.elem, &it.by);
      if (alpha) continue;
      const std::string& text = by.empty() ? it.elem : it.by;
      if (!by.empty() && !it.has_by) continue;  // no weight: 0
      if (!ParseDouble(text, &it.score)) {
        return ctx.w->Error("ERR One or more scores can't be converted into double");
      }
    }
    auto cmp = [&](const SortItem& a, const SortItem& b) {
      int c;
      if (!alpha) {
        c = a.score < b.score ? -1 : a.score > b.score ? 1 : a.elem.compare(b.elem);
      } else if (!by.empty()) {
        c = a.has_by == b.has_by ? (a.has_by ? a.by.compare(b.by) : 0) : (a.has_by ? 1 : -1);
      } else {
        c = a.elem.compare(b.elem);
      }
      return desc ? c > 0 : c < 0;
    };
    std::stable_sort(items.begin(), items.end(), cmp);
  }
  int64_t n = static_cast<int64_t>(items.size());
  int64_t start = std::clamp<int64_t>(offset, 0, n);
  int64_t count = limit < 0 ? n - start : std::min(limit, n - start);
  // The reply elements: the sorted elements, or per element one per GET.
  std::vector<std::optional<std::string>> out;
  for (int64_t i = start; i < start + count; i++) {
    const std::string& e = items[static_cast<size_t>(i)].elem;
    if (gets.empty()) {
      out.emplace_back(e);
      continue;
    }
    for (std::string_view g : gets) {
      if (g == "#") {
        out.emplace_back(e);
        continue;
      }
      std::string val;
      if (PatternValue(ctx, g, e, &val)) out.emplace_back(std::move(val));
      else out.emplace_back(std::nullopt);
    }
  }
  if (!storing) {
    ctx.w->Array(out.size());
    for (const auto& o : out) {
      if (o) ctx.w->Bulk(*o);
      else ctx.w->Null();
    }
    return;
  }
  InternalKey dst = ctx.Key(store);
  KeyLock lock(ctx.engine(), dst);
  ctx.engine()->Erase(dst);
  if (!out.empty()) {
    auto list = std::make_unique<ListObject>();
    for (const auto& o : out) list->Push(false, o ? *o : std::string_view());
    Status st = ctx.engine()->PutObject(dst, std::move(list), 0);
    if (!st.ok()) return ReplyError(ctx, st);
  }
  ctx.w->Integer(static_cast<int64_t>(out.size()));
}
void Sort(CommandContext& ctx, Args a) { SortGeneric(ctx, a, false); }
void SortRo(CommandContext& ctx, Args a) { SortGeneric(ctx, a, true); }

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
  t.Add({"copy", -3, kWrite, 1, 2, 1, Copy});
  t.Add({"object", -2, kReadOnly, 2, 2, 1, Object});
  t.Add({"memory", -2, kReadOnly, 2, 2, 1, Memory});
  t.Add({"wait", 3, 0, 0, 0, 0, Wait});
  t.Add({"sort", -2, kWrite | kContainer, 1, 1, 1, Sort});
  t.Add({"sort_ro", -2, kReadOnly | kContainer, 1, 1, 1, SortRo});
}

}  // namespace strata::cache::resp
