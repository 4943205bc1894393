// EtcdCluster: real etcd processes for tests of EtcdMetaStore — one member or
// several forming one cluster — on free loopback ports, each with its own data
// directory under a scratch directory that is removed on destruction.
//
// Start() returns once every member answers /health with "true" (polled every
// 20 ms up to a deadline; no fixed sleeps). Kill() sends SIGKILL, so a test can
// check what survives a crash; Restart() starts the member again on the same
// data directory and ports.
//
// Needs the `etcd` binary (Debian's etcd-server) on PATH or in /usr/bin.
// Thread-safety: not thread-safe; one test thread drives it. Ownership: owns
// the processes (killed on destruction) and the scratch directory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"

namespace strata::meta::testing {

class EtcdCluster {
 public:
  // `members` processes named n1..nN, each also given `extra_args` (e.g.
  // {"--quota-backend-bytes", "..."}); nothing runs before Start().
  explicit EtcdCluster(int members = 1, std::vector<std::string> extra_args = {});
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts every member and waits until each is healthy, up to `timeout`.
  Status Start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL of member `i` (0-based); waits until the process is gone.
  void Kill(int i);
  // Starts member `i` again on its data directory; with `wait_healthy`,
  // returns once it answers /health (which needs a quorum).
  Status Restart(int i, bool wait_healthy = true,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

  int size() const { return static_cast<int>(members_.size()); }
  // "http://127.0.0.1:<client port>" of member `i`.
  std::string ClientUrl(int i) const;
  std::vector<std::string> ClientUrls() const;
  // The contents of member `i`'s log, for failure messages.
  std::string Log(int i) const;

  static bool EtcdInstalled();

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    std::string log_path;
    pid_t pid = -1;
  };
  Status Spawn(Member& m, bool new_cluster);
  Status WaitHealthy(const Member& m, std::chrono::steady_clock::time_point deadline);

  std::string dir_;
  std::vector<std::string> extra_args_;
  std::string initial_cluster_;
  std::vector<Member> members_;
};

// One single-member cluster for the whole test process, started on first
// use and killed at exit; null, with a test failure recorded, when it could
// not start.
EtcdCluster* SharedEtcdCluster();

}  // namespace strata::meta::testing
