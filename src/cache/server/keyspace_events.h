// Keyspace notifications (Redis's notify-keyspace-events): the event classes
// a server publishes, their flag string as CONFIG SET takes it and CONFIG
// GET shows it, and the publication of one event as the two pub/sub
// messages Redis sends (notify.c):
//   __keyspace@<db>__:<key>    message <event>   (class K)
//   __keyevent@<db>__:<event>  message <key>     (class E)
// Which commands raise which events is the RESP layer's
// (protocol/resp/keyspace_notify.h).
//
// Thread-safety: stateless functions; Notify publishes through the
// thread-safe PubSubRegistry.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/engine/engine.h"
#include "cache/server/pubsub.h"
#include "common/result.h"

namespace strata::cache {

enum KeyspaceEventClass : uint32_t {
  kEventsKeyspace = 1u << 0,  // K
  kEventsKeyevent = 1u << 1,  // E
  kEventsGeneric = 1u << 2,   // g: del, expire, rename_from, rename_to, persist
  kEventsString = 1u << 3,    // $
  kEventsList = 1u << 4,      // l
  kEventsSet = 1u << 5,       // s
  kEventsHash = 1u << 6,      // h
  kEventsZset = 1u << 7,      // z
  kEventsExpired = 1u << 8,   // x
  kEventsEvicted = 1u << 9,   // e
  kEventsStream = 1u << 10,   // t
  kEventsKeyMiss = 1u << 11,  // m
  kEventsModule = 1u << 12,   // d
  kEventsNew = 1u << 13,      // n
};
// "A": every class but K, E, m and n, as in Redis.
inline constexpr uint32_t kEventsAll = kEventsGeneric | kEventsString | kEventsList | kEventsSet | kEventsHash |
                                       kEventsZset | kEventsExpired | kEventsEvicted | kEventsStream | kEventsModule;

// Parses a flag string ("KEA", "Kg$l", ""); refuses unknown characters with
// Redis's message.
Result<uint32_t> ParseKeyspaceEvents(std::string_view text);
// The flags in Redis's canonical order ("AKE", "g$K").
std::string FormatKeyspaceEvents(uint32_t flags);

// Publishes `event` on `key` of database `db` if `flags` enable class `cls`
// and K or E.
void NotifyKeyspaceEvent(PubSubRegistry* pubsub, uint32_t flags, uint32_t cls, std::string_view event,
                         std::string_view key, int db);

// The engine's own removals as the "expired" (x) and "evicted" (e) events.
// Thread-safety: called on any thread with a shard lock held; publishing
// takes only the pub/sub locks. Ownership: borrows the registry and flags.
class KeyspaceRemovalNotifier final : public RemovalListener {
 public:
  KeyspaceRemovalNotifier(PubSubRegistry* pubsub, const std::atomic<uint32_t>* flags)
      : pubsub_(pubsub), flags_(flags) {}
  void OnExpired(std::string_view key) override { Notify(kEventsExpired, "expired", key); }
  void OnEvicted(std::string_view key) override { Notify(kEventsEvicted, "evicted", key); }

 private:
  void Notify(uint32_t cls, std::string_view event, std::string_view internal_key);
  PubSubRegistry* const pubsub_;
  const std::atomic<uint32_t>* const flags_;
};

}  // namespace strata::cache
