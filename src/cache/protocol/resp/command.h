// The RESP command table: commands as data (name, arity, flags, key
// positions, handler), as Redis's src/commands/*.json and Kvrocks'
// REDIS_REGISTER_COMMANDS. The dispatcher checks arity, authentication and
// namespace limits from the table before a handler runs, so handlers only
// deal with their own arguments.
//
// Arity follows Redis: N > 0 means exactly N arguments (command name
// included), -N means at least N.
//
// Transactions (MULTI/EXEC, cmd_multi.cc): while a session is in MULTI the
// dispatcher queues every command except those flagged kTxnControl; EXEC
// runs the queue through the Dispatcher with the server's TxnLock held
// exclusive (transactions.h). After a kWrite command the dispatcher touches
// its keys (first_key..last_key by step), which is what invalidates WATCH.
//
// Thread-safety: the table is built once and read-only afterwards; a
// CommandContext belongs to one connection.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/engine/engine.h"
#include "cache/engine/stream.h"
#include "cache/protocol/resp/resp_writer.h"
#include "cache/server/cache_core.h"

namespace strata::cache::resp {

using Args = std::span<const std::string_view>;

// A key this connection WATCHes: the registry version seen at WATCH time and
// the key's expiry then (a watched key that expires aborts EXEC, as in Redis).
struct WatchedKey {
  std::string key;  // internal key
  uint64_t version = 0;
  int64_t expire_ms = 0;
};

// MULTI state. The queue is bounded (kMaxQueued); one command more makes
// the transaction fail at EXEC like any queueing error.
struct Transaction {
  static constexpr size_t kMaxQueued = 100000;
  bool active = false;
  bool dirty = false;  // a queueing error: EXEC answers EXECABORT
  std::vector<std::vector<std::string>> queued;
  std::vector<WatchedKey> watched;
};

// This connection's subscriptions (cmd_pubsub.cc). The registry holds the
// same names; these sets give the counts in the replies and what to drop at
// UNSUBSCRIBE without arguments, RESET and close.
struct PubSubState {
  std::set<std::string> channels, patterns, shard_channels;
  std::shared_ptr<Mailbox> mailbox = std::make_shared<Mailbox>();
  size_t total() const { return channels.size() + patterns.size() + shard_channels.size(); }
};

// Per-connection state visible to commands.
struct Session {
  uint64_t id = 0;
  int db = 0;
  bool authed = false;
  int64_t block_deadline_ms = -1;  // set while a blocking command waits; -1: not blocked
  std::vector<StreamId> block_stream_ids;  // XREAD BLOCK: the ids ("$" resolved) of its first run
  Transaction txn;
  PubSubState pubsub;
};

struct CommandContext;

// Runs one command as if it had arrived from the connection (EXEC replays
// its queue through it). Implemented by RespHandler.
class Dispatcher {
 public:
  virtual void Dispatch(std::span<const std::string_view> args, CommandContext& ctx) = 0;

 protected:
  ~Dispatcher() = default;
};

class CommandTable;

// An internal key (namespace byte + user key). Nearly every request builds
// one, so keys up to kInline bytes live inside the object and cost no heap
// allocation; longer ones fall back to a std::string.
class InternalKey {
 public:
  static constexpr size_t kInline = 63;
  InternalKey(uint8_t ns, std::string_view user) : size_(user.size() + 1) {
    char* p = inline_;
    if (size_ > kInline) {
      heap_.resize(size_);
      p = heap_.data();
    }
    p[0] = static_cast<char>(ns);
    if (!user.empty()) std::memcpy(p + 1, user.data(), user.size());
  }
  const char* data() const { return size_ > kInline ? heap_.data() : inline_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {data(), size_}; }
  operator std::string_view() const { return view(); }
  operator std::string() const { return std::string(view()); }

