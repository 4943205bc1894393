// memcached "stats" and its groups: general, slabs, items, settings,
// hotkeys (Strata), reset.
#include <unistd.h>

#include "cache/protocol/memcache/memcache_handler.h"

namespace strata::cache::memcache {
namespace {

void Stat(std::string* out, std::string_view name, const std::string& value) {
  out->append("STAT ");
  out->append(name);
  out->push_back(' ');
  out->append(value);
  out->append("\r\n");
}
void Stat(std::string* out, std::string_view name, uint64_t value) { Stat(out, name, std::to_string(value)); }

void General(McRequest& r) {
  CacheCore* core = r.core;
  const McCounters& c = r.h->counters();
  nlohmann::json mem = core->mem()->Stats();
  uint64_t now_us = core->clock()->WallMicros();
  std::string* o = r.out;
  Stat(o, "pid", static_cast<uint64_t>(getpid()));
  Stat(o, "uptime", (core->clock()->NowMicros() - core->start_us()) / 1'000'000);
  Stat(o, "time", now_us / 1'000'000);
  Stat(o, "version", std::string("1.6.21-strata"));
  Stat(o, "pointer_size", uint64_t{64});
  Stat(o, "curr_connections", static_cast<uint64_t>(core->metrics().connections->Value()));
  Stat(o, "total_connections", core->metrics().connections_total->Value());
  Stat(o, "cmd_get", c.cmd_get->Value());
  Stat(o, "cmd_set", c.cmd_set->Value());
  Stat(o, "cmd_flush", c.cmd_flush->Value());
  Stat(o, "cmd_touch", c.cmd_touch->Value());
  Stat(o, "get_hits", c.get_hits->Value());
  Stat(o, "get_misses", c.get_misses->Value());
  Stat(o, "delete_hits", c.delete_hits->Value());
  Stat(o, "delete_misses", c.delete_misses->Value());
  Stat(o, "incr_hits", c.incr_hits->Value());
  Stat(o, "incr_misses", c.incr_misses->Value());
  Stat(o, "cas_hits", c.cas_hits->Value());
  Stat(o, "cas_misses", c.cas_misses->Value());
  Stat(o, "cas_badval", c.cas_badval->Value());
  Stat(o, "bytes_read", core->metrics().bytes_in->Value());
  Stat(o, "bytes_written", core->metrics().bytes_out->Value());
  Stat(o, "limit_maxbytes", core->options().memory_bytes);
  Stat(o, "threads", static_cast<uint64_t>(core->options().threads));
  Stat(o, "bytes", mem["used_bytes"].get<uint64_t>());
  Stat(o, "curr_items", mem["items"].get<uint64_t>());
  Stat(o, "evictions", mem["evictions"].get<uint64_t>());
  Stat(o, "expired_unfetched", mem["expired_reclaimed"].get<uint64_t>());
  Stat(o, "slab_pages_merged", mem["pages_merged"].get<uint64_t>());
  Stat(o, "slab_items_moved", mem["items_moved"].get<uint64_t>());
  Stat(o, "slab_reassign_pages", mem["pages_rebalanced"].get<uint64_t>());
  Stat(o, "rejected_by_limits", core->metrics().rejected_limit->Value());
}

void Slabs(McRequest& r) {
  uint64_t pages = 0;
  auto classes = r.core->mem()->ClassStatistics();
  for (const auto& c : classes) {
    std::string p = std::to_string(c.cls) + ":";
    Stat(r.out, p + "chunk_size", c.chunk_size);
    Stat(r.out, p + "chunks_per_page", c.per_page);
    Stat(r.out, p + "total_pages", c.pages);
    Stat(r.out, p + "total_chunks", c.pages * c.per_page);
    Stat(r.out, p + "used_chunks", c.used_chunks);
    Stat(r.out, p + "free_chunks", c.pages * c.per_page - c.used_chunks);
    pages += c.pages;
  }
  Stat(r.out, "active_slabs", static_cast<uint64_t>(classes.size()));
  Stat(r.out, "total_malloced", pages * kPageSize);
}

void Items(McRequest& r) {
  for (const auto& c : r.core->mem()->ClassStatistics()) {
    std::string p = "items:" + std::to_string(c.cls) + ":";
    Stat(r.out, p + "number", c.items);
    Stat(r.out, p + "evicted", c.evictions);
  }
}

void Settings(McRequest& r) {
  const CacheOptions& o = r.core->options();
  Stat(r.out, "maxbytes", o.memory_bytes);
  Stat(r.out, "maxconns", o.max_connections);
  Stat(r.out, "tcpport", static_cast<uint64_t>(o.port_memcache));
  Stat(r.out, "num_threads", static_cast<uint64_t>(o.threads));
  Stat(r.out, "growth_factor", std::to_string(o.growth_factor));
  Stat(r.out, "item_size_max", o.max_value_bytes);
  Stat(r.out, "slab_page_size", uint64_t{kPageSize});
  Stat(r.out, "evictions", std::string("on"));
}

void HotKeysStats(McRequest& r) {
  int rank = 0;
  for (const auto& h : r.core->hotkeys()->Top(10)) {
    Stat(r.out, "hotkey:" + std::to_string(rank++),
         "db=" + std::to_string(static_cast<uint8_t>(h.key[0])) + " key=" + h.key.substr(1) +
             " reads_per_sec=" + std::to_string(static_cast<uint64_t>(h.reads_per_sec)) +
             " writes_per_sec=" + std::to_string(static_cast<uint64_t>(h.writes_per_sec)) + " level=" + std::to_string(h.level));
  }
}

void Stats(McRequest& r) {
  std::string_view group = r.tokens.size() > 1 ? r.tokens[1] : "";
  if (group.empty()) General(r);
  else if (group == "slabs") Slabs(r);
  else if (group == "items") Items(r);
  else if (group == "settings") Settings(r);
  else if (group == "hotkeys") HotKeysStats(r);
  else if (group == "reset") return r.out->append("RESET\r\n"), void();
  else return r.out->append("ERROR\r\n"), void();
  r.out->append("END\r\n");
}

}  // namespace

void RegisterStatsCommands(std::vector<McCommandSpec>* t) { t->push_back({"stats", 1, -1, Stats}); }

}  // namespace strata::cache::memcache
