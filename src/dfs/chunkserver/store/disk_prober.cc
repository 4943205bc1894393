#include "dfs/chunkserver/store/disk_prober.h"

#include <chrono>
#include <string>

#include "common/logging.h"

namespace strata::dfs {
namespace {

constexpr size_t kProbeBytes = 4096;

}  // namespace

DiskProber::DiskProber(uint64_t interval_ms, std::vector<Disk*> disks, FileSystem* fs, Clock* clock,
                       MetricsRegistry* metrics)
    : interval_ms_(interval_ms), disks_(std::move(disks)), fs_(fs), clock_(clock) {
  probes_ = metrics->GetCounter("strata_chunkserver_disk_probes_total", "Latency probes written to the disks");
}

DiskProber::~DiskProber() { Stop(); }

void DiskProber::Start() {
  if (interval_ms_ == 0) return;
  for (Disk* d : disks_) threads_.emplace_back([this, d] { Loop(d); });
}

void DiskProber::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

Status DiskProber::ProbeOnce(Disk* disk) {
  if (disk->failed()) return disk->CheckHealthy();
  static const std::string kBlock(kProbeBytes, 'p');
  uint64_t start = clock_->NowMicros();
  Status st = [&]() -> Status {
    ASSIGN_OR_RETURN(auto file, fs_->OpenFile(disk->path() + "/probe", OpenMode::kCreate));
    RETURN_IF_ERROR(file->WriteAt(0, kBlock.data(), kBlock.size()));
    return file->Sync();
  }();
  if (!st.ok()) {
    disk->NoteStatus(st);
    return st;
  }
  disk->ObserveWrite(clock_->NowMicros() - start);
  probes_->Add();
  return Status::Ok();
}

void DiskProber::Loop(Disk* disk) {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Status st = ProbeOnce(disk);
    if (!st.ok() && !disk->failed()) spdlog::warn("disk {} probe: {}", disk->path(), st.ToString());
    lock.lock();
  }
}

}  // namespace strata::dfs
