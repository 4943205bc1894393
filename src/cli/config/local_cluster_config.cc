#include "cli/config/local_cluster_config.h"

#include <cstdint>
#include <vector>

#include "common/config.h"

namespace strata::cli {

namespace {

constexpr int64_t kChunkserversMax = 64;
constexpr int64_t kDisksPerChunkserverMax = 16;
constexpr int64_t kBlockserversMax = 64;
constexpr int64_t kCacheThreadsMax = 256;            // the cache's own limit
constexpr int64_t kReadyTimeoutMsMax = 86'400'000;   // a day
constexpr int64_t kPortMax = 65535;

// Reads the integer `key` of `node` into `out` when it lies in [min, max]; a
// value past an int is refused, never cut to its low bits.
Status GetIntIn(ConfigNode& node, const std::string& key, int64_t min, int64_t max, int* out) {
  int64_t v = *out;
  RETURN_IF_ERROR(node.GetInt(key, &v));
  if (v < min || v > max) {
    return Status::InvalidArgument(node.where() + ": " + key + " must be " + std::to_string(min) + ".." +
                                   std::to_string(max));
  }
  *out = static_cast<int>(v);
  return Status::Ok();
}

// Refuses a key or value anywhere in `root` that holds a carriage return:
// yaml-cpp writes one at the end of a plain scalar as it is, and before the
// next line break it reads back as part of that break, so the saved
// cluster.yaml would hold another config. (Lines ending in CR LF are line
// breaks, not part of any value.)
Status CheckNoCarriageReturn(const YAML::Node& root, const std::string& path) {
  std::vector<YAML::Node> pending = {root};
  while (!pending.empty()) {
    YAML::Node node = pending.back();
    pending.pop_back();
    if (node.IsScalar()) {
      if (node.Scalar().find('\r') != std::string::npos) {
        return Status::InvalidArgument(path + ": a carriage return (\\r) in the key or value '" +
                                       node.Scalar().substr(0, 64) + "'");
      }
    } else if (node.IsSequence()) {
      for (const auto& item : node) pending.push_back(item);
    } else if (node.IsMap()) {
      for (const auto& kv : node) {
        pending.push_back(kv.first);
        pending.push_back(kv.second);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<LocalClusterConfig> LoadLocalClusterConfig(const std::string& path) {
  LocalClusterConfig c;
  if (path.empty()) return c;
  ASSIGN_OR_RETURN(YAML::Node root, LoadYamlFile(path));
  if (root.IsNull()) return c;
  RETURN_IF_ERROR(CheckNoCarriageReturn(root, path));
  ConfigNode node(root, path);
  RETURN_IF_ERROR(GetIntIn(node, "chunkservers", 1, kChunkserversMax, &c.chunkservers));
  RETURN_IF_ERROR(GetIntIn(node, "racks", 1, c.chunkservers, &c.racks));
  RETURN_IF_ERROR(GetIntIn(node, "disks_per_chunkserver", 1, kDisksPerChunkserverMax, &c.disks_per_chunkserver));
  RETURN_IF_ERROR(GetIntIn(node, "ready_timeout_ms", 1, kReadyTimeoutMsMax, &c.ready_timeout_ms));
  RETURN_IF_ERROR(node.GetString("host", &c.host));
  RETURN_IF_ERROR(node.GetBool("ha", &c.ha));
  ASSIGN_OR_RETURN(ConfigNode cache, node.Child("cache"));
  RETURN_IF_ERROR(cache.GetBool("enabled", &c.cache));
  RETURN_IF_ERROR(cache.GetString("memory", &c.cache_memory));
  RETURN_IF_ERROR(GetIntIn(cache, "threads", 1, kCacheThreadsMax, &c.cache_threads));
  YAML::Node cache_rest = YAML::Clone(cache.node());
  for (const char* key : {"enabled", "memory", "threads"}) cache_rest.remove(key);
  c.cache_config = cache_rest;
  ASSIGN_OR_RETURN(ConfigNode block, node.Child("block"));
  RETURN_IF_ERROR(block.GetBool("enabled", &c.block));
  RETURN_IF_ERROR(GetIntIn(block, "blockservers", 1, kBlockserversMax, &c.blockservers));
  RETURN_IF_ERROR(GetIntIn(block, "nbd_port", 0, kPortMax, &c.nbd_port));
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
  if (c.ha) root["ha"] = true;  // absent in one-master clusters (their saved files stay as they were)
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
