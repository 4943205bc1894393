// strata master: runs the dfs master role until SIGTERM/SIGINT.
#include <csignal>
#include <iostream>

#include "cli/commands.h"
#include "cli/role_secret.h"
#include "common/logging.h"
#include "dfs/master/master_server.h"

namespace strata::cli {
namespace {

struct MasterFlags {
  std::string host = "127.0.0.1";
  int port = 7000;
  int http_port = 7001;
  std::string data_dir;
  std::string config;
  std::string log_level = "info";
  std::string log_file;
  std::string secret_file;
  std::string etcd;         // etcd client URLs: metadata in etcd, several masters (docs/etcd.md)
  std::string etcd_prefix;  // overrides etcd_key_prefix
};

int RunMaster(const MasterFlags& f) {
  Status st = InitLogging("master", f.log_level, f.log_file);
  if (!st.ok()) {
    std::cerr << "strata master: " << st.ToString() << "\n";
    return 2;
  }
  dfs::master::MasterServerOptions options;
  options.host = f.host;
  options.port = f.port;
  options.http_port = f.http_port;
  options.data_dir = f.data_dir;
  auto auth = LoadRoleAuth("master", f.secret_file);
  if (!auth.ok()) {
    spdlog::error("strata master: {}", auth.status().ToString());
    return 2;
  }
  options.auth = *auth;
  if (!f.config.empty()) {
    auto loaded = dfs::master::LoadMasterOptions(f.config);
    if (!loaded.ok()) {
      spdlog::error("strata master: {}", loaded.status().ToString());
      return 2;
    }
    options.master = *loaded;
  }
  if (!f.etcd.empty()) {
    options.master.meta_store = "etcd";
    options.master.etcd_endpoints = f.etcd;
  }
  if (!f.etcd_prefix.empty()) options.master.etcd_key_prefix = f.etcd_prefix;
  // Block the stop signals before any thread starts so that only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  dfs::master::MasterServer server(options, SystemClock::Default());
  st = server.Start();
  if (!st.ok()) {
    spdlog::error("strata master: {}", st.ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("master: signal {} received, stopping", sig);
  server.Stop();
  return 0;
}

}  // namespace

void RegisterMasterCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<MasterFlags>();
  auto* cmd = app.add_subcommand("master", "Run the dfs master (namespace, chunk map, membership, recovery)");
  cmd->add_option("--host", flags->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", flags->port, "RPC port (0: any free port)")->capture_default_str();
  cmd->add_option("--http-port", flags->http_port, "Admin HTTP port for /metrics and /status")->capture_default_str();
  cmd->add_option("--data-dir", flags->data_dir, "Directory of the metadata store")->required();
  cmd->add_option("--etcd", flags->etcd,
                  "Keep the metadata in etcd (comma-separated client URLs) and run as one of several masters: "
                  "the leader serves, standbys redirect to it (meta_store: etcd)");
  cmd->add_option("--etcd-prefix", flags->etcd_prefix, "Key prefix of this cluster's masters in etcd (etcd_key_prefix)");
  cmd->add_option("--config", flags->config, "YAML file with master options (top level or a master: section)");
  cmd->add_option("--log-level", flags->log_level, "trace, debug, info, warn or error")->capture_default_str();
  cmd->add_option("--log-file", flags->log_file, "Log to this file instead of stderr");
  AddRoleSecretOption(cmd, &flags->secret_file);
  cmd->callback([flags, exit_code] { *exit_code = RunMaster(*flags); });
}

}  // namespace strata::cli