 private:
  size_t size_;
  char inline_[kInline];
  std::string heap_;
};

struct CommandContext {
  CacheCore* core;
  Session* session;
  RespWriter* w;
  Namespace* ns;
  const CommandTable* table = nullptr;  // for COMMAND introspection
  Dispatcher* dispatcher = nullptr;     // for EXEC
  bool in_exec = false;                  // a queued command run by EXEC: its reply is inside EXEC's array
  bool close = false;
  bool block = false;                    // the handler wants to wait
  std::vector<std::string> block_keys;   // internal keys to wait on
  int64_t block_deadline_ms = 0;
  // Keyspace events a handler raised itself, as (event, user key), when
  // they depend on what it did (streams); KeyspaceNotifier publishes them.
  std::vector<std::pair<std::string_view, std::string_view>> raised;
  // Set by the dispatcher for a kReadOnly command: its key lookups count as
  // keyspace hits or misses (FindKey in command_util.h), as Redis's
  // lookupKeyRead; the dispatcher adds the counts to CommandStats after.
  bool read_command = false;
  uint32_t keyspace_hits = 0;
  uint32_t keyspace_misses = 0;

  Engine* engine() const { return ns->engine(); }
  int64_t NowMs() const { return core->NowMs(); }
  // Internal key: namespace byte + user key.
  InternalKey Key(std::string_view user) const { return InternalKey(static_cast<uint8_t>(ns->id()), user); }
};

enum CommandFlags : uint32_t {
  kWrite = 1,
  kReadOnly = 2,
  kAdmin = 4,
  kNoAuth = 8,       // allowed before AUTH (AUTH, HELLO, QUIT; not PING, as Redis)
  kFast = 16,
  kBlocking = 32,
  kContainer = 64,   // needs an engine with container types
  kTxnControl = 128, // runs at once inside MULTI (MULTI, EXEC, DISCARD, WATCH, QUIT)
  kExclusive = 256,  // runs with the TxnLock held exclusive (EXEC)
  kPubSub = 512,     // allowed in RESP2 subscribed mode ((P|S)(UN)SUBSCRIBE, PING, QUIT, RESET)
};

using Handler = void (*)(CommandContext&, Args);

struct CommandSpec {
  std::string_view name;   // lower case
  int arity;
  uint32_t flags;
  int first_key;
  int last_key;            // -1: last argument
  int step;
  Handler handler;
  uint16_t id = 0;         // set by CommandTable::Add: the index into CommandStats
};

// Lookup runs once per request, so besides the map (for introspection) the
// table keeps an open-addressing array hashed on the case-folded name: a
// lookup folds and hashes the name in one pass and compares one or two
// entries, with no allocation.
class CommandTable {
 public:
  // REQUIRES: fewer than CommandStats::kMaxCommands commands.
  void Add(const CommandSpec& spec);
  // Case-insensitive.
  const CommandSpec* Find(std::string_view name) const;
  const std::unordered_map<std::string, CommandSpec>& all() const { return by_name_; }

 private:
  static constexpr size_t kSlots = 1024;  // power of two, kept under half full
  std::unordered_map<std::string, CommandSpec> by_name_;
  std::vector<CommandSpec> slots_;        // empty name: free slot
};

// Every command family registers itself here (one file per family).
CommandTable BuildCommandTable();
void RegisterStringCommands(CommandTable& t);
void RegisterKeyCommands(CommandTable& t);
void RegisterServerCommands(CommandTable& t);
void RegisterHashCommands(CommandTable& t);
void RegisterListCommands(CommandTable& t);
void RegisterSetCommands(CommandTable& t);
void RegisterZSetCommands(CommandTable& t);
void RegisterGeoCommands(CommandTable& t);
void RegisterTransactionCommands(CommandTable& t);
void RegisterPubSubCommands(CommandTable& t);
void RegisterBitmapCommands(CommandTable& t);
void RegisterHllCommands(CommandTable& t);
void RegisterScriptCommands(CommandTable& t);
void RegisterStreamCommands(CommandTable& t);

// SCRIPT KILL's reply (cmd_script.cc); also answered while a script is busy.
void ScriptKill(CommandContext& ctx);

// Drops every subscription of `session` without replies (RESET, close).
void DropSubscriptions(CacheCore* core, Session* session);

}  // namespace strata::cache::resp
