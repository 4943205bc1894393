#include "dfs/client/lease_renewer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "master.pb.h"

namespace strata::dfs {

LeaseRenewer::LeaseRenewer(rpc::RpcClient* rpc, Clock* clock, rpc::LeaderEndpoints* masters, std::string path,
                           uint64_t writer_epoch, std::chrono::milliseconds interval)
    : rpc_(rpc),
      clock_(clock),
      masters_(masters),
      path_(std::move(path)),
      writer_epoch_(writer_epoch),
      interval_(interval),
      first_renewal_us_(clock->NowMicros() + static_cast<uint64_t>(std::chrono::microseconds(interval).count())),
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
  const uint64_t interval_us = static_cast<uint64_t>(std::chrono::microseconds(interval_).count());
  // Renewals keep to a schedule of the clock (one per interval from the
  // start), whatever each call took; a clock that jumped ahead gets one
  // renewal, not one per interval missed.
  uint64_t next_us = first_renewal_us_;
  std::unique_lock lock(mu_);
  for (;;) {
    const uint64_t now = clock_->NowMicros();
    if (clock_->WaitFor(lock, cv_, next_us > now ? next_us - now : 0, [this] { return stopping_; })) return;
    next_us = std::max(next_us + interval_us, clock_->NowMicros());
    lock.unlock();
    RenewLeaseRequest req;
    req.set_path(path_);
    req.set_writer_epoch(writer_epoch_);
    RenewLeaseResponse resp;
    const std::string addr = masters_->Current();
    Status st = rpc_->CallTyped(addr, MASTER_RENEW_LEASE, req, &resp);
    if (st.ok() || !st.retryable()) {
      masters_->Answered(addr);
    } else if (masters_->Failed(addr, st)) {
      // A redirect to the leader, or another master to try: renew there now.
      const std::string next = masters_->Current();
      st = rpc_->CallTyped(next, MASTER_RENEW_LEASE, req, &resp);
      if (st.ok() || !st.retryable()) masters_->Answered(next);
    }
    lock.lock();
    if (st.code() == StatusCode::kStaleEpoch || st.code() == StatusCode::kNotFound) {
      spdlog::warn("dfs: lease of {} lost: {}", path_, st.ToString());
      return;
    }
    if (!st.ok()) spdlog::debug("dfs: renewing the lease of {}: {}", path_, st.ToString());
  }
}

}  // namespace strata::dfs
