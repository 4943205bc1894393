// CacheCore: the state every connection of one cache server shares — the
// engines, the namespace table, hot keys, client and blocking registries,
// pub/sub, metrics and the few settings CONFIG GET/SET exposes. It is created once by
// CacheServer and handed to each connection by pointer; there is no global.
//
// Thread-safety: members are either immutable after construction, atomics, or
// internally synchronized (engines lock per shard, registries per mutex,
// settings under settings_mu).
// Ownership: owns engines and tables; borrows the clock and metrics registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cache/engine/mem_engine.h"
#include "cache/hotkeys/hot_keys.h"
#include "cache/server/command_stats.h"
#include "cache/scripting/script_engine.h"
#include "cache/server/keyspace_events.h"
#include "cache/server/namespaces.h"
#include "cache/server/pubsub.h"
#include "cache/server/registries.h"
#include "cache/server/transactions.h"
#include "common/metrics.h"
#include "env/clock.h"

namespace strata::cache {

struct CacheOptions {
  std::string host = "127.0.0.1";
  int port_resp = 6379;
  int port_memcache = 11211;
  int http_port = 0;
  uint64_t memory_bytes = 256ull << 20;
  int threads = 2;
  uint64_t poll_us = 0;              // busy polling before a worker sleeps (worker_loop.h)
  std::string data_dir;              // required by persist namespaces
  std::string password;              // AUTH; empty: no authentication
  uint64_t max_value_bytes = 64ull << 20;
  double growth_factor = 1.25;
  std::vector<NamespaceSpec> namespaces;
  uint32_t hotkeys_sample_every = 16;
  uint64_t max_connections = 10000;
  PubSubLimits pubsub_limits;         // client-output-buffer-limit pubsub (pubsub.h)
};

struct CacheMetrics {
  Counter* commands_resp;
  Counter* commands_memcache;
  Counter* errors;
  Counter* rejected_limit;
  Counter* connections_total;
  Gauge* connections;
  Counter* bytes_in;
  Counter* bytes_out;
  Histogram* command_latency;
  Counter* pubsub_messages;       // PUBLISH/SPUBLISH calls
  Counter* pubsub_disconnects;    // subscribers closed by the output-buffer limit
};

class CacheCore {
 public:
  CacheCore(const CacheOptions& options, const Clock* clock, MetricsRegistry* metrics);
  ~CacheCore();
  // Opens engines and builds the namespace table.
  Status Open();

  const CacheOptions& options() const { return options_; }
  const Clock* clock() const { return clock_; }
  int64_t NowMs() const { return static_cast<int64_t>(clock_->WallMicros() / 1000); }
  MemEngine* mem() const { return mem_.get(); }
  Engine* persist() const { return persist_.get(); }
  NamespaceTable* namespaces() const { return namespaces_.get(); }
  HotKeys* hotkeys() { return &hotkeys_; }
  ClientRegistry* clients() { return &clients_; }
  BlockingRegistry* blocking() { return &blocking_; }
  // MULTI/EXEC atomicity and WATCH (transactions.h).
  TxnLock* txn_lock() { return &txn_lock_; }
  WatchRegistry* watches() { return &watches_; }
  PubSubRegistry* pubsub() { return &pubsub_; }
  // INFO commandstats and keyspace hits/misses (command_stats.h).
  CommandStats* command_stats() { return &command_stats_; }
  // EVAL/EVALSHA/SCRIPT (script_engine.h).
  ScriptEngine* scripts() { return &scripts_; }
  MetricsRegistry* registry() const { return metrics_; }
  const CacheMetrics& metrics() const { return m_; }
  uint64_t NextClientId() { return next_client_id_.fetch_add(1); }
  uint64_t start_us() const { return start_us_; }  // monotonic (clock()->NowMicros())
  // LASTSAVE: Unix seconds of the last SAVE/BGSAVE, the start time before any.
  int64_t last_save_s() const { return last_save_s_.load(std::memory_order_relaxed); }
  void MarkSaved() { last_save_s_.store(static_cast<int64_t>(clock_->WallMicros() / 1'000'000), std::memory_order_relaxed); }

  // CONFIG GET/SET: settings are strings; Set validates and may refuse.
  std::map<std::string, std::string> ConfigMatching(const std::string& glob);
  Status ConfigSet(const std::string& name, const std::string& value);
  std::string password();
  // client-output-buffer-limit as CONFIG GET shows it, and CONFIG SET's parser
  // (Redis's "<class> <hard> <soft> <seconds>" groups; only pubsub applies).
  static std::string OutputLimitsSetting(const PubSubLimits& l);
  static Result<PubSubLimits> ParseOutputLimits(const std::string& value, PubSubLimits current);
  std::atomic<int> verbosity{0};
  // notify-keyspace-events as flags (keyspace_events.h); 0: no notifications.
  std::atomic<uint32_t> keyspace_events{0};
  // memcached "flush_all <delay>": items are flushed by the maintenance tick.
  std::atomic<int64_t> pending_flush_ms{0};

  // Background work (engine ticks, delayed flushes, gauges); bounded.
  void Tick();

 private:
  CacheOptions options_;
  const Clock* clock_;
  MetricsRegistry* metrics_;
  CacheMetrics m_;
  std::unique_ptr<MemEngine> mem_;
  std::unique_ptr<Engine> persist_;
  std::unique_ptr<NamespaceTable> namespaces_;
  HotKeys hotkeys_;
  ClientRegistry clients_;
  BlockingRegistry blocking_;
  TxnLock txn_lock_;
  WatchRegistry watches_;
  PubSubRegistry pubsub_;
  ScriptEngine scripts_;
  CommandStats command_stats_;
  KeyspaceRemovalNotifier removals_{&pubsub_, &keyspace_events};
  std::atomic<uint64_t> next_client_id_{1};
  uint64_t start_us_;
  std::atomic<int64_t> last_save_s_;
  std::mutex settings_mu_;
  std::map<std::string, std::string> settings_;  // GUARDED_BY(settings_mu_)
};

// Redis's glob matching (*, ?, [abc], [^a-z], \x), for KEYS/SCAN/CONFIG and
// pub/sub patterns.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace strata::cache
