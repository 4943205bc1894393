#include "dfs/master/recovery.h"

#include <algorithm>

namespace strata::dfs::master {

RecoveryQueue::RecoveryQueue(const Clock* clock, const MasterOptions& options)
    : clock_(clock), options_(options),
      rate_bytes_per_sec_(options.recovery_bytes_per_sec_max),
      copies_per_server_(options.recovery_copies_per_server_max),
      tokens_bytes_(static_cast<double>(options.recovery_bytes_per_sec_max)),
      refilled_us_(clock->NowMicros()) {}

void RecoveryQueue::Dequeue(uint64_t chunk_id) {
  auto it = live_.find(chunk_id);
  if (it == live_.end()) return;
  queue_.erase({it->second, chunk_id});
  live_.erase(it);
}

void RecoveryQueue::Update(uint64_t chunk_id, uint32_t live, uint32_t wanted) {
  Dequeue(chunk_id);
  lost_.erase(chunk_id);
  if (live >= wanted) return;
  if (live == 0) {
    lost_.insert(chunk_id);
    return;
  }
  queue_.insert({live, chunk_id});
  live_[chunk_id] = live;
}

void RecoveryQueue::Forget(uint64_t chunk_id) {
  Dequeue(chunk_id);
  lost_.erase(chunk_id);
  auto it = in_flight_.find(chunk_id);
  if (it != in_flight_.end()) Finish(it);
}

std::vector<uint64_t> RecoveryQueue::Candidates(size_t max) const {
  std::vector<uint64_t> out;
  for (const auto& [live, id] : queue_) {
    if (out.size() >= max) break;
    if (!in_flight_.count(id)) out.push_back(id);
  }
  return out;
}

bool RecoveryQueue::Urgent(uint64_t chunk_id) const {
  auto it = live_.find(chunk_id);
  return it != live_.end() && it->second == 1;
}

bool RecoveryQueue::SourceHasRoom(const std::string& server, bool urgent_lane) const {
  uint32_t limit = urgent_lane ? options_.recovery_copies_per_server_max : copies_per_server_;
  auto it = as_source_.find(server);
  return it == as_source_.end() || it->second < limit;
}

bool RecoveryQueue::TargetHasRoom(const std::string& server, bool urgent_lane) const {
  uint32_t limit = urgent_lane ? options_.recovery_copies_per_server_max : copies_per_server_;
  auto it = as_target_.find(server);
  return it == as_target_.end() || it->second < limit;
}

void RecoveryQueue::SetLimits(uint64_t bytes_per_sec, uint32_t copies_per_server) {
  Refill();  // the time so far accrues at the old rate
  rate_bytes_per_sec_ = std::max<uint64_t>(1, bytes_per_sec);
  copies_per_server_ = std::clamp<uint32_t>(copies_per_server, 1, options_.recovery_copies_per_server_max);
  tokens_bytes_ = std::min(tokens_bytes_, static_cast<double>(rate_bytes_per_sec_));
}

void RecoveryQueue::Refill() {
  uint64_t now = clock_->NowMicros();
  double rate = static_cast<double>(rate_bytes_per_sec_);
  tokens_bytes_ = std::min(rate, tokens_bytes_ + rate * static_cast<double>(now - refilled_us_) / 1e6);
  refilled_us_ = now;
}

bool RecoveryQueue::BudgetAllows() {
  Refill();
  return tokens_bytes_ > 0;
}

void RecoveryQueue::Start(CopyTask task) {
  Refill();
  tokens_bytes_ -= static_cast<double>(task.bytes);
  task.started_us = clock_->NowMicros();
  task.rate_bytes_per_sec = rate_bytes_per_sec_;
  uint64_t transfer_us = task.bytes * 3'000'000 / task.rate_bytes_per_sec;
  task.deadline_us = task.started_us + std::max(options_.recovery_copy_timeout_ms * 1000, transfer_us);
  task.polled_us = task.started_us;
  as_source_[task.source]++;
  as_target_[task.target]++;
  urgent_in_flight_ += task.urgent_lane;
  moves_in_flight_ += task.move;
  in_flight_[task.chunk_id] = std::move(task);
}

void RecoveryQueue::Finish(std::map<uint64_t, CopyTask>::iterator it) {
  auto release = [](std::map<std::string, uint32_t>& m, const std::string& s) {
    auto c = m.find(s);
    if (c != m.end() && --c->second == 0) m.erase(c);
  };
  release(as_source_, it->second.source);
  release(as_target_, it->second.target);
  urgent_in_flight_ -= it->second.urgent_lane;
  moves_in_flight_ -= it->second.move;
  in_flight_.erase(it);
}

bool RecoveryQueue::Complete(uint64_t chunk_id, const std::string& target) {
  auto it = in_flight_.find(chunk_id);
  if (it == in_flight_.end() || it->second.target != target) return false;
  if (it->second.move) {
    moves_done_++;
  } else {
    done_++;
    done_bytes_ += it->second.bytes;
  }
  Finish(it);
  return true;
}

std::vector<CopyTask> RecoveryQueue::AbortServer(const std::string& server) {
  std::vector<CopyTask> aborted;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    auto next = std::next(it);
    if (it->second.source == server || it->second.target == server) {
      aborted.push_back(it->second);
      failed_++;
      Finish(it);
    }
    it = next;
  }
  return aborted;
}

std::vector<CopyTask> RecoveryQueue::ExpireTasks() {
  std::vector<CopyTask> expired;
  uint64_t now = clock_->NowMicros();
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    auto next = std::next(it);
    if (now >= it->second.deadline_us) {
      expired.push_back(it->second);
      failed_++;
      Finish(it);
    }
    it = next;
  }
  return expired;
}

std::vector<CopyTask> RecoveryQueue::DuePolls(uint64_t interval_us) {
  std::vector<CopyTask> due;
  uint64_t now = clock_->NowMicros();
  for (auto& [id, task] : in_flight_) {
    if (now - task.polled_us < interval_us) continue;
    task.polled_us = now;
    due.push_back(task);
  }
  return due;
}

const CopyTask* RecoveryQueue::InFlight(uint64_t chunk_id) const {
  auto it = in_flight_.find(chunk_id);
  return it == in_flight_.end() ? nullptr : &it->second;
}

uint32_t RecoveryQueue::CopiesInvolving(const std::string& server) const {
  uint32_t n = 0;
  if (auto it = as_source_.find(server); it != as_source_.end()) n += it->second;
  if (auto it = as_target_.find(server); it != as_target_.end()) n += it->second;
  return n;
}

RecoveryStats RecoveryQueue::Stats() const {
  RecoveryStats s;
  for (const auto& [live, id] : queue_) {
    s.queued_by_live[live]++;
    if (!in_flight_.count(id)) s.queued++;
  }
  s.lost = lost_.size();
  s.in_flight = in_flight_.size();
  for (const auto& [id, t] : in_flight_) s.in_flight_bytes += t.bytes;
  s.done = done_;
  s.done_bytes = done_bytes_;
  s.failed = failed_;
  s.urgent_in_flight = urgent_in_flight_;
  s.moves_in_flight = moves_in_flight_;
  s.moves_done = moves_done_;
  return s;
}

}  // namespace strata::dfs::master
