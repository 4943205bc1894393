// LocalCluster: `strata up` — every role of a Strata cluster as processes on
// this machine, under one data directory, on free ports.
//
// Layout of DIR:
//   cluster.json        every endpoint and pid (the contract tests rely on)
//   master/             the master's metadata (RocksDB)
//   cs<N>/disk<K>/      chunkserver N's disk directories
//   cache/              the cache server's persistent namespaces
//   logs/<role>.log     each process's log
//   <role>.yaml         the config handed to each role
//
// The cluster shape comes from an optional YAML file (see docs/local_cluster.md):
// number of chunkservers, racks, disks per chunkserver, and a `master`,
// `chunkserver` and `cache` section passed through to those roles.
//
// Thread-safety: not thread-safe; used from main's thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
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
  YAML::Node master_config;       // written to DIR/master.yaml
  YAML::Node chunkserver_config;  // written to DIR/chunkserver.yaml
  YAML::Node cache_config;        // extra keys for DIR/cache.yaml
};

Result<LocalClusterConfig> LoadLocalClusterConfig(const std::string& path);

class LocalCluster {
 public:
  LocalCluster(std::string dir, LocalClusterConfig config, std::string strata_binary);

  // Starts every role and waits until the master sees every chunkserver.
  // Writes DIR/cluster.json. Fails if a cluster already runs in DIR.
  Status Start(bool detach);
  // Stops the processes recorded in DIR/cluster.json.
  static Status Stop(const std::string& dir);
  // Blocks until SIGINT/SIGTERM, then stops everything (foreground mode).
  Status RunForeground();

  const nlohmann::json& cluster_json() const { return doc_; }

 private:
  Status Prepare();
  Result<int> Port(const std::string& key);
  Result<pid_t> Launch(const std::string& name, std::vector<std::string> args, bool detach);
  Status WaitReady();
  // Unavailable naming role `name` (as given to Launch) and quoting the last
  // line of its log.
  Status ExitedAtStartup(const std::string& name) const;
  Status WriteClusterFile();

  std::string dir_;
  LocalClusterConfig config_;
  std::string binary_;
  nlohmann::json previous_;  // the last cluster.json, to keep the same ports
  nlohmann::json doc_;
  std::vector<pid_t> pids_;
  std::vector<std::string> roles_;  // the name each of pids_ was launched as
};

}  // namespace strata::cli
