// BlockServerOptions: everything a blockserver process is configured with:
// identity and addresses from flags, and the `blockserver:` section of a
// YAML file (other top-level sections belong to other roles).
//
// Config keys (all optional; sizes accept 16M etc.):
//   data_file_bytes_max     16M    a segment's data file is closed (sealed) at this size
//   checkpoint_bytes_min    64M    logged bytes before a closed file triggers an index checkpoint
//   append_bytes_max        1M     one group-committed dfs append
//   queue_bytes_max         64M    writes waiting per segment
//   compress                true   LZ4 for blocks that compress by an eighth or more
//   gc_live_fraction_max    0.5    a closed data file with less live data is rewritten
//   gc_busy_live_fraction_max 0.2  ... while clients write the segment: only below this
//   gc_busy_space_amp_max   2.0    ... or once its closed files hold this many times their live data
//   gc_interval_ms          1000   between garbage-collection passes
//   heartbeat_interval_ms   500    until the blockmanager says otherwise
//   manager_rpc_timeout_ms  2000
//   segment_open_threads    4      segments being recovered at once
//   read_cache_bytes        256M   closed data files' bytes kept in memory for reads (0: none)
//   rpc_worker_threads      64     reads served from the dfs at once (they block on it)
//   reopen_backoff_ms       1000   before a failed segment is opened again
//
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <string>

#include "block/server/segment.h"
#include "common/config.h"
#include "common/status.h"
#include "rpc/auth.h"

namespace strata::block {

struct BlockServerOptions {
  std::string id;
  std::string manager;  // blockmanager host:port
  std::string master;   // dfs master host:port
  std::shared_ptr<const rpc::RpcAuth> auth;  // the cluster secret (rpc/auth.h); null: authentication off
  std::string host = "127.0.0.1";
  int port = 0;
  int http_port = 0;  // -1: none

  SegmentOptions segment;  // size, block size and durability come per segment
  uint64_t gc_interval_ms = 1000;
  uint32_t heartbeat_interval_ms = 500;
  uint32_t manager_rpc_timeout_ms = 2000;
  uint32_t segment_open_threads = 4;
  int rpc_worker_threads = 64;
  uint64_t read_cache_bytes = 256ull << 20;
  uint64_t reopen_backoff_ms = 1000;

  Status LoadFile(const std::string& path);
  Status Load(ConfigNode& node);
  Status Validate() const;
};

}  // namespace strata::block
