// BlockClient: the EBS BlockClient — volume I/O routed to the blockservers
// that own its segments. It is the Backend of `strata nbd` (each NBD
// connection opens its own Volume) and can be used by any program that
// wants a volume without NBD.
//
// A request is cut at stripe units (volume_layout.h); the pieces go to
// their segments' owners in parallel, each naming the segment epoch the
// client knows. A piece refused because the segment moved (StaleEpoch,
// NotFound), or whose owner is down or still loading it (Unavailable,
// DeadlineExceeded), is retried on a fresh layout from the blockmanager
// with a bounded backoff until `io_timeout_ms` has passed; then the request
// fails (EIO at the NBD edge), never with wrong data. Errors the caller
// caused (out of range, misaligned) fail at once.
//
// Every write is acknowledged by its blockserver only once durable in the
// dfs, so FLUSH has nothing to wait for beyond writes still in flight, and
// it covers writes completed on every connection (CAN_MULTI_CONN holds).
//
// Thread-safety: thread-safe. Ownership: owns its RPC client and worker
// threads; volumes borrow the client, which must outlive them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "block.pb.h"
#include "block/nbd/nbd_backend.h"
#include "common/metrics.h"
#include "common/result.h"
#include "rpc/client.h"

namespace strata::block {

struct BlockClientOptions {
  std::string manager;             // blockmanager host:port
  uint32_t io_timeout_ms = 60000;  // a request not served by then fails
  uint32_t rpc_timeout_ms = 10000; // one call to a blockserver
  uint32_t manager_rpc_timeout_ms = 3000;
  uint32_t threads = 4;            // retries (backoff, layout refresh) and block status
  uint32_t layout_refresh_ms_min = 50;
  // Where the strata_nbd_* request metrics go (docs/block.md); null: a
  // registry of the client's own.
  MetricsRegistry* metrics = nullptr;
  std::shared_ptr<const rpc::RpcAuth> auth;  // the cluster secret (rpc/auth.h); null: authentication off
  // The io_context its RPC connections run on (rpc/client.h), e.g. the NBD
  // server's; null: the RPC client's own thread.
  asio::io_context* io_context = nullptr;
};

// Per kind of request (read, write, flush, trim, zero, block_status).
struct BlockRequestMetrics {
  Counter* requests = nullptr;
  Counter* errors = nullptr;
  Counter* bytes = nullptr;
  Histogram* latency = nullptr;
};

class BlockClient final : public nbd::Backend {
 public:
  explicit BlockClient(BlockClientOptions options);
  ~BlockClient() override;

  Result<std::unique_ptr<nbd::Volume>> Open(const std::string& name) override;
  Result<std::vector<nbd::ExportInfo>> List() override;

  // The blockmanager's view of `name`: NotFound when there is none.
  Result<GetVolumeResponse> GetVolume(const std::string& name);
  Status CallManager(uint32_t method, const google::protobuf::Message& req, google::protobuf::Message* resp);

  const BlockClientOptions& options() const { return options_; }
  rpc::RpcClient& rpc() { return rpc_; }
  // Runs `fn` on one of the client's threads.
  void Post(std::function<void()> fn);

  enum RequestKind { kRead, kWrite, kFlush, kTrim, kZero, kBlockStatus, kRequestKinds };
  BlockRequestMetrics& request_metrics(RequestKind kind) { return request_metrics_[kind]; }
  Counter* retries() { return retries_; }
  Gauge* volumes_open() { return volumes_open_; }

 private:
  class Pool;
  BlockClientOptions options_;
  MetricsRegistry own_metrics_;
  BlockRequestMetrics request_metrics_[kRequestKinds];
  Counter* retries_ = nullptr;
  Gauge* volumes_open_ = nullptr;
  rpc::RpcClient rpc_;
  std::unique_ptr<Pool> pool_;
};

// The NBD export description of a volume.
nbd::ExportInfo ExportInfoOf(const VolumeInfo& v);

}  // namespace strata::block
