// BlockManagerServer: the running `strata blockmanager` process minus
// main(): opens the RocksDB metadata store under the data directory, a
// DfsClient to the dfs master (for deleting the data of deleted volumes),
// serves BlockManagerService over RPC and /metrics and /status over HTTP,
// and runs BlockManagerService::Tick every `tick_interval_ms` on a
// background thread.
//
// Thread-safety: Start/Stop from one thread. Ownership: owns everything it
// starts; the clock is shared.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "block/manager/blockmanager_options.h"
#include "block/manager/blockmanager_service.h"
#include "block/manager/volume_data_deleter.h"
#include "common/admin_http.h"
#include "common/metrics.h"
#include "common/result.h"
#include "dfs/client/dfs_client.h"
#include "meta/meta_store.h"
#include "rpc/server.h"

namespace strata::block::manager {

struct BlockManagerServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;       // 0: any free port
  int http_port = 0;  // 0: any free port; -1: no admin HTTP
  std::string data_dir;
  std::string dfs_master;  // host:port of the dfs master
  std::shared_ptr<const rpc::RpcAuth> auth;  // the cluster secret (rpc/auth.h); null: authentication off
  BlockManagerOptions manager;
};

class BlockManagerServer {
 public:
  BlockManagerServer(BlockManagerServerOptions options, std::shared_ptr<Clock> clock);
  ~BlockManagerServer();

  Status Start();
  void Stop();
  int rpc_port() const { return rpc_port_; }
  int http_port() const { return http_port_; }
  BlockManagerService* service() { return service_.get(); }

 private:
  void RegisterMethods();
  void TickLoop();

  BlockManagerServerOptions options_;
  std::shared_ptr<Clock> clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<meta::MetaStore> store_;
  std::unique_ptr<dfs::DfsClient> dfs_;
  std::unique_ptr<DfsVolumeDataDeleter> deleter_;
  std::unique_ptr<BlockManagerService> service_;
  std::unique_ptr<rpc::RpcServer> rpc_;
  std::unique_ptr<AdminHttpServer> http_;
  int rpc_port_ = 0;
  int http_port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace strata::block::manager
