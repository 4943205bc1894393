// BlockManagerClient: calls a blockmanager's volume methods
// (proto/block.proto). Used by `strata volume`; usable by anything that
// needs volumes and segment owners.
//
// A call that could not reach the blockmanager at all (connection refused,
// name not resolved) is retried for up to `retry_ms_max` once the manager
// has answered this client, `first_contact_ms_max` before (a wrong address
// fails fast). A call whose fate is unknown (connection lost or deadline
// passed after sending) is retried only for the idempotent methods (list,
// get, resize, status); a create or delete reports the error instead of
// risking a misleading AlreadyExists/NotFound from its own retry.
//
// Thread-safety: thread-safe. Ownership: owns its RpcClient.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "block.pb.h"
#include "common/result.h"
#include "rpc/client.h"

namespace strata::block::manager {

struct BlockManagerClientOptions {
  std::string addr;  // host:port
  uint32_t rpc_timeout_ms = 10000;
  uint32_t retry_ms_max = 10000;
  uint32_t first_contact_ms_max = 3000;
  std::shared_ptr<const rpc::RpcAuth> auth;  // the cluster secret (rpc/auth.h); null: authentication off
};

class BlockManagerClient {
 public:
  explicit BlockManagerClient(BlockManagerClientOptions options);

  // Zero geometry fields take the manager's defaults.
  Result<VolumeInfo> CreateVolume(const std::string& name, uint64_t size_bytes, dfs::Durability durability,
                                  const VolumeGeometry& geometry = {});
  Result<std::vector<VolumeInfo>> ListVolumes();
  Result<GetVolumeResponse> GetVolume(const std::string& name);
  Result<VolumeInfo> ResizeVolume(const std::string& name, uint64_t size_bytes);
  Status DeleteVolume(const std::string& name);
  Result<std::string> StatusJson();

  Status Call(BlockManagerMethod method, const google::protobuf::Message& req, google::protobuf::Message* resp,
              bool idempotent);
  // InvalidArgument when `st` shows that the address is not a blockmanager.
  Status NotABlockManager(const Status& st) const;
  const std::string& addr() const { return options_.addr; }

 private:
  BlockManagerClientOptions options_;
  rpc::RpcClient rpc_;
  std::atomic<bool> reached_{false};
};

}  // namespace strata::block::manager
