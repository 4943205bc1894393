// Chunkserver: one chunkserver process's parts put together — the chunk store
// over its disks, the RPC service, the replicator, the link to the master and
// the background scrubber and the admin HTTP endpoint (/metrics, /status).
// Corruption found anywhere in the store is reported to the master.
//
// Start() opens the store (claiming every disk: it fails, having changed
// nothing, if another process serves one; then loading and recovering every
// replica), binds the
// RPC and HTTP ports, then starts the master link; Stop() takes them down in
// reverse order. /status is a JSON object: id, addr, http_addr, rack, master,
// registered, chunks, copies_in_flight and disks (index, path, disk_id,
// cluster_id (disk_identity.h), failed,
// failure, capacity/free/used bytes, chunks, memory_unsynced_bytes: memory-
// durability bytes not yet flushed, fault: the injected fault).
// With `fault_injection` the store runs on a FaultInjectingFileSystem that
// the admin RPC CHUNKSERVER_DISK_FAULT controls (disk_fault_control.h).
//
// Thread-safety: Start/Stop from one thread; everything else is thread-safe.
// Ownership: owns all its parts; shares the FileSystem and Clock.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/admin_http.h"
#include "common/metrics.h"
#include "dfs/chunkserver/service/chunkserver_options.h"
#include "dfs/chunkserver/service/disk_fault_control.h"
#include "dfs/chunkserver/service/master_link.h"
#include "dfs/chunkserver/service/replicator.h"
#include "dfs/chunkserver/service/scrubber.h"
#include "dfs/chunkserver/store/chunk_store.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "rpc/client.h"
#include "rpc/server.h"

namespace strata::dfs {

class Chunkserver {
 public:
  // REQUIRES: options.Validate() is OK.
  static Result<std::unique_ptr<Chunkserver>> Start(ChunkserverOptions options, std::shared_ptr<FileSystem> fs,
                                                    std::shared_ptr<Clock> clock);
  ~Chunkserver();
  void Stop();

  const std::string& addr() const { return addr_; }
  const std::string& http_addr() const { return http_addr_; }
  int rpc_port() const { return rpc_port_; }
  int http_port() const { return http_port_; }
  ChunkStore* store() { return store_.get(); }
  DiskFaultControl* fault_control() { return fault_control_.get(); }
  MetricsRegistry* metrics() { return &metrics_; }
  nlohmann::json StatusJson();

 private:
  explicit Chunkserver(ChunkserverOptions options) : options_(std::move(options)) {}
  Status StartParts(std::shared_ptr<FileSystem> fs, std::shared_ptr<Clock> clock);

  const ChunkserverOptions options_;
  MetricsRegistry metrics_;
  std::unique_ptr<DiskFaultControl> fault_control_;
  std::unique_ptr<ChunkStore> store_;
  std::unique_ptr<rpc::RpcClient> rpc_client_;
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<rpc::RpcServer> rpc_server_;
  std::unique_ptr<MasterLink> master_link_;
  std::atomic<MasterLink*> corruption_sink_{nullptr};  // master_link_ once it exists
  std::unique_ptr<Scrubber> scrubber_;
  std::unique_ptr<AdminHttpServer> http_;
  std::string addr_;
  std::string http_addr_;
  int rpc_port_ = 0;
  int http_port_ = 0;
  bool stopped_ = false;
};

}  // namespace strata::dfs
