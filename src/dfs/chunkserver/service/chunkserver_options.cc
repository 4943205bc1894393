#include "dfs/chunkserver/service/chunkserver_options.h"

#include <set>
#include <thread>

namespace strata::dfs {

int DefaultRpcIoThreads() { return std::thread::hardware_concurrency() <= 2 ? 1 : 2; }

Status ChunkserverOptions::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(YAML::Node root, LoadYamlFile(path));
  if (!root.IsNull() && !root.IsMap()) return Status::InvalidArgument("config file " + path + ": expected a mapping");
  if (root.IsMap() && root["chunkserver"] && root["chunkserver"].IsNull()) return Status::Ok();  // empty section
  ConfigNode top(root, path);
  ASSIGN_OR_RETURN(ConfigNode section, top.Child("chunkserver"));
  return Load(section);
}

Status ChunkserverOptions::Load(ConfigNode& n) {
  RETURN_IF_ERROR(n.GetUint("heartbeat_interval_ms", &heartbeat_interval_ms));
  RETURN_IF_ERROR(n.GetUint("full_report_every", &full_report_every));
  RETURN_IF_ERROR(n.GetUint("master_rpc_timeout_ms", &master_rpc_timeout_ms));
  RETURN_IF_ERROR(n.GetBytes("replicate_bytes_per_sec_max", &replicate.bytes_per_sec_max));
  RETURN_IF_ERROR(n.GetUint("replicate_concurrent_max", &replicate.concurrent_max));
  RETURN_IF_ERROR(n.GetUint("replicate_queue_max", &replicate.queue_max));
  RETURN_IF_ERROR(n.GetBytes("replicate_piece_bytes", &replicate.piece_bytes));
  RETURN_IF_ERROR(n.GetUint("replicate_rpc_timeout_ms", &replicate.rpc_timeout_ms));
  RETURN_IF_ERROR(n.GetBytes("append_bytes_max", &store.append_bytes_max));
  RETURN_IF_ERROR(n.GetBytes("read_bytes_max", &store.read_bytes_max));
  RETURN_IF_ERROR(n.GetBytes("disk_reserve_bytes", &store.disk_reserve_bytes));
  RETURN_IF_ERROR(n.GetUint("rpc_worker_threads", &rpc_worker_threads));
  RETURN_IF_ERROR(n.GetUint("rpc_io_threads", &rpc_io_threads));
  RETURN_IF_ERROR(n.GetUint("rpc_connections_max", &rpc_connections_max));
  RETURN_IF_ERROR(n.GetUint("rpc_idle_timeout_ms", &rpc_idle_timeout_ms));
  RETURN_IF_ERROR(n.GetUint("rpc_frame_timeout_ms", &rpc_frame_timeout_ms));
  RETURN_IF_ERROR(n.GetBytes("rpc_frame_memory_bytes_max", &rpc_frame_memory_bytes_max));
  RETURN_IF_ERROR(n.GetUint("disk_hang_ms", &store.disk_hang_ms));
  RETURN_IF_ERROR(n.GetBytes("scrub_bytes_per_sec_max", &scrub.bytes_per_sec_max));
  RETURN_IF_ERROR(n.GetUint("scrub_pass_pause_ms", &scrub.pass_pause_ms));
  RETURN_IF_ERROR(n.GetUint("memory_flush_delay_ms_max", &store.memory.flush_delay_ms_max));
  RETURN_IF_ERROR(n.GetBytes("memory_dirty_bytes_max", &store.memory.dirty_bytes_max));
  RETURN_IF_ERROR(n.GetUint("memory_slow_flush_ms", &store.memory.slow_flush_ms));
  RETURN_IF_ERROR(n.GetUint("memory_flush_batch_ms", &store.memory.flush_batch_ms));
  RETURN_IF_ERROR(n.GetUint("disk_probe_interval_ms", &store.disk_probe_interval_ms));
  RETURN_IF_ERROR(n.GetUint("disk_online_probes", &store.disk_online_probes));
  RETURN_IF_ERROR(n.GetUint("disk_auto_online_max", &store.disk_auto_online_max));
  RETURN_IF_ERROR(n.GetBool("fault_injection", &fault_injection));
  return n.CheckNoUnknownKeys();
}

Status ChunkserverOptions::Validate() const {
  auto bad = [](const std::string& why) { return Status::InvalidArgument(why); };
  if (id.empty()) return bad("--id is required");
  if (store.disk_paths.empty()) return bad("at least one --disk DIR is required");
  std::set<std::string> seen(store.disk_paths.begin(), store.disk_paths.end());
  if (seen.size() != store.disk_paths.size()) return bad("a --disk directory is given twice");
  if (port < 0 || port > 65535 || http_port < 0 || http_port > 65535) return bad("ports must be in 0..65535");
  if (!master.empty() && master.find(':') == std::string::npos) return bad("--master must be HOST:PORT");
  if (heartbeat_interval_ms == 0) return bad("heartbeat_interval_ms must be > 0");
  if (full_report_every == 0) return bad("full_report_every must be > 0");
  if (replicate.concurrent_max == 0) return bad("replicate_concurrent_max must be > 0");
  if (replicate.piece_bytes == 0 || replicate.piece_bytes > (1u << 20)) {
    return bad("replicate_piece_bytes must be in 1..1M");
  }
  if (store.append_bytes_max == 0 || store.read_bytes_max < replicate.piece_bytes) {
    return bad("append_bytes_max must be > 0 and read_bytes_max >= replicate_piece_bytes");
  }
  if (rpc_worker_threads <= 0) return bad("rpc_worker_threads must be > 0");
  if (rpc_io_threads <= 0 || rpc_io_threads > 64) return bad("rpc_io_threads must be in 1..64");
  if (rpc_connections_max == 0 || rpc_frame_timeout_ms == 0) {
    return bad("rpc_connections_max and rpc_frame_timeout_ms must be > 0");
  }
  if (store.disk_hang_ms == 0) return bad("disk_hang_ms must be > 0");
  if (store.memory.flush_delay_ms_max == 0) return bad("memory_flush_delay_ms_max must be > 0");
  if (store.memory.slow_flush_ms == 0) return bad("memory_slow_flush_ms must be > 0");
  if (store.memory.flush_batch_ms >= store.memory.flush_delay_ms_max) {
    return bad("memory_flush_batch_ms must be < memory_flush_delay_ms_max");
  }
  if (store.memory.dirty_bytes_max < store.append_bytes_max) {
    return bad("memory_dirty_bytes_max must be >= append_bytes_max");
  }
  return Status::Ok();
}

}  // namespace strata::dfs
