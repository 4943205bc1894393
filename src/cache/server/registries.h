// Registries shared by all connections of a cache server:
//  * ClientRegistry: the connected clients, for CLIENT LIST/INFO and /status.
//  * BlockingRegistry: clients blocked in BLPOP/BRPOP, woken when one of
//    their keys receives a push. A wake-up is only a hint: the woken client
//    re-runs its command, which may find the list empty again and re-block.
//
// Thread-safety: thread-safe (one mutex each). BlockingRegistry::Notify costs
// one atomic load when nobody is blocked, so pushes pay nothing in the
// common case.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace strata::cache {

struct ClientInfo {
  uint64_t id = 0;
  std::string addr;
  std::string name;
  std::string protocol;  // "resp" or "memcache"
  int db = 0;
  uint64_t connected_ms = 0;
};

class ClientRegistry {
 public:
  void Add(const ClientInfo& info);
  void Remove(uint64_t id);
  void SetName(uint64_t id, const std::string& name);
  void SetDb(uint64_t id, int db);
  std::vector<ClientInfo> List() const;
  ClientInfo Get(uint64_t id) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, ClientInfo> clients_;  // GUARDED_BY(mu_)
};

class BlockingRegistry {
 public:
  using Wake = std::function<void()>;
  // Registers `wake` for each of `keys` (internal keys); returns a token.
  uint64_t Add(const std::vector<std::string>& keys, Wake wake);
  void Remove(uint64_t token);
  // Wakes every client blocked on `key`.
  void Notify(const std::string& key);
  size_t blocked() const { return waiters_.load(std::memory_order_relaxed); }

 private:
  struct Waiter {
    std::vector<std::string> keys;
    Wake wake;
  };
  std::atomic<size_t> waiters_{0};
  std::mutex mu_;
  uint64_t next_token_ = 1;                                        // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, Waiter> by_token_;                  // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::vector<uint64_t>> by_key_;  // GUARDED_BY(mu_)
};

}  // namespace strata::cache
