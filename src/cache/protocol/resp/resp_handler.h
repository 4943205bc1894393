// RespHandler: one Redis connection's protocol state — parses commands,
// checks them against the command table (arity, auth, namespace limits),
// runs the handler and encodes the reply in the connection's RESP version.
//
// Errors in the byte stream (bad multibulk header, 1 GiB bulk length,
// unterminated inline line) get one "-ERR Protocol error: ..." reply and close
// the connection, as Redis does; the server is never affected.
//
// Transactions: inside MULTI, commands are checked (name, arity, auth) and
// queued; Process holds the server's TxnLock shared for a batch and trades it
// for the exclusive lock around EXEC (transactions.h).
//
// Pub/sub: a RESP2 connection with subscriptions accepts only
// (P|S)(UN)SUBSCRIBE, PING, QUIT and RESET (commands flagged kPubSub), as in
// Redis; messages wait in the session's mailbox until the connection takes
// them (TakePushes), encoded in the connection's RESP version.
//
// Thread-safety: one per connection. Ownership: borrows core and table.
#pragma once

#include <vector>

#include "cache/protocol/handler.h"
#include "cache/protocol/resp/command.h"
#include "cache/protocol/resp/resp_parser.h"

namespace strata::cache::resp {

class RespHandler final : public ProtocolHandler, public Dispatcher {
 public:
  RespHandler(CacheCore* core, const CommandTable* table, uint64_t client_id);
  ~RespHandler() override;
  ProcessOutcome Process(std::string_view in, std::string* out) override;
  void Dispatch(Args args, CommandContext& ctx) override { Execute(args, ctx); }
  void SetPushWake(std::function<void()> wake) override { session_.pubsub.mailbox->SetWake(std::move(wake)); }
  bool TakePushes(std::string* out) override { return session_.pubsub.mailbox->Take(out); }
  void ReportUnsent(size_t bytes) override { session_.pubsub.mailbox->SetUnsent(bytes); }

 private:
  // Runs (or, inside MULTI, queues) one parsed command.
  void Execute(Args args, CommandContext& ctx);
  bool Admit(const CommandSpec& spec, Args args, CommandContext& ctx);
  // False when the command was answered without the lock (a busy script).
  bool AcquireUnlessBusy(SharedTxnGuard* txn, Args args, CommandContext& ctx);
  // A queueing error: replied now, and EXEC will answer EXECABORT.
  void QueueError(CommandContext& ctx, std::string_view msg);
  // The handler, with the exclusive lock or keyspace notifications it needs.
  void Run(const CommandSpec& spec, Args args, CommandContext& ctx);
  void RunExclusive(const CommandSpec& spec, Args args, CommandContext& ctx);
  void RunNotifying(const CommandSpec& spec, Args args, CommandContext& ctx, uint32_t events);
  // Invalidates the WATCHes on the keys a write command names.
  void TouchKeys(const CommandSpec& spec, Args args, CommandContext& ctx);

  CacheCore* core_;
  const CommandTable* table_;
  Session session_;
  int proto_ = 2;
  ParseLimits limits_;
  std::vector<std::string_view> args_;
  SharedTxnGuard* txn_guard_ = nullptr;  // set while Process runs
};

}  // namespace strata::cache::resp
