#include "cache/server/keyspace_events.h"

namespace strata::cache {

namespace {

struct Letter {
  char c;
  uint32_t flag;
};
// Redis's keyspaceEventsFlagsToString order.
constexpr Letter kClasses[] = {{'g', kEventsGeneric}, {'$', kEventsString}, {'l', kEventsList},
                               {'s', kEventsSet},     {'h', kEventsHash},   {'z', kEventsZset},
                               {'x', kEventsExpired}, {'e', kEventsEvicted}, {'t', kEventsStream},
                               {'d', kEventsModule},  {'n', kEventsNew}};

}  // namespace

Result<uint32_t> ParseKeyspaceEvents(std::string_view text) {
  uint32_t flags = 0;
  for (char c : text) {
    uint32_t f = 0;
    switch (c) {
      case 'A': f = kEventsAll; break;
      case 'K': f = kEventsKeyspace; break;
      case 'E': f = kEventsKeyevent; break;
      case 'm': f = kEventsKeyMiss; break;
      default:
        for (const Letter& l : kClasses) {
          if (l.c == c) f = l.flag;
        }
    }
    if (f == 0) return Status::InvalidArgument("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    flags |= f;
  }
  return flags;
}

std::string FormatKeyspaceEvents(uint32_t flags) {
  std::string s;
  if ((flags & kEventsAll) == kEventsAll) {
    s += 'A';  // and no 'n' even when set: Redis 7.0 prints it so
  } else {
    for (const Letter& l : kClasses) {
      if (flags & l.flag) s += l.c;
    }
  }
  if (flags & kEventsKeyspace) s += 'K';
  if (flags & kEventsKeyevent) s += 'E';
  if (flags & kEventsKeyMiss) s += 'm';
  return s;
}

void NotifyKeyspaceEvent(PubSubRegistry* pubsub, uint32_t flags, uint32_t cls, std::string_view event,
                         std::string_view key, int db) {
  if (!(flags & cls)) return;
  if (flags & kEventsKeyspace) {
    std::string channel = "__keyspace@" + std::to_string(db) + "__:";
    channel.append(key);
    pubsub->Publish(channel, event);
  }
  if (flags & kEventsKeyevent) {
    std::string channel = "__keyevent@" + std::to_string(db) + "__:";
    channel.append(event);
    pubsub->Publish(channel, key);
  }
}

// Internal keys are the namespace byte, then the user's key.
void KeyspaceRemovalNotifier::Notify(uint32_t cls, std::string_view event, std::string_view internal_key) {
  uint32_t flags = flags_->load(std::memory_order_relaxed);
  if (!(flags & cls) || internal_key.empty()) return;
  NotifyKeyspaceEvent(pubsub_, flags, cls, event, internal_key.substr(1), static_cast<uint8_t>(internal_key[0]));
}

}  // namespace strata::cache
