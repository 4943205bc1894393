#include "cache/protocol/resp/keyspace_notify.h"

#include <unordered_map>

#include "cache/protocol/resp/command_util.h"
#include "cache/server/keyspace_events.h"

namespace strata::cache::resp {

namespace {

// When a simple rule's event fires.
enum class When {
  kNotError,  // the command did not fail (HSET, INCR, GETSET...)
  kEffect,    // it changed something: an integer > 0, or a reply neither null nor empty (SADD, LPOP...)
};

enum class Special {
  kNone,
  kSet,       // SET: "set", and "expire" with EX/PX/EXAT/PXAT
  kSetEx,     // SETEX, PSETEX: "set" and "expire"
  kExpire,    // "expire", or "del" when the new time is in the past
  kGetEx,     // "expire" or "persist" by option
  kRename,    // "rename_from" and "rename_to"
  kListMove,  // RPOPLPUSH, LMOVE: the push on the destination, then the pop on the source
  kSMove,     // "srem" on the source, "sadd" on the destination
  kStore,     // *STORE: the event on the destination, or "del" of it for an empty result
  kDel,       // DEL, UNLINK: "del" for every key that went away
  kBPop,      // BLPOP, BRPOP: the pop on the key named in the reply
  kZAdd,      // "zadd", or "zincr" with INCR
  kPairs,     // MSET, MSETNX: "set" on every key
  kBitOp,     // BITOP: "set" on the destination, or "del" of it for an empty result
  kBitField,  // BITFIELD: "setbit" when a SET or INCRBY was carried out and the value changed
  kSetBit,    // SETBIT: "setbit" when the value changed (a bit flipped, or it was created or grown)
  kRaised,    // streams: the events the handler raised (CommandContext::raised)
};

}  // namespace

struct KeyspaceNotifier::Rule {
  std::string_view event;
  uint32_t cls;
  When when;
  bool del_if_gone;  // a container the command may empty: "del" after the event
  Special special;
};

namespace {

const std::unordered_map<std::string_view, KeyspaceNotifier::Rule>& Rules() {
  using R = KeyspaceNotifier::Rule;
  constexpr When N = When::kNotError, F = When::kEffect;
  static const auto* rules = new std::unordered_map<std::string_view, R>{
      {"set", {"set", kEventsString, N, false, Special::kSet}},
      {"setex", {"set", kEventsString, N, false, Special::kSetEx}},
      {"psetex", {"set", kEventsString, N, false, Special::kSetEx}},
      {"setnx", {"set", kEventsString, F, false, Special::kNone}},
      {"getset", {"set", kEventsString, N, false, Special::kNone}},
      {"getdel", {"del", kEventsGeneric, F, false, Special::kNone}},
      {"getex", {"", kEventsGeneric, F, false, Special::kGetEx}},
      {"mset", {"set", kEventsString, N, false, Special::kPairs}},
      {"msetnx", {"set", kEventsString, F, false, Special::kPairs}},
      {"append", {"append", kEventsString, N, false, Special::kNone}},
      {"setrange", {"setrange", kEventsString, N, false, Special::kNone}},
      {"incr", {"incrby", kEventsString, N, false, Special::kNone}},
      {"decr", {"incrby", kEventsString, N, false, Special::kNone}},
      {"incrby", {"incrby", kEventsString, N, false, Special::kNone}},
      {"decrby", {"incrby", kEventsString, N, false, Special::kNone}},
      {"incrbyfloat", {"incrbyfloat", kEventsString, N, false, Special::kNone}},
      {"setbit", {"setbit", kEventsString, N, false, Special::kSetBit}},
      {"bitop", {"set", kEventsString, N, false, Special::kBitOp}},
      {"bitfield", {"setbit", kEventsString, N, false, Special::kBitField}},
      {"pfadd", {"pfadd", kEventsString, F, false, Special::kNone}},
      {"pfmerge", {"pfadd", kEventsString, N, false, Special::kNone}},
      {"del", {"del", kEventsGeneric, N, false, Special::kDel}},
      {"unlink", {"del", kEventsGeneric, N, false, Special::kDel}},
      {"expire", {"expire", kEventsGeneric, F, false, Special::kExpire}},
      {"pexpire", {"expire", kEventsGeneric, F, false, Special::kExpire}},
      {"expireat", {"expire", kEventsGeneric, F, false, Special::kExpire}},
      {"pexpireat", {"expire", kEventsGeneric, F, false, Special::kExpire}},
      {"persist", {"persist", kEventsGeneric, F, false, Special::kNone}},
      {"rename", {"", kEventsGeneric, F, false, Special::kRename}},
      {"renamenx", {"", kEventsGeneric, F, false, Special::kRename}},
      {"lpush", {"lpush", kEventsList, N, false, Special::kNone}},
      {"rpush", {"rpush", kEventsList, N, false, Special::kNone}},
      {"lpushx", {"lpush", kEventsList, F, false, Special::kNone}},
      {"rpushx", {"rpush", kEventsList, F, false, Special::kNone}},
      {"lpop", {"lpop", kEventsList, F, true, Special::kNone}},
      {"rpop", {"rpop", kEventsList, F, true, Special::kNone}},
      {"lset", {"lset", kEventsList, N, false, Special::kNone}},
      {"lrem", {"lrem", kEventsList, F, true, Special::kNone}},
      {"ltrim", {"ltrim", kEventsList, N, true, Special::kNone}},
      {"linsert", {"linsert", kEventsList, F, false, Special::kNone}},
      {"rpoplpush", {"", kEventsList, F, true, Special::kListMove}},
      {"lmove", {"", kEventsList, F, true, Special::kListMove}},
      {"blpop", {"lpop", kEventsList, F, true, Special::kBPop}},
      {"brpop", {"rpop", kEventsList, F, true, Special::kBPop}},
      {"sadd", {"sadd", kEventsSet, F, false, Special::kNone}},
      {"srem", {"srem", kEventsSet, F, true, Special::kNone}},
      {"spop", {"spop", kEventsSet, F, true, Special::kNone}},
      {"smove", {"", kEventsSet, F, true, Special::kSMove}},
      {"sinterstore", {"sinterstore", kEventsSet, N, false, Special::kStore}},
      {"sunionstore", {"sunionstore", kEventsSet, N, false, Special::kStore}},
      {"sdiffstore", {"sdiffstore", kEventsSet, N, false, Special::kStore}},
      {"hset", {"hset", kEventsHash, N, false, Special::kNone}},
      {"hmset", {"hset", kEventsHash, N, false, Special::kNone}},
      {"hsetnx", {"hset", kEventsHash, F, false, Special::kNone}},
      {"hdel", {"hdel", kEventsHash, F, true, Special::kNone}},
      {"hincrby", {"hincrby", kEventsHash, N, false, Special::kNone}},
      {"hincrbyfloat", {"hincrbyfloat", kEventsHash, N, false, Special::kNone}},
      {"zadd", {"zadd", kEventsZset, N, false, Special::kZAdd}},
      {"zincrby", {"zincr", kEventsZset, N, false, Special::kNone}},
      {"zrem", {"zrem", kEventsZset, F, true, Special::kNone}},
      {"zpopmin", {"zpopmin", kEventsZset, F, true, Special::kNone}},
      {"zpopmax", {"zpopmax", kEventsZset, F, true, Special::kNone}},
      {"zremrangebyrank", {"zremrangebyrank", kEventsZset, F, true, Special::kNone}},
      {"zremrangebyscore", {"zremrangebyscore", kEventsZset, F, true, Special::kNone}},
      {"geoadd", {"zadd", kEventsZset, N, false, Special::kNone}},
      {"geosearchstore", {"geosearchstore", kEventsZset, N, false, Special::kStore}},
      {"xadd", {"", kEventsStream, N, false, Special::kRaised}},
      {"xtrim", {"", kEventsStream, N, false, Special::kRaised}},
      {"xdel", {"", kEventsStream, N, false, Special::kRaised}},
      {"xgroup", {"", kEventsStream, N, false, Special::kRaised}},
      {"xsetid", {"", kEventsStream, N, false, Special::kRaised}},
      {"xreadgroup", {"", kEventsStream, N, false, Special::kRaised}},
      {"xclaim", {"", kEventsStream, N, false, Special::kRaised}},
      {"xautoclaim", {"", kEventsStream, N, false, Special::kRaised}},
  };
  return *rules;
}

bool IsError(std::string_view r) { return r.empty() || r[0] == '-' || r[0] == '!'; }
bool IsNull(std::string_view r) { return r == "$-1\r\n" || r == "*-1\r\n" || r == "_\r\n"; }
bool IsEmpty(std::string_view r) { return r.starts_with("*0\r\n") || r.starts_with("~0\r\n"); }

// The reply's integer (":N"), or 1 for a reply that is not an integer.
int64_t IntOr1(std::string_view r) {
  if (r.empty() || r[0] != ':') return 1;
  int64_t v = 0;
  size_t end = r.find('\r');
  return ParseInt(r.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1), &v) ? v : 0;
}

bool Effect(std::string_view r) { return !IsError(r) && !IsNull(r) && !IsEmpty(r) && IntOr1(r) > 0; }

bool HasOption(Args args, size_t from, std::initializer_list<std::string_view> names) {
  for (size_t i = from; i < args.size(); i++) {
    for (std::string_view n : names) {
      if (IEquals(args[i], n)) return true;
    }
  }
  return false;
}

// The first bulk string of an array reply ("*2\r\n$3\r\nkey\r\n..."), as
// BLPOP names the key it popped from.
std::string_view FirstBulk(std::string_view r) {
  size_t d = r.find('$');
  if (d == std::string_view::npos) return {};
  size_t eol = r.find("\r\n", d);
  int64_t len = 0;
  if (eol == std::string_view::npos || !ParseInt(r.substr(d + 1, eol - d - 1), &len) || len < 0) return {};
  if (eol + 2 + static_cast<size_t>(len) > r.size()) return {};
  return r.substr(eol + 2, static_cast<size_t>(len));
}

// Whether a BITFIELD carried out a SET or INCRBY: its reply has one element
// per GET/SET/INCRBY in order, null for a write refused by OVERFLOW FAIL.
bool BitFieldWrote(Args args, std::string_view reply) {
  size_t p = reply.find("\r\n");
  if (p == std::string_view::npos) return false;
  p += 2;
  for (size_t j = 2; j < args.size(); j++) {
    bool get = IEquals(args[j], "get");
    if (IEquals(args[j], "overflow")) {
      j++;
      continue;
    }
    size_t eol = reply.find("\r\n", p);
    if (eol == std::string_view::npos) return false;
    bool null = reply[p] == '_' || reply[p] == '$';
    if (!get && !null) return true;
    p = eol + 2;
    j += get ? 2 : 3;
  }
  return false;
}

}  // namespace

