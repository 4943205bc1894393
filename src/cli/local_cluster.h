// LocalCluster: `strata up` — every role of a Strata cluster as processes on
// this machine, under one data directory, on free ports.
//
// Layout of DIR:
//   cluster.json        every endpoint and pid (the contract tests rely on)
//   master/             the master's metadata (RocksDB)
//   cs<N>/disk<K>/      chunkserver N's disk directories
//   cache/              the cache server's persistent namespaces
//   blockmanager/       the blockmanager's metadata (RocksDB)
//   nbd.sock            the NBD gateway's unix socket
//   logs/<role>.log     each process's log
//   <role>.yaml         the config handed to each role
//
// The cluster shape comes from an optional YAML file (see docs/local_cluster.md):
// number of chunkservers, racks, disks per chunkserver, the block roles
// (`block:` enabled, blockservers, nbd_port), and a `master`, `chunkserver`,
// `cache`, `blockmanager` and `blockserver` section passed through to those
// roles.
//
// Thread-safety: not thread-safe; used from main's thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
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

Result<LocalClusterConfig> LoadLocalClusterConfig(const std::string& path);

class LocalCluster {
 public:
  LocalCluster(std::string dir, LocalClusterConfig config, std::string strata_binary);

  // Starts every role and waits until the master sees every chunkserver.
  // Writes DIR/cluster.json. Fails if a cluster already runs in DIR; on
  // any failure the roles it started are stopped again.
  Status Start(bool detach);
  // Stops the processes recorded in DIR/cluster.json, and any other strata
  // process holding a lock file under DIR (a role restarted by hand).
  static Status Stop(const std::string& dir);
  // Blocks until SIGINT/SIGTERM, then stops everything (foreground mode).
  Status RunForeground();

  const nlohmann::json& cluster_json() const { return doc_; }

 private:
  Status Prepare();
  Result<int> Port(const std::string& key);
  Result<pid_t> Launch(const std::string& name, std::vector<std::string> args, bool detach);
  Status StartRoles(bool detach);
  Status StartBlockRoles(bool detach);
  Status WaitReady();
  Status WaitBlockServers(std::chrono::steady_clock::time_point deadline,
                          const std::function<Status()>& check_alive);
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
