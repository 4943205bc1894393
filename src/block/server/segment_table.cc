#include "block/server/segment_table.h"

#include "common/logging.h"

namespace strata::block {

std::string SegmentDir(uint64_t volume_id, uint32_t index) {
  return "/block/v" + std::to_string(volume_id) + "/s" + std::to_string(index);
}

SegmentTable::SegmentTable(LogFileStore* store, SegmentOptions defaults, uint32_t open_threads,
                           uint64_t reopen_backoff_ms, Clock* clock, ReadCache* cache)
    : store_(store), cache_(cache), defaults_(defaults), reopen_backoff_ms_(reopen_backoff_ms), clock_(clock) {
  for (uint32_t i = 0; i < open_threads; ++i) openers_.emplace_back([this] { OpenLoop(); });
}

SegmentTable::~SegmentTable() { Stop(); }

void SegmentTable::Stop() {
  std::map<SegmentKey, Slot> slots;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    slots.swap(slots_);
  }
  cv_.notify_all();
  for (auto& t : openers_) t.join();
  for (auto& [key, slot] : slots) {
    if (slot.segment) slot.segment->Close();
  }
}

void SegmentTable::ExtendLease(uint64_t until_us) {
  std::lock_guard lock(mu_);
  lease_until_us_ = std::max(lease_until_us_, until_us);
}

bool SegmentTable::LeaseValid() const {
  std::lock_guard lock(mu_);
  return clock_->NowMicros() < lease_until_us_;
}

void SegmentTable::Queue(const SegmentKey& key, Slot& slot) {
  if (slot.queued) return;
  slot.queued = true;
  to_open_.push_back(key);
  cv_.notify_one();
}

void SegmentTable::Apply(const std::vector<SegmentAssignment>& assigned) {
  std::vector<std::shared_ptr<Segment>> to_close;
  {
    std::lock_guard lock(mu_);
    std::map<SegmentKey, const SegmentAssignment*> want;
    for (const auto& a : assigned) want[{a.volume_id(), a.index()}] = &a;
    for (auto it = slots_.begin(); it != slots_.end();) {
      auto w = want.find(it->first);
      if (w == want.end() || w->second->epoch() != it->second.assignment.epoch()) {
        if (it->second.segment) to_close.push_back(std::move(it->second.segment));
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }
    uint64_t now = clock_->NowMicros();
    for (const auto& [key, a] : want) {
      auto [it, inserted] = slots_.try_emplace(key);
      Slot& slot = it->second;
      if (inserted) {
        slot.assignment = *a;
        Queue(key, slot);
        continue;
      }
      // A segment whose dfs appends failed is opened again (recovery fences
      // and replays) once the backoff has passed.
      if (slot.segment && !slot.segment->failure().ok()) {
        slot.state = "failed";
        slot.error = slot.segment->failure().ToString();
        slot.failed_at_us = now;
        to_close.push_back(std::move(slot.segment));
        slot.segment.reset();
      }
      if (!slot.segment && !slot.queued && now - slot.failed_at_us >= reopen_backoff_ms_ * 1000) Queue(key, slot);
    }
  }
  for (auto& seg : to_close) seg->Close();
}

void SegmentTable::OpenLoop() {
  for (;;) {
    SegmentKey key;
    SegmentAssignment a;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !to_open_.empty(); });
      if (stopping_) return;
      key = to_open_.front();
      to_open_.pop_front();
      auto it = slots_.find(key);
      if (it == slots_.end()) continue;
      a = it->second.assignment;
      it->second.state = "loading";
    }
    SegmentOptions o = defaults_;
    o.size_bytes = a.segment_size_bytes();
    o.block_size = a.block_size() ? a.block_size() : 4096;
    o.durability = a.durability();
    std::string dir = SegmentDir(a.volume_id(), a.index());
    uint64_t start = clock_->NowMicros();
    auto seg = Segment::Open(store_, dir, o, cache_);
    std::shared_ptr<Segment> opened;
    {
      std::lock_guard lock(mu_);
      auto it = slots_.find(key);
      bool still = it != slots_.end() && it->second.assignment.epoch() == a.epoch() && !stopping_;
      if (still) it->second.queued = false;
      if (!seg.ok()) {
        spdlog::warn("blockserver: opening segment {} (epoch {}) failed: {}", dir, a.epoch(), seg.status().ToString());
        if (still) {
          it->second.state = "failed";
          it->second.error = seg.status().ToString();
          it->second.failed_at_us = clock_->NowMicros();
        }
        continue;
      }
      opened = std::shared_ptr<Segment>(std::move(*seg));
      if (still) {
        it->second.segment = opened;
        it->second.state = "serving";
        it->second.error.clear();
        opened.reset();
        spdlog::info("blockserver: serving segment {} at epoch {} (opened in {} ms)", dir, a.epoch(),
                     (clock_->NowMicros() - start) / 1000);
      }
    }
    if (opened) opened->Close();  // unassigned while it was opening
  }
}

Result<std::shared_ptr<Segment>> SegmentTable::Find(const SegmentRef& ref) {
  std::lock_guard lock(mu_);
  auto it = slots_.find({ref.volume_id(), ref.index()});
  std::string name = "segment " + std::to_string(ref.volume_id()) + "/" + std::to_string(ref.index());
  if (it == slots_.end()) return Status::NotFound(name + " is not served here");
  if (it->second.assignment.epoch() != ref.epoch()) {
    return Status::StaleEpoch(name + " is at epoch " + std::to_string(it->second.assignment.epoch()) + ", not " +
                              std::to_string(ref.epoch()));
  }
  if (clock_->NowMicros() >= lease_until_us_) return Status::Unavailable("this blockserver's lease has expired");
  if (!it->second.segment) return Status::Unavailable(name + " is " + it->second.state);
  return it->second.segment;
}

std::vector<SegmentReport> SegmentTable::Reports() {
  std::vector<std::pair<SegmentReport, std::shared_ptr<Segment>>> items;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, slot] : slots_) {
      SegmentReport r;
      r.set_volume_id(key.volume);
      r.set_index(key.index);
      r.set_epoch(slot.assignment.epoch());
      r.set_state(slot.state);
      r.set_error(slot.error);
      items.emplace_back(std::move(r), slot.segment);
    }
  }
  std::vector<SegmentReport> out;
  for (auto& [r, seg] : items) {
    if (seg) {
      SegmentStats s = seg->stats();
      r.set_live_bytes(s.live_bytes);
      r.set_stored_bytes(s.stored_bytes);
      if (!seg->failure().ok()) {
        r.set_state("failed");
        r.set_error(seg->failure().ToString());
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::shared_ptr<Segment>> SegmentTable::Serving() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Segment>> out;
  for (const auto& [key, slot] : slots_) {
    if (slot.segment) out.push_back(slot.segment);
  }
  return out;
}

}  // namespace strata::block
