// strata cluster status: chunkservers, racks, disks, replication health.
#include <iostream>

#include "cli/admin_options.h"
#include "cli/commands.h"

namespace strata::cli {
namespace {

void PrintStatus(const nlohmann::json& s) {
  std::cout << "master: " << s.value("master", std::string("?")) << "\n";
  if (s.contains("chunkservers")) {
    std::cout << "chunkservers:\n";
    for (const auto& cs : s["chunkservers"]) {
      std::cout << "  " << cs.value("id", std::string("?")) << "  " << cs.value("addr", std::string("?")) << "  rack "
                << cs.value("rack", std::string("?")) << "  " << (cs.value("alive", false) ? "alive" : "DEAD") << "\n";
      if (!cs.contains("disks")) continue;
      for (const auto& d : cs["disks"]) {
        std::cout << "    disk " << d.value("index", 0) << "  " << d.value("path", std::string("")) << "  used "
                  << HumanBytes(d.value("used_bytes", uint64_t{0})) << " / "
                  << HumanBytes(d.value("capacity_bytes", uint64_t{0})) << "  chunks " << d.value("chunks", 0)
                  << "  write p50/p99 " << d.value("write_p50_us", uint64_t{0}) << "/"
                  << d.value("write_p99_us", uint64_t{0}) << " us";
        if (d.value("failed", false)) std::cout << "  FAILED: " << d.value("failure", std::string(""));
        std::cout << "\n";
      }
    }
  }
  for (const char* key : {"chunks", "under_replicated", "recovery", "files"}) {
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
      PrintStatus(doc);
    }
    *exit_code = 0;
  });
}

}  // namespace strata::cli
