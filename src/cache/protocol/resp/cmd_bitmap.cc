// RESP bitmap commands on string values (Redis bitops.c semantics): SETBIT,
// GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO. Each command
// reads and rewrites the value under its key's shard lock, so a
// read-modify-write is atomic like SETRANGE's. A write that would grow the
// value past max_value_bytes is refused before anything changes.
#include <algorithm>
#include <string>
#include <vector>

#include "cache/protocol/resp/bits.h"
#include "cache/protocol/resp/command_util.h"

namespace strata::cache::resp {
namespace {

constexpr std::string_view kBadOffset = "ERR bit offset is not an integer or out of range";
constexpr std::string_view kBadBit = "ERR bit is not an integer or out of range";
constexpr std::string_view kTooBig = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
constexpr std::string_view kBadType =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
// Redis refuses bit offsets at or past its proto-max-bulk-len default (512 MiB).
constexpr uint64_t kMaxOffsetBytes = 512ull << 20;

// A bit offset ("N", or "#N" counting in fields of `width` bits when
// `width` > 0); false with the reply sent when invalid.
bool ParseOffset(CommandContext& ctx, std::string_view s, int width, uint64_t* out) {
  bool hash = width > 0 && !s.empty() && s[0] == '#';
  int64_t n;
  if (!ParseStrictInt(hash ? s.substr(1) : s, &n)) return ctx.w->Error(kBadOffset), false;
  if (hash && n > 0 && n > std::numeric_limits<int64_t>::max() / width) return ctx.w->Error(kBadOffset), false;
  if (hash) n *= width;
  if (n < 0 || static_cast<uint64_t>(n >> 3) >= kMaxOffsetBytes) return ctx.w->Error(kBadOffset), false;
  *out = static_cast<uint64_t>(n);
  return true;
}

// False (with the reply) when a value of `bytes` would exceed the limit.
bool FitsLimit(CommandContext& ctx, uint64_t bytes) {
  if (bytes <= ctx.core->options().max_value_bytes) return true;
  ctx.w->Error(kTooBig);
  return false;
}

// Reads the string at `key`: false with WRONGTYPE sent; *found when present.
bool ReadString(CommandContext& ctx, std::string_view key, ItemView* v, bool* found) {
  Found f = Lookup(ctx, key, ValueType::kString, v);
  *found = f == Found::kYes;
  return f != Found::kWrongType;
}

void SetBit(CommandContext& ctx, Args args) {
  uint64_t offset;
  if (!ParseOffset(ctx, args[2], 0, &offset)) return;
  int64_t on;
  if (!ParseStrictInt(args[3], &on) || (on & ~1) != 0) return ctx.w->Error(kBadBit);
  uint64_t byte = offset >> 3;
  if (!FitsLimit(ctx, byte + 1)) return;
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  std::string_view cur = found ? v.value : std::string_view();
  uint8_t old = byte < cur.size() ? static_cast<uint8_t>(cur[byte]) : 0;
  uint8_t mask = static_cast<uint8_t>(1u << (7 - (offset & 7)));
  char updated = static_cast<char>(on ? (old | mask) : (old & ~mask));
  // The new value as pieces of the old one: no copy of the whole string.
  std::string zeros(byte > cur.size() ? byte - cur.size() : 0, '\0');
  std::string_view head = cur.substr(0, std::min<size_t>(byte, cur.size()));
  std::string_view tail = byte < cur.size() ? cur.substr(byte + 1) : std::string_view();
  std::string_view pieces[] = {head, zeros, std::string_view(&updated, 1), tail};
  auto r = ctx.engine()->PutString(key, pieces, found ? v.flags : 0, found ? v.expire_ms : 0);
  if (!r.ok()) return ReplyError(ctx, r.status());
  ctx.w->Integer((old & mask) ? 1 : 0);
}

void GetBit(CommandContext& ctx, Args args) {
  uint64_t offset;
  if (!ParseOffset(ctx, args[2], 0, &offset)) return;
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  if (!found || (offset >> 3) >= v.value.size()) return ctx.w->Integer(0);
  ctx.w->Integer((static_cast<uint8_t>(v.value[offset >> 3]) >> (7 - (offset & 7))) & 1);
}

// A [start, end] range of BITCOUNT or BITPOS resolved against a string of
// `len` bytes into bits; empty when the range selects nothing.
struct BitRange {
  bool empty = false;
  uint64_t from = 0, to = 0;
};

// Redis's index rules: negative indexes count from the end, the range is
// clamped to the string, and start > end is empty.
BitRange Resolve(int64_t start, int64_t end, bool bit_units, uint64_t len) {
  int64_t total = static_cast<int64_t>(bit_units ? len * 8 : len);
  BitRange r;
  if (start < 0 && end < 0 && start > end) return r.empty = true, r;
  if (start < 0) start += total;
  if (end < 0) end += total;
  start = std::max<int64_t>(start, 0);
  end = std::max<int64_t>(end, 0);
  end = std::min(end, total - 1);
  if (start > end) return r.empty = true, r;
  r.from = bit_units ? static_cast<uint64_t>(start) : static_cast<uint64_t>(start) * 8;
  r.to = bit_units ? static_cast<uint64_t>(end) : static_cast<uint64_t>(end) * 8 + 7;
  return r;
}

// BYTE or BIT at args[i]; false with a syntax error otherwise.
bool ParseUnit(CommandContext& ctx, std::string_view a, bool* bit_units) {
  if (IEquals(a, "bit")) *bit_units = true;
  else if (IEquals(a, "byte")) *bit_units = false;
  else return ctx.w->Error(kSyntaxError), false;
  return true;
}

void BitCount(CommandContext& ctx, Args args) {
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  // Redis 7.0 answers 0 for a missing key before looking at the range.
  if (!ReadString(ctx, key, &v, &found)) return;
  if (!found) return ctx.w->Integer(0);
  int64_t start = 0, end = -1;
  bool bit_units = false;
  if (args.size() == 4 || args.size() == 5) {
    if (!ParseStrictInt(args[2], &start) || !ParseStrictInt(args[3], &end)) return ctx.w->Error(kNotInteger);
    if (args.size() == 5 && !ParseUnit(ctx, args[4], &bit_units)) return;
  } else if (args.size() != 2) {
    return ctx.w->Error(kSyntaxError);
  }
  BitRange r = Resolve(start, end, bit_units, v.value.size());
  ctx.w->Integer(r.empty ? 0 : bits::Count(v.value, r.from, r.to));
}

void BitPos(CommandContext& ctx, Args args) {
  int64_t bit;
  if (!ParseStrictInt(args[2], &bit)) return ctx.w->Error(kNotInteger);
  if (bit != 0 && bit != 1) return ctx.w->Error("ERR The bit argument must be 1 or 0.");
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  if (!found) return ctx.w->Integer(bit ? -1 : 0);
  int64_t start = 0, end = -1;
  bool end_given = args.size() >= 5, bit_units = false;
  if (args.size() >= 4 && args.size() <= 6) {
    if (!ParseStrictInt(args[3], &start) || (end_given && !ParseStrictInt(args[4], &end))) return ctx.w->Error(kNotInteger);
    if (args.size() == 6 && !ParseUnit(ctx, args[5], &bit_units)) return;
  } else if (args.size() != 3) {
    return ctx.w->Error(kSyntaxError);
  }
  BitRange r = Resolve(start, end, bit_units, v.value.size());
  if (r.empty) return ctx.w->Integer(-1);
  int64_t pos = bits::FindFirst(v.value, bit == 1, r.from, r.to);
  // Looking for a clear bit without an explicit end, the string is taken as
  // padded with zeros on the right: the first bit past it is the answer.
  if (pos < 0 && bit == 0 && !end_given) pos = static_cast<int64_t>(r.to + 1);
  ctx.w->Integer(pos);
}

void BitOp(CommandContext& ctx, Args args) {
  std::string op = ToLower(args[1]);
  if (op != "and" && op != "or" && op != "xor" && op != "not") return ctx.w->Error(kSyntaxError);
  if (op == "not" && args.size() != 4) return ctx.w->Error("ERR BITOP NOT must be called with a single source key.");
  std::vector<std::string> keys;
  for (size_t i = 2; i < args.size(); i++) keys.push_back(ctx.Key(args[i]));
  KeyLock lock(ctx.engine(), keys);
  std::vector<std::string> src;  // copies: a view is valid only until the next engine call
  size_t maxlen = 0;
  for (size_t i = 1; i < keys.size(); i++) {
    ItemView v;
    bool found;
    if (!ReadString(ctx, keys[i], &v, &found)) return;
    src.emplace_back(found ? v.value : std::string_view());
    maxlen = std::max(maxlen, src.back().size());
  }
  std::string out(maxlen, '\0');
  for (size_t j = 0; j < maxlen; j++) {
    auto at = [&](size_t i) { return j < src[i].size() ? static_cast<uint8_t>(src[i][j]) : uint8_t{0}; };
    uint8_t b = at(0);
    if (op == "not") b = static_cast<uint8_t>(~b);
    for (size_t i = 1; i < src.size(); i++) {
      if (op == "and") b &= at(i);
      else if (op == "or") b |= at(i);
      else b ^= at(i);
    }
    out[j] = static_cast<char>(b);
  }
  if (maxlen == 0) {
    ctx.engine()->Erase(keys[0]);
  } else if (!StoreString(ctx, keys[0], out, 0)) {
    return;
  }
  ctx.w->Integer(static_cast<int64_t>(maxlen));
}

struct FieldOp {
  enum Kind { kGet, kSet, kIncrBy } kind;
  bool is_signed;
  int width;
  uint64_t offset;
  int64_t arg;
  bits::Overflow overflow;
};

// "i1".."i64" or "u1".."u63".
bool ParseFieldType(CommandContext& ctx, std::string_view s, bool* is_signed, int* width) {
  int64_t n;
  if (s.empty() || (s[0] != 'i' && s[0] != 'u') || !ParseStrictInt(s.substr(1), &n)) return ctx.w->Error(kBadType), false;
  *is_signed = s[0] == 'i';
  if (n < 1 || n > (*is_signed ? 64 : 63)) return ctx.w->Error(kBadType), false;
  *width = static_cast<int>(n);
  return true;
}

// Parses BITFIELD's subcommands; false with the reply sent on error.
bool ParseFieldOps(CommandContext& ctx, Args args, std::vector<FieldOp>* ops) {
  bits::Overflow overflow = bits::Overflow::kWrap;
  for (size_t j = 2; j < args.size(); j++) {
    size_t rest = args.size() - j - 1;
    FieldOp op{};
    if (IEquals(args[j], "get") && rest >= 2) {
      op.kind = FieldOp::kGet;
    } else if (IEquals(args[j], "set") && rest >= 3) {
      op.kind = FieldOp::kSet;
    } else if (IEquals(args[j], "incrby") && rest >= 3) {
      op.kind = FieldOp::kIncrBy;
    } else if (IEquals(args[j], "overflow") && rest >= 1) {
      std::string_view t = args[++j];
      if (IEquals(t, "wrap")) overflow = bits::Overflow::kWrap;
      else if (IEquals(t, "sat")) overflow = bits::Overflow::kSat;
      else if (IEquals(t, "fail")) overflow = bits::Overflow::kFail;
      else return ctx.w->Error("ERR Invalid OVERFLOW type specified"), false;
      continue;
    } else {
      return ctx.w->Error(kSyntaxError), false;
    }
    if (!ParseFieldType(ctx, args[j + 1], &op.is_signed, &op.width)) return false;
    if (!ParseOffset(ctx, args[j + 2], op.width, &op.offset)) return false;
    if (op.kind != FieldOp::kGet && !ParseStrictInt(args[j + 3], &op.arg)) return ctx.w->Error(kNotInteger), false;
    op.overflow = overflow;
    ops->push_back(op);
    j += op.kind == FieldOp::kGet ? 2 : 3;
  }
  return true;
}

// Runs one SET or INCRBY on `value`; false when it overflowed under FAIL.
bool ApplyFieldWrite(const FieldOp& op, std::string* value, int64_t* reply) {
  if (op.is_signed) {
    int64_t old = bits::GetSigned(*value, op.offset, op.width);
    auto next = op.kind == FieldOp::kSet ? bits::AddSigned(op.arg, 0, op.width, op.overflow)
                                         : bits::AddSigned(old, op.arg, op.width, op.overflow);
    if (!next) return false;
    bits::Set(value->data(), op.offset, op.width, static_cast<uint64_t>(*next));
    *reply = op.kind == FieldOp::kSet ? old : *next;
    return true;
  }
  uint64_t old = bits::GetUnsigned(*value, op.offset, op.width);
  auto next = op.kind == FieldOp::kSet ? bits::AddUnsigned(static_cast<uint64_t>(op.arg), 0, op.width, op.overflow)
                                       : bits::AddUnsigned(old, op.arg, op.width, op.overflow);
  if (!next) return false;
  bits::Set(value->data(), op.offset, op.width, *next);
  *reply = static_cast<int64_t>(op.kind == FieldOp::kSet ? old : *next);
  return true;
}

void BitFieldGeneric(CommandContext& ctx, Args args, bool read_only) {
  std::vector<FieldOp> ops;
  if (!ParseFieldOps(ctx, args, &ops)) return;
  uint64_t need = 0;  // bytes the writes reach
  for (const auto& op : ops) {
    if (op.kind != FieldOp::kGet) need = std::max(need, ((op.offset + op.width - 1) >> 3) + 1);
  }
  if (need > 0 && read_only) return ctx.w->Error("ERR BITFIELD_RO only supports the GET subcommand");
  InternalKey key = ctx.Key(args[1]);
  KeyLock lock(ctx.engine(), key);
  ItemView v;
  bool found;
  if (!ReadString(ctx, key, &v, &found)) return;
  if (need > 0 && !FitsLimit(ctx, need)) return;
  std::string value(found ? v.value : std::string_view());
  if (value.size() < need) value.resize(need, '\0');
  bool changed = false;
  std::vector<std::optional<int64_t>> replies;
  for (const auto& op : ops) {
    if (op.kind == FieldOp::kGet) {
      replies.emplace_back(op.is_signed ? bits::GetSigned(value, op.offset, op.width)
                                        : static_cast<int64_t>(bits::GetUnsigned(value, op.offset, op.width)));
      continue;
    }
    int64_t r;
    if (ApplyFieldWrite(op, &value, &r)) {
      replies.emplace_back(r);
      changed = true;
    } else {
      replies.emplace_back(std::nullopt);
    }
  }
  // Growing the string is a change even when every write failed.
  if ((changed || (need > 0 && (!found || value.size() != v.value.size()))) &&
      !StoreString(ctx, key, value, found ? v.expire_ms : 0, found ? v.flags : 0)) {
    return;
  }
  ctx.w->Array(replies.size());
  for (const auto& r : replies) {
    if (r) ctx.w->Integer(*r);
    else ctx.w->Null();
  }
}
void BitField(CommandContext& ctx, Args args) { BitFieldGeneric(ctx, args, false); }
void BitFieldRo(CommandContext& ctx, Args args) { BitFieldGeneric(ctx, args, true); }

}  // namespace

void RegisterBitmapCommands(CommandTable& t) {
  t.Add({"setbit", 4, kWrite, 1, 1, 1, SetBit});
  t.Add({"getbit", 3, kReadOnly | kFast, 1, 1, 1, GetBit});
  t.Add({"bitcount", -2, kReadOnly, 1, 1, 1, BitCount});
  t.Add({"bitpos", -3, kReadOnly, 1, 1, 1, BitPos});
  t.Add({"bitop", -4, kWrite, 2, -1, 1, BitOp});
  t.Add({"bitfield", -2, kWrite, 1, 1, 1, BitField});
  t.Add({"bitfield_ro", -2, kReadOnly | kFast, 1, 1, 1, BitFieldRo});
}

}  // namespace strata::cache::resp
