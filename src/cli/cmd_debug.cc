// strata debug: tools for rehearsing failures on a running cluster.
//
//   strata debug disk-fault --server S --disk D [--latency-ms N]
//       [--error-rate R] [--no-space] [--freeze] [--off] [--json]
//
// injects a fault into disk D of chunkserver S (its id, e.g. cs3, or its
// host:port), replacing the disk's earlier fault; --off lifts it. The
// chunkserver must run with `fault_injection: true` (`strata up` sets it).
#include <iostream>

#include "chunkserver.pb.h"
#include "cli/admin_options.h"
#include "cli/commands.h"

namespace strata::cli {
namespace {

struct DiskFaultArgs {
  AdminOptions admin;
  std::string server;
  uint32_t disk = 0;
  uint32_t latency_ms = 0;
  double error_rate = 0;
  bool no_space = false;
  bool freeze = false;
  bool off = false;
};

nlohmann::json FaultJson(const dfs::DiskFaultSpec& f) {
  return {{"latency_ms", f.latency_ms()}, {"error_rate", f.error_rate()}, {"no_space", f.no_space()},
          {"frozen", f.frozen()}};
}

std::string Describe(const dfs::DiskFaultSpec& f) {
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  if (f.latency_ms()) add("+" + std::to_string(f.latency_ms()) + " ms per read/sync");
  if (f.error_rate() > 0) add("EIO rate " + std::to_string(f.error_rate()));
  if (f.no_space()) add("ENOSPC");
  if (f.frozen()) add("frozen");
  return out.empty() ? "no fault" : out;
}

Status RunDiskFault(const DiskFaultArgs& a) {
  bool any = a.latency_ms || a.error_rate > 0 || a.no_space || a.freeze;
  if (a.off && any) return Status::InvalidArgument("--off cannot be combined with a fault");
  if (!a.off && !any) {
    return Status::InvalidArgument("give a fault (--latency-ms, --error-rate, --no-space, --freeze) or --off");
  }
  ASSIGN_OR_RETURN(auto client, ConnectDfs(a.admin));
  ASSIGN_OR_RETURN(std::string addr, ResolveChunkserver(client.get(), a.server));
  dfs::DiskFaultRequest req;
  req.set_disk(a.disk);
  req.set_off(a.off);
  req.mutable_fault()->set_latency_ms(a.latency_ms);
  req.mutable_fault()->set_error_rate(a.error_rate);
  req.mutable_fault()->set_no_space(a.no_space);
  req.mutable_fault()->set_frozen(a.freeze);
  dfs::DiskFaultResponse resp;
  RETURN_IF_ERROR(client->rpc().CallTyped(addr, dfs::CHUNKSERVER_DISK_FAULT, req, &resp, {}, nullptr, 5000));
  if (a.admin.json) {
    std::cout << nlohmann::json{{"server", a.server},
                                {"addr", addr},
                                {"disk", resp.disk()},
                                {"path", resp.path()},
                                {"fault", FaultJson(resp.fault())}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << a.server << " disk " << resp.disk() << " (" << resp.path() << "): " << Describe(resp.fault())
              << "\n";
  }
  return Status::Ok();
}

}  // namespace

void RegisterDebugCommand(CLI::App& app, int* exit_code) {
  auto* debug = app.add_subcommand("debug", "Rehearse failures on a running cluster");
  debug->require_subcommand(1);
  auto a = std::make_shared<DiskFaultArgs>();
  auto* fault = debug->add_subcommand("disk-fault", "Inject latency, EIO, ENOSPC or a freeze into a chunkserver disk");
  AddAdminOptions(fault, &a->admin);
  fault->add_option("--server", a->server, "Chunkserver id (e.g. cs3) or host:port")->required();
  fault->add_option("--disk", a->disk, "Disk index on that chunkserver")->required();
  fault->add_option("--latency-ms", a->latency_ms, "Added to every read and sync (max 60000)");
  fault->add_option("--error-rate", a->error_rate, "Probability that an I/O call fails with EIO")
      ->check(CLI::Range(0.0, 1.0));
  fault->add_flag("--no-space", a->no_space, "Writes fail with ENOSPC; free space reads as 0");
  fault->add_flag("--freeze", a->freeze, "Reads and syncs block until --off");
  fault->add_flag("--off", a->off, "Lift every fault of the disk");
  fault->callback([=] {
    Status st = RunDiskFault(*a);
    *exit_code = st.ok() ? 0 : ReportError(st);
  });
  RegisterDebugBlockWriteCommand(debug, exit_code);
}

}  // namespace strata::cli
