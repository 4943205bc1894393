#include "dfs/chunkserver/store/disk_prober.h"

#include <chrono>
#include <string>

#include "common/logging.h"

namespace strata::dfs {
namespace {

constexpr size_t kProbeBytes = 4096;

}  // namespace

DiskProber::DiskProber(uint64_t interval_ms, uint64_t hang_ms, std::vector<Disk*> disks, FileSystem* fs,
                       Clock* clock, MetricsRegistry* metrics)
    : interval_ms_(interval_ms), hang_ms_(hang_ms), disks_(std::move(disks)), fs_(fs), clock_(clock) {
  for (size_t i = 0; i < disks_.size(); ++i) started_us_.push_back(std::make_unique<std::atomic<uint64_t>>(0));
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

Status DiskProber::ProbeOnce(Disk* disk, bool tell_listener) {
  if (disk->refused()) return disk->CheckHealthy();
  const bool was_failed = disk->failed();
  static const std::string kBlock(kProbeBytes, 'p');
  uint64_t start = clock_->NowMicros();
  std::atomic<uint64_t>* started = nullptr;
  for (size_t i = 0; i < disks_.size(); ++i) {
    if (disks_[i] == disk) started = started_us_[i].get();
  }
  if (started) started->store(start);
  Status st = [&]() -> Status {
    ASSIGN_OR_RETURN(auto file, fs_->OpenFile(disk->path() + "/probe", OpenMode::kCreate));
    RETURN_IF_ERROR(file->WriteAt(0, kBlock.data(), kBlock.size()));
    return file->Sync();
  }();
  if (started) started->store(0);
  if (st.ok()) {
    disk->ObserveWrite(clock_->NowMicros() - start);
    probes_->Add();
  } else {
    disk->NoteStatus(st);
  }
  if (was_failed && tell_listener && failed_listener_) failed_listener_(disk, st);
  return st;
}

void DiskProber::CheckHung() {
  uint64_t now = clock_->NowMicros();
  for (size_t i = 0; i < disks_.size(); ++i) {
    uint64_t started = started_us_[i]->load();
    if (!started || now <= started || disks_[i]->failed()) continue;
    uint64_t age_us = now - started;
    if (age_us > hang_ms_ * 1000) {
      disks_[i]->MarkFailed("hung: a 4 KiB write+fdatasync has not finished for " + std::to_string(age_us / 1000) +
                                " ms",
                            /*replicas_lost=*/true);
    } else if (age_us > interval_ms_ * 1000) {
      disks_[i]->ObserveWrite(age_us);
    }
  }
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
