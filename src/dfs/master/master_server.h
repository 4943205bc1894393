// MasterServer: the running `strata master` process minus main(): opens the
// RocksDB metadata store under the data directory, serves MasterService over
// RPC, /metrics and /status over HTTP, and runs MasterService::Tick every
// `tick_interval_ms` on a background thread.
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
  MasterService* service() { return service_.get(); }

 private:
  void RegisterMethods();
  void TickLoop();

  MasterServerOptions options_;
  std::shared_ptr<Clock> clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<meta::MetaStore> store_;
  std::unique_ptr<rpc::RpcClient> client_;
  std::unique_ptr<ChunkserverStub> stub_;
  std::unique_ptr<MasterService> service_;
  std::unique_ptr<rpc::RpcServer> rpc_;
  std::unique_ptr<AdminHttpServer> http_;
  int rpc_port_ = 0;
  int http_port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace strata::dfs::master
