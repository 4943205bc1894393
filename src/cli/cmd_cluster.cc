// strata cluster status: chunkservers, racks, disks, replication health.
#include <iostream>

#include "cli/admin_options.h"
#include "cli/commands.h"

namespace strata::cli {
namespace {

void PrintStatus(const std::string& master, const nlohmann::json& s) {
  std::cout << "master: " << master << "  (up " << s.value("uptime_s", uint64_t{0}) << " s)\n";
  if (s.contains("totals")) {
    const auto& t = s["totals"];
    std::cout << "capacity: " << HumanBytes(t.value("used_bytes", uint64_t{0})) << " used, "
              << HumanBytes(t.value("free_bytes", uint64_t{0})) << " free of "
              << HumanBytes(t.value("capacity_bytes", uint64_t{0})) << "; " << t.value("alive", 0) << "/"
              << t.value("chunkservers", 0) << " chunkservers alive, " << t.value("failed_disks", 0) << "/"
              << t.value("disks", 0) << " disks failed\n";
  }
  if (s.contains("racks")) {
    std::cout << "racks:";
    for (const auto& r : s["racks"]) {
      std::cout << "  " << r.value("name", std::string("?")) << " (" << r.value("alive", 0) << "/"
                << r.value("chunkservers", 0) << " alive)";
    }
    std::cout << "\n";
  }
  if (s.contains("chunkservers")) {
    std::cout << "chunkservers:\n";
    for (const auto& cs : s["chunkservers"]) {
      std::cout << "  " << cs.value("id", std::string("?")) << "  " << cs.value("addr", std::string("?")) << "  rack "
                << cs.value("rack", std::string("?")) << "  " << (cs.value("alive", false) ? "alive" : "DEAD");
      std::string health = cs.value("health", std::string("normal"));
      if (health != "normal") std::cout << "  " << health << ": " << cs.value("health_reason", std::string(""));
      std::cout << "\n";
      if (!cs.contains("disks")) continue;
      for (const auto& d : cs["disks"]) {
        std::cout << "    disk " << d.value("index", 0) << "  " << d.value("path", std::string("")) << "  used "
                  << HumanBytes(d.value("used_bytes", uint64_t{0})) << " / "
                  << HumanBytes(d.value("capacity_bytes", uint64_t{0})) << "  chunks " << d.value("chunks", 0)
                  << "  write p50/p99 " << d.value("write_p50_us", uint64_t{0}) << "/"
                  << d.value("write_p99_us", uint64_t{0}) << " us";
        if (d.value("failed", false)) std::cout << "  FAILED: " << d.value("failure", std::string(""));
        std::string disk_health = d.value("health", std::string("normal"));
        if (disk_health != "normal") std::cout << "  " << disk_health << ": " << d.value("slow_reason", std::string(""));
        std::cout << "\n";
      }
    }
  }
  if (s.contains("alerts") && s["alerts"].is_array()) {
    for (const auto& a : s["alerts"]) {
      std::cout << "ALERT " << a.value("kind", std::string("")) << ": " << a.value("message", std::string("")) << "\n";
    }
  }
  for (const char* key : {"chunks", "recovery", "files", "directories"}) {
    if (s.contains(key)) std::cout << key << ": " << s[key].dump() << "\n";
  }
}

}  // namespace

void RegisterClusterCommand(CLI::App& app, int* exit_code) {
  auto* cluster = app.add_subcommand("cluster", "Cluster administration");
  cluster->require_subcommand(1);
  auto opts = std::make_shared<AdminOptions>();
  auto* status = cluster->add_subcommand("status", "Chunkservers, racks, disks, under-replicated chunks, recovery");
  AddAdminOptions(status, opts.get());
  status->callback([=] {
    auto client = ConnectDfs(*opts);
    if (!client.ok()) {
      *exit_code = ReportError(client.status());
      return;
    }
    auto json = (*client)->ClusterStatusJson();
    if (!json.ok()) {
      *exit_code = ReportError(json.status());
      return;
    }
    auto doc = nlohmann::json::parse(*json, nullptr, false);
    if (opts->json || doc.is_discarded()) {
      std::cout << (doc.is_discarded() ? *json : doc.dump(2)) << "\n";
    } else {
      PrintStatus((*client)->options().master, doc);
    }
    *exit_code = 0;
  });
}

}  // namespace strata::cli
