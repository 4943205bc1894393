// RESP list commands (Redis t_list.c semantics) on ListObject, including
// the blocking pops: BLPOP/BRPOP ask the connection to wait (see handler.h)
// and are re-run when a push to one of their keys wakes them.
#include <cmath>

#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {
namespace {

ListObject* ReadList(CommandContext& ctx, std::string_view key, bool* failed) {
  return Open<ListObject>(ctx, key, ValueType::kList, false, failed);
}

void PushGeneric(CommandContext& ctx, Args args, bool left, bool only_existing) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ListObject* l = Open<ListObject>(ctx, key, ValueType::kList, !only_existing, &failed);
  if (failed) return;
  if (!l) return ctx.w->Integer(0);
  for (size_t i = 2; i < args.size(); i++) l->Push(left, args[i]);
  int64_t len = static_cast<int64_t>(l->Size());
  ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(len);
  ctx.core->blocking()->Notify(key);
}
void LPush(CommandContext& ctx, Args a) { PushGeneric(ctx, a, true, false); }
void RPush(CommandContext& ctx, Args a) { PushGeneric(ctx, a, false, false); }
void LPushX(CommandContext& ctx, Args a) { PushGeneric(ctx, a, true, true); }
void RPushX(CommandContext& ctx, Args a) { PushGeneric(ctx, a, false, true); }

void PopGeneric(CommandContext& ctx, Args args, bool left) {
  int64_t count = 1;
  bool has_count = args.size() == 3;
  if (args.size() > 3) return WrongArity(ctx, args[0]);
  if (has_count && (!ParseInt(args[2], &count) || count < 0)) return ctx.w->Error("ERR value is out of range, must be positive");
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ListObject* l = ReadList(ctx, key, &failed);
  if (failed) return;
  if (!l) return has_count ? ctx.w->NullArray() : ctx.w->Null();
  if (!has_count) {
    std::string v = l->Pop(left);
    ctx.engine()->ObjectChanged(key);
    return ctx.w->Bulk(v);
  }
  size_t n = std::min<size_t>(static_cast<size_t>(count), l->Size());
  ctx.w->Array(n);
  for (size_t i = 0; i < n; i++) ctx.w->Bulk(l->Pop(left));
  ctx.engine()->ObjectChanged(key);
}
void LPop(CommandContext& ctx, Args a) { PopGeneric(ctx, a, true); }
void RPop(CommandContext& ctx, Args a) { PopGeneric(ctx, a, false); }

void LLen(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ListObject* l = ReadList(ctx, key, &failed);
  if (failed) return;
  ctx.w->Integer(l ? static_cast<int64_t>(l->Size()) : 0);
}

// Normalises Redis's inclusive [start, stop] with negative indexes; false
// when the range is empty.
bool Range(int64_t len, int64_t* start, int64_t* stop) {
  if (*start < 0) *start = std::max<int64_t>(0, len + *start);
  if (*stop < 0) *stop = len + *stop;
  if (*stop >= len) *stop = len - 1;
  return *start <= *stop && *start < len;
}

void LRange(CommandContext& ctx, Args args) {
  int64_t start, stop;
  if (!ParseInt(args[2], &start) || !ParseInt(args[3], &stop)) return ctx.w->Error(kNotInteger);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ListObject* l = ReadList(ctx, key, &failed);
  if (failed) return;
  if (!l || !Range(static_cast<int64_t>(l->Size()), &start, &stop)) return ctx.w->Array(0);
  ctx.w->Array(static_cast<size_t>(stop - start + 1));
  for (int64_t i = start; i <= stop; i++) ctx.w->Bulk(l->items()[static_cast<size_t>(i)]);
}

void LIndex(CommandContext& ctx, Args args) {
  int64_t idx;
  if (!ParseInt(args[2], &idx)) return ctx.w->Error(kNotInteger);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ListObject* l = ReadList(ctx, key, &failed);
  if (failed) return;
  int64_t len = l ? static_cast<int64_t>(l->Size()) : 0;
  if (idx < 0) idx += len;
  if (idx < 0 || idx >= len) return ctx.w->Null();
  ctx.w->Bulk(l->items()[static_cast<size_t>(idx)]);
}

