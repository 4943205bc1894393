// RESP set commands (Redis t_set.c semantics) on SetObject.
#include <algorithm>

#include "cache/protocol/resp/command_util.h"
#include "env/random.h"

namespace strata::cache::resp {
namespace {

SetObject* ReadSet(CommandContext& ctx, std::string_view key, bool* failed) {
  return Open<SetObject>(ctx, key, ValueType::kSet, false, failed);
}

void SAdd(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  SetObject* s = Open<SetObject>(ctx, key, ValueType::kSet, true, &failed);
  if (failed) return;
  int64_t n = 0;
  for (size_t i = 2; i < args.size(); i++) n += s->Add(args[i]);
  ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(n);
}

void SRem(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  SetObject* s = ReadSet(ctx, key, &failed);
  if (failed) return;
  int64_t n = 0;
  for (size_t i = 2; s && i < args.size(); i++) n += s->Remove(args[i]);
  if (s) ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(n);
}

void SMembers(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  SetObject* s = ReadSet(ctx, key, &failed);
  if (failed) return;
  ctx.w->Set(s ? s->Size() : 0);
  if (s) {
    for (const auto& m : s->members()) ctx.w->Bulk(m);
  }
}

void SIsMember(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  SetObject* s = ReadSet(ctx, key, &failed);
  if (failed) return;
  ctx.w->Integer(s && s->Contains(args[2]) ? 1 : 0);
}

void SMIsMember(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  SetObject* s = ReadSet(ctx, key, &failed);
  if (failed) return;
  ctx.w->Array(args.size() - 2);
  for (size_t i = 2; i < args.size(); i++) ctx.w->Integer(s && s->Contains(args[i]) ? 1 : 0);
}

void SCard(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  SetObject* s = ReadSet(ctx, key, &failed);
  if (failed) return;
  ctx.w->Integer(s ? static_cast<int64_t>(s->Size()) : 0);
}

// SPOP / SRANDMEMBER: members picked from a random starting point of the
// hash iteration order; good enough randomness for a cache.
void RandomMembers(CommandContext& ctx, Args args, bool pop) {
  thread_local Random rnd(RandomSeedFromOs());
  int64_t count = 1;
  bool has_count = args.size() == 3;
  if (args.size() > 3) return ctx.w->Error(kSyntaxError);
  if (has_count && !ParseInt(args[2], &count)) return ctx.w->Error(kNotInteger);
  if (pop && count < 0) return ctx.w->Error("ERR value is out of range, must be positive");
  // Bound the reply (and the loop) a negative count asks for.
  if (count < -(1 << 20) || count > (1 << 20)) return ctx.w->Error("ERR value is out of range");
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  SetObject* s = ReadSet(ctx, key, &failed);
  if (failed) return;
  if (!s) return has_count ? ctx.w->Array(0) : ctx.w->Null();
  std::vector<std::string> all(s->members().begin(), s->members().end());
  std::vector<std::string> picked;
  if (count < 0) {
    for (int64_t i = 0; i < -count; i++) picked.push_back(all[rnd.Uniform(all.size())]);
  } else {
    size_t n = std::min<size_t>(static_cast<size_t>(count), all.size());
    for (size_t i = 0; i < n; i++) std::swap(all[i], all[i + rnd.Uniform(all.size() - i)]);
    picked.assign(all.begin(), all.begin() + static_cast<long>(n));
  }
  if (pop) {
    for (const auto& m : picked) s->Remove(m);
    ctx.engine()->ObjectChanged(key);
  }
  if (!has_count) return ctx.w->Bulk(picked[0]);
  ctx.w->Array(picked.size());
  for (const auto& m : picked) ctx.w->Bulk(m);
}
void SPop(CommandContext& ctx, Args a) { RandomMembers(ctx, a, true); }
void SRandMember(CommandContext& ctx, Args a) { RandomMembers(ctx, a, false); }

void SMove(CommandContext& ctx, Args args) {
  std::vector<std::string> keys = {ctx.Key(args[1]), ctx.Key(args[2])};
  KeyLock lock(ctx.engine(), keys);
  bool failed;
  SetObject* src = ReadSet(ctx, keys[0], &failed);
  if (failed) return;
  SetObject* dst = ReadSet(ctx, keys[1], &failed);
  if (failed) return;
  if (!src || !src->Contains(args[3])) return ctx.w->Integer(0);
  if (keys[0] == keys[1]) return ctx.w->Integer(1);
  dst = Open<SetObject>(ctx, keys[1], ValueType::kSet, true, &failed);
  if (failed) return;
  dst->Add(args[3]);
  ctx.engine()->ObjectChanged(keys[1]);
  src = ReadSet(ctx, keys[0], &failed);  // re-find: making room may have evicted it
  if (src) {
    src->Remove(args[3]);
    ctx.engine()->ObjectChanged(keys[0]);
  }
  ctx.w->Integer(1);
}

enum class SetOp { kInter, kUnion, kDiff };

// Computes the operation over the sets at args[first..]; false on WRONGTYPE.
bool Combine(CommandContext& ctx, Args args, size_t first, SetOp op, std::vector<std::string>* out) {
  std::vector<std::string> keys;
  for (size_t i = first; i < args.size(); i++) keys.push_back(ctx.Key(args[i]));
  std::vector<const SetObject*> sets;
  for (const auto& k : keys) {
    bool failed;
    SetObject* s = ReadSet(ctx, k, &failed);
    if (failed) return false;
    sets.push_back(s);
  }
  std::unordered_set<std::string> result;
  if (op == SetOp::kUnion) {
    for (auto* s : sets) {
      if (s) result.insert(s->members().begin(), s->members().end());
    }
  } else if (sets[0]) {
    result = sets[0]->members();
    for (size_t i = 1; i < sets.size(); i++) {
      if (op == SetOp::kInter && !sets[i]) {
        result.clear();
        break;
      }
      if (!sets[i]) continue;
      std::erase_if(result, [&](const std::string& m) { return (op == SetOp::kInter) != sets[i]->Contains(m); });
    }
  }
  out->assign(result.begin(), result.end());
  return true;
}

std::vector<std::string> AllKeys(CommandContext& ctx, Args args, size_t first) {
  std::vector<std::string> keys;
  for (size_t i = first; i < args.size(); i++) keys.push_back(ctx.Key(args[i]));
  return keys;
}

void SetOpCmd(CommandContext& ctx, Args args, SetOp op) {
  auto keys = AllKeys(ctx, args, 1);
  KeyLock lock(ctx.engine(), keys);
  std::vector<std::string> members;
  if (!Combine(ctx, args, 1, op, &members)) return;
  ctx.w->Set(members.size());
  for (const auto& m : members) ctx.w->Bulk(m);
}

void SetOpStore(CommandContext& ctx, Args args, SetOp op) {
  auto keys = AllKeys(ctx, args, 1);
  KeyLock lock(ctx.engine(), keys);
  std::vector<std::string> members;
  if (!Combine(ctx, args, 2, op, &members)) return;
  auto obj = std::make_unique<SetObject>();
  for (const auto& m : members) obj->Add(m);
  ctx.engine()->Erase(keys[0]);
  if (!members.empty()) {
    Status s = ctx.engine()->PutObject(keys[0], std::move(obj), 0);
    if (!s.ok()) return ReplyError(ctx, s);
  }
  ctx.w->Integer(static_cast<int64_t>(members.size()));
}

void SInter(CommandContext& ctx, Args a) { SetOpCmd(ctx, a, SetOp::kInter); }
void SUnion(CommandContext& ctx, Args a) { SetOpCmd(ctx, a, SetOp::kUnion); }
void SDiff(CommandContext& ctx, Args a) { SetOpCmd(ctx, a, SetOp::kDiff); }
void SInterStore(CommandContext& ctx, Args a) { SetOpStore(ctx, a, SetOp::kInter); }
void SUnionStore(CommandContext& ctx, Args a) { SetOpStore(ctx, a, SetOp::kUnion); }
void SDiffStore(CommandContext& ctx, Args a) { SetOpStore(ctx, a, SetOp::kDiff); }

// SSCAN key cursor [MATCH pattern] [COUNT count]. An "intset" is answered
// whole in ascending numeric order, as Redis's intset holds it.
void SScan(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  uint64_t cursor;
  ScanOptions o;
  ItemView v;
  if (!StartContainerScan(ctx, args, key, ValueType::kSet, &cursor, &o, &v)) return;
  auto* s = static_cast<SetObject*>(v.object);
  std::vector<std::string> out;
  auto add = [&](const std::string& m) {
    if (o.Matches(m)) out.push_back(m);
  };
  uint64_t next = 0;
  if (EncodingName(v) == "intset") {
    std::vector<std::pair<int64_t, const std::string*>> ints;
    for (const auto& m : s->members()) {
      int64_t n = 0;
      ParseStrictInt(m, &n);
      ints.emplace_back(n, &m);
    }
    std::sort(ints.begin(), ints.end());
    for (const auto& [n, m] : ints) add(*m);
  } else {
    bool indexed = s->scan_indexed();
    next = s->Scan(cursor, static_cast<size_t>(o.count), add);
    if (!indexed) ctx.engine()->ObjectChanged(key);  // charges the new index
  }
  ReplyScan(ctx, next, out);
}

}  // namespace

void RegisterSetCommands(CommandTable& t) {
  t.Add({"sadd", -3, kWrite | kFast | kContainer, 1, 1, 1, SAdd});
  t.Add({"srem", -3, kWrite | kFast | kContainer, 1, 1, 1, SRem});
  t.Add({"smembers", 2, kReadOnly | kContainer, 1, 1, 1, SMembers});
  t.Add({"sismember", 3, kReadOnly | kFast | kContainer, 1, 1, 1, SIsMember});
  t.Add({"smismember", -3, kReadOnly | kFast | kContainer, 1, 1, 1, SMIsMember});
  t.Add({"scard", 2, kReadOnly | kFast | kContainer, 1, 1, 1, SCard});
  t.Add({"spop", -2, kWrite | kFast | kContainer, 1, 1, 1, SPop});
  t.Add({"srandmember", -2, kReadOnly | kContainer, 1, 1, 1, SRandMember});
  t.Add({"smove", 4, kWrite | kFast | kContainer, 1, 2, 1, SMove});
  t.Add({"sinter", -2, kReadOnly | kContainer, 1, -1, 1, SInter});
  t.Add({"sunion", -2, kReadOnly | kContainer, 1, -1, 1, SUnion});
  t.Add({"sdiff", -2, kReadOnly | kContainer, 1, -1, 1, SDiff});
  t.Add({"sinterstore", -3, kWrite | kContainer, 1, -1, 1, SInterStore});
  t.Add({"sunionstore", -3, kWrite | kContainer, 1, -1, 1, SUnionStore});
  t.Add({"sdiffstore", -3, kWrite | kContainer, 1, -1, 1, SDiffStore});
  t.Add({"sscan", -3, kReadOnly | kContainer, 1, 1, 1, SScan});
}

}  // namespace strata::cache::resp
