// memcached meta commands (mn, mg, ms, md, ma) with their common flags:
//   mg: v f c t s k O q T<ttl>      ms: F<flags> T<ttl> C<cas> M<mode> c k O q
//   md: C<cas> k O q                ma: D<delta> J<initial> N<ttl> M<mode> T<ttl> v c t k O q
// Return codes: HD (ok, no value), VA <len> (value follows), EN (miss),
// NF (not found), NS (not stored), EX (CAS mismatch), MN (end of pipeline).
// "q" suppresses the ordinary outcome (EN for mg, HD for ms/md/ma).
#include <limits>

#include "cache/protocol/memcache/memcache_handler.h"

namespace strata::cache::memcache {
namespace {

struct MetaFlags {
  std::string ret;           // flags echoed back: O, k, and requested values
  bool quiet = false;
  bool value = false;
  std::string_view opaque;
  bool want_key = false, want_flags = false, want_cas = false, want_ttl = false, want_size = false;
  bool has_ttl = false, has_cas = false, has_flags = false, has_vivify = false, has_initial = false, has_delta = false;
  int64_t ttl = 0, vivify_ttl = 0;
  uint64_t cas = 0, client_flags = 0, initial = 0, delta = 1;
  char mode = 0;
  bool bad = false;
};

MetaFlags ParseFlags(const std::vector<std::string_view>& tokens, size_t from) {
  MetaFlags f;
  for (size_t i = from; i < tokens.size(); i++) {
    std::string_view t = tokens[i];
    std::string_view arg = t.substr(1);
    switch (t[0]) {
      case 'q': f.quiet = true; break;
      case 'v': f.value = true; break;
      case 'k': f.want_key = true; break;
      case 'f': f.want_flags = true; break;
      case 'c': f.want_cas = true; break;
      case 't': f.want_ttl = true; break;
      case 's': f.want_size = true; break;
      case 'O': f.opaque = arg; break;
      case 'T': f.has_ttl = ParseI64(arg, &f.ttl); f.bad |= !f.has_ttl; break;
      case 'N': f.has_vivify = ParseI64(arg, &f.vivify_ttl); f.bad |= !f.has_vivify; break;
      case 'C': f.has_cas = ParseU64(arg, &f.cas); f.bad |= !f.has_cas; break;
      case 'F': f.has_flags = ParseU64(arg, &f.client_flags); f.bad |= !f.has_flags || f.client_flags > UINT32_MAX; break;
      case 'J': f.has_initial = ParseU64(arg, &f.initial); f.bad |= !f.has_initial; break;
      case 'D': f.has_delta = ParseU64(arg, &f.delta); f.bad |= !f.has_delta; break;
      case 'M': f.mode = arg.empty() ? 0 : arg[0]; break;
      case 'b': f.bad = true; break;  // base64 keys are not supported
      default: break;                 // other flags (h, l, u, I, E, P, L) are accepted and ignored
    }
  }
  return f;
}

// The flags echoed on a hit: requested values, then k and O.
std::string ReturnFlags(const MetaFlags& f, std::string_view key, const ItemView* v, int64_t now_ms) {
  std::string s;
  if (v) {
    if (f.want_flags) s += " f" + std::to_string(v->flags);
    if (f.want_cas) s += " c" + std::to_string(v->cas);
    if (f.want_ttl) s += " t" + std::to_string(v->expire_ms == 0 ? -1 : std::max<int64_t>(0, (v->expire_ms - now_ms + 999) / 1000));
    if (f.want_size) s += " s" + std::to_string(v->value.size());
  }
  if (f.want_key) s += " k" + std::string(key);
  if (!f.opaque.empty()) s += " O" + std::string(f.opaque);
  return s;
}

void Status(McRequest& r, const MetaFlags& f, std::string_view code, std::string_view key, bool nominal) {
  if (f.quiet && nominal) return;
  r.out->append(code);
  r.out->append(ReturnFlags(f, key, nullptr, 0));
  r.out->append("\r\n");
}

bool BadFlags(McRequest& r, const MetaFlags& f) {
  if (!f.bad) return false;
  r.out->append("CLIENT_ERROR bad command line format\r\n");
  return true;
}

void MetaNoop(McRequest& r) { r.out->append("MN\r\n"); }

void MetaGet(McRequest& r) {
  MetaFlags f = ParseFlags(r.tokens, 2);
  if (BadFlags(r, f)) return;
  std::string& key = r.h->key_buffer();
  Namespace* ns = r.h->Resolve(r, r.tokens[1], f.has_ttl, &key);
  if (!ns) return;
  r.h->counts().cmd_get++;
  Engine* e = ns->engine();
  KeyLock lock(e, key);
  ItemView v;
  if (!e->Find(key, &v) || v.type != ValueType::kString) {
    r.h->counts().get_misses++;
    if (!f.quiet) r.out->append("EN\r\n");
    return;
  }
  r.h->counts().get_hits++;
  if (f.has_ttl) {
    e->SetExpire(key, r.h->ExpireFrom(f.ttl));
    e->Find(key, &v);
  }
  std::string flags = ReturnFlags(f, r.tokens[1], &v, r.core->NowMs());
  if (f.value) {
    r.out->append("VA " + std::to_string(v.value.size()) + flags + "\r\n");
    r.out->append(v.value);
    r.out->append("\r\n");
  } else {
    r.out->append("HD" + flags + "\r\n");
  }
}

void MetaSet(McRequest& r) {
  MetaFlags f = ParseFlags(r.tokens, 3);
  if (BadFlags(r, f)) return;
  std::string& key = r.h->key_buffer();
  Namespace* ns = r.h->Resolve(r, r.tokens[1], true, &key);
  if (!ns) return;
  r.h->counts().cmd_set++;
  Engine* e = ns->engine();
  KeyLock lock(e, key);
  ItemView v;
  bool exists = e->Find(key, &v) && v.type == ValueType::kString;
  char mode = f.mode ? static_cast<char>(std::toupper(f.mode)) : 'S';
  if (f.has_cas && (!exists || v.cas != f.cas)) return Status(r, f, exists ? "EX" : "NF", r.tokens[1], false);
  if ((mode == 'E' && exists) || ((mode == 'R' || mode == 'A' || mode == 'P') && !exists)) {
    return Status(r, f, "NS", r.tokens[1], false);
  }
  if (mode != 'S' && mode != 'E' && mode != 'R' && mode != 'A' && mode != 'P') {
    r.out->append("CLIENT_ERROR invalid mode for ms\r\n");
    return;
  }
  std::string_view pieces[2] = {r.data, {}};
  size_t n = 1;
  if (mode == 'A' || mode == 'P') {
    pieces[0] = mode == 'A' ? v.value : r.data;
    pieces[1] = mode == 'A' ? r.data : v.value;
    n = 2;
  }
  uint32_t flags = f.has_flags ? static_cast<uint32_t>(f.client_flags) : (n == 2 ? v.flags : 0);
  int64_t expire = f.has_ttl ? r.h->ExpireFrom(f.ttl) : (n == 2 ? v.expire_ms : 0);
  auto res = e->PutString(key, std::span<const std::string_view>(pieces, n), flags, expire);
  if (!res.ok()) {
    r.out->append("SERVER_ERROR " + res.status().message() + "\r\n");
    return;
  }
  if (f.quiet) return;
  std::string ret = f.want_cas ? " c" + std::to_string(*res) : "";
  r.out->append("HD" + ret + ReturnFlags(f, r.tokens[1], nullptr, 0) + "\r\n");
}

void MetaDelete(McRequest& r) {
  MetaFlags f = ParseFlags(r.tokens, 2);
  if (BadFlags(r, f)) return;
  std::string& key = r.h->key_buffer();
  Namespace* ns = r.h->Resolve(r, r.tokens[1], true, &key);
  if (!ns) return;
  Engine* e = ns->engine();
  KeyLock lock(e, key);
  ItemView v;
  if (!e->Find(key, &v)) {
    r.h->counts().delete_misses++;
    return Status(r, f, "NF", r.tokens[1], false);
  }
  if (f.has_cas && v.cas != f.cas) return Status(r, f, "EX", r.tokens[1], false);
  e->Erase(key);
  r.h->counts().delete_hits++;
  Status(r, f, "HD", r.tokens[1], true);
}

void MetaArith(McRequest& r) {
  MetaFlags f = ParseFlags(r.tokens, 2);
  if (BadFlags(r, f)) return;
  char mode = f.mode ? static_cast<char>(std::toupper(f.mode)) : 'I';
  bool incr = mode == 'I' || mode == '+';
  if (!incr && mode != 'D' && mode != '-') {
    r.out->append("CLIENT_ERROR invalid mode for ma\r\n");
    return;
  }
  std::string& key = r.h->key_buffer();
  Namespace* ns = r.h->Resolve(r, r.tokens[1], true, &key);
  if (!ns) return;
  Engine* e = ns->engine();
  KeyLock lock(e, key);
  ItemView v;
  uint64_t cur;
  uint32_t flags = 0;
  int64_t expire = 0;
  if (!e->Find(key, &v) || v.type != ValueType::kString) {
    r.h->counts().incr_misses++;
    if (!f.has_vivify) return Status(r, f, "NF", r.tokens[1], false);
    cur = f.initial;  // autovivify: created with the initial value, no arithmetic
    expire = r.h->ExpireFrom(f.vivify_ttl);
  } else {
    if (f.has_cas && v.cas != f.cas) return Status(r, f, "EX", r.tokens[1], false);
    if (!ParseU64(v.value, &cur)) {
      r.out->append("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
      return;
    }
    r.h->counts().incr_hits++;
    cur = incr ? cur + f.delta : (f.delta > cur ? 0 : cur - f.delta);
    flags = v.flags;
    expire = v.expire_ms;
  }
  if (f.has_ttl) expire = r.h->ExpireFrom(f.ttl);
  std::string s = std::to_string(cur);
  std::string_view pieces[] = {s};
  auto res = e->PutString(key, pieces, flags, expire);
  if (!res.ok()) {
    r.out->append("SERVER_ERROR " + res.status().message() + "\r\n");
    return;
  }
  e->Find(key, &v);
  std::string ret = ReturnFlags(f, r.tokens[1], &v, r.core->NowMs());
  if (f.value) {
    r.out->append("VA " + std::to_string(s.size()) + ret + "\r\n" + s + "\r\n");
  } else if (!f.quiet) {
    r.out->append("HD" + ret + "\r\n");
  }
}

}  // namespace

void RegisterMetaCommands(std::vector<McCommandSpec>* t) {
  t->push_back({"mn", 1, -1, MetaNoop});
  t->push_back({"mg", 2, -1, MetaGet});
  t->push_back({"ms", 3, 2, MetaSet});
  t->push_back({"md", 2, -1, MetaDelete});
  t->push_back({"ma", 2, -1, MetaArith});
}

}  // namespace strata::cache::memcache
