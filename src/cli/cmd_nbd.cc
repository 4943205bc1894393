// strata nbd: the NBD gateway (the EBS BlockClient on a compute host).
// Serves every volume of the blockmanager as an NBD export of the same name,
// over TCP and optionally a unix socket, until SIGTERM or SIGINT. It keeps
// nothing durable: a restarted gateway serves the same data.
//
//   strata nbd --manager HOST:PORT [--host 127.0.0.1] [--port 10809]
//       [--socket PATH] [--http-port P] [--io-timeout-ms 60000]
//       [--log-level info] [--log-file FILE]
#include <csignal>
#include <iostream>
#include <string>
#include <thread>

#include <asio.hpp>

#include "block/client/block_client.h"
#include "block/nbd/nbd_server.h"
#include "cli/commands.h"
#include "cli/role_secret.h"
#include "common/admin_http.h"
#include "common/logging.h"
#include "common/metrics.h"

namespace strata::cli {
namespace {

struct NbdArgs {
  std::string manager;
  std::string host = "127.0.0.1";
  int port = 10809;
  std::string socket;
  int http_port = 0;
  uint32_t io_timeout_ms = 60000;
  std::string log_level = "info";
  std::string log_file;
  std::string secret_file;
};

int RunNbd(const NbdArgs& args) {
  if (Status st = InitLogging("nbd", args.log_level, args.log_file); !st.ok()) {
    std::cerr << "strata nbd: " << st.message() << "\n";
    return 2;
  }
  auto auth = LoadRoleAuth("nbd", args.secret_file);
  if (!auth.ok()) {
    spdlog::error("strata nbd: {}", auth.status().ToString());
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  MetricsRegistry metrics;
  // One I/O thread for the NBD connections and the RPC connections to the
  // blockservers: a reply goes from one to the other without a thread hop.
  // Declared first: both use it until they are gone.
  asio::io_context io;
  block::BlockClientOptions co;
  co.io_context = &io;
  co.manager = args.manager;
  co.io_timeout_ms = args.io_timeout_ms;
  co.metrics = &metrics;
  co.auth = *auth;
  block::BlockClient client(co);
  block::nbd::NbdServerOptions so;
  so.host = args.host;
  so.port = args.port;
  so.unix_socket_path = args.socket;
  so.io_context = &io;
  block::nbd::NbdServer server(&client, so);
  auto port = server.Start();
  if (!port.ok()) {
    spdlog::error("strata nbd: {}", port.status().ToString());
    return 1;
  }
  Gauge* connections = metrics.GetGauge("strata_nbd_connections", "NBD connections open");
  AdminHttpServer http(&metrics, [&] {
    connections->Set(static_cast<double>(server.connection_count()));
    return nlohmann::json{{"role", "nbd"},
                          {"addr", args.host + ":" + std::to_string(*port)},
                          {"socket", args.socket},
                          {"blockmanager", args.manager},
                          {"connections", server.connection_count()}};
  });
  int http_port = -1;
  if (args.http_port >= 0) {
    auto started = http.Start(args.host, args.http_port);
    if (!started.ok()) {
      spdlog::error("strata nbd: admin HTTP: {}", started.status().ToString());
      return 1;
    }
    http_port = *started;
  }
  spdlog::info("nbd: serving volumes of blockmanager {} on {}:{}{}{}, HTTP on port {}", args.manager, args.host, *port,
               args.socket.empty() ? "" : " and ", args.socket, http_port);
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("nbd: signal {}, stopping", sig);
  if (http_port >= 0) http.Stop();
  server.Stop();
  return 0;
}

}  // namespace

void RegisterNbdCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<NbdArgs>();
  auto* cmd = app.add_subcommand("nbd", "Run the NBD gateway: every volume as an NBD export of its name");
  cmd->add_option("--manager", args->manager, "Blockmanager RPC endpoint HOST:PORT")->required();
  cmd->add_option("--host", args->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", args->port, "NBD TCP port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--socket", args->socket, "Also listen on this unix socket");
  cmd->add_option("--http-port", args->http_port, "Admin HTTP port for /metrics and /status (0: any, -1: none)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 65535));
  cmd->add_option("--io-timeout-ms", args->io_timeout_ms,
                  "A request not served within this fails with EIO (blockservers failing over are waited for)")
      ->capture_default_str()
      ->check(CLI::Range(1000u, 3600000u));
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn or error")->capture_default_str();
  cmd->add_option("--log-file", args->log_file, "Log to this file instead of stderr");
  AddRoleSecretOption(cmd, &args->secret_file);
  cmd->callback([args, exit_code] { *exit_code = RunNbd(*args); });
}

}  // namespace strata::cli
