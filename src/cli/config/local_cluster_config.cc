#include "cli/config/local_cluster_config.h"

#include "common/config.h"

namespace strata::cli {

Result<LocalClusterConfig> LoadLocalClusterConfig(const std::string& path) {
  LocalClusterConfig c;
  if (path.empty()) return c;
  ASSIGN_OR_RETURN(YAML::Node root, LoadYamlFile(path));
  if (root.IsNull()) return c;
  ConfigNode node(root, path);
  int64_t v = 0;
  v = c.chunkservers;
  RETURN_IF_ERROR(node.GetInt("chunkservers", &v));
  c.chunkservers = static_cast<int>(v);
  v = c.racks;
  RETURN_IF_ERROR(node.GetInt("racks", &v));
  c.racks = static_cast<int>(v);
  v = c.disks_per_chunkserver;
  RETURN_IF_ERROR(node.GetInt("disks_per_chunkserver", &v));
  c.disks_per_chunkserver = static_cast<int>(v);
  v = c.ready_timeout_ms;
  RETURN_IF_ERROR(node.GetInt("ready_timeout_ms", &v));
  c.ready_timeout_ms = static_cast<int>(v);
  RETURN_IF_ERROR(node.GetString("host", &c.host));
  ASSIGN_OR_RETURN(ConfigNode cache, node.Child("cache"));
  RETURN_IF_ERROR(cache.GetBool("enabled", &c.cache));
  RETURN_IF_ERROR(cache.GetString("memory", &c.cache_memory));
  v = c.cache_threads;
  RETURN_IF_ERROR(cache.GetInt("threads", &v));
  c.cache_threads = static_cast<int>(v);
  YAML::Node cache_rest = YAML::Clone(cache.node());
  for (const char* key : {"enabled", "memory", "threads"}) cache_rest.remove(key);
  c.cache_config = cache_rest;
  ASSIGN_OR_RETURN(ConfigNode block, node.Child("block"));
  RETURN_IF_ERROR(block.GetBool("enabled", &c.block));
  v = c.blockservers;
  RETURN_IF_ERROR(block.GetInt("blockservers", &v));
  c.blockservers = static_cast<int>(v);
  v = c.nbd_port;
  RETURN_IF_ERROR(block.GetInt("nbd_port", &v));
  c.nbd_port = static_cast<int>(v);
  RETURN_IF_ERROR(block.CheckNoUnknownKeys());
  ASSIGN_OR_RETURN(ConfigNode blockmanager, node.Child("blockmanager"));
  c.blockmanager_config = blockmanager.node();
  ASSIGN_OR_RETURN(ConfigNode blockserver, node.Child("blockserver"));
  c.blockserver_config = blockserver.node();
  ASSIGN_OR_RETURN(ConfigNode master, node.Child("master"));
  c.master_config = master.node();
  ASSIGN_OR_RETURN(ConfigNode chunkserver, node.Child("chunkserver"));
  c.chunkserver_config = chunkserver.node();
  RETURN_IF_ERROR(node.CheckNoUnknownKeys());
  if (c.chunkservers < 1 || c.chunkservers > 64) return Status::InvalidArgument(path + ": chunkservers must be 1..64");
  if (c.racks < 1 || c.racks > c.chunkservers) return Status::InvalidArgument(path + ": racks must be 1..chunkservers");
  if (c.disks_per_chunkserver < 1 || c.disks_per_chunkserver > 16) {
    return Status::InvalidArgument(path + ": disks_per_chunkserver must be 1..16");
  }
  if (c.blockservers < 1 || c.blockservers > 64) return Status::InvalidArgument(path + ": blockservers must be 1..64");
  if (c.nbd_port < 0 || c.nbd_port > 65535) return Status::InvalidArgument(path + ": nbd_port must be 0..65535");
  return c;
}

std::string LocalClusterConfigYaml(const LocalClusterConfig& c) {
  auto section = [](const YAML::Node& n) {
    return (n && n.IsMap()) ? YAML::Clone(n) : YAML::Node(YAML::NodeType::Map);
  };
  YAML::Node root(YAML::NodeType::Map);
  root["host"] = c.host;
  root["chunkservers"] = c.chunkservers;
  root["racks"] = c.racks;
  root["disks_per_chunkserver"] = c.disks_per_chunkserver;
  root["ready_timeout_ms"] = c.ready_timeout_ms;
  YAML::Node cache(YAML::NodeType::Map);
  cache["enabled"] = c.cache;
  cache["memory"] = c.cache_memory;
  cache["threads"] = c.cache_threads;
  for (const auto& kv : section(c.cache_config)) cache[kv.first] = kv.second;
  root["cache"] = cache;
  YAML::Node block(YAML::NodeType::Map);
  block["enabled"] = c.block;
  block["blockservers"] = c.blockservers;
  block["nbd_port"] = c.nbd_port;
  root["block"] = block;
  // Role sections only when they say something.
  for (const auto& [key, node] : {std::pair{"blockmanager", &c.blockmanager_config},
                                  {"blockserver", &c.blockserver_config},
                                  {"master", &c.master_config},
                                  {"chunkserver", &c.chunkserver_config}}) {
    YAML::Node settings = section(*node);
    if (settings.size() > 0) root[key] = settings;
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace strata::cli
