#include "cache/server/registries.h"

#include <algorithm>

namespace strata::cache {

void ClientRegistry::Add(const ClientInfo& info) {
  std::lock_guard<std::mutex> lock(mu_);
  clients_[info.id] = info;
}

void ClientRegistry::Remove(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  clients_.erase(id);
}

void ClientRegistry::SetName(uint64_t id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clients_.find(id);
  if (it != clients_.end()) it->second.name = name;
}

void ClientRegistry::SetDb(uint64_t id, int db) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clients_.find(id);
  if (it != clients_.end()) it->second.db = db;
}

std::vector<ClientInfo> ClientRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ClientInfo> out;
  for (const auto& [id, c] : clients_) out.push_back(c);
  return out;
}

ClientInfo ClientRegistry::Get(uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clients_.find(id);
  return it == clients_.end() ? ClientInfo{} : it->second;
}

size_t ClientRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_.size();
}

uint64_t BlockingRegistry::Add(const std::vector<std::string>& keys, Wake wake) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t token = next_token_++;
  for (const auto& k : keys) by_key_[k].push_back(token);
  by_token_[token] = Waiter{keys, std::move(wake)};
  waiters_.fetch_add(1, std::memory_order_relaxed);
  return token;
}

void BlockingRegistry::Remove(uint64_t token) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return;
  for (const auto& k : it->second.keys) {
    auto kit = by_key_.find(k);
    if (kit == by_key_.end()) continue;
    std::erase(kit->second, token);
    if (kit->second.empty()) by_key_.erase(kit);
  }
  by_token_.erase(it);
  waiters_.fetch_sub(1, std::memory_order_relaxed);
}

void BlockingRegistry::Notify(const std::string& key) {
  if (waiters_.load(std::memory_order_relaxed) == 0) return;
  std::vector<Wake> wakes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto kit = by_key_.find(key);
    if (kit == by_key_.end()) return;
    for (uint64_t t : kit->second) wakes.push_back(by_token_[t].wake);
  }
  for (auto& w : wakes) w();
}

}  // namespace strata::cache
