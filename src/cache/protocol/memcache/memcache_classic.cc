// Classic memcached text commands (storage, retrieval, counters, touch,
// delete, flush_all, version, verbosity, quit).
#include <charconv>
#include <limits>

#include "cache/protocol/memcache/memcache_handler.h"

namespace strata::cache::memcache {
namespace {

void Reply(McRequest& r, std::string_view s) {
  if (!r.noreply) r.out->append(s);
}

bool IsNoreply(const McRequest& r, size_t idx) { return r.tokens.size() > idx && r.tokens[idx] == "noreply"; }

// The string value at `key`, if any (other Redis types count as absent).
bool FindString(Engine* e, const std::string& key, ItemView* v) {
  return e->Find(key, v) && v->type == ValueType::kString;
}

enum class StoreMode { kSet, kAdd, kReplace, kAppend, kPrepend, kCas };

void StoreGeneric(McRequest& r, StoreMode mode) {
  size_t noreply_idx = mode == StoreMode::kCas ? 6 : 5;
  r.noreply = IsNoreply(r, noreply_idx);
  uint64_t flags;
  int64_t exptime;
  uint64_t cas = 0;
  if (!ParseU64(r.tokens[2], &flags) || flags > std::numeric_limits<uint32_t>::max() || !ParseI64(r.tokens[3], &exptime) ||
      (mode == StoreMode::kCas && !ParseU64(r.tokens[5], &cas))) {
    r.out->append("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  std::string& key = r.h->key_buffer();
  Namespace* ns = r.h->Resolve(r, r.tokens[1], true, &key);
  if (!ns) return;
  r.h->counts().cmd_set++;
  Engine* e = ns->engine();
  KeyLock lock(e, key);
  ItemView v;
  bool exists = FindString(e, key, &v);
  if ((mode == StoreMode::kAdd && exists) ||
      ((mode == StoreMode::kReplace || mode == StoreMode::kAppend || mode == StoreMode::kPrepend) && !exists)) {
    return Reply(r, "NOT_STORED\r\n");
  }
  if (mode == StoreMode::kCas) {
    if (!exists) {
      r.h->counts().cas_misses++;
      return Reply(r, "NOT_FOUND\r\n");
    }
    if (v.cas != cas) {
      r.h->counts().cas_badval++;
      return Reply(r, "EXISTS\r\n");
    }
    r.h->counts().cas_hits++;
  }
  std::string_view pieces[2] = {r.data, {}};
  size_t n = 1;
  uint32_t f = static_cast<uint32_t>(flags);
  int64_t expire = r.h->ExpireFrom(exptime);
  if (mode == StoreMode::kAppend || mode == StoreMode::kPrepend) {
    // append/prepend keep the item's flags and expiry, as memcached does.
    pieces[0] = mode == StoreMode::kAppend ? v.value : r.data;
    pieces[1] = mode == StoreMode::kAppend ? r.data : v.value;
    n = 2;
    f = v.flags;
    expire = v.expire_ms;
    if (v.value.size() + r.data.size() > r.core->options().max_value_bytes) {
      return Reply(r, "SERVER_ERROR object too large for cache\r\n");
    }
  }
  auto res = e->PutString(key, std::span<const std::string_view>(pieces, n), f, expire);
  if (!res.ok()) {
    r.out->append("SERVER_ERROR " + res.status().message() + "\r\n");
    return;
  }
  Reply(r, "STORED\r\n");
}

void Set(McRequest& r) { StoreGeneric(r, StoreMode::kSet); }
void Add(McRequest& r) { StoreGeneric(r, StoreMode::kAdd); }
void Replace(McRequest& r) { StoreGeneric(r, StoreMode::kReplace); }
void Append(McRequest& r) { StoreGeneric(r, StoreMode::kAppend); }
void Prepend(McRequest& r) { StoreGeneric(r, StoreMode::kPrepend); }
void Cas(McRequest& r) { StoreGeneric(r, StoreMode::kCas); }

void AppendNumber(std::string* out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

void AppendValue(std::string* out, std::string_view key, const ItemView& v, bool with_cas) {
  out->append("VALUE ");
  out->append(key);
  out->push_back(' ');
  AppendNumber(out, v.flags);
  out->push_back(' ');
  AppendNumber(out, v.value.size());
  if (with_cas) {
    out->push_back(' ');
    AppendNumber(out, v.cas);
  }
  out->append("\r\n");
  out->append(v.value);
  out->append("\r\n");
}

void Retrieve(McRequest& r, bool with_cas, bool touch) {
  size_t first = touch ? 2 : 1;
  int64_t expire = 0;
  if (touch) {
    int64_t exptime;
    if (!ParseI64(r.tokens[1], &exptime)) {
      r.out->append("CLIENT_ERROR invalid exptime argument\r\n");
      return;
    }
    expire = r.h->ExpireFrom(exptime);
  }
  for (size_t i = first; i < r.tokens.size(); i++) {
    std::string& key = r.h->key_buffer();
    Namespace* ns = r.h->Resolve(r, r.tokens[i], touch, &key);
    if (!ns) return;  // an invalid key aborts the request (no END), as memcached
    r.h->counts().cmd_get++;
    Engine* e = ns->engine();
    KeyLock lock(e, key);
    ItemView v;
    if (!FindString(e, key, &v)) {
      r.h->counts().get_misses++;
      continue;
    }
    r.h->counts().get_hits++;
    if (touch) {
      e->SetExpire(key, expire);
      e->Find(key, &v);
    }
    AppendValue(r.out, r.tokens[i], v, with_cas);
  }
  r.out->append("END\r\n");
}

void Get(McRequest& r) { Retrieve(r, false, false); }
void Gets(McRequest& r) { Retrieve(r, true, false); }
void Gat(McRequest& r) { Retrieve(r, false, true); }
void Gats(McRequest& r) { Retrieve(r, true, true); }

void Delete(McRequest& r) {
  r.noreply = IsNoreply(r, r.tokens.size() - 1) && r.tokens.size() > 2;
  size_t extra = r.tokens.size() - 2 - (r.noreply ? 1 : 0);
  if (extra > 1 || (extra == 1 && r.tokens[2] != "0")) {
    r.out->append("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
    return;
  }
  std::string& key = r.h->key_buffer();
  Namespace* ns = r.h->Resolve(r, r.tokens[1], true, &key);
  if (!ns) return;
  KeyLock lock(ns->engine(), key);
  if (ns->engine()->Erase(key)) {
    r.h->counts().delete_hits++;
    return Reply(r, "DELETED\r\n");
  }
  r.h->counts().delete_misses++;
  Reply(r, "NOT_FOUND\r\n");
}

void Arith(McRequest& r, bool incr) {
  r.noreply = IsNoreply(r, 3);
  uint64_t delta;
  if (!ParseU64(r.tokens[2], &delta)) {
    r.out->append("CLIENT_ERROR invalid numeric delta argument\r\n");
    return;
  }
  std::string& key = r.h->key_buffer();
  Namespace* ns = r.h->Resolve(r, r.tokens[1], true, &key);
  if (!ns) return;
  Engine* e = ns->engine();
  KeyLock lock(e, key);
  ItemView v;
  if (!FindString(e, key, &v)) {
    r.h->counts().incr_misses++;
    return Reply(r, "NOT_FOUND\r\n");
  }
  uint64_t cur;
  std::string_view digits = v.value;
  while (!digits.empty() && digits.back() == ' ') digits.remove_suffix(1);
  if (!ParseU64(digits, &cur)) {
    r.out->append("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    return;
  }
  r.h->counts().incr_hits++;
  cur = incr ? cur + delta : (delta > cur ? 0 : cur - delta);  // incr wraps at 2^64, decr stops at 0
  std::string s = std::to_string(cur);
  std::string_view pieces[] = {s};
  auto res = e->PutString(key, pieces, v.flags, v.expire_ms);
  if (!res.ok()) {
    r.out->append("SERVER_ERROR " + res.status().message() + "\r\n");
    return;
  }
  Reply(r, s + "\r\n");
}
void Incr(McRequest& r) { Arith(r, true); }
void Decr(McRequest& r) { Arith(r, false); }

void Touch(McRequest& r) {
  r.noreply = IsNoreply(r, 3);
  int64_t exptime;
  if (!ParseI64(r.tokens[2], &exptime)) {
    r.out->append("CLIENT_ERROR invalid exptime argument\r\n");
    return;
  }
  std::string& key = r.h->key_buffer();
  Namespace* ns = r.h->Resolve(r, r.tokens[1], true, &key);
  if (!ns) return;
  r.h->counts().cmd_touch++;
  KeyLock lock(ns->engine(), key);
  Reply(r, ns->engine()->SetExpire(key, r.h->ExpireFrom(exptime)) ? "TOUCHED\r\n" : "NOT_FOUND\r\n");
}

void FlushAll(McRequest& r) {
  r.noreply = IsNoreply(r, r.tokens.size() - 1);
  int64_t delay = 0;
  size_t args = r.tokens.size() - 1 - (r.noreply ? 1 : 0);
  if (args > 1 || (args == 1 && !ParseI64(r.tokens[1], &delay))) {
    r.out->append("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  r.h->counts().cmd_flush++;
  if (delay > 0) {
    r.core->pending_flush_ms.store(r.h->ExpireFrom(delay));
  } else {
    r.core->namespaces()->Get(0)->engine()->Flush(0);
    r.core->watches()->TouchNamespace(0);
  }
  Reply(r, "OK\r\n");
}

void Version(McRequest& r) { r.out->append("VERSION 1.6.21-strata\r\n"); }

void Verbosity(McRequest& r) {
  // "verbosity [level] [noreply]", as memcached 1.6: an unparsable level
  // still answers OK; more arguments are an ERROR.
  if (r.tokens.size() > 3) {
    r.out->append("ERROR\r\n");
    return;
  }
  r.noreply = r.tokens.back() == "noreply";
  int64_t level = 0;
  if (ParseI64(r.tokens[1], &level)) r.core->verbosity.store(static_cast<int>(level));
  Reply(r, "OK\r\n");
}

void Quit(McRequest& r) { r.close = true; }

}  // namespace

void RegisterClassicCommands(std::vector<McCommandSpec>* t) {
  t->push_back({"get", 2, -1, Get});
  t->push_back({"gets", 2, -1, Gets});
  t->push_back({"gat", 3, -1, Gat});
  t->push_back({"gats", 3, -1, Gats});
  t->push_back({"set", 5, 4, Set});
  t->push_back({"add", 5, 4, Add});
  t->push_back({"replace", 5, 4, Replace});
  t->push_back({"append", 5, 4, Append});
  t->push_back({"prepend", 5, 4, Prepend});
  t->push_back({"cas", 6, 4, Cas});
  t->push_back({"delete", 2, -1, Delete});
  t->push_back({"incr", 3, -1, Incr});
  t->push_back({"decr", 3, -1, Decr});
  t->push_back({"touch", 3, -1, Touch});
  t->push_back({"flush_all", 1, -1, FlushAll});
  t->push_back({"version", 1, -1, Version});
  t->push_back({"verbosity", 2, -1, Verbosity});
  t->push_back({"quit", 1, -1, Quit});
}

}  // namespace strata::cache::memcache
