#include "block/server/blockserver_options.h"

namespace strata::block {

Status BlockServerOptions::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(YAML::Node root, LoadYamlFile(path));
  if (!root.IsNull() && !root.IsMap()) return Status::InvalidArgument("config file " + path + ": expected a mapping");
  if (root.IsNull() || !root["blockserver"] || root["blockserver"].IsNull()) return Status::Ok();
  ConfigNode top(root, path);
  ASSIGN_OR_RETURN(ConfigNode section, top.Child("blockserver"));
  return Load(section);
}

Status BlockServerOptions::Load(ConfigNode& n) {
  RETURN_IF_ERROR(n.GetBytes("data_file_bytes_max", &segment.data_file_bytes_max));
  RETURN_IF_ERROR(n.GetBytes("checkpoint_bytes_min", &segment.checkpoint_bytes_min));
  RETURN_IF_ERROR(n.GetBytes("append_bytes_max", &segment.append_bytes_max));
  RETURN_IF_ERROR(n.GetBytes("queue_bytes_max", &segment.queue_bytes_max));
  RETURN_IF_ERROR(n.GetBool("compress", &segment.compress));
  RETURN_IF_ERROR(n.GetDouble("gc_live_fraction_max", &segment.gc_live_fraction_max));
  RETURN_IF_ERROR(n.GetDouble("gc_busy_live_fraction_max", &segment.gc_busy_live_fraction_max));
  RETURN_IF_ERROR(n.GetDouble("gc_busy_space_amp_max", &segment.gc_busy_space_amp_max));
  RETURN_IF_ERROR(n.GetUint("gc_interval_ms", &gc_interval_ms));
  RETURN_IF_ERROR(n.GetUint("heartbeat_interval_ms", &heartbeat_interval_ms));
  RETURN_IF_ERROR(n.GetUint("manager_rpc_timeout_ms", &manager_rpc_timeout_ms));
  RETURN_IF_ERROR(n.GetUint("segment_open_threads", &segment_open_threads));
  RETURN_IF_ERROR(n.GetUint("rpc_worker_threads", &rpc_worker_threads));
  RETURN_IF_ERROR(n.GetBytes("read_cache_bytes", &read_cache_bytes));
  RETURN_IF_ERROR(n.GetUint("reopen_backoff_ms", &reopen_backoff_ms));
  return n.CheckNoUnknownKeys();
}

Status BlockServerOptions::Validate() const {
  auto bad = [](const std::string& why) { return Status::InvalidArgument(why); };
  if (id.empty()) return bad("--id is required");
  if (manager.find(':') == std::string::npos) return bad("--manager must be HOST:PORT");
  if (master.find(':') == std::string::npos) return bad("--master must be HOST:PORT");
  if (segment.data_file_bytes_max < (1u << 20)) return bad("data_file_bytes_max must be at least 1M");
  if (segment.append_bytes_max < (256u << 10)) return bad("append_bytes_max must be at least 256K");
  if (segment.queue_bytes_max < segment.append_bytes_max) return bad("queue_bytes_max must be >= append_bytes_max");
  if (segment.gc_live_fraction_max < 0 || segment.gc_live_fraction_max > 0.95) {
    return bad("gc_live_fraction_max must be in 0..0.95");
  }
  if (!(segment.gc_busy_live_fraction_max >= 0 && segment.gc_busy_live_fraction_max <= segment.gc_live_fraction_max)) {
    return bad("gc_busy_live_fraction_max must be in 0..gc_live_fraction_max");
  }
  if (!(segment.gc_busy_space_amp_max >= 1.0 && segment.gc_busy_space_amp_max <= 100.0)) {
    return bad("gc_busy_space_amp_max must be in 1..100");
  }
  if (heartbeat_interval_ms == 0 || segment_open_threads == 0 || rpc_worker_threads <= 0) {
    return bad("heartbeat_interval_ms, segment_open_threads and rpc_worker_threads must be > 0");
  }
  return Status::Ok();
}

}  // namespace strata::block