KeyspaceNotifier::KeyspaceNotifier(CommandContext& ctx, std::string_view name, Args args, uint32_t flags)
    : ctx_(ctx), args_(args), flags_(flags), rule_(nullptr) {
  const auto& rules = Rules();
  auto it = rules.find(name);
  if (it == rules.end() || args.size() < 2) return;
  rule_ = &it->second;
  if (rule_->special == Special::kDel) {
    existed_.assign(args.size(), false);
    for (size_t i = 1; i < args.size(); i++) existed_[i] = Exists(args[i]);
  } else if (rule_->special == Special::kSetBit || rule_->special == Special::kBitField) {
    InternalKey k = ctx_.Key(args[1]);
    KeyLock lock(ctx_.engine(), k);
    ItemView v;
    if (ctx_.engine()->Find(k, &v) && v.type == ValueType::kString) {
      before_size_ = v.value.size();
      // SETBIT needs only the length; BITFIELD compares the whole value.
      before_ = rule_->special == Special::kSetBit ? std::string() : std::string(v.value);
    }
  } else if (rule_->special == Special::kBitOp) {
    existed_.assign(3, false);
    if (args.size() > 2) existed_[2] = Exists(args[2]);
  } else if (rule_->special == Special::kStore || rule_->del_if_gone) {
    existed_.assign(2, false);
    existed_[1] = Exists(args[1]);
  }
}

