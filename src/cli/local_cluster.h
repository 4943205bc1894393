// LocalCluster: `strata up` — every role of a Strata cluster as processes on
// this machine, under one data directory, on free ports.
//
// Layout of DIR:
//   cluster.json        every endpoint and pid (the contract tests rely on)
//   cluster.yaml        the cluster's config (shape and role settings), saved
//                       by the first `up` and reused by every later one
//   cluster.secret      the secret every RPC connection proves (mode 0600;
//                       rpc/cluster_secret.h), made by the first `up`; each
//                       role but the cache gets --secret-file with it
//   master/             the master's metadata (RocksDB)
//   etcd<N>/, master<N>/ instead, with `ha` (`strata up --ha`): three etcd
//                       members holding the namespace and three masters on
//                       them (one leader, two standbys; docs/etcd.md)
//   cs<N>/disk<K>/      chunkserver N's disk directories
//   cache/              the cache server's persistent namespaces
//   blockmanager/       the blockmanager's metadata (RocksDB)
//   nbd.sock            the NBD gateway's unix socket
//   logs/<role>.log     each process's log
//   <role>.yaml         the config handed to each role
//
// The cluster shape comes from an optional YAML file (cli/config/local_cluster_config.h,
// docs/local_cluster.md):
// number of chunkservers, racks, disks per chunkserver, the block roles
// (`block:` enabled, blockservers, nbd_port), and a `master`, `chunkserver`,
// `cache`, `blockmanager` and `blockserver` section passed through to those
// roles. A later config may add roles (chunkservers, blockservers, the block
// layer, the cache) but not remove or move what holds data: CheckConfigChange.
//
// Roles are named master (etcd<N> and master<N> with `ha`), cs<N>,
// blockmanager, bs<N>, nbd and cache. Start on
// a directory whose cluster is partly running starts only the roles that are
// down, with the saved settings and on their recorded ports.
//
// Thread-safety: not thread-safe; used from main's thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/config/local_cluster_config.h"
#include "common/result.h"
#include "env/secure_random.h"
#include "rpc/auth.h"

namespace strata::cli {

// The config of the cluster in `dir`: DIR/cluster.yaml when there is one; for
// a directory from before cluster.yaml, the defaults shaped after its
// cluster.json; else (a new directory) the defaults.
Result<LocalClusterConfig> LoadSavedLocalClusterConfig(const std::string& dir);
// OK when a cluster in `dir` saved with `saved` may be started with `wanted`:
// chunkservers and blockservers may be added, the block layer and the cache
// turned on, and role settings changed; chunkservers, blockservers and the
// block layer are never removed, racks and disks per chunkserver stay, and a
// cache persist namespace stays (FailedPrecondition with the reason).
Status CheckConfigChange(const LocalClusterConfig& saved, const LocalClusterConfig& wanted, const std::string& dir);

class LocalCluster {
 public:
  // `random` makes the cluster secret (once); null: the system's.
  LocalCluster(std::string dir, LocalClusterConfig config, std::string strata_binary,
               std::shared_ptr<SecureRandom> random = nullptr);

  // Starts every role that is not running and waits until the master sees
  // every chunkserver. Writes DIR/cluster.json, and DIR/cluster.yaml once the
  // cluster is ready. Refuses a config CheckConfigChange refuses, and, while
  // any role runs, a config other than the saved one. On any failure the
  // roles it started are stopped again; running ones are left alone.
  Status Start(bool detach);
  // After Start: the roles it launched, and the ones it found running (both
  // in start order). Neither empty: a partial restart; none launched: the
  // cluster was already running.
  const std::vector<std::string>& started() const { return roles_; }
  const std::vector<std::string>& kept_running() const { return kept_; }
  // Stops the processes recorded in DIR/cluster.json, and any other strata
  // process holding a lock file under DIR (a role restarted by hand).
  static Status Stop(const std::string& dir);
  // Blocks until SIGINT/SIGTERM, then stops the cluster, roles it did not
  // start included (foreground mode).
  Status RunForeground();

  const nlohmann::json& cluster_json() const { return doc_; }

 private:
  Status Prepare();
  // The roles of previous_ that still run (a role restarted by hand is found
  // by the lock file it holds), by name.
  std::map<std::string, pid_t> RunningRoles() const;
  // The recorded pid of `role` if it runs, else 0 (and the role is launched).
  pid_t Running(const std::string& role) const;
  // Records running `role` as kept and copies its ports into doc_ (its
  // cluster.json entry is copied by the Start* function of the role).
  void Keep(const std::string& role);
  Result<int> Port(const std::string& key);
  // Launch: `strata ARGS --secret-file ...`; LaunchProgram: argv as given.
  Result<pid_t> Launch(const std::string& name, std::vector<std::string> args, bool detach);
  Result<pid_t> LaunchProgram(const std::string& name, std::vector<std::string> args, bool detach);
  Status StartRoles(bool detach);
  Status StartMaster(bool detach);
  Status StartEtcd(bool detach);
  Status StartHaMasters(bool detach);
  Status StartChunkservers(bool detach);
  Status StartCache(bool detach);
  Status StartBlockRoles(bool detach);
  Status StartNbd(bool detach, const std::string& manager);
  Status WaitReady();
  bool ChunkserverUp(const nlohmann::json& status) const;
  Status WaitBlockServers(std::chrono::steady_clock::time_point deadline,
                          const std::function<Status()>& check_alive);
  // Unavailable naming role `name` (as given to Launch) and quoting the last
  // line of its log.
  Status ExitedAtStartup(const std::string& name) const;
  Status WriteClusterFile();
  Status WriteSavedConfig() const;

  std::string dir_;
  LocalClusterConfig config_;
  std::string binary_;
  std::shared_ptr<SecureRandom> random_;
  std::shared_ptr<const rpc::RpcAuth> auth_;  // DIR/cluster.secret, loaded by Prepare
  nlohmann::json previous_;  // the last cluster.json, to keep the same ports
  std::optional<LocalClusterConfig> saved_;  // the config of an existing cluster
  std::map<std::string, pid_t> running_;     // roles found running, by name
  nlohmann::json doc_;
  std::vector<pid_t> pids_;
  std::vector<std::string> roles_;  // the name each of pids_ was launched as
  std::vector<std::string> kept_;   // the roles of running_ kept, in start order
  std::map<std::string, std::chrono::steady_clock::time_point> launched_at_;  // by role
};

}  // namespace strata::cli
