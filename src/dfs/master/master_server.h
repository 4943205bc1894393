// MasterServer: the running `strata master` process minus main(): opens the
// RocksDB metadata store under the data directory, serves MasterService over
// RPC, /metrics and /status over HTTP, and runs MasterService::Tick every
// `tick_interval_ms` on a background thread.
//
// With `meta_store: etcd` (docs/etcd.md) the metadata is in etcd and several
// masters run, one leading: each campaigns with a LeaderElection whose
// candidate value is its RPC address. Only the leader has a MasterService:
// when it starts leading (term T) the tick thread loads the namespace from
// etcd into a new MasterService whose store is a LeaderMetaStore of term T,
// so every metadata write is conditional on still leading in T. When it
// stops leading (lease lost, a write fenced) the service is dropped at once
// and every RPC gets NotLeader; it loads afresh if it leads again. A standby
// answers every RPC NotLeader naming the leader ("leader=HOST:PORT", empty
// while none is elected); a leader still loading answers Unavailable.
//
// Thread-safety: Start/Stop from one thread. Ownership: owns everything it
// starts; the clock is shared.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/admin_http.h"
#include "common/metrics.h"
#include "common/result.h"
#include "dfs/master/master_options.h"
#include "dfs/master/master_service.h"
#include "meta/etcd_meta_store.h"
#include "meta/leader_election.h"
#include "meta/meta_store.h"
#include "rpc/client.h"
#include "rpc/server.h"

namespace strata::dfs::master {

struct MasterServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;       // 0: any free port
  int http_port = 0;  // 0: any free port; -1: no admin HTTP
  std::string data_dir;
  MasterOptions master;
  std::shared_ptr<const rpc::RpcAuth> auth;  // the cluster secret (rpc/auth.h); null: authentication off
};

class MasterServer {
 public:
  MasterServer(MasterServerOptions options, std::shared_ptr<Clock> clock);
  ~MasterServer();

  Status Start();
  void Stop();
  int rpc_port() const { return rpc_port_; }
  int http_port() const { return http_port_; }
  // The service while this master serves (always with RocksDB; while
  // leading and loaded on etcd), else null.
  MasterService* service();

  // What serves one term: its store (a LeaderMetaStore on etcd, null with
  // RocksDB) and the service loaded over it. RPCs hold a reference while
  // they run, so a term dropped on a step-down goes once they are done.
  struct Term {
    int64_t term = 0;
    std::unique_ptr<meta::MetaStore> store;
    std::unique_ptr<MasterService> service;
  };
  // The term serving now; NotLeader (standby) or Unavailable (leading, not
  // loaded yet) when there is none.
  Result<std::shared_ptr<Term>> Serving();
  // The serving term's status (MasterService::StatusJson) and, on etcd, its
  // "ha" object: role, addr, term, leader, etcd endpoints (the admin page's
  // /status and MASTER_CLUSTER_STATUS).
  nlohmann::json StatusJson();

 private:
  void RegisterMethods();
  void TickLoop();
  Status StartElection();
  // On the tick thread: loads a term that leads and is not loaded yet.
  void FollowElection();
  void DropTerm();

  MasterServerOptions options_;
  std::shared_ptr<Clock> clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<meta::MetaStore> store_;  // RocksDB; null on etcd
  std::unique_ptr<meta::EtcdMetaStore> etcd_;
  std::unique_ptr<rpc::RpcClient> client_;
  std::unique_ptr<ChunkserverStub> stub_;
  std::string advertised_;  // host:port, the election's candidate value

  std::mutex serving_mu_;
  std::shared_ptr<Term> serving_;  // GUARDED_BY(serving_mu_)
  std::unique_ptr<rpc::RpcServer> rpc_;
  std::unique_ptr<AdminHttpServer> http_;
  int rpc_port_ = 0;
  int http_port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread ticker_;
  // Last: stopped first, its callback touches the members above.
  std::unique_ptr<meta::LeaderElection> election_;
};

}  // namespace strata::dfs::master
