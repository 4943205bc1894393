// strata cluster disk: one chunkserver disk, as the master sees it, and
// bringing a failed one back.
//
//   strata cluster disk SERVER DISK [--json]            the disk's state
//   strata cluster disk SERVER DISK --online [--json]   return it to service
//
// SERVER is a chunkserver id (cs3) or its host:port. --online asks the
// chunkserver to check the disk (same disk, a passing probe, room above the
// reserve, every replica read back against its CRCs) and serve it again; it
// fails with the reason, changing nothing, while the disk is still bad. A
// disk normally returns by itself after `disk_online_probes` passing probes;
// this is for the disk that failed more than `disk_auto_online_max` times or
// a chunkserver run with `disk_online_probes: 0`.
#include <iostream>

#include "chunkserver.pb.h"
#include "cli/admin_options.h"
#include "cli/commands.h"

namespace strata::cli {
namespace {

struct DiskArgs {
  AdminOptions admin;
  std::string server;
  uint32_t disk = 0;
  bool online = false;
};

// The disk's entry in the master's status, or NotFound.
Result<nlohmann::json> DiskStatus(dfs::DfsClient* client, const std::string& server, uint32_t disk) {
  ASSIGN_OR_RETURN(std::string text, client->ClusterStatusJson());
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.contains("chunkservers")) {
    return Status::Internal("the master's status is not the JSON expected");
  }
  for (const auto& cs : doc["chunkservers"]) {
    if (cs.value("id", std::string()) != server && cs.value("addr", std::string()) != server) continue;
    for (const auto& d : cs.value("disks", nlohmann::json::array())) {
      if (d.value("index", uint32_t{0}) == disk) {
        nlohmann::json out = d;
        out["server"] = cs.value("id", std::string());
        out["addr"] = cs.value("addr", std::string());
        return out;
      }
    }
    return Status::NotFound("chunkserver " + server + " has no disk " + std::to_string(disk));
  }
  return Status::NotFound("no chunkserver " + server);
}

void PrintDisk(const nlohmann::json& d) {
  std::cout << d.value("server", std::string()) << " disk " << d.value("index", 0) << "  "
            << d.value("path", std::string()) << "  ";
  if (d.value("failed", false)) {
    std::cout << "FAILED: " << d.value("failure", std::string());
  } else {
    std::cout << "in service";
  }
  std::cout << "  chunks " << d.value("chunks", 0) << "  used " << HumanBytes(d.value("used_bytes", uint64_t{0}))
            << " / " << HumanBytes(d.value("capacity_bytes", uint64_t{0})) << "\n";
}

Status RunDisk(const DiskArgs& a) {
  ASSIGN_OR_RETURN(auto client, ConnectDfs(a.admin));
  if (!a.online) {
    ASSIGN_OR_RETURN(nlohmann::json d, DiskStatus(client.get(), a.server, a.disk));
    if (a.admin.json) {
      std::cout << d.dump(2) << "\n";
    } else {
      PrintDisk(d);
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::string addr, ResolveChunkserver(client.get(), a.server));
  dfs::DiskOnlineRequest req;
  req.set_disk(a.disk);
  dfs::DiskOnlineResponse resp;
  // Checking a disk reads back each of its replicas: allow it minutes.
  RETURN_IF_ERROR(
      client->rpc().CallTyped(addr, dfs::CHUNKSERVER_DISK_ONLINE, req, &resp, {}, nullptr, 10 * 60 * 1000));
  if (a.admin.json) {
    std::cout << nlohmann::json{{"server", a.server},      {"addr", addr},
                                {"disk", resp.disk()},     {"path", resp.path()},
                                {"was_failed", resp.was_failed()}, {"chunks", resp.chunks()}}
                     .dump(2)
              << "\n";
  } else if (resp.was_failed()) {
    std::cout << a.server << " disk " << resp.disk() << " (" << resp.path() << ") is back in service with "
              << resp.chunks() << " chunks\n";
  } else {
    std::cout << a.server << " disk " << resp.disk() << " (" << resp.path() << ") was already in service\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterClusterDiskCommand(CLI::App* cluster, int* exit_code) {
  auto a = std::make_shared<DiskArgs>();
  auto* disk = cluster->add_subcommand("disk", "Show a chunkserver disk, or bring a failed one back (--online)");
  AddAdminOptions(disk, &a->admin);
  disk->add_option("server", a->server, "Chunkserver id (e.g. cs3) or host:port")->required();
  disk->add_option("disk", a->disk, "Disk index on that chunkserver")->required();
  disk->add_flag("--online", a->online,
                 "Check the disk (probe, free space, every replica against its CRCs) and return it to service");
  disk->callback([=] {
    Status st = RunDisk(*a);
    *exit_code = st.ok() ? 0 : ReportError(st, a->admin.json);
  });
}

}  // namespace strata::cli