void LSet(CommandContext& ctx, Args args) {
  int64_t idx;
  if (!ParseInt(args[2], &idx)) return ctx.w->Error(kNotInteger);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ListObject* l = ReadList(ctx, key, &failed);
  if (failed) return;
  if (!l) return ctx.w->Error(kNoSuchKey);
  int64_t len = static_cast<int64_t>(l->Size());
  if (idx < 0) idx += len;
  if (idx < 0 || idx >= len) return ctx.w->Error("ERR index out of range");
  l->Set(static_cast<size_t>(idx), args[3]);
  ctx.engine()->ObjectChanged(key);
  ctx.w->Ok();
}

void LRem(CommandContext& ctx, Args args) {
  int64_t count;
  if (!ParseInt(args[2], &count)) return ctx.w->Error(kNotInteger);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ListObject* l = ReadList(ctx, key, &failed);
  if (failed) return;
  if (!l) return ctx.w->Integer(0);
  size_t n = l->Remove(count, args[3]);
  ctx.engine()->ObjectChanged(key);
  ctx.w->Integer(static_cast<int64_t>(n));
}

void LTrim(CommandContext& ctx, Args args) {
  int64_t start, stop;
  if (!ParseInt(args[2], &start) || !ParseInt(args[3], &stop)) return ctx.w->Error(kNotInteger);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ListObject* l = ReadList(ctx, key, &failed);
  if (failed) return;
  if (!l) return ctx.w->Ok();
  if (Range(static_cast<int64_t>(l->Size()), &start, &stop)) {
    l->Trim(static_cast<size_t>(start), static_cast<size_t>(stop));
  } else {
    l->Trim(0, 0);
    l->Pop(true);
  }
  ctx.engine()->ObjectChanged(key);
  ctx.w->Ok();
}

void LInsert(CommandContext& ctx, Args args) {
  bool before = IEquals(args[2], "before");
  if (!before && !IEquals(args[2], "after")) return ctx.w->Error(kSyntaxError);
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  bool failed;
  ListObject* l = ReadList(ctx, key, &failed);
  if (failed) return;
  if (!l) return ctx.w->Integer(0);
  const auto& items = l->items();
  for (size_t i = 0; i < items.size(); i++) {
    if (items[i] == args[3]) {
      l->Insert(before ? i : i + 1, args[4]);
      int64_t len = static_cast<int64_t>(l->Size());
      ctx.engine()->ObjectChanged(key);
      ctx.core->blocking()->Notify(key);
      return ctx.w->Integer(len);
    }
  }
  ctx.w->Integer(-1);
}

// LMOVE src dst LEFT|RIGHT LEFT|RIGHT (and RPOPLPUSH); false = nothing moved.
bool MoveElement(CommandContext& ctx, std::string_view src_user, std::string_view dst_user, bool from_left,
                 bool to_left, bool reply_null) {
  std::vector<std::string> keys = {ctx.Key(src_user), ctx.Key(dst_user)};
  KeyLock lock(ctx.engine(), keys);
  bool failed;
  ListObject* src = ReadList(ctx, keys[0], &failed);
  if (failed) return true;
  ListObject* dst = ReadList(ctx, keys[1], &failed);
  if (failed) return true;
  if (!src) {
    if (reply_null) ctx.w->Null();
    return false;
  }
  std::string v = src->Pop(from_left);
  ctx.engine()->ObjectChanged(keys[0]);
  dst = Open<ListObject>(ctx, keys[1], ValueType::kList, true, &failed);
  if (failed) return true;
  dst->Push(to_left, v);
  ctx.engine()->ObjectChanged(keys[1]);
  ctx.core->blocking()->Notify(keys[1]);
  ctx.w->Bulk(v);
  return true;
}

bool ParseSide(std::string_view s, bool* left) {
  if (IEquals(s, "left")) return *left = true, true;
  if (IEquals(s, "right")) return *left = false, true;
  return false;
}

