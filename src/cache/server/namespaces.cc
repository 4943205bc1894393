#include "cache/server/namespaces.h"

#include <charconv>

#include "common/config.h"

namespace strata::cache {

Result<NamespaceSpec> ParseNamespaceSpec(std::string_view spec) {
  NamespaceSpec out;
  bool has_id = false;
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view part = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) return Status::InvalidArgument("namespace spec: expected key=value, got '" + std::string(part) + "'");
    std::string key(part.substr(0, eq));
    std::string value(part.substr(eq + 1));
    if (key == "id") {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out.id);
      if (ec != std::errc() || p != value.data() + value.size() || out.id < 0 || out.id >= NamespaceTable::kMaxNamespaces) {
        return Status::InvalidArgument("namespace spec: id must be 0..255");
      }
      has_id = true;
    } else if (key == "name") {
      out.name = value;
    } else if (key == "engine") {
      if (value != "mem" && value != "persist") return Status::InvalidArgument("namespace spec: engine must be mem or persist");
      out.engine = value;
    } else if (key == "quota") {
      ASSIGN_OR_RETURN(out.quota_bytes, ParseByteSize(value));
    } else if (key == "ops") {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out.ops_per_sec);
      if (ec != std::errc() || p != value.data() + value.size()) return Status::InvalidArgument("namespace spec: ops must be a number");
    } else {
      return Status::InvalidArgument("namespace spec: unknown key '" + key + "'");
    }
  }
  if (!has_id) return Status::InvalidArgument("namespace spec: id is required");
  return out;
}

bool NeedsPersist(const std::vector<NamespaceSpec>& specs) {
  for (const auto& s : specs) {
    if (s.engine == "persist") return true;
  }
  return false;
}

Status Namespace::Admit(bool write) {
  if (!limiter_.TryAcquire()) {
    return Status::ResourceExhausted("namespace '" + DisplayName() + "' is over its limit of " +
                                     std::to_string(spec_.ops_per_sec) + " ops/s");
  }
  if (write && spec_.quota_bytes > 0 && engine_->NamespaceBytes(static_cast<uint8_t>(spec_.id)) >= spec_.quota_bytes) {
    return Status::ResourceExhausted("namespace '" + DisplayName() + "' is over its memory quota of " +
                                     std::to_string(spec_.quota_bytes) + " bytes");
  }
  return Status::Ok();
}

Result<std::unique_ptr<NamespaceTable>> NamespaceTable::Create(const std::vector<NamespaceSpec>& specs, Engine* mem,
                                                                Engine* persist, const Clock* clock) {
  auto table = std::make_unique<NamespaceTable>();
  for (int i = 0; i < 16; i++) {
    NamespaceSpec s;
    s.id = i;
    table->by_id_[i] = std::make_unique<Namespace>(s, mem, clock);
  }
  for (const auto& s : specs) {
    Engine* e = s.engine == "persist" ? persist : mem;
    if (e == nullptr) return Status::InvalidArgument("namespace " + std::to_string(s.id) + ": persist engine needs --data-dir");
    if (!s.name.empty() && table->by_name_.count(s.name)) return Status::InvalidArgument("duplicate namespace name " + s.name);
    table->by_id_[s.id] = std::make_unique<Namespace>(s, e, clock);
  }
  for (auto& ns : table->by_id_) {
    if (ns && !ns->spec().name.empty()) table->by_name_[ns->spec().name] = ns.get();
  }
  return table;
}

Namespace* NamespaceTable::ForMemcacheKey(std::string_view key, std::string_view* user_key) const {
  *user_key = key;
  if (!by_name_.empty()) {
    size_t colon = key.find(':');
    if (colon != std::string_view::npos) {
      auto it = by_name_.find(key.substr(0, colon));
      if (it != by_name_.end()) {
        *user_key = key.substr(colon + 1);
        return it->second;
      }
    }
  }
  return by_id_[0].get();
}

std::vector<Namespace*> NamespaceTable::All() const {
  std::vector<Namespace*> out;
  for (auto& ns : by_id_) {
    if (ns) out.push_back(ns.get());
  }
  return out;
}

}  // namespace strata::cache
