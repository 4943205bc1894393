#include "rpc/leader_endpoints.h"

#include <algorithm>

namespace strata::rpc {

std::vector<std::string> LeaderEndpoints::Split(const std::string& list) {
  std::vector<std::string> out;
  std::string item;
  for (size_t i = 0; i <= list.size(); ++i) {
    if (i == list.size() || list[i] == ',') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else if (list[i] != ' ' && list[i] != '\t') {
      item.push_back(list[i]);
    }
  }
  return out;
}

LeaderEndpoints::LeaderEndpoints(const std::string& list) : list_(list), addrs_(Split(list)) {
  if (addrs_.empty()) addrs_.push_back(list);  // a malformed address fails at its first call, as before
}

std::string LeaderEndpoints::Current() const {
  std::lock_guard lock(mu_);
  return addrs_[current_];
}

size_t LeaderEndpoints::size() const {
  std::lock_guard lock(mu_);
  return addrs_.size();
}

bool LeaderEndpoints::Failed(const std::string& addr, const Status& st) {
  std::lock_guard lock(mu_);
  if (addrs_[current_] != addr) return false;  // another caller moved on already; back off as usual
  const std::string leader = NotLeaderTarget(st);
  if (!leader.empty() && leader != addr) {
    auto it = std::find(addrs_.begin(), addrs_.end(), leader);
    if (it == addrs_.end() && addrs_.size() < kAddressesMax) it = addrs_.insert(addrs_.end(), leader);
    if (it != addrs_.end()) {
      current_ = static_cast<size_t>(it - addrs_.begin());
      return ++redirects_ <= addrs_.size();
    }
  }
  current_ = (current_ + 1) % addrs_.size();
  ++failures_;
  return failures_ % addrs_.size() != 0 && redirects_ <= addrs_.size();
}

void LeaderEndpoints::Answered(const std::string& addr) {
  std::lock_guard lock(mu_);
  if (addrs_[current_] != addr) return;
  failures_ = 0;
  redirects_ = 0;
}

}  // namespace strata::rpc
