#include "dfs/chunkserver/store/disk.h"

#include <bit>

#include "common/logging.h"

namespace strata::dfs {

void LatencyWindow::Observe(uint64_t micros) {
  int bucket = std::min<int>(kBuckets - 1, static_cast<int>(std::bit_width(micros)));
  std::lock_guard lock(mu_);
  ++buckets_[bucket];
  ++count_;
}

LatencyWindow::Snapshot LatencyWindow::Drain() {
  std::lock_guard lock(mu_);
  Snapshot snap = SnapshotLocked();
  buckets_.fill(0);
  count_ = 0;
  return snap;
}

LatencyWindow::Snapshot LatencyWindow::Peek() {
  std::lock_guard lock(mu_);
  return SnapshotLocked();
}

LatencyWindow::Snapshot LatencyWindow::SnapshotLocked() const {
  Snapshot snap;
  snap.ops = count_;
  if (count_ > 0) {
    auto quantile = [&](double q) {
      uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
      uint64_t seen = 0;
      for (int i = 0; i < kBuckets; ++i) {
        seen += buckets_[i];
        if (seen >= rank) return uint64_t{1} << i;  // upper bound of the bucket
      }
      return uint64_t{1} << (kBuckets - 1);
    };
    snap.p50_us = quantile(0.50);
    snap.p99_us = quantile(0.99);
  }
  return snap;
}

Disk::Disk(uint32_t index, std::string path, MetricsRegistry* metrics)
    : index_(index), path_(std::move(path)), chunks_dir_(path_ + "/chunks") {
  std::string labels = "disk=\"" + std::to_string(index_) + "\"";
  write_latency_ = metrics->GetHistogram("strata_chunkserver_disk_write_seconds",
                                         "Latency of chunk writes including fdatasync, per disk", labels);
  failures_ = metrics->GetCounter("strata_chunkserver_disk_failures_total",
                                  "Times a disk was marked failed", labels);
  returns_ = metrics->GetCounter("strata_chunkserver_disk_returns_total",
                                 "Times a failed disk was verified and returned to service", labels);
}

std::string Disk::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

void Disk::NoteStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kNoSpace:
      Fail(st.ToString(), /*replicas_lost=*/false, st.code());
      break;
    case StatusCode::kIoError:
    case StatusCode::kPermissionDenied:
      Fail(st.ToString(), /*replicas_lost=*/true, st.code());
      break;
    default:
      break;
  }
}

void Disk::MarkFailed(const std::string& reason, bool replicas_lost) {
  Fail(reason, replicas_lost, StatusCode::kOk);
}

void Disk::Fail(const std::string& reason, bool replicas_lost, StatusCode code) {
  errors_.fetch_add(1, std::memory_order_acq_rel);
  {
    std::lock_guard lock(mu_);
    if (replicas_lost) readable_.store(false, std::memory_order_release);
    if (failed_.load()) return;
    failure_ = reason;
    failure_code_ = code;
    failed_.store(true, std::memory_order_release);
    transitions_.fetch_add(1, std::memory_order_acq_rel);
  }
  failures_->Add();
  spdlog::error("disk {} ({}) marked failed: {}", index_, path_, reason);
}

void Disk::Refuse(const std::string& reason) {
  refused_.store(true, std::memory_order_release);
  MarkFailed(reason, /*replicas_lost=*/true);
}

StatusCode Disk::failure_code() const {
  std::lock_guard lock(mu_);
  return failure_code_;
}

void Disk::ReturnToService() {
  std::string was;
  {
    std::lock_guard lock(mu_);
    if (!failed_.load() || refused_.load()) return;
    was = failure_;
    failure_.clear();
    failure_code_ = StatusCode::kOk;
    readable_.store(true, std::memory_order_release);
    failed_.store(false, std::memory_order_release);
    transitions_.fetch_add(1, std::memory_order_acq_rel);
  }
  returns_->Add();
  spdlog::warn("disk {} ({}) is back in service (it had failed: {})", index_, path_, was);
}

Status Disk::CheckHealthy() const {
  if (!failed()) return Status::Ok();
  return Status::IoError("disk " + std::to_string(index_) + " (" + path_ + ") failed: " + failure());
}

void Disk::ObserveWrite(uint64_t micros) {
  write_latency_->Observe(micros);
  window_.Observe(micros);
}

}  // namespace strata::dfs
