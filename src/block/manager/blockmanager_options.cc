#include "block/manager/blockmanager_options.h"

#include "block/manager/volume_geometry.h"

namespace strata::block::manager {

Status BlockManagerOptions::Load(ConfigNode& n) {
  RETURN_IF_ERROR(n.GetUint("block_size", &block_size));
  RETURN_IF_ERROR(n.GetBytes("segment_size", &segment_size_bytes));
  RETURN_IF_ERROR(n.GetUint("segments_per_group", &segments_per_group));
  RETURN_IF_ERROR(n.GetBytes("stripe_unit", &stripe_unit_bytes));
  RETURN_IF_ERROR(n.GetBytes("volume_size_max", &volume_size_max_bytes));
  RETURN_IF_ERROR(n.GetUint("volume_segments_max", &volume_segments_max));
  RETURN_IF_ERROR(n.GetUint("volumes_max", &volumes_max));
  RETURN_IF_ERROR(n.GetUint("segments_max", &segments_max));
  RETURN_IF_ERROR(n.GetUint("partitions", &partitions));
  RETURN_IF_ERROR(n.GetUint("heartbeat_interval_ms", &heartbeat_interval_ms));
  RETURN_IF_ERROR(n.GetUint("lease_ms", &lease_ms));
  RETURN_IF_ERROR(n.GetUint("dead_after_ms", &dead_after_ms));
  RETURN_IF_ERROR(n.GetUint("failure_domain_tokens", &failure_domain_tokens));
  RETURN_IF_ERROR(n.GetUint("failure_domain_refill_ms", &failure_domain_refill_ms));
  RETURN_IF_ERROR(n.GetUint("failure_domain_servers", &failure_domain_servers));
  RETURN_IF_ERROR(n.GetUint("dfs_rpc_timeout_ms", &dfs_rpc_timeout_ms));
  RETURN_IF_ERROR(n.GetUint("dfs_delete_retry_ms", &dfs_delete_retry_ms));
  RETURN_IF_ERROR(n.GetUint("dfs_deletes_per_tick_max", &dfs_deletes_per_tick_max));
  RETURN_IF_ERROR(n.GetUint("status_segments_max", &status_segments_max));
  RETURN_IF_ERROR(n.GetUint("tick_interval_ms", &tick_interval_ms));
  RETURN_IF_ERROR(n.CheckNoUnknownKeys());
  return Validate();
}

Status BlockManagerOptions::Validate() const {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("blockmanager config: " + why); };
  GeometryRecord g;
  g.set_block_size(block_size);
  g.set_segment_size_bytes(segment_size_bytes);
  g.set_segments_per_group(segments_per_group);
  g.set_stripe_unit_bytes(stripe_unit_bytes);
  if (Status st = ValidateGeometry(g); !st.ok()) return bad(st.message());
  if (volume_size_max_bytes < block_size || volume_size_max_bytes > kVolumeSizeLimitBytes) {
    return bad("volume_size_max must be in [one block, 1 EiB]");
  }
  if (volume_segments_max < segments_per_group) return bad("volume_segments_max must hold one segment group");
  if (volumes_max == 0) return bad("volumes_max must be > 0");
  if (segments_max < volume_segments_max) return bad("segments_max must be at least volume_segments_max");
  if (partitions == 0) return bad("partitions must be > 0");
  if (heartbeat_interval_ms == 0 || lease_ms == 0) return bad("heartbeat_interval_ms and lease_ms must be > 0");
  if (lease_ms <= heartbeat_interval_ms) return bad("lease_ms must exceed heartbeat_interval_ms");
  if (dead_after_ms <= lease_ms + heartbeat_interval_ms) {
    return bad("dead_after_ms must exceed lease_ms + heartbeat_interval_ms (a server is declared dead only after "
               "its lease has run out)");
  }
  if (failure_domain_tokens == 0) return bad("failure_domain_tokens must be > 0");
  if (failure_domain_refill_ms == 0) return bad("failure_domain_refill_ms must be > 0");
  if (failure_domain_servers == 0) return bad("failure_domain_servers must be > 0");
  if (dfs_rpc_timeout_ms == 0 || dfs_delete_retry_ms == 0 || dfs_deletes_per_tick_max == 0) {
    return bad("dfs_rpc_timeout_ms, dfs_delete_retry_ms and dfs_deletes_per_tick_max must be > 0");
  }
  if (tick_interval_ms == 0) return bad("tick_interval_ms must be > 0");
  return Status::Ok();
}

Result<BlockManagerOptions> LoadBlockManagerOptions(const std::string& path) {
  ASSIGN_OR_RETURN(YAML::Node doc, LoadYamlFile(path));
  if (doc.IsNull()) doc = YAML::Node(YAML::NodeType::Map);
  if (!doc.IsMap()) return Status::InvalidArgument("config file " + path + ": expected a mapping");
  BlockManagerOptions options;
  bool section = doc["blockmanager"] && doc["blockmanager"].IsMap();
  ConfigNode node(section ? doc["blockmanager"] : doc, section ? path + ":blockmanager" : path);
  RETURN_IF_ERROR(options.Load(node));
  return options;
}

}  // namespace strata::block::manager
