#include "dfs/master/master_options.h"

#include <algorithm>

namespace strata::dfs::master {

Status MasterOptions::Load(ConfigNode& n) {
  RETURN_IF_ERROR(n.GetString("meta_store", &meta_store));
  RETURN_IF_ERROR(n.GetString("etcd_endpoints", &etcd_endpoints));
  RETURN_IF_ERROR(n.GetString("etcd_key_prefix", &etcd_key_prefix));
  RETURN_IF_ERROR(n.GetUint("etcd_lease_ttl_seconds", &etcd_lease_ttl_seconds));
  RETURN_IF_ERROR(n.GetUint("etcd_request_timeout_ms", &etcd_request_timeout_ms));
  RETURN_IF_ERROR(n.GetUint("etcd_max_txn_ops", &etcd_max_txn_ops));
  RETURN_IF_ERROR(n.GetBytes("etcd_max_request_bytes", &etcd_max_request_bytes));
  RETURN_IF_ERROR(n.GetUint("default_replication", &default_replication));
  RETURN_IF_ERROR(n.GetUint("default_min_copies", &default_min_copies));
  RETURN_IF_ERROR(n.GetBytes("default_chunk_size", &default_chunk_size_bytes));
  RETURN_IF_ERROR(n.GetUint("replication_max", &replication_max));
  RETURN_IF_ERROR(n.GetBytes("chunk_size_min", &chunk_size_min_bytes));
  RETURN_IF_ERROR(n.GetBytes("chunk_size_max", &chunk_size_max_bytes));
  RETURN_IF_ERROR(n.GetUint("path_bytes_max", &path_bytes_max));
  RETURN_IF_ERROR(n.GetUint("name_bytes_max", &name_bytes_max));
  RETURN_IF_ERROR(n.GetUint("list_entries_max", &list_entries_max));
  RETURN_IF_ERROR(n.GetUint("heartbeat_interval_ms", &heartbeat_interval_ms));
  RETURN_IF_ERROR(n.GetUint("chunkserver_dead_after_ms", &chunkserver_dead_after_ms));
  RETURN_IF_ERROR(n.GetUint("writer_lease_ms", &writer_lease_ms));
  RETURN_IF_ERROR(n.GetUint("startup_grace_ms", &startup_grace_ms));
  RETURN_IF_ERROR(n.GetUint("startup_allocations_waiting_max", &startup_allocations_waiting_max));
  RETURN_IF_ERROR(n.GetBytes("disk_free_min", &disk_free_min_bytes));
  RETURN_IF_ERROR(n.GetBool("placement_rack_fallback", &placement_rack_fallback));
  RETURN_IF_ERROR(n.GetUint("recovery_copies_per_server_max", &recovery_copies_per_server_max));
  RETURN_IF_ERROR(n.GetBytes("recovery_bytes_per_sec_max", &recovery_bytes_per_sec_max));
  RETURN_IF_ERROR(n.GetBytes("recovery_bytes_per_sec_min", &recovery_bytes_per_sec_min));
  RETURN_IF_ERROR(n.GetUint("recovery_foreground_p99_target_us", &recovery_foreground_p99_target_us));
  RETURN_IF_ERROR(n.GetDouble("recovery_foreground_p99_tolerance", &recovery_foreground_p99_tolerance));
  RETURN_IF_ERROR(n.GetUint("recovery_copy_timeout_ms", &recovery_copy_timeout_ms));
  RETURN_IF_ERROR(n.GetUint("recovery_poll_interval_ms", &recovery_poll_interval_ms));
  RETURN_IF_ERROR(n.GetBool("balance_enabled", &balance_enabled));
  RETURN_IF_ERROR(n.GetUint("balance_moves_in_flight_max", &balance_moves_in_flight_max));
  RETURN_IF_ERROR(n.GetUint("balance_replicas_spread_min", &balance_replicas_spread_min));
  RETURN_IF_ERROR(n.GetDouble("balance_replicas_spread_fraction", &balance_replicas_spread_fraction));
  RETURN_IF_ERROR(n.GetDouble("balance_disk_use_spread_max", &balance_disk_use_spread_max));
  RETURN_IF_ERROR(n.GetUint("balance_chunk_cooldown_ms", &balance_chunk_cooldown_ms));
  RETURN_IF_ERROR(n.GetUint("recovery_storm_window_ms", &recovery_storm_window_ms));
  RETURN_IF_ERROR(n.GetUint("recovery_storm_servers_min", &recovery_storm_servers_min));
  RETURN_IF_ERROR(n.GetDouble("recovery_storm_fraction", &recovery_storm_fraction));
  RETURN_IF_ERROR(n.GetUint("recovery_storm_pause_ms", &recovery_storm_pause_ms));
  RETURN_IF_ERROR(n.GetBool("soft_fault_enabled", &soft_fault_enabled));
  RETURN_IF_ERROR(n.GetUint("soft_fault_latency_floor_us", &soft_fault_latency_floor_us));
  RETURN_IF_ERROR(n.GetDouble("soft_fault_mad_k", &soft_fault_mad_k));
  RETURN_IF_ERROR(n.GetUint("soft_fault_disks_min", &soft_fault_disks_min));
  RETURN_IF_ERROR(n.GetUint("soft_fault_servers_min", &soft_fault_servers_min));
  RETURN_IF_ERROR(n.GetUint("soft_fault_heartbeats_min", &soft_fault_heartbeats_min));
  RETURN_IF_ERROR(n.GetDouble("soft_fault_disks_fraction_max", &soft_fault_disks_fraction_max));
  RETURN_IF_ERROR(n.GetUint("seal_grace_ms", &seal_grace_ms));
  RETURN_IF_ERROR(n.GetUint("heartbeat_commands_max", &heartbeat_commands_max));
  RETURN_IF_ERROR(n.GetUint("server_command_queue_max", &server_command_queue_max));
  RETURN_IF_ERROR(n.GetUint("chunkserver_rpc_timeout_ms", &chunkserver_rpc_timeout_ms));
  RETURN_IF_ERROR(n.GetUint("rpc_connections_max", &rpc_connections_max));
  RETURN_IF_ERROR(n.GetUint("rpc_idle_timeout_ms", &rpc_idle_timeout_ms));
  RETURN_IF_ERROR(n.GetUint("rpc_frame_timeout_ms", &rpc_frame_timeout_ms));
  RETURN_IF_ERROR(n.GetBytes("rpc_frame_memory_bytes_max", &rpc_frame_memory_bytes_max));
  RETURN_IF_ERROR(n.GetUint("tick_interval_ms", &tick_interval_ms));
  RETURN_IF_ERROR(n.CheckNoUnknownKeys());
  return Validate();
}

Status MasterOptions::Validate() const {
  auto bad = [](const std::string& why) { return Status::InvalidArgument("master config: " + why); };
  if (meta_store != "rocksdb" && meta_store != "etcd") return bad("meta_store must be rocksdb or etcd");
  if (meta_store == "etcd") {
    if (EtcdStoreOptions(*this).endpoints.empty()) return bad("meta_store etcd needs etcd_endpoints");
    if (etcd_key_prefix.empty()) return bad("etcd_key_prefix must not be empty");
    if (etcd_lease_ttl_seconds < 1) return bad("etcd_lease_ttl_seconds must be >= 1");
    if (etcd_max_txn_ops < 8) return bad("etcd_max_txn_ops must be >= 8");
    if (etcd_max_request_bytes < 64 * 1024) return bad("etcd_max_request_bytes must be >= 64K");
    if (etcd_request_timeout_ms == 0 || etcd_request_timeout_ms >= etcd_lease_ttl_seconds * 1000) {
      return bad("etcd_request_timeout_ms must be > 0 and below the lease TTL");
    }
  }
  if (rpc_connections_max == 0 || rpc_frame_timeout_ms == 0) {
    return bad("rpc_connections_max and rpc_frame_timeout_ms must be > 0");
  }
  if (default_replication == 0 || default_replication > replication_max) {
    return bad("default_replication must be in [1, replication_max]");
  }
  if (default_min_copies == 0 || default_min_copies > default_replication) {
    return bad("default_min_copies must be in [1, default_replication]");
  }
  if (chunk_size_min_bytes == 0 || chunk_size_min_bytes > chunk_size_max_bytes) {
    return bad("chunk_size_min must be in [1, chunk_size_max]");
  }
  if (default_chunk_size_bytes < chunk_size_min_bytes || default_chunk_size_bytes > chunk_size_max_bytes) {
    return bad("default_chunk_size must be in [chunk_size_min, chunk_size_max]");
  }
  if (writer_lease_ms < 1000) return bad("writer_lease_ms must be at least 1000");
  if (heartbeat_interval_ms == 0 || chunkserver_dead_after_ms <= heartbeat_interval_ms) {
    return bad("chunkserver_dead_after_ms must exceed heartbeat_interval_ms (> 0)");
  }
  if (recovery_copies_per_server_max == 0) return bad("recovery_copies_per_server_max must be > 0");
  if (recovery_bytes_per_sec_max == 0) return bad("recovery_bytes_per_sec_max must be > 0");
  if (recovery_bytes_per_sec_min == 0) return bad("recovery_bytes_per_sec_min must be > 0");
  if (!(recovery_foreground_p99_tolerance >= 1.0)) return bad("recovery_foreground_p99_tolerance must be >= 1");
  if (soft_fault_servers_min < 3) return bad("soft_fault_servers_min must be >= 3 (a median of fewer tells nothing)");
  if (heartbeat_commands_max == 0 || server_command_queue_max == 0) return bad("command limits must be > 0");
  if (path_bytes_max == 0 || name_bytes_max == 0) return bad("path limits must be > 0");
  if (tick_interval_ms == 0) return bad("tick_interval_ms must be > 0");
  if (soft_fault_heartbeats_min == 0) return bad("soft_fault_heartbeats_min must be > 0");
  if (soft_fault_disks_fraction_max < 0 || soft_fault_disks_fraction_max > 1) {
    return bad("soft_fault_disks_fraction_max must be in [0, 1]");
  }
  if (recovery_storm_fraction < 0 || recovery_storm_fraction > 1) return bad("recovery_storm_fraction must be in [0, 1]");
  if (balance_replicas_spread_min < 2) return bad("balance_replicas_spread_min must be >= 2 (one move changes the spread by 2)");
  if (!(balance_replicas_spread_fraction >= 0) || !(balance_disk_use_spread_max > 0)) {
    return bad("balance_replicas_spread_fraction must be >= 0 and balance_disk_use_spread_max > 0");
  }
  return Status::Ok();
}

meta::EtcdMetaStoreOptions EtcdStoreOptions(const MasterOptions& o) {
  meta::EtcdMetaStoreOptions e;
  std::string item;
  for (size_t i = 0; i <= o.etcd_endpoints.size(); ++i) {
    if (i == o.etcd_endpoints.size() || o.etcd_endpoints[i] == ',') {
      if (!item.empty()) e.endpoints.push_back(item);
      item.clear();
    } else if (o.etcd_endpoints[i] != ' ') {
      item.push_back(o.etcd_endpoints[i]);
    }
  }
  e.key_prefix = o.etcd_key_prefix;
  e.request_timeout_ms = static_cast<int>(o.etcd_request_timeout_ms);
  e.connect_timeout_ms = static_cast<int>(std::min<uint32_t>(o.etcd_request_timeout_ms, 500));
  e.max_txn_ops = o.etcd_max_txn_ops;
  e.max_request_bytes = o.etcd_max_request_bytes;
  return e;
}

Result<MasterOptions> LoadMasterOptions(const std::string& path) {
  ASSIGN_OR_RETURN(YAML::Node doc, LoadYamlFile(path));
  if (doc.IsNull()) doc = YAML::Node(YAML::NodeType::Map);
  if (!doc.IsMap()) return Status::InvalidArgument("config file " + path + ": expected a mapping");
  MasterOptions options;
  if (doc["master"] && doc["master"].IsMap()) {
    ConfigNode node(doc["master"], path + ":master");
    RETURN_IF_ERROR(options.Load(node));
  } else {
    ConfigNode node(doc, path);
    RETURN_IF_ERROR(options.Load(node));
  }
  return options;
}

}  // namespace strata::dfs::master
