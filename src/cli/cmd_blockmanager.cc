// strata blockmanager: runs the block layer's control plane (volumes,
// segments, their assignment to blockservers) until SIGTERM/SIGINT.
//
//   strata blockmanager --data-dir DIR --master HOST:PORT [--host 127.0.0.1]
//       [--port 7200] [--http-port 7201] [--config FILE] [--log-level info] [--log-file FILE]
#include <csignal>
#include <iostream>

#include "block/manager/blockmanager_server.h"
#include "cli/commands.h"
#include "cli/role_secret.h"
#include "common/logging.h"

namespace strata::cli {
namespace {

struct BlockManagerFlags {
  std::string host = "127.0.0.1";
  int port = 7200;
  int http_port = 7201;
  std::string data_dir;
  std::string master;
  std::string config;
  std::string log_level = "info";
  std::string log_file;
  std::string secret_file;
};

int RunBlockManager(const BlockManagerFlags& f) {
  Status st = InitLogging("blockmanager", f.log_level, f.log_file);
  if (!st.ok()) {
    std::cerr << "strata blockmanager: " << st.ToString() << "\n";
    return 2;
  }
  block::manager::BlockManagerServerOptions options;
  options.host = f.host;
  options.port = f.port;
  options.http_port = f.http_port;
  options.data_dir = f.data_dir;
  options.dfs_master = f.master;
  auto auth = LoadRoleAuth("blockmanager", f.secret_file);
  if (!auth.ok()) {
    spdlog::error("strata blockmanager: {}", auth.status().ToString());
    return 2;
  }
  options.auth = *auth;
  if (!f.config.empty()) {
    auto loaded = block::manager::LoadBlockManagerOptions(f.config);
    if (!loaded.ok()) {
      spdlog::error("strata blockmanager: {}", loaded.status().ToString());
      return 2;
    }
    options.manager = *loaded;
  }
  // Block the stop signals before any thread starts so that only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  block::manager::BlockManagerServer server(options, SystemClock::Default());
  st = server.Start();
  if (!st.ok()) {
    spdlog::error("strata blockmanager: {}", st.ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("blockmanager: signal {} received, stopping", sig);
  server.Stop();
  return 0;
}

}  // namespace

void RegisterBlockManagerCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<BlockManagerFlags>();
  auto* cmd = app.add_subcommand("blockmanager",
                                 "Run the blockmanager (volumes, segments, their assignment to blockservers)");
  cmd->add_option("--host", flags->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", flags->port, "RPC port (0: any free port)")->capture_default_str();
  cmd->add_option("--http-port", flags->http_port, "Admin HTTP port for /metrics and /status (-1: none)")
      ->capture_default_str();
  cmd->add_option("--data-dir", flags->data_dir, "Directory of the metadata store")->required();
  cmd->add_option("--master", flags->master, "The dfs master HOST:PORT (deleted volumes' data is removed there)")
      ->required();
  cmd->add_option("--config", flags->config,
                  "YAML file with blockmanager options (top level or a blockmanager: section)");
  cmd->add_option("--log-level", flags->log_level, "trace, debug, info, warn or error")->capture_default_str();
  cmd->add_option("--log-file", flags->log_file, "Log to this file instead of stderr");
  AddRoleSecretOption(cmd, &flags->secret_file);
  cmd->callback([flags, exit_code] { *exit_code = RunBlockManager(*flags); });
}

}  // namespace strata::cli
