// strata chunkserver: runs one dfs chunkserver until SIGTERM or SIGINT.
//
//   strata chunkserver --id ID --master HOST:PORT --host 127.0.0.1 --port P
//       --http-port P --rack RACK --disk DIR [--disk DIR ...] [--config FILE]
//       [--log-level info] [--log-file FILE]
//
// Bad flags or configuration: a message on stderr and exit code 2.
#include <sys/resource.h>

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/role_secret.h"
#include "common/logging.h"
#include "common/malloc_tuning.h"
#include "dfs/chunkserver/service/chunkserver.h"
#include "env/posix/posix_file_system.h"

namespace strata::cli {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

struct ChunkserverArgs {
  dfs::ChunkserverOptions options;
  std::string port = "0";       // parsed here, so a bad value exits 2 like any bad flag
  std::string http_port = "0";
  std::vector<std::string> unknown;  // arguments CLI11 did not recognise
  std::string config;
  std::string log_level = "info";
  std::string log_file;
  std::string secret_file;
  bool enable_fault_injection = false;
};

// Blocks the stop signals in this thread before any other thread exists, so
// that every thread inherits the mask and sigwait() below receives them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

// Every open chunk keeps a file open; running out of descriptors would look
// like a disk error, so take all the process may have.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("cannot raise the open file limit");
  }
}

Status ParsePort(const std::string& flag, const std::string& text, int* out) {
  size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < 0 || value > 65535) {
    return Status::InvalidArgument(flag + " must be a port number 0..65535, not '" + text + "'");
  }
  *out = value;
  return Status::Ok();
}

Status ParseFlags(ChunkserverArgs& args) {
  if (!args.unknown.empty()) return Status::InvalidArgument("unknown argument '" + args.unknown[0] + "'");
  RETURN_IF_ERROR(ParsePort("--port", args.port, &args.options.port));
  return ParsePort("--http-port", args.http_port, &args.options.http_port);
}

int RunChunkserver(ChunkserverArgs& args) {
  KeepLargeBuffersInHeap();  // appends and copies arrive as buffers of up to several MiB
  if (Status flags = ParseFlags(args); !flags.ok()) {
    std::cerr << "strata chunkserver: " << flags.message() << "\n";
    return kExitUsage;
  }
  if (!args.config.empty()) {
    Status st = args.options.LoadFile(args.config);
    if (!st.ok()) {
      std::cerr << "strata chunkserver: " << st.message() << "\n";
      return kExitUsage;
    }
  }
  if (args.enable_fault_injection) args.options.fault_injection = true;
  Status valid = args.options.Validate();
  if (!valid.ok()) {
    std::cerr << "strata chunkserver: " << valid.message() << "\n";
    return kExitUsage;
  }
  Status log = InitLogging("chunkserver-" + args.options.id, args.log_level, args.log_file);
  if (!log.ok()) {
    std::cerr << "strata chunkserver: " << log.message() << "\n";
    return kExitUsage;
  }
  auto auth = LoadRoleAuth("chunkserver " + args.options.id, args.secret_file);
  if (!auth.ok()) {
    std::cerr << "strata chunkserver: " << auth.status().message() << "\n";
    return kExitUsage;
  }
  args.options.auth = *auth;
  RaiseOpenFileLimit();
  sigset_t stop_signals = BlockStopSignals();
  auto server = dfs::Chunkserver::Start(args.options, NewPosixFileSystem(), SystemClock::Default());
  if (!server.ok()) {
    spdlog::error("chunkserver {} failed to start: {}", args.options.id, server.status().ToString());
    return kExitFailure;
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("chunkserver {}: signal {}, stopping", args.options.id, sig);
  (*server)->Stop();
  return 0;
}

}  // namespace

void RegisterChunkserverCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ChunkserverArgs>();
  auto& o = args->options;
  auto* cmd = app.add_subcommand("chunkserver", "Run a dfs chunkserver (chunk replicas on local disks)");
  cmd->add_option("--id", o.id, "Stable id of this chunkserver (required: here or as id in --config)");
  cmd->add_option("--master", o.master, "Master RPC endpoint HOST:PORT");
  cmd->add_option("--host", o.host, "Address to serve on (default 127.0.0.1)");
  cmd->add_option("--port", args->port, "RPC port (0: any free port)");
  cmd->add_option("--http-port", args->http_port, "Admin HTTP port for /metrics and /status (0: any free port)");
  cmd->add_option("--rack", o.rack, "Rack (failure domain) of this server");
  cmd->add_option("--disk", o.store.disk_paths, "A disk directory; repeat for each disk (at least one)");
  cmd->add_option("--config", args->config, "YAML file; its `chunkserver:` section sets limits and intervals");
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn or error (default info)");
  cmd->add_option("--log-file", args->log_file, "Log to this file instead of stderr");
  AddRoleSecretOption(cmd, &args->secret_file);
  cmd->add_flag("--enable-fault-injection", args->enable_fault_injection,
                "Serve `strata debug disk-fault` (as fault_injection: true in --config); off by default");
  cmd->allow_extras();  // reported by RunChunkserver with exit code 2
  cmd->callback([args, cmd, exit_code] {
    args->unknown = cmd->remaining();
    *exit_code = RunChunkserver(*args);
  });
}

}  // namespace strata::cli
