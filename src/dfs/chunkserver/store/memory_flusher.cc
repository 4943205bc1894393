#include "dfs/chunkserver/store/memory_flusher.h"

#include <algorithm>

#include "common/logging.h"

namespace strata::dfs {
namespace {

// A disk found slow takes memory-mode appends again once this many slow-flush
// periods have passed since its last flush (the next flush re-measures it).
constexpr uint64_t kSlowMemoryPeriods = 10;

}  // namespace

MemoryFlusher::MemoryFlusher(MemoryFlusherOptions options, std::vector<Disk*> disks, Clock* clock,
                             MetricsRegistry* metrics)
    : options_(options), clock_(clock) {
  for (Disk* d : disks) {
    auto q = std::make_unique<DiskQueue>();
    q->disk = d;
    queues_.push_back(std::move(q));
  }
  flushes_ = metrics->GetCounter("strata_chunkserver_memory_flushes_total",
                                 "Background syncs of memory-durability appends");
  flushed_bytes_ = metrics->GetCounter("strata_chunkserver_memory_flushed_bytes_total",
                                       "Memory-durability bytes made durable in the background");
  refused_ = metrics->GetCounter("strata_chunkserver_memory_appends_refused_total",
                                 "Memory-durability appends refused (disk slow, failed or its queue long)");
  deadline_misses_ = metrics->GetCounter("strata_chunkserver_memory_flush_failures_total",
                                         "Disks whose memory-durability data missed its flush deadline or failed to flush");
}

MemoryFlusher::~MemoryFlusher() { Stop(); }

void MemoryFlusher::SetListener(BadReplicaListener listener) {
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(listener);
}

void MemoryFlusher::Start() {
  started_ = true;
  for (auto& q : queues_) {
    DiskQueue* raw = q.get();
    q->thread = std::thread([this, raw] { FlushLoop(raw); });
  }
  watchdog_ = std::thread([this] { WatchdogLoop(); });
}

void MemoryFlusher::Stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  for (auto& q : queues_) {
    { std::lock_guard lock(q->mu); }
    q->cv.notify_all();
  }
  {
    std::lock_guard lock(watchdog_mu_);
    watchdog_cv_.notify_all();
  }
  for (auto& q : queues_) {
    if (q->thread.joinable()) q->thread.join();
  }
  if (watchdog_.joinable()) watchdog_.join();
}

Status MemoryFlusher::Admit(const Disk* disk, uint64_t bytes) const {
  auto refuse = [&](const std::string& why) {
    refused_->Add();
    return Status::Unavailable("disk " + std::to_string(disk->index()) + " refuses memory-durability appends: " + why);
  };
  if (disk->failed()) return refuse("failed (" + disk->failure() + ")");
  const DiskQueue& q = *queues_.at(disk->index());
  uint64_t dirty = q.dirty_bytes.load();
  if (dirty + bytes > options_.dirty_bytes_max) {
    return refuse(std::to_string(dirty) + " unsynced bytes queued (limit " + std::to_string(options_.dirty_bytes_max) +
                  ")");
  }
  uint64_t now = clock_->NowMicros();
  uint64_t slow_us = options_.slow_flush_ms * 1000;
  uint64_t started = q.flush_started_us.load();
  if (started && now > started && now - started > slow_us) {
    return refuse("slow: a flush has been running for " + std::to_string((now - started) / 1000) + " ms");
  }
  uint64_t last = q.last_flush_us.load();
  uint64_t ended = q.last_flush_end_us.load();
  if (last > slow_us && now - ended < kSlowMemoryPeriods * slow_us) {
    return refuse("slow: its last flush took " + std::to_string(last / 1000) + " ms");
  }
  return Status::Ok();
}

void MemoryFlusher::Enqueue(const std::shared_ptr<Replica>& replica, uint64_t bytes) {
  DiskQueue& q = *queues_.at(replica->disk()->index());
  bool added;
  {
    std::lock_guard lock(q.mu);
    added = q.dirty.emplace(replica.get(), replica).second;
    q.dirty_bytes += bytes;
  }
  // A replica already queued will be flushed by the round to come: only a
  // newly dirty one needs to wake the flusher (which waits on an empty queue).
  if (added) q.cv.notify_one();
}

Result<uint64_t> MemoryFlusher::FlushNow(const std::shared_ptr<Replica>& replica) {
  DiskQueue& q = *queues_.at(replica->disk()->index());
  uint64_t start = clock_->NowMicros();
  Result<uint64_t> made = replica->Flush();
  uint64_t took = clock_->NowMicros() - start;
  if (!made.ok()) {
    if (made.status().code() != StatusCode::kNotFound) q.disk->NoteStatus(made.status());
    return made.status();
  }
  if (*made > 0) {
    q.disk->ObserveWrite(took);
    q.last_flush_us = took;
    q.last_flush_end_us = start + took;
    flushes_->Add();
    flushed_bytes_->Add(*made);
  }
  std::lock_guard lock(q.mu);
  auto it = q.dirty.find(replica.get());
  if (it != q.dirty.end()) {
    uint64_t left = replica->State().unsynced_bytes;
    if (left == 0) {
      q.reported.erase(it->first);
      q.dirty.erase(it);
    }
    uint64_t dirty = 0;
    for (const auto& [key, r] : q.dirty) dirty += r->State().unsynced_bytes;
    q.dirty_bytes = dirty;
  }
  return made;
}

