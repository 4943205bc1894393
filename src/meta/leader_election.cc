#include "meta/leader_election.h"

#include <algorithm>
#include <chrono>

namespace strata::meta {
namespace {

// The longest real wait between two looks at the clock: a ManualClock moves
// without waking anyone, so waits are sliced.
constexpr uint64_t kWaitSliceMicros = 10'000;

}  // namespace

Result<std::unique_ptr<LeaderElection>> LeaderElection::Create(EtcdMetaStore* store, std::shared_ptr<Clock> clock,
                                                                LeaderElectionOptions options, OnChange on_change) {
  if (store == nullptr || clock == nullptr) return Status::InvalidArgument("election: no store or clock");
  if (options.key.empty()) return Status::InvalidArgument("election: the election key is empty");
  if (options.candidate.empty()) return Status::InvalidArgument("election: the candidate value is empty");
  if (options.lease_ttl_seconds < 1) return Status::InvalidArgument("election: lease_ttl_seconds must be >= 1");
  if (options.keepalive_interval_ms < 0 || options.keepalive_interval_ms >= options.lease_ttl_seconds * 1000) {
    return Status::InvalidArgument("election: keepalive_interval_ms must be below the lease TTL (0: TTL/3)");
  }
  if (options.standby_poll_interval_ms < 1) {
    return Status::InvalidArgument("election: standby_poll_interval_ms must be >= 1");
  }
  return std::unique_ptr<LeaderElection>(
      new LeaderElection(store, std::move(clock), std::move(options), std::move(on_change)));
}

LeaderElection::LeaderElection(EtcdMetaStore* store, std::shared_ptr<Clock> clock, LeaderElectionOptions options,
                               OnChange on_change)
    : store_(store), clock_(std::move(clock)), options_(std::move(options)), on_change_(std::move(on_change)) {}

LeaderElection::~LeaderElection() { Stop(); }

void LeaderElection::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void LeaderElection::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  (void)Resign();
}

bool LeaderElection::IsLeader() const {
  std::lock_guard lock(mu_);
  return leader_ && clock_->NowMicros() < lease_valid_until_;
}

int64_t LeaderElection::term() const {
  std::lock_guard lock(mu_);
  return leader_ && clock_->NowMicros() < lease_valid_until_ ? term_ : 0;
}

Result<std::string> LeaderElection::Leader() { return store_->Get(options_.key); }

Status LeaderElection::Resign(int hold_off_ms) {
  int64_t lease;
  {
    std::lock_guard lock(mu_);
    lease = StepDownLocked();
    campaign_after_ = clock_->NowMicros() + uint64_t(std::max(hold_off_ms, 0)) * 1000;
  }
  if (lease == 0) return Status::Ok();
  Notify(false, 0);
  return store_->RevokeLease(lease);
}

Status LeaderElection::WriteAsLeader(const WriteBatch& batch) {
  int64_t term;
  {
    std::lock_guard lock(mu_);
    if (!leader_ || clock_->NowMicros() >= lease_valid_until_) {
      return Status::FailedPrecondition("not the leader of " + options_.key);
    }
    term = term_;
  }
  return WriteAsLeader(batch, term);
}

Status LeaderElection::WriteAsLeader(const WriteBatch& batch, int64_t term) {
  {
    std::lock_guard lock(mu_);
    if (!leader_ || term_ != term || clock_->NowMicros() >= lease_valid_until_) {
      return Status::FailedPrecondition("not the leader of " + options_.key + " in term " + std::to_string(term) +
                                        "; nothing was written");
    }
  }
  auto r = store_->WriteIf({{EtcdCompare::Target::kCreateRevision, options_.key, term}}, batch);
  if (r.ok()) return Status::Ok();
  if (r.status().code() != StatusCode::kAborted) return r.status();
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    if (leader_ && term_ == term) lease = StepDownLocked();
  }
  if (lease != 0) {
    Notify(false, 0);
    (void)store_->RevokeLease(lease);
  }
  return Status::FailedPrecondition("not the leader of " + options_.key + ": leadership of revision " +
                                    std::to_string(term) + " is lost; nothing was written");
}

void LeaderElection::FreezeForTesting(bool frozen) {
  {
    std::lock_guard lock(mu_);
    frozen_ = frozen;
  }
  cv_.notify_all();
}

int64_t LeaderElection::StepDownLocked() {
  if (!leader_) return 0;
  leader_ = false;
  term_ = 0;
  int64_t lease = lease_;
  lease_ = 0;
  lease_valid_until_ = 0;
  return lease;
}

