// BlockServer: the running `strata blockserver` process minus main(). It
// serves the segments the blockmanager assigns to it (SegmentTable) over
// RPC (BS_READ, BS_WRITE, BS_TRIM, BS_BLOCK_STATUS), keeps its lease and
// assignment fresh with heartbeats to the blockmanager, collects garbage in
// the background, and serves /metrics and /status over HTTP. It keeps
// nothing durable of its own: every byte lives in dfs files, so any
// blockserver can take a segment over.
//
// Thread-safety: Start/Stop from one thread. Ownership: owns everything it
// starts; the clock is shared.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "block/server/blockserver_options.h"
#include "block/server/log_file_store.h"
#include "block/server/segment_table.h"
#include "common/admin_http.h"
#include "common/metrics.h"
#include "common/worker_pool.h"
#include "dfs/client/dfs_client.h"
#include "env/clock.h"
#include "rpc/client.h"
#include "rpc/server.h"

namespace strata::block {

class BlockServer {
 public:
  BlockServer(BlockServerOptions options, std::shared_ptr<Clock> clock);
  ~BlockServer();

  Status Start();
  void Stop();
  int rpc_port() const { return rpc_port_; }
  int http_port() const { return http_port_; }

 private:
  void RegisterMethods();
  // Registers an asynchronous method that parses Req, finds its segment
  // (a refusal answers at once) and runs `start`, which answers through
  // `done`.
  template <typename Req>
  void RegisterSegmentOp(uint32_t method, std::string name,
                         std::function<void(const Req&, std::string& bulk, Segment& seg, Segment::Done done)> start);
  void HeartbeatLoop();
  Status RegisterWithManager();
  Status Heartbeat();
  void GcLoop();
  nlohmann::json StatusJson();

  BlockServerOptions options_;
  std::shared_ptr<Clock> clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<dfs::DfsClient> dfs_;
  std::unique_ptr<LogFileStore> store_;
  std::unique_ptr<ReadCache> read_cache_;  // outlives the segments that read through it
  std::unique_ptr<WorkerPool> readers_;    // reads that wait for the dfs
  std::unique_ptr<SegmentTable> table_;
  std::unique_ptr<rpc::RpcClient> manager_rpc_;
  std::unique_ptr<rpc::RpcServer> rpc_;
  std::unique_ptr<AdminHttpServer> http_;
  int rpc_port_ = 0;
  int http_port_ = 0;
  std::string addr_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool registered_ = false;          // heartbeat thread only
  uint64_t heartbeat_interval_ms_;   // heartbeat thread only
  std::map<const Segment*, uint64_t> gc_writes_seen_;  // GC thread only: client writes at its last pass
  std::atomic<uint64_t> heartbeats_ok_{0};
  std::thread heartbeater_;
  std::thread collector_;

  Counter* reads_ = nullptr;
  Counter* reads_from_memory_ = nullptr;
  Counter* writes_ = nullptr;
  Counter* trims_ = nullptr;
  Counter* flushes_ = nullptr;
  Counter* read_bytes_ = nullptr;
  Counter* write_bytes_ = nullptr;
  Counter* refused_ = nullptr;
  Histogram* read_latency_ = nullptr;
  Histogram* write_latency_ = nullptr;
};

}  // namespace strata::block