void LMove(CommandContext& ctx, Args args) {
  bool from_left, to_left;
  if (!ParseSide(args[3], &from_left) || !ParseSide(args[4], &to_left)) return ctx.w->Error(kSyntaxError);
  MoveElement(ctx, args[1], args[2], from_left, to_left, true);
}
void RPopLPush(CommandContext& ctx, Args args) { MoveElement(ctx, args[1], args[2], false, true, true); }

// BLPOP key [key ...] timeout: pops from the first non-empty list; otherwise
// asks to block until a push or the timeout (0 = forever).
void BlockingPop(CommandContext& ctx, Args args, bool left) {
  double timeout;
  if (!ParseDouble(args.back(), &timeout) || std::isinf(timeout)) {
    return ctx.w->Error("ERR timeout is not a float or out of range");
  }
  if (timeout < 0) return ctx.w->Error("ERR timeout is negative");
  std::vector<std::string> keys;
  for (size_t i = 1; i + 1 < args.size(); i++) keys.push_back(ctx.Key(args[i]));
  for (size_t i = 0; i < keys.size(); i++) {
    KeyLock lock(ctx.engine(), keys[i]);
    bool failed;
    ListObject* l = ReadList(ctx, keys[i], &failed);
    if (failed) return;
    if (!l) continue;
    std::string v = l->Pop(left);
    ctx.engine()->ObjectChanged(keys[i]);
    ctx.w->Array(2);
    ctx.w->Bulk(args[i + 1]);
    ctx.w->Bulk(v);
    return;
  }
  int64_t& deadline = ctx.session->block_deadline_ms;
  if (deadline < 0) deadline = timeout == 0 ? 0 : ctx.NowMs() + static_cast<int64_t>(timeout * 1000);
  if (deadline != 0 && ctx.NowMs() >= deadline) return ctx.w->NullArray();
  ctx.block = true;
  ctx.block_keys = std::move(keys);
  ctx.block_deadline_ms = deadline;
}
void BLPop(CommandContext& ctx, Args a) { BlockingPop(ctx, a, true); }
void BRPop(CommandContext& ctx, Args a) { BlockingPop(ctx, a, false); }

}  // namespace

void RegisterListCommands(CommandTable& t) {
  t.Add({"lpush", -3, kWrite | kFast | kContainer, 1, 1, 1, LPush});
  t.Add({"rpush", -3, kWrite | kFast | kContainer, 1, 1, 1, RPush});
  t.Add({"lpushx", -3, kWrite | kFast | kContainer, 1, 1, 1, LPushX});
  t.Add({"rpushx", -3, kWrite | kFast | kContainer, 1, 1, 1, RPushX});
  t.Add({"lpop", -2, kWrite | kFast | kContainer, 1, 1, 1, LPop});
  t.Add({"rpop", -2, kWrite | kFast | kContainer, 1, 1, 1, RPop});
  t.Add({"llen", 2, kReadOnly | kFast | kContainer, 1, 1, 1, LLen});
  t.Add({"lrange", 4, kReadOnly | kContainer, 1, 1, 1, LRange});
  t.Add({"lindex", 3, kReadOnly | kContainer, 1, 1, 1, LIndex});
  t.Add({"lset", 4, kWrite | kContainer, 1, 1, 1, LSet});
  t.Add({"lrem", 4, kWrite | kContainer, 1, 1, 1, LRem});
  t.Add({"ltrim", 4, kWrite | kContainer, 1, 1, 1, LTrim});
  t.Add({"linsert", 5, kWrite | kContainer, 1, 1, 1, LInsert});
  t.Add({"lmove", 5, kWrite | kContainer, 1, 2, 1, LMove});
  t.Add({"rpoplpush", 3, kWrite | kContainer, 1, 2, 1, RPopLPush});
  t.Add({"blpop", -3, kWrite | kBlocking | kContainer, 1, -2, 1, BLPop});
  t.Add({"brpop", -3, kWrite | kBlocking | kContainer, 1, -2, 1, BRPop});
}

}  // namespace strata::cache::resp
