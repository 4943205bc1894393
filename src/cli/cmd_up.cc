// strata up / strata down: a local cluster under one directory.
#include <unistd.h>

#include <climits>
#include <iostream>

#include "cli/admin_options.h"
#include "cli/commands.h"
#include "cli/local_cluster.h"

namespace strata::cli {
namespace {

std::string SelfPath() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "strata";
  return std::string(buf, static_cast<size_t>(n));
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

void PrintSummary(const nlohmann::json& doc) {
  std::cout << "Strata is up in " << doc["dir"].get<std::string>() << "\n";
  if (doc.contains("masters")) {
    for (const auto& e : doc["etcd"]["members"]) {
      std::cout << "  etcd          " << e["client"].get<std::string>() << "  " << e["id"].get<std::string>() << "\n";
    }
    for (const auto& m : doc["masters"]) {
      std::cout << "  master        " << m["addr"].get<std::string>() << "  " << m["id"].get<std::string>()
                << " (metrics " << m["metrics"].get<std::string>() << ")\n";
    }
    std::cout << "  (one master leads, the others stand by; `strata cluster status` shows which)\n";
  } else {
    std::cout << "  master        " << doc["master"].get<std::string>() << "  (metrics "
              << doc["master_metrics"].get<std::string>() << ")\n";
  }
  for (const auto& cs : doc["chunkservers"]) {
    std::cout << "  chunkserver   " << cs["addr"].get<std::string>() << "  " << cs["id"].get<std::string>() << " "
              << cs["rack"].get<std::string>() << ", " << cs["disks"].size() << " disks\n";
  }
  if (doc.contains("blockmanager")) {
    std::cout << "  blockmanager  " << doc["blockmanager"]["addr"].get<std::string>() << "\n";
    for (const auto& bs : doc["blockservers"]) {
      std::cout << "  blockserver   " << bs["addr"].get<std::string>() << "  " << bs["id"].get<std::string>() << "\n";
    }
    std::cout << "  nbd           " << doc["nbd"]["uri"].get<std::string>() << "VOLUME"
              << (doc["nbd"].contains("socket") ? "  (also nbd+unix:///VOLUME?socket=" +
                                                      doc["nbd"]["socket"].get<std::string>() + ")"
                                                : std::string())
              << "\n";
  }
  if (doc.contains("cache")) {
    std::cout << "  cache         redis " << doc["cache"]["resp"].get<std::string>() << "  memcached "
              << doc["cache"]["memcache"].get<std::string>() << "\n";
  }
  // Admin commands find ./var/cluster.json by themselves; from anywhere
  // else they need to be told where the master is.
  char cwd[PATH_MAX];
  bool found_here = ::getcwd(cwd, sizeof cwd) != nullptr && doc["dir"].get<std::string>() == std::string(cwd) + "/var";
  if (!found_here) std::cout << "Then: export STRATA_MASTER=" << doc["master"].get<std::string>() << "\n";
  std::cout << "Try: strata fs mkdir /logs && strata fs put FILE /logs/FILE && strata cluster status\n";
  if (doc.contains("nbd")) {
    std::cout << "     strata volume create vm1 20G && nbdinfo " << doc["nbd"]["uri"].get<std::string>() << "vm1\n";
  }
}

}  // namespace

void RegisterUpDownCommands(CLI::App& app, int* exit_code) {
  struct UpArgs {
    std::string dir = "var";
    std::string config;
    bool detach = false;
    int nbd_port = -1;
    bool ha = false;
  };
  auto args = std::make_shared<UpArgs>();
  auto* up = app.add_subcommand("up", "Start a local cluster (master, chunkservers, block roles, cache) under a directory");
  up->add_option("--dir", args->dir, "Data directory (default: ./var)");
  up->add_option("--config", args->config,
                 "Cluster YAML (shape and per-role settings; default: the one saved in DIR/cluster.yaml)");
  up->add_option("--nbd-port", args->nbd_port, "Port of the NBD gateway (default 10809 when free; 0: any free port)")
      ->check(CLI::Range(0, 65535));
  up->add_flag("--ha", args->ha,
               "Highly available masters: 3 etcd members and 3 masters on them (one leads; docs/etcd.md). Needs "
               "etcd-server; a cluster keeps the choice of its first start");
  up->add_flag("--detach", args->detach, "Return once the cluster is ready; stop it with `strata down`");
  up->callback([=] {
    // Without --config, the cluster's saved config (DIR/cluster.yaml).
    auto config = args->config.empty() ? LoadSavedLocalClusterConfig(args->dir) : LoadLocalClusterConfig(args->config);
    if (!config.ok()) {
      *exit_code = ReportError(config.status());
      return;
    }
    if (args->ha) config->ha = true;
    if (args->nbd_port >= 0) {
      if (!config->block) {
        *exit_code = ReportError(Status::InvalidArgument("--nbd-port needs the block layer, which the config disables"));
        return;
      }
      config->nbd_port = args->nbd_port;
      config->nbd_port_required = args->nbd_port != 0;
    }
    LocalCluster cluster(args->dir, *config, SelfPath());
    Status st = cluster.Start(args->detach);
    if (!st.ok()) {
      *exit_code = ReportError(st);
      return;
    }
    if (cluster.started().empty()) {
      std::cout << "Strata is already running in " << cluster.cluster_json()["dir"].get<std::string>()
                << ": every role is up, nothing was started.\n";
      PrintSummary(cluster.cluster_json());
      *exit_code = 0;
      return;
    }
    if (!cluster.kept_running().empty()) {
      std::cout << "Started the roles that were down: " << Join(cluster.started()) << " (running: "
                << Join(cluster.kept_running()) << ")\n";
    }
    PrintSummary(cluster.cluster_json());
    if (!args->detach) {
      std::cout << "Press Ctrl-C to stop.\n" << std::flush;
      st = cluster.RunForeground();
    }
    *exit_code = st.ok() ? 0 : ReportError(st);
  });

  auto down_dir = std::make_shared<std::string>("var");
  auto* down = app.add_subcommand("down", "Stop the local cluster of a directory");
  down->add_option("--dir", *down_dir, "Data directory (default: ./var)");
  down->callback([=] {
    Status st = LocalCluster::Stop(*down_dir);
    *exit_code = st.ok() ? 0 : ReportError(st);
  });
}

}  // namespace strata::cli
