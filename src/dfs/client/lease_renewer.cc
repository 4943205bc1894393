#include "dfs/client/lease_renewer.h"

#include <spdlog/spdlog.h>

#include "master.pb.h"

namespace strata::dfs {

LeaseRenewer::LeaseRenewer(rpc::RpcClient* rpc, std::string master, std::string path, uint64_t writer_epoch,
                           std::chrono::milliseconds interval)
    : rpc_(rpc),
      master_(std::move(master)),
      path_(std::move(path)),
      writer_epoch_(writer_epoch),
      interval_(interval),
      thread_([this] { Run(); }) {}

LeaseRenewer::~LeaseRenewer() { Stop(); }

void LeaseRenewer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseRenewer::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (cv_.wait_for(lock, interval_, [this] { return stopping_; })) return;
    lock.unlock();
    RenewLeaseRequest req;
    req.set_path(path_);
    req.set_writer_epoch(writer_epoch_);
    RenewLeaseResponse resp;
    Status st = rpc_->CallTyped(master_, MASTER_RENEW_LEASE, req, &resp);
    lock.lock();
    if (st.code() == StatusCode::kStaleEpoch || st.code() == StatusCode::kNotFound) {
      spdlog::warn("dfs: lease of {} lost: {}", path_, st.ToString());
      return;
    }
    if (!st.ok()) spdlog::debug("dfs: renewing the lease of {}: {}", path_, st.ToString());
  }
}

}  // namespace strata::dfs