void LeaderElection::Notify(bool leader, int64_t revision) {
  if (on_change_) on_change_(leader, revision);
}

bool LeaderElection::WaitMicros(uint64_t micros) {
  std::unique_lock lock(mu_);
  const uint64_t until = clock_->NowMicros() + micros;
  while (!stopping_) {
    uint64_t now = clock_->NowMicros();
    if (now >= until) return true;
    cv_.wait_for(lock, std::chrono::microseconds(std::min(until - now, kWaitSliceMicros)));
  }
  return false;
}

void LeaderElection::Run() {
  enum class Next { kWait, kKeepAlive, kCampaign };
  for (;;) {
    Next next = Next::kWait;
    uint64_t wait_micros = uint64_t(options_.standby_poll_interval_ms) * 1000;
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      if (frozen_) {
        cv_.wait_for(lock, std::chrono::microseconds(kWaitSliceMicros));
        continue;
      }
      const uint64_t now = clock_->NowMicros();
      if (leader_ && now >= lease_valid_until_) {
        // No keepalive succeeded within the TTL: etcd may already have
        // expired the lease and elected someone else.
        int64_t lease = StepDownLocked();
        lock.unlock();
        Notify(false, 0);
        (void)store_->RevokeLease(lease);
        continue;
      }
      if (leader_) {
        if (now >= next_keepalive_) {
          next = Next::kKeepAlive;
        } else {
          wait_micros = std::min(next_keepalive_, lease_valid_until_) - now;
        }
      } else if (now >= campaign_after_) {
        next = Next::kCampaign;
      } else {
        wait_micros = std::min(wait_micros, campaign_after_ - now);
      }
    }
    if (next == Next::kKeepAlive) {
      KeepAlive();
      continue;
    }
    if (next == Next::kCampaign) Campaign();
    if (!WaitMicros(wait_micros)) return;
  }
}

void LeaderElection::KeepAlive() {
  int64_t lease;
  uint64_t sent;
  {
    std::lock_guard lock(mu_);
    lease = lease_;
    sent = clock_->NowMicros();
  }
  auto ttl = store_->KeepAliveLease(lease);
  {
    std::lock_guard lock(mu_);
    if (!leader_ || lease_ != lease) return;
    if (ttl.ok() && *ttl > 0) {
      lease_valid_until_ = sent + uint64_t(*ttl) * 1'000'000;
      uint64_t interval = options_.keepalive_interval_ms > 0 ? uint64_t(options_.keepalive_interval_ms) * 1000
                                                             : lease_ttl_micros_ / 3;
      next_keepalive_ = clock_->NowMicros() + interval;
      return;
    }
    StepDownLocked();
  }
  Notify(false, 0);
  if (!ttl.ok()) (void)store_->RevokeLease(lease);  // best effort: the key goes now, not at expiry
}

void LeaderElection::Campaign() {
  auto current = store_->GetWithRevision(options_.key);
  if (current.ok() || current.status().code() != StatusCode::kNotFound) return;  // someone leads, or no etcd
  const uint64_t sent = clock_->NowMicros();
  auto lease = store_->GrantLease(options_.lease_ttl_seconds);
  if (!lease.ok()) return;
  WriteBatch put;
  put.Put(options_.key, options_.candidate);
  auto revision = store_->WriteIf({{EtcdCompare::Target::kCreateRevision, options_.key, 0}}, put, lease->id);
  if (!revision.ok()) {
    // Lost the race, or the answer was lost: either way the lease (and the
    // key, if the write did apply) must go.
    (void)store_->RevokeLease(lease->id);
    return;
  }
  bool won = false;
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && !frozen_) {
      won = true;
      leader_ = true;
      term_ = *revision;
      lease_ = lease->id;
      lease_ttl_micros_ = uint64_t(lease->ttl_seconds) * 1'000'000;
      lease_valid_until_ = sent + lease_ttl_micros_;
      uint64_t interval = options_.keepalive_interval_ms > 0 ? uint64_t(options_.keepalive_interval_ms) * 1000
                                                             : lease_ttl_micros_ / 3;
      next_keepalive_ = clock_->NowMicros() + interval;
    }
  }
  if (!won) {
    (void)store_->RevokeLease(lease->id);
    return;
  }
  Notify(true, *revision);
}

}  // namespace strata::meta
