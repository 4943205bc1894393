// MemcacheHandler: the memcached text protocol for one connection
// (https://github.com/memcached/memcached/blob/master/doc/protocol.txt):
// classic commands (get/gets/gat/gats, set/add/replace/append/prepend/cas,
// incr/decr, touch, delete, flush_all, stats, version, verbosity, quit,
// noreply) and the meta commands (mn, mg, ms, md, ma).
//
// Commands are a table (name -> minimum tokens, whether a data block
// follows, handler), as memcached's proto_text.c dispatch. Framing limits:
// a command line over 8 KiB without a newline is refused and the connection
// closed; a data block over the maximum value size is answered with
// SERVER_ERROR and its bytes are swallowed so the connection stays in sync.
// The binary protocol (first byte 0x80) is declined by closing the
// connection.
//
// With a password (CacheOptions::password, the RESP AUTH password), a
// connection must authenticate first, by memcached's text-protocol
// convention (protocol.txt, "Authentication"): `set <any key> <flags>
// <exptime> <bytes>` whose data block is "<username> <password>" (any user
// name) answers STORED and authenticates the connection, or CLIENT_ERROR
// authentication failure; every other command before that is answered
// CLIENT_ERROR unauthenticated (quit still closes).
//
// Keys map to namespaces by prefix: "<name>:<key>" for a named namespace,
// every other key to namespace 0 (see namespaces.h).
//
// Each batch holds the server's TxnLock shared, so a RESP EXEC is atomic
// with respect to memcached clients too (transactions.h).
//
// Thread-safety: one handler per connection. Ownership: borrows the core.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cache/protocol/handler.h"
#include "cache/server/cache_core.h"

namespace strata::cache::memcache {

struct McCounters {
  Counter* cmd_get;
  Counter* get_hits;
  Counter* get_misses;
  Counter* cmd_set;
  Counter* cmd_touch;
  Counter* delete_hits;
  Counter* delete_misses;
  Counter* incr_hits;
  Counter* incr_misses;
  Counter* cas_hits;
  Counter* cas_misses;
  Counter* cas_badval;
  Counter* cmd_flush;
};

// Per-connection tallies, added to the shared McCounters once per batch of
// requests: a shared atomic per request would bounce a cache line between
// the worker threads on every get.
struct McCounts {
  uint64_t cmd_get = 0, get_hits = 0, get_misses = 0, cmd_set = 0, cmd_touch = 0, delete_hits = 0,
           delete_misses = 0, incr_hits = 0, incr_misses = 0, cas_hits = 0, cas_misses = 0, cas_badval = 0,
           cmd_flush = 0, commands = 0, errors = 0;
};

class MemcacheHandler;

// Everything a command handler needs for one request.
struct McRequest {
  MemcacheHandler* h;
  CacheCore* core;
  std::string* out;
  std::vector<std::string_view>& tokens;
  std::string_view data;   // the data block of storage commands (without CRLF)
  bool noreply = false;    // suppress the reply of a successful/ordinary outcome
  bool close = false;
};

using McHandler = void (*)(McRequest&);

struct McCommandSpec {
  std::string_view name;
  size_t min_tokens;
  int data_len_token;  // index of the <bytes> token, -1 when no data block
  McHandler handler;
};

class MemcacheHandler final : public ProtocolHandler {
 public:
  static constexpr size_t kMaxLine = 8192;
  static constexpr size_t kMaxKey = 250;
  MemcacheHandler(CacheCore* core, uint64_t client_id);
  ProcessOutcome Process(std::string_view in, std::string* out) override;

  const McCounters& counters() const { return c_; }
  McCounts& counts() { return n_; }
  // Scratch space for the internal key of the request being handled, reused
  // so a request does not allocate (memcached keys are up to 250 bytes).
  std::string& key_buffer() { return key_buf_; }
  // Maps a memcached key to (namespace, internal key); nullptr with an error
  // reply when the key is invalid or the namespace refuses the request. For a
  // write, the key's RESP WATCHes are invalidated once the request is done.
  Namespace* Resolve(McRequest& r, std::string_view key, bool write, std::string* internal);
  // Absolute expiry (ms) from a memcached exptime (relative seconds, unix time
  // when over 30 days, negative = already expired).
  int64_t ExpireFrom(int64_t exptime) const;

 private:
  // One request; returns bytes consumed, 0 when more input is needed.
  size_t ProcessOne(std::string_view in, std::string* out, bool* close);
  // A request (tokens_, its line `consumed` bytes long) before the
  // connection authenticated; returns bytes consumed, 0 for more input.
  size_t Authenticate(std::string_view in, size_t consumed, std::string* out, bool* close);

  void FlushCounts();

  CacheCore* core_;
  McCounters c_;
  McCounts n_;
  uint64_t swallow_ = 0;
  bool authenticated_;  // no password, or the auth `set` was accepted
  std::vector<std::string_view> tokens_;
  std::string key_buf_;
  std::string touch_key_;  // written by the current request, when watched
};

const McCommandSpec* FindCommand(std::string_view name);
// Families (one file each).
void RegisterClassicCommands(std::vector<McCommandSpec>* t);
void RegisterMetaCommands(std::vector<McCommandSpec>* t);
void RegisterStatsCommands(std::vector<McCommandSpec>* t);

bool ParseU64(std::string_view s, uint64_t* out);
bool ParseI64(std::string_view s, int64_t* out);

}  // namespace strata::cache::memcache