bool KeyspaceNotifier::Exists(std::string_view key) {
  InternalKey k = ctx_.Key(key);
  KeyLock lock(ctx_.engine(), k);
  ItemView v;
  return ctx_.engine()->Find(k, &v);
}

void KeyspaceNotifier::Event(uint32_t cls, std::string_view event, std::string_view key) {
  NotifyKeyspaceEvent(ctx_.core->pubsub(), flags_, cls, event, key, ctx_.ns->id());
}

bool KeyspaceNotifier::Changed(std::string_view key) {
  InternalKey k = ctx_.Key(key);
  KeyLock lock(ctx_.engine(), k);
  ItemView v;
  if (!ctx_.engine()->Find(k, &v)) return false;
  return !before_ || v.value != *before_;
}

void KeyspaceNotifier::DelIfGone(std::string_view key) {
  if (!Exists(key)) Event(kEventsGeneric, "del", key);
}

void KeyspaceNotifier::After(std::string_view reply) {
  if (rule_ != nullptr && rule_->special == Special::kRaised) {
    for (const auto& [event, key] : ctx_.raised) Event(kEventsStream, event, key);
    return;
  }
  if (rule_ == nullptr || IsError(reply)) return;
  const Rule& r = *rule_;
  std::string_view key = args_[1];
  bool fire = r.when == When::kEffect ? Effect(reply) : true;
  switch (r.special) {
    case Special::kNone:
      if (r.del_if_gone && !existed_[1]) return;  // LTRIM of nothing
      if (!fire) return;
      Event(r.cls, r.event, key);
      if (r.del_if_gone) DelIfGone(key);
      return;
    case Special::kSet: {
      bool get = HasOption(args_, 3, {"get"});
      if (IsNull(reply) && !get) return;  // NX or XX refused it
      Event(kEventsString, "set", key);
      if (HasOption(args_, 3, {"ex", "px", "exat", "pxat"})) Event(kEventsGeneric, "expire", key);
      return;
    }
    case Special::kSetEx:
      Event(kEventsString, "set", key);
      Event(kEventsGeneric, "expire", key);
      return;
    case Special::kExpire:
      if (fire) Event(kEventsGeneric, Exists(key) ? "expire" : "del", key);
      return;
    case Special::kGetEx:
      if (IsNull(reply)) return;
      if (HasOption(args_, 2, {"ex", "px", "exat", "pxat"})) Event(kEventsGeneric, "expire", key);
      else if (HasOption(args_, 2, {"persist"})) Event(kEventsGeneric, "persist", key);
      return;
    case Special::kRename:
      if (!fire || args_.size() < 3) return;
      Event(kEventsGeneric, "rename_from", key);
      Event(kEventsGeneric, "rename_to", args_[2]);
      return;
    case Special::kListMove: {
      if (!fire || args_.size() < 3) return;
      bool lmove = args_.size() >= 5;
      bool to_left = !lmove || IEquals(args_[4], "left");
      bool from_left = lmove && IEquals(args_[3], "left");
      Event(kEventsList, to_left ? "lpush" : "rpush", args_[2]);
      Event(kEventsList, from_left ? "lpop" : "rpop", key);
      DelIfGone(key);
      return;
    }
    case Special::kSMove:
      if (!fire || args_.size() < 3) return;
      Event(kEventsSet, "srem", key);
      DelIfGone(key);
      Event(kEventsSet, "sadd", args_[2]);
      return;
    case Special::kStore:
      if (IntOr1(reply) > 0) Event(r.cls, r.event, key);
      else if (existed_[1]) Event(kEventsGeneric, "del", key);
      return;
    case Special::kDel:
      for (size_t i = 1; i < args_.size(); i++) {
        if (!existed_[i]) continue;
        existed_[i] = false;
        for (size_t j = i + 1; j < args_.size(); j++) {
          if (args_[j] == args_[i]) existed_[j] = false;  // a key named twice goes once
        }
        DelIfGone(args_[i]);
      }
      return;
    case Special::kBPop: {
      std::string_view popped = FirstBulk(reply);
      if (!fire || popped.empty()) return;
      Event(kEventsList, r.event, popped);
      DelIfGone(popped);
      return;
    }
    case Special::kZAdd:
      if (IsNull(reply)) return;  // INCR with NX or XX refused
      Event(kEventsZset, HasOption(args_, 2, {"incr"}) ? "zincr" : "zadd", key);
      return;
    case Special::kBitOp:
      if (args_.size() < 3) return;
      if (IntOr1(reply) > 0) Event(kEventsString, "set", args_[2]);
      else if (existed_[2]) Event(kEventsGeneric, "del", args_[2]);
      return;
    case Special::kBitField:
      if (BitFieldWrote(args_, reply) && Changed(key)) Event(kEventsString, "setbit", key);
      return;
    case Special::kSetBit: {
      int64_t offset = 0, on = 0;
      if (args_.size() < 4 || !ParseInt(args_[2], &offset) || !ParseInt(args_[3], &on)) return;
      bool grown = !before_ || static_cast<uint64_t>(offset >> 3) >= before_size_;
      if (grown || IntOr1(reply) != on) Event(kEventsString, "setbit", key);
      return;
    }
    case Special::kRaised:
      return;  // published above
    case Special::kPairs:
      if (!fire) return;
      for (size_t i = 1; i < args_.size(); i += 2) Event(kEventsString, "set", args_[i]);
      return;
  }
}

}  // namespace strata::cache::resp
