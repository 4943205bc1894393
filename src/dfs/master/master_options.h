// MasterOptions: every tunable of the dfs master, with defaults, and their
// loading from YAML (the keys are the field names; sizes accept 64M etc.).
// Unknown keys are rejected so that a typo does not silently keep a default.
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/result.h"
#include "meta/etcd_meta_store.h"

namespace strata::dfs::master {

struct MasterOptions {
  // Metadata store: "rocksdb" (DATA_DIR/meta, one master: the default) or
  // "etcd" (several masters, one leader elected on an etcd lease, standbys
  // redirecting to it: docs/etcd.md).
  std::string meta_store = "rocksdb";
  std::string etcd_endpoints;  // comma-separated client URLs, e.g. "http://10.0.0.1:2379,..."
  std::string etcd_key_prefix = "strata/master/";  // every key of this cluster's masters
  uint32_t etcd_lease_ttl_seconds = 3;             // a dead leader is replaced after about this long
  uint32_t etcd_request_timeout_ms = 1000;         // per etcd request; below the lease TTL
  // etcd's --max-txn-ops and --max-request-bytes: a batch above either is
  // refused whole (never split). Raise them together with etcd's flags
  // (`strata up --ha` does: 4096 and 8 MiB).
  uint32_t etcd_max_txn_ops = 128;
  uint64_t etcd_max_request_bytes = 1536 * 1024;

  // File defaults and limits.
  uint32_t default_replication = 3;
  uint32_t default_min_copies = 2;
  uint64_t default_chunk_size_bytes = 64ull << 20;
  uint32_t replication_max = 16;
  uint64_t chunk_size_min_bytes = 4096;
  uint64_t chunk_size_max_bytes = 4ull << 30;
  uint32_t path_bytes_max = 4096;
  uint32_t name_bytes_max = 255;
  uint32_t list_entries_max = 100000;

  // Membership.
  uint64_t heartbeat_interval_ms = 1000;
  uint64_t chunkserver_dead_after_ms = 10000;
  // Writers: a writer silent for this long (no master call, no renewal) is
  // presumed gone and its open chunk is sealed.
  uint64_t writer_lease_ms = 60000;
  // Startup (membership.h, master_write_path.cc): for this long after the
  // master starts, known chunkservers that have not registered again are not
  // declared dead (whatever chunkserver_dead_after_ms says), and an
  // allocation that cannot be placed yet waits for registrations (at most
  // half its caller's timeout) instead of failing; at most
  // `startup_allocations_waiting_max` wait at once, the others are told to
  // retry.
  uint64_t startup_grace_ms = 10000;
  uint32_t startup_allocations_waiting_max = 4;

  // Placement.
  uint64_t disk_free_min_bytes = 0;   // kept free beyond the chunk size
  bool placement_rack_fallback = true;  // fewer racks than replicas: reuse racks

  // Recovery and garbage collection.
  uint32_t recovery_copies_per_server_max = 2;  // as source and as target
  uint64_t recovery_bytes_per_sec_max = 100ull << 20;
  // Adaptive recovery (recovery_throttle.h): the rate falls towards this
  // floor (capped at the max) as foreground write latency rises.
  uint64_t recovery_bytes_per_sec_min = 10ull << 20;
  uint64_t recovery_foreground_p99_target_us = 0;  // 0: tolerance x learned baseline
  double recovery_foreground_p99_tolerance = 2.0;
  uint64_t recovery_copy_timeout_ms = 60000;
  uint64_t recovery_poll_interval_ms = 1000;  // ask copy targets whether they are done
  // The balancer (balancer.h): while nothing is under-replicated, replicas
  // move from the fullest servers to the emptiest, drawing on the recovery
  // budget and copy limits, at most `balance_moves_in_flight_max` at once.
  bool balance_enabled = true;
  uint32_t balance_moves_in_flight_max = 4;
  uint32_t balance_replicas_spread_min = 10;       // replicas between fullest and emptiest
  double balance_replicas_spread_fraction = 0.05;  // ... and this fraction of the mean
  double balance_disk_use_spread_max = 0.10;       // used fraction of capacity between them
  uint64_t balance_chunk_cooldown_ms = 600000;     // a moved chunk stays put this long
  // Bounded automatic recovery (storm_guard.h); servers_min 0 disables it.
  uint64_t recovery_storm_window_ms = 60000;
  uint32_t recovery_storm_servers_min = 3;
  double recovery_storm_fraction = 0.2;
  uint64_t recovery_storm_pause_ms = 600000;
  // Fail-slow disks (soft_fault.h) and chunkservers (slow_server.h).
  bool soft_fault_enabled = true;
  uint64_t soft_fault_latency_floor_us = 50000;
  double soft_fault_mad_k = 6.0;
  uint32_t soft_fault_disks_min = 5;
  uint32_t soft_fault_servers_min = 4;
  uint32_t soft_fault_heartbeats_min = 5;
  double soft_fault_disks_fraction_max = 0.01;
  uint64_t seal_grace_ms = 10000;  // a replica shorter than a fresh seal may still catch up
  uint32_t heartbeat_commands_max = 256;
  uint32_t server_command_queue_max = 4096;

  // Calls to chunkservers (sealing a takeover's open chunk).
  uint32_t chunkserver_rpc_timeout_ms = 3000;
  // The RPC listener's bounds (docs/rpc.md, "Limits").
  uint32_t rpc_connections_max = 4096;
  uint32_t rpc_idle_timeout_ms = 600000;
  uint32_t rpc_frame_timeout_ms = 60000;
  uint64_t rpc_frame_memory_bytes_max = 512ull << 20;
  uint64_t tick_interval_ms = 200;

  // Reads `node`'s keys (a missing key keeps its default) and validates.
  Status Load(ConfigNode& node);
  Status Validate() const;
};

// The etcd store options of `o` (meaningful when o.meta_store is "etcd").
meta::EtcdMetaStoreOptions EtcdStoreOptions(const MasterOptions& o);

// Loads a YAML file: its top level, or its `master:` mapping when present.
Result<MasterOptions> LoadMasterOptions(const std::string& path);

}  // namespace strata::dfs::master
