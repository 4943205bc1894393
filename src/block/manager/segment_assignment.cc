#include "block/manager/segment_assignment.h"

#include <algorithm>

namespace strata::block::manager {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view DigitRun(std::string_view s, size_t* pos) {
  size_t start = *pos;
  while (*pos < s.size() && IsDigit(s[*pos])) ++*pos;
  std::string_view run = s.substr(start, *pos - start);
  while (run.size() > 1 && run[0] == '0') run.remove_prefix(1);
  return run;
}

}  // namespace

bool ServerIdLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (IsDigit(a[i]) && IsDigit(b[j])) {
      std::string_view da = DigitRun(a, &i), db = DigitRun(b, &j);
      if (da.size() != db.size()) return da.size() < db.size();
      if (da != db) return da < db;
      continue;
    }
    if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
    ++i;
    ++j;
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;  // equal but for leading zeros: still a strict order
}

TokenBucket TokensAt(const SegmentRecord& seg, uint64_t now_wall_us, const AssignmentPolicy& policy) {
  TokenBucket b{seg.tokens(), seg.token_refill_from_us()};
  if (b.tokens >= policy.tokens_max) return {policy.tokens_max, now_wall_us};
  if (now_wall_us > b.refill_from_us) {
    uint64_t earned = (now_wall_us - b.refill_from_us) / policy.refill_us;
    if (earned >= policy.tokens_max - b.tokens) return {policy.tokens_max, now_wall_us};
    b.tokens += static_cast<uint32_t>(earned);
    b.refill_from_us += earned * policy.refill_us;
  }
  return b;
}

SegmentRecord NewSegment(uint64_t volume_id, uint32_t index, const AssignmentPolicy& policy, uint64_t now_wall_us) {
  SegmentRecord seg;
  seg.set_volume_id(volume_id);
  seg.set_index(index);
  seg.set_tokens(policy.tokens_max);
  seg.set_token_refill_from_us(now_wall_us);
  return seg;
}

SegmentAssigner::SegmentAssigner(std::vector<std::string> alive, std::map<std::string, uint64_t> load,
                                 FailureDomainRecord domain, AssignmentPolicy policy)
    : alive_(std::move(alive)), load_(std::move(load)), domain_(std::move(domain)), policy_(policy) {
  std::sort(alive_.begin(), alive_.end(), [](const std::string& a, const std::string& b) { return ServerIdLess(a, b); });
  alive_.erase(std::unique(alive_.begin(), alive_.end()), alive_.end());
}

std::optional<std::string> SegmentAssigner::LeastLoaded(const std::vector<std::string>& candidates) const {
  std::optional<std::string> best;
  uint64_t best_load = 0;
  for (const auto& id : candidates) {
    auto it = load_.find(id);
    uint64_t load = it == load_.end() ? 0 : it->second;
    if (!best || load < best_load || (load == best_load && ServerIdLess(id, *best))) {
      best = id;
      best_load = load;
    }
  }
  return best;
}

void SegmentAssigner::Take(SegmentRecord* seg, const std::string& owner) {
  seg->set_owner_id(owner);
  seg->set_epoch(seg->epoch() + 1);
  load_[owner]++;
}

bool SegmentAssigner::Place(SegmentRecord* seg) {
  auto target = LeastLoaded(alive_);
  if (!target) return false;
  Take(seg, *target);
  return true;
}

bool SegmentAssigner::Move(SegmentRecord* seg, uint64_t now_wall_us) {
  TokenBucket bucket = TokensAt(*seg, now_wall_us, policy_);
  bool restricted = bucket.tokens == 0;
  std::vector<std::string> candidates;
  if (restricted) {
    if (domain_.members_size() == 0) FormDomain(now_wall_us);
    for (const auto& m : domain_.members()) {
      if (std::binary_search(alive_.begin(), alive_.end(), m,
                             [](const std::string& a, const std::string& b) { return ServerIdLess(a, b); })) {
        candidates.push_back(m);
      }
    }
  } else {
    candidates = alive_;
  }
  std::erase(candidates, seg->owner_id());
  auto target = LeastLoaded(candidates);
  if (!target) return false;
  if (!restricted) bucket.tokens--;
  seg->set_last_owner_id(seg->owner_id());
  Take(seg, *target);
  seg->set_moves(seg->moves() + 1);
  seg->set_tokens(bucket.tokens);
  seg->set_token_refill_from_us(bucket.refill_from_us);
  if (bucket.tokens == 0 && domain_.members_size() == 0) FormDomain(now_wall_us);
  return true;
}

void SegmentAssigner::FormDomain(uint64_t now_wall_us) {
  domain_.clear_members();
  for (size_t i = 0; i < alive_.size() && i < policy_.domain_servers; ++i) domain_.add_members(alive_[i]);
  domain_.set_formed_us(now_wall_us);
  domain_changed_ = true;
}

void SegmentAssigner::RefreshDomain(const std::function<bool(const std::string&)>& gone) {
  if (domain_.members_size() == 0) return;
  std::vector<std::string> members;
  for (const auto& m : domain_.members()) {
    if (!gone(m)) members.push_back(m);
  }
  for (const auto& id : alive_) {
    if (members.size() >= policy_.domain_servers) break;
    if (std::find(members.begin(), members.end(), id) == members.end()) members.push_back(id);
  }
  if (std::equal(members.begin(), members.end(), domain_.members().begin(), domain_.members().end())) return;
  domain_.clear_members();
  for (const auto& m : members) domain_.add_members(m);
  domain_changed_ = true;
}

}  // namespace strata::block::manager
