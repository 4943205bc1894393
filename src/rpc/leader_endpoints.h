// LeaderEndpoints: the addresses of a role that runs as one leader and
// standbys (the dfs master on etcd, docs/etcd.md), and which of them a caller
// talks to now.
//
// A caller sends to Current(); after a call fails it reports the failure with
// Failed(), which moves Current() on:
//   - a standby's NotLeader naming the leader (common/status.h) makes that
//     address current (it is added to the list if the caller did not know
//     it), and the caller may retry at once;
//   - any other failure (unreachable, timed out, a NotLeader naming nobody)
//     moves to the next address of the list.
// Failed() answers whether to retry at once or to back off first: at once
// while a round of the list is not over and the redirects followed since the
// last answer are fewer than the addresses (so two standbys naming a dead
// leader cannot make a caller spin). With one address nothing changes: every
// failure means backing off, as before there were several masters.
// Answered() (a reply that is not a retryable error) ends the round.
//
// Thread-safety: thread-safe. A value of its own; callers share one instance
// (a DfsClient and its writers' lease renewers).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace strata::rpc {

class LeaderEndpoints {
 public:
  // `list`: "host:port" or "host:port,host:port,..." (blanks ignored).
  explicit LeaderEndpoints(const std::string& list);

  // The addresses of a comma-separated list, blanks and empty items dropped.
  static std::vector<std::string> Split(const std::string& list);

  std::string Current() const;
  // The list as given to the constructor (for messages).
  const std::string& list() const { return list_; }
  size_t size() const;

  // A call to `addr` failed with `st`; true: call Current() at once, false:
  // back off first.
  bool Failed(const std::string& addr, const Status& st);
  // A call to `addr` got an answer that is not a retryable error.
  void Answered(const std::string& addr);

 private:
  static constexpr size_t kAddressesMax = 16;  // redirects add addresses up to this many

  const std::string list_;
  mutable std::mutex mu_;
  std::vector<std::string> addrs_;  // GUARDED_BY(mu_); never empty
  size_t current_ = 0;              // GUARDED_BY(mu_)
  size_t failures_ = 0;             // GUARDED_BY(mu_); since the last answer
  size_t redirects_ = 0;            // GUARDED_BY(mu_); since the last answer
};

}  // namespace strata::rpc
