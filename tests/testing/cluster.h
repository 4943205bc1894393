// TestCluster: a real local Strata cluster for system tests, started through
// the same launcher users run (`strata up --detach`) in a fresh temporary
// directory, and stopped (`strata down`) when the test ends.
//
// Also runs the `strata` CLI and captures its output, and gives tests the
// pids and endpoints from cluster.json so they can kill exactly one process.
//
// Thread-safety: not thread-safe; one test thread drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace strata::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// The built `strata` binary ($STRATA_BIN, set by ctest).
std::string StrataBinary();

// Runs `strata args...` to completion (stdin from /dev/null).
CommandResult RunStrata(const std::vector<std::string>& args);

// Runs any program (found on PATH) to completion, stdin from /dev/null.
CommandResult RunCommand(const std::vector<std::string>& argv);

// Starts `strata args...` in the background; returns its pid.
pid_t StartStrata(const std::vector<std::string>& args, const std::string& out_path);
// Waits for a child started with StartStrata; returns its exit code.
int WaitExit(pid_t pid);

// Polls `cond` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// A file of `bytes` pseudo-random bytes (seeded) at `path`.
void WriteRandomFile(const std::string& path, uint64_t bytes, uint64_t seed);
bool FilesEqual(const std::string& a, const std::string& b);

// A scratch directory for one test's local files: $TMPDIR/<prefix>_<pid>,
// created on first use and removed with everything in it on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  // <dir>/<name> (the directory exists).
  std::string Path(const std::string& name) const;

 private:
  std::string dir_;
};

// True when every chunk in `stat` (from `fs stat --json`) has `want`
// replicas on `want` distinct racks, none of them `excluded`.
bool ChunksFullyReplicated(const nlohmann::json& stat, size_t want,
                           const std::function<bool(const nlohmann::json& replica)>& excluded = {});

struct TestClusterConfig {
  std::string extra_yaml;        // appended at the top level (e.g. "chunkservers: 4\n")
  std::string master_yaml;       // lines of the master: section, indented by two spaces
  std::string chunkserver_yaml;  // lines of the chunkserver: section, likewise
  std::string cache_yaml;        // lines of the cache: section, likewise; empty: no cache server
  // Lines of the block: section (e.g. "  enabled: true\n"); empty: no block roles.
  std::string block_yaml;
  std::string blockmanager_yaml;  // lines of the blockmanager: section
  std::string blockserver_yaml;   // lines of the blockserver: section
  std::vector<std::string> up_args;  // extra flags of `strata up` (e.g. {"--nbd-port", "10900"})
};

class TestCluster {
 public:
  // `extra_yaml` is appended to the cluster config (e.g. "chunkservers: 4\n").
  explicit TestCluster(const std::string& extra_yaml = "");
  explicit TestCluster(const TestClusterConfig& config);
  ~TestCluster();

  const std::string& dir() const { return dir_; }
  const nlohmann::json& info() const { return info_; }
  std::string master() const { return info_["master"].get<std::string>(); }
  // The cluster secret `strata up` made (DIR/cluster.secret).
  std::string secret_file() const { return dir_ + "/cluster.secret"; }
  int chunkserver_count() const { return static_cast<int>(info_["chunkservers"].size()); }
  pid_t chunkserver_pid(int i) const { return info_["chunkservers"][i]["pid"].get<pid_t>(); }
  std::string chunkserver_id(int i) const { return info_["chunkservers"][i]["id"].get<std::string>(); }
  int chunkserver_index(const std::string& id) const;

  // `strata <args> --master M --secret-file S` (admin commands).
  CommandResult Cli(std::vector<std::string> args) const;
  // `strata fs stat --json PATH`, parsed.
  nlohmann::json StatJson(const std::string& path) const;
  nlohmann::json ClusterStatusJson() const;
  // The master's status entry of disk `disk` of chunkserver `server`, or null.
  nlohmann::json DiskStatus(const std::string& server, int disk) const;
  // The .chunk file of `replica` (an object of `fs stat --json`) of `chunk_id`.
  std::string ReplicaChunkPath(const nlohmann::json& replica, uint64_t chunk_id) const;

  // SIGKILLs a role and waits until it is gone.
  void Kill(pid_t pid, int sig = 9);
  // Waits (up to 30 s) until `path` has a chunk, then SIGKILLs the server
  // holding replica `replica` of its newest chunk, e.g. mid-put. Returns that
  // server's id; empty (and the test failed) when there was none.
  std::string KillHolderOfNewestChunk(const std::string& path, size_t replica);
  // Where a running `fs put` to `path` writes: its hidden temporary file
  // (renamed to `path` when complete) while there is one, else `path`.
  std::string WrittenPath(const std::string& path) const;
  // Restarts the master with the same command line (after Kill).
  void RestartMaster();
  void RestartChunkserver(int i);
  // Reads a process's argv from /proc before it is killed.
  static std::vector<std::string> CommandLine(pid_t pid);

 private:
  pid_t Respawn(const std::vector<std::string>& argv, const std::string& log_name);

  std::string dir_;
  nlohmann::json info_;
  std::vector<std::string> master_argv_;
  std::vector<std::vector<std::string>> chunkserver_argv_;
  std::vector<pid_t> extra_pids_;
};

}  // namespace strata::testing
