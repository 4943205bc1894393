// Namespaces (Tair "areas"): the unit of isolation inside one cache server.
//
// Each namespace has a numeric id (the byte that prefixes every internal key
// and the number Redis clients SELECT), an optional name (a memcached key
// "<name>:<key>" goes to that namespace; every other memcached key to
// namespace 0), an engine (mem or persist), a memory quota and an ops/s
// limit. Ids 0..15 exist by default as mem namespaces, like Redis's 16
// databases; --namespace specs add to or override them.
//
// Spec syntax: "id=2,name=counters,engine=persist,quota=64M,ops=10000".
//
// Thread-safety: the table is built before serving and is read-only after;
// Namespace::Admit is thread-safe.
// Ownership: the table owns its namespaces; engines are borrowed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/engine/engine.h"
#include "cache/server/rate_limiter.h"
#include "common/result.h"
#include "env/clock.h"

namespace strata::cache {

struct NamespaceSpec {
  int id = 0;
  std::string name;
  std::string engine = "mem";
  uint64_t quota_bytes = 0;   // 0: bounded only by the server's memory
  uint64_t ops_per_sec = 0;   // 0: unlimited
};

Result<NamespaceSpec> ParseNamespaceSpec(std::string_view spec);

class Namespace {
 public:
  Namespace(NamespaceSpec spec, Engine* engine, const Clock* clock)
      : spec_(std::move(spec)), engine_(engine), limiter_(clock, spec_.ops_per_sec) {}
  int id() const { return spec_.id; }
  const NamespaceSpec& spec() const { return spec_; }
  Engine* engine() const { return engine_; }
  std::string DisplayName() const { return spec_.name.empty() ? std::to_string(spec_.id) : spec_.name; }
  // OK, or ResourceExhausted explaining which limit was hit.
  Status Admit(bool write);
  // False when the namespace has neither a quota nor an ops/s limit, so
  // Admit would always succeed (the per-request fast path skips it).
  bool limited() const { return spec_.quota_bytes > 0 || spec_.ops_per_sec > 0; }

 private:
  NamespaceSpec spec_;
  Engine* engine_;
  RateLimiter limiter_;
};

class NamespaceTable {
 public:
  static constexpr int kMaxNamespaces = 256;
  // `mem` is required; `persist` may be null when no spec asks for it.
  static Result<std::unique_ptr<NamespaceTable>> Create(const std::vector<NamespaceSpec>& specs, Engine* mem,
                                                         Engine* persist, const Clock* clock);
  Namespace* Get(int id) const { return id >= 0 && id < kMaxNamespaces ? by_id_[id].get() : nullptr; }
  // Namespace for a memcached key and the key with its prefix stripped.
  Namespace* ForMemcacheKey(std::string_view key, std::string_view* user_key) const;
  std::vector<Namespace*> All() const;

 private:
  std::unique_ptr<Namespace> by_id_[kMaxNamespaces];
  std::map<std::string, Namespace*, std::less<>> by_name_;
};

// Whether any spec asks for the persist engine.
bool NeedsPersist(const std::vector<NamespaceSpec>& specs);

}  // namespace strata::cache
