#include "cache/server/cache_core.h"

#include <cctype>
#include <charconv>
#include <filesystem>
#include <sstream>

#include "cache/engine/persist_engine.h"
#include "cache/server/keyspace_events.h"

namespace strata::cache {

CacheCore::CacheCore(const CacheOptions& options, const Clock* clock, MetricsRegistry* metrics)
    : options_(options),
      clock_(clock),
      metrics_(metrics),
      hotkeys_(clock, HotKeysOptions{.sample_every = options.hotkeys_sample_every}),
      pubsub_(clock, options.pubsub_limits),
      scripts_(clock),
      start_us_(clock->NowMicros()),
      last_save_s_(static_cast<int64_t>(clock->WallMicros() / 1'000'000)) {
  m_.commands_resp = metrics->GetCounter("strata_cache_commands_total", "Commands executed", "proto=\"resp\"");
  m_.commands_memcache = metrics->GetCounter("strata_cache_commands_total", "Commands executed", "proto=\"memcache\"");
  m_.errors = metrics->GetCounter("strata_cache_errors_total", "Error replies sent");
  m_.rejected_limit = metrics->GetCounter("strata_cache_rejected_total", "Requests refused by a namespace quota or ops/s limit");
  m_.connections_total = metrics->GetCounter("strata_cache_connections_total", "Connections accepted");
  m_.connections = metrics->GetGauge("strata_cache_connections", "Open connections");
  m_.bytes_in = metrics->GetCounter("strata_cache_net_input_bytes_total", "Bytes read from clients");
  m_.bytes_out = metrics->GetCounter("strata_cache_net_output_bytes_total", "Bytes written to clients");
  m_.command_latency = metrics->GetHistogram("strata_cache_batch_latency_us", "Time to execute one read batch of commands");
  m_.pubsub_messages = metrics->GetCounter("strata_cache_pubsub_messages_total", "PUBLISH and SPUBLISH calls");
  m_.pubsub_disconnects = metrics->GetCounter("strata_cache_pubsub_disconnects_total",
                                              "Subscribers closed for exceeding the pubsub output-buffer limit");
  settings_ = {
      {"maxmemory", std::to_string(options.memory_bytes)},
      {"maxmemory-policy", "allkeys-lru"},
      {"databases", "16"},
      {"requirepass", options.password},
      {"proto-max-bulk-len", std::to_string(options.max_value_bytes)},
      {"io-threads", std::to_string(options.threads)},
      {"port", std::to_string(options.port_resp)},
      {"bind", options.host},
      {"save", ""},
      {"appendonly", "no"},
      {"timeout", "0"},
      {"hz", "10"},
      {"maxclients", std::to_string(options.max_connections)},
      {"dir", options.data_dir},
      {"client-output-buffer-limit", OutputLimitsSetting(options.pubsub_limits)},
      {"notify-keyspace-events", ""},
      {"busy-reply-threshold", std::to_string(ScriptEngine::kDefaultBusyThresholdMs)},
      {"lua-time-limit", std::to_string(ScriptEngine::kDefaultBusyThresholdMs)},
  };
}

CacheCore::~CacheCore() {
  if (mem_) mem_->SetRemovalListener(nullptr);  // the listener goes first
}

// Redis's form: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432
// 8388608 60". Only the pubsub class means anything here (normal clients are
// bounded by the connection's pending-output pause, and there are no
// replicas); the others are shown with Redis's defaults.
std::string CacheCore::OutputLimitsSetting(const PubSubLimits& l) {
  return "normal 0 0 0 slave 268435456 67108864 60 pubsub " + FormatPubSubLimits(l);
}

// CONFIG SET client-output-buffer-limit "<class> <hard> <soft> <seconds>"...:
// the pubsub group replaces the limits; normal and replica groups are
// checked and accepted.
Result<PubSubLimits> CacheCore::ParseOutputLimits(const std::string& value, PubSubLimits current) {
  std::istringstream in(value);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.empty() || words.size() % 4 != 0) return Status::InvalidArgument("Wrong number of arguments in buffer limit configuration.");
  for (size_t i = 0; i < words.size(); i += 4) {
    std::string cls = words[i];
    for (char& c : cls) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (cls != "normal" && cls != "slave" && cls != "replica" && cls != "pubsub") {
      return Status::InvalidArgument("Invalid client class specified in buffer limit configuration.");
    }
    auto l = ParsePubSubLimits(words[i + 1] + " " + words[i + 2] + " " + words[i + 3]);
    if (!l.ok()) return Status::InvalidArgument("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
    if (cls == "pubsub") current = *l;
  }
  return current;
}

Status CacheCore::Open() {
  MemEngineOptions mo;
  mo.memory_bytes = options_.memory_bytes;
  mo.growth_factor = options_.growth_factor;
  // About four shards per worker keeps lock collisions rare while limiting
  // the partially filled pages every shard keeps per size class.
  mo.shards = 4 * options_.threads;
  ASSIGN_OR_RETURN(mem_, MemEngine::Create(mo, clock_));
  mem_->SetRemovalListener(&removals_);
  if (NeedsPersist(options_.namespaces)) {
    if (options_.data_dir.empty()) return Status::InvalidArgument("persist namespaces need --data-dir");
    // As the master does: a fresh --data-dir (e.g. DIR/cache of `strata up`) is created.
    std::error_code ec;
    std::filesystem::create_directories(options_.data_dir, ec);
    if (ec) return Status::IoError("create data dir " + options_.data_dir + ": " + ec.message());
    ASSIGN_OR_RETURN(auto p, PersistEngine::Open(options_.data_dir + "/persist", clock_));
    persist_ = std::move(p);
  }
  ASSIGN_OR_RETURN(namespaces_, NamespaceTable::Create(options_.namespaces, mem_.get(), persist_.get(), clock_));
  return Status::Ok();
}

std::map<std::string, std::string> CacheCore::ConfigMatching(const std::string& glob) {
  std::lock_guard<std::mutex> lock(settings_mu_);
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : settings_) {
    if (GlobMatch(glob, k)) out[k] = v;
  }
  return out;
}

