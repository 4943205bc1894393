#include "dfs/chunkserver/service/disk_fault_control.h"

#include <cmath>

#include "chunkserver.pb.h"
#include "common/logging.h"

namespace strata::dfs {
namespace {

// The latency cap keeps a typo from hanging a disk for days; a freeze is the
// way to hang one.
constexpr uint32_t kLatencyMsMax = 60'000;

Status Validate(const strata::DiskFault& f) {
  if (f.latency_ms > kLatencyMsMax) {
    return Status::InvalidArgument("latency_ms must be at most " + std::to_string(kLatencyMsMax));
  }
  if (!(f.error_rate >= 0 && f.error_rate <= 1) || std::isnan(f.error_rate)) {
    return Status::InvalidArgument("error_rate must be in 0..1");
  }
  return Status::Ok();
}

void ToProto(const strata::DiskFault& f, DiskFaultSpec* out) {
  out->set_latency_ms(f.latency_ms);
  out->set_error_rate(f.error_rate);
  out->set_no_space(f.no_space);
  out->set_frozen(f.frozen);
}

}  // namespace

Status DiskFaultControl::CheckDisk(uint32_t disk) const {
  if (!fault_fs_) {
    return Status::FailedPrecondition(
        "fault injection is disabled on this chunkserver (start it with --enable-fault-injection, or "
        "`fault_injection: true` in its chunkserver: config)");
  }
  if (disk >= disk_paths_.size()) {
    return Status::InvalidArgument("no disk " + std::to_string(disk) + " (this chunkserver has " +
                                   std::to_string(disk_paths_.size()) + ")");
  }
  return Status::Ok();
}

Status DiskFaultControl::Set(uint32_t disk, const strata::DiskFault& fault, bool off) {
  RETURN_IF_ERROR(CheckDisk(disk));
  if (off || !fault.any()) {
    fault_fs_->ClearFault(Prefix(disk));
    spdlog::warn("disk {} ({}): injected faults lifted", disk, disk_paths_[disk]);
    return Status::Ok();
  }
  RETURN_IF_ERROR(Validate(fault));
  fault_fs_->SetFault(Prefix(disk), fault);
  spdlog::warn("disk {} ({}): injected fault latency_ms={} error_rate={} no_space={} frozen={}", disk,
               disk_paths_[disk], fault.latency_ms, fault.error_rate, fault.no_space, fault.frozen);
  return Status::Ok();
}

Result<strata::DiskFault> DiskFaultControl::Get(uint32_t disk) const {
  if (!fault_fs_ || disk >= disk_paths_.size()) return strata::DiskFault{};
  return fault_fs_->GetFault(Prefix(disk));
}

void DiskFaultControl::Register(rpc::RpcServer* server) {
  server->RegisterTyped<DiskFaultRequest, DiskFaultResponse>(
      CHUNKSERVER_DISK_FAULT, "disk_fault",
      [this](const DiskFaultRequest& req, std::string&, DiskFaultResponse* resp, std::string*) -> Status {
        strata::DiskFault fault;
        fault.latency_ms = req.fault().latency_ms();
        fault.error_rate = req.fault().error_rate();
        fault.no_space = req.fault().no_space();
        fault.frozen = req.fault().frozen();
        RETURN_IF_ERROR(Set(req.disk(), fault, req.off()));
        ASSIGN_OR_RETURN(strata::DiskFault now, Get(req.disk()));
        resp->set_disk(req.disk());
        resp->set_path(disk_paths_[req.disk()]);
        ToProto(now, resp->mutable_fault());
        return Status::Ok();
      });
}

}  // namespace strata::dfs
