// Which RESP write commands raise which keyspace notifications, and when —
// the events Redis 7.0 raises (recorded from redis-server with
// notify-keyspace-events KEA), kept as a table of rules by command name
// rather than calls inside every handler. A rule names the event, its class
// and a condition on the reply (any success, or an effect: an integer > 0, a
// non-null, non-empty reply); a few commands have rules of their own (SET's
// "expire", EXPIRE turning into "del", RENAME, the moving commands, the
// *STORE commands, DEL). A container emptied by the command raises "del"
// after its own event. Stream commands raise events that depend on what they
// did (XADD's "xtrim", XREADGROUP's "xgroup-createconsumer"), so their
// handlers record them in CommandContext::raised and the rule publishes those.
//
// Only write commands run through it, and only while notify-keyspace-events
// enables something: the dispatcher then pays a table lookup and, for a few
// commands, a key lookup before and after.
//
// Thread-safety: one per command execution, on the connection's thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/protocol/resp/command.h"

namespace strata::cache::resp {

class KeyspaceNotifier {
 public:
  struct Rule;  // one command's events (keyspace_notify.cc)
  // Before the command runs; remembers what its rule needs from before.
  KeyspaceNotifier(CommandContext& ctx, std::string_view name, Args args, uint32_t flags);
  // After it ran: `reply` is what the command appended to the output.
  void After(std::string_view reply);

 private:
  void Event(uint32_t cls, std::string_view event, std::string_view key);
  bool Exists(std::string_view key);
  void DelIfGone(std::string_view key);
  bool Changed(std::string_view key);  // the string at `key` differs from before_

  CommandContext& ctx_;
  Args args_;
  uint32_t flags_;
  const Rule* rule_;
  std::vector<bool> existed_;  // by argument index, for the rules that need it
  std::optional<std::string> before_;  // SETBIT, BITFIELD: the value before (SETBIT: empty, see before_size_)
  size_t before_size_ = 0;
};

}  // namespace strata::cache::resp
