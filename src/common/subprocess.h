// Starting and stopping child processes: used by `strata up` to run the roles
// of a local cluster and by system tests to start and kill them.
//
// Thread-safety: functions are thread-safe (they hold no state).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace strata {

struct SpawnOptions {
  std::string log_path;       // stdout and stderr go here (appended); empty: inherit
  bool new_session = false;   // setsid(): the child outlives its parent's terminal
};

// fork+exec of argv[0] (a path) with argv. Returns the child's pid.
Result<pid_t> SpawnProcess(const std::vector<std::string>& argv, const SpawnOptions& options);

// True while `pid` exists and is not a zombie.
bool ProcessAlive(pid_t pid);

// Reaps `pid` if it is our exited child (no-op otherwise).
void ReapIfExited(pid_t pid);

// SIGTERM, then SIGKILL after `grace_ms`; waits until the process is gone.
Status StopProcess(pid_t pid, int grace_ms);

// The processes other than this one that hold one of `paths` open (from
// /proc/<pid>/fd; paths are compared canonical). Processes whose descriptors
// this user cannot read are not seen.
std::vector<pid_t> ProcessesHoldingOpen(const std::vector<std::string>& paths);

// True when something accepts TCP connections on host:port.
bool PortAcceptsConnections(const std::string& host, int port);

// A port that was free on `host` a moment ago.
Result<int> PickFreePort(const std::string& host);

}  // namespace strata
