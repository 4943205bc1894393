// Test helpers for cache system tests: running real processes (the built
// `strata` binary, redis-cli, memccapable, redis-server) and talking to a
// server over a plain TCP socket. Waiting is always polling with a deadline,
// never a fixed sleep.
//
// Thread-safety: not thread-safe; one test thread uses them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace strata::cache::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

// Runs argv[0] (searched in PATH) with `input` on stdin; stdout captured,
// stderr discarded. Kills it after `timeout`.
RunResult RunProgram(const std::vector<std::string>& argv, const std::string& input = "",
              std::chrono::milliseconds timeout = std::chrono::seconds(60));
bool HaveProgram(const std::string& name);
// The python that has the redis module (Debian's python3-redis installs into
// /usr/bin/python3, which a python3 earlier in PATH may not see); empty: none.
std::string PythonWithRedis();
// A TCP port that was free a moment ago.
int FreePort();
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout);
std::string MakeTempDir();
// Resident set size of `pid` in bytes (0 if unknown).
uint64_t RssBytes(pid_t pid);

// A blocking TCP client with deadline-bounded reads.
class Client {
 public:
  explicit Client(int port);
  ~Client();
  bool connected() const { return fd_ >= 0; }
  bool Send(std::string_view data);
  // Reads until `done(buffer)` holds, the peer closes, or the deadline passes.
  std::string ReadUntil(const std::function<bool(const std::string&)>& done,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads until the buffer ends with `suffix`.
  std::string ReadUntilSuffix(const std::string& suffix);
  // True when the peer has closed the connection (EOF within the timeout).
  bool WaitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::string Command(std::string_view request, const std::string& reply_suffix = "\r\n") {
    Send(request);
    return ReadUntilSuffix(reply_suffix);
  }

 private:
  int fd_ = -1;
};

// A `strata cache` process on free ports, killed at destruction.
class CacheProcess {
 public:
  explicit CacheProcess(std::vector<std::string> extra_args = {}, std::string data_dir = "");
  ~CacheProcess();
  bool ready() const { return ready_; }
  int resp_port() const { return resp_; }
  int memcache_port() const { return mc_; }
  int http_port() const { return http_; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_; }
  // Sends `sig` and waits for the exit; returns the exit code (128+sig when
  // killed by a signal), or -1 after the timeout.
  int Stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Starts again with the same arguments (after Stop).
  bool Restart();
  std::string Log() const;

 private:
  bool Launch();
  std::vector<std::string> args_;
  std::string log_;
  int resp_ = 0, mc_ = 0, http_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace strata::cache::testing
