#include "block/manager/blockmanager_client.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace strata::block::manager {
namespace {

// The request never left this process.
bool NotSent(const Status& st) {
  const std::string& m = st.message();
  return st.code() == StatusCode::kUnavailable &&
         (m.rfind("cannot connect", 0) == 0 || m.rfind("cannot resolve", 0) == 0);
}

}  // namespace

BlockManagerClient::BlockManagerClient(BlockManagerClientOptions options)
    : options_(std::move(options)),
      rpc_(rpc::RpcClientOptions{.default_timeout_ms = options_.rpc_timeout_ms, .auth = options_.auth}) {}

// A Strata server of another kind refuses the blockmanager's method ids (no
// two services share one); anything else fails to answer a Strata frame.
Status BlockManagerClient::NotABlockManager(const Status& st) const {
  const std::string& m = st.message();
  if (st.code() == StatusCode::kNotSupported && m.find("unknown rpc method") != std::string::npos) {
    return Status::InvalidArgument(options_.addr + " is not a Strata blockmanager (it is another Strata server: " + m +
                                   ")");
  }
  if (st.code() == StatusCode::kUnavailable && m.find("bad frame magic") != std::string::npos) {
    return Status::InvalidArgument(options_.addr + " is not a Strata blockmanager (it does not speak Strata RPC: " + m +
                                   ")");
  }
  return Status::Ok();
}

Status BlockManagerClient::Call(BlockManagerMethod method, const google::protobuf::Message& req,
                                google::protobuf::Message* resp, bool idempotent) {
  uint32_t budget_ms = reached_ ? options_.retry_ms_max : options_.first_contact_ms_max;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    Status st = rpc_.CallTyped(options_.addr, method, req, resp);
    if (Status wrong = NotABlockManager(st); !wrong.ok()) return wrong;
    if (st.ok() || st.code() != StatusCode::kUnavailable) reached_ = true;
    bool retry = st.retryable() && (idempotent || NotSent(st));
    if (!retry) {
      if (st.retryable()) return st.WithContext("blockmanager " + options_.addr + " (the request may have been applied)");
      return st;
    }
    if (std::chrono::steady_clock::now() + backoff > deadline) {
      return st.WithContext("blockmanager " + options_.addr + ", gave up after " + std::to_string(budget_ms) + " ms");
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
}

Result<VolumeInfo> BlockManagerClient::CreateVolume(const std::string& name, uint64_t size_bytes,
                                                    dfs::Durability durability, const VolumeGeometry& geometry) {
  CreateVolumeRequest req;
  req.set_name(name);
  req.set_size_bytes(size_bytes);
  req.set_durability(durability);
  *req.mutable_geometry() = geometry;
  CreateVolumeResponse resp;
  RETURN_IF_ERROR(Call(BM_CREATE_VOLUME, req, &resp, /*idempotent=*/false));
  return resp.volume();
}

Result<std::vector<VolumeInfo>> BlockManagerClient::ListVolumes() {
  ListVolumesRequest req;
  ListVolumesResponse resp;
  RETURN_IF_ERROR(Call(BM_LIST_VOLUMES, req, &resp, /*idempotent=*/true));
  return std::vector<VolumeInfo>(resp.volumes().begin(), resp.volumes().end());
}

Result<GetVolumeResponse> BlockManagerClient::GetVolume(const std::string& name) {
  GetVolumeRequest req;
  req.set_name(name);
  GetVolumeResponse resp;
  RETURN_IF_ERROR(Call(BM_GET_VOLUME, req, &resp, /*idempotent=*/true));
  return resp;
}

Result<VolumeInfo> BlockManagerClient::ResizeVolume(const std::string& name, uint64_t size_bytes) {
  ResizeVolumeRequest req;
  req.set_name(name);
  req.set_size_bytes(size_bytes);
  ResizeVolumeResponse resp;
  RETURN_IF_ERROR(Call(BM_RESIZE_VOLUME, req, &resp, /*idempotent=*/true));
  return resp.volume();
}

Status BlockManagerClient::DeleteVolume(const std::string& name) {
  DeleteVolumeRequest req;
  req.set_name(name);
  DeleteVolumeResponse resp;
  return Call(BM_DELETE_VOLUME, req, &resp, /*idempotent=*/false);
}

Result<std::string> BlockManagerClient::StatusJson() {
  BmStatusRequest req;
  BmStatusResponse resp;
  RETURN_IF_ERROR(Call(BM_STATUS, req, &resp, /*idempotent=*/true));
  return resp.json();
}

}  // namespace strata::block::manager
