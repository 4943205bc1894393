// RESP HyperLogLog commands (Redis hyperloglog.c semantics): PFADD,
// PFCOUNT and PFMERGE on string values in Redis's HLL format
// (hyperloglog.h). Every command works on a copy of the value under the
// keys' shard locks and stores it whole, so a corrupt value found half-way
// changes nothing.
#include <vector>

#include "cache/protocol/resp/command_util.h"
#include "cache/protocol/resp/hyperloglog.h"

namespace strata::cache::resp {
namespace {

constexpr std::string_view kNotHll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
constexpr std::string_view kCorrupt = "INVALIDOBJ Corrupted HLL object detected";

// The HLL at `key`: kNo when missing; on kWrongType the error (of either
// kind) has been sent.
Found LookupHll(CommandContext& ctx, std::string_view key, ItemView* v) {
  Found f = Lookup(ctx, key, ValueType::kString, v);
  if (f == Found::kYes && !hll::LooksValid(v->value)) {
    ctx.w->Error(kNotHll);
    return Found::kWrongType;
  }
  return f;
}

void PfAdd(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  Found f = LookupHll(ctx, key, &v);
  if (f == Found::kWrongType) return;
  bool found = f == Found::kYes;
  std::string value = found ? std::string(v.value) : hll::Empty();
  bool updated = !found;
  for (size_t i = 2; i < args.size(); i++) {
    int r = hll::Add(&value, args[i]);
    if (r < 0) return ctx.w->Error(kCorrupt);
    updated |= r == 1;
  }
  if (!updated) return ctx.w->Integer(0);
  hll::InvalidateCache(&value);
  if (StoreString(ctx, key, value, found ? v.expire_ms : 0, found ? v.flags : 0)) ctx.w->Integer(1);
}

// One key: the cached cardinality, or the estimate, which is then cached in
// the value as Redis does (a GET afterwards shows the same bytes). True when
// it rewrote the value.
bool PfCountOne(CommandContext& ctx, const InternalKey& key) {
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  Found f = LookupHll(ctx, key, &v);
  if (f == Found::kWrongType) return false;
  if (f == Found::kNo) return ctx.w->Integer(0), false;
  if (auto cached = hll::CachedCount(v.value)) return ctx.w->Integer(static_cast<int64_t>(*cached)), false;
  auto card = hll::Count(v.value);
  if (!card) return ctx.w->Error(kCorrupt), false;
  std::string value(v.value);
  hll::SetCachedCount(&value, *card);
  if (!StoreString(ctx, key, value, v.expire_ms, v.flags)) return false;
  ctx.w->Integer(static_cast<int64_t>(*card));
  return true;
}

// Merges the registers of keys[from..] into `max`; false with the reply
// sent on a wrong type or a corrupt value. *dense: one of them was dense.
bool MergeKeys(CommandContext& ctx, const std::vector<std::string>& keys, uint8_t* max, bool* dense) {
  for (const auto& k : keys) {
    ItemView v;
    Found f = LookupHll(ctx, k, &v);
    if (f == Found::kWrongType) return false;
    if (f == Found::kNo) continue;
    *dense |= hll::IsDense(v.value);
    if (!hll::MergeInto(v.value, max)) return ctx.w->Error(kCorrupt), false;
  }
  return true;
}

void PfCount(CommandContext& ctx, Args args) {
  if (args.size() == 2) {
    InternalKey key = ctx.Key(args[1]);
    // Caching the count modifies the key: WATCH sees it, as in Redis.
    if (PfCountOne(ctx, key) && ctx.core->watches()->watched() > 0) ctx.core->watches()->Touch(key);
    return;
  }
  std::vector<std::string> keys;
  for (size_t i = 1; i < args.size(); i++) keys.push_back(ctx.Key(args[i]));
  KeyLock lock(ctx.engine(), keys);
  std::vector<uint8_t> max(hll::kRegisters, 0);
  bool dense = false;
  if (!MergeKeys(ctx, keys, max.data(), &dense)) return;
  ctx.w->Integer(static_cast<int64_t>(hll::CountRegisters(max.data())));
}

void PfMerge(CommandContext& ctx, Args args) {
  std::vector<std::string> keys;
  for (size_t i = 1; i < args.size(); i++) keys.push_back(ctx.Key(args[i]));
  KeyLock lock(ctx.engine(), keys);
  std::vector<uint8_t> max(hll::kRegisters, 0);
  bool dense = false;
  if (!MergeKeys(ctx, keys, max.data(), &dense)) return;  // the destination is merged too
  ItemView v;
  bool found = ctx.engine()->Find(keys[0], &v);
  std::string value = found ? std::string(v.value) : hll::Empty();
  // A dense source makes a dense destination, as in Redis.
  if (dense && !hll::ToDense(&value)) return ctx.w->Error(kCorrupt);
  for (size_t i = 0; i < hll::kRegisters; i++) {
    if (max[i] != 0 && hll::SetRegister(&value, i, max[i]) < 0) return ctx.w->Error(kCorrupt);
  }
  hll::InvalidateCache(&value);
  if (StoreString(ctx, keys[0], value, found ? v.expire_ms : 0, found ? v.flags : 0)) ctx.w->Ok();
}

}  // namespace

void RegisterHllCommands(CommandTable& t) {
  t.Add({"pfadd", -2, kWrite | kFast, 1, 1, 1, PfAdd});
  t.Add({"pfcount", -2, kReadOnly, 1, -1, 1, PfCount});
  t.Add({"pfmerge", -2, kWrite, 1, -1, 1, PfMerge});
}

}  // namespace strata::cache::resp
