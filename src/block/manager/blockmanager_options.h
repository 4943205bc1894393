// BlockManagerOptions: every tunable of the blockmanager, with defaults, and
// their loading from YAML. The keys are the field names, except that sizes
// drop their `_bytes` suffix and accept units (`segment_size: 16M`).
// Unknown keys are rejected so that a typo does not silently keep a default.
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/result.h"

namespace strata::block::manager {

struct BlockManagerOptions {
  // Default geometry of a new volume (DESIGN.md section 3); a create request
  // may override each field.
  uint32_t block_size = 4096;
  uint64_t segment_size_bytes = 32ull << 30;
  uint32_t segments_per_group = 4;
  uint64_t stripe_unit_bytes = 128ull << 10;

  // Volume limits.
  uint64_t volume_size_max_bytes = 64ull << 40;
  uint32_t volume_segments_max = 16384;  // segments of one volume
  uint32_t volumes_max = 10000;
  // Segments of all volumes; keeps a heartbeat answer (one server may own
  // them all) under the RPC frame limit.
  uint32_t segments_max = 32768;
  // Control-plane partitions a volume id hashes into (federation).
  uint32_t partitions = 16;

  // Blockserver membership and leases: a server heartbeats every
  // heartbeat_interval_ms and may serve its segments for lease_ms from the
  // moment it sent the heartbeat that was answered; one silent for
  // dead_after_ms (> lease_ms + heartbeat_interval_ms) is dead and its
  // segments move.
  uint64_t heartbeat_interval_ms = 500;
  uint64_t lease_ms = 3000;
  uint64_t dead_after_ms = 5000;

  // Logical failure domains (seed 002): every move spends one of a segment's
  // tokens, one comes back every refill period; a segment without tokens
  // may only move among the `failure_domain_servers` shared-domain servers.
  uint32_t failure_domain_tokens = 3;
  uint64_t failure_domain_refill_ms = 30ull * 60 * 1000;
  uint32_t failure_domain_servers = 3;

  // Deleting a volume's dfs directory (through the dfs master).
  uint32_t dfs_rpc_timeout_ms = 5000;
  uint64_t dfs_delete_retry_ms = 5000;
  uint32_t dfs_deletes_per_tick_max = 4;

  // /status lists at most this many segments.
  uint32_t status_segments_max = 10000;
  uint64_t tick_interval_ms = 200;

  // Reads `node`'s keys (a missing key keeps its default) and validates.
  Status Load(ConfigNode& node);
  Status Validate() const;
};

// Loads a YAML file: its top level, or its `blockmanager:` mapping when present.
Result<BlockManagerOptions> LoadBlockManagerOptions(const std::string& path);

}  // namespace strata::block::manager
