// ChunkserverOptions: everything a chunkserver process is configured with,
// from command-line flags (identity, addresses, disks) and from the
// `chunkserver:` section of a YAML config file (limits and intervals; other
// top-level sections belong to other roles and are ignored here).
//
// Config keys (all optional; sizes accept 64K/1M/4G):
//   heartbeat_interval_ms        1000   used until the master says otherwise
//   full_report_every            30     every Nth heartbeat lists all replicas
//   master_rpc_timeout_ms        5000
//   replicate_bytes_per_sec_max  100M   all copies to this server together
//   replicate_concurrent_max     2      copies running at once
//   replicate_queue_max          256    copies waiting beyond those
//   replicate_piece_bytes        1M     per CHUNKSERVER_READ (at most 1M)
//   replicate_rpc_timeout_ms     10000
//   append_bytes_max             64M
//   read_bytes_max               64M
//   disk_reserve_bytes           64M    no new chunks on a disk with less free
//   rpc_worker_threads           16
//   rpc_io_threads               2      read requests; run small memory appends
//                                       (1 on a machine with 2 cores or fewer,
//                                       where a second one mostly costs thread
//                                       switches)
//   rpc_connections_max          4096   the RPC listener's bounds (docs/rpc.md,
//   rpc_idle_timeout_ms          600000 "Limits"): connections, idle time, one
//   rpc_frame_timeout_ms         60000  frame's arrival, and the memory of the
//   rpc_frame_memory_bytes_max   512M   frames read or served, all together
//   scrub_bytes_per_sec_max      8M     background re-verification; 0: off
//   scrub_pass_pause_ms          300000 between scrubber passes
//   memory_flush_delay_ms_max    30000  memory-durability appends are synced
//                                       within this, or the disk is failed and
//                                       the replicas reported to the master
//   memory_dirty_bytes_max       256M   per disk; beyond it memory appends are refused
//   memory_slow_flush_ms         2000   a disk whose flush takes longer refuses them
//   memory_flush_batch_ms        50     a flush round waits this long to cover a burst
//   disk_probe_interval_ms       1000   a 4 KiB write+fdatasync per disk, so every
//                                       disk reports latency; 0: no probes
//   disk_hang_ms                 30000  a disk whose probe has not finished by
//                                       then is failed as hung
//   disk_online_probes           3      a failed disk passing this many probes in
//                                       a row is verified and returns; 0: never
//                                       by itself (`strata cluster disk --online`)
//   disk_auto_online_max         3      automatic returns per disk per process;
//                                       a disk failing more often waits for the operator
//   fault_injection              false  serve CHUNKSERVER_DISK_FAULT (strata
//                                       debug disk-fault); `strata up` sets it
//
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "rpc/auth.h"
#include "dfs/chunkserver/service/scrubber.h"
#include "dfs/chunkserver/store/chunk_store.h"

namespace strata::dfs {

struct ReplicatorOptions {
  uint64_t bytes_per_sec_max = 100ull << 20;  // 0: unlimited
  uint32_t concurrent_max = 2;
  uint32_t queue_max = 256;
  uint64_t piece_bytes = 1ull << 20;
  uint32_t rpc_timeout_ms = 10000;
};

// The default of rpc_io_threads for this machine.
int DefaultRpcIoThreads();

struct ChunkserverOptions {
  std::string id;
  std::string master;  // host:port; empty: run without a master (tests)
  std::string host = "127.0.0.1";
  int port = 0;        // 0: any free port
  int http_port = 0;   // 0: any free port
  std::string rack = "default";
  std::shared_ptr<const rpc::RpcAuth> auth;  // the cluster secret (rpc/auth.h); null: authentication off
  ChunkStoreOptions store;  // store.disk_paths from --disk
  ReplicatorOptions replicate;
  ScrubberOptions scrub;
  uint32_t heartbeat_interval_ms = 1000;
  uint32_t full_report_every = 30;
  uint32_t master_rpc_timeout_ms = 5000;
  int rpc_worker_threads = 16;
  int rpc_io_threads = DefaultRpcIoThreads();
  uint32_t rpc_connections_max = 4096;
  uint32_t rpc_idle_timeout_ms = 600000;
  uint32_t rpc_frame_timeout_ms = 60000;
  uint64_t rpc_frame_memory_bytes_max = 512ull << 20;
  bool fault_injection = false;  // disks run on a FaultInjectingFileSystem

  // Reads the `chunkserver:` section of a YAML file; unknown keys in it are
  // an error naming the file and the key.
  Status LoadFile(const std::string& path);
  Status Load(ConfigNode& node);
  // Cross-checks flags and config; InvalidArgument with a readable reason.
  Status Validate() const;
};

}  // namespace strata::dfs