Status CacheCore::ConfigSet(const std::string& name, const std::string& value) {
  std::lock_guard<std::mutex> lock(settings_mu_);
  auto it = settings_.find(name);
  if (it == settings_.end()) return Status::InvalidArgument("Unknown option or number of arguments for CONFIG SET - '" + name + "'");
  // Only settings that can change at run time are writable; the memory limit
  // is fixed when the arena is reserved.
  if (name == "requirepass" || name == "timeout" || name == "hz") {
    it->second = value;
    return Status::Ok();
  }
  if (name == "maxmemory-policy" && value == "allkeys-lru") return Status::Ok();
  if (name == "busy-reply-threshold" || name == "lua-time-limit") {
    // Two names of one setting, as in Redis 7.
    int64_t ms = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec != std::errc() || p != value.data() + value.size() || ms < 0) {
      return Status::InvalidArgument("CONFIG SET failed (possibly related to argument '" + name +
                                     "') - argument couldn't be parsed into an integer");
    }
    scripts_.set_busy_threshold_ms(ms);
    settings_["busy-reply-threshold"] = settings_["lua-time-limit"] = std::to_string(ms);
    return Status::Ok();
  }
  if (name == "notify-keyspace-events") {
    auto flags = ParseKeyspaceEvents(value);
    if (!flags.ok()) {
      return Status::InvalidArgument("CONFIG SET failed (possibly related to argument '" + name + "') - " +
                                     flags.status().message());
    }
    keyspace_events.store(*flags);
    it->second = FormatKeyspaceEvents(*flags);
    return Status::Ok();
  }
  if (name == "client-output-buffer-limit") {
    auto l = ParseOutputLimits(value, pubsub_.limits());
    if (!l.ok()) {
      return Status::InvalidArgument("CONFIG SET failed (possibly related to argument '" + name + "') - " +
                                     l.status().message());
    }
    pubsub_.set_limits(*l);
    it->second = OutputLimitsSetting(*l);
    return Status::Ok();
  }
  return Status::InvalidArgument("CONFIG SET failed (possibly related to argument '" + name + "') - can't set immutable config");
}

std::string CacheCore::password() {
  std::lock_guard<std::mutex> lock(settings_mu_);
  return settings_["requirepass"];
}

void CacheCore::Tick() {
  mem_->Tick();
  if (persist_) persist_->Tick();
  int64_t flush_at = pending_flush_ms.load();
  if (flush_at != 0 && flush_at <= NowMs() && pending_flush_ms.compare_exchange_strong(flush_at, 0)) {
    SharedTxnGuard txn(&txn_lock_);  // a flush never lands inside an EXEC
    txn.Acquire();
    mem_->Flush(0);
    watches_.TouchNamespace(0);
  }
}

// Redis's stringmatchlen (util.c), case-sensitive: an empty text matches only
// the empty pattern (KEYS and SCAN take "*" as "everything" before matching,
// as Redis does), and "x-y" inside a class is a range even when y is ']'.
bool GlobMatch(std::string_view p, std::string_view s) {
  if (s.empty()) return p.empty();
  size_t pi = 0, si = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  // Iterative matcher with single-star backtracking; classes handled inline.
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star_p = pi++;
      star_s = si;
      continue;
    }
    bool ok = false;
    size_t next = pi + 1;
    if (pi < p.size()) {
      char c = p[pi];
      if (c == '?') {
        ok = true;
      } else if (c == '[') {
        size_t j = pi + 1;
        bool neg = j < p.size() && p[j] == '^';
        if (neg) j++;
        bool match = false;
        while (j < p.size() && p[j] != ']') {
          if (p[j] == '\\' && j + 1 < p.size()) {
            j++;
            match |= p[j] == s[si];
          } else if (j + 2 < p.size() && p[j + 1] == '-') {
            char lo = std::min(p[j], p[j + 2]), hi = std::max(p[j], p[j + 2]);
            match |= s[si] >= lo && s[si] <= hi;
            j += 2;
          } else {
            match |= p[j] == s[si];
          }
          j++;
        }
        ok = neg ? !match : match;
        next = j < p.size() ? j + 1 : j;
      } else if (c == '\\' && pi + 1 < p.size()) {
        ok = p[pi + 1] == s[si];
        next = pi + 2;
      } else {
        ok = c == s[si];
      }
    }
    if (ok) {
      pi = next;
      si++;
    } else if (star_p != std::string_view::npos) {
      pi = star_p + 1;
      si = ++star_s;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') pi++;
  return pi == p.size();
}

}  // namespace strata::cache
