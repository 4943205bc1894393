// Pub/sub for the RESP port: who is subscribed to what, and the bounded
// mailbox through which a message published on one worker thread reaches a
// subscriber living on another.
//
//  * PubSubRegistry: channel -> subscribers, pattern -> subscribers, and a
//    separate namespace of shard channels (SSUBSCRIBE/SPUBLISH; one node owns
//    every slot, so only the namespace differs, as in Redis). PUBLISH holds
//    the registry's lock shared and pushes into each receiver's mailbox, so
//    messages from one publisher reach each subscriber in publication order,
//    and once UNSUBSCRIBE returns no further message of that channel arrives.
//    Patterns are matched with GlobMatch (Redis's stringmatchlen rules), each
//    one tried per publication, as Redis does (pubsub.c).
//  * Mailbox: one subscriber's messages, already encoded in its RESP version
//    (RESP2 arrays, RESP3 push types), waiting for the owning loop to move
//    them into the connection's output. The publisher appends under the
//    mailbox's mutex and, when the mailbox was empty, calls the wake-up the
//    connection installed (it posts to the owning EventLoop). So publishing
//    never touches another thread's connection.
//
// Bounds (Redis's client-output-buffer-limit for the pubsub class, default
// 32 MiB hard, 8 MiB soft for 60 s): a mailbox counts its pending bytes plus
// what its connection has not yet sent; a message that would take the total
// over the hard limit, or a total that stays over the soft limit for
// soft_seconds, marks the mailbox overflowed. An overflowed mailbox drops its
// bytes and refuses all further messages, and its connection closes on the
// next wake-up, dropping its subscriptions. A subscriber that never reads
// therefore costs at most about the hard limit.
//
// Thread-safety: both classes are thread-safe. Lock order: registry, then
// mailbox; the wake-up is called with neither mailbox lock held, the
// registry's lock possibly held shared (it must not take the registry).
// Ownership: the registry is owned by CacheCore and shares each mailbox with
// the session that created it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "env/clock.h"

namespace strata::cache {

struct PubSubLimits {
  uint64_t hard_bytes = 32ull << 20;  // 0: no hard limit
  uint64_t soft_bytes = 8ull << 20;   // 0: no soft limit
  uint64_t soft_seconds = 60;
};

// "HARD SOFT SECONDS" (sizes as ParseByteSize takes them: 32M, 8mb, 1048576).
Result<PubSubLimits> ParsePubSubLimits(const std::string& text);
std::string FormatPubSubLimits(const PubSubLimits& l);  // in bytes, as CONFIG GET shows them

class Mailbox {
 public:
  using Wake = std::function<void()>;
  Mailbox() = default;
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Owner side (the connection's loop thread).
  // Installed before the first subscription; called from publishing threads.
  void SetWake(Wake wake);
  // 2 or 3: how later messages are encoded.
  void set_protocol(int v) { proto_.store(v, std::memory_order_relaxed); }
  // Appends the pending messages to `out`; false once the mailbox
  // overflowed (the connection must close).
  bool Take(std::string* out);
  // Bytes of the connection's output not yet taken by its socket.
  void SetUnsent(uint64_t bytes) { unsent_.store(bytes, std::memory_order_relaxed); }

  // Publisher side. `pattern` is set for a pattern match ("pmessage").
  // `kind` is "message", "pmessage" or "smessage".
  void Push(std::string_view kind, const std::string* pattern, std::string_view channel, std::string_view payload,
            const PubSubLimits& limits, uint64_t now_us);

  bool overflowed() const;
  uint64_t pending_bytes() const;

 private:
  // Whether one more message of `size` bytes keeps the mailbox within its
  // limits; records when the soft limit was first exceeded.
  bool FitsLocked(uint64_t size, const PubSubLimits& limits, uint64_t now_us);

  std::atomic<int> proto_{2};
  std::atomic<uint64_t> unsent_{0};
  mutable std::mutex mu_;
  std::string pending_;            // GUARDED_BY(mu_)
  bool wake_due_ = true;           // GUARDED_BY(mu_): the next push must wake the owner
  bool overflowed_ = false;        // GUARDED_BY(mu_)
  uint64_t soft_since_us_ = 0;     // GUARDED_BY(mu_); 0: within the soft limit
  Wake wake_;                      // GUARDED_BY(mu_)
};

enum class PubSubKind { kChannel = 0, kPattern = 1, kShard = 2 };

class PubSubRegistry {
 public:
  PubSubRegistry(const Clock* clock, const PubSubLimits& limits);

  // True when `client` was not yet subscribed to `name` of this kind.
  bool Subscribe(PubSubKind kind, const std::string& name, uint64_t client, std::shared_ptr<Mailbox> box);
  // True when `client` was subscribed.
  bool Unsubscribe(PubSubKind kind, const std::string& name, uint64_t client);

  // PUBLISH: every subscriber of `channel` and of each matching pattern gets
  // the message (a client matching twice gets it twice, as in Redis).
  // SPUBLISH: the subscribers of shard channel `channel`. Returns the number
  // of deliveries.
  size_t Publish(std::string_view channel, std::string_view message);
  size_t PublishShard(std::string_view channel, std::string_view message);

  // PUBSUB CHANNELS / SHARDCHANNELS: active channels, those matching
  // `pattern` when given.
  std::vector<std::string> Channels(PubSubKind kind, std::optional<std::string_view> pattern) const;
  // PUBSUB NUMSUB / SHARDNUMSUB.
  size_t NumSub(PubSubKind kind, const std::string& channel) const;
  // Active names of a kind (PUBSUB NUMPAT, INFO's pubsub_channels...).
  size_t Count(PubSubKind kind) const;

  PubSubLimits limits() const;
  void set_limits(const PubSubLimits& l);

 private:
  using Subscribers = std::unordered_map<uint64_t, std::shared_ptr<Mailbox>>;
  using Table = std::unordered_map<std::string, Subscribers>;
  size_t Deliver(const Subscribers& subs, std::string_view kind, const std::string* pattern,
                 std::string_view channel, std::string_view message, const PubSubLimits& limits, uint64_t now_us);

  const Clock* const clock_;
  std::atomic<uint64_t> hard_bytes_, soft_bytes_, soft_seconds_;
  mutable std::shared_mutex mu_;
  Table tables_[3];  // GUARDED_BY(mu_), by PubSubKind
  std::atomic<size_t> counts_[3] = {0, 0, 0};
};

}  // namespace strata::cache
