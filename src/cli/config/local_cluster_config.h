// LocalClusterConfig: the config of a local cluster (`strata up --config`,
// DIR/cluster.yaml; docs/local_cluster.md): its shape (chunkservers, racks,
// disks per chunkserver, the block roles, the cache) and the settings passed
// through to each role. Reading and writing the file only; what a change of
// config may do to an existing cluster is LocalCluster's (CheckConfigChange).
//
// Thread-safety: value types and pure functions; no shared state.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "common/result.h"

namespace strata::cli {

struct LocalClusterConfig {
  std::string host = "127.0.0.1";
  int chunkservers = 6;
  int racks = 3;
  int disks_per_chunkserver = 2;
  bool cache = true;
  std::string cache_memory = "256M";
  int cache_threads = 2;
  int ready_timeout_ms = 30000;
  // `strata up --ha` / `ha: true`: 3 etcd members and 3 masters on etcd (one
  // leader, two standbys; docs/etcd.md) instead of one master on RocksDB.
  bool ha = false;
  bool block = true;              // blockmanager, blockservers and the NBD gateway
  int blockservers = 3;
  int nbd_port = 10809;           // 0: any free port; taken when free, else any free port
  bool nbd_port_required = false; // `strata up --nbd-port`: a busy nbd_port is an error
  YAML::Node blockmanager_config; // written to DIR/blockmanager.yaml
  YAML::Node blockserver_config;  // written to DIR/blockserver.yaml
  YAML::Node master_config;       // written to DIR/master.yaml
  YAML::Node chunkserver_config;  // written to DIR/chunkserver.yaml
  YAML::Node cache_config;        // extra keys for DIR/cache.yaml
};

// Reads a cluster config file; an empty path gives the defaults.
Result<LocalClusterConfig> LoadLocalClusterConfig(const std::string& path);
// `config` in the form LoadLocalClusterConfig reads (what DIR/cluster.yaml
// holds). Equal text means equal configs.
std::string LocalClusterConfigYaml(const LocalClusterConfig& config);

}  // namespace strata::cli
