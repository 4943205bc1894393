// LeaseRenewer: keeps a writer's lease on its file alive at the master.
//
// The master presumes a writer gone once it has neither called nor renewed
// for the lease the master granted at OPEN_WRITE (`writer_lease_ms`), and
// then seals the file's open chunk and closes it. A writer may legitimately
// be silent towards the master for long (appends go to chunkservers; a put
// may wait on a slow pipe), so a thread renews every third of the lease
// until Stop(). A renewal that finds the writer fenced (StaleEpoch) ends the
// renewals; the writer learns of it on its next call.
//
// It waits between renewals on the Clock it is given, so tests move its
// rounds with a ManualClock.
//
// Thread-safety: Stop() and the destructor may be called from any one
// thread. Ownership: borrows the RpcClient, the masters' endpoints and the
// clock, which must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "env/clock.h"
#include "rpc/client.h"
#include "rpc/leader_endpoints.h"

namespace strata::dfs {

class LeaseRenewer {
 public:
  // `masters`: where renewals go (a failed renewal moves it on, as the
  // client's own calls do).
  LeaseRenewer(rpc::RpcClient* rpc, Clock* clock, rpc::LeaderEndpoints* masters, std::string path, uint64_t writer_epoch,
               std::chrono::milliseconds interval);
  ~LeaseRenewer();
  LeaseRenewer(const LeaseRenewer&) = delete;
  LeaseRenewer& operator=(const LeaseRenewer&) = delete;

  void Stop();

 private:
  void Run();

  rpc::RpcClient* const rpc_;
  Clock* const clock_;
  rpc::LeaderEndpoints* const masters_;
  const std::string path_;
  const uint64_t writer_epoch_;
  const std::chrono::milliseconds interval_;
  const uint64_t first_renewal_us_;  // one interval of the clock after construction
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace strata::dfs
