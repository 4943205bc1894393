// strata blockserver: runs one blockserver until SIGTERM or SIGINT.
//
//   strata blockserver --id ID --manager HOST:PORT --master HOST:PORT
//       [--host 127.0.0.1] [--port P] [--http-port P] [--config FILE]
//       [--log-level info] [--log-file FILE]
//
// Bad flags or configuration: a message on stderr and exit code 2.
#include <csignal>
#include <iostream>
#include <string>

#include "block/server/blockserver.h"
#include "cli/commands.h"
#include "cli/role_secret.h"
#include "common/logging.h"

namespace strata::cli {
namespace {

struct BlockServerArgs {
  block::BlockServerOptions options;
  std::string config;
  std::string log_level = "info";
  std::string log_file;
  std::string secret_file;
};

int RunBlockServer(BlockServerArgs& args) {
  if (!args.config.empty()) {
    if (Status st = args.options.LoadFile(args.config); !st.ok()) {
      std::cerr << "strata blockserver: " << st.message() << "\n";
      return 2;
    }
  }
  if (Status st = args.options.Validate(); !st.ok()) {
    std::cerr << "strata blockserver: " << st.message() << "\n";
    return 2;
  }
  if (Status st = InitLogging("blockserver-" + args.options.id, args.log_level, args.log_file); !st.ok()) {
    std::cerr << "strata blockserver: " << st.message() << "\n";
    return 2;
  }
  auto auth = LoadRoleAuth("blockserver " + args.options.id, args.secret_file);
  if (!auth.ok()) {
    spdlog::error("strata blockserver: {}", auth.status().ToString());
    return 2;
  }
  args.options.auth = *auth;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  block::BlockServer server(args.options, SystemClock::Default());
  if (Status st = server.Start(); !st.ok()) {
    spdlog::error("blockserver {} failed to start: {}", args.options.id, st.ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("blockserver {}: signal {}, stopping", args.options.id, sig);
  server.Stop();
  return 0;
}

}  // namespace

void RegisterBlockServerCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BlockServerArgs>();
  auto& o = args->options;
  auto* cmd = app.add_subcommand("blockserver", "Run a blockserver (serves volume segments, data in the dfs)");
  cmd->add_option("--id", o.id, "Stable id of this blockserver")->required();
  cmd->add_option("--manager", o.manager, "Blockmanager RPC endpoint HOST:PORT")->required();
  cmd->add_option("--master", o.master, "dfs master RPC endpoint HOST:PORT")->required();
  cmd->add_option("--host", o.host, "Address to serve on")->capture_default_str();
  cmd->add_option("--port", o.port, "RPC port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--http-port", o.http_port, "Admin HTTP port for /metrics and /status (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 65535));
  cmd->add_option("--config", args->config, "YAML file; its `blockserver:` section sets limits and intervals");
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn or error")->capture_default_str();
  cmd->add_option("--log-file", args->log_file, "Log to this file instead of stderr");
  AddRoleSecretOption(cmd, &args->secret_file);
  cmd->callback([args, exit_code] { *exit_code = RunBlockServer(*args); });
}

}  // namespace strata::cli