uint64_t MemoryFlusher::DirtyBytes(uint32_t index) const { return queues_.at(index)->dirty_bytes.load(); }

// Syncs every queued replica of one disk, round after round.
void MemoryFlusher::FlushLoop(DiskQueue* q) {
  while (true) {
    std::vector<std::shared_ptr<Replica>> batch;
    {
      std::unique_lock lock(q->mu);
      q->cv.wait(lock, [&] { return stopping_.load() || !q->dirty.empty(); });
      if (q->dirty.empty()) return;  // stopping, nothing left
      // Let a burst gather: one fdatasync then covers all of it.
      if (options_.flush_batch_ms > 0) {
        q->cv.wait_for(lock, std::chrono::milliseconds(options_.flush_batch_ms), [&] { return stopping_.load(); });
      }
      for (const auto& [key, r] : q->dirty) batch.push_back(r);
    }
    // Each replica's sync is one write of the disk: timed on its own, both
    // for the latency the disk reports and for the slow-disk refusal.
    uint64_t flushed = 0, slowest = 0;
    Status failure;
    for (const auto& r : batch) {
      uint64_t start = clock_->NowMicros();
      q->flush_started_us = start;
      Result<uint64_t> made = r->Flush();
      uint64_t took = clock_->NowMicros() - start;
      q->flush_started_us = 0;
      if (made.ok()) {
        if (*made > 0) {
          flushed += *made;
          slowest = std::max(slowest, took);
          q->disk->ObserveWrite(took);
          q->last_flush_us = took;
          q->last_flush_end_us = start + took;
        }
      } else if (made.status().code() != StatusCode::kNotFound && failure.ok()) {
        failure = made.status();
      }
    }
    if (flushed) {
      flushes_->Add();
      flushed_bytes_->Add(flushed);
      q->last_flush_us = slowest;
    }
    if (!failure.ok()) {
      q->disk->NoteStatus(failure);
      Fail(q, "memory flush failed: " + failure.ToString());
    }
    // Clean or deleted replicas leave the queue; the queue's byte count is
    // recomputed from what is left. A disk whose replicas are no longer
    // trusted reports (once) and drops the rest; a disk that is merely full
    // keeps being flushed.
    if (!q->disk->readable()) Fail(q, "disk failed: " + q->disk->failure());
    std::lock_guard lock(q->mu);
    uint64_t dirty = 0;
    for (auto it = q->dirty.begin(); it != q->dirty.end();) {
      ReplicaState st = it->second->State();
      if (st.unsynced_bytes == 0 || it->second->removed() || !q->disk->readable()) {
        q->reported.erase(it->first);
        it = q->dirty.erase(it);
      } else {
        dirty += st.unsynced_bytes;
        ++it;
      }
    }
    q->dirty_bytes = dirty;
    if (stopping_ && q->dirty.empty()) return;
  }
}

void MemoryFlusher::WatchdogLoop() {
  uint64_t period_ms = std::clamp<uint64_t>(options_.flush_delay_ms_max / 10, 10, 1000);
  std::unique_lock lock(watchdog_mu_);
  while (!stopping_) {
    watchdog_cv_.wait_for(lock, std::chrono::milliseconds(period_ms));
    if (stopping_) break;
    lock.unlock();
    CheckDeadlines();
    lock.lock();
  }
}

void MemoryFlusher::CheckDeadlines() {
  uint64_t now = clock_->NowMicros();
  uint64_t deadline_us = options_.flush_delay_ms_max * 1000;
  for (auto& q : queues_) {
    uint64_t oldest_age_us = 0;
    {
      std::lock_guard lock(q->mu);
      for (const auto& [key, r] : q->dirty) {
        if (q->reported.count(key)) continue;
        uint64_t since = r->State().unsynced_since_us;
        if (since && now > since) oldest_age_us = std::max(oldest_age_us, now - since);
      }
    }
    if (oldest_age_us > deadline_us) {
      Fail(q.get(), "memory flush deadline of " + std::to_string(options_.flush_delay_ms_max) +
                        " ms missed (unsynced data " + std::to_string(oldest_age_us / 1000) + " ms old)");
    }
  }
}

// The disk can no longer keep the memory-mode promise: it takes nothing
// more, and every replica with unsynced data on it is reported once.
void MemoryFlusher::Fail(DiskQueue* q, const std::string& reason) {
  if (!q->disk->failed()) deadline_misses_->Add();
  q->disk->MarkFailed(reason, /*replicas_lost=*/true);
  std::vector<uint64_t> report;
  {
    std::lock_guard lock(q->mu);
    for (const auto& [key, r] : q->dirty) {
      if (q->reported.emplace(key, true).second) report.push_back(r->chunk_id());
    }
  }
  if (report.empty()) return;
  spdlog::error("disk {} ({}): {}; reporting {} replicas with unsynced data", q->disk->index(), q->disk->path(),
                reason, report.size());
  BadReplicaListener listener;
  {
    std::lock_guard lock(listener_mu_);
    listener = listener_;
  }
  if (!listener) return;
  for (uint64_t id : report) listener(id, reason);
}

}  // namespace strata::dfs
