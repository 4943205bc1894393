// RESP sorted-set commands (Redis t_zset.c semantics) on ZSetObject:
// ZADD with NX/XX/GT/LT/CH/INCR, ZRANGE with BYSCORE/BYLEX/REV/LIMIT, ranks,
// scores, counts and pops.
#include <cmath>
#include <limits>

#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {
namespace {

using Entry = ZSetObject::Entry;

ZSetObject* ReadZSet(CommandContext& ctx, std::string_view key, bool* failed) {
  return Open<ZSetObject>(ctx, key, ValueType::kZSet, false, failed);
}

struct ZAddFlags {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
};

void ZAdd(CommandContext& ctx, Args args) {
  ZAddFlags f;
  size_t i = 2;
  for (; i < args.size(); i++) {
    std::string_view a = args[i];
    if (IEquals(a, "nx")) f.nx = true;
    else if (IEquals(a, "xx")) f.xx = true;
    else if (IEquals(a, "gt")) f.gt = true;
    else if (IEquals(a, "lt")) f.lt = true;
    else if (IEquals(a, "ch")) f.ch = true;
    else if (IEquals(a, "incr")) f.incr = true;
    else break;
  }
  size_t pairs = args.size() - i;
  if (pairs == 0 || pairs % 2 != 0) return ctx.w->Error(kSyntaxError);
  if (f.nx && f.xx) return ctx.w->Error("ERR XX and NX options at the same time are not compatible");
  if ((f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt)) {
    return ctx.w->Error("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (f.incr && pairs != 2) return ctx.w->Error("ERR INCR option supports a single increment-element pair");
  std::vector<double> scores;
  for (size_t j = i; j < args.size(); j += 2) {
    double s;
    if (!ParseDouble(args[j], &s)) return ctx.w->Error(kNotFloat);
    scores.push_back(s);
  }
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = Open<ZSetObject>(ctx, key, ValueType::kZSet, !f.xx, &failed);
  if (failed) return;
  if (!z) return f.incr ? ctx.w->Null() : ctx.w->Integer(0);
  int64_t added = 0, changed = 0;
  double result = 0;
  bool result_null = false;
  for (size_t j = 0; j < scores.size(); j++) {
    std::string_view m = args[i + 2 * j + 1];
    const double* cur = z->Score(m);
    double score = scores[j];
    if ((cur && f.nx) || (!cur && f.xx)) {
      result_null = true;
      continue;
    }
    if (f.incr && cur) score += *cur;
    if (std::isnan(score)) {
      ctx.engine()->ObjectChanged(key);
      return ctx.w->Error("ERR resulting score is not a number (NaN)");
    }
    if (cur && ((f.gt && score <= *cur) || (f.lt && score >= *cur))) {
      result_null = true;
      continue;
    }
    result = score;
    if (!cur) added++;
    else if (*cur != score) changed++;
    z->Set(m, score);
  }
  ctx.engine()->ObjectChanged(key);
  if (f.incr) return result_null ? ctx.w->Null() : ctx.w->Double(result);
  ctx.w->Integer(f.ch ? added + changed : added);
}

void ZIncrBy(CommandContext& ctx, Args args) {
  double d;
  if (!ParseDouble(args[2], &d)) return ctx.w->Error(kNotFloat);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = Open<ZSetObject>(ctx, key, ValueType::kZSet, true, &failed);
  if (failed) return;
  const double* cur = z->Score(args[3]);
  double score = (cur ? *cur : 0) + d;
  if (std::isnan(score)) {
    ctx.engine()->ObjectChanged(key);
    return ctx.w->Error("ERR resulting score is not a number (NaN)");
  }
  z->Set(args[3], score);
  ctx.engine()->ObjectChanged(key);
  ctx.w->Double(score);
}

void ZScore(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = ReadZSet(ctx, key, &failed);
  if (failed) return;
  const double* s = z ? z->Score(args[2]) : nullptr;
  if (!s) return ctx.w->Null();
  ctx.w->Double(*s);
}

void ZMScore(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = ReadZSet(ctx, key, &failed);
  if (failed) return;
  ctx.w->Array(args.size() - 2);
  for (size_t i = 2; i < args.size(); i++) {
    const double* s = z ? z->Score(args[i]) : nullptr;
    if (s) ctx.w->Double(*s);
    else ctx.w->Null();
  }
}

void ZCard(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = ReadZSet(ctx, key, &failed);
  if (failed) return;
  ctx.w->Integer(z ? static_cast<int64_t>(z->Size()) : 0);
}

void ZRem(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = ReadZSet(ctx, key, &failed);
  if (failed) return;
  int64_t n = 0;
  for (size_t i = 2; z && i < args.size(); i++) n += z->Remove(args[i]);
  if (z) ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(n);
}

void RankGeneric(CommandContext& ctx, Args args, bool rev) {
  bool withscore = args.size() == 4 && IEquals(args[3], "withscore");
  if (args.size() == 4 && !withscore) return ctx.w->Error(kSyntaxError);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = ReadZSet(ctx, key, &failed);
  if (failed) return;
  int64_t r = z ? z->Rank(args[2]) : -1;
  if (r < 0) return withscore ? ctx.w->NullArray() : ctx.w->Null();
  if (rev) r = static_cast<int64_t>(z->Size()) - 1 - r;
  if (!withscore) return ctx.w->Integer(r);
  ctx.w->Array(2);
  ctx.w->Integer(r);
  ctx.w->Double(*z->Score(args[2]));
}
void ZRank(CommandContext& ctx, Args a) { RankGeneric(ctx, a, false); }
void ZRevRank(CommandContext& ctx, Args a) { RankGeneric(ctx, a, true); }

// A score bound: "1.5", "(1.5", "-inf", "+inf".
bool ParseScoreBound(std::string_view s, double* v, bool* excl) {
  *excl = !s.empty() && s[0] == '(';
  if (*excl) s.remove_prefix(1);
  return ParseDouble(s, v);
}

// A lex bound: "-", "+", "[x", "(x".
struct LexBound {
  enum Kind { kMin, kMax, kIncl, kExcl } kind;
  std::string value;
};
bool ParseLexBound(std::string_view s, LexBound* b) {
  if (s == "-") return b->kind = LexBound::kMin, true;
  if (s == "+") return b->kind = LexBound::kMax, true;
  if (s.empty() || (s[0] != '[' && s[0] != '(')) return false;
  b->kind = s[0] == '[' ? LexBound::kIncl : LexBound::kExcl;
  b->value = std::string(s.substr(1));
  return true;
}
bool AboveMin(const LexBound& b, const std::string& m) {
  switch (b.kind) {
    case LexBound::kMin: return true;
    case LexBound::kMax: return false;
    case LexBound::kIncl: return m >= b.value;
    case LexBound::kExcl: return m > b.value;
  }
  return false;
}
bool BelowMax(const LexBound& b, const std::string& m) {
  switch (b.kind) {
    case LexBound::kMin: return false;
    case LexBound::kMax: return true;
    case LexBound::kIncl: return m <= b.value;
    case LexBound::kExcl: return m < b.value;
  }
  return false;
}

enum class By { kRank, kScore, kLex };

struct RangeSpec {
  By by = By::kRank;
  bool rev = false;
  bool withscores = false;
  int64_t offset = 0, limit = -1;
  std::string_view min, max;  // as given (for REV, max comes first on the wire)
};

void ReplyEntries(CommandContext& ctx, const std::vector<const Entry*>& out, bool withscores) {
  bool pairs = withscores && ctx.w->protocol() == 3;
  ctx.w->Array(withscores && !pairs ? out.size() * 2 : out.size());
  for (const Entry* e : out) {
    if (pairs) ctx.w->Array(2);
    ctx.w->Bulk(e->second);
    if (withscores) ctx.w->Double(e->first);
  }
}

// Collects the entries selected by `r`; false (with reply) on bad bounds.
bool Select(CommandContext& ctx, const ZSetObject& z, const RangeSpec& r, std::vector<const Entry*>* out) {
  const auto& ord = z.ordered();
  std::vector<const Entry*> all;
  if (r.by == By::kRank) {
    int64_t start, stop;
    if (!ParseInt(r.min, &start) || !ParseInt(r.max, &stop)) return ctx.w->Error(kNotInteger), false;
    int64_t len = static_cast<int64_t>(ord.size());
    if (start < 0) start = std::max<int64_t>(0, len + start);
    if (stop < 0) stop = len + stop;
    if (stop >= len) stop = len - 1;
    if (start > stop) return true;
    int64_t i = 0;
    if (!r.rev) {
      for (auto it = std::next(ord.begin(), start); it != ord.end() && i <= stop - start; ++it, ++i) out->push_back(&*it);
    } else {
      for (auto it = std::next(ord.rbegin(), start); it != ord.rend() && i <= stop - start; ++it, ++i) out->push_back(&*it);
    }
    return true;
  }
  if (r.by == By::kScore) {
    double lo, hi;
    bool lo_ex, hi_ex;
    if (!ParseScoreBound(r.min, &lo, &lo_ex) || !ParseScoreBound(r.max, &hi, &hi_ex)) {
      return ctx.w->Error("ERR min or max is not a float"), false;
    }
    auto in = [&](double s) { return (lo_ex ? s > lo : s >= lo) && (hi_ex ? s < hi : s <= hi); };
    auto first = ord.lower_bound({lo, std::string()});
    for (auto it = first; it != ord.end() && (hi_ex ? it->first < hi : it->first <= hi); ++it) {
      if (in(it->first)) all.push_back(&*it);
    }
  } else {
    LexBound lo, hi;
    if (!ParseLexBound(r.min, &lo) || !ParseLexBound(r.max, &hi)) {
      return ctx.w->Error("ERR min or max not valid string range item"), false;
    }
    for (const auto& e : ord) {
      if (AboveMin(lo, e.second) && BelowMax(hi, e.second)) all.push_back(&e);
    }
  }
  if (r.rev) std::reverse(all.begin(), all.end());
  if (r.offset < 0) return true;
  for (size_t i = static_cast<size_t>(r.offset); i < all.size(); i++) {
    if (r.limit >= 0 && out->size() >= static_cast<size_t>(r.limit)) break;
    out->push_back(all[i]);
  }
  return true;
}

void RunRange(CommandContext& ctx, std::string_view user_key, const RangeSpec& r) {
  InternalKey key = ctx.Key(user_key);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = ReadZSet(ctx, key, &failed);
  if (failed) return;
  std::vector<const Entry*> out;
  if (z && !Select(ctx, *z, r, &out)) return;
  ReplyEntries(ctx, out, r.withscores);
}

// Parses [WITHSCORES] [LIMIT offset count] (and BYSCORE/BYLEX/REV when
// `full`) from args[from..]; false (with reply) on error.
bool ParseRangeOptions(CommandContext& ctx, Args args, size_t from, bool full, RangeSpec* r) {
  for (size_t i = from; i < args.size(); i++) {
    std::string_view a = args[i];
    if (IEquals(a, "withscores")) {
      r->withscores = true;
    } else if (IEquals(a, "limit") && i + 2 < args.size()) {
      if (!ParseInt(args[i + 1], &r->offset) || !ParseInt(args[i + 2], &r->limit)) return ctx.w->Error(kNotInteger), false;
      i += 2;
    } else if (full && IEquals(a, "byscore")) {
      r->by = By::kScore;
    } else if (full && IEquals(a, "bylex")) {
      r->by = By::kLex;
    } else if (full && IEquals(a, "rev")) {
      r->rev = true;
    } else {
      return ctx.w->Error(kSyntaxError), false;
    }
  }
  if (r->by == By::kLex && r->withscores) return ctx.w->Error("ERR syntax error, WITHSCORES not supported in combination with BYLEX"), false;
  return true;
}

void ZRange(CommandContext& ctx, Args args) {
  RangeSpec r;
  if (!ParseRangeOptions(ctx, args, 4, true, &r)) return;
  if (r.by == By::kRank && (r.limit != -1 || r.offset != 0)) {
    return ctx.w->Error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  // With REV and BYSCORE/BYLEX the first bound given is the maximum.
  r.min = r.rev && r.by != By::kRank ? args[3] : args[2];
  r.max = r.rev && r.by != By::kRank ? args[2] : args[3];
  RunRange(ctx, args[1], r);
}

void ZRangeVariant(CommandContext& ctx, Args args, By by, bool rev) {
  RangeSpec r;
  r.by = by;
  r.rev = rev;
  if (!ParseRangeOptions(ctx, args, 4, false, &r)) return;
  r.min = rev && by != By::kRank ? args[3] : args[2];
  r.max = rev && by != By::kRank ? args[2] : args[3];
  RunRange(ctx, args[1], r);
}
void ZRevRange(CommandContext& ctx, Args a) { ZRangeVariant(ctx, a, By::kRank, true); }
void ZRangeByScore(CommandContext& ctx, Args a) { ZRangeVariant(ctx, a, By::kScore, false); }
void ZRevRangeByScore(CommandContext& ctx, Args a) { ZRangeVariant(ctx, a, By::kScore, true); }
void ZRangeByLex(CommandContext& ctx, Args a) { ZRangeVariant(ctx, a, By::kLex, false); }
void ZRevRangeByLex(CommandContext& ctx, Args a) { ZRangeVariant(ctx, a, By::kLex, true); }

void CountGeneric(CommandContext& ctx, Args args, By by) {
  RangeSpec r;
  r.by = by;
  r.min = args[2];
  r.max = args[3];
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = ReadZSet(ctx, key, &failed);
  if (failed) return;
  std::vector<const Entry*> out;
  if (z && !Select(ctx, *z, r, &out)) return;
  ctx.w->Integer(static_cast<int64_t>(out.size()));
}
void ZCount(CommandContext& ctx, Args a) { CountGeneric(ctx, a, By::kScore); }
void ZLexCount(CommandContext& ctx, Args a) { CountGeneric(ctx, a, By::kLex); }

void PopGeneric(CommandContext& ctx, Args args, bool max) {
  int64_t count = 1;
  bool has_count = args.size() == 3;
  if (args.size() > 3) return ctx.w->Error(kSyntaxError);
  if (has_count && (!ParseInt(args[2], &count) || count < 0)) return ctx.w->Error("ERR value is out of range, must be positive");
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = ReadZSet(ctx, key, &failed);
  if (failed) return;
  std::vector<Entry> popped;
  while (z && static_cast<int64_t>(popped.size()) < count && z->Size() > 0) {
    Entry e = max ? *z->ordered().rbegin() : *z->ordered().begin();
    z->Remove(e.second);
    popped.push_back(std::move(e));
  }
  if (z) ctx.engine()->ObjectChanged(key);
  bool pairs = has_count && ctx.w->protocol() == 3;
  ctx.w->Array(pairs ? popped.size() : popped.size() * 2);
  for (const auto& e : popped) {
    if (pairs) ctx.w->Array(2);
    ctx.w->Bulk(e.second);
    ctx.w->Double(e.first);
  }
}
void ZPopMin(CommandContext& ctx, Args a) { PopGeneric(ctx, a, false); }
void ZPopMax(CommandContext& ctx, Args a) { PopGeneric(ctx, a, true); }

void ZRemRangeGeneric(CommandContext& ctx, Args args, By by) {
  RangeSpec r;
  r.by = by;
  r.min = args[2];
  r.max = args[3];
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ZSetObject* z = ReadZSet(ctx, key, &failed);
  if (failed) return;
  std::vector<const Entry*> out;
  if (z && !Select(ctx, *z, r, &out)) return;
  std::vector<std::string> members;
  for (const Entry* e : out) members.push_back(e->second);
  for (const auto& m : members) z->Remove(m);
  if (z) ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(static_cast<int64_t>(members.size()));
}
void ZRemRangeByRank(CommandContext& ctx, Args a) { ZRemRangeGeneric(ctx, a, By::kRank); }
void ZRemRangeByScore(CommandContext& ctx, Args a) { ZRemRangeGeneric(ctx, a, By::kScore); }

// ZSCAN key cursor [MATCH pattern] [COUNT count]: member, score, ... A
// "listpack" is answered whole in score order, as Redis's listpack holds it.
void ZScan(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  uint64_t cursor;
  ScanOptions o;
  ItemView v;
  if (!StartContainerScan(ctx, args, key, ValueType::kZSet, &cursor, &o, &v)) return;
  auto* z = static_cast<ZSetObject*>(v.object);
  std::vector<std::string> out;
  auto add = [&](const std::string& m, double score) {
    if (!o.Matches(m)) return;
    out.push_back(m);
    out.push_back(FormatDouble(score));
  };
  uint64_t next = 0;
  if (EncodingName(v) == "listpack") {
    for (const auto& [score, m] : z->ordered()) add(m, score);
  } else {
    bool indexed = z->scan_indexed();
    next = z->Scan(cursor, static_cast<size_t>(o.count), add);
    if (!indexed) ctx.engine()->ObjectChanged(key);  // charges the new index
  }
  ReplyScan(ctx, next, out);
}

}  // namespace

void RegisterZSetCommands(CommandTable& t) {
  t.Add({"zadd", -4, kWrite | kFast | kContainer, 1, 1, 1, ZAdd});
  t.Add({"zincrby", 4, kWrite | kFast | kContainer, 1, 1, 1, ZIncrBy});
  t.Add({"zscore", 3, kReadOnly | kFast | kContainer, 1, 1, 1, ZScore});
  t.Add({"zmscore", -3, kReadOnly | kFast | kContainer, 1, 1, 1, ZMScore});
  t.Add({"zcard", 2, kReadOnly | kFast | kContainer, 1, 1, 1, ZCard});
  t.Add({"zrem", -3, kWrite | kFast | kContainer, 1, 1, 1, ZRem});
  t.Add({"zrank", -3, kReadOnly | kFast | kContainer, 1, 1, 1, ZRank});
  t.Add({"zrevrank", -3, kReadOnly | kFast | kContainer, 1, 1, 1, ZRevRank});
  t.Add({"zrange", -4, kReadOnly | kContainer, 1, 1, 1, ZRange});
  t.Add({"zrevrange", -4, kReadOnly | kContainer, 1, 1, 1, ZRevRange});
  t.Add({"zrangebyscore", -4, kReadOnly | kContainer, 1, 1, 1, ZRangeByScore});
  t.Add({"zrevrangebyscore", -4, kReadOnly | kContainer, 1, 1, 1, ZRevRangeByScore});
  t.Add({"zrangebylex", -4, kReadOnly | kContainer, 1, 1, 1, ZRangeByLex});
  t.Add({"zrevrangebylex", -4, kReadOnly | kContainer, 1, 1, 1, ZRevRangeByLex});
  t.Add({"zcount", 4, kReadOnly | kFast | kContainer, 1, 1, 1, ZCount});
  t.Add({"zlexcount", 4, kReadOnly | kFast | kContainer, 1, 1, 1, ZLexCount});
  t.Add({"zpopmin", -2, kWrite | kFast | kContainer, 1, 1, 1, ZPopMin});
  t.Add({"zpopmax", -2, kWrite | kFast | kContainer, 1, 1, 1, ZPopMax});
  t.Add({"zremrangebyrank", 4, kWrite | kContainer, 1, 1, 1, ZRemRangeByRank});
  t.Add({"zremrangebyscore", 4, kWrite | kContainer, 1, 1, 1, ZRemRangeByScore});
  t.Add({"zscan", -3, kReadOnly | kContainer, 1, 1, 1, ZScan});
}

}  // namespace strata::cache::resp
